"""The customer card: who the ticket's customer is, for the owner to act without looking
anything up (company, contact, advisor, contracts with their status and notice deadline,
other open tickets, invoices on hold). Read inside the caller's transaction; the web
dossier, `/ticket show` and the Slack thread root show it (queries.customer_card checks
who may see it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.domain import CLOSED
from bot.desk.context import Desk
from bot.desk.views import contract_dict
from bot.store.models import Company, Contact, Contract, InvoiceHold, Ticket
from bot.store.unit_of_work import flush_if_staged, staged


def card(s: Session, desk: Desk, t: Ticket) -> dict[str, Any]:
    # flushed only when a ticket, company, contact or contract waits to be written (the
    # reads below see them then) or a hold was changed; holds staged in this session are
    # added from it: the outbox rows and events a batch of mail stages wait for its commit
    flush_if_staged(s, Ticket, Company, Contact, Contract)
    if any(isinstance(obj, InvoiceHold) for obj in (*s.dirty, *s.deleted)):
        s.flush()
    with s.no_autoflush:
        return _card(s, desk, t)


def _card(s: Session, desk: Desk, t: Ticket) -> dict[str, Any]:
    today = desk.clock().astimezone(desk.tz).date()
    company, contact = t.company, t.contact
    advisor = desk.ruleset.people.get(company.advisor) if company and company.advisor else None
    contracts = [contract_dict(c, today) for c in (company.contracts if company else [])]
    same_customer = ((Ticket.company_id == company.id) if company
                     else (Ticket.contact_email == t.contact_email))
    others = s.execute(select(Ticket.id, Ticket.subject, Ticket.status).where(
        Ticket.id != t.id, Ticket.status.not_in(CLOSED), same_customer)
        .order_by(Ticket.id.desc()).limit(10)).all()
    others_count = len(others) if len(others) < 10 else len(s.execute(select(Ticket.id).where(
        Ticket.id != t.id, Ticket.status.not_in(CLOSED), same_customer)).all())
    held_rows = s.execute(select(InvoiceHold.invoice, InvoiceHold.ticket_id)
                     .join(Ticket, Ticket.id == InvoiceHold.ticket_id)
                     .where(InvoiceHold.released_at.is_(None),
                            (Ticket.id == t.id) | same_customer)
                     .order_by(InvoiceHold.id)).all()
    held: list[tuple[str, int | None]] = [*((inv, n) for inv, n in held_rows), *(
        (h.invoice, h.ticket_id) for h in staged(s, InvoiceHold)
        if h.released_at is None and _same(s.get(Ticket, h.ticket_id), t, company))]
    # the contract that matters now: the first that is not ended, else the latest
    current = next((c for c in contracts if c["status"] != "ended"), contracts[-1] if contracts else None)
    return {
        "company": company.name if company else t.customer,
        "prospect": bool(company and company.prospect), "known": company is not None,
        "contact": contact.name if contact else t.contact_name, "email": t.contact_email,
        "phone": contact.phone if contact else None,
        "advisor": advisor.name if advisor else (company.advisor if company else None),
        "contracts": contracts,
        "contract": current,
        "open_tickets": [{"number": n, "subject": subj, "status": str(st)} for n, subj, st in others],
        "open_tickets_count": others_count,
        "open_holds": [{"invoice": inv, "ticket": n} for inv, n in held],
    }


def _same(other: Ticket | None, t: Ticket, company) -> bool:
    """Whether a ticket is this one or the same customer's (as the card's query asks)."""
    if other is None:
        return False
    if other is t:
        return True
    return other.company_id == company.id if company is not None else other.contact_email == t.contact_email
