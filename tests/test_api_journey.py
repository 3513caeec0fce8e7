"""The whole journey by a client that knows only the OpenAPI document: it finds each operation by its
operationId, builds bodies from the documented fields, and every answer is checked against the document.

sign up → sign in → contacts → calendar → slots → invite (email) → the invitee picks with their link's
token → suggestions → finalize (email with .ics) → the invitee sees the confirmed meeting.
"""

from __future__ import annotations

import re

import schemathesis
from mailsink import link_in, text_of

LINK_RE = re.compile(r"http://oneonone\.test/pick/([A-Za-z0-9_\-]+)")


class DocumentClient:
    """Calls operations by operationId, the way a generated client would."""

    def __init__(self, app, document: dict):
        self.app = app
        self.document = document
        self.schema = schemathesis.openapi.from_dict(document)
        self.token: str | None = None
        self.log: list[str] = []

    def _request_fields(self, operation_id: str) -> tuple[set[str], set[str]]:
        """(every field, required fields) of the operation's documented JSON body."""
        for item in self.document["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                    content = operation.get("requestBody", {}).get("content", {})
                    schema = content.get("application/json", {}).get("schema", {})
                    if "$ref" in schema:
                        schema = self.document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
                    return set(schema.get("properties", {})), set(schema.get("required", []))
        raise AssertionError(f"{operation_id} is not in the document")

    def call(self, operation_id: str, *, body=None, token: str | None = None, expect: int, **params):
        operation = self.schema.find_operation_by_id(operation_id)
        if body is not None:
            fields, required = self._request_fields(operation_id)
            assert set(body) <= fields, f"{operation_id}: {set(body) - fields} not documented"
            assert required <= set(body), f"{operation_id}: missing {required - set(body)}"
        path_names = set(re.findall(r"{(\w+)}", operation.path))
        case = operation.Case(
            path_parameters={k: v for k, v in params.items() if k in path_names},
            query={k: v for k, v in params.items() if k not in path_names},
            # schemathesis's WSGI transport sends `Accept-Encoding: gzip` but does not decode the answer
            # (tests/test_static_files.py covers compression).
            headers={"Accept-Encoding": "identity",
                     **({"Authorization": f"Bearer {token or self.token}"} if (token or self.token) else {})},
            **({"body": body} if body is not None else {}),
        )
        response = case.call(app=self.app)
        assert response.status_code == expect, (operation_id, response.status_code, response.text)
        operation.validate_response(response)  # the answer matches the document
        self.log.append(f"{operation.method.upper()} {operation.path} -> {response.status_code}")
        return response.json() if response.content else None


def test_a_client_following_only_the_openapi_document_does_the_whole_journey(app, client, mailbox):
    api = DocumentClient(app, client.get("/api/openapi.json").get_json())

    api.call("describeSignup", expect=200)
    api.call("signUp", expect=201, body={
        "first_name": "Grace", "last_name": "Hopper", "username": "grace", "email": "grace@example.com",
        "password": "compiler-pioneer", "repeat_password": "compiler-pioneer", "timezone": "Europe/Paris"})
    api.token = api.call("signIn", expect=200, body={"email": "grace@example.com",
                                                     "password": "compiler-pioneer"})["token"]
    me = api.call("getProfile", expect=200)

    ada = api.call("createContact", expect=201, body={"first_name": "Ada", "last_name": "Lovelace",
                                                      "email": "ada@example.org"})
    alan = api.call("createContact", expect=201, body={"first_name": "Alan", "last_name": "Turing",
                                                       "email": "alan@example.org"})
    assert len(api.call("listContacts", expect=200)) == 2

    calendar = api.call("createCalendar", expect=201, body={
        "name": "Mentoring", "start_date": "2030-09-02", "end_date": "2030-09-06"})
    assert calendar["owner"] == me["id"] and calendar["timezone"] == "Europe/Paris"
    morning = api.call("addTimeslot", expect=201, calendar_id=calendar["id"], body={
        "start_time": "2030-09-02T09:00", "end_time": "2030-09-02T09:30", "high_priority": True})
    assert morning["start_time"] == "2030-09-02T09:00:00+02:00"
    afternoon = api.call("addTimeslot", expect=201, calendar_id=calendar["id"], body={
        "start_time": "2030-09-02T14:00:00+02:00", "end_time": "2030-09-02T14:30:00+02:00"})
    api.call("addTimeslot", expect=409, calendar_id=calendar["id"], body={
        "start_time": "2030-09-02T09:15", "end_time": "2030-09-02T09:45"})
    assert len(api.call("getCalendar", expect=200, calendar_id=calendar["id"])["timeslots"]) == 2

    # Nobody is mailed for an owner whose own address is unverified; its link (mailed at sign-up) fixes that.
    refused = api.call("inviteContact", expect=403, calendar_id=calendar["id"], contact_id=ada["id"])
    assert refused["error"] == "email_not_verified" and not mailbox.to(ada["email"])
    assert client.get(link_in(mailbox.to("grace@example.com")[-1], "/accounts/verify/")).status_code == 302
    assert api.call("getProfile", expect=200)["email_verified"] is True

    tokens = {}
    for contact in (ada, alan):
        invitee = api.call("inviteContact", expect=201, calendar_id=calendar["id"], contact_id=contact["id"])
        message = mailbox.to(contact["email"])[-1]
        link = LINK_RE.search(text_of(message))
        assert link.group(0) == invitee["link"]
        tokens[contact["id"]] = link.group(1)

    # The invitees answer with the token of their link.
    slots = api.call("listTimeslots", expect=200, token=tokens[ada["id"]], calendar_id=calendar["id"])
    assert [s["id"] for s in slots] == [morning["id"], afternoon["id"]]
    for slot in slots:
        api.call("createEvent", expect=201, token=tokens[ada["id"]], body={
            "calendar": calendar["id"], "timeslot": slot["id"], "contact": ada["id"]})
    api.call("createEvent", expect=201, token=tokens[alan["id"]], body={
        "calendar": calendar["id"], "timeslot": morning["id"], "contact": alan["id"],
        "preference": "if_need_be"})
    api.call("createEvent", expect=403, token=tokens[alan["id"]], body={
        "calendar": calendar["id"], "timeslot": afternoon["id"], "contact": ada["id"]})

    # Suggestions: both get a slot, Alan the high-priority morning (his only pick).
    best = api.call("getSuggestedSchedules", expect=200, calendar_id=calendar["id"], k=2)["schedules"][0]
    assert best["score"] == {"scheduled": 2, "high_priority": 1, "preferred": 1}
    assert {(a["contact"], a["timeslot"]) for a in best["assignments"]} == {
        (alan["id"], morning["id"]), (ada["id"], afternoon["id"])}

    mailbox.messages.clear()
    for assignment in best["assignments"]:
        event = api.call("finalizeEvent", expect=200, event_id=assignment["event"], body={"confirmed": True})
        assert event["confirmed"] is True
    assert len(api.call("listTimeslotEvents", expect=200, timeslot_id=morning["id"])) == 2
    for contact in (ada, alan):
        [message] = mailbox.to(contact["email"])
        assert any(part.get_content_type() == "text/calendar" for part in message.walk())

    ada_event = next(a["event"] for a in best["assignments"] if a["contact"] == ada["id"])
    status = api.call("getEvent", expect=200, token=tokens[ada["id"]], event_id=ada_event)
    assert status["status"] == "confirmed" and status["timeslot"] == afternoon["id"]
    api.call("signOut", expect=204)
    api.call("getProfile", expect=401)
    assert len(api.log) >= 20
