"""Issue 15: a batch of mail is written in a few flushes, not several per mail, and
what each mail's second phase reads (the customer card of the Slack thread root, the
invoice holds, the first message's files) still sees the rows the batch staged."""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import event, select

from bot.core.mail.prepare import prepare
from bot.desk import intake
from bot.store.models import InvoiceHold, Outbox


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
