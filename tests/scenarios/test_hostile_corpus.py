"""Hostile mail end to end (issue 10): every mail of tests/fixtures/hostile (written by its
build.py) goes through both real entry points, and each must come out exactly as the table
below says.

* ``smtp``: the inbound SMTP server (IntakeServer/IntakeHandler on 127.0.0.1, fed by
  smtplib), which spools the bytes; the pipeline then turns the spool into tickets, as the
  worker's spool loop does (the mails of a case in one batch);
* ``ingest``: ``ticketbot ingest`` semantics, ``intake.ingest_raw`` one mail at a time (and
  the command itself once, below).

Passes: ingest on SQLite and on PostgreSQL, SMTP on SQLite. Each pass has one desk (the
shipped rules, the shared directory, Slack configured so root posts and DMs are queued) with
three tickets made before any case (build.VICTIMS). The cases share it, so each case writes
from its own addresses and moves the desk's clock on by two hours first: the hourly flood
and notice caps and the 24-hour acknowledgement limit of one case never meet another's.

After each case, every invariant is checked as well as the case's own outcome: no exception
escaped, the raw bytes of every mail taken in are kept, every Slack payload queued shows
customer text only escaped, every mail the outbox sends (through the real SMTP transport to
a sink) has only our headers and goes only to the ticket's own contact or to staff, and the
next ordinary mail is processed as usual.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import re
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.adapters.rules_file import load_rules
from bot.adapters.smtp_in import IntakeHandler, IntakeServer
from bot.adapters.smtp_out import SMTPTransport
from bot.config import MailServerURL
from bot.core.mail.prepare import IngestResult
from bot.delivery.outbox import OutboxSender
from bot.desk import customer_csv, intake, queries
from bot.desk.context import Desk
from bot.desk.pipeline import Pipeline
from bot.store.migrate import upgrade
from bot.store.models import Outbox, RawMail, Spool, Ticket, make_engine, make_sessionmaker
from tests.conftest import CONTRACTS, CUSTOMERS, FIXTURES, HANG, OPERATOR, RULES, START, Clock, make_settings
from tests.scenarios.test_cli import CLI
from tests.support.servers import free_port
from tests.support.sink import Sink

HOSTILE = FIXTURES / "hostile"
TEAM = "C0DESK0001"
DESK = "support@desk.example"
PASSES = ("ingest-sqlite", "ingest-postgres", "smtp-sqlite")


def _build_module():
    spec = importlib.util.spec_from_file_location("hostile_build", HOSTILE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build_module()


def corpus(case: str) -> list[tuple[str, bytes]]:
    """(file name, bytes) of the case's mails, in the order they are sent."""
    found = [p for p in HOSTILE.iterdir() if re.fullmatch(re.escape(case) + r"(\.\d+)?\.eml(\.gz)?", p.name)]
    found.sort(key=lambda p: int(p.name.split(".")[1]) if p.name.split(".")[1].isdigit() else 0)
    return [(p.name, gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()) for p in found]


# ------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Case:
    """What a case must come to. `statuses`: the intake's answer per mail; `tickets`: new
    tickets it makes; contact/kind/subject/name: of its first new ticket, as staff see
    them; `acks`: acknowledgements queued; `reason`: the intake's reason for the last mail
    (ignored, quarantined); `smtp`: the SMTP server refuses every mail of the case with
    this code (nothing is stored); `slack`: escaped text some Slack payload must carry;
    `untouched`: tickets the case must leave exactly as they were; `check`: more."""

    statuses: tuple[str, ...] = ("created",)
    tickets: int = 1
    contact: str | None = None
    kind: str = "question"
    subject: str | None = None
    name: str | None = None
    acks: int = 1
    reason: str | None = None
    smtp: int | None = None
    slack: tuple[str, ...] = ()
    untouched: tuple[int, ...] = ()
    linked: int | None = None
    envelope: str = "sender@hostile.example"
    check: Callable[[Outcome], None] | None = None


@dataclass
class Outcome:
    rig: Rig
    results: list[IngestResult]
    tickets: list[dict[str, Any]]  # ticket_detail of each new ticket
    outbox: list[Outbox]  # rows queued by the case
    sent: dict[str, Any]  # Message-ID -> the parsed mail the sink received

    def rows(self, purpose: str) -> list[Outbox]:
        return [o for o in self.outbox if o.purpose == purpose]

    def detail(self, n: int) -> dict[str, Any]:
        d = queries.ticket_detail(self.rig.desk, OPERATOR, n)
        assert d is not None
        return d


def _first_in(o: Outcome) -> dict[str, Any]:
    return next(m for m in o.tickets[0]["messages"] if m["direction"] == "in")


def _events(d: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [e for e in d["events"] if e["action"] == action]


def _ack_sent(o: Outcome):
    [ack] = o.rows("ack")
    return o.sent[ack.message_id]


def check_urgent(o: Outcome) -> None:
    assert o.tickets[0]["urgent"] is True  # "*URGENT*" is the urgent rule's word, escaped or not


def check_thread_post(o: Outcome) -> None:
    posts = o.rows("slack-customer")
    assert len(posts) == 1
    post = posts[0]
    text = json.loads(post.payload)["args"]["text"]
    assert text.startswith("*Tia Thread* schreef:\n>>> Nog iets:")
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U0SANNE01&gt; &lt;http://evil.example|click here&gt;" in text


def check_cancellation_ack(o: Outcome) -> None:
    [ack] = o.rows("ack")
    assert ack.template == "ack-cancellation"
    assert o.tickets[0]["rule"] == "written-cancellation"


def check_not_mailed(o: Outcome) -> None:
    """Queued, but the SMTP transport refuses an address with an invisible character."""
    [ack] = o.rows("ack")
    assert ack.status == "failed" and "invisible characters" in (ack.last_error or "")
    assert ack.message_id not in o.sent


def check_attachment(name: str, size: int | None = None) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        [att] = _first_in(o)["attachments"]
        assert att["name"] == name
        if size is not None:
            assert att["size"] == size
    return check


def check_to_cc(o: Outcome) -> None:
    m = _first_in(o)
    assert (m["to"], m["cc"]) == (DESK, "cc@k2.example, copy@k2.example")


def check_no_sender(o: Outcome) -> None:
    [skipped] = _events(o.tickets[0], "ack-skipped")
    assert skipped["reason"] == "no sender address"


def check_ack_subject(subject: str) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        mail = _ack_sent(o)
        # (a value longer than a line is folded onto the next: unfolded it starts with a space)
        assert mail["Subject"].strip() == f"Re: {o.tickets[0]['tag']} {subject}"
        assert mail["Thread-Topic"].strip() == subject
    return check


def check_forged_staff(o: Outcome) -> None:
    d = o.detail(3)
    assert d["status"] == "new"  # the forged #resolve did not run
    [refused] = _events(d, "staff-mail-refused")
    assert refused["detail"] == {"command": "#resolve", "from": "sanne"}
    assert [(r.channel, r.to_addr) for r in o.outbox] == [("slack", "U0SANNE01")]  # only she is told


def check_bounced(o: Outcome) -> None:
    assert o.results[-1].ticket == 2 and o.detail(2)["bounced"] is True


def check_delay_noted(o: Outcome) -> None:
    assert _events(o.detail(2), "delivery-report")


def check_no_ack_because(reason: str) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        [skipped] = _events(o.tickets[0], "ack-skipped")
        assert skipped["reason"] == f"automatic mail ({reason})"
    return check


def check_clash(o: Outcome) -> None:
    assert any("Message-ID clash" in w for w in o.results[0].warnings)
    assert _first_in(o)["message_id"] is None  # someone else's id: never a key to thread by


def check_reply_after_clash(o: Outcome) -> None:
    first, clash = o.tickets
    assert clash["contact"] == "mallory@clash3-evil.example" and clash["linked_ticket"] is None
    assert o.results[2].ticket == first["number"]


def check_long_id(o: Outcome) -> None:
    stored = _first_in(o)["message_id"]
    assert stored.startswith("sha256 ") and len(stored) == 71
    assert o.results[1].ticket == o.results[0].ticket


def check_text(*wanted: str, absent: tuple[str, ...] = (), warning: str | None = None) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        m = _first_in(o)
        for w in wanted:
            assert w in m["full_text"], w
        for a in absent:
            assert a not in m["full_text"].lower(), a
        if warning is not None:
            assert warning in m["warnings"]
    return check


def check_deep(o: Outcome) -> None:
    check_text("Laag 1.")(o)
    [att] = _first_in(o)["attachments"]
    assert (att["name"], att["type"]) == ("Laag 3.eml", "message/rfc822")


def check_template(o: Outcome) -> None:
    literal = "{{ 7*7 }} {% for x in range(3) %}{{ x }}{% endfor %} {{ config }}"
    [ack] = o.rows("ack")
    assert _ack_sent(o)["Subject"].strip() == f"Re: {o.tickets[0]['tag']} {literal}"
    assert f'"{literal}"' in ack.body_text and "{{ 7*7 }} {% for x in range(3) %}" in (ack.body_html or "")
    [notice] = o.rows("new-ticket")
    assert "{{ self.__init__.__globals__ }} {% raw %}x{% endraw %} {# c #}" in notice.body_text


def check_template_name(o: Outcome) -> None:
    [ack] = o.rows("ack")
    assert "{{ 7*7 }} {%- if true %}Eve{% endif %}," in ack.body_text.splitlines()[0]
    assert "Tekst {{ person.email }} {% include 'x' %}" in o.rows("new-ticket")[0].body_text


def check_flood(o: Outcome) -> None:
    flood = o.tickets[20]
    assert flood["category"] == "flood" and _events(flood, "flood")
    assert {r.ticket for r in o.results[20:]} == {flood["number"]}
    assert len([m for m in flood["messages"] if m["direction"] == "in"]) == 10
    assert all(t["category"] is None for t in o.tickets[:20])


def check_idn(o: Outcome) -> None:
    mail = _ack_sent(o)
    assert _utf8(mail["To"].addresses[0].addr_spec) == "jörg@müller.de"
    assert "jörg@müller.de".encode() in mail.as_bytes(policy=policy.SMTPUTF8)


def check_long_name(o: Outcome) -> None:
    assert o.tickets[0]["contact_name"] == ("Naam " * 60)[:200]  # cut at the column's width


CASES: dict[str, Case] = {
    # -- Slack mrkdwn in every field -----------------------------------------------
    "slack-subject": Case(contact="sam@slack1.example",
                          subject="<!channel> <!here> <@U0SANNE01> <http://evil.example|click here> *bold* &lt; "
                                  "*URGENT*",
                          slack=("&lt;!channel&gt; &lt;!here&gt; &lt;@U0SANNE01&gt; "
                                 "&lt;http://evil.example|click here&gt; *bold* &amp;lt; *URGENT*",),
                          check=check_urgent),
    "slack-from-name": Case(contact="name@slack2.example",
                            name="<!channel> <@U0SANNE01> <http://evil.example|Sanne> *bold* &lt;",
                            slack=("&lt;!channel&gt; &lt;@U0SANNE01&gt; &lt;http://evil.example|Sanne&gt; "
                                   "*bold* &amp;lt;",)),
    "slack-from-encoded": Case(contact="enc@slack3.example", name="<!here> <!channel> *Baas*",
                               slack=("&lt;!here&gt; &lt;!channel&gt; *Baas*",)),
    "slack-body": Case(contact="body@slack4.example",
                       slack=("&lt;!channel&gt; &lt;!here&gt; &lt;@U0SANNE01&gt; "
                              "&lt;http://evil.example|click here&gt; *bold* &amp;lt;",
                              "&lt;mailto:x@evil.example|mail mij&gt;")),
    "slack-attachment": Case(contact="att@slack5.example",
                             slack=("&lt;!channel&gt; &lt;!here&gt; &lt;@U0SANNE01&gt; "
                                    "&lt;mailto:x@evil.example|klik&gt; *bold* &amp;lt;.pdf",),
                             check=check_attachment("<!channel> <!here> <@U0SANNE01> "
                                                    "<mailto:x@evil.example|klik> *bold* &lt;.pdf")),
    "slack-html-entities": Case(contact="html@slack6.example",
                                slack=("&lt;!channel&gt; &lt;!here&gt; &lt;@U0SANNE01&gt; "
                                       "&lt;http://evil.example|klik&gt;",)),
    "slack-thread-reply": Case(statuses=("created", "appended"), contact="thread@slack7.example",
                               check=check_thread_post),
    # -- look-alike and invisible characters -----------------------------------------
    "homoglyph-name": Case(contact="sanne@desk-example.com", name="\u0405anne Jansen", subject="Vraag van \u0405anne"),
    "bidi-subject": Case(contact="bidi@inv1.example", kind="invoice", subject="Factuur fdp.exe bijgevoegd x"),
    "bidi-name": Case(contact="bidiname@inv2.example", name="nasnaJ naJ"),
    "zero-width-subject-cancel": Case(contact="receptie@hotelzee.nl", kind="cancellation", subject="Opzegging",
                                      check=check_cancellation_ack),
    "zero-width-body-cancel": Case(contact="piet@bakkerij-jansen.nl", kind="cancellation", subject="Ons contract",
                                   check=check_cancellation_ack),
    "zero-width-name": Case(contact="zw@inv5.example", name="Jan Jansen", subject="Levering gemist"),
    "invisible-address": Case(contact="info\u200b@inv6.example", check=check_not_mailed),
    "rtl-attachment": Case(contact="rtlo@inv7.example", slack=("invoicefdp.exe",),
                           check=check_attachment("invoicefdp.exe")),
    # -- encoded words where addresses are ----------------------------------------------
    "encoded-from-bcc": Case(contact="c@k.nl", name="Evil Bcc: x@evil.com"),
    "encoded-to-cc": Case(contact="sender@k2.example", check=check_to_cc),
    "encoded-addr-only": Case(contact=None, name=None, acks=0, check=check_no_sender),
    # -- header injection -------------------------------------------------------------------
    "crlf-subject-q": Case(contact="crlf@inj1.example", subject="Hallo Bcc: victim@evil.com X-Injected: yes",
                           check=check_ack_subject("Hallo Bcc: victim@evil.com X-Injected: yes")),
    "crlf-subject-b": Case(contact="crlf@inj2.example",
                           subject="Vraag <html>injected body</html> Content-Type: text/html",
                           check=check_ack_subject("Vraag <html>injected body</html> Content-Type: text/html")),
    "crlf-name": Case(contact="eve@inj3.example", name="Eve X-Injected: yes Bcc: v@evil.com"),
    # -- someone else's ticket --------------------------------------------------------------
    "hijack-tag": Case(contact="mallory@hijack1.example", kind="invoice", subject="Factuur klopt niet",
                       linked=1, untouched=(1,)),
    "hijack-references": Case(contact="mallory@hijack2.example", kind="invoice", subject="Factuur klopt niet",
                              linked=1, untouched=(1,)),
    "hijack-lookalike": Case(contact="jan@bakkerij-jansen.nl.hijack3.example", name="Jan Jansen", kind="invoice",
                             linked=1, untouched=(1,)),
    "hijack-display-spoof": Case(contact="mallory@hijack4.example", name="jan@bakkerij-jansen.nl", kind="invoice",
                                 linked=1, untouched=(1,)),
    "forged-staff-command": Case(statuses=("appended",), tickets=0, acks=0, check=check_forged_staff),
    "tag-huge-number": Case(contact="tagger@tag1.example", subject="Vraag", linked=None),
    # -- delivery reports ---------------------------------------------------------------------
    "dsn-failed-unknown": Case(statuses=("ignored",), tickets=0, acks=0, reason="bounce for unknown mail",
                               envelope=""),
    "dsn-failed-known": Case(statuses=("appended",), tickets=0, acks=0, envelope="", check=check_bounced),
    "dsn-delayed": Case(statuses=("ignored",), tickets=0, acks=0, reason="delivery-status report", envelope="",
                        check=check_delay_noted),
    "dsn-relayed": Case(statuses=("ignored",), tickets=0, acks=0, reason="delivery-status report", envelope=""),
    "dsn-delivered": Case(statuses=("ignored",), tickets=0, acks=0, reason="delivery-status report", envelope=""),
    "dsn-disguised": Case(statuses=("ignored",), tickets=0, acks=0, reason="delivery-status report", envelope=""),
    "bounce-nonstandard": Case(statuses=("ignored",), tickets=0, acks=0, reason="bounce for unknown mail",
                               envelope=""),
    "delay-nonstandard": Case(statuses=("ignored",), tickets=0, acks=0, reason="delivery-status report",
                              envelope=""),
    # -- automatic mail: a ticket, no acknowledgement -------------------------------------------
    "null-sender-plain": Case(contact="null@auto0.example", acks=0, envelope="", kind="remark",
                              check=check_no_ack_because("null-return-path")),
    "auto-submitted": Case(contact="ooo@auto1.example", subject="Automatisch antwoord: Vraag", acks=0, kind="remark",
                           check=check_no_ack_because("auto-submitted: auto-replied")),
    "x-autoreply": Case(contact="ar@auto2.example", subject="Vraag", acks=0, kind="remark",
                        check=check_no_ack_because("x-autoreply")),
    "precedence-bulk": Case(contact="news@auto3.example", subject="Nieuwsbrief november", acks=0, kind="remark",
                            check=check_no_ack_because("precedence: bulk")),
    "auto-submitted-no": Case(contact="person@auto4.example"),
    # -- Message-IDs ---------------------------------------------------------------------------
    "mid-clash-other-sender": Case(contact="clash@clash1.example", subject="Andere vraag", untouched=(3,),
                                   check=check_clash),
    "mid-clash-same-sender": Case(contact="zeger@hotelzee.nl", subject="Nog een vraag", untouched=(3,),
                                  check=check_clash),
    "mid-clash-then-reply": Case(
        statuses=("created", "created", "appended"), tickets=2, contact="first@clash3.example", subject="Levering",
        acks=2,
        check=check_reply_after_clash),
    "mid-2000": Case(statuses=("created", "duplicate"), contact="longid@mid1.example", smtp=500,
                     check=check_long_id),
    "no-message-id": Case(statuses=("created", "duplicate"), contact="noid@mid2.example"),
    # -- structure and size ----------------------------------------------------------------------
    "deep-nesting": Case(contact="deep@deep.example", subject="Laag 1", check=check_deep),
    "deep-multipart": Case(contact="mix@deep2.example", subject="Genest",
                           check=check_text("Bovenste tekst.", warning="MIME: nesting too deep, rest ignored")),
    "parts-10000": Case(contact="parts@big1.example", subject="Veel delen",
                        check=check_text("Tienduizend delen.", "deel 1\n", "deel 9999")),
    "references-500k": Case(contact="refs@big6.example", subject="Vraag", linked=2, untouched=(2,)),
    "zip-bomb": Case(contact="zip@big2.example", subject="Backup",
                     check=check_attachment("backup.zip", 15 * 1024 * 1024)),
    "subject-keyword-past-limit": Case(
        contact="longsubj@big7.example", subject=("Vraag " + "woord " * 12_000)[:2000].strip()),
    "headers-5000": Case(contact="headers@big4.example", subject="Vraag over levering"),
    "line-5mb": Case(contact="line@big5.example", subject="Lange regel", smtp=500,
                     check=check_text("Begin\nlorem ipsum", "amet lorem")),
    "nul-bytes": Case(contact="nul@nul1.example", subject="Vraag met NUL", name="Nul Name",
                      check=check_text("Tekst metNUL.")),
    "invalid-base64": Case(contact="b64@enc1.example", subject="Kapotte codering", kind="technical"),  # "kapot"
    "unknown-charset": Case(contact="charset@enc2.example", subject="Café vraag", name="Zoë",
                            check=check_text("Zoë en één € 5")),
    "binary-garbage": Case(statuses=("quarantined",), tickets=0, acks=0,
                           reason="unreadable: binary data without mail headers"),
    "binary-body": Case(contact="binary@bin2.example", subject="Bijlage"),
    "broken-mime": Case(contact="broken@bin3.example", subject="Kapotte MIME", kind="technical"),
    # -- template injection ------------------------------------------------------------------------
    "template-subject": Case(contact="tpl@tpl1.example",
                             subject="{{ 7*7 }} {% for x in range(3) %}{{ x }}{% endfor %} {{ config }}",
                             check=check_template),
    "template-name": Case(contact="tpl@tpl2.example", name="{{ 7*7 }} {%- if true %}Eve{% endif %}",
                          subject="Vraag {{ tag }}", check=check_template_name),
    # -- HTML -------------------------------------------------------------------------------------------
    "html-script-hidden": Case(contact="html@html1.example", subject="Vraag",
                               check=check_text("Wat zijn jullie openingstijden?", "klik hier",
                                                absent=("opzeg", "klacht", "javascript", "alert"))),
    "html-hidden-variants": Case(contact="html@html2.example", subject="Vraag",
                                 check=check_text("Een algemene vraag.",
                                                  absent=("factuur", "wachtwoord", "afspraak", "klacht", "opzeg"))),
    "html-style-block-hidden": Case(
        contact="html@html3.example", subject="Vraag", check=check_text("Een algemene vraag.", absent=("opzeg",))),
    "html-alt-hidden": Case(contact="html@html4.example", subject="Vraag",
                            check=check_text("Een algemene vraag over openingstijden.", absent=("opzeg",))),
    "html-entity-twice": Case(
        contact="entity@html5.example", subject="Vraag", check=check_text("Schrijf &lt;b&gt; en &amp; zo.")),
    # -- flood -------------------------------------------------------------------------------------------
    "flood": Case(statuses=("created",) * 21 + ("appended",) * 9, tickets=21, contact="flood@flood.example",
                  subject="Vraag 1", acks=5, check=check_flood),
    # -- internationalised addresses --------------------------------------------------------------------
    "idn-utf8": Case(contact="jörg@müller.de", name="Jörg Müller", subject="Frage zur Lieferung",
                     envelope="jörg@müller.de", check=check_idn),
    "idn-punycode": Case(contact="jorg@xn--mller-kva.de", name="Jörg Müller"),
    # -- more ---------------------------------------------------------------------------------------------
    "own-address-spoof": Case(statuses=("ignored",), tickets=0, acks=0, reason="own address"),
    "long-display-name": Case(contact="longname@len1.example", check=check_long_name),
    # longer than any address can be (RFC 5321: 254): no address, so no contact and no ack
    "long-address": Case(contact=None, name="Lang", acks=0),
    "long-content-type": Case(contact="longtype@len3.example",
                              check=check_attachment("x.bin")),
    "long-auto-submitted": Case(contact="longauto@len4.example", acks=0, kind="remark"),
}
# a Slack payload may hold "<" only where the bot writes mrkdwn of its own: the mention of
# a ticket's owner and links to the desk's own pages
OWNER_FIELD = re.compile(r"\*(Owner|Eigenaar|Właściciel)\*\n<@U[0-9A-Z]+>")  # in the desk's language
OUR_HEADERS = {"from", "to", "subject", "date", "message-id", "in-reply-to", "references", "thread-index",
               "thread-topic", "auto-submitted", "x-auto-response-suppress", "x-loop", "content-language",
               "mime-version", "content-type", "content-transfer-encoding"}


# ------------------------------------------------------------------ the desks
@dataclass
class Rig:
    """One pass: a desk, its entry point, and the outbox delivering mail to a sink."""

    name: str
    desk: Desk
    sink: Sink
    sender: OutboxSender
    server: IntakeServer | None = None
    pipeline: Pipeline | None = None
    stored: threading.Event = field(default_factory=threading.Event)

    @property
    def smtp(self) -> bool:
        return self.server is not None

    def deliver(self, mails: list[tuple[str, bytes]], envelope: str) -> tuple[list[IngestResult], list[int]]:
        """Through this pass's entry point; (the intake's results, SMTP refusal codes)."""
        if not self.smtp:
            return [intake.ingest_raw(self.desk, raw, f"file:{name}") for name, raw in mails], []
        assert self.server is not None and self.pipeline is not None
        refused = []
        options = [] if envelope.isascii() else ["SMTPUTF8"]
        with smtplib.SMTP("127.0.0.1", self.server.port, timeout=HANG) as client:
            for _, raw in mails:
                self.stored.clear()
                try:
                    assert client.sendmail(envelope, [DESK], raw, mail_options=options) == {}
                except smtplib.SMTPDataError as exc:
                    refused.append(exc.smtp_code)
                    continue
                assert self.stored.is_set()  # committed to the spool before the 250
        results = self.pipeline.process_spool()
        with self.desk.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Spool)) == 0
        return results, refused


def _open_rig(name: str, url: str, tmp, request) -> Rig:
    upgrade(url)
    settings = make_settings(url, tmp, slack_bot_token="xoxb-hostile-corpus", slack_channel=TEAM,
                             parse_workers=2)
    engine = make_engine(url)
    request.addfinalizer(engine.dispose)
    desk = Desk(settings, make_sessionmaker(engine), clock=Clock(START), rules=load_rules(RULES))
    for what, text in (("customers", CUSTOMERS), ("contracts", CONTRACTS)):
        path = tmp / f"{what}.csv"
        path.write_text(text, encoding="utf-8")
        assert not customer_csv.import_file(desk, OPERATOR, what, path).rejected
    for frm, subject, mid in build.VICTIMS:  # tickets 1, 2, 3
        r = intake.ingest_raw(desk, build.plain(frm, subject, "Goedendag,\n\nZie onderwerp.\n", mid), "setup")
        assert r.status == "created"
    sink = Sink(smtputf8=True).start()
    request.addfinalizer(sink.stop)
    transport = SMTPTransport(MailServerURL.parse("SMTP_URL", sink.url), timeout=HANG)
    request.addfinalizer(transport.close)
    rig = Rig(name, desk, sink, OutboxSender(settings, desk.uow, {"mail": transport}))
    rig.sender.run_once(desk.clock(), lane="mail")
    if name.startswith("smtp"):
        handler = IntakeHandler(lambda raw, source: intake.spool(desk, raw, source), settings.accepted_domains,
                                on_stored=rig.stored.set)
        rig.server = IntakeServer(handler, "127.0.0.1", free_port(), settings.smtp_max_size)
        rig.server.start()
        request.addfinalizer(rig.server.stop)
        rig.pipeline = Pipeline(desk)
        request.addfinalizer(rig.pipeline.close)
    return rig


@pytest.fixture(scope="module")
def rigs(request, tmp_path_factory) -> Callable[[str, pytest.FixtureRequest], Rig]:
    """The desk of each pass, made when its first case runs and kept for the module."""
    made: dict[str, Rig] = {}

    def get(name: str, test_request: pytest.FixtureRequest) -> Rig:
        if name not in made:
            tmp = tmp_path_factory.mktemp(name)
            if name.endswith("postgres"):
                url = test_request.getfixturevalue("postgres").create_database()
            else:
                url = f"sqlite:///{tmp}/ticketbot.sqlite3"
            made[name] = _open_rig(name, url, tmp, request)
        return made[name]

    return get


def _params():
    for pass_name in PASSES:
        for case in CASES:
            yield pytest.param(pass_name, case, id=f"{pass_name}-{case}")


# ------------------------------------------------------------------ the checks
def _slack_strings(payload: bytes) -> list[str]:
    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(json.loads(payload))
    return out


def _staff(desk: Desk) -> set[str]:
    people = desk.ruleset.people.values()
    return {p.email for p in people} | {p.slack for p in people if p.slack} | {TEAM, "thread"}


def _check_outbox(rig: Rig, rows: list[Outbox], received: list) -> dict[str, Any]:
    """Slack payloads escape customer text; mail goes only to the ticket's contact or staff,
    with only our headers. Returns the mails the sink received, by Message-ID."""
    staff = _staff(rig.desk)
    own_link = re.compile("<" + re.escape(rig.desk.settings.public_url) + r"/[^<>|]*\|[^<>]*>")
    contacts: dict[int | None, str | None] = {}
    with rig.desk.sessions() as s:
        for r in rows:
            if r.ticket_id not in contacts:
                t = s.get(Ticket, r.ticket_id) if r.ticket_id else None
                contacts[r.ticket_id] = t.contact_email if t else None
    for r in rows:
        assert r.to_addr in staff or r.to_addr == contacts[r.ticket_id], (r.purpose, r.to_addr)
        if r.channel == "slack":
            for text in _slack_strings(r.payload):
                assert "<" not in own_link.sub("", OWNER_FIELD.sub("", text)), (r.purpose, text)
    by_id = {r.message_id: r for r in rows if r.channel == "mail"}
    sent: dict[str, Any] = {}
    for got in received:
        head = got.data.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            assert line[:1] in (b" ", b"\t") or line.split(b":", 1)[0].lower().decode() in OUR_HEADERS, line
        mail = message_from_bytes(got.data, policy=policy.default)
        for name in OUR_HEADERS:
            assert len(mail.get_all(name) or []) <= 1, name
        row = by_id[mail["Message-ID"].strip("<>")]
        # one recipient, the row's, in the envelope and in To (the sink and the parser read
        # UTF-8 as surrogate escapes)
        assert [_utf8(a) for a in got.rcpt_tos] == [row.to_addr]
        assert _utf8(mail["To"].addresses[0].addr_spec) == row.to_addr and not mail["Cc"] and not mail["Bcc"]
        assert got.mail_from == rig.desk.settings.address
        sent[row.message_id] = mail
    mine = {r.message_id for r in rows if r.channel == "mail" and r.status == "sent"}
    assert mine == set(sent), "the sink got exactly the case's mail"
    return sent


def _utf8(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8")


def _after(rig: Rig, case: str) -> None:
    """The next ordinary mail after the case: a ticket and an acknowledgement as always."""
    raw = build.plain(f"Na Case <after-{case}@after.example>", "Vraag over levering", build.HELLO,
                      f"after-{case}@after.example")
    with rig.desk.sessions() as s:
        before = s.scalar(select(func.max(Outbox.id))) or 0
    [r], refused = rig.deliver([("after.eml", raw)], f"after-{case}@after.example")
    assert (r.status, refused) == ("created", [])
    d = queries.ticket_detail(rig.desk, OPERATOR, r.ticket)
    assert d["contact"] == f"after-{case}@after.example" and d["kind"] == "question"
    with rig.desk.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.id > before, Outbox.purpose == "ack")) == 1
    assert rig.sender.run_once(rig.desk.clock(), lane="mail") == {"sent": 1, "retry": 0, "failed": 0}


@pytest.mark.parametrize("pass_name, case", list(_params()))
def test_hostile_mail(rigs, request, pass_name: str, case: str):
    rig = rigs(pass_name, request)
    c = CASES[case]
    desk = rig.desk
    desk.clock.advance(hours=2)  # type: ignore[attr-defined]
    rig.sender.run_once(desk.clock(), lane="mail")  # what an earlier, failed case left queued
    mails = corpus(case)
    assert mails, case
    with desk.sessions() as s:
        last_ticket = s.scalar(select(func.max(Ticket.id))) or 0
        last_row = s.scalar(select(func.max(Outbox.id))) or 0
        last_raw = s.scalar(select(func.max(RawMail.id))) or 0
    before = {n: queries.ticket_detail(desk, OPERATOR, n) for n in c.untouched}
    received_before = len(rig.sink.handler.received)

    results, refused = rig.deliver(mails, c.envelope)

    if rig.smtp and c.smtp is not None:
        # the server refuses it at the end of DATA, with a reason: nothing is stored
        assert (refused, results) == ([c.smtp] * len(mails), [])
        with desk.sessions() as s:
            assert s.scalar(select(func.count()).select_from(RawMail).where(RawMail.id > last_raw)) == 0
        _after(rig, case)
        return
    assert refused == []
    assert tuple(r.status for r in results) == c.statuses
    if c.reason is not None:
        assert results[-1].reason == c.reason
    # the bytes of every mail taken in are kept as they came
    with desk.sessions() as s:
        kept = {hashlib.sha256(content).hexdigest() for content in s.scalars(
            select(RawMail.content).where(RawMail.id > last_raw))}
    assert {hashlib.sha256(raw).hexdigest() for (_, raw), r in zip(mails, results, strict=True)
            if r.status != "duplicate"} <= kept
    with desk.sessions() as s:
        new = list(s.scalars(select(Ticket.id).where(Ticket.id > last_ticket).order_by(Ticket.id)))
    assert len(new) == c.tickets
    for n, snapshot in before.items():
        assert queries.ticket_detail(desk, OPERATOR, n) == snapshot, f"ticket {n} changed"
    # what the case queued: Slack escaped, mail to its own people only, our headers only
    rig.sender.run_once(desk.clock(), lane="mail")
    with desk.sessions() as s:
        rows = list(s.scalars(select(Outbox).where(Outbox.id > last_row).order_by(Outbox.id)))
    assert len([r for r in rows if r.purpose == "ack"]) == c.acks
    sent = _check_outbox(rig, rows, rig.sink.handler.received[received_before:])
    _after(rig, case)

    # the case's own outcome
    tickets = [queries.ticket_detail(desk, OPERATOR, n) for n in new]
    if tickets:
        t = tickets[0]
        assert t["contact"] == c.contact
        if c.subject is not None:
            assert t["subject"] == c.subject
        if c.name is not None or c.contact is None:
            assert t["contact_name"] == c.name
        assert t["linked_ticket"] == c.linked
        assert t["kind"] == c.kind
    payloads = [text for r in rows if r.channel == "slack" for text in _slack_strings(r.payload)]
    for escaped in c.slack:
        assert any(escaped in text for text in payloads), escaped
    if c.check is not None:
        c.check(Outcome(rig, results, tickets, rows, sent))


# ------------------------------------------------------------------ the corpus itself
def test_the_corpus_is_what_build_py_writes():
    built = build.build()
    on_disk = {p.name for p in HOSTILE.iterdir() if p.name.endswith((".eml", ".eml.gz"))}
    assert on_disk == {build.stored_name(n, d) for n, d in built.items()}
    for name, data in built.items():
        path = HOSTILE / build.stored_name(name, data)
        stored = path.read_bytes()
        assert (gzip.decompress(stored) if path.suffix == ".gz" else stored) == data, name
    assert set(CASES) == set(build.CASES), "every case of build.py has its expected outcome here"
    assert len(CASES) >= 40


def test_ticketbot_ingest_reads_hostile_files(tmp_path, monkeypatch, capsys):
    """The `ingest` command itself, on a few files of the corpus: one batch."""
    for var in list(os.environ):  # settings come from the environment: only these
        if var in ("DATABASE_URL", "IMAP_URL", "SMTP_URL") or var.startswith(("TICKETBOT_", "SLACK_")):
            monkeypatch.delenv(var)
    for var, value in {"DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3", "TICKETBOT_ADDRESS": DESK,
                       "TICKETBOT_MAIL_DIR": str(tmp_path / "outgoing"), "TICKETBOT_RULES": str(RULES)}.items():
        monkeypatch.setenv(var, value)
    names = ["slack-subject.eml", "crlf-subject-q.eml", "binary-garbage.eml", "nul-bytes.eml",
             "dsn-failed-unknown.eml", "own-address-spoof.eml", "no-message-id.1.eml", "no-message-id.2.eml"]
    rows = CLI(capsys).ingest(*(HOSTILE / n for n in names))
    assert [r["source"] for r in rows] == [f"file:{HOSTILE / n}" for n in names]
    assert [(r["status"], r["ticket"]) for r in rows] == [
        ("created", 1), ("created", 2), ("quarantined", None), ("created", 3), ("ignored", None),
        ("ignored", None), ("created", 4), ("duplicate", 4)]
    rc, out, _ = CLI(capsys)("show", "2", "--json")
    assert rc == 0 and json.loads(out)["subject"] == "Hallo Bcc: victim@evil.com X-Injected: yes"


def test_a_mail_postgres_cannot_store_does_not_stall_the_smtp_intake(postgres, tmp_path, request):
    rig = _open_rig("smtp-postgres", postgres.create_database(), tmp_path, request)
    results, refused = rig.deliver(corpus("nul-bytes") + [("next.eml", build.plain(
        "Next <next@after.example>", "Vraag", build.HELLO, "next@after.example"))], "x@hostile.example")
    assert refused == [] and [r.status for r in results][1:] == ["created"]

