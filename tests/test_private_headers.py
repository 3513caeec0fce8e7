"""No cache or crawler keeps a private page: Cache-Control and X-Robots-Tag, and /robots.txt."""

from __future__ import annotations

import pytest

from oneonone.accounts.services import issue_api_token, rotate_feed_token
from oneonone.transaction import unit_of_work

DEFAULT_PASSWORD = "correct-horse-battery"  # what the make_user factory sets (conftest)


@pytest.fixture
def links(owner, one_of_each):
    """An invitee with a confirmed meeting (pick page and its .ics) and the owner's feed token."""
    objects = one_of_each(confirmed=True)
    with unit_of_work():
        feed_token = rotate_feed_token(owner)
        api_token = issue_api_token(owner)
    return {"calendar": objects.calendar, "pick": objects.token, "feed": feed_token, "api": api_token}


@pytest.fixture(params=[False, True], ids=["signed-out", "signed-in"])
def browser(request, client, owner, login):
    """A browser, signed out or signed in as the owner: secret links answer the same to both."""
    return login(owner) if request.param else client


def _no_store(response) -> bool:
    return response.headers.get("Cache-Control") == "no-store"


def _no_index(response) -> bool:
    return "noindex" in response.headers.get("X-Robots-Tag", "")


@pytest.mark.parametrize("url", ["/calendars/", "/contacts/", "/accounts/profile", "/", "/calendars/{calendar}/",
                                 "/calendars/999999/", "/accounts/signin"])
def test_every_page_of_a_signed_in_owner_is_no_store(owner_client, links, url):
    response = owner_client.get(url.format(calendar=links["calendar"].id))
    assert response.status_code in (200, 302, 404)
    assert _no_store(response), (url, response.status_code, response.headers.get("Cache-Control"))
    assert not _no_index(response)  # the owner's pages are behind sign-in, not secret links


@pytest.mark.parametrize("url", ["/", "/accounts/signin", "/accounts/signup"])
def test_public_pages_signed_out_may_be_cached(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "Cache-Control" not in response.headers and "X-Robots-Tag" not in response.headers


def test_the_sign_in_answer_is_no_store_and_signing_out_ends_it(client, owner):
    signed_in = client.post("/accounts/signin", data={"email": owner.email, "password": DEFAULT_PASSWORD})
    assert signed_in.status_code == 302 and _no_store(signed_in)
    assert _no_store(client.get("/calendars/"))
    signed_out = client.post("/accounts/signout")
    assert signed_out.status_code == 302
    after = client.get("/accounts/signin")
    assert after.status_code == 200 and "Cache-Control" not in after.headers


@pytest.mark.parametrize("url", ["/pick/{pick}", "/pick/{pick}/meeting.ics", "/pick/not-a-token",
                                 "/pick/not-a-token/meeting.ics"])
def test_pick_page_and_its_ics_are_no_store_and_noindex(browser, links, url):
    response = browser.get(url.format(**links))
    assert response.status_code == (404 if "not-a-token" in url else 200)
    assert _no_store(response) and _no_index(response)


def test_pick_answer_is_no_store_and_noindex(browser, links):
    response = browser.post(f"/pick/{links['pick']}", data={})
    assert _no_store(response) and _no_index(response), response.status_code


def test_feed_is_private_for_five_minutes_and_noindex(browser, links):
    response = browser.get(f"/feed/{links['feed']}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "private, max-age=300" and _no_index(response)
    unknown = browser.get("/feed/not-a-token.ics")
    assert unknown.status_code == 404 and _no_store(unknown) and _no_index(unknown)


def test_schedule_export_is_no_store(owner_client, links):
    response = owner_client.get(f"/calendars/{links['calendar'].id}/schedule.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv" and _no_store(response)


def test_schedule_export_signed_out_is_a_no_store_redirect(client, links):
    response = client.get(f"/calendars/{links['calendar'].id}/schedule.csv")
    assert response.status_code == 302 and _no_store(response)


@pytest.mark.parametrize(("url", "auth", "status"), [
    ("/api/calendars/", True, 200),
    ("/api/calendars/", False, 401),
    ("/api/calendars/999999/", True, 404),
    ("/api/no-such-endpoint/", True, 404),
    ("/api/openapi.json", False, 200),
])
def test_every_api_response_is_no_store(client, links, url, auth, status):
    headers = {"Authorization": f"Bearer {links['api']}"} if auth else {}
    response = client.get(url, headers=headers)
    assert response.status_code == status and response.is_json
    assert _no_store(response)


def test_api_method_not_allowed_is_no_store(client, links):
    response = client.patch("/api/calendars/", headers={"Authorization": f"Bearer {links['api']}"})
    assert response.status_code == 405 and _no_store(response)


def test_static_files_keep_their_caching(browser):
    response = browser.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()


def test_robots_txt_disallows_secret_links_accounts_and_api(browser):
    response = browser.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    assert {line for line in lines if line.startswith("Disallow:")} == {
        "Disallow: /pick/", "Disallow: /feed/", "Disallow: /accounts/", "Disallow: /api/"}
