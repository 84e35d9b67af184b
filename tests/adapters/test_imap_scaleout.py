"""Several workers on one mailbox and one database split the mail (bot/desk/mailbox_claims.py).

Real Dovecot, real PostgreSQL (the lease tests also on SQLite). Every worker is an
IMAPPoller with its own database engine and its own IMAP connection, as in a process of
its own; the tests count what each one fetched and parsed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.adapters.imap import HOST, IMAPPoller
from bot.config import MailServerURL
from bot.desk import mailbox_claims
from bot.desk.context import Desk
from bot.desk.pipeline import Pipeline
from bot.store.models import IMAPState, Message, RawMail, Ticket, make_engine, make_sessionmaker
from tests.support.mailgen import customer_mail
from tests.support.servers import Dovecot

SEEN = b"\\Seen"
LEASE = 300.0


@pytest.fixture
def dovecot(tmp_path):
    with Dovecot(tmp_path / "imap") as d:
        yield d


class Killed(BaseException):
    """A worker process dying (SIGKILL): nothing after it runs, no handler catches it."""


class Recording(Pipeline):
    """A worker's parser: records the mails it parsed (by UID), and can wait at a barrier
    before storing its first batch or die before or after storing one."""

    def __init__(self, desk: Desk, barrier: threading.Barrier | None = None,
                 die: str | None = None):
        super().__init__(desk, workers=1)
        self.parsed: list[int] = []
        self.barrier = barrier
        self.die = die  # "before commit" | "after commit"

    def ingest(self, items, acknowledge=True, parsed=None):
        self.parsed += [int(source.rsplit("/", 1)[1]) for source, _ in items]
        if self.barrier is not None:  # every worker holds a claim before any goes on
            barrier, self.barrier = self.barrier, None
            barrier.wait(timeout=60)
        if self.die == "before commit":
            raise Killed
        results = super().ingest(items, acknowledge, parsed)
        if self.die == "after commit":
            raise Killed
        return results


class Workers:
    """Pollers on one Dovecot folder and one database, each with its own engine."""

    def __init__(self, service: Desk, dovecot: Dovecot, **settings):
        self.settings = service.settings.with_(
            imap_url=MailServerURL.parse("IMAP_URL", dovecot.url), imap_timeout=10.0,
            imap_claim_seconds=LEASE, **settings)
        self.clock = service.clock
        self.engines: list = []
        self.pollers: list[IMAPPoller] = []
        self.done = threading.Condition()
        self.handled = 0
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def add(self, **pipeline) -> IMAPPoller:
        engine = make_engine(self.settings.database_url)
        self.engines.append(engine)
        desk = Desk(self.settings, make_sessionmaker(engine), clock=self.clock)
        poller = IMAPPoller(self.settings, Recording(desk, **pipeline), on_batch=self._progress)
        self.pollers.append(poller)
        return poller

    def _progress(self, results) -> None:
        with self.done:
            self.handled += len(results)
            self.done.notify_all()

    def run_all(self) -> None:
        for p in self.pollers:
            t = threading.Thread(target=p.run, args=(self.stop,), daemon=True)
            t.start()
            self.threads.append(t)

    def wait_handled(self, n: int, timeout: float = 60.0) -> None:
        with self.done:
            assert self.done.wait_for(lambda: self.handled >= n, timeout), \
                f"{self.handled} of {n} mails handled in {timeout} s"

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
            assert not t.is_alive()
        for p in self.pollers:
            p.disconnect()
            p.pipeline.close()
        for e in self.engines:
            e.dispose()


@pytest.fixture
def workers(service, dovecot):
    made: list[Workers] = []

    def make(**settings) -> Workers:
        made.append(Workers(service, dovecot, **settings))
        return made[-1]

    yield make
    for w in made:
        w.close()


def counts(service) -> tuple[int, int, int]:
    """Tickets, stored raw mails, and the most tickets any one Message-ID has."""
    with service.sessions() as s:
        tickets = s.scalar(select(func.count()).select_from(Ticket))
        raws = s.scalar(select(func.count()).select_from(RawMail))
        most = s.execute(select(func.count(func.distinct(Message.ticket_id)))
                         .where(Message.direction == "in", Message.message_id.is_not(None))
                         .group_by(Message.message_id)
                         .order_by(func.count(func.distinct(Message.ticket_id)).desc())
                         .limit(1)).scalar() or 0
    return tickets, raws, most


def mark(service) -> int:
    with service.sessions() as s:
        return s.scalar(select(IMAPState.last_uid))


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("n_workers", [2, 4])
def test_workers_split_the_mailbox_each_mail_parsed_once_one_ticket_each(
        service, dovecot, workers, n_workers):
    n, batch = 120, 10
    uids = dovecot.append([customer_mail(i) for i in range(n)])
    group = workers(imap_batch=batch, imap_poll_seconds=3600)  # IDLE: no polling
    barrier = threading.Barrier(n_workers)
    for _ in range(n_workers):
        group.add(barrier=barrier)
    group.run_all()
    group.wait_handled(n)

    parsed = [p.pipeline.parsed for p in group.pollers]
    # every mail parsed by exactly one worker, and every worker parsed a share
    assert sorted(u for share in parsed for u in share) == sorted(uids)
    assert all(share for share in parsed), [len(s) for s in parsed]
    assert sum(p.parsed for p in group.pollers) == n
    assert counts(service) == (n, n, 1)
    assert all(SEEN in flags for _, flags in dovecot.messages())
    assert mailbox_claims.pending(service, group.pollers[0].account) == []
    assert mark(service) == max(uids)

    # new mail pushed by IDLE to every worker: still parsed once, by whoever claims it
    assert all(p.idling.wait(30) for p in group.pollers)
    more = dovecot.append([customer_mail(i) for i in range(n, n + 35)])
    group.wait_handled(n + 35)
    parsed = [u for p in group.pollers for u in p.pipeline.parsed]
    assert sorted(parsed) == sorted(uids + more)
    assert counts(service) == (n + 35, n + 35, 1)


@pytest.mark.parametrize("die", ["before commit", "after commit"])
def test_a_worker_killed_mid_claim_loses_nothing_its_lease_is_taken_over(
        service, dovecot, workers, die):
    n, batch = 30, 10
    uids = dovecot.append([customer_mail(i) for i in range(n)])
    group = workers(imap_batch=batch)
    dying, other = group.add(die=die), group.add()
    dying.connect()
    other.connect()
    with pytest.raises(Killed):
        dying.poll_once()  # claimed the first range, fetched and parsed it, then died
    assert dying.pipeline.parsed == uids[:batch]

    # the dead worker held two ranges: the one it was storing and the next, which it had
    # fetched and handed to its parser meanwhile (the poller's pipeline); both wait
    assert len(other.poll_once()) == n - 2 * batch
    assert other.pipeline.parsed == uids[2 * batch:]
    held = [(uids[0], uids[batch - 1], dying.worker_id, False),
            (uids[batch], uids[2 * batch - 1], dying.worker_id, False)]
    assert mailbox_claims.pending(service, other.account)[:2] == held
    assert mark(service) == 0  # not moved past the unfinished ranges
    committed = 0 if die == "before commit" else batch
    assert counts(service)[0] == n - 2 * batch + committed
    assert other.poll_once() == []  # the lease still runs

    group.clock.advance(seconds=LEASE + 1)
    results = other.poll_once()  # the lease ran out: taken over
    assert len(results) == 2 * batch - committed
    assert counts(service) == (n, n, 1)  # nothing lost, nothing twice
    assert all(SEEN in flags for _, flags in dovecot.messages())
    assert mailbox_claims.pending(service, other.account) == []
    assert mark(service) == max(uids)
    # what the dead worker had committed was recognised by Message-ID, not parsed again
    assert sorted(other.pipeline.parsed) == sorted(uids[2 * batch:] + uids[batch:2 * batch]
                                                   + (uids[:batch] if not committed else []))


@pytest.mark.parametrize("holder", ["gone process", "earlier process of our number"])
def test_a_claim_of_a_gone_process_on_this_host_is_taken_over_at_once(service, dovecot, workers,
                                                                       holder):
    n, batch = 12, 5
    uids = dovecot.append([customer_mail(i) for i in range(n)])
    if holder == "gone process":
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
        dead_worker = f"{HOST}/{gone.stdout.strip()}/0"
    else:  # e.g. a restarted container, where the worker is process 1 again
        dead_worker = f"{HOST}/{os.getpid()}/0"
    group = workers(imap_batch=batch)
    poller = group.add()
    poller.connect()
    status = poller._connected().folder_status("INBOX", ["UIDVALIDITY", "UIDNEXT"])
    validity = status[b"UIDVALIDITY"]
    mailbox_claims.open_folder(poller.desk, poller.account, validity, status[b"UIDNEXT"])
    first = mailbox_claims.claim(poller.desk, poller.account, validity, uids, dead_worker, batch)
    assert first is not None and (first.first_uid, first.last_uid) == (uids[0], uids[batch - 1])

    results = poller.poll_once()  # no clock moved: the holder's process is gone
    assert len(results) == n
    assert counts(service) == (n, n, 1)
    assert mailbox_claims.pending(service, poller.account) == []
    assert Counter(poller.pipeline.parsed) == Counter(uids)


def test_a_worker_that_lost_its_connection_releases_its_ranges_at_once(service, dovecot, workers):
    """A worker loses its IMAP connection while storing one range with the next one
    fetched (its pipeline) and does not come back: the other worker takes both over at
    once, the clock not moved (no waiting for the lease); what the first had committed is
    recognised, not stored twice. Back later, the first finds nothing left to do."""
    n, batch = 30, 10
    uids = dovecot.append([customer_mail(i) for i in range(n)])
    group = workers(imap_batch=batch)
    lost, other = group.add(), group.add()
    stop = threading.Event()

    def on_stage(stage, claim):
        if stage == "parsing" and claim.first_uid == uids[batch]:
            stop.set()  # it does not reconnect
            lost._connected()._imap.sock.shutdown(socket.SHUT_RDWR)

    lost.on_stage = on_stage
    lost.run(stop)  # range 1 committed, then marking it \\Seen fails; range 2 fetched
    assert lost.reconnects == 1 and lost.pipeline.parsed == uids[:batch]
    assert counts(service)[0] == batch

    other.connect()
    results = other.poll_once()  # no clock moved
    assert len(results) == n - batch
    assert counts(service) == (n, n, 1)  # nothing lost, nothing twice
    assert all(SEEN in flags for _, flags in dovecot.messages())
    assert mailbox_claims.pending(service, other.account) == []
    assert mark(service) == max(uids)
    # what the first had committed was recognised by Message-ID, not parsed again
    assert sorted(other.pipeline.parsed) == uids[batch:]

    lost.connect()
    assert lost.poll_once() == []  # its ranges are the other's now: dropped
    assert counts(service) == (n, n, 1)
