"""The one error path (oneonone/errors.py): what a person or an API client gets back when a service
refuses, an object is missing, or a request cannot be read — decided in one place, not per view."""

from __future__ import annotations

import pytest

from oneonone.accounts import services as account_services
from oneonone.accounts.services import issue_api_token
from oneonone.calendars import signals as calendar_signals
from oneonone.contacts import signals as contact_signals
from oneonone.transaction import unit_of_work


@pytest.fixture
def day(ada_and_bob):
    return ada_and_bob(invite=("ada",))


def _referer(day) -> dict[str, str]:
    return {"Referer": f"http://localhost/calendars/{day.calendar.id}/invitees"}


def test_a_refused_action_goes_to_the_page_its_view_names_with_no_stray_arguments(owner_client, day):
    invitee = day.invitee("ada")
    response = owner_client.post(f"/calendars/{day.calendar.id}/invitees/{invitee.id}/confirm",
                                 data={"timeslot_id": str(day.nine.id)})  # Ada picked nothing
    assert response.status_code == 302
    assert response.headers["Location"] == f"/calendars/{day.calendar.id}/invitees"
    page = owner_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Choose one of the slots this invitee picked." in page


@pytest.mark.parametrize("path", [
    "/calendars/{calendar}/invitees/999999/confirm",
    "/calendars/{calendar}/invitees/999999/revoke",
    "/calendars/{calendar}/timeslots/999999/delete",
    "/calendars/999999/invitees",
    "/contacts/999999/delete",
])
def test_a_missing_object_is_a_404_page_even_when_posted_from_a_page(owner_client, day, path):
    response = owner_client.post(path.format(calendar=day.calendar.id), headers=_referer(day),
                                 data={"timeslot_id": str(day.nine.id), "contact_id": str(day.bob.id)})
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_a_crafted_id_posted_from_a_page_goes_back_to_it_with_the_problem(owner_client, day):
    # Not the marked view's target: a request that cannot be read is not a refusal.
    suggestions = f"/calendars/{day.calendar.id}/suggestions"
    response = owner_client.post(f"/calendars/{day.calendar.id}/invitees/{day.invitee('ada').id}/ask",
                                 headers={"Referer": f"http://localhost{suggestions}?k=3"},
                                 data={"timeslot_id": "٣"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{suggestions}?k=3"
    page = owner_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "timeslot_id must hold ids" in page and "was not asked" not in page


def test_a_pick_for_a_slot_of_another_calendar_names_the_slot(day, make_calendar, make_timeslot, owner):
    from oneonone.exceptions import ValidationError
    from oneonone.scheduling.answers import save_picks

    other = make_timeslot(make_calendar(owner=owner, name="Other"), "09:00")
    with pytest.raises(ValidationError) as refused, unit_of_work():
        save_picks(day.invitee("ada"), {other.id: "preferred", day.nine.id: "preferred"})
    assert refused.value.fields == {"timeslot": [f"Slot {other.id} is not in this calendar."]}


# ---- the API's typed date fields ------------------------------------------------------------------

@pytest.fixture
def token(owner):
    with unit_of_work():
        return issue_api_token(owner)


def _create(client, token, **fields):
    body = {"name": "Interviews", "start_date": "2030-06-03", "end_date": "2030-06-07", **fields}
    return client.post("/api/calendars/", json=body, headers={"Authorization": f"Bearer {token}"})


def test_a_bad_date_is_summed_up_in_its_own_words(client, token):
    response = _create(client, token, start_date="03/06/2030")
    assert response.status_code == 400
    body = response.get_json()
    assert body["fields"] == {"start_date": ["Start date: enter a date like 2026-03-02."]}
    assert body["message"] == "Start date: enter a date like 2026-03-02."


def test_a_huge_date_string_is_refused_without_parsing_it(client, token):
    response = _create(client, token, start_date="2030-06-03" + " " * 5000)
    assert response.status_code == 400
    assert "start_date" in response.get_json()["fields"]


# ---- signals -------------------------------------------------------------------------------------

ACTIONS = (calendar_signals.calendar_deleting, calendar_signals.timeslot_moved,
           calendar_signals.timeslot_deleting)
QUESTIONS = (calendar_signals.invitation_counts, calendar_signals.slot_summaries, calendar_signals.slot_pickers,
             calendar_signals.upcoming_meetings, contact_signals.invitation_counts,
             contact_signals.contact_usage, account_services.account_deletion_notices)


@pytest.mark.parametrize("signal", ACTIONS + QUESTIONS, ids=lambda s: s.name)
def test_every_signal_a_lower_feature_sends_has_exactly_one_receiver(app, signal):
    # Without its receiver a slot with a meeting would be deleted with no refusal and no email, and
    # the pages would show zero counts; a second one would count twice.
    assert len(signal.receivers) == 1


def test_one_answer_names_every_bad_field_read_or_not(client, token):
    response = _create(client, token, name="", start_date="03/06/2030", timezone="Mars/Olympus")
    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert fields["start_date"] == ["Start date: enter a date like 2026-03-02."]
    assert fields["name"] == ["Name is required."]
    assert "timezone" in fields
    message = response.get_json()["message"]
    assert message.startswith("Please correct these fields: ") and all(name in message for name in fields)
