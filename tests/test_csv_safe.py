"""The schedule export opens in a spreadsheet as text: no contact's name runs as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from oneonone.csv_safe import spreadsheet_safe

FORMULA_NAMES = ["=1+2", "+SUM(A1)", "-2+3", '@HYPERLINK("http://evil.example")', "\tx", "\rx",
                 "=cmd|' /C calc'!A0"]
ORDINARY_NAMES = ["Zoë O'Brien", "Ada", "'quoted", "Jean-Luc", "d'Artagnan", "1+1", "", "李小龙"]


@pytest.mark.parametrize("cell", FORMULA_NAMES)
def test_a_formula_cell_gets_a_leading_quote(cell):
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", [*ORDINARY_NAMES, 3, None, True])
def test_an_ordinary_cell_is_unchanged(cell):
    assert spreadsheet_safe(cell) == cell


def test_schedule_export_neutralises_formula_names(owner_client, owner, make_calendar, make_contact,
                                                   make_timeslot, make_invitee, make_event):
    calendar = make_calendar(owner=owner)
    names = ["=1+2", "+SUM(A1)", "-2+3", '@HYPERLINK("http://evil.example")', "\tx", "Zoë O'Brien"]
    for n, name in enumerate(names):
        contact = make_contact(owner=owner, first_name=name, last_name="=cmd|' /C calc'!A0" if n == 0 else "Doe",
                               email=f"person{n}@example.org")
        make_invitee(calendar, contact)
        make_event(make_timeslot(calendar, f"{9 + n:02d}:00"), contact, confirmed=True)

    response = owner_client.get(f"/calendars/{calendar.id}/schedule.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}

    assert [rows[f"person{n}@example.org"]["first_name"] for n in range(len(names))] == [
        "'=1+2", "'+SUM(A1)", "'-2+3", """'@HYPERLINK("http://evil.example")""", "'\tx", "Zoë O'Brien"]
    assert rows["person0@example.org"]["last_name"] == "'=cmd|' /C calc'!A0"
    assert rows["person5@example.org"]["last_name"] == "Doe"
    # The other columns read as before: dates, times and timestamps start with a digit.
    assert rows["person5@example.org"]["start"] == "14:00"
    assert rows["person5@example.org"]["start_utc"].startswith("2030-")
