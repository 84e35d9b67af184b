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

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    def __init__(self, sessions: sessionmaker, on_commit: Callable[[], None] | None = None):
        self.sessions = sessions
        self.on_commit = on_commit  # e.g. wake the outbox sender

    @contextmanager
    def write(self, joined: Session | None = None) -> Iterator[Session]:
        """A transaction that commits at the end of the block (or the caller's, joined)."""
        if joined is not None:
            yield joined
            return
        with self.sessions() as s, s.begin():
            yield s
        self.committed()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; whatever it did is rolled back when the block ends."""
        with self.sessions() as s:
            yield s

    def committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()
