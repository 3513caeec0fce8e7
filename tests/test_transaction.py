"""The transaction boundary (oneonone/transaction.py): one unit of work per request or command.

A view is committed when it answers below 400 and rolled back otherwise; what the database refuses
at commit because of a concurrent change reaches the person as "someone else just changed this",
on the page they came from (HTML) or as the uniform 409 body (API), never as a 500.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import flash, redirect

from oneonone import transaction
from oneonone.accounts.models import User
from oneonone.transaction import (
    CONFLICT_MESSAGE,
    TransactionConflict,
    after_commit,
    after_rollback,
    run_in_transaction,
    unit_of_work,
)


def _user(username: str) -> User:
    user = User(first_name="Tx", last_name="Test", username=username, email=f"{username}@example.org",
                timezone="UTC")
    user.set_password("a-long-password-1")
    return user


@pytest.fixture
def routes(app, db, make_user):
    """Test-only views, added before the first request and wrapped like every other view."""
    taken = make_user(username="taken", email="taken@example.org")

    def clash():
        # Passes every check in the view, then the database refuses it at commit (a unique clash,
        # which is what two people doing the same thing at once look like).
        db.session.add(_user("fresh"))
        db.session.flush()
        db.session.add(User(first_name="B", last_name="B", username=taken.username, email="b@example.org",
                            timezone="UTC", password_hash="x"))
        flash("Saved.", "success")
        return redirect("/")

    def refuse():
        db.session.add(_user("refused"))
        db.session.flush()
        return "no", 400

    for rule, endpoint, view in (("/_test/clash", "clash", clash), ("/api/_test/clash", "api_clash", clash),
                                 ("/_test/refuse", "refuse", refuse)):
        app.add_url_rule(rule, endpoint, view, methods=["POST"])
    transaction.init_app(app)
    return taken


def _usernames(db) -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(sa.select(User.username)))


def test_a_clash_at_commit_shows_the_page_again_with_a_warning_and_writes_nothing(client, routes, db):
    response = client.post("/_test/clash", headers={"Referer": "http://localhost/calendars/?page=2"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/calendars/?page=2"
    with client.session_transaction() as session:
        flashes = session.get("_flashes", [])
    assert flashes == [("warning", CONFLICT_MESSAGE)]  # and not the "Saved." of the rolled-back work
    assert _usernames(db) == {"taken"}


def test_a_clash_without_a_page_to_return_to_is_a_409_page_not_a_500(client, routes, db):
    for headers in ({}, {"Referer": "https://evil.example/form"}):
        response = client.post("/_test/clash", headers=headers)
        assert response.status_code == 409
        text = response.get_data(as_text=True)
        assert "Someone else changed this" in text and "Conflict" in text
    assert _usernames(db) == {"taken"}


def test_a_clash_in_the_api_is_the_uniform_409_body(client, routes, db):
    response = client.post("/api/_test/clash")
    assert response.status_code == 409
    assert response.get_json() == {"error": "conflict", "message": CONFLICT_MESSAGE, "fields": {}}
    assert _usernames(db) == {"taken"}


def test_an_error_response_rolls_back_what_the_view_wrote(client, routes, db):
    assert client.post("/_test/refuse").status_code == 400
    assert _usernames(db) == {"taken"}


def test_a_retryable_failure_is_run_once_more_and_a_clash_is_not(app, db):
    calls = []

    def locked_once():
        calls.append(1)
        db.session.add(_user(f"try{len(calls)}"))
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE …", {}, Exception("database is locked"))

    run_in_transaction(locked_once)
    assert len(calls) == 2 and _usernames(db) == {"try2"}

    clashes = []

    def clash():
        clashes.append(1)
        raise sa.exc.IntegrityError("INSERT …", {}, Exception("duplicate key"))

    with pytest.raises(TransactionConflict) as raised:
        run_in_transaction(clash)
    assert len(clashes) == 1 and not raised.value.retryable and raised.value.status == 409


def test_after_commit_and_after_rollback_calls_run_only_for_their_outcome(app, db):
    ran = []
    with unit_of_work():
        after_commit(lambda: ran.append("committed"))
        after_rollback(lambda: ran.append("wrongly rolled back"))
    with pytest.raises(RuntimeError), unit_of_work():
        after_commit(lambda: ran.append("wrongly committed"))
        after_rollback(lambda: ran.append("rolled back"))
        raise RuntimeError("boom")
    assert ran == ["committed", "rolled back"]
