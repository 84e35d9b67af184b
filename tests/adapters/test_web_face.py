"""The web face through Flask's test client: sign-in by one-time link, sessions, CSRF,
rate limits, every page and form, attachments that are never rendered. The browser tests
(real Chromium) are in tests/scenarios/test_browser.py."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.adapters.web import create_app
from bot.desk import intake, queries
from bot.store.models import LoginToken, Outbox
from tests.conftest import OPERATOR
from tests.support.fakeslack import FakeSlack

LINK = re.compile(r"http://localhost:8080/login/([A-Za-z0-9_-]+)")


def customer_mail(n: int, sender: str, subject: str, body: str,
                  attachment: tuple[str, str, bytes] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Klant {n} <{sender}>"
    msg["To"] = "support@desk.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<web{n}@klant.example>"
    msg["Date"] = "Mon, 23 Nov 2026 09:00:00 +0000"
    msg.set_content(body)
    if attachment:
        name, ctype, data = attachment
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg.as_bytes()


@pytest.fixture
def web(desk):
    app = create_app(desk)
    app.config["TESTING"] = True
    return app


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def mailed_link(desk, to: str) -> str:
    with desk.sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.purpose == "sign-in", Outbox.to_addr == to)
                         .order_by(Outbox.id)).all()
    assert rows, f"no sign-in mail to {to}"
    m = LINK.search(rows[-1].body_text)
    assert m, rows[-1].body_text
    return m.group(1)


def sign_in(client, desk, email: str = "sanne@desk.example") -> None:
    page = client.get("/login").get_data(as_text=True)
    r = client.post("/login", data={"email": email, "csrf": csrf_of(page), "next": "/"})
    assert r.status_code == 200
    token = mailed_link(desk, email)
    page = client.get(f"/login/{token}").get_data(as_text=True)
    r = client.post(f"/login/{token}", data={"csrf": csrf_of(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/")


def csrf(client) -> str:
    return csrf_of(client.get("/").get_data(as_text=True))


def test_every_page_and_form_needs_a_session(web, desk):
    n = intake.ingest_raw(desk, customer_mail(1, "jan@bakkerij-jansen.nl", "Vraag", "Hallo"), "t").ticket
    client = web.test_client()
    for path in ("/", "/tickets", f"/tickets/{n}", f"/tickets/{n}/files/1", "/tickets?q=x"):
        r = client.get(path)
        assert r.status_code == 302 and "/login?next=" in r.headers["Location"], path
    # a form without a session is refused, whatever it carries
    for action in ("note", "resolve", "reply", "assign", "take", "reopen", "wait", "kind", "field", "action"):
        r = client.post(f"/tickets/{n}/{action}", data={"text": "x", "csrf": "x"})
        assert r.status_code == 403, action
    assert queries.ticket_detail(desk, OPERATOR, n)["status"] == "new"
    assert client.get("/healthz").status_code == 200  # the load balancer needs no session


def test_a_one_time_link_signs_in_once_within_fifteen_minutes(web, desk):
    client = web.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = csrf_of(page)
    # the same answer for a stranger as for staff: nobody learns who works here
    stranger = client.post("/login", data={"email": "mallory@evil.nl", "csrf": token})
    staff = client.post("/login", data={"email": "Sanne@Desk.example", "csrf": token})
    assert stranger.status_code == staff.status_code == 200
    assert _without_email(stranger.get_data(as_text=True)) == _without_email(staff.get_data(as_text=True))
    with desk.sessions() as s:
        assert [o.to_addr for o in s.scalars(select(Outbox).where(Outbox.purpose == "sign-in"))] == \
            ["sanne@desk.example"]
        stored = s.scalars(select(LoginToken)).one()
    link = mailed_link(desk, "sanne@desk.example")
    assert stored.token_hash != link and link not in stored.token_hash  # only the hash is kept
    # opening the link (a mail scanner does) uses nothing up
    assert client.get(f"/login/{link}").status_code == 200
    confirm = csrf_of(client.get(f"/login/{link}").get_data(as_text=True))
    assert client.post(f"/login/{link}", data={"csrf": confirm}).status_code == 302
    assert client.get("/").status_code == 200
    # used once: a second use (another browser) is refused
    other = web.test_client()
    c2 = csrf_of(other.get(f"/login/{link}").get_data(as_text=True))
    assert other.post(f"/login/{link}", data={"csrf": c2}).status_code == 400
    assert other.get("/").status_code == 302
    # a link older than 15 minutes is refused
    client2 = web.test_client()
    c3 = csrf_of(client2.get("/login").get_data(as_text=True))
    client2.post("/login", data={"email": "rob@desk.example", "csrf": c3})
    late = mailed_link(desk, "rob@desk.example")
    desk.clock.advance(minutes=16)
    c4 = csrf_of(client2.get(f"/login/{late}").get_data(as_text=True))
    assert client2.post(f"/login/{late}", data={"csrf": c4}).status_code == 400
    # signing out ends the session
    client.post("/logout", data={"csrf": csrf(client)})
    assert client.get("/").status_code == 302


def _without_email(html: str) -> str:
    return re.sub(r'value="[^"]*"', "", html)


def test_forms_without_the_csrf_token_are_refused(web, desk):
    n = intake.ingest_raw(desk, customer_mail(2, "jan@bakkerij-jansen.nl", "Vraag", "Hallo"), "t").ticket
    client = web.test_client()
    sign_in(client, desk)
    assert client.post(f"/tickets/{n}/note", data={"text": "zonder token"}).status_code == 403
    assert client.post(f"/tickets/{n}/resolve", data={"csrf": "forged"}).status_code == 403
    assert client.post("/login", data={"email": "sanne@desk.example"}).status_code == 403
    assert client.post("/logout").status_code == 403
    d = queries.ticket_detail(desk, OPERATOR, n)
    assert d["status"] == "new" and not [m for m in d["messages"] if m["direction"] == "note"]


def test_asking_for_links_is_rate_limited(web, desk):
    client = web.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    codes = [client.post("/login", data={"email": "sanne@desk.example", "csrf": token}).status_code
             for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    with desk.sessions() as s:
        assert len(s.scalars(select(Outbox).where(Outbox.purpose == "sign-in")).all()) == 5


def test_a_person_removed_from_rules_yaml_is_signed_out(web, desk):
    client = web.test_client()
    sign_in(client, desk)
    assert client.get("/").status_code == 200
    people = {k: p for k, p in desk.ruleset.people.items() if k != "sanne"}
    desk.rules = dataclasses.replace(desk.ruleset, people=people)  # rules.yaml reloaded without her
    assert client.get("/").status_code == 302


def test_the_dashboard_list_search_and_dossier(web, desk):
    a = intake.ingest_raw(desk, customer_mail(3, "jan@bakkerij-jansen.nl", "Klacht over advertentie",
                                              "Onze advertentie stond er niet in. Zeer ontevreden."), "t").ticket
    b = intake.ingest_raw(desk, customer_mail(4, "info@onbekend.nl", "Factuur 2026-114",
                                              "De factuur klopt niet, zie bijlage. Het woord zeppelin.",
                                              ("factuur-2026-114.pdf", "application/pdf", b"%PDF-1.4 test")),
                          "t").ticket
    client = web.test_client()
    sign_in(client, desk)
    home = client.get("/").get_data(as_text=True)
    assert "Klacht over advertentie" in home or str(a) in home
    assert 'id="by-owner"' in home and "<svg" in home
    listed = client.get("/tickets").get_data(as_text=True)
    assert "Klacht over advertentie" in listed and "Factuur 2026-114" in listed
    found = client.get("/tickets?q=zeppelin").get_data(as_text=True)
    assert "Factuur 2026-114" in found and "Klacht over advertentie" not in found
    assert "1 tickets" in found
    by_kind = client.get("/tickets?kind=complaint").get_data(as_text=True)
    assert "Klacht over advertentie" in by_kind and "Factuur 2026-114" not in by_kind
    wildcard = client.get("/tickets?q=%25").get_data(as_text=True)
    assert "0 tickets" in wildcard
    bad = client.get("/tickets?since=gisteren")
    assert bad.status_code == 200 and "is not a date" in bad.get_data(as_text=True)
    page = client.get(f"/tickets/{b}").get_data(as_text=True)
    assert "factuur-2026-114.pdf" in page and "De factuur klopt niet" in page
    assert client.get("/tickets/999999").status_code == 404
    assert client.get("/tickets/99999999999999999999999").status_code == 404


def test_the_dossier_shows_both_the_sender_and_the_reply_to(web, desk):
    """Issue 13: a web form's mail (noreply@ sender, the customer in Reply-To): the
    ticket page names the sender and, apart, the address answers go to."""
    raw = (b"From: Webshop <noreply@webshop.example>\r\nReply-To: Klaas <klaas@gmail.com>\r\n"
           b"To: support@desk.example\r\nSubject: Contactformulier\r\nMessage-ID: <wf1@webshop.example>\r\n\r\n"
           b"Naam: Klaas\r\nVraag: wanneer komt mijn advertentie?\r\n")
    t = intake.ingest_raw(desk, raw, "t").ticket
    client = web.test_client()
    sign_in(client, desk)
    page = client.get(f"/tickets/{t}").get_data(as_text=True)
    assert "noreply@webshop.example" in page
    assert '<b id="reply-to">klaas@gmail.com</b>' in page


def test_attachments_are_downloaded_never_rendered(web, desk):
    script = b"<html><script>alert(document.cookie)</script></html>"
    n = intake.ingest_raw(desk, customer_mail(5, "jan@bakkerij-jansen.nl", "Bestand", "Zie bijlage",
                                              ("x.html", "text/html", script)), "t").ticket
    client = web.test_client()
    sign_in(client, desk)
    page = client.get(f"/tickets/{n}").get_data(as_text=True)
    href = re.search(r'href="(/tickets/\d+/files/\d+)"', page).group(1)
    r = client.get(href)
    assert r.status_code == 200 and r.data == script
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["Content-Type"].startswith("application/octet-stream")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r.headers["Content-Security-Policy"]
    # a file of another ticket is not reachable through this one
    other = intake.ingest_raw(desk, customer_mail(6, "piet@bakkerij-jansen.nl", "Ander", "x"), "t").ticket
    assert client.get(href.replace(f"/tickets/{n}/", f"/tickets/{other}/")).status_code == 404


def test_the_forms_call_the_desk_actions(web, desk):
    n = intake.ingest_raw(desk, customer_mail(7, "jan@bakkerij-jansen.nl", "Vraag over plaatsing",
                                              "Wanneer komt mijn advertentie?"), "t").ticket
    client = web.test_client()
    sign_in(client, desk)
    token = csrf(client)
    client.post(f"/tickets/{n}/note", data={"csrf": token, "text": "Even nagaan bij productie"})
    preview = client.post(f"/tickets/{n}/reply", data={"csrf": token, "text": "Volgende week dinsdag."})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Volgende week dinsdag." in html and "jan@bakkerij-jansen.nl" in html
    with desk.sessions() as s:  # a preview sends nothing
        assert not s.scalars(select(Outbox).where(Outbox.purpose == "reply")).all()
    sent = client.post(f"/tickets/{n}/reply", data={"csrf": token, "text": "Volgende week dinsdag.",
                                                    "send": "1"})
    assert sent.status_code == 302
    client.post(f"/tickets/{n}/kind", data={"csrf": token, "kind": "appointment"})
    client.post(f"/tickets/{n}/assign", data={"csrf": token, "target": "rob", "reason": "regio"})
    client.post(f"/tickets/{n}/take", data={"csrf": token})
    client.post(f"/tickets/{n}/resolve", data={"csrf": token, "note": ""})
    d = queries.ticket_detail(desk, OPERATOR, n)
    assert d["status"] == "resolved" and d["kind"] == "appointment" and d["owner"] == "sanne"
    actors = {e["actor"] for e in d["events"] if e["action"] in ("note", "reply", "kind", "assigned",
                                                                 "resolved", "taken")}
    assert actors == {"sanne"}
    with desk.sessions() as s:
        [reply] = s.scalars(select(Outbox).where(Outbox.purpose == "reply")).all()
    assert "Volgende week dinsdag." in reply.body_text and reply.to_addr == "jan@bakkerij-jansen.nl"
    # a refusal is shown on the page, not a trace
    r = client.post(f"/tickets/{n}/kind", data={"csrf": token, "kind": "nonsense"}, follow_redirects=True)
    assert r.status_code == 200 and "Traceback" not in r.get_data(as_text=True)
    client.post(f"/tickets/{n}/reopen", data={"csrf": token, "reason": "klant belde"})
    assert queries.ticket_detail(desk, OPERATOR, n)["status"] != "resolved"


def test_customer_text_is_escaped_on_every_page(web, desk):
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    n = intake.ingest_raw(desk, customer_mail(8, "jan@bakkerij-jansen.nl", f"Hoi {evil}",
                                              f"Tekst {evil}"), "t").ticket
    client = web.test_client()
    sign_in(client, desk)
    for path in ("/", "/tickets", f"/tickets/{n}", "/tickets?q=script"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
    assert "&lt;script&gt;" in client.get(f"/tickets/{n}").get_data(as_text=True)


def test_a_session_ends_after_twelve_hours_by_the_desks_clock(web, desk):
    client = web.test_client()
    sign_in(client, desk)
    desk.clock.advance(hours=11, minutes=59)
    assert client.get("/").status_code == 200
    desk.clock.advance(minutes=2)
    assert client.get("/").status_code == 302


def test_staff_mail_and_the_slack_thread_link_to_the_tickets_page(make_desk, settings):
    desk = make_desk(settings=settings.with_(web_url="https://desk.example.com/", slack_bot_token="xoxb-t",
                                             slack_signing_secret="s", slack_channel="C0DESK0001"))
    n = intake.ingest_raw(desk, customer_mail(9, "info@drukkerij.nl", "Klacht", "Zeer ontevreden"), "t").ticket
    link = f"https://desk.example.com/tickets/{n}"
    with desk.sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.ticket_id == n)).all()
    root = next(r for r in rows if r.purpose == "slack-root")
    assert f"<{link}|Openen in de desk>" in root.payload.decode()  # the desk's language (nl)
    notices = [r for r in rows if r.purpose == "new-ticket"]
    assert notices and all(link in r.body_text for r in notices)


def test_the_monthly_report_page_csv_and_charts(web, desk):
    """Complaints of November counted, SLA met and breached by owner, CSV and PNG charts."""
    a = intake.ingest_raw(desk, customer_mail(10, "info@drukkerij.nl", "Klacht: advertentie niet geplaatst",
                                              "Zeer ontevreden, de advertentie stond er niet in."), "t").ticket
    b = intake.ingest_raw(desk, customer_mail(11, "jan@bakkerij-jansen.nl", "Klacht over de factuur",
                                              "Ik ben ontevreden over de factuur."), "t").ticket
    from bot.desk import actions
    actions.log_action(desk, OPERATOR, a, "call", "gebeld")  # in time
    desk.clock.advance(days=3)
    actions.resolve(desk, OPERATOR, a, None)
    desk.clock.advance(days=10)  # into December: b's first action and resolution were missed
    client = web.test_client()
    sign_in(client, desk)
    page = client.get("/reports?month=2026-11")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    kinds = {queries.ticket_detail(desk, OPERATOR, n)["kind"] for n in (a, b)}
    assert kinds <= {"complaint", "dispute"}, kinds
    received = re.search(r"Ontvangen</th><td class=\"num\">(\d+)<", html) or \
        re.search(r"Received</th><td class=\"num\">(\d+)<", html)
    assert received and received.group(1) == "2"
    csv_text = client.get("/reports.csv?month=2026-11&table=sla-owner").get_data(as_text=True)
    assert csv_text.startswith("\ufeffgroup,first_action_due,first_action_met,first_action_breached")
    assert client.get("/reports.csv?month=2026-11&table=nonsense").status_code == 404
    png = client.get("/reports/chart/complaints-trend.png?month=2026-11")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/reports?month=november").status_code == 400
    assert client.get("/reports?month=2026-11&print=1").status_code == 200


def test_the_rules_check_routes_a_pasted_or_uploaded_mail_and_stores_nothing(web, desk):
    client = web.test_client()
    sign_in(client, desk)
    token = csrf(client)
    raw = customer_mail(12, "jan@bakkerij-jansen.nl", "Factuur 2026-114 klopt niet",
                        "Het bedrag op de factuur is te hoog.").decode()
    pasted = client.post("/rules/check", data={"csrf": token, "raw": raw}).get_data(as_text=True)
    assert 'id="route"' in pasted and "Ruud de Boer" in pasted and 'id="trace"' in pasted
    uploaded = client.post("/rules/check", data={"csrf": token, "raw": "",
                                                 "file": (io.BytesIO(raw.encode()), "mail.eml")},
                           content_type="multipart/form-data").get_data(as_text=True)
    assert "Ruud de Boer" in uploaded
    empty = client.post("/rules/check", data={"csrf": token, "raw": " "}).get_data(as_text=True)
    assert "Paste a mail" in empty and 'id="route"' not in empty
    with desk.sessions() as s:
        assert not s.scalars(select(Outbox).where(Outbox.purpose != "sign-in")).all()  # nobody told
    assert queries.list_tickets(desk, OPERATOR) == []


def test_customers_are_listed_and_imported_from_an_uploaded_csv(web, desk):
    client = web.test_client()
    sign_in(client, desk)
    listed = client.get("/customers").get_data(as_text=True)
    assert "Bakkerij Jansen" in listed and "C-100" in listed
    token = csrf(client)
    csv_bytes = (b"company,domains,advisor,website_access,contact_name,contact_email,contact_phone\n"
                 b"Drukkerij De Vries,drukkerij-devries.nl,pieter,no,Els de Vries,els@drukkerij-devries.nl,\n"
                 b"Zonder Adviseur,zonder.nl,nobody,no,,,\n")
    r = client.post("/customers/import", data={"csrf": token, "what": "customers",
                                               "file": (io.BytesIO(csv_bytes), "klanten.csv")},
                    content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="import-report"' in html
    assert "1 toegevoegd" in html or "1 added" in html
    assert "regel 3" in html or "line 3" in html  # the unknown advisor, rejected with its line
    found = client.get("/customers?q=devries").get_data(as_text=True)
    assert "Drukkerij De Vries" in found and "Bakkerij Jansen" not in found
    no_csrf = client.post("/customers/import", data={"what": "customers",
                                                     "file": (io.BytesIO(csv_bytes), "k.csv")},
                          content_type="multipart/form-data")
    assert no_csrf.status_code == 403


@pytest.fixture
def slack_web(make_desk, settings):
    with FakeSlack() as slack:
        desk = make_desk(settings=settings.with_(
            slack_bot_token=slack.bot_token, slack_signing_secret="s", slack_api_url=slack.url,
            slack_client_id=slack.client_id, slack_client_secret=slack.client_secret))
        app = create_app(desk)
        app.config["TESTING"] = True
        yield app, desk, slack


def test_sign_in_with_slack_for_the_people_of_rules_yaml(slack_web):
    """OpenID Connect against the fake Slack: the state binds the callback to the
    browser that started it, the code is traded with the app's secret, and the Slack user
    must be a person in rules.yaml."""
    app, desk, slack = slack_web
    client = app.test_client()
    assert 'id="slack-sign-in"' in client.get("/login").get_data(as_text=True)
    start = client.get("/login/slack")
    assert start.status_code == 302 and start.headers["Location"].startswith(
        "https://slack.com/openid/connect/authorize?")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    # Slack sends the browser back; a forged state, or none, is refused
    forged = app.test_client()
    assert forged.get(f"/login/slack/callback?code={slack.oidc_code('U0SANNE01')}&state={state}").status_code == 400
    done = client.get(f"/login/slack/callback?code={slack.oidc_code('U0SANNE01')}&state={state}")
    assert done.status_code == 302 and client.get("/").status_code == 200
    assert "Sanne Jansen" in client.get("/").get_data(as_text=True)
    token_call = slack.calls_to("openid.connect.token")[-1]
    assert token_call.auth == "Basic " + base64.b64encode(f"{slack.client_id}:{slack.client_secret}".encode()).decode()
    assert token_call.params["redirect_uri"] == "http://localhost:8080/login/slack/callback"
    # the state works once
    again = client.get(f"/login/slack/callback?code={slack.oidc_code('U0SANNE01')}&state={state}")
    assert again.status_code == 400
    # a Slack user who is in nobody's list is told so, and not signed in
    stranger = app.test_client()
    s2 = parse_qs(urlsplit(stranger.get("/login/slack").headers["Location"]).query)["state"][0]
    r = stranger.get(f"/login/slack/callback?code={slack.oidc_code('U0ALICE001')}&state={s2}")
    assert r.status_code == 403 and stranger.get("/").status_code == 302


def test_without_slack_client_settings_there_is_no_slack_sign_in(web):
    client = web.test_client()
    assert 'id="slack-sign-in"' not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/slack").status_code == 404


def test_a_ticket_for_a_customer_who_phoned(web, desk):
    """The web face's door to actions.open_on_behalf: the customer is the contact, the
    colleague watches, the acknowledgement goes to the customer (or not, unticked)."""
    client = web.test_client()
    sign_in(client, desk, "rob@desk.example")
    page = client.get("/tickets/new").get_data(as_text=True)
    assert 'name="customer"' in page and 'value="call"' in page
    token = csrf_of(page)
    r = client.post("/tickets/new", data={"csrf": token, "customer": "jan@bakkerij-jansen.nl",
                                          "name": "Jan Jansen", "kind": "call", "ack": "1",
                                          "text": "Belde: de factuur 2026-114 klopt niet."})
    assert r.status_code == 302
    n = int(r.headers["Location"].rstrip("/").rpartition("/")[2])
    d = queries.ticket_detail(desk, OPERATOR, n)
    assert d["contact"] == "jan@bakkerij-jansen.nl" and "rob" in d["watchers"]
    assert any(e["action"] == "on-behalf" and e["actor"] == "rob" for e in d["events"])
    with desk.sessions() as s:
        acks = s.scalars(select(Outbox).where(Outbox.ticket_id == n, Outbox.purpose == "ack")).all()
    assert [a.to_addr for a in acks] == ["jan@bakkerij-jansen.nl"]
    # no acknowledgement when unticked; a refusal is shown on the form, not a trace
    r = client.post("/tickets/new", data={"csrf": token, "customer": "piet@bakkerij-jansen.nl",
                                          "text": "Vraagt naar de tarieven."})
    m = int(r.headers["Location"].rstrip("/").rpartition("/")[2])
    with desk.sessions() as s:
        assert not s.scalars(select(Outbox).where(Outbox.ticket_id == m, Outbox.purpose == "ack")).all()
    r = client.post("/tickets/new", data={"csrf": token, "customer": "sanne@desk.example", "text": "x"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "is een adres van de balie zelf" in html and "Traceback" not in html
    assert client.post("/tickets/new", data={"customer": "jan@bakkerij-jansen.nl", "text": "x"}).status_code == 403
