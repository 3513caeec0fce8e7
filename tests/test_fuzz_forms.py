"""Hypothesis posts random, huge, unicode and missing fields to every HTML form: never a 500.

Under TESTING an unhandled exception propagates into the test, so any crash fails it (with the
smallest input that causes it).
"""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import TestConfig
from oneonone import create_app

_rules_app = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                         "SQLALCHEMY_DATABASE_URI": "sqlite://"})
POST_RULES = sorted(
    (r for r in _rules_app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api")),
    key=lambda r: r.rule,
)
GENERIC_FIELDS = [
    "first_name", "last_name", "username", "email", "password", "repeat_password", "timezone", "tz",
    "current_password", "action", "confirm", "name", "start_date", "end_date", "response_deadline", "date",
    "start_time", "end_time", "high_priority", "weekdays", "length_minutes", "gap_minutes", "contact_id", "all",
    "timeslot_id", "pair", "q", "remember", "page", "slot-1", "slot-x",
]
ODD_VALUES = ["", " ", "0", "-1", "1", "y", "true", "2030-02-30", "2030-03-04", "09:00", "25:61", "1e309",
              "\x00", "a\x00b", "null", "<script>alert(1)</script>", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓", "9" * 40, "1:1", "a:b",
              "Europe/London",
              "preferred", "if_need_be", "x" * 5000]
VALUES = st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=60), st.text(min_size=300, max_size=3000))


@pytest.fixture
def world(one_of_each):
    return {**one_of_each().ids(), "session_id": 999_999, "token_id": 999_999}


def _field_names(client, url: str, can_get: bool) -> list[str]:
    names = set(GENERIC_FIELDS)
    if can_get:
        html = client.get(url).get_data(as_text=True)
        names |= set(re.findall(r'name="([^"]+)"', html)) - {"csrf_token"}
    return sorted(names)


@pytest.mark.parametrize("rule", POST_RULES, ids=lambda r: r.endpoint)
def test_random_form_posts_never_crash(rule, owner_client, world):
    url = rule.build({arg: world[arg] for arg in rule.arguments}, append_unknown=False)[1]
    names = _field_names(owner_client, url, "GET" in rule.methods)
    files = {"file", "image", "photo", "csv_file"} & set(names)

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(fields=st.dictionaries(st.sampled_from(names), st.one_of(VALUES, st.lists(VALUES, max_size=3)),
                                  max_size=8),
           upload=st.binary(max_size=2000))
    def post(fields, upload):
        data = dict(fields)
        for name in files:
            data[name] = (io.BytesIO(upload), "upload.csv" if "csv" in name or name == "file" else "photo.png")
        response = owner_client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code < 500, (url, data)

    post()


@pytest.mark.parametrize("rule", POST_RULES, ids=lambda r: r.endpoint)
def test_nul_characters_get_a_clear_400(rule, owner_client, world):
    """PostgreSQL cannot store NUL: every form refuses it up front instead of failing in the database."""
    url = rule.build({arg: world[arg] for arg in rule.arguments}, append_unknown=False)[1]
    data = {name: f"bad\x00{name}" for name in _field_names(owner_client, url, "GET" in rule.methods)}
    response = owner_client.post(url, data=data)
    assert response.status_code == 400, url
    assert "NUL character" in response.get_data(as_text=True)


def test_nul_in_a_query_string_or_json_is_refused(owner_client):
    assert owner_client.get("/contacts/?q=a%00b").status_code == 400
    response = owner_client.post("/api/contacts/", json={"first_name": "A\x00", "last_name": "B", "email": "a@b.org"})
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"first_name": ["Must not contain NUL characters."]}
