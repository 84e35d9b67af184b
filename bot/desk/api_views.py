"""What the REST API (bot/adapters/web/api.py) reads, and its guard against lost updates.

- `ticket_full`: the ticket with messages, internal notes, events, tasks and
  attachments (metadata, with ids for download), and its ETag.
- `etag`: a fingerprint of the ticket's state: it changes with every change a desk
  action makes (each one moves `updated_at` or records an event or a message).
- `guarded`: run one desk action on a ticket only when the ETag the integration read
  (`If-Match`) is still the ticket's: the ticket's row is locked first (an UPDATE of
  nothing: a row lock on PostgreSQL, the write lock on SQLite), so two integrations
  writing at once cannot both pass the check; the action joins that transaction.
- contacts and contracts, a page at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from bot.desk import board, queries
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.views import contains, contract_dict, iso, valid_number
from bot.store.models import Company, Contact, Contract, Event, Message, Ticket

T = TypeVar("T")
PAGE = 100
STAFF_SCOPES = ("read", "write")  # the desk's own integrations: they see internal notes


def sees_internal(actor: Actor) -> bool:
    """Internal notes are for the desk: its people, the operator, the bot, and staff-scope
    tokens; any other scope (a customer's) never sees them."""
    return actor.scope is None or actor.scope in STAFF_SCOPES


class PreconditionFailed(Refused):
    """The ticket changed since the integration read it (If-Match does not match)."""


class NoSuchTicket(Refused):
    pass


def _etag(s: Session, number: int) -> str | None:
    updated = s.scalar(select(Ticket.updated_at).where(Ticket.id == number))
    if updated is None:
        return None
    last_event = s.scalar(select(func.max(Event.id)).where(Event.ticket_id == number)) or 0
    last_message = s.scalar(select(func.max(Message.id)).where(Message.ticket_id == number)) or 0
    raw = f"{number}:{updated.isoformat()}:{last_event}:{last_message}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def etag(desk: Desk, actor: Actor, number: int) -> str | None:
    check(actor, Verb.VIEW)
    if not valid_number(number):
        return None
    with desk.uow.read() as s:
        return _etag(s, number)


def ticket_full(desk: Desk, actor: Actor, number: int) -> dict[str, Any] | None:
    """The ticket as one document (None when there is none): queries.ticket_detail, the
    attachments with their ids, the internal notes apart, and `etag`."""
    d = queries.ticket_detail(desk, actor, number)
    if d is None:
        return None
    files = board.attachments_of(desk, actor, number)
    for m in d["messages"]:
        m["attachments"] = files.get(m["id"], [])
    if sees_internal(actor):
        d["notes"] = [{"at": e["at"], "by": e["actor"], "text": e["reason"],
                       "action": bool((e["detail"] or {}).get("action"))}
                      for e in d["events"] if e["action"] == "note"]
    else:  # nothing internal: no notes, no note messages, no audit trail (it quotes notes)
        d["notes"], d["events"] = [], []
        d["messages"] = [m for m in d["messages"] if m["direction"] != "note"]
    d["etag"] = etag(desk, actor, number)
    return d


def guarded(desk: Desk, number: int, if_match: str | None,
            action: Callable[[Session], T]) -> tuple[T, str]:
    """Run ``action(s)`` (a desk action joined to ``s``) when ``if_match`` (None: no
    precondition) is the ticket's ETag; answers the result and the new ETag. The action
    checks the actor itself."""
    if not valid_number(number):
        raise NoSuchTicket(f"no ticket {number}")
    with desk.uow.write() as s:
        # an UPDATE that changes nothing: a row lock (PostgreSQL), the write lock (SQLite)
        locked = s.execute(update(Ticket).where(Ticket.id == number).values(status=Ticket.status))
        if not cast(CursorResult[Any], locked).rowcount:
            raise NoSuchTicket(f"no ticket {number}")
        current = _etag(s, number)
        if if_match is not None and if_match != "*" and if_match != current:
            raise PreconditionFailed(f"ticket {number} has changed since it was read "
                                     "(If-Match does not match its ETag); read it again")
        result = action(s)
        s.flush()
        new = _etag(s, number)
    assert new is not None
    return result, new


def contacts(desk: Desk, actor: Actor, words: str = "", after: int = 0,
             limit: int = PAGE) -> list[dict[str, Any]]:
    """Contacts by id after ``after`` (a cursor), filtered by words in name or address."""
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        q = select(Contact).options(selectinload(Contact.company)).where(Contact.id > after)
        if words.strip():
            like = contains(words.strip())
            q = q.where(or_(func.lower(Contact.email).like(like, escape="\\"),
                            func.lower(Contact.name).like(like, escape="\\")))
        return [{"id": c.id, "email": c.email, "name": c.name, "phone": c.phone,
                 "company": c.company.name if c.company else None,
                 "created": iso(c.created_at), "updated": iso(c.updated_at)}
                for c in s.scalars(q.order_by(Contact.id).limit(limit))]


def contracts(desk: Desk, actor: Actor, company: str = "", after: int = 0,
              limit: int = PAGE) -> list[dict[str, Any]]:
    """Contracts by id after ``after``, with their notice deadline; ``company``: only
    that company's (by name, any case)."""
    check(actor, Verb.VIEW)
    today: date = desk.clock().astimezone(desk.tz).date()
    with desk.uow.read() as s:
        q = (select(Contract).options(selectinload(Contract.company)).where(Contract.id > after))
        if company.strip():
            q = q.join(Company, Contract.company_id == Company.id).where(
                func.lower(Company.name) == company.strip().lower())
        return [{"id": c.id, "company": c.company.name, **contract_dict(c, today)}
                for c in s.scalars(q.order_by(Contract.id).limit(limit))]
