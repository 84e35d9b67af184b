"""The ingest path end to end (parse -> correlate -> store -> outbox), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from bot.adapters.smtp_out import FileTransport
from bot.delivery.outbox import OutboxSender
from bot.desk import actions, intake, queries
from bot.store.models import Event, Message, Outbox, RawMail, Ticket
from tests.conftest import OPERATOR
from tests.support.mailgen import customer_mail


def count(service, model) -> int:
    with service.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def outbox_rows(service) -> list[Outbox]:
    with service.sessions() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


def mail(i=1, **kw) -> bytes:
    kw.setdefault("variant", "plain")
    return customer_mail(i, **kw)


def test_new_mail_makes_a_ticket_and_an_acknowledgement(service):
    r = intake.ingest_raw(service, mail(1, lang="nl", message_id="m1@customer.example"), "test")
    assert (r.status, r.ticket) == ("created", 1)
    t = queries.ticket_detail(service, OPERATOR, 1)
    assert t["status"] == "new"
    assert t["subject"] == "Vraag over factuur 1"
    assert t["contact"] == "contact1@customer1.example"
    assert t["language"] == "nl"
    assert t["owner"] == "sales_support"
    inbound = [m for m in t["messages"] if m["direction"] == "in"]
    assert inbound[0]["message_id"] == "m1@customer.example"
    assert inbound[0]["text"].startswith("Goedemiddag,")
    [ack] = outbox_rows(service)
    assert ack.purpose == "ack" and ack.to_addr == "contact1@customer1.example"
    assert ack.subject == "Re: [TB-1] Vraag over factuur 1"
    assert "geregistreerd onder ticket [TB-1]" in ack.body_text  # Dutch, the customer's language
    assert "[TB-1]" in ack.body_html and "<strong>[TB-1]</strong>" in ack.body_html
    with service.sessions() as s:
        raw = s.scalar(select(RawMail))
        assert raw.content == mail(1, lang="nl", message_id="m1@customer.example")
        assert raw.status == "created" and raw.ticket_id == 1
        assert [e.action for e in s.scalars(select(Event))] == ["created", "routed"]


@pytest.mark.parametrize("lang,phrase", [("en", "registered it under ticket"),
                                          ("pl", "Zarejestrowaliśmy ją pod numerem"),
                                          ("nl", "We hebben het geregistreerd")])
def test_acknowledgement_in_the_customers_language(service, lang, phrase):
    intake.ingest_raw(service, mail(2, lang=lang), "test")
    [ack] = outbox_rows(service)
    assert phrase in ack.body_text and ack.language == lang


def test_html_in_acknowledgement_is_escaped(service):
    intake.ingest_raw(service, mail(3, subject="<script>alert(1)</script> & more"), "test")
    [ack] = outbox_rows(service)
    assert "<script>" not in ack.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in ack.body_html
    assert "<script>alert(1)</script> & more" in ack.body_text


def test_same_mail_twice_is_stored_once(service):
    raw = mail(4, message_id="dup@x.example")
    assert intake.ingest_raw(service, raw, "imap").status == "created"
    again = intake.ingest_raw(service, raw, "smtp")
    assert (again.status, again.ticket) == ("duplicate", 1)
    # same Message-ID, other bytes (a relay added a header): still the same mail
    assert intake.ingest_raw(service, b"Received: by relay\r\n" + raw, "smtp").status == "duplicate"
    assert count(service, Ticket) == 1 and count(service, RawMail) == 1
    assert len(outbox_rows(service)) == 1


def test_mail_without_message_id_dedupes_on_its_bytes(service):
    raw = mail(5, message_id=None)
    assert intake.ingest_raw(service, raw, "a").status == "created"
    assert intake.ingest_raw(service, raw, "b").status == "duplicate"
    assert intake.ingest_raw(service, mail(6, message_id=None), "c").status == "created"
    assert count(service, Ticket) == 2


def test_duplicates_within_one_batch(service):
    from bot.core.mail.prepare import prepare
    raw = mail(7, message_id="batch@x.example")
    results = intake.ingest_prepared(service, [prepare(raw, "a"), prepare(raw, "b"), prepare(mail(8), "c")])
    assert [r.status for r in results] == ["created", "duplicate", "created"]
    assert results[1].ticket == results[0].ticket


def test_reply_to_our_acknowledgement_joins_the_ticket(service):
    intake.ingest_raw(service, mail(9, message_id="first@c.example"), "t")
    [ack] = outbox_rows(service)
    reply = mail(9, message_id="second@c.example", subject="Re: something else entirely",
                 in_reply_to=ack.message_id)
    r = intake.ingest_raw(service, reply, "t")
    assert (r.status, r.ticket) == ("appended", 1)
    assert len(outbox_rows(service)) == 1  # no second acknowledgement


def test_cc_colleague_reply_threads_by_the_customers_message_id(service):
    # the customer copied a colleague at another company; the colleague answers all
    intake.ingest_raw(service, mail(11, message_id="orig@c.example").replace(
        b"Subject:", b"Cc: contact12@othercompany.example\r\nSubject:", 1), "t")
    colleague = mail(12, domain="othercompany.example", in_reply_to="orig@c.example",
                     subject="Re: Question")
    assert intake.ingest_raw(service, colleague, "t").ticket == 1


def test_subject_tag_threads_without_headers_and_unknown_tag_makes_a_new_ticket(service):
    intake.ingest_raw(service, mail(13), "t")
    r = intake.ingest_raw(service, mail(13, message_id="tag14@c.example", subject="AW: [TB - 1] Vraag"), "t")
    assert (r.status, r.ticket) == ("appended", 1)
    r = intake.ingest_raw(service, mail(15, subject="Re: [TB-999] lost"), "t")
    assert (r.status, r.ticket) == ("created", 2)


def test_reply_to_resolved_ticket_reopens_within_14_days_later_links_a_new_one(service, clock):
    intake.ingest_raw(service, mail(16, message_id="r1@c.example"), "t")
    with service.sessions() as s, s.begin():
        t = s.get(Ticket, 1)
        t.status, t.resolved_at = "resolved", clock.now
    clock.advance(days=14)
    r = intake.ingest_raw(service, mail(16, message_id="r2@c.example", in_reply_to="r1@c.example"), "t")
    assert (r.status, r.ticket) == ("appended", 1)
    d = queries.ticket_detail(service, OPERATOR, 1)
    assert d["status"] == "open" and d["resolved"] is None
    assert [e["action"] for e in d["events"]][-2:] == ["reopened", "message"]

    with service.sessions() as s, s.begin():
        t = s.get(Ticket, 1)
        t.status, t.resolved_at = "closed", clock.now
    clock.advance(days=14, seconds=1)
    r = intake.ingest_raw(service, mail(16, message_id="r3@c.example", in_reply_to="r1@c.example"), "t")
    assert r.status == "created" and r.ticket == 2
    d2 = queries.ticket_detail(service, OPERATOR, 2)
    assert d2["linked_ticket"] == 1 and d2["status"] == "new"
    assert queries.ticket_detail(service, OPERATOR, 1)["status"] == "closed"


def test_automatic_mail_gets_no_acknowledgement(service):
    raw = mail(19).replace(b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:", 1)
    r = intake.ingest_raw(service, raw, "t")
    assert r.status == "created"
    assert outbox_rows(service) == []
    events = queries.ticket_detail(service, OPERATOR, r.ticket)["events"]
    assert events[-1]["action"] == "ack-skipped" and "auto-submitted" in events[-1]["reason"].lower()


@pytest.mark.parametrize("header, reason", [
    (b"X-Mailman-Version: 2.1.9", "x-mailman"),
    (b"X-Cron-Env: <SHELL=/bin/sh>", "cron"),
    (b"X-GitHub-Reason: mention", "issue tracker"),
    (b"Received-SPF: softfail (mx.example: transitioning domain)", "sender not authenticated: spf softfail"),
    (b"X-Spam-Flag: YES", "spam filter"),
])
def test_machine_senders_without_auto_submitted_make_a_ticket_but_get_no_mail(service, header, reason):
    """Issue 13: the ticket is made, no automatic mail goes out, the reason is an event."""
    raw = mail(21).replace(b"Subject:", header + b"\r\nSubject:", 1)
    r = intake.ingest_raw(service, raw, "t")
    assert r.status == "created"
    assert outbox_rows(service) == []
    events = queries.ticket_detail(service, OPERATOR, r.ticket)["events"]
    assert events[-1]["action"] == "ack-skipped" and reason in events[-1]["reason"]


def test_at_most_five_automatic_mails_per_sender_per_day(service, clock):
    for i in range(7):
        intake.ingest_raw(service, mail(100 + i * 2000, message_id=f"flood{i}@c.example"), "t")
    assert count(service, Ticket) == 7
    assert len(outbox_rows(service)) == 5
    clock.advance(hours=24, seconds=1)
    intake.ingest_raw(service, mail(20000, message_id="later@c.example"), "t")
    assert len(outbox_rows(service)) == 6


def test_mail_from_ourselves_is_ignored_but_kept(service):
    raw = mail(21).replace(b"From: ", b"From: Support <support@desk.example>\r\nX-Old-From: ", 1)
    r = intake.ingest_raw(service, raw, "t")
    assert (r.status, r.ticket) == ("ignored", None)
    assert count(service, Ticket) == 0 and count(service, RawMail) == 1


def test_bounce_is_attached_to_the_ticket_of_the_mail_it_reports(service):
    intake.ingest_raw(service, mail(22), "t")
    [ack] = outbox_rows(service)
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        "To: support@desk.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\nMessage-ID: <bounce1@mx.customer.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        "Final-Recipient: rfc822; contact22@customer22.example\r\nAction: failed\r\n"
        "Status: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{ack.message_id}>\r\nSubject: {ack.subject}\r\n\r\n--B--\r\n"
    ).encode()
    r = intake.ingest_raw(service, bounce, "t")
    assert (r.status, r.ticket) == ("appended", 1)
    d = queries.ticket_detail(service, OPERATOR, 1)
    assert d["bounced"] is True
    assert d["events"][-1]["action"] == "bounce"
    assert d["messages"][-1]["bounce"] is True
    assert len(outbox_rows(service)) == 1  # never answer a bounce


def test_unreadable_bytes_are_quarantined_with_their_bytes(service):
    r = intake.ingest_raw(service, b"", "t")
    assert r.status == "quarantined" and r.ticket is None and r.warnings
    with service.sessions() as s:
        raw = s.scalar(select(RawMail))
        assert raw.status == "quarantined" and raw.content == b"" and raw.error


def test_a_failure_on_one_mail_quarantines_it_and_the_batch_lands(service, monkeypatch):
    from bot.core.mail.prepare import prepare
    real = intake._add_message

    def flaky(s, ticket, item, now):
        if item.source == "bad":
            raise RuntimeError("boom")
        return real(s, ticket, item, now)

    monkeypatch.setattr(intake, "_add_message", flaky)
    results = intake.ingest_prepared(service,
        [prepare(mail(30), "good1"), prepare(mail(31), "bad"),
                                       prepare(mail(32), "good2")])
    assert [r.status for r in results] == ["created", "quarantined", "created"]
    assert "RuntimeError: boom" in results[1].warnings[0]
    assert count(service, Ticket) == 2
    with service.sessions() as s:
        assert s.scalar(select(RawMail.status).where(RawMail.source == "bad")) == "quarantined"


def test_acknowledgement_mail_is_threaded_and_marked_automatic(service, clock, tmp_path):
    raw = mail(40, message_id="cust@c.example").replace(
        b"Subject:", b"Thread-Index: AdmDnSR5MvsFRK2nQzqXwuqoAgE3Qg==\r\nReferences: <older@c.example>\r\nSubject:", 1)
    intake.ingest_raw(service, raw, "t")
    sender = OutboxSender(service.settings, service.uow, {"mail": FileTransport(tmp_path / "out")})
    assert sender.run_once(clock.now) == {"sent": 1, "retry": 0, "failed": 0}
    [f] = list((tmp_path / "out").glob("*.eml"))
    m = message_from_bytes(f.read_bytes(), policy=policy.default)
    assert m["Auto-Submitted"] == "auto-replied"
    assert m["In-Reply-To"] == "<cust@c.example>"
    assert m["References"] == "<older@c.example> <cust@c.example>"
    parent = base64.b64decode("AdmDnSR5MvsFRK2nQzqXwuqoAgE3Qg==")
    child = base64.b64decode(str(m["Thread-Index"]))
    assert child[:22] == parent and len(child) == 27  # one child block: Outlook groups it
    assert m["Thread-Topic"] == "Question about invoice 40"
    assert m["Subject"] == "Re: [TB-1] Question about invoice 40"
    assert m["From"] == "Sales Support <support@desk.example>"
    mid = m["Message-ID"].strip("<>")
    assert mid.endswith("@desk.example")
    assert m.get_body(("plain",)).get_content().startswith("Dear Marieke Jansen")
    assert m.get_body(("html",)) is not None
    # the mail we sent is recorded on the ticket, so replies to it thread
    with service.sessions() as s:
        out = s.scalar(select(Message).where(Message.direction == "out"))
        assert out.message_id == mid and out.ticket_id == 1
        assert s.scalar(select(Outbox.status)) == "sent"


def test_a_constraint_failure_quarantines_the_mail_instead_of_losing_it(service):
    """An IntegrityError that is not the dedupe key (here: a rule table whose owner
    resolves to nobody, which the validator would refuse) must not pass as a duplicate."""
    from bot.core.rules.schema import Role, RuleSet

    rs = RuleSet.fallback("sanne")
    service.rules = RuleSet(people=rs.people, roles={**rs.roles, "sales_support": Role("sales_support", None)},
                            kinds=rs.kinds, rules=(), default_owner="sales_support")
    r = intake.ingest_raw(service, mail(1, message_id="lost@customer.example"), "test")
    assert r.status == "quarantined" and r.ticket is None
    with service.sessions() as s:
        raw = s.scalar(select(RawMail))
        assert raw.status == "quarantined" and "IntegrityError" in raw.error
        assert raw.content == mail(1, message_id="lost@customer.example")
    assert count(service, Ticket) == 0


def test_a_delayed_delivery_notice_opens_no_ticket(service):
    """Issue 10.16: a delivery-status report that is not a failure (delayed) is news about
    our mail, not a customer: no ticket, no acknowledgement, no notice; its bytes are kept."""
    intake.ingest_raw(service, mail(40), "t")
    [ack] = outbox_rows(service)
    delayed = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        "To: support@desk.example\r\nSubject: Delayed Mail (still being retried)\r\n"
        "Return-Path: <>\r\nMessage-ID: <delay1@mx.customer.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nStill trying.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        "Final-Recipient: rfc822; contact40@customer40.example\r\nAction: delayed\r\n"
        "Status: 4.4.7\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{ack.message_id}>\r\nSubject: {ack.subject}\r\n\r\n--B--\r\n"
    ).encode()
    r = intake.ingest_raw(service, delayed, "t")
    assert (r.status, r.reason) == ("ignored", "delivery-status report")
    assert count(service, Ticket) == 1 and len(outbox_rows(service)) == 1
    d = queries.ticket_detail(service, OPERATOR, 1)
    assert d["bounced"] is False and d["status"] == "new"
    with service.sessions() as s:
        assert s.scalar(select(RawMail.status).where(RawMail.source == "t").order_by(
            RawMail.id.desc()).limit(1)) == "ignored"


def test_message_ids_that_share_their_first_400_characters_are_two_mails(service):
    """Issue 10.11: a long Message-ID is never cut for deduplication."""
    stem = "x" * 420
    a = intake.ingest_raw(service, mail(41, message_id=f"{stem}.a@c.example"), "t")
    b = intake.ingest_raw(service, mail(42, message_id=f"{stem}.b@c.example"), "t")
    again = intake.ingest_raw(service, mail(41, message_id=f"{stem}.a@c.example"), "t")
    assert (a.status, b.status, again.status) == ("created", "created", "duplicate")
    assert count(service, Ticket) == 2
    # a staff reply threads to the customer's last mail, whose id is stored as its hash:
    # the hash is never written into In-Reply-To
    actions.reply(service, OPERATOR, b.ticket, "Dank u")
    last = outbox_rows(service)[-1]
    assert last.purpose == "reply" and last.headers["in_reply_to"] is None
    assert not any(" " in ref for ref in last.headers["references"])
    # ... nor for threading: a reply to the second joins the second
    raw = mail(42, message_id="r42@c.example", subject="Re: nothing")  # (long header lines
    raw = raw.replace(b"Subject:", f"In-Reply-To: <{stem}.b@c.example>\r\nSubject:".encode(), 1)
    reply = intake.ingest_raw(service, raw, "t")                          # by hand: unfolded)
    assert (reply.status, reply.ticket) == ("appended", b.ticket)


def test_a_reused_message_id_with_other_content_is_kept_not_dropped(service):
    """Issue 10.5: the same Message-ID from another sender with other text is a second
    mail: its ticket is made, its bytes kept; a true redelivery (other transport headers)
    and a second copy of the clashing mail are still duplicates."""
    first = mail(50, message_id="same@c.example")
    other = mail(51, message_id="same@c.example")
    a = intake.ingest_raw(service, first, "t")
    b = intake.ingest_raw(service, other, "t")
    assert (a.status, b.status) == ("created", "created") and a.ticket != b.ticket
    assert any("Message-ID clash" in w for w in b.warnings)
    redelivered = b"Received: from relay2.example by mx.desk.example; Mon, 2 Nov 2026\r\n" + first
    assert intake.ingest_raw(service, redelivered, "t").status == "duplicate"
    assert intake.ingest_raw(service, other, "t").status == "duplicate"
    with service.sessions() as s:
        kept = set(s.scalars(select(RawMail.content).where(RawMail.status == "created")))
    assert {first, other} <= kept
    # and within one batch too
    from bot.core.mail.prepare import prepare
    results = intake.ingest_prepared(service, [prepare(mail(52, message_id="twice@c.example"), "x"),
                                               prepare(mail(53, message_id="twice@c.example"), "y")])
    assert [r.status for r in results] == ["created", "created"]


def _form_mail(n: int, reply_to: str, extra: str = "") -> bytes:
    return (f"From: Webshop <noreply@shop{n}.example>\r\nReply-To: Klant <{reply_to}>\r\n"
            f"To: support@desk.example\r\nSubject: Contactformulier: vraag over levering\r\n"
            f"Message-ID: <form{n}@shop.example>\r\n{extra}\r\n"
            "Naam: Klaas\r\nVraag: wanneer wordt mijn advertentie geplaatst?\r\n").encode()


def test_a_web_forms_reply_to_is_where_the_customer_is_answered(service):
    """Issue 13: a form or shop sends as noreply@ with the customer in Reply-To: the
    acknowledgement and every reply go to that address, and the customer's own reply
    from it joins the ticket; the dossier shows both addresses."""
    r = intake.ingest_raw(service, _form_mail(1, "klaas@gmail.com"), "t")
    assert r.status == "created"
    d = queries.ticket_detail(service, OPERATOR, r.ticket)
    assert (d["contact"], d["reply_to"]) == ("noreply@shop1.example", "klaas@gmail.com")
    [ack] = [o for o in outbox_rows(service) if o.purpose == "ack"]
    assert ack.to_addr == "klaas@gmail.com"
    actions.reply(service, OPERATOR, r.ticket, "Volgende week.")
    assert outbox_rows(service)[-1].to_addr == "klaas@gmail.com"
    answer = (b"From: Klaas <klaas@gmail.com>\r\nTo: support@desk.example\r\n"
              b"Subject: Re: Contactformulier\r\nMessage-ID: <k2@gmail.com>\r\n"
              b"In-Reply-To: <form1@shop.example>\r\n\r\nPrima, dank u.\r\n")
    assert intake.ingest_raw(service, answer, "t").ticket == r.ticket


def test_a_persons_reply_to_is_where_we_answer(service):
    """Issue 13: a single person's Reply-To (not a list, not ours, not a robot) is where
    the acknowledgement goes, at another domain too; From stays the contact and both show
    in the dossier. A list's Reply-To, ours (the desk's, at its domain, a colleague's), a
    robot's, or two of them leave the answer at From."""
    raw = (b"From: Jan Bakker <jan@bakkerij-jansen.nl>\r\nReply-To: jan.bakker@gmail.example\r\n"
           b"To: support@desk.example\r\nSubject: Vraag\r\nMessage-ID: <e1@bakkerij-jansen.nl>\r\n\r\n"
           b"Hallo, ik heb een vraag over mijn factuur.\r\n")
    r = intake.ingest_raw(service, raw, "t")
    detail = queries.ticket_detail(service, OPERATOR, r.ticket)
    assert (detail["contact"], detail["reply_to"]) == ("jan@bakkerij-jansen.nl", "jan.bakker@gmail.example")
    assert [o.to_addr for o in outbox_rows(service) if o.purpose == "ack"] == ["jan.bakker@gmail.example"]
    actions.reply(service, OPERATOR, r.ticket, "Wij kijken ernaar.")
    assert outbox_rows(service)[-1].to_addr == "jan.bakker@gmail.example"
    same = (b"From: Invoices <invoices@drukkerij.example>\r\nReply-To: els@drukkerij.example\r\n"
            b"To: support@desk.example\r\nSubject: Vraag\r\nMessage-ID: <d1@drukkerij.example>\r\n\r\nHallo\r\n")
    r2 = intake.ingest_raw(service, same, "t")
    assert queries.ticket_detail(service, OPERATOR, r2.ticket)["reply_to"] == "els@drukkerij.example"
    from bot.core.rules.schema import RuleSet

    rs = RuleSet.fallback("sanne")
    service.rules = dataclasses.replace(rs, people={
        k: dataclasses.replace(p, email="sanne@partner.example") for k, p in rs.people.items()})
    for n, reply_to, extra in ((3, b"list@lists.example", b"List-Id: <l.lists.example>\r\n"),
                               (4, b"support@desk.example", b""),
                               (7, b"els@desk.example", b""),
                               (8, b"sanne@partner.example", b""),
                               (5, b"a@x.example, b@y.example", b""),
                               (6, b"noreply@x.example", b"")):
        other = (b"From: Piet <piet@klant%d.example>\r\nReply-To: %s\r\n%sTo: support@desk.example\r\n"
                 b"Subject: Vraag %d\r\nMessage-ID: <n%d@klant.example>\r\n\r\nHallo\r\n"
                 % (n, reply_to, extra, n, n))
        r3 = intake.ingest_raw(service, other, "t")
        assert queries.ticket_detail(service, OPERATOR, r3.ticket)["reply_to"] is None, reply_to


@pytest.mark.parametrize("sender, reply_to, known", [
    # a forged From of a known customer would send their answers to the forger
    ("Jan Jansen <jan@bakkerij-jansen.nl>", "jan.jansen@mallory.example", "the sender"),
    # someone new at a known customer's company: answered at the company address
    ("Piet <piet@bakkerij-jansen.nl>", "piet@gmail.example", "the sender"),
    # a stranger naming a known customer: the customer's answer would join the stranger's ticket
    ("Mallory <mallory@hijack.example>", "olga@drukkerij-oost.nl", "the Reply-To"),
])
def test_a_reply_to_elsewhere_does_not_override_a_known_customer(make_desk, sender, reply_to, known):
    """A Reply-To at another domain brings our answers to whoever wrote it: between
    strangers it is followed (test above); with a customer the directory knows on either
    side the mail is answered at From, and its warning says why."""
    desk = make_desk()
    raw = (f"From: {sender}\r\nReply-To: {reply_to}\r\nTo: support@desk.example\r\n"
           f"Subject: Factuur\r\nMessage-ID: <k1@x.example>\r\n\r\nDe factuur klopt niet.\r\n").encode()
    r = intake.ingest_raw(desk, raw, "t")
    detail = queries.ticket_detail(desk, OPERATOR, r.ticket)
    assert detail["reply_to"] is None
    sender_addr = sender.split("<")[1].rstrip(">")
    assert [o.to_addr for o in outbox_rows(desk) if o.purpose == "ack"] == [sender_addr]
    assert (f"Reply-To {reply_to} not followed: {known} is a customer the directory knows, "
            "and a Reply-To at another domain is not vouched for") in r.warnings


@pytest.mark.parametrize("reply_to", [
    "<els@desk.example,x@evil.example>",   # one "address" that smtplib would send to els@ only
    "els@desk.example.",                   # the desk's domain with its trailing dot
    "els@mail.desk.example",               # a subdomain of it
])
def test_a_reply_to_that_hides_our_own_address_is_not_followed(service, reply_to):
    raw = (f"From: Piet <piet@klant9.example>\r\nReply-To: {reply_to}\r\nTo: support@desk.example\r\n"
           f"Subject: Vraag\r\nMessage-ID: <h1@klant9.example>\r\n\r\nHallo\r\n").encode()
    r = intake.ingest_raw(service, raw, "t")
    assert queries.ticket_detail(service, OPERATOR, r.ticket)["reply_to"] is None
    assert [o.to_addr for o in outbox_rows(service) if o.purpose == "ack"] == ["piet@klant9.example"]


def _acks_to(service, addr: str) -> int:
    return sum(1 for o in outbox_rows(service) if o.purpose == "ack" and o.to_addr == addr)


def test_the_acknowledgement_limit_counts_the_address_answered(service):
    """The per-address limit (5 automatic mails in 24 h) holds for a sender writing
    again and again, and for web forms: eight forms from eight noreply@ senders naming
    one person in Reply-To send that person five acknowledgements, not eight (anyone can
    fill in a form with somebody else's address); the rest of the tickets say why."""
    limit = service.settings.auto_reply_limit
    for i in range(limit + 3):
        intake.ingest_raw(service, mail(31, message_id=f"again{i}@c.example", subject=f"Vraag {i}"), "t")
    assert _acks_to(service, "contact31@customer31.example") == limit
    tickets = []
    for i in range(limit + 3):
        raw = _form_mail(40 + i, "victim@klant.example").replace(b"<form", f"<f{i}-".encode(), 1)
        tickets.append(intake.ingest_raw(service, raw, "t").ticket)
    assert len(set(tickets)) == limit + 3
    assert _acks_to(service, "victim@klant.example") == limit
    last = queries.ticket_detail(service, OPERATOR, tickets[-1])["events"]
    assert [e["reason"] for e in last if e["action"] == "ack-skipped"] == [
        f"rate limit: {limit} automatic mails to victim@klant.example in 24 h"]


def test_no_usable_from_the_reply_to_is_the_sender(service):
    """Issue 13: "From: <>" (or no From) and one mailbox in Reply-To: that is who wrote,
    the ticket's contact, and where the acknowledgement goes; the mail says what was read."""
    raw = (b"From: <>\r\nReply-To: Jan Bakker <jan@bakkerij-jansen.nl>\r\nTo: support@desk.example\r\n"
           b"Subject: Vraag\r\nMessage-ID: <nf1@bakkerij-jansen.nl>\r\n\r\nIk heb een vraag over mijn factuur.\r\n")
    r = intake.ingest_raw(service, raw, "t")
    d = queries.ticket_detail(service, OPERATOR, r.ticket)
    assert d["contact"] == "jan@bakkerij-jansen.nl"
    assert [o.to_addr for o in outbox_rows(service) if o.purpose == "ack"] == ["jan@bakkerij-jansen.nl"]
    assert any("read from Reply-To" in w for w in r.warnings)


def test_a_lists_or_a_robots_reply_to_is_not_the_customer(service):
    listed = intake.ingest_raw(service, _form_mail(2, "list@lists.example", "List-Id: <x.lists.example>\r\n"), "t")
    assert queries.ticket_detail(service, OPERATOR, listed.ticket)["reply_to"] is None
    robot = intake.ingest_raw(service, _form_mail(3, "no-reply@elsewhere.example"), "t")
    d = queries.ticket_detail(service, OPERATOR, robot.ticket)
    assert d["reply_to"] is None
    assert not [o for o in outbox_rows(service) if o.purpose == "ack" and o.ticket_id == robot.ticket]


def test_thanks_alone_does_not_reopen_a_resolved_ticket(service, clock):
    """Issue 13: "Bedankt!" on a resolved ticket is kept and noted, the ticket stays
    resolved; a reply that says more reopens it."""
    intake.ingest_raw(service, mail(17, message_id="t1@c.example"), "t")
    actions.resolve(service, OPERATOR, 1, None)
    clock.advance(days=1)
    sender = message_from_bytes(mail(17), policy=policy.default)["From"]
    thanks = (f"From: {sender}\r\nTo: support@desk.example\r\nSubject: Re: vraag\r\n"
              "Message-ID: <t2@c.example>\r\nIn-Reply-To: <t1@c.example>\r\n\r\n"
              "Hartelijk bedankt!\r\n").encode()
    r = intake.ingest_raw(service, thanks, "t")
    d = queries.ticket_detail(service, OPERATOR, 1)
    assert (r.status, r.ticket, d["status"]) == ("appended", 1, "resolved")
    assert [e["action"] for e in d["events"]][-2:] == ["thanks", "message"]
    more = mail(17, message_id="t3@c.example", in_reply_to="t1@c.example")  # a whole question
    intake.ingest_raw(service, more, "t")
    assert queries.ticket_detail(service, OPERATOR, 1)["status"] == "open"



def test_thanks_with_a_file_attached_reopens(service, clock):
    """"Thanks, here is the signed form" with only "Danke!" as text but a PDF attached is
    more than thanks: the resolved ticket reopens (German thanks, too)."""
    intake.ingest_raw(service, mail(18, message_id="u1@c.example"), "t")
    actions.resolve(service, OPERATOR, 1, None)
    clock.advance(days=1)
    sender = message_from_bytes(mail(18), policy=policy.default)["From"]
    head = (f"From: {sender}\r\nTo: support@desk.example\r\nSubject: Re: vraag\r\n"
            "In-Reply-To: <u1@c.example>\r\n")
    plain = (head + "Message-ID: <u2@c.example>\r\n\r\nVielen Dank!\r\n").encode()
    intake.ingest_raw(service, plain, "t")
    assert queries.ticket_detail(service, OPERATOR, 1)["status"] == "resolved"
    with_file = (head + "Message-ID: <u3@c.example>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                 "--b\r\nContent-Type: text/plain\r\n\r\nVielen Dank!\r\n"
                 "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=form.pdf\r\n\r\n"
                 "%PDF-1.4\r\n--b--\r\n").encode()
    intake.ingest_raw(service, with_file, "t")
    assert queries.ticket_detail(service, OPERATOR, 1)["status"] == "open"


def test_an_outlook_reply_with_only_its_thread_index_joins_the_ticket(service, clock):
    """Issue 13: Outlook's Thread-Index is read as well as written: a reply that lost its
    In-Reply-To, References and tag (subject changed) still joins its conversation's
    ticket, from the customer; from a stranger it is a new ticket linked to it."""
    from bot.core.mail import threadindex
    root = threadindex.new_thread_index(clock.now)
    first = (f"From: Jan <jan@klant.example>\r\nTo: support@desk.example\r\nSubject: Offerte\r\n"
             f"Message-ID: <o1@klant.example>\r\nThread-Index: {root}\r\n\r\nGraag een offerte.\r\n")
    a = intake.ingest_raw(service, first.encode(), "t")
    child = threadindex.child_thread_index(root, clock.now)
    reply = (f"From: Jan <jan@klant.example>\r\nTo: support@desk.example\r\nSubject: nog iets\r\n"
             f"Message-ID: <o2@klant.example>\r\nThread-Index: {child}\r\n\r\nEn de prijs?\r\n")
    b = intake.ingest_raw(service, reply.encode(), "t")
    assert (b.status, b.ticket) == ("appended", a.ticket)
    stranger = reply.replace("jan@klant.example", "eve@evil.example").replace("o2@", "o3@")
    c = intake.ingest_raw(service, stranger.encode(), "t")
    assert c.status == "created" and queries.ticket_detail(service, OPERATOR, c.ticket)["linked_ticket"] == a.ticket
    # the stranger's linked ticket is in the conversation too: the customer's next reply
    # with only its Thread-Index still joins the customer's own ticket, not the newest
    again = threadindex.child_thread_index(child, clock.now)
    later = (f"From: Jan <jan@klant.example>\r\nTo: support@desk.example\r\nSubject: levertijd\r\n"
             f"Message-ID: <o4@klant.example>\r\nThread-Index: {again}\r\n\r\nEn de levertijd?\r\n")
    d = intake.ingest_raw(service, later.encode(), "t")
    assert (d.status, d.ticket) == ("appended", a.ticket)
    # and the stranger writing again in it joins the stranger's own ticket, not the customer's
    e = intake.ingest_raw(service, later.replace("jan@klant.example", "eve@evil.example")
                          .replace("o4@", "o5@").encode(), "t")
    assert (e.status, e.ticket) == ("appended", c.ticket)


def test_a_mail_surely_in_another_language_is_acknowledged_in_english(make_desk, settings):
    """Issue 13: an Italian or a Japanese customer gets the acknowledgement in English,
    not in the desk's default (that is for mail whose language is unclear: numbers)."""
    italian = (b"From: Marco <marco@ditta.example>\r\nTo: support@desk.example\r\nSubject: Fattura\r\n"
               b"Message-ID: <it1@ditta.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
               + "Buongiorno, vorrei sapere quando arriverà la fattura del mese scorso. Cordiali saluti".encode()
               + b"\r\n")
    japanese = (b"From: Sato <sato@kaisha.example>\r\nTo: support@desk.example\r\nSubject: Hi\r\n"
                b"Message-ID: <ja1@kaisha.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                + "お世話になっております。先月の請求書について質問があります。".encode() + b"\r\n")
    unclear = (b"From: X <x@firma.example>\r\nTo: support@desk.example\r\nSubject: 2026-114\r\n"
               b"Message-ID: <un1@firma.example>\r\n\r\n2026-114 / 3\r\n")
    desk = make_desk(settings=dataclasses.replace(settings, default_language="nl"))
    for raw, lang in ((italian, "en"), (japanese, "en"), (unclear, "nl")):
        r = intake.ingest_raw(desk, raw, "t")
        assert queries.ticket_detail(desk, OPERATOR, r.ticket)["language"] == lang, raw[:40]
