"""Address book operations: list, search, add, edit, delete, photos and CSV import."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, url_for
from PIL import Image, ImageOps
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from ..accounts.models import User
from ..accounts.services import account_deleting
from ..calendars.models import Calendar
from ..exceptions import NotFoundError, ValidationError
from ..extensions import db
from ..pagination import Page, paginate
from ..scheduling.models import Event, Invitee
from ..transaction import after_commit, after_rollback
from ..validation import NAME_MAX, Problems, clean_email, clean_text
from .models import Contact

DUPLICATE_EMAIL = "You already have a contact with this email."
SEARCH_MAX = 100

# Photos: the format Pillow decodes, never the file name or the browser's mimetype, decides.
IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
IMAGE_MIMETYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
# Below Pillow's own decompression-bomb threshold: a 2 MB contact photo never needs more.
IMAGE_MAX_PIXELS = 40_000_000
# How a photo is saved again after decoding (every upload is re-encoded, see _reencode_image).
IMAGE_SAVE_OPTIONS = {"JPEG": {"quality": 90}, "PNG": {"optimize": True}, "WEBP": {"quality": 90}}
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")

CSV_MAX_BYTES = 1024 * 1024
CSV_MAX_ROWS = 5000
CSV_MAX_PROBLEMS = 100
CSV_COLUMNS = ("first_name", "last_name", "email")
_LABELS = {"first_name": "First name", "last_name": "Last name", "email": "Email"}


# ---- reading --------------------------------------------------------------------------------

def _search_terms(search: str | None) -> list[str]:
    return (search or "").strip()[:SEARCH_MAX].split()


def list_contacts(owner: User, *, search: str | None = None, page: int = 1, per_page: int = 50) -> Page:
    """The owner's contacts by last name then first name, filtered by words of name or email."""
    query = sa.select(Contact).where(Contact.owner_id == owner.id)
    for term in _search_terms(search):
        query = query.where(sa.or_(
            Contact.first_name.icontains(term, autoescape=True),
            Contact.last_name.icontains(term, autoescape=True),
            Contact.email.icontains(term, autoescape=True),
        ))
    query = query.order_by(
        sa.func.lower(Contact.last_name), sa.func.lower(Contact.first_name), Contact.id
    )
    return paginate(query, page, per_page)


def get_contact(owner: User, contact_id: int) -> Contact:
    """The owner's contact with this id; NotFoundError if missing or someone else's."""
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.owner_id != owner.id:
        raise NotFoundError("No such contact.")
    return contact


def invitation_counts(contacts: Iterable[Contact]) -> dict[int, int]:
    """How many calendars each of these contacts is invited to, by contact id."""
    ids = [contact.id for contact in contacts]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Invitee.contact_id, sa.func.count())
        .where(Invitee.contact_id.in_(ids))
        .group_by(Invitee.contact_id)
    )
    return dict(rows.all())


@dataclass
class ContactUsage:
    """What deleting a contact takes with it."""

    calendars: list[Calendar]
    picks: int
    confirmed_meetings: int


def contact_usage(contact: Contact) -> ContactUsage:
    """The calendars this contact is invited to, with their picks and confirmed meetings."""
    calendars = db.session.scalars(
        sa.select(Calendar).join(Invitee).where(Invitee.contact_id == contact.id)
        .order_by(Calendar.start_date, Calendar.name, Calendar.id)
    ).all()
    picks, confirmed = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Event.confirmed))
        .where(Event.contact_id == contact.id)
    ).one()
    return ContactUsage(calendars=list(calendars), picks=picks or 0, confirmed_meetings=confirmed or 0)


def contact_image_url(contact: Contact) -> str | None:
    """The URL of the contact's photo (served to its owner only), or None."""
    if not contact.image_filename:
        return None
    # The stored name changes with each new photo, so the URL busts browser caches.
    return url_for("contacts.photo", contact_id=contact.id, v=contact.image_filename[:8])


def image_path(contact: Contact) -> tuple[str, str, str] | None:
    """(folder, file name, mimetype) of the contact's photo, or None."""
    name = contact.image_filename
    if not name or not _STORED_NAME.match(name):
        return None
    return _upload_folder(), name, IMAGE_MIMETYPES[os.path.splitext(name)[1]]


# ---- writing --------------------------------------------------------------------------------

def _clean_fields(problems: Problems, data: dict) -> dict:
    cleaned = {}
    for key in ("first_name", "last_name"):
        if key in data:
            cleaned[key] = clean_text(problems, key, data[key], max_length=NAME_MAX, label=_LABELS[key])
    if "email" in data:
        cleaned["email"] = clean_email(problems, "email", data["email"])
    return cleaned


def _email_taken(owner_id: int, email: str, *, except_id: int | None = None) -> bool:
    query = sa.select(Contact.id).where(Contact.owner_id == owner_id, Contact.email == email)
    if except_id is not None:
        query = query.where(Contact.id != except_id)
    return db.session.scalar(query) is not None


def create_contact(
    owner: User, *, first_name: str, last_name: str, email: str, image: FileStorage | None = None
) -> Contact:
    """Add a contact to the owner's address book; raises ValidationError naming every bad field."""
    problems = Problems()
    data = _clean_fields(problems, {"first_name": first_name, "last_name": last_name, "email": email})
    if "email" not in problems and _email_taken(owner.id, data["email"]):
        problems.add("email", DUPLICATE_EMAIL)
    photo = _read_image(problems, image)
    problems.raise_if_any()
    contact = Contact(owner_id=owner.id, **data)
    if photo is not None:
        contact.image_filename = _store_image(*photo)
    db.session.add(contact)
    _flush(new_file=contact.image_filename)
    return contact


def update_contact(
    contact: Contact, changes: dict, *, image: FileStorage | None = None, remove_image: bool = False
) -> Contact:
    """Change the given names and email, and replace or remove the photo; raises ValidationError."""
    problems = Problems()
    data = _clean_fields(problems, {k: v for k, v in changes.items() if k in CSV_COLUMNS})
    if ("email" in data and "email" not in problems and data["email"] != contact.email
            and _email_taken(contact.owner_id, data["email"], except_id=contact.id)):
        problems.add("email", DUPLICATE_EMAIL)
    photo = _read_image(problems, image)
    problems.raise_if_any()
    old_file = contact.image_filename
    new_file = _store_image(*photo) if photo is not None else None
    for key, value in data.items():
        setattr(contact, key, value)
    if new_file is not None:
        contact.image_filename = new_file
    elif remove_image:
        contact.image_filename = None
    _flush(new_file=new_file)
    if old_file and old_file != contact.image_filename:
        after_commit(lambda: _delete_image(old_file))
    return contact


def delete_contact(contact: Contact) -> None:
    """Delete the contact, their invitations and picks (database cascades) and their photo."""
    old_file = contact.image_filename
    db.session.delete(contact)
    db.session.flush()
    if old_file:
        after_commit(lambda: _delete_image(old_file))


@account_deleting.connect
def _remove_photos_of_deleted_account(owner: User) -> None:
    """The owner is deleting their account: their contacts' photo files go once that commits."""
    files = list(db.session.scalars(sa.select(Contact.image_filename).where(
        Contact.owner_id == owner.id, Contact.image_filename.is_not(None))))
    if files:
        after_commit(lambda: [_delete_image(name) for name in files])


def _flush(*, new_file: str | None) -> None:
    """Flush; a lost race on (owner, email) becomes the email field error. No stray files."""
    if new_file:
        after_rollback(lambda: _delete_image(new_file))
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise ValidationError.for_field("email", DUPLICATE_EMAIL) from error


# ---- photos ---------------------------------------------------------------------------------

def _upload_folder() -> str:
    return current_app.config["UPLOAD_FOLDER"]


def _max_image_bytes() -> int:
    return int(current_app.config["CONTACT_IMAGE_MAX_BYTES"])


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _read_image(problems: Problems, image: FileStorage | None) -> tuple[bytes, str] | None:
    """(bytes, extension) of an acceptable photo, or None with a problem recorded on "image"."""
    if image is None:
        return None
    limit = _max_image_bytes()
    data = image.stream.read(limit + 1)
    if not data:
        problems.add("image", "The photo file is empty.")
        return None
    if len(data) > limit:
        problems.add("image", f"The photo must be at most {_megabytes(limit)}.")
        return None
    problem, clean, extension = _reencode_image(data)
    if problem:
        problems.add("image", problem)
        return None
    return clean, extension


def _reencode_image(data: bytes) -> tuple[str | None, bytes, str]:
    """(problem, bytes, extension): the photo decoded in full and saved again in its own format, turned
    upright by its EXIF orientation, with no metadata (EXIF and its GPS position, text chunks, ICC)
    and nothing after the image data. Only pixels we decoded ourselves are ever stored."""
    not_image = "This file is not a JPEG, PNG or WebP image we can read."
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            if image_format not in IMAGE_FORMATS:
                return "Use a JPEG, PNG or WebP image.", b"", ""
            if width * height > IMAGE_MAX_PIXELS:
                return _too_many_pixels(), b"", ""
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            if image.format != image_format:
                return not_image, b"", ""
            image.load()
            _turn_upright(image)
            # Pillow writes what `info` holds (a JPEG comment, a PNG's ICC profile...): keep only the
            # transparency, which is part of the picture.
            image.info = {key: image.info[key] for key in ("transparency",) if key in image.info}
            buffer = io.BytesIO()
            image.save(buffer, image_format, **IMAGE_SAVE_OPTIONS[image_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _too_many_pixels(), b"", ""
    except Exception:  # Pillow raises many kinds (OSError, SyntaxError, ValueError, ...) on bad data
        return not_image, b"", ""
    return None, buffer.getvalue(), IMAGE_FORMATS[image_format]


def _turn_upright(image: Image.Image) -> None:
    """Turn `image` in place as its EXIF orientation says (a phone's portrait photo stays portrait)."""
    # In place: a 40-megapixel photo is not held twice.
    with contextlib.suppress(Exception):  # a broken EXIF block: the pixels are fine, the block is dropped
        ImageOps.exif_transpose(image, in_place=True)


def _too_many_pixels() -> str:
    return f"This image has too many pixels; use one of at most {IMAGE_MAX_PIXELS // 1_000_000} megapixels."


def _store_image(data: bytes, extension: str) -> str:
    """Write the photo under a random name in the upload folder; returns the name."""
    folder = _upload_folder()
    os.makedirs(folder, exist_ok=True)
    name = secrets.token_hex(16) + extension
    with open(os.path.join(folder, name), "xb") as handle:
        handle.write(data)
    return name


def _delete_image(name: str) -> None:
    if not _STORED_NAME.match(name):
        return
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(_upload_folder(), name))


# ---- CSV import -----------------------------------------------------------------------------

def _header_key(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def import_contacts_csv(owner: User, data: bytes) -> list[Contact]:
    """Add every contact in a `first_name,last_name,email` CSV file, or none if any row is bad."""
    rows, found = _parse_csv(data)
    cleaned: list[dict] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        problems = Problems()
        values = _clean_fields(problems, dict(zip(CSV_COLUMNS, row, strict=True)))
        found.extend((line, problem) for field in problems.fields.values() for problem in field)
        if "email" in problems:
            continue
        email = values["email"]
        if email in first_line:
            found.append((line, f"{email} also appears on line {first_line[email]}."))
            continue
        first_line[email] = line
        if not problems.fields:
            cleaned.append(values)
    for email in _existing_emails(owner.id, list(first_line)):
        found.append((first_line[email], f"{email} is already one of your contacts."))
    if found:
        _raise_csv_problems(found)
    contacts = [Contact(owner_id=owner.id, **values) for values in cleaned]
    db.session.add_all(contacts)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise _file_problem(
            "Some of these contacts were added meanwhile. Nothing was imported; please try again."
        ) from error
    return contacts


def _raise_csv_problems(found: list[tuple[int, str]]) -> None:
    lines = [f"Line {line}: {problem}" for line, problem in sorted(found, key=lambda item: item[0])]
    shown = lines[:CSV_MAX_PROBLEMS]
    if len(lines) > CSV_MAX_PROBLEMS:
        shown.append(f"… and {len(lines) - CSV_MAX_PROBLEMS} more problems.")
    count = len(lines)
    message = f"Nothing was imported: the file has {count} problem{'s' if count != 1 else ''}."
    raise ValidationError(message, {"file": shown})


def _file_problem(problem: str) -> ValidationError:
    return ValidationError(problem, {"file": [problem]})


def _parse_csv(data: bytes) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]]]:
    """([(line, [first_name, last_name, email]), ...], [(line, problem), ...]) for the data rows.

    Raises ValidationError at once when the file as a whole is unusable.
    """
    if len(data) > CSV_MAX_BYTES:
        raise _file_problem(
            f"The file must be at most {_megabytes(CSV_MAX_BYTES)}; split it into smaller files."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _file_problem('The file is not UTF-8 text. Save it as "CSV UTF-8" and try again.') from error
    if "\x00" in text:
        raise _file_problem("The file contains NUL characters, so it is not a CSV text file.")
    if not text.strip():
        raise _file_problem("The file is empty. Its first line must be: first_name,last_name,email")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    problems: list[tuple[int, str]] = []
    order: list[int] | None = None
    count = 0
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank lines are harmless
            while len(row) > len(CSV_COLUMNS) and not row[-1].strip():
                row.pop()  # spreadsheets often leave empty trailing columns
            if order is None:
                order = _column_order(line, row)
                continue
            count += 1
            if count > CSV_MAX_ROWS:
                raise _file_problem(
                    f"The file has more than {CSV_MAX_ROWS:,} contacts; split it into smaller files."
                )
            if len(row) != len(CSV_COLUMNS):
                problems.append(
                    (line, f"expected 3 fields (first_name, last_name, email) but found {len(row)}.")
                )
                continue
            rows.append((line, [row[index] for index in order]))
    except csv.Error as error:
        raise _file_problem(f"Line {reader.line_num}: this line cannot be read as CSV ({error}).") from error
    if count == 0:
        raise _file_problem("The file has a header row but no contacts below it.")
    return rows, problems


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab some spreadsheets write, judged from the first line."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in first:
        for candidate in (";", "\t"):
            if candidate in first:
                return candidate
    return ","


def _column_order(line: int, header: list[str]) -> list[int]:
    """Where each of first_name, last_name and email is in the header row."""
    keys = [_header_key(cell) for cell in header]
    if sorted(keys) != sorted(CSV_COLUMNS):
        found = ",".join(cell.strip() for cell in header)
        raise _file_problem(
            f"Line {line}: the header row must be first_name,last_name,email (found: {found[:200]})."
        )
    return [keys.index(column) for column in CSV_COLUMNS]


def _existing_emails(owner_id: int, emails: list[str]) -> list[str]:
    found: list[str] = []
    for start in range(0, len(emails), 500):
        chunk = emails[start:start + 500]
        found.extend(db.session.scalars(
            sa.select(Contact.email).where(Contact.owner_id == owner_id, Contact.email.in_(chunk))
        ))
    return found
