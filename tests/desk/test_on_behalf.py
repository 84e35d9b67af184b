"""Requests that reach a colleague first (issue 14): a customer's mail forwarded to the
desk by a person in rules.yaml is the customer's ticket. Through the real SMTP server,
the spool and the ingest pipeline; the acknowledgement goes out through the real outbox
sender to the SMTP sink."""

from __future__ import annotations

import email
import email.policy
import smtplib

import pytest
from sqlalchemy import select

from bot.adapters.smtp_in import IntakeHandler, IntakeServer
from bot.adapters.smtp_out import SMTPTransport
from bot.config import MailServerURL
from bot.core.domain import InboundMessage
from bot.core.mail.forwarded import Forwarded
from bot.delivery.outbox import OutboxSender
from bot.desk import intake
from bot.desk.pipeline import Pipeline
from bot.store.models import Company, Event, Outbox, Ticket
from tests.conftest import MAIL_FIXTURES
from tests.support.servers import free_port
from tests.support.sink import Sink

FORWARDED = MAIL_FIXTURES / "forwarded"


class Rig:
    def __init__(self, desk, smtp: IntakeServer, sink: Sink):
        self.desk, self.smtp, self.sink = desk, smtp, sink
        self.sender = OutboxSender(desk.settings, desk.uow, {
            "mail": SMTPTransport(MailServerURL.parse("SMTP_URL", sink.url), timeout=5)})

    def mail(self, name: str) -> int:
        raw = (FORWARDED / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        with smtplib.SMTP("127.0.0.1", self.smtp.port, timeout=10) as c:
            c.sendmail("colleague@desk.example", ["support@desk.example"], raw)
        results = Pipeline(self.desk, workers=1).process_spool()
        assert len(results) == 1 and results[0].ticket is not None, results
        return results[0].ticket

    def ticket(self, n: int) -> Ticket:
        with self.desk.sessions() as s:
            t = s.get(Ticket, n)
            assert t is not None
            for m in t.messages:  # loaded while the session is open
                m.attachments  # noqa: B018
            t.watchers, t.events  # noqa: B018
            return t

    def outbox(self, n: int, purpose: str) -> list[Outbox]:
        with self.desk.sessions() as s:
            return list(s.scalars(select(Outbox).where(Outbox.ticket_id == n,
                                                      Outbox.purpose == purpose)))

    def delivered_to(self, addr: str) -> list[email.message.EmailMessage]:
        self.sender.run_once(self.desk.clock())
        return [email.message_from_bytes(r.data, policy=email.policy.default)
                for r in self.sink.handler.received if addr in r.rcpt_tos]


@pytest.fixture
def rig(desk):
    handler = IntakeHandler(lambda raw, source: intake.spool(desk, raw, source),
                            frozenset({"desk.example"}))
    server = IntakeServer(handler, "127.0.0.1", free_port(), max_size=1_000_000)
    server.start()
    with Sink() as sink:
        yield Rig(desk, server, sink)
    server.stop()


def test_a_forwarded_outlook_mail_is_the_customers_ticket_and_they_are_acknowledged(rig):
    n = rig.mail("outlook_nl.eml")
    t = rig.ticket(n)
    assert (t.contact_email, t.contact_name, t.customer) == (
        "jan@bakkerij-jansen.nl", "Jan Jansen", "Bakkerij Jansen")
    assert t.subject == "Factuur 2026-114 klopt niet" and t.reply_to is None
    assert "sanne" in [w.person for w in t.watchers] or t.owner == "sanne"
    behalf = [e for e in t.events if e.action == "on-behalf"]
    assert [(e.actor, e.detail["source"], e.detail["ack"]) for e in behalf] == [
        ("sanne", "forward:outlook", True)]
    assert behalf[0].reason.startswith("Kwam bij mij binnen")
    customer_msg = next(m for m in t.messages if m.direction == "in")
    assert customer_msg.from_addr == "jan@bakkerij-jansen.nl"
    assert customer_msg.text.startswith("Beste Sanne,")
    assert [a.filename for a in customer_msg.attachments] == ["factuur-2026-114.pdf"]
    acks = rig.delivered_to("jan@bakkerij-jansen.nl")
    assert len(acks) == 1 and f"[TB-{n}]" in acks[0]["Subject"]
    assert not rig.delivered_to("sanne@desk.example") or all(
        "[TB-" in m["Subject"] for m in rig.delivered_to("sanne@desk.example"))


def test_a_forwarded_gmail_mail_is_the_customers_ticket_and_they_are_acknowledged(rig):
    n = rig.mail("gmail_en.eml")
    t = rig.ticket(n)
    assert (t.contact_email, t.customer, t.subject) == (
        "olga@drukkerij-oost.nl", "Drukkerij Oost", "Website login does not work")
    assert "marta" in [w.person for w in t.watchers] or t.owner == "marta"
    acks = rig.delivered_to("olga@drukkerij-oost.nl")
    assert len(acks) == 1 and "Website login does not work" in acks[0]["Subject"]


def test_noack_in_the_forward_keeps_the_acknowledgement_back(rig):
    n = rig.mail("outlook_en.eml")
    t = rig.ticket(n)
    assert t.contact_email == "zeger@hotelzee.nl" and t.customer == "Hotel Zee"
    assert rig.outbox(n, "ack") == []
    skipped = [e.reason for e in t.events if e.action == "ack-skipped"]
    assert skipped == ["rob asked that the customer gets no acknowledgement"]
    assert rig.delivered_to("zeger@hotelzee.nl") == []


def test_a_forwarded_appointment_goes_to_the_customers_advisor(rig):
    n = rig.mail("apple_mail.eml")
    t = rig.ticket(n)
    assert (t.contact_email, t.customer, t.kind) == ("zeger@hotelzee.nl", "Hotel Zee", "appointment")
    assert t.owner == "pieter"  # Hotel Zee's advisor (rules.yaml: appointment, assign: advisor)
    assert [r.to_addr for r in rig.outbox(n, "new-ticket")] == ["pieter@desk.example"]
    assert "sanne" in [w.person for w in t.watchers]


@pytest.mark.parametrize("name, customer", [
    ("outlook_nl.eml", "jan@bakkerij-jansen.nl"), ("outlook_en.eml", "zeger@hotelzee.nl"),
    ("gmail_en.eml", "olga@drukkerij-oost.nl"), ("gmail_nl.eml", "piet@klant-bv.nl"),
    ("apple_mail.eml", "zeger@hotelzee.nl"), ("thunderbird.eml", "ann@buyer-gmbh.example"),
    ("outlook_pl.eml", "tomasz@nowak-sp.pl"), ("gmail_de.eml", "klaus@kunde-gmbh.de"),
    ("outlook_attached.eml", "jan@bakkerij-jansen.nl"),
])
def test_every_mail_programs_forward_is_the_original_senders_ticket(rig, name, customer):
    t = rig.ticket(rig.mail(name))
    assert t.contact_email == customer
    with rig.desk.sessions() as s:  # the desk's own domain never became a company
        assert s.scalar(select(Company).where(Company.name == "desk.example")) is None


def test_the_same_forward_delivered_twice_is_one_ticket(desk):
    raw = (FORWARDED / "gmail_nl.eml").read_bytes()
    first = intake.ingest_raw(desk, raw, "imap:1")
    again = intake.ingest_raw(desk, raw.replace(b"Subject:", b"X-Relay: 2\nSubject:", 1), "imap:2")
    assert (first.status, again.status) == ("created", "duplicate")


def test_a_colleagues_own_mail_is_no_prospect_company(desk):
    raw = (b"From: Sanne Jansen <sanne@desk.example>\nTo: support@desk.example\n"
           b"Subject: Printer on the second floor\nMessage-ID: <own-1@desk.example>\n\n"
           b"The printer is broken again.\n")
    n = intake.ingest_raw(desk, raw, "t").ticket
    with desk.sessions() as s:
        t = s.get(Ticket, n)
        assert t.company_id is None and t.customer is None
        assert s.scalar(select(Company).where(Company.name == "desk.example")) is None
        routed = s.scalars(select(Event).where(Event.ticket_id == n, Event.action == "routed")).one()
        assert routed.detail["sender"] == "desk"


def test_a_forwarded_customer_mail_is_read_by_the_customers_words_not_their_quotes():
    """A colleague forwards a customer's English reply that quotes our Dutch mail: the
    ticket's language is English (bot/desk/intake.py, the on-behalf path)."""
    text = ("Thanks, please send the invoice to our accounts department, we never got it.\n\n"
            "Op 3 nov. 2026 om 10:00 schreef Support <support@desk.example>:\n"
            "> Beste klant, hierbij sturen wij u de factuur van oktober. Wij hebben de betaling\n"
            "> nog niet ontvangen en vragen u deze zo snel mogelijk te voldoen. Met vriendelijke\n"
            "> groet, het team van de administratie. Wilt u ons laten weten wanneer u betaalt?\n")
    fwd = Forwarded(from_addr="olga@klant.example", from_name="Olga", subject="Factuur oktober", text=text,
                    note="", style="gmail")
    msg = intake._as_customer(InboundMessage(from_addr="sanne@desk.example", language="nl"), fwd)
    assert msg.visible_text.startswith("Thanks") and "Beste klant" not in msg.visible_text
    assert msg.language == "en"


def test_a_forwarded_mail_surely_in_another_language_is_answered_in_english():
    """A Dutch colleague forwards an Italian customer's mail: the customer's language is
    none of the desk's, so not the colleague's Dutch either (English, issue 13)."""
    fwd = Forwarded(from_addr="marco@ditta.example", from_name="Marco", subject="Fattura",
                    text="Buongiorno, vorrei sapere quando arriverà la fattura del mese scorso. Cordiali saluti",
                    note="", style="gmail")
    msg = intake._as_customer(InboundMessage(from_addr="sanne@desk.example", language="nl"), fwd)
    assert (msg.language, msg.other_language) == (None, "it")
