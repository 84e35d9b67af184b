"""The REST API over real HTTP, against the web process's server (WebServer), on SQLite and
PostgreSQL: tokens and scopes, every endpoint and every error shape, cursor pagination
while tickets arrive, ETag/If-Match, the rate limit, the audit trail, the OpenAPI
document and its page."""

from __future__ import annotations

import dataclasses
import http.client
import json
import re
import threading
import time
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, insert, select

from bot.adapters.web import WebServer, create_app
from bot.adapters.web.api import API_LIST_PATH, api_list_path
from bot.adapters.web.auth import RateLimit
from bot.adapters.web.openapi import document
from bot.cli import main
from bot.desk import api_tokens, api_views, intake, queries
from bot.desk.actor import Actor, Verb, refusal
from bot.store.models import ApiToken, Contact, Event, Task, Ticket
from tests.conftest import HANG, OPERATOR, START


def mail(n: int, subject: str = "Vraag over de factuur", body: str = "Hallo, een vraag.",
         attachment: tuple[str, str, bytes] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jan Jansen <jan@bakkerij-jansen.nl>"
    msg["To"] = "support@desk.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<api{n}@bakkerij-jansen.nl>"
    msg["Date"] = "Mon, 23 Nov 2026 09:00:00 +0000"
    msg.set_content(body)
    if attachment:
        name, ctype, data = attachment
        main_type, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main_type, subtype=sub, filename=name)
    return msg.as_bytes()


class Api:
    """A client of the real server: call(method, path, body, token=..., headers=...) ->
    (status, headers, parsed JSON or bytes)."""

    def __init__(self, app, server, desk):
        self.app, self.server, self.desk = app, server, desk
        self.write = api_tokens.create(desk, "crm", "write")
        self.read = api_tokens.create(desk, "bi", "read")

    def call(self, method: str, path: str, body=None, token: str | None = "write", headers=None,
             raw: bytes | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        h = dict(headers or {})
        if token in ("write", "read"):
            h["Authorization"] = f"Bearer {self.write if token == 'write' else self.read}"
        elif token is not None:
            h["Authorization"] = token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=h)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a body over the limit: the server answered 413 before reading it all
        r = conn.getresponse()
        content = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        if hdrs.get("content-type", "").startswith("application/json"):
            return r.status, hdrs, json.loads(content)
        return r.status, hdrs, content

    def get(self, path: str, **kw):
        return self.call("GET", path, **kw)

    def post(self, path: str, body=None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)


@pytest.fixture
def api(desk):
    app = create_app(desk)
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    yield Api(app, server, desk)
    server.stop()


def assert_error(status_body, status: int, code: str | None = None, field: str | None = "any"):
    got, _, body = status_body
    assert got == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    if field != "any":
        assert body["error"]["field"] == field, body
    assert "Traceback" not in json.dumps(body)


def ticket(desk, n: int = 1, **kw) -> int:
    result = intake.ingest_raw(desk, mail(n, **kw), f"test:{n}")
    assert result.ticket
    return result.ticket


# ------------------------------------------------------------------ tokens
def test_tokens_are_made_once_kept_hashed_listed_and_revoked(desk, db_url, monkeypatch, capsys, tmp_path):
    for k, v in {"DATABASE_URL": db_url, "TICKETBOT_MAIL_DIR": str(tmp_path / "out"),
                 "TICKETBOT_ADDRESS": "support@desk.example"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("TICKETBOT_DATABASE_URL", raising=False)
    capsys.readouterr()
    assert main(["api-token", "create", "CRM", "--scope", "write"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("tb_") and len(token) > 40
    assert main(["api-token", "create", "crm", "--scope", "read"]) == 2  # one live token per name
    assert "already" in capsys.readouterr().err
    with desk.sessions() as s:
        row = s.scalars(select(ApiToken)).one()
    assert row.name == "crm" and row.scope == "write" and token not in row.token_hash
    assert api_tokens.authenticate(desk, token) == Actor.integration("crm", "write")
    assert main(["api-token", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(t["name"], t["scope"], t["revoked"]) for t in listed] == [("crm", "write", None)]
    assert token not in json.dumps(listed)
    assert main(["api-token", "revoke", "crm"]) == 0
    assert api_tokens.authenticate(desk, token) is None
    assert main(["api-token", "revoke", "crm"]) == 2
    # a revoked name can be given a new token; the old one stays dead
    assert main(["api-token", "create", "crm", "--scope", "read"]) == 0
    new = capsys.readouterr().out.strip()
    assert api_tokens.authenticate(desk, new) == Actor.integration("crm", "read")
    assert api_tokens.authenticate(desk, token) is None
    assert main(["api-token", "create", "bad name!", "--scope", "read"]) == 2


def test_scopes_in_the_desks_own_check():
    read, write = Actor.integration("bi", "read"), Actor.integration("crm", "write")
    assert read.key == "api:bi" and refusal(read, Verb.VIEW) is None
    for verb in Verb:
        if verb is not Verb.VIEW:
            assert refusal(read, verb), verb
        if verb is not Verb.TAKE:  # taking needs a person
            assert refusal(write, verb) is None, verb
    assert refusal(write, Verb.TAKE)


def test_no_token_a_wrong_token_or_a_session_cookie_is_401(api, desk):
    n = ticket(desk)
    assert_error(api.get(API_LIST_PATH, token=None), 401, "unauthorized", None)
    status, headers, _ = api.get(API_LIST_PATH, token="Bearer tb_nothing")
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")
    assert_error(api.get(API_LIST_PATH, token=f"Basic {api.write}"), 401)
    revoked = api_tokens.create(desk, "old", "write")
    api_tokens.revoke(desk, "old")
    assert_error(api.get(API_LIST_PATH, token=f"Bearer {revoked}"), 401)
    # a signed-in person's cookie (with its CSRF token) authenticates nothing here
    serializer = api.app.session_interface.get_signing_serializer(api.app)
    cookie = serializer.dumps({"person": "sanne", "at": desk.clock().timestamp(), "csrf": "c"})
    for method, path in (("POST", f"/api/v1/tickets/{n}/notes"), ("GET", f"/api/v1/tickets/{n}")):
        status, _, body = api.call(method, path, {"text": "x", "csrf": "c"} if method == "POST" else None,
                                   token=None, headers={"Cookie": f"ticketbot_session={cookie}"})
        assert status == 401, body
    # ...while the same cookie does sign in the web face
    status, _, _ = api.call("GET", "/tickets", token=None, headers={"Cookie": f"ticketbot_session={cookie}"})
    assert status == 200
    assert not [e for e in queries.ticket_detail(desk, OPERATOR, n)["events"] if e["action"] == "note"]


def test_a_read_token_reads_and_may_change_nothing(api, desk):
    n = ticket(desk)
    status, _, body = api.get(f"/api/v1/tickets/{n}", token="read")
    assert status == 200 and body["number"] == n
    for path, payload in ((f"/api/v1/tickets/{n}/notes", {"text": "x"}), (f"/api/v1/tickets/{n}/resolve", {}),
                          (f"/api/v1/tickets/{n}/reply", {"text": "x"}), ("/api/v1/customers",
                                                                           {"items": [{"company": "X"}]}),
                          ("/api/v1/tasks/1/complete", {})):
        assert_error(api.post(path, payload, token="read"), 403, "forbidden", None)
    assert queries.ticket_detail(desk, OPERATOR, n)["status"] == "new"


# ------------------------------------------------------------------ tickets
def test_the_list_filters_and_searches_like_the_web_list(api, desk):
    a = ticket(desk, 1, subject="Factuur klopt niet")
    b = ticket(desk, 2, subject="Storing in de kassa", body="De kassa doet het niet")
    status, _, body = api.get(api_list_path(q="kassa"))
    assert status == 200 and [t["number"] for t in body["tickets"]] == [b] and body["next_cursor"] is None
    assert {t["number"] for t in api.get(api_list_path())[2]["tickets"]} == {a, b}
    assert api.get(api_list_path(status="resolved"))[2]["tickets"] == []
    assert {t["number"] for t in api.get(api_list_path(status="open-all", customer="jansen"))[2]["tickets"]} \
        == {a, b}
    assert "sla_state" in body["tickets"][0]
    assert [t["number"] for t in api.get(api_list_path(limit=1))[2]["tickets"]] == [a]
    assert_error(api.get(api_list_path(since="23-11-2026")), 400, "invalid", "since")
    assert_error(api.get(api_list_path(sla="late")), 400, "invalid", "sla")
    assert_error(api.get(API_LIST_PATH + "?limit=0"), 400, "invalid", "limit")
    assert_error(api.get(api_list_path(limit="ten")), 400, "invalid", "limit")
    assert_error(api.get(api_list_path(cursor="not-a-cursor")), 400, "invalid", "cursor")


def _seed(desk, count: int, start_at: datetime) -> None:
    rows = [{"kind": "question", "status": "new", "subject": f"seeded {i}", "owner": "sanne",
             "customer": "Bakkerij Jansen", "contact_email": "jan@bakkerij-jansen.nl",
             "channel": "mail", "created_at": start_at, "updated_at": start_at}
            for i in range(count)]
    with desk.uow.write() as s:
        s.execute(insert(Ticket), rows)


@pytest.mark.postgres  # both databases (db_url); ~5 s on each
def test_cursor_pages_have_no_gaps_or_repeats_while_tickets_arrive(api, desk):
    """10,000 tickets, paged 500 at a time while 50 new ones arrive after every page: every
    ticket once, in order, the new ones included."""
    began = time.monotonic()
    _seed(desk, 10_000, START - timedelta(days=1))
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        status, _, body = api.get(api_list_path(cursor=cursor, limit=500))
        assert status == 200, body
        seen.extend(t["number"] for t in body["tickets"])
        pages += 1
        cursor = body["next_cursor"]
        if pages <= 20:
            _seed(desk, 50, START)  # they arrive while the integration pages
        if cursor is None:
            break
    with desk.sessions() as s:
        everything = list(s.scalars(select(Ticket.id).order_by(Ticket.id)))
    assert len(everything) == 11_000
    assert seen == everything  # no gaps, no repeats, in order
    assert time.monotonic() - began < 60  # ~5-10 s here; a bound that only catches a hang


def test_one_ticket_with_messages_notes_events_and_attachments(api, desk):
    n = ticket(desk, 1, attachment=("offerte.pdf", "application/pdf", b"%PDF-1.4 offerte"))
    assert ticket(desk, 2, subject=f"Re: {desk.tag(n)} offerte",
                  attachment=("x.html", "text/html", b"<script>1</script>")) == n  # on the same ticket
    api.post(f"/api/v1/tickets/{n}/notes", {"text": "intern: klant belt morgen"})
    status, headers, d = api.get(f"/api/v1/tickets/{n}", token="read")
    assert status == 200
    assert headers["etag"] == f'"{d["etag"]}"'
    assert d["messages"][0]["direction"] == "in" and "een vraag" in d["messages"][0]["text"]
    assert [x["text"] for x in d["notes"]] == ["intern: klant belt morgen"]  # staff scope: notes shown
    assert d["notes"][0]["by"] == "api:crm"
    assert any(e["action"] == "note" and e["actor"] == "api:crm" for e in d["events"])
    files = [a for m in d["messages"] for a in m["attachments"]]
    pdf = next(a for a in files if a["name"] == "offerte.pdf")
    assert pdf["size"] == len(b"%PDF-1.4 offerte") and pdf["type"] == "application/pdf"
    status, headers, content = api.get(f"/api/v1/tickets/{n}/attachments/{pdf['id']}", token="read")
    assert status == 200 and content == b"%PDF-1.4 offerte"
    assert headers["content-disposition"].startswith("attachment;")
    html = next(a for a in files if a["name"] == "x.html")  # an active type is never served as itself
    status, headers, _ = api.get(f"/api/v1/tickets/{n}/attachments/{html['id']}")
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"].startswith("attachment;")
    assert_error(api.get(f"/api/v1/tickets/{n}/attachments/999999"), 404, "not_found")
    assert_error(api.get("/api/v1/tickets/999999"), 404, "not_found", None)
    assert_error(api.get("/api/v1/tickets/99999999999999999999"), 404)
    # unchanged: 304 for If-None-Match
    status, _, _ = api.get(f"/api/v1/tickets/{n}", headers={"If-None-Match": headers_etag(api, n)})
    assert status == 304


def headers_etag(api, n: int) -> str:
    return api.get(f"/api/v1/tickets/{n}")[1]["etag"]


def test_every_action_as_the_integration_with_its_audit_trail(api, desk):
    n = ticket(desk)
    ok = [
        ("reply", {"text": "Wij kijken ernaar."}),
        ("notes", {"text": "gebeld", "action": True}),
        ("actions", {"how": "call", "note": "klant gebeld"}),
        ("assign", {"target": "pieter", "reason": "zijn klant"}),
        ("wait", {"waiting": True}),
        ("wait", {"waiting": False}),
        ("kind", {"kind": "complaint"}),
        ("resolve", {"note": "opgelost", "tell_customer": False}),
        ("reopen", {"reason": "toch niet"}),
    ]
    for path, payload in ok:
        status, headers, body = api.post(f"/api/v1/tickets/{n}/{path}", payload)
        assert status == 200, (path, body)
        assert headers["etag"] == f'"{body["etag"]}"'
    d = queries.ticket_detail(desk, OPERATOR, n)
    assert d["owner"] == "pieter" and d["kind"] == "complaint" and d["status"] == "open"
    by_api = {e["action"] for e in d["events"] if e["actor"] == "api:crm"}
    assert {"note", "action", "status", "resolved", "reopened", "kind"} <= by_api, by_api
    with desk.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.actor == "api:crm")) >= len(ok) - 1
    # take needs a person: an integration is told to assign instead
    assert_error(api.post(f"/api/v1/tickets/{n}/take"), 403, "forbidden")
    # the desk's refusals: 409 with its reason; bad input: 400 with the field
    assert_error(api.post(f"/api/v1/tickets/{n}/reopen", {}), 409, "refused", None)
    assert_error(api.post(f"/api/v1/tickets/{n}/kind", {"kind": "nonsense"}), 400, "invalid", "kind")
    assert_error(api.post(f"/api/v1/tickets/{n}/actions", {"how": "dance"}), 400, "invalid", "how")
    assert_error(api.post(f"/api/v1/tickets/{n}/reply", {}), 400, "invalid", "text")
    assert_error(api.post(f"/api/v1/tickets/{n}/reply", {"text": 5}), 400, "invalid", "text")
    assert_error(api.post(f"/api/v1/tickets/{n}/wait", {"waiting": "yes"}), 400, "invalid", "waiting")
    assert_error(api.post(f"/api/v1/tickets/{n}/fields", {"name": "x"}), 400, "invalid", "value")
    assert_error(api.post(f"/api/v1/tickets/{n}/fields", {"name": "x", "value": "y"}), 409, "refused")
    assert_error(api.post(f"/api/v1/tickets/{n}/cancellation", {"outcome": "maybe"}), 400, "invalid",
                 "outcome")
    assert_error(api.post(f"/api/v1/tickets/{n}/cancellation", {"outcome": "lost", "reason": "x"}), 409)
    assert_error(api.call("POST", f"/api/v1/tickets/{n}/notes", raw=b"not json",
                          headers={"Content-Type": "application/json"}), 400, "invalid", None)
    assert_error(api.call("POST", f"/api/v1/tickets/{n}/notes", raw=b"[1]",
                          headers={"Content-Type": "application/json"}), 400)
    assert_error(api.post("/api/v1/tickets/424242/notes", {"text": "x"}), 404, "not_found")


def test_field_and_cancellation_outcome(api, desk):
    kinds = desk.ruleset.kinds
    assert kinds["dispute"].fields == ("invoice_number", "amount")  # the shipped rules.yaml
    n = ticket(desk)
    assert api.post(f"/api/v1/tickets/{n}/kind", {"kind": "dispute"})[0] == 200
    status, _, body = api.post(f"/api/v1/tickets/{n}/fields", {"name": "invoice_number", "value": "F-42"})
    assert status == 200 and body["result"]["invoice_number"] == "F-42"
    assert queries.ticket_detail(desk, OPERATOR, n)["fields"] == {"invoice_number": "F-42"}
    c = ticket(desk, 3, subject="Opzegging contract C-100", body="Hierbij zeggen wij het contract C-100 op.")
    assert queries.ticket_detail(desk, OPERATOR, c)["cancellation"] is not None
    status, _, body = api.post(f"/api/v1/tickets/{c}/cancellation", {"outcome": "retained", "reason": "korting"})
    assert status == 200 and body["result"]["outcome"] == "retained"
    assert body["result"]["decided_by"] == "api:crm"


def test_if_match_stops_a_lost_update_between_two_integrations(api, desk):
    n = ticket(desk)
    other = api_tokens.create(desk, "accounting", "write")
    etag = headers_etag(api, n)
    # the CRM writes with the ETag it read: fine
    status, headers, _ = api.post(f"/api/v1/tickets/{n}/notes", {"text": "crm"}, headers={"If-Match": etag})
    assert status == 200 and headers["etag"] != etag
    # accounting read the ticket before that change: its write is refused, nothing stored
    assert_error(api.post(f"/api/v1/tickets/{n}/kind", {"kind": "complaint"}, token=f"Bearer {other}",
                          headers={"If-Match": etag}), 412, "precondition_failed")
    assert queries.ticket_detail(desk, OPERATOR, n)["kind"] != "complaint"
    # with the fresh ETag it goes through; a weak or unquoted form is the same tag
    fresh = headers["etag"]
    status, _, _ = api.post(f"/api/v1/tickets/{n}/kind", {"kind": "complaint"}, token=f"Bearer {other}",
                            headers={"If-Match": "W/" + fresh})
    assert status == 200
    d = queries.ticket_detail(desk, OPERATOR, n)
    assert d["kind"] == "complaint" and any(e["actor"] == "api:accounting" for e in d["events"])
    # every change moves the ETag, including a reassignment
    before = headers_etag(api, n)
    api.post(f"/api/v1/tickets/{n}/assign", {"target": "pieter"})
    assert headers_etag(api, n) != before


def test_two_integrations_writing_at_once_with_one_etag_one_wins(api, desk):
    """The race itself: both send the same If-Match at the same moment; exactly one
    write goes through, the other gets 412, every round."""
    n = ticket(desk)
    other = f"Bearer {api_tokens.create(desk, 'accounting', 'write')}"
    for round_ in range(4):
        etag = headers_etag(api, n)
        barrier = threading.Barrier(2)
        results: list[int] = []

        def write(token: str, text: str, etag=etag, barrier=barrier, results=results) -> None:
            barrier.wait(HANG)
            results.append(api.post(f"/api/v1/tickets/{n}/notes", {"text": text}, token=token,
                                    headers={"If-Match": etag})[0])

        threads = [threading.Thread(target=write, args=("write", f"crm {round_}")),
                   threading.Thread(target=write, args=(other, f"accounting {round_}"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(HANG)
        assert sorted(results) == [200, 412], results
    notes = [e for e in queries.ticket_detail(desk, OPERATOR, n)["events"] if e["action"] == "note"]
    assert len(notes) == 4


def test_internal_notes_are_for_staff_scopes_only(api, desk):
    n = ticket(desk)
    api.post(f"/api/v1/tickets/{n}/notes", {"text": "intern: niet voor de klant"})
    staff = api_views.ticket_full(desk, Actor.integration("bi", "read"), n)
    assert staff is not None and [x["text"] for x in staff["notes"]] == ["intern: niet voor de klant"]
    outsider = api_views.ticket_full(desk, Actor.integration("someone", "portal"), n)
    assert outsider is not None and outsider["notes"] == [] and outsider["events"] == []
    assert "intern" not in json.dumps(outsider)
    assert outsider["messages"] and all(m["direction"] != "note" for m in outsider["messages"])


def test_requests_are_rate_limited_per_token(api, desk):
    api.app.config["API_LIMIT"] = RateLimit(3, 60)
    for _ in range(3):
        assert api.get("/api/v1/tasks")[0] == 200
    got = api.get("/api/v1/tasks")
    assert_error(got, 429, "rate_limited", None)
    assert 1 <= int(got[1]["retry-after"]) <= 60
    assert api.get("/api/v1/tasks", token="read")[0] == 200  # another token has its own budget


def test_errors_have_one_shape_and_never_a_trace(api, desk, monkeypatch):
    assert_error(api.get("/api/v1/nothing-here"), 404, "not_found", None)
    got = api.call("DELETE", "/api/v1/tickets")
    assert_error(got, 405, "method_not_allowed")
    assert_error(api.call("POST", "/api/v1/tasks/1/complete", raw=b"x" * (3 * 1024 * 1024),
                          headers={"Content-Type": "application/json"}), 413)

    def boom(*a, **kw):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(queries, "list_tasks", boom)
    got = api.get("/api/v1/tasks")
    assert_error(got, 500, "internal", None)
    assert "secret internals" not in json.dumps(got[2])


# ------------------------------------------------------------------ directory, reports, tasks
def test_customers_contacts_and_contracts_read_and_upsert(api, desk):
    status, _, body = api.get("/api/v1/customers?q=jansen", token="read")
    assert status == 200 and [c["name"] for c in body["customers"]] == ["Bakkerij Jansen"]
    status, _, body = api.get("/api/v1/contacts?limit=2", token="read")
    assert status == 200 and len(body["contacts"]) == 2 and body["next_cursor"]
    rest = api.get(f"/api/v1/contacts?limit=2&cursor={body['next_cursor']}", token="read")[2]
    assert len(rest["contacts"]) == 1 and rest["next_cursor"] is None
    status, _, body = api.get("/api/v1/contracts?company=hotel%20zee", token="read")
    assert [c["reference"] for c in body["contracts"]] == ["C-200"] and body["contracts"][0]["notice_deadline"]
    # upsert: the CSV import's rules
    items = [{"company": "Garage Wiel", "domains": ["garagewiel.nl"], "advisor": "marta",
              "website_access": True, "contact_name": "Wim Wiel", "contact_email": "wim@garagewiel.nl"}]
    status, _, body = api.post("/api/v1/customers", {"items": items})
    assert status == 200 and body == {"added": 1, "changed": 0, "unchanged": 0}
    assert api.post("/api/v1/customers", {"items": items})[2] == {"added": 0, "changed": 0, "unchanged": 1}
    bad = [{"company": "Nieuw BV", "contact_email": "nieuw@nieuwbv.nl"},
           {"company": "Fout BV", "contact_email": "not an address"}]
    assert_error(api.post("/api/v1/customers", {"items": bad}), 400, "invalid", "items[1].contact_email")
    assert_error(api.post("/api/v1/customers", {"items": [{"company": "X", "advisor": "nobody"}]}),
                 400, "invalid", "items[0].advisor")
    assert_error(api.post("/api/v1/customers", {"items": [{"company": "X", "domains": "gmail.com"}]}),
                 400, "invalid", "items[0].domains")
    with desk.sessions() as s:  # all or nothing: the good record of the bad request is not stored
        assert s.scalar(select(Contact).where(Contact.email == "nieuw@nieuwbv.nl")) is None
    assert_error(api.post("/api/v1/customers", {"items": []}), 400, "invalid", "items")
    assert_error(api.post("/api/v1/customers", {"items": ["x"]}), 400, "invalid", "items[0]")
    status, _, body = api.post("/api/v1/contracts", {"items": [
        {"contract": "C-300", "company": "Garage Wiel", "start": "2026-01-01", "end": "2026-12-31",
         "notice_months": 2}]})
    assert status == 200 and body["added"] == 1
    assert_error(api.post("/api/v1/contracts", {"items": [
        {"contract": "C-301", "company": "Garage Wiel", "start": "2026-13-01", "end": ""}]}),
        400, "invalid", "items[0].start")
    assert_error(api.post("/api/v1/contracts", {"items": [
        {"contract": "C-302", "company": "Niemand", "start": "2026-01-01", "end": ""}]}),
        400, "invalid", "items[0].company")
    got = api.get("/api/v1/contracts?company=Garage%20Wiel")[2]["contracts"]
    assert got[0]["reference"] == "C-300" and got[0]["notice_months"] == 2


def test_reports_as_json(api, desk):
    ticket(desk, 1, subject="Klacht over de levering", body="Ik wil een klacht indienen over de levering")
    status, _, body = api.get("/api/v1/reports/sla?month=2026-11", token="read")
    assert status == 200 and body["month"] == "2026-11" and {"owner", "kind"} <= set(body["sla"])
    assert isinstance(body["trend"], list)
    status, _, body = api.get("/api/v1/reports/complaints?month=2026-11", token="read")
    assert status == 200 and "received" in body["complaints"]
    assert api.get("/api/v1/reports/sla")[2]["month"] == "2026-10"  # default: the last whole month
    assert_error(api.get("/api/v1/reports/sla?month=november"), 400, "invalid", "month")


def test_tasks_list_and_complete(api, desk):
    n = ticket(desk)
    with desk.uow.write() as s:
        s.add(Task(ticket_id=n, kind="call-back", title="Bel de klant terug", assignee="sanne",
                   due_at=START + timedelta(days=1), created_at=START))
    status, _, body = api.get("/api/v1/tasks", token="read")
    assert status == 200 and [t["title"] for t in body["tasks"]] == ["Bel de klant terug"]
    task_id = body["tasks"][0]["id"]
    status, _, body = api.post(f"/api/v1/tasks/{task_id}/complete", {"note": "gedaan"})
    assert status == 200 and body["done"]
    assert api.get("/api/v1/tasks")[2]["tasks"] == []
    assert [t["id"] for t in api.get("/api/v1/tasks?all=true")[2]["tasks"]] == [task_id]
    assert_error(api.post(f"/api/v1/tasks/{task_id}/complete"), 409, "refused")
    assert_error(api.post("/api/v1/tasks/777/complete"), 404, "not_found")
    events = queries.ticket_detail(desk, OPERATOR, n)["events"]
    assert any(e["action"] == "task-done" and e["actor"] == "api:crm" for e in events)


# ------------------------------------------------------------------ the document
def test_the_openapi_document_names_every_route_and_nothing_else(api):
    status, _, doc = api.get("/api/v1/openapi.json", token=None)
    assert status == 200 and doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    routed = set()
    for rule in api.app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)[len("/api/v1"):]
            routed |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    for path, item in doc["paths"].items():
        for method, op in item.items():
            names = set(re.findall(r"{(\w+)}", path))
            assert names <= {p["name"] for p in op["parameters"] if p["in"] == "path"}, path
            assert op.get("security") == [] or op["x-scope"] in ("read", "write"), path
            if method == "post":
                assert op["x-scope"] == "write" and "403" in op["responses"], path
    assert document() == {**doc, "servers": [{"url": "/api/v1"}]}


def test_the_docs_page_is_served_by_the_app(api):
    status, headers, html = api.get("/api/v1/docs", token=None)
    page = html.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    for path in document()["paths"]:
        assert path in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from outside (no CDN)


def test_webhook_subscriptions_through_the_api(api):
    """An integration subscribes its own receiver (the secret stays in the bot's
    environment), sees its deliveries, and removes it; a read token may only look."""
    api.desk.settings = dataclasses.replace(
        api.desk.settings, webhook_secrets={"TICKETBOT_WEBHOOK_CRM": "crm-secret-0123456789"})
    hook = {"name": "crm", "url": "https://crm.example/hooks/ticketbot",
            "events": ["ticket.created", "ticket.resolved"], "secret_env": "TICKETBOT_WEBHOOK_CRM"}
    assert_error(api.post("/api/v1/webhooks", hook, token="read"), 403)
    status, _, made = api.post("/api/v1/webhooks", hook)
    assert status == 201 and made["name"] == "crm" and made["events"] == hook["events"]
    assert_error(api.post("/api/v1/webhooks", hook), 409, field="name")
    assert_error(api.post("/api/v1/webhooks", {**hook, "name": "bi", "secret_env": "TICKETBOT_WEBHOOK_BI"}),
                 400, field="secret_env")
    assert_error(api.post("/api/v1/webhooks", {**hook, "name": "bi", "events": ["ticket.eaten"]}),
                 400, field="events")
    assert_error(api.post("/api/v1/webhooks", {**hook, "name": "bi", "url": "ftp://crm.example/x"}),
                 400, field="url")
    assert_error(api.post("/api/v1/webhooks", {**hook, "name": "bi", "events": "ticket.created"}),
                 400, field="events")
    n = ticket(api.desk, 1)
    status, _, listed = api.get("/api/v1/webhooks", token="read")
    assert status == 200 and [w["name"] for w in listed["webhooks"]] == ["crm"]
    assert [(d["subscription"], d["event"], d["ticket"]) for d in listed["deliveries"]] == [
        ("crm", "ticket.created", n)]
    assert_error(api.call("DELETE", "/api/v1/webhooks/crm", token="read"), 403)
    assert api.call("DELETE", "/api/v1/webhooks/crm")[0] == 204
    assert_error(api.call("DELETE", "/api/v1/webhooks/crm"), 404)
    assert api.get("/api/v1/webhooks")[2]["webhooks"] == []
