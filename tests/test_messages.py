"""Messages a person understands (issue 18, point 9): no library default text in any form, every
sign-up problem at once, and time-zone choices without deprecated aliases, searchable."""

from __future__ import annotations

import importlib
import inspect
import itertools
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
import wtforms
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import fields as wtf_fields

from oneonone.accounts.models import User
from oneonone.timezones import common_timezones, timezone_choices

ROOT = Path(__file__).resolve().parents[1]
SIGNUP = {
    "first_name": "Ada", "last_name": "Lovelace", "username": "ada", "email": "ada@example.com",
    "password": "analytical-engine", "repeat_password": "analytical-engine", "timezone": "Europe/London",
}
ALIASES = ("Africa/Asmera", "US/Eastern", "Pacific/Ponape", "Asia/Calcutta", "Europe/Kiev", "GB")


def _wtforms_defaults() -> list[str]:
    """The literal start of every message WTForms writes itself (gettext strings in its source)."""
    found = set()
    for path in Path(wtforms.__file__).parent.rglob("*.py"):
        for text in re.findall(r'gettext\(\s*"((?:[^"\\]|\\.)+)"', path.read_text()):
            literal = re.split(r"%\(|%[ds]", text)[0].strip()
            if len(literal) >= 10:
                found.add(literal)
    return sorted(found)


WTFORMS_DEFAULTS = _wtforms_defaults()


def _form_classes() -> list[type[FlaskForm]]:
    classes = []
    for path in sorted((ROOT / "oneonone").glob("*/forms.py")):
        module = importlib.import_module(f"oneonone.{path.parent.name}.forms")
        classes += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                    if issubclass(cls, FlaskForm) and cls is not FlaskForm and cls.__module__ == module.__name__]
    return classes


def _bad_values(field) -> list[str]:
    """Values each kind of field refuses (some fields refuse none of them: that is fine)."""
    if isinstance(field, (wtf_fields.IntegerField, wtf_fields.DecimalField, wtf_fields.FloatField)):
        return ["", "lots", "-5", "999999"]
    if isinstance(field, (wtf_fields.DateField, wtf_fields.TimeField, wtf_fields.DateTimeField)):
        return ["", "soon"]
    if isinstance(field, wtf_fields.SelectMultipleField):
        return ["", "x"]
    if isinstance(field, wtf_fields.SelectField):
        return ["", "Nowhere/Atlantis"]
    if isinstance(field, wtf_fields.BooleanField):
        return [""]
    return ["", "x", "a b", "nope@", "y" * 300]


def test_the_defaults_were_collected():
    assert "This field is required." in WTFORMS_DEFAULTS and "Invalid email address." in WTFORMS_DEFAULTS
    assert "Not a valid date value." in WTFORMS_DEFAULTS and "Field must be between" in WTFORMS_DEFAULTS


@pytest.mark.parametrize("form_class", _form_classes(), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_no_form_shows_a_library_default_message(app, form_class):
    """Every field of every form, given each bad value in turn, answers in the product's words."""
    shown: set[str] = set()
    with app.test_request_context(method="POST"):
        names = [name for name, _ in form_class(formdata=None, meta={"csrf": False})._fields.items()]
        probe = form_class(formdata=None, meta={"csrf": False})
        values = {name: _bad_values(probe[name]) for name in names}
        rounds = max(len(v) for v in values.values())
        for index in range(rounds):
            data = MultiDict({name: v[index % len(v)] for name, v in values.items() if name != "submit"})
            form = form_class(formdata=data, meta={"csrf": False})
            form.validate()
            for errors in form.errors.values():
                shown.update(errors)
        # Mismatched repeats too (EqualTo).
        data = MultiDict({name: f"value-{n}-long-enough" for n, name in enumerate(names)})
        form = form_class(formdata=data, meta={"csrf": False})
        form.validate()
        shown.update(itertools.chain.from_iterable(form.errors.values()))
    leaked = sorted(message for message in shown for default in WTFORMS_DEFAULTS if default in message)
    assert not leaked, f"{form_class.__name__} shows library text: {leaked}"


def test_signup_page_shows_the_product_s_own_words(client, db):
    response = client.post("/accounts/signup", data={**SIGNUP, "username": "x", "email": "ada-at-example"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Use 3 to 64 characters: letters, digits, dots, dashes or underscores." in page
    assert "Enter a valid email address, like name@example.com." in page
    assert "Field must be between" not in page and "Invalid email address" not in page
    assert "must have an @-sign" not in page


def test_signup_page_reports_every_problem_at_once(client, db, make_user):
    make_user(username="grace")
    response = client.post("/accounts/signup", data={
        **SIGNUP, "first_name": "", "username": "Grace", "email": "grace-at-example",
        "password": "qwertyuiop", "repeat_password": "something else"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "That username is taken." in page
    assert "Enter your first name." in page
    assert "Enter a valid email address, like name@example.com." in page
    assert "This password is too common" in page
    assert "The two passwords do not match." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_signup_page_reports_a_short_password_with_a_taken_username(client, db, make_user):
    make_user(username="grace")
    response = client.post("/accounts/signup", data={**SIGNUP, "username": "grace", "password": "short",
                                                     "repeat_password": "short"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "That username is taken." in page and "Use at least 10 characters." in page
    assert page.count("Use at least 10 characters.") == 1  # said once, not by the form and the service


def test_profile_page_reports_a_taken_username_with_the_other_problems(owner_client, owner, db, make_user):
    make_user(username="grace")
    response = owner_client.post("/accounts/profile", data={
        "first_name": "", "last_name": owner.last_name, "username": "Grace", "email": owner.email,
        "timezone": owner.timezone})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter your first name." in page and "That username is taken." in page
    db.session.refresh(owner)
    assert owner.username != "Grace"


def test_signup_page_never_says_an_email_is_taken(client, db, make_user):
    """Bad fields beside a taken address read exactly as beside a new one (issue 16)."""
    taken = make_user(username="grace", email="grace@example.com")
    pages = []
    for address in (taken.email, "someone-new@example.com"):
        response = client.post("/accounts/signup", data={**SIGNUP, "first_name": "", "username": "grace",
                                                         "email": address})
        assert response.status_code == 400
        pages.append(response.get_data(as_text=True).replace(address, "ADDRESS"))
    assert "That username is taken." in pages[0] and "Enter your first name." in pages[0]
    assert "already exists" not in pages[0]
    strip = re.compile(r'name="csrf_token"[^>]*>')
    assert strip.sub("", pages[0]) == strip.sub("", pages[1])


def test_api_signup_reports_every_problem_at_once(client, db, make_user):
    make_user(username="grace")
    response = client.post("/api/accounts/signup/", json={
        **SIGNUP, "first_name": "", "username": "grace", "email": "grace-at-example",
        "password": "short", "repeat_password": "other"})
    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert set(fields) == {"first_name", "username", "email", "password", "repeat_password"}
    assert fields["username"] == ["That username is taken."]
    assert fields["email"] == ["Enter a valid email address, like name@example.com."]


# ---- time zones --------------------------------------------------------------------------------

def test_time_zone_choices_hold_no_deprecated_aliases():
    names = set(common_timezones())
    assert not names & set(ALIASES)
    assert {"UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Europe/Kyiv", "Africa/Asmara",
            "Pacific/Pohnpei", "Europe/Amsterdam"} <= names
    assert not any(name.startswith(("Etc/", "US/", "SystemV/")) for name in names)
    assert 380 < len(names) < 460
    assert [value for value, _ in timezone_choices()] == sorted(names)


def test_the_signup_page_offers_canonical_zones_and_a_filter(client, db):
    page = client.get("/accounts/signup").get_data(as_text=True)
    assert 'value="Europe/Kyiv"' in page and 'value="UTC"' in page
    for alias in ALIASES:
        assert f'value="{alias}"' not in page
    # The select keeps its label; a search box that JavaScript shows filters it.
    assert re.search(r'<label[^>]*for="timezone"[^>]*>Time zone</label>', page)
    assert re.search(r'<input[^>]*type="search"[^>]*data-zone-filter="timezone"', page)
    assert re.search(r'<label[^>]*for="timezone-filter"[^>]*>Search zones</label>', page)


def test_an_alias_stored_on_an_account_still_shows_as_selected(owner_client, owner, db):
    owner.timezone = "US/Eastern"
    db.session.commit()
    page = owner_client.get("/accounts/profile").get_data(as_text=True)
    assert re.search(r'<option[^>]*selected[^>]*value="US/Eastern"|<option[^>]*value="US/Eastern"[^>]*selected',
                     page)
    assert page.count('value="US/Eastern"') == 1
    # Saving the profile unchanged keeps it.
    response = owner_client.post("/accounts/profile", data={
        "action": "profile", "first_name": owner.first_name, "last_name": owner.last_name,
        "username": owner.username, "email": owner.email, "timezone": "US/Eastern"})
    assert response.status_code == 302
    db.session.refresh(owner)
    assert owner.timezone == "US/Eastern"


def test_an_alias_stored_on_a_calendar_still_shows_as_selected(owner_client, owner, make_calendar):
    calendar = make_calendar(owner=owner, timezone="Asia/Calcutta")
    page = owner_client.get(f"/calendars/{calendar.id}/edit").get_data(as_text=True)
    assert re.search(r'<option[^>]*selected[^>]*value="Asia/Calcutta"|'
                     r'<option[^>]*value="Asia/Calcutta"[^>]*selected', page)
    assert 'value="Asia/Kolkata"' in page and 'value="Africa/Asmera"' not in page


def test_the_invitee_zone_list_keeps_an_alias_it_is_showing(app):
    from oneonone.templating import timezone_options

    with app.app_context():
        html = str(timezone_options("Pacific/Ponape"))
        assert '<option value="Pacific/Ponape" selected>' in html and 'value="US/Eastern"' not in html
        assert '<option value="Europe/Kyiv" selected>' in str(timezone_options("Europe/Kyiv"))
