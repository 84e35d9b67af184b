"""Several worker processes on one IMAP folder split its mail by claiming ranges of UIDs.

The folder's row in `imap_state` holds its UIDVALIDITY and the mark (`last_uid`): every
mail up to the mark is handled. Above it, workers claim ranges (`imap_claim`): a worker
takes the next range after the highest claimed one (up to a batch of the UIDs its search
found), fetches and parses only that range, commits the tickets, marks the mail
processed on the server, and only then marks the claim done. The mark moves over a run
of done claims from its own position only (a worker that finishes range 2 before another
finishes range 1 does not move it past range 1), and those claims are then deleted.

A claim is a lease (`claimed_until`, settings.imap_claim_seconds): an unfinished claim
whose lease has run out, or whose worker is known to be dead (the caller tells), is
taken over by the next worker that asks; it refetches the range, and whatever the first
worker had committed already is recognised by its dedupe key (never a second ticket).

A worker that loses its connection releases its unfinished claims (their lease ends at
once: release()), so another worker may take them over while it reconnects; back, it
takes them back (reclaim()) if nobody did, and finishes what it had fetched from memory.

Every claim transaction first writes the folder's row: on PostgreSQL that locks it, so
claims and mark moves of all workers on a folder happen one after another (they are a
few milliseconds each); on SQLite it takes the database's writer lock.

On first contact with a folder, or after its UIDVALIDITY changed, the mark starts at 0
and the UIDs below the server's UIDNEXT at that moment (`rescan_to`) are handled only if
unseen (mail read before the bot came is left alone; already stored mail is recognised).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.desk.context import Desk
from bot.store.bulk import insert_on_conflict
from bot.store.models import IMAPClaim, IMAPState

log = logging.getLogger("bot.imap")


@dataclass(frozen=True)
class Position:
    """Where a folder is: every UID up to `last_uid` handled; up to `rescan_to` only the
    unseen ones are to be handled."""
    last_uid: int
    rescan_to: int


@dataclass(frozen=True)
class Claim:
    id: int
    first_uid: int
    last_uid: int
    rescan_to: int
    taken_over: bool  # held before (by a dead or late worker, or by this one before a failure)


def _locked_state(s: Session, account: str, desk: Desk) -> IMAPState | None:
    """The folder's row, written first so that it is locked for this transaction."""
    now = desk.clock()
    s.execute(update(IMAPState).where(IMAPState.account == account).values(updated_at=now)
              .execution_options(synchronize_session=False))
    return s.scalar(select(IMAPState).where(IMAPState.account == account)
                    .execution_options(populate_existing=True))


def open_folder(desk: Desk, account: str, uidvalidity: int, uidnext: int) -> Position:
    """The folder's position; starts it (mark 0, the mail there now handled only if unseen)
    on first contact or when its UIDVALIDITY has changed, dropping the old claims."""
    with desk.uow.write() as s:
        row = _locked_state(s, account, desk)
        if row is None:
            s.execute(insert_on_conflict(s, IMAPState).values(
                account=account, uidvalidity=uidvalidity, last_uid=0, rescan_to=uidnext - 1,
                updated_at=desk.clock()).on_conflict_do_nothing())
            row = _locked_state(s, account, desk)  # ours, or another worker's that came first
            assert row is not None
        elif row.uidvalidity != uidvalidity:
            log.warning("%s: UIDVALIDITY changed (%s -> %s); rescanning unseen mail",
                        account, row.uidvalidity, uidvalidity)
            row.uidvalidity, row.last_uid, row.rescan_to = uidvalidity, 0, uidnext - 1
            s.execute(delete(IMAPClaim).where(IMAPClaim.account == account))
        return Position(row.last_uid, row.rescan_to or 0)


def claim(desk: Desk, account: str, uidvalidity: int, uids: Sequence[int], worker: str,
          batch: int, dead: Callable[[str], bool] = lambda _: False,
          held: Collection[int] = ()) -> Claim | None:
    """The next range of UIDs for `worker` to handle, or None when there is none.

    First an unfinished claim of its own (a retry after a failure), then one whose lease
    has run out or whose worker is `dead`, then a new range after the highest claimed one,
    holding up to `batch` of `uids` (what this worker's search found; sorted). `held`: the
    ids of claims the worker is still working on (its pipeline: the next range is claimed
    and fetched while the previous one is stored); they are not handed out again."""
    now = desk.clock()
    until = now + timedelta(seconds=desk.settings.imap_claim_seconds)
    with desk.uow.write() as s:
        row = _locked_state(s, account, desk)
        if row is None or row.uidvalidity != uidvalidity:
            return None  # started over meanwhile: the caller opens the folder again
        rescan_to = row.rescan_to or 0
        claims = list(s.scalars(select(IMAPClaim).where(
            IMAPClaim.account == account, IMAPClaim.uidvalidity == uidvalidity)
            .order_by(IMAPClaim.first_uid)))
        pending = [c for c in claims if c.done_at is None and c.id not in held]
        mine = next((c for c in pending if c.claimed_by == worker), None)
        stale = mine or next((c for c in pending
                              if c.claimed_until <= now or dead(c.claimed_by)), None)
        if stale is not None:
            if stale is not mine:
                log.warning("%s: taking over UIDs %d-%d from %s (%s)", account, stale.first_uid,
                            stale.last_uid, stale.claimed_by,
                            "lease ran out" if stale.claimed_until <= now else "worker gone")
            stale.claimed_by, stale.claimed_until = worker, until
            return Claim(stale.id, stale.first_uid, stale.last_uid, rescan_to, True)
        start = max([row.last_uid, *(c.last_uid for c in claims)]) + 1
        chunk = [u for u in uids if u >= start][:max(1, batch)]
        if not chunk:
            if not claims and row.last_uid < rescan_to and not any(
                    row.last_uid < u <= rescan_to for u in uids):
                row.last_uid = rescan_to  # no unseen mail left from before: skip the range
            return None
        new = IMAPClaim(account=account, uidvalidity=uidvalidity, first_uid=start,
                        last_uid=chunk[-1], claimed_by=worker, claimed_until=until)
        s.add(new)
        s.flush()
        return Claim(new.id, start, chunk[-1], rescan_to, False)


def finish(desk: Desk, account: str, uidvalidity: int, claim_id: int) -> int:
    """Mark a claim done (its tickets are committed and its mail marked on the server) and
    move the folder's mark over the done claims that follow it; returns the mark."""
    now = desk.clock()
    with desk.uow.write() as s:
        row = _locked_state(s, account, desk)
        if row is None or row.uidvalidity != uidvalidity:
            return 0
        s.execute(update(IMAPClaim).where(IMAPClaim.id == claim_id, IMAPClaim.done_at.is_(None))
                  .values(done_at=now).execution_options(synchronize_session=False))
        mark, passed = row.last_uid, []
        for c in s.scalars(select(IMAPClaim).where(
                IMAPClaim.account == account, IMAPClaim.uidvalidity == uidvalidity)
                .order_by(IMAPClaim.first_uid).execution_options(populate_existing=True)):
            if c.done_at is None:
                break
            mark = max(mark, c.last_uid)
            passed.append(c.id)
        if passed:
            s.execute(delete(IMAPClaim).where(IMAPClaim.id.in_(passed)))
            row.last_uid = mark
        return mark


def release(desk: Desk, account: str, uidvalidity: int, claim_ids: Collection[int],
            worker: str) -> int:
    """End the lease of `worker`'s unfinished claims among `claim_ids` now (its connection
    was lost): any worker that asks takes them over at once instead of when the lease runs
    out; `worker` itself takes them back with reclaim() if nobody did. Returns how many."""
    if not claim_ids:
        return 0
    now = desk.clock()
    with desk.uow.write() as s:
        if _locked_state(s, account, desk) is None:
            return 0
        result = s.execute(update(IMAPClaim).where(
            IMAPClaim.id.in_(list(claim_ids)), IMAPClaim.account == account,
            IMAPClaim.uidvalidity == uidvalidity, IMAPClaim.claimed_by == worker,
            IMAPClaim.done_at.is_(None)).values(claimed_until=now)
            .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)


def reclaim(desk: Desk, account: str, uidvalidity: int, claim: Claim, worker: str) -> bool:
    """Take back a claim `worker` released (or still holds), with a new lease: True when it
    is still its own and unfinished (nobody took it over, the folder was not started over)."""
    now = desk.clock()
    until = now + timedelta(seconds=desk.settings.imap_claim_seconds)
    with desk.uow.write() as s:
        row = _locked_state(s, account, desk)
        if row is None or row.uidvalidity != uidvalidity:
            return False
        result = s.execute(update(IMAPClaim).where(
            IMAPClaim.id == claim.id, IMAPClaim.account == account,
            IMAPClaim.uidvalidity == uidvalidity, IMAPClaim.first_uid == claim.first_uid,
            IMAPClaim.last_uid == claim.last_uid, IMAPClaim.claimed_by == worker,
            IMAPClaim.done_at.is_(None)).values(claimed_until=until)
            .execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))


def pending(desk: Desk, account: str) -> list[tuple[int, int, str, bool]]:
    """The folder's claims not passed by the mark yet: (first UID, last UID, worker, done)."""
    with desk.uow.read() as s:
        return [(c.first_uid, c.last_uid, c.claimed_by, c.done_at is not None)
                for c in s.scalars(select(IMAPClaim).where(IMAPClaim.account == account)
                                   .order_by(IMAPClaim.first_uid))]
