"""Surviving a wall clock that jumps (a bad NTP step, a mis-set machine clock).

A sweep records every notice it sends, so a sweep run while the clock is wrongly far
ahead would send notices that are not due yet and mark them sent: when the clock came
back, the real ones would never go. Two defences:

- **Forward jumps are held** (`JumpGuard`, used by the clock process). Between two
  sweeps the wall clock must move as the monotonic clock does; when it is ahead of that
  by more than AHEAD, sweeps are held (nothing is sent or recorded), the log says so
  once, and `/healthz` answers 503 `clock-held` with the reason. When the wall clock
  comes back, sweeps go on as if nothing happened. When the new time is the right one
  (the clock was wrong before), restarting the clock process accepts it.
- **What a jump recorded is undone** (`undo_future`, at the start of every sweep): ledger
  rows of notices "sent" at a time that has not come (more than AHEAD from now), run-once
  keys of jobs run for such a time, and outbox rows made or claimed then. The notices
  become due again at their real time; mail made during the jump goes out now.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from bot.core.domain import OutboxStatus
from bot.delivery.outbox import CLAIM_SECONDS
from bot.store.models import Heartbeat, Outbox, RunOnce, SlaNotice, Ticket

log = logging.getLogger("bot.clock")

AHEAD = timedelta(hours=1)  # how far the wall clock may be ahead of what is expected
HELD = "clock-held"  # the heartbeat row that says sweeps are held (its `at`: since when)


class JumpGuard:
    """Watches the wall clock against the monotonic one, sweep after sweep."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self.monotonic = monotonic
        self.anchor: tuple[datetime, float] | None = None
        self.held_since: datetime | None = None

    def ahead(self, wall: datetime) -> timedelta | None:
        """How far ``wall`` is ahead of the time expected from the last trusted reading,
        when that is more than AHEAD (sweeps are held); else None, and ``wall`` becomes
        the new anchor (a backward jump is trusted: `undo_future` repairs its effects)."""
        mono = self.monotonic()
        if self.anchor is not None:
            expected = self.anchor[0] + timedelta(seconds=mono - self.anchor[1])
            if wall - expected > AHEAD:
                return wall - expected
        self.anchor = (wall, mono)
        return None


def undo_future(s: Session, now: datetime) -> dict[str, int]:
    """Undo what was recorded for a moment more than AHEAD after ``now`` (see the module
    doc). Returns what was undone, by kind."""
    future = now + AHEAD
    counts: dict[str, int] = {}
    queued_later = (Outbox.status == OutboxStatus.QUEUED, Outbox.created_at > future,
                    Outbox.next_attempt_at > now)
    claimed_later = (Outbox.status == OutboxStatus.QUEUED,
                     Outbox.claimed_until > future + timedelta(seconds=CLAIM_SECONDS))
    # one look first: the clock sweeps every minute and almost never finds anything
    if not s.scalar(select(or_(exists().where(SlaNotice.fired_at > future),
                               exists().where(RunOnce.at > future),
                               exists().where(*queued_later), exists().where(*claimed_later)))):
        return counts
    tickets = set(s.scalars(select(SlaNotice.ticket_id).where(SlaNotice.fired_at > future)))
    if tickets:
        counts["notices"] = _rows(s.execute(delete(SlaNotice).where(SlaNotice.fired_at > future)))
        s.execute(update(Ticket).where(Ticket.id.in_(tickets)).values(sla_next_at=now))
    counts["jobs"] = _rows(s.execute(delete(RunOnce).where(RunOnce.at > future)))
    counts["outbox"] = _rows(s.execute(update(Outbox).where(*queued_later)
                                       .values(next_attempt_at=now, claimed_until=None)))
    counts["claims"] = _rows(s.execute(update(Outbox).where(*claimed_later).values(claimed_until=None)))
    counts = {k: n for k, n in counts.items() if n}
    if counts:
        log.warning("the clock was ahead before (a jump?): undone what was recorded for a time "
                    "that has not come: %s", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return counts


def hold(s: Session, since: datetime) -> None:
    if s.get(Heartbeat, HELD) is None:
        s.add(Heartbeat(name=HELD, at=since))


def release(s: Session) -> None:
    s.execute(delete(Heartbeat).where(Heartbeat.name == HELD))


def held_since(s: Session) -> datetime | None:
    row = s.get(Heartbeat, HELD)
    return row.at if row is not None else None


def _rows(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount or 0
