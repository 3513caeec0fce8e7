"""The answers grid on "Invitees & answers": per-slot totals (preferred + if need be), the meeting
marker, a legend, and the per-slot list that phones get instead of the grid."""

from __future__ import annotations

import re

import pytest

from oneonone.scheduling.models import IF_NEED_BE


@pytest.fixture
def day(ada_and_bob, make_event):
    """Ada prefers 09:00 and has her meeting there; Bob prefers 09:00 and could do 10:00 if need be."""
    day = ada_and_bob(invite=("ada", "bob"))
    make_event(day.nine, day.ada, confirmed=True)
    make_event(day.nine, day.bob)
    make_event(day.ten, day.bob, IF_NEED_BE)
    return day


def _text(html: str) -> str:
    """The page's text, tags dropped and spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _totals_row(html: str) -> str:
    match = re.search(r'<tr class="slot-totals">(.*?)</tr>', html, re.S)
    assert match, "the grid has no totals row"
    return match.group(1)


def test_each_slot_column_shows_how_many_can_make_it_and_the_meeting(owner_client, day):
    html = owner_client.get(f"/calendars/{day.calendar.id}/invitees").get_data(as_text=True)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", _totals_row(html), re.S)
    assert [_text(cell).strip() for cell in cells] == [
        "2 can (2 preferred, 0 if need be) Meeting",
        "1 can (0 preferred, 1 if need be)",
    ]
    assert 'title="2 preferred, 0 if need be"' in html
    assert 'title="0 preferred, 1 if need be"' in html


def test_the_grid_has_a_legend_and_keeps_letters_in_the_cells(owner_client, day):
    html = owner_client.get(f"/calendars/{day.calendar.id}/invitees").get_data(as_text=True)
    legend = _text(re.search(r'<ul class="grid-legend[^"]*"[^>]*>(.*?)</ul>', html, re.S).group(1))
    assert "Preferred" in legend and "If need be" in legend and "Confirmed meeting" in legend
    assert 'title="Confirmed">✓<' in html and 'title="Preferred">P<' in html and 'title="If need be">N<' in html


def test_phones_get_a_list_per_slot(owner_client, day):
    html = owner_client.get(f"/calendars/{day.calendar.id}/invitees").get_data(as_text=True)
    listing = re.search(r'<ol class="slot-list[^"]*"[^>]*>(.*?)</ol>', html, re.S)
    assert listing, "no per-slot list"
    items = [_text(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", listing.group(1), re.S)]
    assert len(items) == 2
    nine, ten = items
    assert "09:00" in nine and "2 can" in nine
    assert f"Preferred: {day.bob.full_name}, {day.ada.full_name}" in nine  # by last name
    assert f"Meeting: {day.ada.full_name}" in nine
    assert "10:00" in ten and "1 can" in ten and f"If need be: {day.bob.full_name}" in ten
    assert "Meeting" not in ten
