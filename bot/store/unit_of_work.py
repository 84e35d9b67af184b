"""The unit of work: the only place in the bot that begins and commits a transaction.

Every change (a mail becoming a ticket, a staff action, a sweep's notices, a delivery's
outcome) runs inside ``with uow.write() as s:``; it commits when the block ends without
an exception and rolls back otherwise. Outgoing mail and Slack posts are outbox rows
written in that same transaction, so after every commit the outbox sender is woken
(``on_commit``) instead of waiting for its next poll.

A function that may run inside a caller's transaction (a staff action run from a
colleague's mail while that mail is ingested) takes the caller's session:
``uow.write(joined=s)`` then neither begins nor commits; the caller's unit does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from bot.core.domain import OutboxStatus
from bot.store.models import Outbox

# Session.info key: the channels whose outbox rows a unit of work added or changed
# ("*": some, by a statement that names no channel). Read after the commit, so the
# outbox sender wakes only the lanes that have something new (bot/app.py).
OUTBOX_TOUCHED = "outbox_touched"


def outbox_touched(s: Session, channel: str = "*") -> None:
    """Say that this unit of work wrote outbox rows of `channel` (any: "*") that the
    session's own bookkeeping cannot see (a COPY, bot/store/bulk.py)."""
    s.info.setdefault(OUTBOX_TOUCHED, set()).add(channel)


def outbox_untouched(s: Session) -> None:
    """Forget what this unit wrote to the outbox so far: a sender's claim (it makes
    nothing due; waking the lanes for it would have them claim in a circle)."""
    s.info.pop(OUTBOX_TOUCHED, None)


def _after_flush(s: Session, _flush_context) -> None:
    for obj in s.new:
        if isinstance(obj, Outbox):
            outbox_touched(s, obj.channel or "*")
    for obj in s.dirty:  # queued (again), or changed while queued (e.g. a reply edited)
        if isinstance(obj, Outbox) and obj.status == OutboxStatus.QUEUED and obj.claimed_until is None:
            outbox_touched(s, obj.channel or "*")


def _on_execute(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update) and \
            getattr(getattr(state.statement, "table", None), "name", None) == Outbox.__tablename__:
        outbox_touched(state.session)


class UnitOfWork:
    def __init__(self, sessions: sessionmaker, on_commit: Callable[[], None] | None = None):
        self.sessions = sessions
        self.on_commit = on_commit  # e.g. wake the outbox sender
        # called after a commit that added or changed outbox rows, with their channels
        # ("*": unknown which); see track_outbox
        self.on_outbox: Callable[[set[str]], None] | None = None

    def track_outbox(self, on_outbox: Callable[[set[str]], None]) -> None:
        """Call `on_outbox(channels)` after every commit that wrote outbox rows (and only
        then): the outbox sender's lanes sleep through the other commits."""
        if self.on_outbox is None:
            event.listen(self.sessions, "after_flush", _after_flush)
            event.listen(self.sessions, "do_orm_execute", _on_execute)
        self.on_outbox = on_outbox

    @contextmanager
    def write(self, joined: Session | None = None) -> Iterator[Session]:
        """A transaction that commits at the end of the block (or the caller's, joined)."""
        if joined is not None:
            yield joined
            return
        with self.sessions() as s:
            with s.begin():
                yield s
            touched = s.info.pop(OUTBOX_TOUCHED, None)
        self.committed()
        if touched and self.on_outbox is not None:
            self.on_outbox(touched)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; whatever it did is rolled back when the block ends."""
        with self.sessions() as s:
            yield s

    def committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()


def staged(s: Session, cls: type) -> list:
    """The objects of `cls` added to the session and not flushed yet, in no set order.
    A query under `no_autoflush` adds these itself: one flush per query (an INSERT
    round trip per table, per mail of a batch) is what the intake saves that way."""
    return [obj for obj in s.new if isinstance(obj, cls)]


def flush_if_staged(s: Session, *classes: type) -> None:
    """Flush only when an object of these classes waits to be written: a query on their
    tables then sees it, and staged rows of other tables (outbox, events) wait for the
    commit."""
    if any(isinstance(obj, classes) for obj in (*s.new, *s.deleted)) or any(
            isinstance(obj, classes) and _columns_changed(obj) for obj in s.dirty):
        s.flush()


_COLLECTIONS: dict[type, frozenset[str]] = {}


def _columns_changed(obj: object) -> bool:
    """Whether a changed object has a changed column or reference: a collection appended
    to (a ticket's events) changes none of its own row. (Session.is_modified compares
    every attribute's history: a thousand times dearer.)"""
    state = inspect(obj)
    cls = type(obj)
    collections = _COLLECTIONS.get(cls)
    if collections is None:
        collections = _COLLECTIONS[cls] = frozenset(
            r.key for r in state.mapper.relationships if r.uselist)
    return any(key not in collections for key in state.committed_state)
