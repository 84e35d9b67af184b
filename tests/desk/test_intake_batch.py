"""Issue 15: a batch of mail is written in a few flushes, not several per mail, and
what each mail's second phase reads (the customer card of the Slack thread root, the
invoice holds, the first message's files) still sees the rows the batch staged."""

from __future__ import annotations

import dataclasses
import json
import unittest.mock

from sqlalchemy import event, select

from bot.core.mail.prepare import prepare
from bot.desk import card, intake
from bot.store.models import Company, CompanyDomain, Contract, InvoiceHold, Outbox, Ticket


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
