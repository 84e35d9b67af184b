"""Invoice holds (aftersales procedure 001, receivables): while a complaint about an
invoice is open, that invoice must not go to collection. A ticket routed to receivables
holds the invoice numbers the customer's text names (bot/core/invoices.py); the kind's
`invoice` field and staff (the `hold_invoice` action) add or remove one; resolving the
ticket releases them all. Every hold and every release is an event on the ticket.

These helpers work inside the caller's transaction and check no permission: the desk
actions (bot/desk/actions.py) and the intake (the routing decision) call them."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import invoices
from bot.core.domain import InboundMessage
from bot.desk import card
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.events import record
from bot.store.models import InvoiceHold, Ticket
from bot.store.unit_of_work import staged

RECEIVABLES = "receivables"
INVOICE_FIELDS = ("invoice", "invoice_number")  # kind fields that name a held invoice
CSV_COLUMNS = ("invoice", "ticket", "customer", "contact", "subject", "owner", "status",
               "held_since", "held_by", "source")


def open_holds(s: Session, ticket: Ticket) -> list[InvoiceHold]:
    return list(s.scalars(select(InvoiceHold).where(
        InvoiceHold.ticket_id == ticket.id, InvoiceHold.released_at.is_(None))
        .order_by(InvoiceHold.id)))


def hold(s: Session, ticket: Ticket, invoice: str, now: datetime, by: str,
         source: str) -> InvoiceHold | None:
    """Hold `invoice` for this ticket; None when it is held for it already."""
    if ticket.id is None:  # staged in this session: its number first
        s.flush()
    held = card.holds_of(s, ticket)  # a batch of new tickets read its holds at once
    if held is None:
        with s.no_autoflush:  # the holds staged in this session are added below, unflushed
            held = [*open_holds(s, ticket),
                    *(h for h in staged(s, InvoiceHold) if h.ticket_id == ticket.id)]
    if any(h.released_at is None and h.invoice.upper() == invoice.upper() for h in held):
        return None
    row = InvoiceHold(ticket_id=ticket.id, invoice=invoice, source=source, held_at=now,
                      held_by=by)
    s.add(row)
    card.hold_added(s, row, ticket)
    record(s, ticket, now, by, "invoice-hold", {"invoice": invoice, "source": source})
    return row


def release(s: Session, ticket: Ticket, invoice: str | None, now: datetime, by: str,
            reason: str) -> list[str]:
    """Release one held invoice (or all, `invoice=None`); the invoices released."""
    done = []
    for h in open_holds(s, ticket):
        if invoice is None or h.invoice.upper() == invoice.upper():
            h.released_at, h.released_by = now, by
            record(s, ticket, now, by, "invoice-released", {"invoice": h.invoice}, reason)
            done.append(h.invoice)
    return done


def on_routed(s: Session, ticket: Ticket, msg: InboundMessage, now: datetime) -> list[str]:
    """A new ticket routed to receivables (or of kind invoice): hold every invoice its
    subject and text name. Runs once the ticket has its number (after the flush)."""
    if ticket.owner_role != RECEIVABLES and ticket.kind != "invoice":
        return []
    numbers = invoices.find(f"{msg.subject or ''}\n{msg.visible_text or msg.text or ''}")
    return [n for n in numbers if hold(s, ticket, n, now, "rules", "text") is not None]


def hold_dict(h: InvoiceHold, ticket: Ticket | None, tag: str, tz: ZoneInfo) -> dict[str, Any]:
    return {"invoice": h.invoice, "ticket": h.ticket_id, "tag": tag,
            "customer": ticket.customer if ticket else None,
            "contact": ticket.contact_email if ticket else None,
            "subject": ticket.subject if ticket else None,
            "owner": ticket.owner if ticket else None,
            "status": str(ticket.status) if ticket else None,
            "held_since": local_iso(h.held_at, tz), "held_by": h.held_by, "source": h.source,
            "released": local_iso(h.released_at, tz), "released_by": h.released_by}


def local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """A time as a person reads it: the desk's time zone, with its offset, no microseconds."""
    return value.astimezone(tz).replace(microsecond=0).isoformat() if value else None


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow([r.get(c) or "" for c in CSV_COLUMNS])
    return out.getvalue()


def list_holds(desk: Desk, actor: Actor, open_only: bool = True) -> list[dict[str, Any]]:
    """The invoices on hold (with their tickets), oldest first; `open_only=False`: the
    released ones too."""
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        q = (select(InvoiceHold, Ticket).join(Ticket, Ticket.id == InvoiceHold.ticket_id)
             .order_by(InvoiceHold.held_at, InvoiceHold.id))
        if open_only:
            q = q.where(InvoiceHold.released_at.is_(None))
        return [hold_dict(h, t, desk.tag(t.id), desk.tz) for h, t in s.execute(q)]


def open_rows(s: Session, desk: Desk) -> list[dict[str, Any]]:
    """The open holds, read in the caller's transaction (the scheduled export)."""
    q = (select(InvoiceHold, Ticket).join(Ticket, Ticket.id == InvoiceHold.ticket_id)
         .where(InvoiceHold.released_at.is_(None)).order_by(InvoiceHold.held_at, InvoiceHold.id))
    return [hold_dict(h, t, desk.tag(t.id), desk.tz) for h, t in s.execute(q)]
