"""The delete-account page says what deleting will send: how many invitees with an upcoming confirmed
meeting are emailed a cancellation, and who; and deleting sends exactly those (read from the SMTP sink)."""

from __future__ import annotations

import datetime as dt
import re

from scenarios import ADA, BOB

PASSWORD = "correct-horse-battery"


def page_text(response) -> str:
    """The page's words, tags removed and spaces squeezed."""
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))


def test_the_page_counts_and_names_the_cancellations_it_will_send(
        owner_client, owner, make_calendar, make_contact, make_timeslot, make_invitee, make_event,
        make_user, mailbox):
    interviews = make_calendar(owner=owner, name="Interviews", timezone="Europe/London",
                               start_date=dt.date(2030, 6, 3))
    reviews = make_calendar(owner=owner, name="Reviews", timezone="Asia/Tokyo", start_date=dt.date(2030, 7, 1))
    past = make_calendar(owner=owner, name="Last year", start_date=dt.date(2020, 3, 2))
    ada, bob = make_contact(owner=owner, **ADA), make_contact(owner=owner, **BOB)
    cy = make_contact(owner=owner, first_name="Cy", last_name="Young", email="cy@example.org")
    for calendar, contact, start in ((interviews, ada, "09:00"), (interviews, bob, "10:00"),
                                     (reviews, ada, "11:00"), (past, cy, "09:00")):
        make_invitee(calendar, contact)
        make_event(make_timeslot(calendar, start), contact, confirmed=True)
    make_invitee(interviews, cy)
    make_event(make_timeslot(interviews, "11:00"), cy)  # a pick, not a meeting: nobody is told
    stranger = make_user()
    theirs = make_calendar(owner=stranger, name="Not mine", start_date=dt.date(2030, 6, 3))
    dee = make_contact(owner=stranger, first_name="Dee", last_name="Other", email="dee@example.org")
    make_invitee(theirs, dee)
    make_event(make_timeslot(theirs), dee, confirmed=True)

    page = page_text(owner_client.get("/accounts/delete"))
    assert "3 upcoming meetings are cancelled, and each invitee is emailed a cancellation (3 emails)" in page
    assert "Ada Lovelace — Interviews, Mon 03 Jun 2030, 09:00" in page
    assert "Bob Babbage — Interviews, Mon 03 Jun 2030, 10:00" in page
    assert "Ada Lovelace — Reviews, Mon 01 Jul 2030, 11:00" in page  # in that calendar's zone
    assert "Cy Young" not in page and "Dee Other" not in page
    assert page.index("Interviews, Mon 03 Jun 2030, 09:00") < page.index("Reviews, Mon 01 Jul")

    mailbox.messages.clear()
    response = owner_client.post("/accounts/delete", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    sent = mailbox.wait_for(3)
    assert sorted((m["To"], m["Subject"]) for m in sent) == [
        ("ada@example.org", 'Cancelled: "Interviews"'), ("ada@example.org", 'Cancelled: "Reviews"'),
        ("bob@example.org", 'Cancelled: "Interviews"')]
    assert not mailbox.to("cy@example.org") and not mailbox.to("dee@example.org")


def test_one_meeting_is_said_in_the_singular(owner_client, owner, make_calendar, make_contact, make_timeslot,
                                              make_invitee, make_event):
    calendar = make_calendar(owner=owner, name="Interviews", start_date=dt.date(2030, 6, 3))
    ada = make_contact(owner=owner, **ADA)
    make_invitee(calendar, ada)
    make_event(make_timeslot(calendar), ada, confirmed=True)
    page = page_text(owner_client.get("/accounts/delete"))
    assert "One upcoming meeting is cancelled, and Ada Lovelace is emailed a cancellation (1 email)" in page


def test_without_upcoming_meetings_the_page_says_nobody_is_emailed(owner_client, owner, make_calendar,
                                                                    make_contact, make_timeslot,
                                                                    make_invitee, make_event):
    past = make_calendar(owner=owner, start_date=dt.date(2020, 3, 2))
    ada = make_contact(owner=owner, **ADA)
    make_invitee(past, ada)
    make_event(make_timeslot(past), ada, confirmed=True)
    page = page_text(owner_client.get("/accounts/delete"))
    assert "No invitee has an upcoming confirmed meeting, so nobody is emailed." in page
    assert "Ada Lovelace" not in page


def test_a_long_list_is_cut_short_but_the_count_is_whole(owner_client, owner, make_calendar, make_contact,
                                                          make_timeslot, make_invitee, make_event):
    calendar = make_calendar(owner=owner, name="Interviews", start_date=dt.date(2030, 6, 3))
    for n in range(12):
        person = make_contact(owner=owner, first_name=f"Person{n:02d}", last_name="Example",
                              email=f"person{n}@example.org")
        make_invitee(calendar, person)
        make_event(make_timeslot(calendar, f"{8 + n // 2:02d}:{30 * (n % 2):02d}"), person, confirmed=True)
    page = page_text(owner_client.get("/accounts/delete"))
    assert "12 upcoming meetings are cancelled" in page and "(12 emails)" in page
    assert "Person09 Example" in page and "Person10 Example" not in page
    assert "and 2 more" in page
