"""The calendar form's time-zone select is the cached list of oneonone/zone_options.py: no request
renders and escapes its some 500 <option>s again; the calendar's zone (even an old alias) is chosen."""

from __future__ import annotations

import re

import pytest
from wtforms.widgets import Select

from oneonone.timezones import common_timezones


@pytest.fixture
def option_renders(monkeypatch) -> list[str]:
    rendered: list[str] = []
    original = Select.render_option

    def counting(cls, choice, **kwargs):
        rendered.append(choice)
        return original.__func__(cls, choice, **kwargs)

    monkeypatch.setattr(Select, "render_option", classmethod(counting))
    return rendered


def zone_select(html: str) -> str:
    return re.search(r'<select[^>]*name="timezone".*?</select>', html, re.S).group(0)


@pytest.mark.parametrize("page", ["new", "edit"])
def test_the_calendar_form_renders_no_zone_option_per_request(owner_client, owner, make_calendar, option_renders,
                                                             page):
    calendar = make_calendar(owner, timezone="America/New_York")
    url = "/calendars/new" if page == "new" else f"/calendars/{calendar.id}/edit"
    html = owner_client.get(url).get_data(as_text=True)
    assert option_renders == []
    select = zone_select(html)
    assert 'class="form-select' in select and 'id="timezone"' in select
    assert len(re.findall(r"<option ", select)) == len(common_timezones())
    chosen = re.findall(r'<option value="([^"]+)" selected>', select)
    assert chosen == (["America/New_York"] if page == "edit" else [owner.timezone])
    assert '<option value="America/New_York" selected>America/New York</option>' in select or page == "new"


def test_an_alias_the_calendar_holds_is_offered_first_and_chosen(owner_client, owner, make_calendar):
    calendar = make_calendar(owner, timezone="US/Eastern")
    select = zone_select(owner_client.get(f"/calendars/{calendar.id}/edit").get_data(as_text=True))
    assert select.index('<option value="US/Eastern" selected>US/Eastern</option>') < select.index(
        '<option value="UTC">')


def test_a_refused_zone_keeps_the_form_with_an_error(owner_client, owner, make_calendar):
    response = owner_client.post("/calendars/new", data={"name": "X", "start_date": "2030-03-04",
                                                         "end_date": "2030-03-08", "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    select = zone_select(response.get_data(as_text=True))
    assert 'aria-invalid="true"' in select and " selected>" not in select
