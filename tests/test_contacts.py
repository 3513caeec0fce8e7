"""The owner's address book through the real pages: list, search, add, edit, delete, photos, CSV import."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib

import pytest
import sqlalchemy as sa
from flask import url_for
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from oneonone.contacts import importing, photos, services
from oneonone.contacts.models import Contact
from oneonone.exceptions import NotFoundError, ValidationError
from oneonone.scheduling.models import Event, Invitee
from oneonone.transaction import unit_of_work

DEFAULT_PASSWORD = "correct-horse-battery"  # what the make_user factory sets

GOOD = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}


# ---- helpers --------------------------------------------------------------------------------

def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (4, 4), colour: str = "red") -> bytes:
    """A tiny real image in `image_format`."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, image_format)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims to be `width` x `height`: what a decompression bomb looks like to open()."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(
        b"IEND", b"")


def upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type="application/octet-stream")


def post_form(client, url: str, fields: dict, **kwargs):
    """POST `fields` as multipart/form-data, encoded in memory.

    The test client spools large bodies to a temporary file it never closes (a ResourceWarning).
    """
    boundary, body = encode_multipart(fields)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}", **kwargs)


def count_contacts(db, owner=None) -> int:
    query = sa.select(sa.func.count()).select_from(Contact)
    if owner is not None:
        query = query.where(Contact.owner_id == owner.id)
    return db.session.scalar(query)


def stored_files(app) -> list[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in_client(app, user):
    client = app.test_client()
    response = client.post("/accounts/signin", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def add_many(db, owner, count: int) -> None:
    db.session.add_all(
        Contact(owner_id=owner.id, first_name=f"First{n:03}", last_name=f"Last{n:03}",
                email=f"person{n:03}@example.org")
        for n in range(count)
    )
    db.session.commit()


def row_names(html: str) -> list[str]:
    return re.findall(r'class="contact-name"[^>]*>([^<]+)</a>', html)


# ---- list, search, pagination ---------------------------------------------------------------

def test_empty_address_book_offers_add_and_import(owner_client):
    html = text(owner_client.get("/contacts/"))
    assert "No contacts yet — add one" in html
    assert 'href="/contacts/new"' in html and 'href="/contacts/import"' in html


def test_list_is_sorted_by_last_then_first_name_and_shows_only_own(owner_client, owner, make_contact,
                                                                   make_user):
    make_contact(owner, first_name="Grace", last_name="Hopper", email="grace@example.com")
    make_contact(owner, first_name="Alan", last_name="turing", email="alan@example.com")
    make_contact(owner, first_name="Ada", last_name="Hopper", email="ada@example.com")
    make_contact(make_user(), first_name="Someone", last_name="Else", email="else@example.com")
    html = text(owner_client.get("/contacts/"))
    assert row_names(html) == ["Hopper, Ada", "Hopper, Grace", "turing, Alan"]
    assert "else@example.com" not in html
    assert "3 contacts" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ada", ["Lovelace, Ada"]),
        ("LOVE", ["Lovelace, Ada"]),
        ("example.net", ["Hopper, Grace"]),
        ("  grace   hopper ", ["Hopper, Grace"]),
        ("e", ["Hopper, Grace", "Lovelace, Ada"]),
        ("_", []),  # LIKE wildcards are searched for literally
        ("%", []),
    ],
)
def test_search_by_name_or_email(owner_client, owner, make_contact, query, expected):
    make_contact(owner, first_name="Ada", last_name="Lovelace", email="ada@example.com")
    make_contact(owner, first_name="Grace", last_name="Hopper", email="grace@example.net")
    response = owner_client.get("/contacts/", query_string={"q": query})
    assert response.status_code == 200
    assert row_names(text(response)) == expected


def test_search_without_match_says_so_and_offers_to_clear(owner_client, owner, make_contact):
    make_contact(owner, first_name="Ada", last_name="Lovelace")
    html = text(owner_client.get("/contacts/?q=nobody"))
    assert "No contacts match “nobody”." in html
    assert 'href="/contacts/">Clear the search</a>' in html
    assert "No contacts yet" not in html


def test_list_paginates_past_fifty(owner_client, owner, db):
    add_many(db, owner, 55)
    first = text(owner_client.get("/contacts/"))
    assert len(row_names(first)) == 50 and row_names(first)[0] == "Last000, First000"
    assert 'href="/contacts/?page=2"' in first
    second = text(owner_client.get("/contacts/?page=2"))
    assert row_names(second) == [f"Last{n:03}, First{n:03}" for n in range(50, 55)]
    beyond = owner_client.get("/contacts/?page=9")
    assert beyond.status_code == 302 and beyond.location == "/contacts/?page=2"
    assert owner_client.get("/contacts/?page=nonsense").status_code == 200


def test_pagination_keeps_the_search(owner_client, owner, db):
    add_many(db, owner, 60)
    html = text(owner_client.get("/contacts/?q=person0"))
    assert len(row_names(html)) == 50
    assert 'href="/contacts/?page=2&amp;q=person0"' in html


def test_list_shows_how_many_calendars_each_contact_is_invited_to(owner_client, owner, make_contact,
                                                                  make_calendar, make_invitee):
    contact = make_contact(owner)
    for name in ("One", "Two"):
        make_invitee(make_calendar(owner, name=name), contact)
    assert "2 calendars" in text(owner_client.get("/contacts/"))


# ---- add and edit ---------------------------------------------------------------------------

def test_add_contact(owner_client, owner, db):
    response = owner_client.post("/contacts/new", data={
        "first_name": "  Ada ", "last_name": "Lovelace", "email": " Ada@Example.COM ",
    })
    assert response.status_code == 302 and response.location == "/contacts/"
    contact = db.session.scalar(sa.select(Contact))
    assert (contact.owner_id, contact.first_name, contact.email) == (owner.id, "Ada", "ada@example.com")
    assert contact.image_filename is None
    assert "Ada Lovelace was added to your contacts." in text(owner_client.get("/contacts/"))


REFUSED_FIELDS = [
    ({"first_name": ""}, "First name is required."),
    ({"first_name": "   "}, "First name is required."),
    ({"last_name": ""}, "Last name is required."),
    ({"first_name": "x" * 121}, "First name must be at most 120 characters."),
    ({"last_name": "x" * 121}, "Last name must be at most 120 characters."),
    ({"email": ""}, "Email is required."),
    ({"email": "not-an-email"}, "Enter a valid email address"),
    ({"email": "ada@"}, "Enter a valid email address"),
    ({"email": "a" * 110 + "@example.com"}, "Email must be at most 120 characters."),
]


@pytest.mark.parametrize(("changes", "message"), REFUSED_FIELDS)
def test_add_refuses_bad_input(owner_client, db, changes, message):
    response = owner_client.post("/contacts/new", data={**GOOD, **changes})
    assert response.status_code == 400
    assert message in text(response)
    assert count_contacts(db) == 0


@pytest.mark.parametrize(("changes", "message"), REFUSED_FIELDS)
def test_edit_refuses_bad_input(owner_client, owner, make_contact, db, changes, message):
    contact = make_contact(owner, **GOOD)
    response = owner_client.post(f"/contacts/{contact.id}/edit", data={**GOOD, **changes})
    assert response.status_code == 400
    assert message in text(response)
    db.session.refresh(contact)
    assert (contact.first_name, contact.last_name, contact.email) == tuple(GOOD.values())


def test_name_of_exactly_120_characters_is_fine(owner_client, db):
    response = owner_client.post("/contacts/new", data={**GOOD, "last_name": "x" * 120})
    assert response.status_code == 302
    assert count_contacts(db) == 1


def test_add_refuses_an_email_already_in_the_address_book(owner_client, owner, make_contact, make_user, db):
    make_contact(owner, email="ada@example.com")
    make_contact(make_user(), email="grace@example.com")  # another owner's contact does not count
    response = owner_client.post("/contacts/new", data={**GOOD, "email": "ADA@example.com"})
    assert response.status_code == 400
    assert "You already have a contact with this email." in text(response)
    assert owner_client.post("/contacts/new", data={**GOOD, "email": "grace@example.com"}).status_code == 302
    assert count_contacts(db, owner) == 2


def test_edit_refuses_another_contacts_email(owner_client, owner, make_contact, db):
    make_contact(owner, email="ada@example.com")
    grace = make_contact(owner, first_name="Grace", email="grace@example.com")
    response = owner_client.post(f"/contacts/{grace.id}/edit", data={**GOOD, "email": "Ada@Example.com"})
    assert response.status_code == 400
    assert "You already have a contact with this email." in text(response)
    db.session.refresh(grace)
    assert grace.email == "grace@example.com"


@pytest.mark.parametrize("action", ["add", "edit"])
def test_a_lost_race_on_the_email_is_a_field_error(owner_client, owner, make_contact, db, monkeypatch,
                                                   app, action):
    """Two requests pass the check at once; the database's unique constraint decides."""
    make_contact(owner, email="ada@example.com")
    monkeypatch.setattr(services, "_email_taken", lambda *args, **kwargs: False)
    url = "/contacts/new"
    if action == "edit":
        url = f"/contacts/{make_contact(owner, email='grace@example.com').id}/edit"
    response = owner_client.post(url, data={**GOOD, "image": upload(image_bytes(), "me.png")})
    assert response.status_code == 400
    assert "You already have a contact with this email." in text(response)
    assert sorted(db.session.scalars(sa.select(Contact.email))) == (
        ["ada@example.com"] if action == "add" else ["ada@example.com", "grace@example.com"])
    assert stored_files(app) == []  # the photo written for the failed save was removed


def test_edit_contact(owner_client, owner, make_contact, db):
    contact = make_contact(owner, **GOOD)
    page = text(owner_client.get(f"/contacts/{contact.id}/edit"))
    assert 'value="Lovelace"' in page and "Edit Ada Lovelace" in page
    response = owner_client.post(f"/contacts/{contact.id}/edit", data={
        "first_name": "Augusta Ada", "last_name": "King", "email": "ADA@example.com",
    })
    assert response.status_code == 302
    db.session.refresh(contact)
    assert (contact.first_name, contact.last_name, contact.email) == ("Augusta Ada", "King", "ada@example.com")


def test_update_contact_changes_only_the_given_fields(owner, make_contact, db):
    contact = make_contact(owner, **GOOD)
    services.update_contact(contact, {"last_name": " King ", "owner_id": 999})
    db.session.refresh(contact)
    assert (contact.first_name, contact.last_name, contact.email, contact.owner_id) == (
        "Ada", "King", "ada@example.com", owner.id)
    with pytest.raises(ValidationError) as error:
        services.update_contact(contact, {"email": "nope"})
    assert list(error.value.fields) == ["email"]


def test_get_contact_hides_other_owners_contacts(owner, make_user, make_contact):
    mine = make_contact(owner)
    theirs = make_contact(make_user())
    assert services.get_contact(owner, mine.id) is mine
    for contact_id in (theirs.id, 123456):
        with pytest.raises(NotFoundError):
            services.get_contact(owner, contact_id)


# ---- delete ---------------------------------------------------------------------------------

def test_delete_asks_first_then_removes_invitations_and_picks(owner_client, owner, make_contact, db,
                                                            make_calendar, make_timeslot, make_invitee,
                                                            make_event):
    contact = make_contact(owner, **GOOD)
    other = make_contact(owner)
    for name in ("Interviews", "Office hours"):
        calendar = make_calendar(owner, name=name)
        slot = make_timeslot(calendar)
        make_invitee(calendar, contact)
        make_invitee(calendar, other)
        make_event(slot, contact)
        make_event(slot, other)
    page = owner_client.get(f"/contacts/{contact.id}/delete")
    assert page.status_code == 200
    html = text(page)
    assert "is invited to <strong>2 calendars</strong>" in html
    assert "Interviews" in html and "Office hours" in html and "2 picks" in html
    assert count_contacts(db) == 2  # GET changes nothing

    response = owner_client.post(f"/contacts/{contact.id}/delete")
    assert response.status_code == 302 and response.location == "/contacts/"
    db.session.expire_all()
    assert db.session.get(Contact, contact.id) is None
    assert db.session.scalars(sa.select(Invitee.contact_id)).all() == [other.id, other.id]
    assert db.session.scalars(sa.select(Event.contact_id)).all() == [other.id, other.id]
    assert "Ada Lovelace was deleted." in text(owner_client.get("/contacts/"))


def test_delete_page_of_an_uninvited_contact(owner_client, owner, make_contact):
    contact = make_contact(owner)
    assert "is invited to <strong>0 calendars</strong>" in text(owner_client.get(f"/contacts/{contact.id}/delete"))


# ---- photos ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("image_format", "extension", "mimetype"), [
    ("PNG", ".png", "image/png"), ("JPEG", ".jpg", "image/jpeg"), ("WEBP", ".webp", "image/webp"),
])
def test_photo_is_stored_and_served_to_its_owner_only(owner_client, owner, app, db, make_user, client,
                                                      image_format, extension, mimetype):
    data = image_bytes(image_format)
    response = owner_client.post("/contacts/new", data={**GOOD, "image": upload(data, "photo.bin")})
    assert response.status_code == 302
    contact = db.session.scalar(sa.select(Contact))
    [name] = stored_files(app)
    assert contact.image_filename == name and re.fullmatch(r"[0-9a-f]{32}" + re.escape(extension), name)
    with open(os.path.join(app.config["UPLOAD_FOLDER"], name), "rb") as handle:
        stored = handle.read()  # re-encoded, not byte for byte (tests/test_photo_reencode.py)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == image_format and image.size == (4, 4)

    html = text(owner_client.get("/contacts/"))
    assert f'src="/contacts/{contact.id}/photo?v=' in html and "contact-thumb" in html
    with owner_client.get(f"/contacts/{contact.id}/photo") as photo:
        assert photo.status_code == 200 and photo.data == stored and photo.mimetype == mimetype
        assert "private" in photo.headers["Cache-Control"] and "public" not in photo.headers["Cache-Control"]
    assert f'src="/contacts/{contact.id}/photo?v=' in text(owner_client.get(f"/contacts/{contact.id}/edit"))

    stranger = signed_in_client(app, make_user())
    assert stranger.get(f"/contacts/{contact.id}/photo").status_code == 404
    anonymous = app.test_client().get(f"/contacts/{contact.id}/photo")
    assert anonymous.status_code == 302 and anonymous.location.startswith("/accounts/signin")


def test_contact_without_photo_shows_initials_and_has_no_photo_url(owner_client, owner, make_contact):
    contact = make_contact(owner, first_name="ada", last_name="Lovelace")
    html = text(owner_client.get("/contacts/"))
    assert re.search(r'class="contact-initials"[^>]*>AL</span>', html)
    assert owner_client.get(f"/contacts/{contact.id}/photo").status_code == 404
    with owner_client.application.test_request_context():
        assert photos.contact_image_url(contact) is None


def test_replacing_and_removing_a_photo_deletes_the_old_file(owner_client, owner, app, db):
    owner_client.post("/contacts/new", data={**GOOD, "image": upload(image_bytes(colour="red"), "a.png")})
    contact = db.session.scalar(sa.select(Contact))
    [first] = stored_files(app)

    response = owner_client.post(f"/contacts/{contact.id}/edit",
                                 data={**GOOD, "image": upload(image_bytes("JPEG"), "b.jpg")})
    assert response.status_code == 302
    db.session.refresh(contact)
    [second] = stored_files(app)
    assert second != first and contact.image_filename == second and second.endswith(".jpg")

    # Saving without a new file keeps the photo.
    owner_client.post(f"/contacts/{contact.id}/edit", data={**GOOD, "last_name": "King"})
    assert stored_files(app) == [second]

    response = owner_client.post(f"/contacts/{contact.id}/edit", data={**GOOD, "remove_image": "y"})
    assert response.status_code == 302
    db.session.refresh(contact)
    assert contact.image_filename is None and stored_files(app) == []


def test_deleting_a_contact_deletes_its_photo(owner_client, owner, app, db):
    owner_client.post("/contacts/new", data={**GOOD, "image": upload(image_bytes(), "a.png")})
    contact = db.session.scalar(sa.select(Contact))
    assert len(stored_files(app)) == 1
    owner_client.post(f"/contacts/{contact.id}/delete")
    assert stored_files(app) == []


def test_upload_folder_is_created_when_missing(owner, app):
    assert not os.path.exists(app.config["UPLOAD_FOLDER"])
    image = FileStorage(io.BytesIO(image_bytes()), "a.png")
    contact = services.create_contact(owner, first_name="A", last_name="B", email="a@b.example", image=image)
    assert stored_files(app) == [contact.image_filename]


def _bad_images() -> list:
    jpeg = image_bytes("JPEG", size=(64, 64))
    big = image_bytes()
    return [
        pytest.param(b"just some text, honestly", "photo.png", "not a JPEG, PNG or WebP image", id="text-named-png"),
        pytest.param(image_bytes("GIF"), "photo.png", "Use a JPEG, PNG or WebP image.", id="gif"),
        pytest.param(image_bytes("BMP"), "photo.jpg", "Use a JPEG, PNG or WebP image.", id="bmp"),
        pytest.param(big + b"\0" * (2 * 1024 * 1024 + 1 - len(big)), "big.png", "at most 2 MB", id="over-2MB"),
        pytest.param(jpeg[: len(jpeg) // 2], "cut.jpg", "not a JPEG, PNG or WebP image", id="truncated-jpeg"),
        pytest.param(jpeg[:20] + b"\x00" * 200, "broken.jpg", "not a JPEG, PNG or WebP image", id="corrupt-jpeg"),
        pytest.param(b"", "empty.png", "The photo file is empty.", id="empty"),
        pytest.param(png_header_only(20_000, 20_000), "bomb.png", "too many pixels", id="decompression-bomb"),
        pytest.param(png_header_only(10_000, 10_000), "bomb.png", "too many pixels", id="bomb-warning"),
        pytest.param(png_header_only(7_000, 7_000), "big.png", "too many pixels", id="over-40-megapixels"),
    ]


@pytest.mark.parametrize(("data", "filename", "message"), _bad_images())
def test_bad_photos_are_refused(owner_client, owner, make_contact, app, db, data, filename, message):
    response = post_form(owner_client, "/contacts/new", {**GOOD, "image": upload(data, filename)})
    assert response.status_code == 400
    assert message in text(response)
    assert count_contacts(db) == 0

    contact = make_contact(owner, email="grace@example.com")
    response = post_form(owner_client, f"/contacts/{contact.id}/edit", {**GOOD, "image": upload(data, filename)})
    assert response.status_code == 400 and message in text(response)
    db.session.refresh(contact)
    assert contact.image_filename is None and contact.email == "grace@example.com"
    assert stored_files(app) == []


HUGE = b"\0" * (4 * 1024 * 1024 + 1)  # over MAX_CONTENT_LENGTH: the request itself is refused


def photo_field(html: str) -> str:
    """The photo input and the message under it."""
    return re.search(r'<input[^>]*name="image".*?</div>', html, re.S).group(0)


def test_a_photo_over_the_request_limit_keeps_what_was_typed(owner_client, db, app):
    typed = {"first_name": "Zoë", "last_name": "O'Brien <b>", "email": "Zoe@Example.com"}
    response = post_form(owner_client, "/contacts/new", {**typed, "image": upload(HUGE, "huge.png")})
    assert response.status_code == 413
    html = text(response)
    assert 'value="Zoë"' in html and 'value="O&#39;Brien &lt;b&gt;"' in html
    assert 'value="Zoe@Example.com"' in html
    field = photo_field(html)
    assert "is-invalid" in field and "The photo must be at most 2 MB." in field
    assert "Please correct the problem below." in html
    assert count_contacts(db) == 0 and stored_files(app) == []


def test_a_photo_over_the_request_limit_on_edit_keeps_the_new_values(owner_client, owner, make_contact, db):
    contact = make_contact(owner, first_name="Grace", last_name="Hopper", email="grace@example.com")
    typed = {"first_name": "Amazing", "last_name": "Grace", "email": "amazing@example.com"}
    response = post_form(owner_client, f"/contacts/{contact.id}/edit",
                         {**typed, "image": upload(HUGE, "huge.png")})
    assert response.status_code == 413
    html = text(response)
    assert 'value="Amazing"' in html and 'value="Grace"' in html and 'value="amazing@example.com"' in html
    assert "The photo must be at most 2 MB." in photo_field(html)
    db.session.refresh(contact)
    assert (contact.first_name, contact.email) == ("Grace", "grace@example.com")


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_photo_over_the_request_limit_checks_the_csrf_token(app, client, owner, db, app_config):
    def token(url: str) -> str:
        html = text(client.get(url))
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    response = client.post("/accounts/signin", data={"csrf_token": token("/accounts/signin"),
                                                     "email": owner.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    good = token("/contacts/new")
    response = post_form(client, "/contacts/new",
                         {"csrf_token": good, **GOOD, "image": upload(HUGE, "huge.png")})
    assert response.status_code == 413 and 'value="Lovelace"' in text(response)
    # A forged form is not shown back: only the notice, on an empty form.
    response = post_form(client, "/contacts/new",
                         {"csrf_token": "forged", **GOOD, "image": upload(HUGE, "huge.png")},
                         follow_redirects=True)
    html = text(response)
    assert "That upload is too large. A photo can be at most 2 MB." in html
    assert 'value="Lovelace"' not in html
    assert count_contacts(db) == 0


def test_a_csv_file_over_the_request_limit_is_refused_kindly(owner_client, db):
    response = post_form(owner_client, "/contacts/import", {"file": upload(HUGE, "huge.csv")},
                         follow_redirects=True)
    assert response.status_code == 200
    assert "That upload is too large. A CSV file can be at most 1 MB." in text(response)
    assert count_contacts(db) == 0


# ---- CSV import -----------------------------------------------------------------------------

def post_csv(client, data: bytes, name: str = "contacts.csv"):
    return client.post("/contacts/import", data={"file": upload(data, name)})


def test_import_page_and_sample(owner_client):
    assert "first_name,last_name,email" in text(owner_client.get("/contacts/import"))
    sample = owner_client.get("/contacts/import/sample.csv")
    assert sample.mimetype == "text/csv" and sample.data.startswith(b"first_name,last_name,email\n")


def test_import_adds_every_contact(owner_client, owner, db):
    data = (
        "\ufeff first_name , Last_Name ,EMAIL\r\n"
        " Ada , Lovelace , Ada@Example.com \r\n"
        "\r\n"
        '"Grace ""Amazing""",Hopper,grace@example.com\r\n'
        "Zoë,Ångström,zoe@example.com\r\n"
    ).encode()
    response = post_csv(owner_client, data)
    assert response.status_code == 302 and response.location == "/contacts/"
    contacts = db.session.scalars(sa.select(Contact).order_by(Contact.email)).all()
    assert [(c.first_name, c.last_name, c.email, c.owner_id) for c in contacts] == [
        ("Ada", "Lovelace", "ada@example.com", owner.id),
        ('Grace "Amazing"', "Hopper", "grace@example.com", owner.id),
        ("Zoë", "Ångström", "zoe@example.com", owner.id),
    ]
    assert "Imported 3 contacts: 3 added, 0 updated, 0 skipped." in text(owner_client.get("/contacts/"))


@pytest.mark.parametrize("content", [
    b"email,last_name,first_name\nada@example.com,Lovelace,Ada\n",  # columns in any order
    b"first_name,last_name,email,,\nAda,Lovelace,ada@example.com,,\n",  # empty trailing columns
    b"first_name;last_name;email\nAda;Lovelace;ada@example.com\n",  # a semicolon spreadsheet
    b"first_name\tlast_name\temail\nAda\tLovelace\tada@example.com\n",
])
def test_import_tolerates_spreadsheet_habits(owner, db, content):
    [contact] = importing.import_contacts_csv(owner, content).added
    assert (contact.first_name, contact.last_name, contact.email) == ("Ada", "Lovelace", "ada@example.com")
    assert count_contacts(db) == 1


HEADER = "first_name,last_name,email\n"


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        pytest.param(b"", ["The file is empty."], id="empty"),
        pytest.param(b"  \n\n", ["The file is empty."], id="blank"),
        pytest.param(b"first_name,last_name,email\n", ["header row but no contacts"], id="header-only"),
        pytest.param(b"name,email\nAda,ada@example.com\n",
                     ["Line 1: the header row must be first_name,last_name,email (found: name,email)"],
                     id="wrong-header"),
        pytest.param(b"Ada,Lovelace,ada@example.com\n", ["Line 1: the header row must be"], id="no-header"),
        pytest.param((HEADER + "Ada,Lovelace,ada@example.com\nAlan,Turing,not-an-email\n").encode(),
                     ["Line 3: Enter a valid email address"], id="bad-email"),
        pytest.param((HEADER + "Ada,Lovelace,ada@example.com\n,Turing,alan@example.com\n"
                      "Grace,,grace@example.com\n").encode(),
                     ["Line 3: First name is required.", "Line 4: Last name is required."], id="missing"),
        pytest.param((HEADER + "Ada," + "x" * 121 + ",ada@example.com\n").encode(),
                     ["Line 2: Last name must be at most 120 characters."], id="too-long"),
        pytest.param((HEADER + "Ada,Lovelace,ada@example.com\nAlan,Turing\nA,B,c@example.com,extra\n").encode(),
                     ["Line 3: expected 3 fields", "Line 4: expected 3 fields"], id="field-count"),
        pytest.param((HEADER + "Ada,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n"
                      "Augusta,King,ADA@example.com\n").encode(),
                     ["Line 4: ada@example.com also appears on line 2."], id="duplicate-in-file"),
        pytest.param("first_name,last_name,email\nZoë,Ångström,zoe@example.com\n".encode("latin-1"),
                     ["The file is not UTF-8 text."], id="not-utf8"),
        pytest.param((HEADER + "Ada,Love\x00lace,ada@example.com\n").encode(), ["NUL characters"], id="nul"),
        pytest.param((HEADER + 'Ada,"Lovelace,ada@example.com\n').encode() + b"x" * 200_000,
                     ["cannot be read as CSV"], id="unclosed-quote"),
    ],
)
def test_import_refuses_bad_files_and_imports_nothing(owner_client, owner, make_contact, db, content,
                                                      messages):
    make_contact(owner, first_name="Grace", last_name="Hopper", email="grace@example.com")
    response = post_csv(owner_client, content)
    assert response.status_code == 400
    html = text(response)
    assert "Nothing was imported" in html
    for message in messages:
        assert message in html
    assert count_contacts(db) == 1


def test_import_reports_every_bad_line_in_order(owner):
    content = (HEADER + "A,B,bad\nC,D,ok@example.com\n,F,ok@example.com\nG,H,also-bad\n").encode()
    with pytest.raises(ValidationError) as error:
        importing.import_contacts_csv(owner, content)
    problems = error.value.fields["file"]
    assert [problem.split(":")[0] for problem in problems] == ["Line 2", "Line 4", "Line 4", "Line 5"]
    assert error.value.message == "Nothing was imported: the file has 4 problems."


def test_import_limits_size_and_rows(owner, db):
    with pytest.raises(ValidationError, match="at most 1 MB"):
        importing.import_contacts_csv(owner, HEADER.encode() + b"x" * (1024 * 1024))
    rows = "".join(f"F{n},L{n},p{n}@example.com\n" for n in range(5001))
    with pytest.raises(ValidationError, match="more than 5,000 contacts"):
        importing.import_contacts_csv(owner, (HEADER + rows).encode())
    assert count_contacts(db) == 0


def test_import_caps_the_list_of_problems(owner):
    rows = "".join(f"F{n},L{n},bad{n}\n" for n in range(150))
    with pytest.raises(ValidationError) as error:
        importing.import_contacts_csv(owner, (HEADER + rows).encode())
    problems = error.value.fields["file"]
    assert len(problems) == 101 and problems[-1] == "… and 50 more problems."


def test_import_without_a_file(owner_client):
    response = owner_client.post("/contacts/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a CSV file to import." in text(response)


# ---- who may see what -----------------------------------------------------------------------

def _contact_urls(app, contact_id: int) -> list[tuple[str, str, bool]]:
    """(method, url, is an object URL) for every GET and POST the contacts blueprint serves."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("contacts."):
                continue
            takes_id = "contact_id" in rule.arguments
            url = url_for(rule.endpoint, **({"contact_id": contact_id} if takes_id else {}))
            urls.extend((method, url, takes_id) for method in ("GET", "POST") if method in rule.methods)
    return urls


def test_every_contacts_url_is_private(app, owner, make_user, db):
    image = FileStorage(io.BytesIO(image_bytes()), "a.png")
    victim = services.create_contact(owner, **GOOD, image=image)
    urls = _contact_urls(app, victim.id)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("contacts.")}
    assert endpoints >= {"contacts.index", "contacts.create", "contacts.edit", "contacts.delete",
                         "contacts.photo", "contacts.import_csv"}
    assert any(is_object for _, _, is_object in urls)

    anonymous = app.test_client()
    for method, url, _ in urls:
        response = anonymous.open(url, method=method, data={**GOOD, "last_name": "Hacked"})
        assert response.status_code == 302, (method, url)
        assert response.location.startswith("/accounts/signin"), (method, url)

    stranger = signed_in_client(app, make_user())
    for method, url, is_object in urls:
        response = stranger.open(url, method=method, data={**GOOD, "last_name": "Hacked"})
        if is_object:
            assert response.status_code == 404, (method, url)
        else:
            assert response.status_code < 500, (method, url)

    db.session.expire_all()
    contact = db.session.get(Contact, victim.id)
    assert contact is not None and contact.last_name == "Lovelace" and contact.image_filename
    assert count_contacts(db, owner) == 1


def test_photo_url_from_the_api_works_with_the_api_token(client, owner, make_user, db, app):
    """`image_url` in the JSON API is the API's photo route: fetchable with the owner's bearer token,
    not another's; the page's photo URL serves signed-in sessions only."""
    from oneonone.accounts.services import issue_api_token

    contact = services.create_contact(owner, first_name="Pic", last_name="Ture", email="pic@example.org",
                                      image=FileStorage(io.BytesIO(image_bytes()), filename="p.png"))
    with unit_of_work():
        token = issue_api_token(owner)
    headers = {"Authorization": f"Bearer {token}"}
    url = client.get(f"/api/contacts/{contact.id}/", headers=headers).get_json()["image_url"]
    assert url.startswith(f"/api/contacts/{contact.id}/photo?v=")
    anonymous = client.get(url)  # no token: the API's 401, with its challenge
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    with client.get(url, headers=headers) as response:
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert "private" in response.headers["Cache-Control"] and "public" not in response.headers["Cache-Control"]
    page = client.get(f"/contacts/{contact.id}/photo", headers=headers)  # a token opens no page
    assert page.status_code == 302 and page.location.startswith("/accounts/signin")

    with unit_of_work():
        other_token = issue_api_token(make_user())
    assert client.get(url, headers={"Authorization": f"Bearer {other_token}"}).status_code == 404
    bare = services.create_contact(owner, first_name="No", last_name="Pic", email="nopic@example.org")
    assert client.get(f"/api/contacts/{bare.id}/photo", headers=headers).status_code == 404
