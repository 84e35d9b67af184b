"""The ticket's history: every change is an event naming who did it and why. Record
events here: this is also where they become webhooks (bot/desk/webhooks.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.core.webhooks import events_of
from bot.desk import webhooks
from bot.store.bulk import insert_rows
from bot.store.models import Event, Ticket, fit_row


def record(s: Session, ticket: Ticket | None, now: datetime, actor: str, action: str,
           detail: dict[str, Any] | None = None, reason: str | None = None) -> Event:
    event = Event(ticket=ticket, at=now, actor=actor[:200], action=action, detail=detail,
                  reason=reason)
    s.add(event)
    webhooks.enqueue(s, event)  # the webhooks it is, queued in this transaction
    return event


def row(ticket: Ticket | None, now: datetime, actor: str, action: str,
        detail: dict[str, Any] | None = None, reason: str | None = None) -> dict[str, Any]:
    """`record`'s event as a row for `insert_many`."""
    return {"ticket_id": ticket.id if ticket is not None else None, "at": now,
            "actor": actor[:200], "action": action, "detail": detail, "reason": reason}


def insert_many(s: Session, rows: list[dict[str, Any]]) -> None:
    """Events (`row`s, in order) written with one multi-row INSERT rather than one object
    each (the SLA sweep's thousands): the same rows, and the same webhooks queued in the
    same transaction, as `record` gives."""
    if not rows:
        return
    hooked = [i for i, r in enumerate(rows) if events_of(r["action"], r["detail"])]
    subs = webhooks.subscriptions(s) if hooked else []
    if not subs:
        insert_rows(s, Event, rows)
        return
    rows = [fit_row(Event, r) for r in rows]
    ids = s.scalars(insert(Event).returning(Event.id, sort_by_parameter_order=True), rows).all()
    # the inserted events as (unsaved) objects for the webhooks' payloads; their tickets
    # are this session's
    webhooks.queue(s, [Event(id=ids[i], **rows[i]) for i in hooked], subs)
