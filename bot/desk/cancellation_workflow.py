"""The written-cancellation workflow (procedure S 3.4), desk side.

On a new cancellation ticket: find the customer's contract, judge the notice (in time or
not, the real end date: bot/core/contracts.py), record the customer's reason, give the advisor
24 hours to call (due date on the ticket) and mail them a copy. Later the advisor records
the outcome: retained, or lost with a reason; lost ends the contract on its effective
date and gives sales support a task to revoke the customer's website access.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.core import contracts
from bot.core.cancellation_text import extract_reason
from bot.core.domain import ContractStatus, InboundMessage
from bot.core.rules.schema import RuleSet
from bot.core.time.humanize import format_date
from bot.desk import directory
from bot.desk.errors import Refused
from bot.desk.events import record
from bot.store.models import Cancellation, Contract, Task, Ticket

ADVISOR_CONTACT = timedelta(hours=24)
OUTCOMES = ("retained", "lost")


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def open_cancellation(s: Session, ticket: Ticket, msg: InboundMessage, now: datetime,
                      tz: str, received_at: datetime | None = None) -> Cancellation:
    """received_at: when the notice reached us (may be before now: a spool or IMAP backlog)."""
    received = local_date(received_at or now, tz)
    company = ticket.company
    contract = (directory.find_contract(s, company.id, received)
                if company is not None and company.id is not None else None)
    c = Cancellation(ticket=ticket, contract=contract, received_on=received,
                     reason=extract_reason(msg.visible_text or msg.text or ""))
    if contract is not None:
        o = contracts.notice_outcome(received, contract.end, auto_renew=contract.auto_renew,
                                     term_months=contract.term_months,
                                     notice_months=contract.notice_months)
        c.in_time, c.deadline, c.effective_end = o.in_time, o.deadline, o.effective_end
        explanation = o.explanation
    else:
        explanation = ("no contract found for this sender: check the customer and the contract "
                       "by hand before confirming an end date")
    s.add(c)
    if ticket.action_due_at is None:  # the SLA policy's first-action due, if it has one
        ticket.action_due_at = now + ADVISOR_CONTACT
    record(s, ticket, now, "system", "cancellation",
           {"contract": contract.reference if contract else None,
            "received": received.isoformat(), "in_time": c.in_time,
            "deadline": c.deadline.isoformat() if c.deadline else None,
            "effective_end": c.effective_end.isoformat() if c.effective_end else None,
            "advisor_due": ticket.action_due_at.isoformat()},
           explanation)
    return c


def ack_context(c: Cancellation, language: str | None) -> dict:
    return {"contract": c.contract.reference if c.contract else None,
            "in_time": bool(c.in_time), "received": format_date(c.received_on, language),
            "deadline": format_date(c.deadline, language),
            "effective_end": format_date(c.effective_end, language)}


def copy_context(c: Cancellation, ticket: Ticket, rs: RuleSet, msg: InboundMessage,
                 language: str, tz: str) -> dict:
    owner = rs.people.get(ticket.owner)
    contact = ticket.contact
    due = (ticket.action_due_at or ticket.created_at).astimezone(ZoneInfo(tz))  # set on opening
    return {**ack_context(c, language),
            "owner_name": owner.name if owner else ticket.owner,
            "customer": ticket.customer or msg.from_addr, "contact_name": msg.from_name or "",
            "contact_email": msg.from_addr, "contact_phone": contact.phone if contact else None,
            "reason": c.reason, "due": f"{format_date(due.date(), language)} {due:%H:%M}",
            "ticket": ticket.id, "text": msg.visible_text or msg.text or ""}


def record_outcome(s: Session, rs: RuleSet, ticket: Ticket, outcome: str, reason: str | None,
                   by: str, now: datetime, tz: str) -> Cancellation:
    c = ticket.cancellation
    if c is None:
        raise Refused(f"ticket {ticket.id} is not a written cancellation", code="not-cancellation",
                      ticket=ticket.id)
    if outcome not in OUTCOMES:
        raise Refused(f"outcome must be one of {', '.join(OUTCOMES)}")
    if c.outcome != "pending":
        raise Refused(f"ticket {ticket.id}: the outcome was already recorded as {c.outcome} "
                      f"by {c.decided_by}", code="outcome-recorded", ticket=ticket.id,
                      outcome=c.outcome, by=c.decided_by)
    reason = (reason or "").strip()
    if outcome == "lost" and not reason:
        raise Refused("a lost customer needs a reason (--reason)", code="lost-needs-reason")
    c.outcome, c.outcome_reason, c.decided_by, c.decided_at = outcome, reason or None, by, now
    if ticket.first_action_at is None:
        ticket.first_action_at = now  # the retention talk was the first action
    ticket.updated_at = now
    detail: dict = {"outcome": outcome}
    if outcome == "lost":
        contract: Contract | None = c.contract
        if contract is not None:
            contract.status = ContractStatus.CANCELLED
            contract.ends_on = c.effective_end
            contract.updated_at = now
            detail["contract_ends_on"] = c.effective_end.isoformat() if c.effective_end else None
        assignee = rs.resolve("sales_support") or rs.resolve(rs.default_owner)
        # Revoke when the contract has run out: the start of the day after it ends.
        if c.effective_end is not None:
            due_day = c.effective_end + timedelta(days=1)
            due = datetime.combine(due_day, time(0, 0), ZoneInfo(tz))
        else:
            due = now + timedelta(days=1)
        task = Task(ticket_id=ticket.id, kind="revoke-website-access", assignee=assignee,
                    title=f"Revoke the website access of {ticket.customer or 'the customer'}"
                          + (f" (contract {contract.reference} ends {c.effective_end})"
                             if contract is not None and c.effective_end else ""),
                    due_at=due, created_at=now)
        s.add(task)
        s.flush()  # the task's number, for the history and the task.created webhook
        detail["task"] = {"id": task.id, "kind": task.kind, "title": task.title,
                          "assignee": assignee, "due": due.isoformat()}
    record(s, ticket, now, by, f"cancellation-{outcome}", detail, reason or None)
    return c
