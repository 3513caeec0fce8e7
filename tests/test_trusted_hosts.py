"""Only the hosts OneOnOne serves are answered, and the links it builds come from PUBLIC_URL.

Before: any Host header was served, and the API's Link header echoed it
(`Host: evil.example` → `<http://evil.example/api/contacts/?page=2…>`), a link a cache or a client
could hand on. Flask 3.1's TRUSTED_HOSTS alone turned such a request into a 500 (its error page
could not build URLs).
"""

from __future__ import annotations

import pytest

from config import _trusted_hosts
from oneonone.accounts.services import issue_api_token
from oneonone.transaction import unit_of_work

EVIL = {"Host": "evil.example"}


@pytest.fixture
def api_headers(owner, make_contact) -> dict[str, str]:
    for _ in range(3):
        make_contact(owner=owner)
    with unit_of_work():
        return {"Authorization": f"Bearer {issue_api_token(owner)}"}


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
@pytest.mark.parametrize("path", ["/", "/accounts/signin", "/contacts/", "/pick/some-token", "/static/css/app.css",
                                  "/healthz", "/no-such-page"])
def test_an_unknown_host_gets_a_plain_400_page(client, path, app_config):
    response = client.get(path, headers=EVIL)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "does not answer for that host name" in response.get_data(as_text=True)
    assert "evil.example" not in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_an_unknown_host_gets_a_json_400_from_the_api(client, api_headers, app_config):
    for method, path in [("GET", "/api/contacts/"), ("POST", "/api/accounts/signin/"), ("GET", "/api/nothing")]:
        response = client.open(path, method=method, headers={**api_headers, **EVIL}, json={})
        assert response.status_code == 400, (method, path)
        body = response.get_json()
        assert body["error"] == "invalid" and "Host" in body["fields"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5000", "oneonone.test", "ONEONONE.TEST:8443"])
def test_the_configured_hosts_are_served(client, host):
    assert client.get("/accounts/signin", headers={"Host": host}).status_code == 200


def test_the_link_header_comes_from_public_url(client, api_headers):
    response = client.get("/api/contacts/?per_page=1&page=2", headers=api_headers)  # Host: localhost
    links = response.headers["Link"]
    assert links.count("<http://oneonone.test/api/contacts/?") == 2, links
    assert "localhost" not in links


@pytest.mark.parametrize("app_config", [{"TRUSTED_HOSTS": None}])
def test_even_with_every_host_allowed_the_link_header_ignores_the_host(client, api_headers, app_config):
    response = client.get("/api/contacts/?per_page=1", headers={**api_headers, **EVIL})
    assert response.status_code == 200
    assert response.headers["Link"].startswith("<http://oneonone.test/api/contacts/?")
    assert "evil.example" not in response.headers["Link"]


@pytest.mark.parametrize(("value", "public_url", "app_env", "expected"), [
    (None, "https://meet.example.org", "production", ["meet.example.org"]),
    ("", "https://meet.example.org:8443/", "production", ["meet.example.org"]),
    (None, "http://127.0.0.1:5000", "development", ["127.0.0.1", "localhost"]),
    (None, "https://meet.example.org", "development", ["meet.example.org", "localhost", "127.0.0.1"]),
    (" Meet.Example.org, .example.net ,", "https://x.example", "production", ["meet.example.org", ".example.net"]),
])
def test_trusted_hosts_default_to_the_host_of_public_url(value, public_url, app_env, expected):
    assert _trusted_hosts(value, public_url, app_env) == expected
