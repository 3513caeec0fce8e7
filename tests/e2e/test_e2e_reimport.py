"""Issue 18 in a browser: the owner imports the same contacts CSV twice (the second time every row is
skipped), then updates names from a corrected file; a photo too large for the request comes back on
the form with what was typed and the limit beside the photo field. Desktop and phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .support import fits_the_phone, sign_in

pytestmark = pytest.mark.e2e

FIRST = (b"first_name,last_name,email\n"
         b"Amara,Okafor,amara@example.org\nKenji,Sato,kenji@example.org\nChris,Doe,chris@example.org\n")
CORRECTED = (b"first_name,last_name,email\n"
             b"Amara,Okafor-Lee,amara@example.org\nKenji,Satou,kenji@example.org\nDana,Scully,dana@example.org\n")


@pytest.fixture
def owner_email(owner, db) -> str:
    email = owner.email
    db.session.remove()  # the server's requests must not wait on this thread's session
    return email


def csv_file(content: bytes) -> dict:
    return {"name": "contacts.csv", "mimeType": "text/csv", "buffer": content}


def import_file(page, content: bytes, choice: str | None = None) -> None:
    page.get_by_role("link", name="Import CSV").click()
    existing = page.get_by_role("group", name="Contacts already in your address book")
    expect(existing.get_by_label("Skip them")).to_be_checked()  # the default, every time
    expect(existing.get_by_label("Update their names")).not_to_be_checked()
    if choice:
        existing.get_by_label(choice).check()
    page.get_by_label("CSV file").set_input_files(csv_file(content))
    page.get_by_role("button", name="Import contacts").click()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_reimporting_contacts_skips_or_updates(visit, owner_email, phone):
    owner_tab = visit("owner-phone" if phone else "owner", phone=phone)
    page = owner_tab.page
    sign_in(owner_tab, owner_email)
    page.goto("/contacts/")

    page.get_by_role("link", name="Import CSV").click()
    owner_tab.check("import")
    if phone:
        fits_the_phone(page)
    page.go_back()

    import_file(page, FIRST)
    expect(page.get_by_text("Imported 3 contacts: 3 added, 0 updated, 0 skipped.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Okafor, Amara")).to_be_visible()

    # The same file again: nothing new, nothing refused.
    import_file(page, FIRST)
    expect(page.get_by_text("Imported 3 contacts: 0 added, 0 updated, 3 skipped.")).to_be_visible()
    expect(page.get_by_text("is already one of your contacts")).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text="@example.org")).to_have_count(3)
    owner_tab.check("after-reimport")
    if phone:
        fits_the_phone(page)

    # A corrected file, skipping: only the new person arrives, the names stay.
    import_file(page, CORRECTED)
    expect(page.get_by_text("Imported 3 contacts: 1 added, 0 updated, 2 skipped.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Okafor, Amara")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Scully, Dana")).to_be_visible()

    # The corrected file, updating names.
    import_file(page, CORRECTED, "Update their names")
    expect(page.get_by_text("Imported 3 contacts: 0 added, 3 updated, 0 skipped.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Okafor-Lee, Amara")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Satou, Kenji")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="@example.org")).to_have_count(4)

    # A real problem still refuses the whole file, naming the line, and keeps the choice made.
    import_file(page, CORRECTED + b"Eve,Moneypenny,not-an-email\n", "Update their names")
    expect(page.get_by_text("Nothing was imported: the file has 1 problem.")).to_be_visible()
    expect(page.get_by_text("Line 5: Enter a valid email address")).to_be_visible()
    expect(page.get_by_label("Update their names")).to_be_checked()
    owner_tab.check("import-refused")
    if phone:
        fits_the_phone(page)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_an_oversized_photo_keeps_the_form(visit, owner_email, phone):
    owner_tab = visit("owner-phone" if phone else "owner", phone=phone)
    page = owner_tab.page
    sign_in(owner_tab, owner_email)
    page.goto("/contacts/new")
    page.get_by_label("First name").fill("Zoë")
    page.get_by_label("Last name").fill("Ångström")
    page.get_by_label("Email").fill("zoe@example.org")
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (5 * 1024 * 1024)
    page.get_by_label("Photo (optional)").set_input_files(
        {"name": "holiday.png", "mimeType": "image/png", "buffer": huge})
    page.get_by_role("button", name="Add contact").click()

    expect(page.get_by_text("The photo must be at most 2 MB.")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Zoë")
    expect(page.get_by_label("Last name")).to_have_value("Ångström")
    expect(page.get_by_label("Email")).to_have_value("zoe@example.org")
    expect(page.get_by_label("Photo (optional)")).to_have_attribute("aria-invalid", "true")
    owner_tab.check("photo-too-large")
    if phone:
        fits_the_phone(page)

    # Without the photo, the same form saves.
    page.get_by_label("Photo (optional)").set_input_files([])
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_text("Zoë Ångström was added to your contacts.")).to_be_visible()
