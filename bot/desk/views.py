"""Tickets, tasks and cancellations as plain data (dicts of JSON-ready values): what
every channel renders, the CLI as text or JSON, Slack as mrkdwn, the web as HTML."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from bot.core.contracts import add_months
from bot.desk.context import Desk
from bot.store.models import Cancellation, Contract, Task, Ticket

MAX_NUMBER = 2**31 - 1  # ticket and task numbers are 32-bit integers in every database


def valid_number(number: int) -> bool:
    """A number that can be a ticket's or a task's (1 up to 2**31 - 1): anything else,
    e.g. a 23-digit number typed in Slack, is simply no ticket, never an error."""
    return 0 < number <= MAX_NUMBER


def aware(value: datetime | None) -> datetime | None:
    """A stored time as UTC-aware (SQLite gives it back naive)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def like_escape(text: str) -> str:
    """Text for a LIKE pattern (with escape="\\"): its % and _ match themselves."""
    return re.sub(r"([\\%_])", r"\\\1", text)


def contains(words: str) -> str:
    """The LIKE pattern of lower-case text that holds ``words``, literally."""
    return "%" + like_escape(words.lower()) + "%"


def contract_dict(c: Contract, today: date) -> dict[str, Any]:
    """A contract with its notice deadline: the last day a written cancellation is in
    time for the current term (and whether that day has passed)."""
    deadline = add_months(c.end, -c.notice_months) if c.end else None
    return {"reference": c.reference, "status": str(c.status), "start": iso(c.start), "end": iso(c.end),
            "auto_renew": c.auto_renew, "notice_months": c.notice_months, "notice_deadline": iso(deadline),
            "deadline_passed": bool(deadline and deadline < today), "ends_on": iso(c.ends_on)}


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def cancellation_dict(c: Cancellation) -> dict[str, Any]:
    return {"contract": c.contract.reference if c.contract else None,
            "received": iso(c.received_on), "in_time": c.in_time,
            "deadline": iso(c.deadline), "effective_end": iso(c.effective_end),
            "reason": c.reason, "outcome": c.outcome, "outcome_reason": c.outcome_reason,
            "decided_by": c.decided_by, "decided_at": iso(c.decided_at),
            "contract_status": c.contract.status if c.contract else None,
            "contract_ends_on": iso(c.contract.ends_on) if c.contract else None}


def task_dict(t: Task) -> dict[str, Any]:
    return {"id": t.id, "ticket": t.ticket_id, "kind": t.kind, "title": t.title,
            "assignee": t.assignee, "due": iso(t.due_at), "done": iso(t.done_at)}


def ticket_dict(desk: Desk, t: Ticket) -> dict[str, Any]:
    return {
        "number": t.id, "tag": desk.tag(t.id), "kind": t.kind,
        "status": str(t.status), "subject": t.subject, "customer": t.customer,
        "contact": t.contact_email, "contact_name": t.contact_name, "reply_to": t.reply_to,
        "owner": t.owner,
        "owner_role": t.owner_role, "rule": t.rule, "category": t.category,
        "priority": t.priority, "urgent": t.urgent, "channel": str(t.channel),
        "language": t.language,
        "action_due": iso(t.action_due_at), "fields": dict(t.fields or {}),
        "bounced": t.bounced, "linked_ticket": t.linked_ticket_id,
        "created": iso(t.created_at), "updated": iso(t.updated_at),
        "first_action": iso(t.first_action_at), "resolved": iso(t.resolved_at),
        "sla": {"policy": t.sla_policy, "first_action_due": iso(t.first_action_due_at),
                "next_action_due": iso(t.next_action_due_at),
                "resolution_due": iso(t.resolution_due_at),
                "waiting_since": iso(t.waiting_since), "next_check": iso(t.sla_next_at)},
    }
