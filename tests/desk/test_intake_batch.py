"""Issue 15: a batch of mail is written in a few flushes, not several per mail, and
what each mail's second phase reads (the customer card of the Slack thread root, the
invoice holds, the first message's files) still sees the rows the batch staged."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import unittest.mock
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from bot.core.mail.prepare import prepare
from bot.desk import card, intake
from bot.store import bulk
from bot.store.models import Company, CompanyDomain, Contract, Event, InvoiceHold, Outbox, RawMail, Ticket
from tests.conftest import START


def invoice_mail(i: int) -> bytes:
    return (f"From: Klant {i} <klant{i}@firma{i}.example>\r\nTo: support@desk.example\r\n"
            f"Subject: Factuur INV-2026-{1000 + i} klopt niet\r\n"
            f"Message-ID: <batch-{i}@firma{i}.example>\r\nDate: Mon, 02 Nov 2026 08:00:00 +0000\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"Goedemiddag,\r\n\r\nHet bedrag op factuurnummer INV-2026-{1000 + i} klopt niet "
            "met de offerte. Wilt u de factuur nakijken?\r\n\r\nMet vriendelijke groet,\r\n"
            f"Klant {i}\r\n").encode()


def test_a_batch_flushes_a_few_times_and_each_root_card_shows_its_own_holds(make_desk, settings):
    desk = make_desk(settings=dataclasses.replace(settings, slack_bot_token="xoxb-test",
                                                  slack_channel="C0TEAM0001"))
    mails = [invoice_mail(i) for i in range(12)]
    own = tuple(desk.settings.all_own_addresses)
    items = [prepare(raw, f"t:{i}", own) for i, raw in enumerate(mails)]
    flushes = []
    event.listen(desk.sessions, "after_flush", lambda *_: flushes.append(1))
    results = intake.ingest_prepared(desk, items)
    assert [r.status for r in results] == ["created"] * len(mails)
    # phase one, the acknowledgements and notices (read once), the commit: not one a mail
    assert len(flushes) <= 4, len(flushes)
    with desk.sessions() as s:
        holds = {}
        for h in s.scalars(select(InvoiceHold)):
            holds.setdefault(h.ticket_id, set()).add(h.invoice)
        roots = {r.ticket_id: json.loads(r.payload) for r in s.scalars(
            select(Outbox).where(Outbox.purpose == "slack-root"))}
    assert holds, "the corpus names invoices: they are held"
    assert set(roots) == {r.ticket for r in results}
    for ticket, invoices in holds.items():
        text = json.dumps(roots[ticket], ensure_ascii=False)
        # the card of the thread root names the holds staged for its ticket a moment before
        assert all(inv in text for inv in invoices), (ticket, invoices)


def company_mail(i: int, sender: str) -> bytes:
    return (f"From: {sender}\r\nTo: support@desk.example\r\nSubject: Vraag {i} over INV-2026-{2000 + i}\r\n"
            f"Message-ID: <card-{i}@example.org>\r\nDate: Mon, 02 Nov 2026 08:00:00 +0000\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"Goedemiddag,\r\n\r\nKunt u factuur INV-2026-{2000 + i} nog eens sturen?\r\n").encode()


def test_a_batch_reads_its_cards_at_once_and_each_card_is_what_the_ticket_alone_gives(
        make_desk, settings):
    """The cards of a batch's thread roots are read in a few queries for the whole batch
    (card.prefetch), and each is the card the per-ticket reading gives: contracts, the
    other open tickets (at most ten listed, all counted, the batch's own among them),
    holds of the same customer, for a known company and for a sender without one."""
    desk = make_desk(settings=dataclasses.replace(settings, slack_bot_token="xoxb-test",
                                                  slack_channel="C0TEAM0001"))
    now = desk.clock()
    with desk.uow.write() as s:
        company = Company(name="Bakkerij Stam", advisor=None, created_at=now, updated_at=now)
        s.add(company)
        s.add(CompanyDomain(company=company, domain="stam.example"))
        for n, status in enumerate(("active", "ended")):
            s.add(Contract(reference=f"C-{n}", company=company, status=status, created_at=now,
                           updated_at=now))
        s.flush()
        older = []
        for n in range(11):  # more earlier open tickets than a card lists
            t = Ticket(subject=f"eerder {n}", company_id=company.id, contact_email="jan@stam.example",
                       owner="ruud", created_at=now, updated_at=now)
            s.add(t)
            older.append(t)
        lone = Ticket(subject="eerder, zonder bedrijf", contact_email="piet@gmail.com",
                      owner="ruud", created_at=now, updated_at=now)
        s.add(lone)
        s.flush()
        s.add(InvoiceHold(ticket_id=older[0].id, invoice="INV-OLD-1", source="hand", held_at=now,
                          held_by="ruud"))
        s.add(InvoiceHold(ticket_id=lone.id, invoice="INV-OLD-2", source="hand", held_at=now,
                          held_by="ruud"))
    senders = ["Jan Stam <jan@stam.example>", "Els Stam <els@stam.example>",
               "Piet <piet@gmail.com>", "Jan Stam <jan@stam.example>"]
    own = tuple(desk.settings.all_own_addresses)
    items = [prepare(company_mail(i, who), f"c:{i}", own) for i, who in enumerate(senders)]
    shown: dict[int, dict] = {}
    alone: dict[int, dict] = {}
    real = card.card

    def spy(s, d, t):
        shown[t.id] = got = real(s, d, t)
        prefetched = s.info.pop(card.PREFETCHED, None)  # the same card read for this ticket alone
        counting.clear()
        try:
            alone[t.id] = real(s, d, t)
        finally:
            if prefetched is not None:
                s.info[card.PREFETCHED] = prefetched
            counting.append(True)
        return got

    selects: list[str] = []
    counting = [True]  # not while the spy reads a card the per-ticket way

    def listener(conn, cursor, statement, parameters, context, executemany):
        if counting and statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    with desk.uow.read() as s:
        engine = s.get_bind()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with unittest.mock.patch.object(card, "card", spy):
            results = intake.ingest_prepared(desk, items)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [r.status for r in results] == ["created"] * len(senders)
    assert set(shown) == {r.ticket for r in results}
    assert shown == alone
    first = shown[results[0].ticket]
    assert [c["reference"] for c in first["contracts"]] == ["C-0", "C-1"]
    assert len(first["open_tickets"]) == 10 and first["open_tickets_count"] == 11 + 2
    assert {h["invoice"] for h in first["open_holds"]} >= {"INV-OLD-1", "INV-2026-2000"}
    loner = shown[results[2].ticket]
    assert loner["open_tickets_count"] == 1 and loner["contracts"] == []
    assert {h["invoice"] for h in loner["open_holds"]} == {"INV-OLD-2", "INV-2026-2002"}
    # the cards' and holds' reads: a few for the batch, not three or four a ticket
    card_reads = [q for q in selects if "invoice_hold" in q or "FROM contract" in q
                  or "row_number" in q.lower()]
    assert len(card_reads) <= 4, card_reads


def test_mails_without_a_sender_are_not_one_customer_on_their_cards(make_desk, settings):
    """A mail without a From opens a ticket with no company and no address: its card
    lists no other tickets and only its own holds (not every sender-less ticket's, as
    `contact_email IS NULL` did), and the batch's prefetched card is that same card."""
    desk = make_desk(settings=dataclasses.replace(settings, slack_bot_token="xoxb-test",
                                                  slack_channel="C0TEAM0001"))
    now = desk.clock()
    with desk.uow.write() as s:
        earlier = Ticket(subject="zonder afzender", contact_email=None, owner="ruud",
                         created_at=now, updated_at=now)
        s.add(earlier)
        s.flush()
        s.add(InvoiceHold(ticket_id=earlier.id, invoice="INV-NULL-1", source="hand",
                          held_at=now, held_by="ruud"))
    own = tuple(desk.settings.all_own_addresses)
    items = [prepare(company_mail(i, "Jan <jan@stam.example>").replace(
        b"From: Jan <jan@stam.example>\r\n", b""), f"n:{i}", own) for i in range(2)]
    shown: dict[int, dict] = {}
    alone: dict[int, dict] = {}
    real = card.card

    def spy(s, d, t):
        shown[t.id] = got = real(s, d, t)
        prefetched = s.info.pop(card.PREFETCHED, None)
        try:
            alone[t.id] = real(s, d, t)
        finally:
            if prefetched is not None:
                s.info[card.PREFETCHED] = prefetched
        return got

    with unittest.mock.patch.object(card, "card", spy):
        results = intake.ingest_prepared(desk, items)
    assert [r.status for r in results] == ["created", "created"]
    assert set(shown) == {r.ticket for r in results}
    assert shown == alone
    for r, i in zip(results, range(2), strict=True):
        got = shown[r.ticket]
        assert got["open_tickets"] == [] and got["open_tickets_count"] == 0
        assert got["open_holds"] == [{"invoice": f"INV-2026-{2000 + i}", "ticket": r.ticket}]


def test_a_batchs_events_are_one_insert_in_the_order_they_happened(make_desk, settings):
    """The events a batch records (created, routed, notified, held, ...: four to five a
    mail) are written at its end with one INSERT (SQLite) or one COPY (PostgreSQL),
    not an ORM object each; their numbers keep the order they were recorded in, mail
    by mail, as the ticket's history shows them. The raw mails likewise, each with its
    ticket's number."""
    desk = make_desk(settings=dataclasses.replace(settings, slack_bot_token="xoxb-test",
                                                  slack_channel="C0TEAM0001"))
    own = tuple(desk.settings.all_own_addresses)
    items = [prepare(invoice_mail(i), f"t:{i}", own) for i in range(12)]
    inserts = []
    engine = desk.sessions.kw["bind"]

    raw_inserts = []

    def count(_conn, _cursor, statement, *_):
        if statement.lstrip().upper().startswith("INSERT INTO EVENT"):
            inserts.append(statement)
        if statement.lstrip().upper().startswith("INSERT INTO RAW_MAIL"):
            raw_inserts.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        results = intake.ingest_prepared(desk, items)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [r.status for r in results] == ["created"] * len(items)
    assert len(inserts) <= 1, inserts  # PostgreSQL: a COPY, which is no INSERT
    assert len(raw_inserts) <= 1, raw_inserts
    with desk.sessions() as s:
        kept = dict(s.execute(select(RawMail.source, RawMail.ticket_id)).all())
    assert kept == {r.source: r.ticket for r in results}
    # the same history, action by action in the same order, as the same mails get
    # with an ORM object per event (deferral off), a day later on the same database
    later = make_desk(start=START + timedelta(days=1), customers=None, contracts=None,
                      settings=desk.settings)
    again = [prepare(invoice_mail(i + 100), f"t:{i}", own) for i in range(12)]
    with unittest.mock.patch.object(intake.events, "deferred", lambda s: contextlib.nullcontext()):
        results_orm = intake.ingest_prepared(later, again)
    assert [r.status for r in results_orm] == ["created"] * len(again)

    def history(numbers: list[int]) -> list[tuple[int, str]]:
        first = min(numbers)
        with desk.sessions() as s:
            return [(n - first, action) for n, action in s.execute(
                select(Event.ticket_id, Event.action).where(Event.ticket_id.in_(numbers))
                .order_by(Event.id))]
    deferred = history([r.ticket for r in results])
    assert [a for _, a in deferred[:2]] == ["created", "routed"]
    assert len(deferred) >= 3 * len(items)
    assert deferred == history([r.ticket for r in results_orm])


def test_events_of_a_failed_batch_are_not_written_and_the_retry_writes_them_once(make_desk):
    """A batch that fails part way (here: a mail whose routing raises) is rolled back
    with every event it had recorded, and retried mail by mail: each stored mail's
    events are there once, the failed one is quarantined."""
    desk = make_desk()
    own = tuple(desk.settings.all_own_addresses)
    items = [prepare(invoice_mail(i), f"t:{i}", own) for i in range(3)]
    real = intake.routing.decide

    def decide(s, rs, msg, now, **kw):
        if msg.message_id == "batch-1@firma1.example":
            raise RuntimeError("routing failed")
        return real(s, rs, msg, now, **kw)
    with unittest.mock.patch.object(intake.routing, "decide", decide):
        results = intake.ingest_prepared(desk, items)
    assert [r.status for r in results] == ["created", "quarantined", "created"]
    with desk.sessions() as s:
        created = s.scalars(select(Event.ticket_id).where(Event.action == "created")).all()
    assert sorted(created) == sorted(r.ticket for r in results if r.ticket is not None)


def test_a_duplicate_key_in_a_bulk_insert_is_an_integrity_error(make_desk):
    """Rows written in bulk (SQLite: one INSERT; PostgreSQL: COPY on the driver's cursor)
    fail as a statement does, with SQLAlchemy's IntegrityError: the intake tells a mail
    stored meanwhile by another intake (a duplicate) from a bug by it."""
    desk = make_desk(customers=None, contracts=None)
    row = {"dedupe_key": "mid:dup@example.org", "sha256": "0" * 64, "size": 1, "content": b"x",
           "source": "t", "status": "created", "error": None, "ticket_id": None,
           "received_at": desk.clock()}
    with desk.uow.write() as s:
        bulk.insert_rows(s, RawMail, [dict(row)])
    with pytest.raises(IntegrityError), desk.uow.write() as s:
        bulk.insert_rows(s, RawMail, [dict(row)])
