"""Caching and indexing headers for private pages, decided in one place for every response.

- `Cache-Control: no-store` on every response while someone is signed in, on the invitee's pick
  page and its `.ics` (the secret link is the only key), on the schedule export and on everything
  under /api/ but a contact photo, errors included: no browser history, shared proxy or disk cache
  keeps a copy.
- `Cache-Control: private, max-age=300` on the owner's calendar feed: calendar apps poll it, and a
  copy in the subscriber's own cache for five minutes is harmless; no shared cache keeps it.
- `X-Robots-Tag: noindex, nofollow` on pick and feed URLs (and the mailed account links), should a
  link ever be posted where a crawler finds it; `/robots.txt` (oneonone/home.py) asks the same.

Conditional GET: every 200 answer to a GET of the API or the feed carries an `ETag` (a hash of its
body), and a request whose `If-None-Match` names it gets `304 Not Modified` with no body. API clients
that keep their last answer (sync scripts, the invitee's page data through the invitation token)
and calendar apps polling the feed so skip the transfer; `no-store` still keeps browsers from storing
API answers, and the check costs only the hash.

Static files keep their own caching. A view that already chose a private cache for its answer (a
contact photo, on its page and on its API route: `private, max-age=3600`, versioned in its URL) keeps it.
"""

from __future__ import annotations

from flask import Flask, Response, g, request, session

NO_STORE = "no-store"
FEED_CACHE = "private, max-age=300"
NO_INDEX = "noindex, nofollow"

STATIC_ENDPOINTS = {"static", "bootstrap.static", "api.docs_asset"}
# Secret links: whoever holds the URL sees the page, so neither caches nor crawlers may keep it.
SECRET_LINK_PREFIXES = ("/pick/",)
SECRET_LINK_ENDPOINTS = {"accounts.reset_password", "accounts.verify"}
FEED_PREFIX = "/feed/"
PRIVATE_ENDPOINTS = {"scheduling.schedule_csv"}
API_PREFIX = "/api/"


def _signed_in() -> bool:
    """Whether this request is signed in, without a query: the loaded user, or the session cookie's."""
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return True
    return bool(session.get("_user_id"))


def _keeps_own_private_cache(response: Response) -> bool:
    return bool(response.cache_control.private or response.cache_control.no_store)


def private_page_headers(response: Response) -> Response:
    """Set Cache-Control and X-Robots-Tag on `response` by what was asked for (see module docstring)."""
    if request.endpoint in STATIC_ENDPOINTS:
        return response
    path = request.path
    if path.startswith(FEED_PREFIX):
        response.headers["X-Robots-Tag"] = NO_INDEX
        response.headers["Cache-Control"] = FEED_CACHE if response.status_code < 400 else NO_STORE
        return response
    if path.startswith(SECRET_LINK_PREFIXES) or request.endpoint in SECRET_LINK_ENDPOINTS:
        response.headers["X-Robots-Tag"] = NO_INDEX
        response.headers["Cache-Control"] = NO_STORE
        return response
    if path.startswith(API_PREFIX):
        if not _keeps_own_private_cache(response):
            response.headers["Cache-Control"] = NO_STORE
        return response
    if request.endpoint in PRIVATE_ENDPOINTS:
        response.headers["Cache-Control"] = NO_STORE
        return response
    if _signed_in() and not _keeps_own_private_cache(response):
        response.headers["Cache-Control"] = NO_STORE
    return response


def conditional_get(response: Response) -> Response:
    """ETag and 304 for the API's and the feed's successful GETs (see module docstring)."""
    if (request.method in ("GET", "HEAD") and response.status_code == 200
            and request.path.startswith((API_PREFIX, FEED_PREFIX))
            and not response.direct_passthrough and not response.is_streamed):
        if "ETag" not in response.headers:
            response.add_etag()
        response.make_conditional(request)
    return response


def register(app: Flask) -> None:
    """Run `private_page_headers` and `conditional_get` after every request of `app`, error pages
    included."""
    app.after_request(private_page_headers)
    app.after_request(conditional_get)
