"""Importing an address book from a CSV file: every row is taken, or none if any row is bad.

The file is `first_name,last_name,email` (in any column order, comma, semicolon or tab separated,
UTF-8 with or without a BOM); each problem is reported with its line number, at most
CSV_MAX_PROBLEMS of them, and an address twice in the file is one. A row whose email is already
one of the owner's contacts is skipped or updates that contact's names, as the owner chooses
(`Existing`), so the same file can be imported again. No email is sent from here.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..exceptions import ValidationError
from ..extensions import db
from ..validation import Problems
from ..wording import megabytes, plural
from .models import Contact
from .services import CONTACT_FIELDS, clean_contact_fields

CSV_MAX_BYTES = 1024 * 1024
CSV_MAX_ROWS = 5000
CSV_MAX_PROBLEMS = 100
CSV_COLUMNS = CONTACT_FIELDS  # the header row names the contact's fields


def _header_key(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


class Existing(enum.StrEnum):
    """What a row does when its email is already one of the owner's contacts."""

    SKIP = "skip"  # leave that contact as it is
    UPDATE = "update"  # give that contact the row's first and last name


@dataclass
class ImportResult:
    """What an import did: the contacts it added and updated, and how many rows it skipped."""

    added: list[Contact] = field(default_factory=list)
    updated: list[Contact] = field(default_factory=list)
    skipped: int = 0

    @property
    def total(self) -> int:
        """How many contacts the file held."""
        return len(self.added) + len(self.updated) + self.skipped


def import_contacts_csv(owner: User, data: bytes, *, existing: Existing = Existing.SKIP) -> ImportResult:
    """Add the contacts of a `first_name,last_name,email` CSV file, skipping or updating the ones
    already in the address book (`existing`); nothing at all if any row is bad."""
    rows, found = _parse_csv(data)
    cleaned: list[dict] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        problems = Problems()
        values = clean_contact_fields(problems, dict(zip(CSV_COLUMNS, row, strict=True)))
        found.extend((line, problem) for messages in problems.fields.values() for problem in messages)
        if "email" in problems:
            continue
        email = values["email"]
        if email in first_line:
            found.append((line, f"{email} also appears on line {first_line[email]}."))
            continue
        first_line[email] = line
        if not problems.fields:
            cleaned.append(values)
    if found:
        _raise_csv_problems(found)
    known = _existing_contacts(owner.id, list(first_line))
    result = ImportResult()
    for values in cleaned:
        contact = known.get(values["email"])
        if contact is None:
            result.added.append(Contact(owner_id=owner.id, **values))
        elif existing is Existing.UPDATE:
            contact.first_name, contact.last_name = values["first_name"], values["last_name"]
            result.updated.append(contact)
        else:
            result.skipped += 1
    db.session.add_all(result.added)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise _file_problem(
            "Some of these contacts were added meanwhile. Nothing was imported; please try again."
        ) from error
    return result


def _raise_csv_problems(found: list[tuple[int, str]]) -> None:
    lines = [f"Line {line}: {problem}" for line, problem in sorted(found, key=lambda item: item[0])]
    shown = lines[:CSV_MAX_PROBLEMS]
    if len(lines) > CSV_MAX_PROBLEMS:
        shown.append(f"… and {len(lines) - CSV_MAX_PROBLEMS} more problems.")
    message = f"Nothing was imported: the file has {plural(len(lines), 'problem')}."
    raise ValidationError(message, {"file": shown})


def _file_problem(problem: str) -> ValidationError:
    return ValidationError(problem, {"file": [problem]})


def _parse_csv(data: bytes) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]]]:
    """([(line, [first_name, last_name, email]), ...], [(line, problem), ...]) for the data rows.

    Raises ValidationError at once when the file as a whole is unusable.
    """
    if len(data) > CSV_MAX_BYTES:
        raise _file_problem(
            f"The file must be at most {megabytes(CSV_MAX_BYTES)}; split it into smaller files."
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


def _existing_contacts(owner_id: int, emails: list[str]) -> dict[str, Contact]:
    """The owner's contacts with these emails, by email."""
    found: dict[str, Contact] = {}
    for start in range(0, len(emails), 500):
        chunk = emails[start:start + 500]
        found.update((contact.email, contact) for contact in db.session.scalars(
            sa.select(Contact).where(Contact.owner_id == owner_id, Contact.email.in_(chunk))
        ))
    return found
