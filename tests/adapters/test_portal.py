"""The customer portal through Flask's test client, on SQLite and PostgreSQL: personal links
in the acknowledgement and reply mails, what a customer sees (never another customer's
ticket, whatever number they guess; never an internal note), revoked links, CSRF, the
attachment cap, and that what they do enters the desk as their mail would. The browser
scenario (real Chromium, SMTP, fake Slack) is tests/scenarios/test_portal_browser.py."""

from __future__ import annotations

import io
import re
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from bot.adapters.web import create_app
from bot.config import Settings
from bot.core.domain import Direction
from bot.desk import actions, customer_csv, intake, portal, queries
from bot.desk.actor import Actor, Via
from bot.desk.errors import NotAllowed, Refused
from bot.store.models import Contact, Message, Outbox, PortalLink, Ticket
from bot.wiring import open_desk
from tests.conftest import OPERATOR, START, who
from tests.scenarios.test_cli import cli, cli_env  # noqa: F401 - the command line's fixtures

BASE = "http://portal.test"
LINK = re.compile(rf"{re.escape(BASE)}/portal/k/([0-9]+\.[0-9]+\.[A-Za-z0-9_-]+)")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SECRET_NOTE = "INTERNAL: customer is a bad payer, do not tell"


def mail(n: int, sender: str, subject: str, body: str, attachment: tuple[str, str, bytes] | None = None,
         name: str = "Klant") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = "support@desk.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<portal{n}@klant.example>"
    msg["Date"] = "Mon, 23 Nov 2026 09:00:00 +0000"
    msg.set_content(body)
    if attachment:
        fname, ctype, data = attachment
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=fname)
    return msg.as_bytes()


@pytest.fixture
def pdesk(make_desk, settings):
    return make_desk(settings=settings.with_(web_url=BASE))


@pytest.fixture
def app(pdesk):
    a = create_app(pdesk)
    a.config["TESTING"] = True
    return a


def link_in(desk, to: str, purpose: str = "ack") -> str:
    with desk.sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.purpose == purpose, Outbox.to_addr == to)
                         .order_by(Outbox.id)).all()
    assert rows, f"no {purpose} mail to {to}"
    m = LINK.search(rows[-1].body_text)
    assert m, rows[-1].body_text
    return m.group(1)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def open_portal(app, token: str):
    client = app.test_client()
    r = client.get(f"/portal/k/{token}")
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def page(client, path: str = "/portal/") -> tuple[int, str]:
    r = client.get(path)
    return r.status_code, r.get_data(as_text=True)


def seed(desk) -> dict[str, int]:
    """Jan (Bakkerij Jansen) and Olga (Drukkerij Oost) each with tickets; Olga's carry a file."""
    n = {}
    n["jan"] = intake.ingest_raw(desk, mail(1, "jan@bakkerij-jansen.nl", "Vraag over mijn advertentie",
                                            "Goedemorgen, wanneer verschijnt mijn advertentie?", name="Jan Jansen"),
                                 "t").ticket
    n["olga"] = intake.ingest_raw(desk, mail(2, "olga@drukkerij-oost.nl", "Geheime offerte Oost",
                                             "Hierbij onze offerte, vertrouwelijk.",
                                             ("offerte-oost.pdf", "application/pdf", PDF), name="Olga Oost"),
                                  "t").ticket
    for i in range(3, 30):  # more tickets of others, to guess at
        sender = "olga@drukkerij-oost.nl" if i % 2 else "zeger@hotelzee.nl"
        intake.ingest_raw(desk, mail(i, sender, f"Andere klant {i}", f"Bericht nummer {i} van een ander."), "t")
    return n


# ------------------------------------------------------------------ links in mails
def test_acknowledgement_and_reply_carry_a_personal_link(pdesk, app, make_desk, settings):
    n = seed(pdesk)
    token = link_in(pdesk, "jan@bakkerij-jansen.nl")
    with pdesk.sessions() as s:
        ack = s.scalars(select(Outbox).where(Outbox.purpose == "ack", Outbox.ticket_id == n["jan"])).one()
        assert f'href="{BASE}/portal/k/{token}"' in ack.body_html
        row = s.scalars(select(PortalLink)).first()
        assert token not in (row.token_hash or "") and len(row.token_hash) == 64  # only the hash is kept
    actions.reply(pdesk, who(pdesk, "sanne"), n["jan"], "Uw advertentie verschijnt maandag.")
    assert link_in(pdesk, "jan@bakkerij-jansen.nl", "reply") == token  # the same link, per contact
    # the ticket's copies of these mails (the dossier) leave the token out: staff cannot act as Jan
    texts = [m["full_text"] for m in queries.ticket_detail(pdesk, OPERATOR, n["jan"])["messages"]]
    assert all(token not in t for t in texts) and sum(f"{BASE}/portal/k/…" in t for t in texts) == 2
    assert link_in(pdesk, "olga@drukkerij-oost.nl") != token
    # the link opens the portal
    client = open_portal(app, token)
    code, html = page(client)
    assert code == 200 and "Vraag over mijn advertentie" in html


def test_no_link_without_the_web_faces_address(make_desk, settings):
    desk = make_desk(settings=settings.with_(web_url=None))
    intake.ingest_raw(desk, mail(1, "jan@bakkerij-jansen.nl", "Vraag", "Hallo"), "t")
    with desk.sessions() as s:
        ack = s.scalars(select(Outbox).where(Outbox.purpose == "ack")).one()
        assert "/portal/" not in ack.body_text and s.scalars(select(PortalLink)).first() is None


# ------------------------------------------------------------------ security
def test_a_link_of_customer_a_never_shows_customer_b(pdesk, app):
    n = seed(pdesk)
    client = open_portal(app, link_in(pdesk, "jan@bakkerij-jansen.nl"))
    code, html = page(client)
    assert code == 200 and "Vraag over mijn advertentie" in html
    assert "Geheime offerte" not in html and "Andere klant" not in html
    with pdesk.sessions() as s:
        last = max(s.scalars(select(Ticket.id)))
        attachment_ids = [a.id for m in s.scalars(select(Message)) for a in m.attachments]
    assert attachment_ids
    seen = []
    for number in [0, -1, *range(1, last + 20), 2**63, 10**30]:
        for path in (f"/portal/tickets/{number}", f"/portal/tickets/{number}/files/1"):
            code, html = page(client, path)
            assert "Geheime offerte" not in html and "Andere klant" not in html and "offerte-oost" not in html
            if code == 200:
                seen.append(path)
            else:  # not found; a number no route takes (-1) goes to the staff sign-in
                assert code == 404 or (code == 302 and number == -1), (path, code)
        for aid in attachment_ids:  # every file, on every number: the other's never comes
            r = client.get(f"/portal/tickets/{number}/files/{aid}")
            assert PDF not in r.data and (r.status_code == 404 or (r.status_code == 302 and number == -1))
        # and no form of theirs can be used: a reply, "solved"
        html_csrf = csrf_of(page(client)[1])
        if number not in (n["jan"], -1):  # (-1: no route takes it; "Sign in first.")
            r = client.post(f"/portal/tickets/{number}/reply", data={"csrf": html_csrf, "text": "guess"})
            assert r.status_code == 404, (number, r.get_data(as_text=True))
            r = client.post(f"/portal/tickets/{number}/decide", data={"csrf": html_csrf, "solved": "0"})
            assert r.status_code == 404
    assert seen == [f"/portal/tickets/{n['jan']}"]
    with pdesk.sessions() as s:
        assert not s.scalars(select(Message).where(Message.text.contains("guess"))).first()


def test_the_desk_refuses_a_customer_everything_but_the_portal(pdesk):
    n = seed(pdesk)
    with pdesk.sessions() as s:
        jan = s.scalars(select(Contact).where(Contact.email == "jan@bakkerij-jansen.nl")).one()
        actor = Actor.for_contact(jan)
    with pytest.raises(NotAllowed):
        queries.list_tickets(pdesk, actor)
    with pytest.raises(NotAllowed):
        queries.ticket_detail(pdesk, actor, n["jan"])
    with pytest.raises(NotAllowed):
        actions.reply(pdesk, actor, n["jan"], "I answer myself")
    with pytest.raises(NotAllowed):
        actions.resolve(pdesk, actor, n["jan"])
    with pytest.raises(Refused, match=f"no ticket {n['olga']}"):
        actions.portal_reply(pdesk, actor, n["olga"], "mine now?")
    with pytest.raises(NotAllowed):  # and staff cannot act as a customer
        actions.portal_reply(pdesk, Actor.of(pdesk.ruleset.people["sanne"], Via.WEB), n["jan"], "as Jan")
    assert portal.ticket_view(pdesk, actor, n["olga"]) is None
    with pytest.raises(NotAllowed):
        portal.my_tickets(pdesk, Actor.of(pdesk.ruleset.people["sanne"], Via.WEB))


def test_a_company_admin_sees_the_company_and_a_contact_only_their_own(pdesk, app, tmp_path):
    n = seed(pdesk)
    csv_path = tmp_path / "admins.csv"
    csv_path.write_text("company,domains,advisor,website_access,contact_name,contact_email,contact_phone,"
                        "portal_admin\nDrukkerij Oost,,,,Otto Oost,otto@drukkerij-oost.nl,,yes\n"
                        "Drukkerij Oost,,,,Olga Oost,olga@drukkerij-oost.nl,,no\n", encoding="utf-8")
    assert not customer_csv.import_file(pdesk, OPERATOR, "customers", csv_path).rejected
    intake.ingest_raw(pdesk, mail(90, "otto@drukkerij-oost.nl", "Otto's eigen vraag", "Hallo"), "t")
    otto = open_portal(app, link_in(pdesk, "otto@drukkerij-oost.nl"))
    code, html = page(otto)
    assert code == 200 and "Otto&#39;s eigen vraag" in html and "Geheime offerte Oost" in html
    assert "Vraag over mijn advertentie" not in html  # another company's
    assert page(otto, f"/portal/tickets/{n['olga']}")[0] == 200
    assert page(otto, f"/portal/tickets/{n['jan']}")[0] == 404
    olga = open_portal(app, link_in(pdesk, "olga@drukkerij-oost.nl"))
    code, html = page(olga)
    assert "Geheime offerte Oost" in html and "Otto&#39;s eigen vraag" not in html
    # the CLI's switch: Otto no longer admin
    portal.set_admin(pdesk, OPERATOR, "otto@drukkerij-oost.nl", False)
    assert page(otto, f"/portal/tickets/{n['olga']}")[0] == 404


def test_a_revoked_link_is_refused(pdesk, app):
    seed(pdesk)
    token = link_in(pdesk, "jan@bakkerij-jansen.nl")
    client = open_portal(app, token)
    assert page(client)[0] == 200
    assert portal.revoke(pdesk, OPERATOR, "jan@bakkerij-jansen.nl") is True
    # the open session ends, and the link no longer opens one
    code, html = page(client, "/portal/new")
    assert code == 403
    assert app.test_client().get(f"/portal/k/{token}").status_code == 403
    # a forged signature or generation is refused too
    contact, generation, sig = token.split(".")
    for forged in (f"{contact}.{int(generation) + 1}.{sig}", f"{contact}.{generation}.{sig[:-2]}xx",
                   f"{int(contact) + 1}.{generation}.{sig}", "x", "1.1"):
        assert app.test_client().get(f"/portal/k/{forged}").status_code == 403
    # the next mail carries a new link, which works; the old one stays dead
    intake.ingest_raw(pdesk, mail(91, "jan@bakkerij-jansen.nl", "Nog een vraag", "Hallo"), "t")
    fresh = link_in(pdesk, "jan@bakkerij-jansen.nl")
    assert fresh != token
    assert page(open_portal(app, fresh))[0] == 200
    assert app.test_client().get(f"/portal/k/{token}").status_code == 403


def test_internal_notes_never_appear(pdesk, app):
    n = seed(pdesk)
    actions.add_note(pdesk, who(pdesk, "sanne"), n["jan"], SECRET_NOTE)
    actions.reply(pdesk, who(pdesk, "sanne"), n["jan"], "Wij kijken ernaar.")
    actions.reply(pdesk, who(pdesk, "sanne"), n["jan"], "Nog in het undo-venster", delay_seconds=60,
                  slack_ref="C1:1.1")
    with pdesk.uow.write() as s:  # a colleague's note by mail, and a mail to a colleague
        s.add(Message(ticket_id=n["jan"], direction=Direction.NOTE, text=SECRET_NOTE + " (mail)",
                      visible_text=SECRET_NOTE, created_at=pdesk.clock()))
    token = link_in(pdesk, "jan@bakkerij-jansen.nl")
    code, html = page(open_portal(app, token), f"/portal/tickets/{n['jan']}")
    assert code == 200
    assert token not in html  # our mails are shown without the footer carrying the link
    assert "Wij kijken ernaar." in html and "Goedemorgen, wanneer verschijnt" in html
    assert "bad payer" not in html and "undo-venster" not in html
    assert ">routed<" not in html and "sales_support" not in html  # no events, no routing


def test_csrf_missing_is_403(pdesk, app):
    n = seed(pdesk)
    client = open_portal(app, link_in(pdesk, "jan@bakkerij-jansen.nl"))
    page(client)
    for path, data in ((f"/portal/tickets/{n['jan']}/reply", {"text": "zonder token"}),
                       (f"/portal/tickets/{n['jan']}/decide", {"solved": "1"}),
                       ("/portal/new", {"kind": "question", "subject": "x", "text": "zonder token"}),
                       ("/portal/link", {"email": "jan@bakkerij-jansen.nl"})):
        assert client.post(path, data=data).status_code == 403
        assert client.post(path, data={**data, "csrf": "wrong"}).status_code == 403
    with pdesk.sessions() as s:
        assert not s.scalars(select(Message).where(Message.text.contains("zonder token"))).first()


def test_attachments_are_capped_at_10_mb_together(pdesk, app):
    n = seed(pdesk)
    client = open_portal(app, link_in(pdesk, "jan@bakkerij-jansen.nl"))
    token = csrf_of(page(client, f"/portal/tickets/{n['jan']}")[1])
    just_over = [(io.BytesIO(b"a" * (6 * 1024 * 1024)), "a.bin"), (io.BytesIO(b"b" * (4 * 1024 * 1024 + 1)), "b.bin")]
    far_over = [(io.BytesIO(b"c" * (12 * 1024 * 1024)), "c.bin")]
    for files in (just_over, far_over):
        r = client.post(f"/portal/tickets/{n['jan']}/reply", data={"csrf": token, "text": "te groot", "files": files},
                        content_type="multipart/form-data")
        assert r.status_code == 413
        assert "10 MB" in r.get_data(as_text=True)
    with pdesk.sessions() as s:
        assert not s.scalars(select(Message).where(Message.text.contains("te groot"))).first()
    files = [(io.BytesIO(PDF), "bewijs.pdf", "application/pdf")]
    r = client.post(f"/portal/tickets/{n['jan']}/reply", data={"csrf": token, "text": "Hier is het", "files": files},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    d = queries.ticket_detail(pdesk, OPERATOR, n["jan"])
    assert d["messages"][-1]["attachments"] == [{"name": "bewijs.pdf", "type": "application/pdf",
                                                 "size": len(PDF), "inline": False}]


# ------------------------------------------------------------------ what the customer does
def test_a_reply_enters_the_desk_like_a_mail_and_reopens(pdesk, app):
    n = seed(pdesk)
    actions.resolve(pdesk, who(pdesk, "sanne"), n["jan"], "Staat erin.")
    client = open_portal(app, link_in(pdesk, "jan@bakkerij-jansen.nl"))
    token = csrf_of(page(client, f"/portal/tickets/{n['jan']}")[1])
    r = client.post(f"/portal/tickets/{n['jan']}/reply", data={"csrf": token, "text": "Nee, hij staat er niet in."})
    assert r.status_code == 302
    d = queries.ticket_detail(pdesk, OPERATOR, n["jan"])
    assert d["status"] == "open"
    assert d["messages"][-1]["direction"] == "in" and d["messages"][-1]["from"] == "jan@bakkerij-jansen.nl"
    actions_seen = [(e["actor"], e["action"]) for e in d["events"]][-3:]
    assert ("customer:jan@bakkerij-jansen.nl", "reopened") in actions_seen
    assert ("customer:jan@bakkerij-jansen.nl", "portal") in actions_seen
    code, html = page(client, f"/portal/tickets/{n['jan']}")
    assert "Nee, hij staat er niet in." in html


def test_solved_closes_and_not_solved_reopens(pdesk, app):
    n = seed(pdesk)
    second = intake.ingest_raw(pdesk, mail(92, "jan@bakkerij-jansen.nl", "Tweede vraag", "Hallo"), "t").ticket
    for number in (n["jan"], second):
        actions.resolve(pdesk, who(pdesk, "sanne"), number, "Gedaan.")
    client = open_portal(app, link_in(pdesk, "jan@bakkerij-jansen.nl", "resolved"))
    code, html = page(client, f"/portal/tickets/{n['jan']}")
    assert 'id="solved"' in html and 'id="not-solved"' in html
    token = csrf_of(html)
    assert client.post(f"/portal/tickets/{n['jan']}/decide", data={"csrf": token, "solved": "1"}).status_code == 302
    assert client.post(f"/portal/tickets/{second}/decide", data={"csrf": token, "solved": "0"}).status_code == 302
    first, other = (queries.ticket_detail(pdesk, OPERATOR, x) for x in (n["jan"], second))
    assert first["status"] == "closed" and first["events"][-1]["action"] == "confirmed"
    assert other["status"] == "open" and other["events"][-1]["action"] == "reopened"
    assert other["events"][-1]["actor"] == "customer:jan@bakkerij-jansen.nl"
    # a ticket that is not resolved has no such question
    code, html = page(client, f"/portal/tickets/{second}")
    assert 'id="solved"' not in html
    assert client.post(f"/portal/tickets/{second}/decide", data={"csrf": token, "solved": "1"}).status_code == 400


@pytest.mark.parametrize("kind,words,owner", [("invoice", "Het bedrag klopt niet.", "ruud"),
                                              ("complaint", "Het is de tweede keer.", None),
                                              ("technical", "Ik kan niets uploaden.", "wim"),
                                              ("question", "Wat kost een banner?", None)])
def test_a_new_request_is_routed_by_the_rules_and_acknowledged(pdesk, app, kind, words, owner):
    seed(pdesk)
    client = open_portal(app, link_in(pdesk, "jan@bakkerij-jansen.nl"))
    token = csrf_of(page(client, "/portal/new")[1])
    r = client.post("/portal/new", data={"csrf": token, "kind": kind, "subject": "Mijn verzoek", "text": words,
                                         "files": [(io.BytesIO(PDF), "bijlage.pdf", "application/pdf")]},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    number = int(r.headers["Location"].rsplit("/", 1)[1])
    d = queries.ticket_detail(pdesk, OPERATOR, number)
    assert d["kind"] == kind and d["contact"] == "jan@bakkerij-jansen.nl" and d["customer"] == "Bakkerij Jansen"
    if owner:
        assert d["owner"] == owner
    assert d["messages"][0]["attachments"][0]["name"] == "bijlage.pdf"
    assert any(e["action"] == "routed" for e in d["events"])
    with pdesk.sessions() as s:
        assert s.scalars(select(Outbox).where(Outbox.ticket_id == number, Outbox.purpose == "ack")).one()
    code, html = page(client, f"/portal/tickets/{number}")
    assert code == 200 and "Mijn verzoek" in html


def test_asking_for_a_link_tells_nobody_whether_the_address_is_known(pdesk, app):
    seed(pdesk)
    client = app.test_client()
    answers = []
    for email in ("jan@bakkerij-jansen.nl", "nobody@nowhere.example"):
        token = csrf_of(page(client, "/portal/?lang=en")[1])
        r = client.post("/portal/link?lang=en", data={"csrf": token, "email": email})
        answers.append((r.status_code, r.get_data(as_text=True).replace(token, "")))
    assert answers[0] == answers[1] and answers[0][0] == 200
    with pdesk.sessions() as s:
        sent = s.scalars(select(Outbox).where(Outbox.purpose == "portal-link")).all()
    assert [m.to_addr for m in sent] == ["jan@bakkerij-jansen.nl"]
    assert page(open_portal(app, LINK.search(sent[0].body_text).group(1)))[0] == 200
    # rate-limited per address
    codes = []
    for _ in range(4):
        token = csrf_of(page(client)[1])
        codes.append(client.post("/portal/link", data={"csrf": token, "email": "olga@drukkerij-oost.nl"}).status_code)
    assert codes == [200, 200, 200, 429]


def test_a_robots_address_gets_no_portal_link(pdesk, app):
    """A web form's mail comes from noreply@ with the customer in Reply-To: the ticket's
    contact is the robot. Whoever holds that domain must not read, through the portal, the
    tickets of the customers it named, nor their answers."""
    raw = (b"From: Formulier <noreply@forms.example>\r\nReply-To: jan@bakkerij-jansen.nl\r\n"
           b"To: support@desk.example\r\nSubject: Contactformulier\r\nMessage-ID: <f1@forms.example>\r\n\r\n"
           b"Naam: Jan Jansen\r\nVraag: wanneer verschijnt mijn advertentie?\r\n")
    assert intake.ingest_raw(pdesk, raw, "t").status == "created"
    client = app.test_client()
    for email in ("noreply@forms.example", "jan@bakkerij-jansen.nl"):
        token = csrf_of(page(client, "/portal/?lang=en")[1])
        assert client.post("/portal/link?lang=en", data={"csrf": token, "email": email}).status_code == 200
    with pdesk.sessions() as s:
        sent = s.scalars(select(Outbox).where(Outbox.purpose == "portal-link")).all()
    assert [m.to_addr for m in sent] == ["jan@bakkerij-jansen.nl"]


def test_the_portal_speaks_the_customers_language(pdesk, app):
    intake.ingest_raw(pdesk, mail(1, "zeger@hotelzee.nl", "Wypowiedzenie umowy?",
                                  "Dzień dobry, nie działa nam strona internetowa, proszę o pomoc."), "t")
    code, html = page(open_portal(app, link_in(pdesk, "zeger@hotelzee.nl")))
    assert code == 200 and 'lang="pl"' in html and "Nowe zgłoszenie" in html
    code, html = page(app.test_client(), "/portal/?lang=de")
    assert 'lang="de"' in html and "Link zusenden" in html


def test_the_command_line_revokes_links_and_makes_admins(cli, cli_env, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TICKETBOT_WEB_URL", BASE)
    csv_path = tmp_path / "klanten.csv"
    csv_path.write_text("company,domains,advisor,website_access,contact_name,contact_email,contact_phone,"
                        "portal_admin\nBakkerij Jansen,bakkerij-jansen.nl,,,Jan,jan@bakkerij-jansen.nl,,yes\n",
                        encoding="utf-8")
    assert cli("import", "customers", str(csv_path))[0] == 0
    eml = tmp_path / "vraag.eml"
    eml.write_bytes(mail(1, "jan@bakkerij-jansen.nl", "Vraag", "Hallo"))
    cli.ingest(eml)
    [row] = cli.json("portal", "list")
    assert (row["email"], row["portal_admin"], row["link"]) == ("jan@bakkerij-jansen.nl", True, "active")
    desk = open_desk(Settings.from_env(), clock=lambda: START)
    token = link_in(desk, "jan@bakkerij-jansen.nl")
    assert portal.redeem(desk, token) is not None
    rc, out, _ = cli("portal", "revoke", "jan@bakkerij-jansen.nl")
    assert rc == 0 and "revoked" in out
    assert portal.redeem(desk, token) is None
    assert cli.json("portal", "list")[0]["link"] == "revoked"
    assert cli("portal", "revoke", "nobody@nowhere.example")[0] == 2
    assert cli("portal", "admin", "jan@bakkerij-jansen.nl", "no")[0] == 0
    assert cli.json("portal", "list")[0]["portal_admin"] is False
