"""The customer card: who the ticket's customer is, for the owner to act without looking
anything up (company, contact, advisor, contracts with their status and notice deadline,
other open tickets, invoices on hold). Read inside the caller's transaction; the web
dossier, `/ticket show` and the Slack thread root show it (queries.customer_card checks
who may see it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.core.domain import CLOSED
from bot.desk.context import Desk
from bot.desk.views import contract_dict
from bot.store.models import Company, Contact, Contract, InvoiceHold, Ticket
from bot.store.unit_of_work import flush_if_staged, staged

# Session.info key: what `prefetch` read for a batch of new tickets' cards
PREFETCHED = "card_prefetch"
SHOWN = 10  # other open tickets listed on a card


def card(s: Session, desk: Desk, t: Ticket) -> dict[str, Any]:
    # flushed only when a ticket, company, contact or contract waits to be written (the
    # reads below see them then) or a hold was changed; holds staged in this session are
    # added from it: the outbox rows and events a batch of mail stages wait for its commit
    flush_if_staged(s, Ticket, Company, Contact, Contract)
    pf = s.info.get(PREFETCHED)
    if pf is not None and t.id in pf["tickets"]:
        return _card_prefetched(s, desk, t, pf)
    if any(isinstance(obj, InvoiceHold) for obj in (*s.dirty, *s.deleted)):
        s.flush()
    with s.no_autoflush:
        return _card(s, desk, t)


def prefetch(s: Session, tickets: list[Ticket]) -> None:
    """Read what the cards of a batch of new tickets show, once for the batch: three
    queries in all instead of three per ticket (the intake posts a card per new ticket).
    Call it once the tickets are flushed; the cards then read the session's state: the
    holds `hold_added` reports, each hold's release as it happens, the other open
    tickets as they were at the flush (a batch of mail opens tickets, it closes none)."""
    tickets = [t for t in tickets if t.id is not None]
    if not tickets:
        return
    flush_if_staged(s, Ticket, Company, Contact, Contract)
    companies = {t.company.id: t.company for t in tickets if t.company is not None}
    emails = {t.contact_email for t in tickets if t.company is None and t.contact_email}
    with s.no_autoflush:
        unloaded = [c for c in companies.values() if "contracts" not in c.__dict__]
        if unloaded:
            by_company: dict[int, list[Contract]] = {c.id: [] for c in unloaded}
            for contract in s.scalars(select(Contract).where(Contract.company_id.in_(by_company))
                                 .order_by(Contract.id)):
                by_company[contract.company_id].append(contract)
            for c in unloaded:
                set_committed_value(c, "contracts", by_company[c.id])
        others: dict[tuple[str, object], list] = {}
        for column, keys, tag in ((Ticket.company_id, set(companies), "company"),
                                  (Ticket.contact_email, emails, "email")):
            if not keys:
                continue
            place = func.row_number().over(partition_by=column, order_by=Ticket.id.desc())
            total = func.count().over(partition_by=column)
            q = select(Ticket.id, Ticket.subject, Ticket.status, column.label("key"),
                       place.label("place"), total.label("total")).where(
                Ticket.status.not_in(CLOSED), column.in_(keys)).subquery()
            for row in s.execute(select(q).where(q.c.place <= SHOWN + 1)):
                others.setdefault((tag, row.key), []).append(row)
        holds = list(s.scalars(
            select(InvoiceHold).join(Ticket, Ticket.id == InvoiceHold.ticket_id)
            .where(InvoiceHold.released_at.is_(None), or_(
                Ticket.id.in_([t.id for t in tickets]),
                *([Ticket.company_id.in_(companies)] if companies else []),
                *([Ticket.contact_email.in_(emails)] if emails else [])))
            .order_by(InvoiceHold.id)))
        owners = {t.id: t for t in s.scalars(select(Ticket).where(
            Ticket.id.in_({h.ticket_id for h in holds})))} if holds else {}
    pf: dict[str, Any] = {"tickets": {t.id for t in tickets}, "others": others, "holds": [],
                          "holds_by": {}}
    for h in holds:
        _add_hold(pf, h, owners.get(h.ticket_id))
    s.info[PREFETCHED] = pf


def hold_added(s: Session, hold: InvoiceHold, ticket: Ticket) -> None:
    """A hold staged while a batch's cards are prefetched: they show it too."""
    pf = s.info.get(PREFETCHED)
    if pf is not None:
        _add_hold(pf, hold, ticket)


def _add_hold(pf: dict[str, Any], hold: InvoiceHold, owner: Ticket | None) -> None:
    """Keep the hold, and its place under each key it is looked up by (its ticket's
    number; for a card also the ticket's company and address): a batch's cards and
    holds would otherwise each read every hold of the batch's customers."""
    place = len(pf["holds"])
    pf["holds"].append((hold, owner))
    keys: list[tuple[str, object]] = [("ticket", hold.ticket_id)]
    if owner is not None:
        keys += [("company", owner.company_id), ("email", owner.contact_email)]
    for key in keys:
        if key[1] is not None and key[1] != "":
            pf["holds_by"].setdefault(key, []).append(place)


def holds_of(s: Session, t: Ticket) -> list[InvoiceHold] | None:
    """The ticket's open holds when its batch's cards are prefetched (None: ask the
    database)."""
    pf = s.info.get(PREFETCHED)
    if pf is None or t.id not in pf["tickets"]:
        return None
    holds = pf["holds"]
    return [h for h in (holds[i][0] for i in pf["holds_by"].get(("ticket", t.id), ()))
            if h.released_at is None]


def _card_prefetched(s: Session, desk: Desk, t: Ticket, pf: dict[str, Any]) -> dict[str, Any]:
    company = t.company
    key = ("company", company.id) if company is not None else ("email", t.contact_email)
    rows = sorted(pf["others"].get(key, ()), key=lambda r: r.place)
    others = [(r.id, r.subject, r.status) for r in rows if r.id != t.id][:SHOWN]
    # the total counts this ticket too when it is open (it is of the same customer)
    count = max(0, rows[0].total - (t.status not in CLOSED)) if rows else 0
    # the holds of this ticket and of its customer (`_same`: its company, or without
    # one its address), in the order they were read or added
    by = pf["holds_by"]
    customer = ("company", company.id) if company is not None else ("email", t.contact_email or None)
    places = sorted({*by.get(("ticket", t.id), ()), *(by.get(customer, ()) if customer[1] else ())})
    held = [(h.invoice, h.ticket_id) for h, _ in (pf["holds"][i] for i in places)
            if h.released_at is None]
    return _shape(desk, t, others, count, held)


def _card(s: Session, desk: Desk, t: Ticket) -> dict[str, Any]:
    company = t.company
    # no company and no address (a mail without a From): no other ticket is its customer's
    # (`contact_email == None` would be IS NULL: every sender-less ticket, anyone's)
    same_customer = ((Ticket.company_id == company.id) if company
                     else (Ticket.contact_email == t.contact_email) if t.contact_email
                     else false())
    others = s.execute(select(Ticket.id, Ticket.subject, Ticket.status).where(
        Ticket.id != t.id, Ticket.status.not_in(CLOSED), same_customer)
        .order_by(Ticket.id.desc()).limit(SHOWN)).all()
    others_count = len(others) if len(others) < SHOWN else len(s.execute(select(Ticket.id).where(
        Ticket.id != t.id, Ticket.status.not_in(CLOSED), same_customer)).all())
    held_rows = s.execute(select(InvoiceHold.invoice, InvoiceHold.ticket_id)
                     .join(Ticket, Ticket.id == InvoiceHold.ticket_id)
                     .where(InvoiceHold.released_at.is_(None),
                            (Ticket.id == t.id) | same_customer)
                     .order_by(InvoiceHold.id)).all()
    held: list[tuple[str, int | None]] = [*((inv, n) for inv, n in held_rows), *(
        (h.invoice, h.ticket_id) for h in staged(s, InvoiceHold)
        if h.released_at is None and _same(s.get(Ticket, h.ticket_id), t, company))]
    return _shape(desk, t, others, others_count, held)


def _shape(desk: Desk, t: Ticket, others: Any, others_count: int,
           held: list[tuple[str, int | None]]) -> dict[str, Any]:
    today = desk.clock().astimezone(desk.tz).date()
    company, contact = t.company, t.contact
    advisor = desk.ruleset.people.get(company.advisor) if company and company.advisor else None
    contracts = [contract_dict(c, today) for c in (company.contracts if company else [])]
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
    if company is not None:
        return other.company_id == company.id
    return bool(t.contact_email) and other.contact_email == t.contact_email
