"""The time-zone <option>s, rendered once per process (issue 20 goal 3): the chosen zone is marked in
the cached list, the same text comes back every time, and the pick page's select keeps the names and
attributes static/js/app.js reads."""

from __future__ import annotations

import re

from markupsafe import Markup
from wtforms import Form, SelectChoice, SelectField

from oneonone.timezones import common_timezones
from oneonone.zone_options import ZoneSelect, _rendered, zone_options


def _selected(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]+)" selected>', html)


def test_the_chosen_zone_is_marked_once_with_its_label():
    html = zone_options("America/New_York")
    assert isinstance(html, Markup)
    assert _selected(html) == ["America/New_York"]
    assert '<option value="America/New_York" selected>America/New York</option>' in html
    assert len(re.findall(r"<option ", html)) == len(common_timezones())


def test_the_list_is_rendered_once_and_is_the_same_on_every_call():
    assert _rendered() is _rendered()
    assert zone_options("Europe/Kyiv") == zone_options("Europe/Kyiv")
    # Marking a zone leaves the cached list as it was.
    assert _selected(zone_options()) == [] and _selected(zone_options("UTC")) == ["UTC"]
    assert _selected(zone_options("Europe/Kyiv")) == ["Europe/Kyiv"]
    assert zone_options("Europe/Kyiv").replace(" selected", "", 1) == zone_options(None)


def test_an_alias_comes_first_chosen_and_an_unknown_name_marks_nothing():
    alias = zone_options("Asia/Calcutta")
    assert alias.startswith('<option value="Asia/Calcutta" selected>Asia/Calcutta</option>')
    assert _selected(alias) == ["Asia/Calcutta"] and 'value="Asia/Kolkata"' in alias
    for name in ("Mars/Olympus_Mons", '"><script>', "", None):
        assert _selected(zone_options(name)) == [], name


def test_the_widget_renders_a_forms_zone_field_with_the_cached_options():
    class ZoneForm(Form):
        timezone = SelectField("Time zone", choices=[SelectChoice(z, z) for z in common_timezones()],
                               widget=ZoneSelect())

    form = ZoneForm(data={"timezone": "Europe/Berlin"})
    html = form.timezone(class_="form-select", data_detect_timezone="0")
    assert html.startswith('<select class="form-select" data-detect-timezone="0" id="timezone" name="timezone">')
    assert _selected(html) == ["Europe/Berlin"] and html.endswith("</option></select>")
    assert ZoneForm(data={"timezone": "Europe/Berlin"}).validate()


def test_the_pick_page_select_keeps_what_the_script_reads(client, owner, make_calendar, make_timeslot,
                                                         make_contact, make_invitee):
    calendar = make_calendar(owner=owner, timezone="Europe/London")
    make_timeslot(calendar)
    _invitee, token = make_invitee(calendar, make_contact(owner=owner))
    detect = client.get(f"/pick/{token}").get_data(as_text=True)
    assert ('<select class="form-select" id="tz" name="tz" data-autosubmit data-detect-timezone="1">'
            in detect)
    assert _selected(detect) == ["Europe/London"]
    chosen = client.get(f"/pick/{token}?tz=Asia/Tokyo").get_data(as_text=True)
    assert 'data-detect-timezone="0"' in chosen and _selected(chosen) == ["Asia/Tokyo"]
