"""Re-running a contacts CSV import: rows whose email is already a contact are skipped or have their
names updated, as the owner chooses; the result says how many were added, updated and skipped, and
a real problem anywhere still refuses the whole file."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from oneonone.contacts import importing
from oneonone.contacts.models import Contact
from oneonone.exceptions import ValidationError

HEADER = "first_name,last_name,email\n"
THREE = (HEADER + "Ada,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n"
         "Grace,Hopper,grace@example.com\n").encode()


def post_csv(client, data: bytes, **fields):
    upload = FileStorage(io.BytesIO(data), filename="contacts.csv", content_type="text/csv")
    return client.post("/contacts/import", data={"file": upload, **fields})


def flashed(client) -> str:
    """The result message the contacts page shows after an import."""
    html = client.get("/contacts/").get_data(as_text=True)
    found = re.search(r"Imported [^<]*\.", html)
    return found.group(0) if found else ""


def names(db, owner) -> dict[str, tuple[str, str]]:
    contacts = db.session.scalars(sa.select(Contact).where(Contact.owner_id == owner.id)).all()
    return {c.email: (c.first_name, c.last_name) for c in contacts}


def test_the_form_offers_skip_by_default_or_update(owner_client):
    html = owner_client.get("/contacts/import").get_data(as_text=True)
    assert re.search(r"<legend[^>]*>\s*Contacts already in your address book\s*</legend>", html)
    skip = re.search(r'<input[^>]*type="radio"[^>]*value="skip"[^>]*>', html).group(0)
    update = re.search(r'<input[^>]*type="radio"[^>]*value="update"[^>]*>', html).group(0)
    assert "checked" in skip and "checked" not in update
    for radio, label in ((skip, "Skip them"), (update, "Update their names")):
        radio_id = re.search(r'id="([^"]+)"', radio).group(1)
        assert re.search(rf'<label[^>]*for="{radio_id}"[^>]*>\s*{label}\s*</label>', html)


def test_reimporting_the_same_file_adds_nothing_and_skips_every_row(owner_client, owner, db):
    assert post_csv(owner_client, THREE).status_code == 302
    assert flashed(owner_client) == "Imported 3 contacts: 3 added, 0 updated, 0 skipped."

    response = post_csv(owner_client, THREE)  # no choice sent: skip, the default
    assert response.status_code == 302 and response.location == "/contacts/"
    assert flashed(owner_client) == "Imported 3 contacts: 0 added, 0 updated, 3 skipped."
    assert post_csv(owner_client, THREE, existing="skip").status_code == 302
    assert flashed(owner_client) == "Imported 3 contacts: 0 added, 0 updated, 3 skipped."
    assert len(names(db, owner)) == 3


def test_update_changes_the_names_of_existing_contacts(owner_client, owner, make_contact, db):
    make_contact(owner, first_name="Ada", last_name="Byron", email="ada@example.com")
    make_contact(owner, first_name="Al", last_name="Turing", email="alan@example.com")
    content = (HEADER + "Ada,Lovelace,ADA@Example.com\nAlan,Turing,alan@example.com\n").encode()
    response = post_csv(owner_client, content, existing="update")
    assert response.status_code == 302
    assert flashed(owner_client) == "Imported 2 contacts: 0 added, 2 updated, 0 skipped."
    assert names(db, owner) == {"ada@example.com": ("Ada", "Lovelace"),
                                "alan@example.com": ("Alan", "Turing")}


@pytest.mark.parametrize(("existing", "message", "grace"), [
    ("skip", "Imported 3 contacts: 2 added, 0 updated, 1 skipped.", ("Grace", "Brewster")),
    ("update", "Imported 3 contacts: 2 added, 1 updated, 0 skipped.", ("Grace", "Hopper")),
])
def test_a_file_mixing_new_and_existing_contacts(owner_client, owner, make_contact, make_user, db,
                                                 existing, message, grace):
    make_contact(owner, first_name="Grace", last_name="Brewster", email="grace@example.com")
    someone_else = make_user()
    make_contact(someone_else, first_name="Other", last_name="Ada", email="ada@example.com")
    response = post_csv(owner_client, THREE, existing=existing)
    assert response.status_code == 302
    assert flashed(owner_client) == message
    assert names(db, owner) == {"ada@example.com": ("Ada", "Lovelace"),
                                "alan@example.com": ("Alan", "Turing"),
                                "grace@example.com": grace}
    assert names(db, someone_else) == {"ada@example.com": ("Other", "Ada")}  # another owner's book


def test_one_contact_is_singular(owner_client):
    post_csv(owner_client, (HEADER + "Ada,Lovelace,ada@example.com\n").encode())
    assert flashed(owner_client) == "Imported 1 contact: 1 added, 0 updated, 0 skipped."


@pytest.mark.parametrize("existing", ["skip", "update"])
@pytest.mark.parametrize(("rows", "problem"), [
    ("Grace,Hopper,grace@example.com\nAlan,Turing,not-an-email\n", "Line 3: Enter a valid email address"),
    ("Grace,Hopper,grace@example.com\nAlan,,alan@example.com\n", "Line 3: Last name is required."),
    ("Grace,Hopper,grace@example.com\nAda,Lovelace,ada@example.com\nGrace,H,GRACE@example.com\n",
     "Line 4: grace@example.com also appears on line 2."),
    ("Grace,Hopper,grace@example.com\nAda,Lovelace\n", "Line 3: expected 3 fields"),
])
def test_a_real_problem_still_refuses_the_whole_file(owner_client, owner, make_contact, db, existing,
                                                     rows, problem):
    make_contact(owner, first_name="Grace", last_name="Brewster", email="grace@example.com")
    response = post_csv(owner_client, (HEADER + rows).encode(), existing=existing)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was imported" in html and problem in html
    assert names(db, owner) == {"grace@example.com": ("Grace", "Brewster")}
    # The choice made is still the one selected on the page that comes back.
    chosen = re.search(rf'<input[^>]*type="radio"[^>]*value="{existing}"[^>]*>', html).group(0)
    assert "checked" in chosen


def test_a_missing_column_refuses_the_file(owner_client, owner, make_contact, db):
    make_contact(owner, first_name="Grace", last_name="Brewster", email="grace@example.com")
    response = post_csv(owner_client, b"first_name,email\nGrace,grace@example.com\n", existing="update")
    assert response.status_code == 400
    assert "Line 1: the header row must be first_name,last_name,email" in response.get_data(as_text=True)
    assert names(db, owner) == {"grace@example.com": ("Grace", "Brewster")}


@pytest.mark.parametrize("value", ["replace", "", "SKIP "])
def test_an_unknown_choice_is_refused_in_our_words(owner_client, owner, db, value):
    response = post_csv(owner_client, THREE, existing=value)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose whether to skip or update the contacts already in your address book." in html
    assert "Not a valid choice" not in html
    assert names(db, owner) == {}


def test_the_service_answers_with_the_counts(owner, make_contact, db):
    make_contact(owner, first_name="Grace", last_name="Brewster", email="grace@example.com")
    result = importing.import_contacts_csv(owner, THREE, existing=importing.Existing.UPDATE)
    assert (len(result.added), len(result.updated), result.skipped, result.total) == (2, 1, 0, 3)
    assert sorted(c.email for c in result.added) == ["ada@example.com", "alan@example.com"]
    assert [c.last_name for c in result.updated] == ["Hopper"]
    result = importing.import_contacts_csv(owner, THREE)
    assert (len(result.added), len(result.updated), result.skipped, result.total) == (0, 0, 3, 3)
    with pytest.raises(ValidationError, match="Nothing was imported"):
        importing.import_contacts_csv(owner, THREE + b"Bad,Row,nope\n", existing=importing.Existing.UPDATE)
