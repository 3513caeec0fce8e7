"""Meeting details in a browser (issue 17 point 1): the owner fills in a location, a video call link and
an agenda on the calendar form (a link that is not http(s) is refused beside its field, the rest kept),
the calendar page shows them, and the invitees page takes a personal message that reaches the
invitation email; on a desktop and on a 375-px phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .support import fits_the_phone, inbox, pick_link, sign_in, text_body

pytestmark = pytest.mark.e2e

AGENDA = "1. How the last month went\n2. Your goals <for> next quarter\n3. Anything else"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_owner_adds_meeting_details_and_a_personal_message(visit, owner, make_contact, mailbox, db, phone):
    owner_email = owner.email
    make_contact(owner=owner, first_name="Ada", last_name="Lovelace", email="ada@example.org")
    db.session.remove()
    visitor = visit("owner", timezone_id="Europe/London", phone=phone)
    page = visitor.page
    sign_in(visitor, owner_email)
    screen = "phone" if phone else "desktop"

    visitor.goto("/calendars/new")
    page.get_by_label("Name").fill("Team 1:1s")
    page.get_by_label("First day").fill("2030-06-03")
    page.get_by_label("Last day").fill("2030-06-14")
    page.get_by_label("Time zone", exact=True).select_option("Europe/London")
    page.get_by_label("Location (optional)").fill("Room 4.2, Main Building")
    page.get_by_label("Video call link (optional)").fill("javascript:alert(1)")
    page.get_by_label("Agenda or description (optional)").fill(AGENDA)
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Create calendar").click()
    assert posted.value.status == 400
    link = page.get_by_label("Video call link (optional)")
    expect(link).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".invalid-feedback").filter(
        has_text="Use a link that starts with https:// or http://.")).to_be_visible()
    expect(page.get_by_label("Location (optional)")).to_have_value("Room 4.2, Main Building")
    expect(page.get_by_label("Agenda or description (optional)")).to_have_value(AGENDA)
    if phone:
        fits_the_phone(page)
    visitor.check(f"calendar-form-refused-link-{screen}")

    link.fill("https://meet.example.com/team-one-on-ones-with-a-rather-long-room-name?pwd=abc123")
    page.get_by_role("button", name="Create calendar").click()
    expect(page.get_by_text("Created “Team 1:1s”.")).to_be_visible()
    details = page.get_by_role("region", name="Meeting details")
    expect(details.get_by_text("Room 4.2, Main Building")).to_be_visible()
    call = details.get_by_role("link", name="https://meet.example.com/team-one-on-ones")
    expect(call).to_have_attribute("target", "_blank")
    expect(call).to_have_attribute("rel", "noopener noreferrer")
    expect(page.locator("#meeting-description")).to_have_text(AGENDA.replace("\n", ""))
    assert page.locator("#meeting-description br").count() == 2
    if phone:
        fits_the_phone(page)
    visitor.check(f"calendar-page-with-details-{screen}")

    page.get_by_role("link", name="Edit calendar").click()
    expect(page.get_by_label("Agenda or description (optional)")).to_have_value(AGENDA)
    if phone:
        fits_the_phone(page)
    visitor.check(f"calendar-form-with-details-{screen}")

    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Invitees").first.click()
    page.get_by_label("Ada Lovelace").check()
    page.get_by_label("Personal message (optional)").fill("Looking forward to it!\nBring questions.")
    expect(page.get_by_text("Included in the invitation email.")).to_be_visible()
    if phone:
        fits_the_phone(page)
    visitor.check(f"invitees-with-message-{screen}")
    page.get_by_role("button", name="Invite selected").click()
    expect(page.get_by_text("Invited 1 contact")).to_be_visible()
    message = inbox(mailbox, "ada@example.org", "Owner")[0]
    body = text_body(message).replace("\r\n", "\n")
    assert "A message from Owner" in body
    assert "> Looking forward to it!\n> Bring questions." in body
    assert "Where: Room 4.2, Main Building" in body

    # Ada's page says where and what the meeting is, and shows the owner's message.
    ada = visit("ada", timezone_id="Europe/London", phone=phone)
    ada.goto(pick_link(message))
    expect(ada.page.get_by_text("Room 4.2, Main Building")).to_be_visible()
    expect(ada.page.get_by_role("link", name="https://meet.example.com/team-one-on-ones")).to_be_visible()
    expect(ada.page.get_by_text("Your goals <for> next quarter")).to_be_visible()
    expect(ada.page.get_by_text("A message from Owner")).to_be_visible()
    expect(ada.page.locator(".owner-message blockquote")).to_have_text("Looking forward to it!\nBring questions.")
    if phone:
        fits_the_phone(ada.page)
    ada.check(f"pick-page-with-details-{screen}")
