"""Which contacts does an owner have, and how are they added, changed and deleted?

Listing and searching the address book, one contact by id, and the create / update / delete that the
pages and the API share (the photo files are `photos`, the CSV import is `importing`). How many
calendars a contact is invited to, and what deleting one takes with it, are asked of the features
above contacts by signal (`signals`). No email is sent from here.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from ..accounts.models import User
from ..exceptions import NotFoundError, ValidationError
from ..extensions import db
from ..pagination import Page, paginate
from ..signals import answers
from ..transaction import after_commit, after_rollback
from ..validation import NAME_MAX, Problems, clean_email, clean_text
from . import signals
from .models import Contact
from .photos import delete_image, read_image, store_image

DUPLICATE_EMAIL = "You already have a contact with this email."
SEARCH_MAX = 100
CONTACT_FIELDS = ("first_name", "last_name", "email")
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
    counts: dict[int, int] = {}
    for answer in answers(signals.invitation_counts, ids):
        counts.update(answer)
    return counts


def contact_usage(contact: Contact) -> signals.ContactUsage:
    """The calendars this contact is invited to, with their picks and confirmed meetings."""
    found = answers(signals.contact_usage, contact)
    return found[0] if found else signals.ContactUsage(calendars=[], picks=0, confirmed_meetings=0)


# ---- writing --------------------------------------------------------------------------------

def clean_contact_fields(problems: Problems, data: dict) -> dict:
    """The names and email among `data`, cleaned; what is wrong goes to `problems` by field."""
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
    data = clean_contact_fields(problems, {"first_name": first_name, "last_name": last_name, "email": email})
    if "email" not in problems and _email_taken(owner.id, data["email"]):
        problems.add("email", DUPLICATE_EMAIL)
    photo = read_image(problems, image)
    problems.raise_if_any()
    contact = Contact(owner_id=owner.id, **data)
    if photo is not None:
        contact.image_filename = store_image(*photo)
    db.session.add(contact)
    _flush(new_file=contact.image_filename)
    return contact


def update_contact(
    contact: Contact, changes: dict, *, image: FileStorage | None = None, remove_image: bool = False
) -> Contact:
    """Change the given names and email, and replace or remove the photo; raises ValidationError."""
    problems = Problems()
    data = clean_contact_fields(problems, {k: v for k, v in changes.items() if k in CONTACT_FIELDS})
    if ("email" in data and "email" not in problems and data["email"] != contact.email
            and _email_taken(contact.owner_id, data["email"], except_id=contact.id)):
        problems.add("email", DUPLICATE_EMAIL)
    photo = read_image(problems, image)
    problems.raise_if_any()
    old_file = contact.image_filename
    new_file = store_image(*photo) if photo is not None else None
    for key, value in data.items():
        setattr(contact, key, value)
    if new_file is not None:
        contact.image_filename = new_file
    elif remove_image:
        contact.image_filename = None
    _flush(new_file=new_file)
    if old_file and old_file != contact.image_filename:
        after_commit(lambda: delete_image(old_file))
    return contact


def delete_contact(contact: Contact) -> None:
    """Delete the contact, their invitations and picks (database cascades) and their photo."""
    old_file = contact.image_filename
    db.session.delete(contact)
    db.session.flush()
    if old_file:
        after_commit(lambda: delete_image(old_file))


def _flush(*, new_file: str | None) -> None:
    """Flush; a lost race on (owner, email) becomes the email field error. No stray files."""
    if new_file:
        after_rollback(lambda: delete_image(new_file))
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise ValidationError.for_field("email", DUPLICATE_EMAIL) from error
