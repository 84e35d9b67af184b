"""The ticket's history: every change is an event naming who did it and why. Record
events here: this is also where they become webhooks (bot/desk/webhooks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.core.webhooks import events_of
from bot.desk import webhooks
from bot.store import search_index
from bot.store.bulk import insert_rows, staging
from bot.store.models import Event, Ticket, fit_row

# Session.info key: while `deferred` runs (a batch of mail being stored), the events
# recorded wait here as (ticket, row) and are written, in the order they were recorded,
# with one multi-row INSERT at its end.
DEFERRED = "events_deferred"


def record(s: Session, ticket: Ticket | None, now: datetime, actor: str, action: str,
           detail: dict[str, Any] | None = None, reason: str | None = None) -> None:
    pending = s.info.get(DEFERRED)
    if pending is not None:
        pending.append((ticket, row(None, now, actor, action, detail, reason)))
        return
    event = Event(ticket=ticket, at=now, actor=actor[:200], action=action, detail=detail,
                  reason=reason)
    s.add(event)
    webhooks.enqueue(s, event)  # the webhooks it is, queued in this transaction


def add_rows(s: Session, rows: list[dict[str, Any]]) -> None:
    """Events already as `row`s (their tickets numbered), in order: deferred while
    `deferred` runs, else added to the session like `record`'s."""
    pending = s.info.get(DEFERRED)
    if pending is not None:
        pending.extend((None, r) for r in rows)
        return
    for r in rows:
        event = Event(**r)
        s.add(event)
        webhooks.enqueue(s, event)


@contextmanager
def deferred(s: Session) -> Iterator[None]:
    """Record the block's events as rows and write them when it ends without an
    exception: one multi-row INSERT (and their webhooks, queued as `record` queues them)
    instead of an ORM object each. The intake stores a batch of mail in this (four to
    five events a mail; their objects were a third of its flush). Nothing in the block
    may read back the events it records: they are not in the database, nor the
    session, until it ends. Within an outer `deferred`, the outer one writes."""
    with staging(s, DEFERRED, "ticket_id", lambda rows: insert_many(s, rows)):
        yield


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
    pending = s.info.get(DEFERRED)
    if pending is not None:
        pending.extend((None, r) for r in rows)
        return
    hooked = [i for i, r in enumerate(rows) if events_of(r["action"], r["detail"])]
    subs = webhooks.subscriptions(s) if hooked else []
    # notes (an action's or a resolution's words) searchable as the flush hook makes
    # an Event object's (bot/store/search_index.py)
    search_index.notes_written(s, ((r["ticket_id"], r["action"], r["reason"]) for r in rows))
    if not subs:
        insert_rows(s, Event, rows)
        return
    rows = [fit_row(Event, r) for r in rows]
    ids = s.scalars(insert(Event).returning(Event.id, sort_by_parameter_order=True), rows).all()
    # the inserted events as (unsaved) objects for the webhooks' payloads; their tickets
    # are this session's
    webhooks.queue(s, [Event(id=ids[i], **rows[i]) for i in hooked], subs)
