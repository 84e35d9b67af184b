"""Outgoing mail: the outbox sender against a real aiosmtpd relay."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import event, select

from bot.adapters.smtp_out import SMTPTransport
from bot.app import Worker
from bot.config import MailServerURL
from bot.delivery.outbox import OutboxSender, backoff
from bot.desk import intake, queries
from bot.store.models import Outbox
from tests.conftest import HANG, OPERATOR
from tests.support.mailgen import customer_mail
from tests.support.sink import Sink


def sender_for(service, url: str) -> OutboxSender:
    transport = SMTPTransport(MailServerURL.parse("SMTP_URL", url), timeout=5)
    return OutboxSender(service.settings, service.uow, {"mail": transport})


def rows(service):
    with service.sessions() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


def test_backoff_doubles_up_to_the_cap():
    assert [backoff(n, 30, 3600).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_relay_down_then_up_every_mail_delivered_once(service, clock):
    for i in range(3):
        intake.ingest_raw(service, customer_mail(i, variant="plain"), "t")
    sink = Sink()  # not started yet: the relay is down
    sender = sender_for(service, sink.url)
    assert sender.run_once(clock.now) == {"sent": 0, "retry": 3, "failed": 0}
    r = rows(service)[0]
    assert r.status == "queued" and r.attempts == 1 and "Connection refused" in r.last_error
    assert r.next_attempt_at == clock.now + timedelta(seconds=30)
    # not due yet: nothing is tried
    assert sender.run_once(clock.now + timedelta(seconds=29)) == {"sent": 0, "retry": 0, "failed": 0}
    with sink:
        clock.advance(seconds=30)
        # a new sender (the process restarted): nothing queued was lost
        sender = sender_for(service, sink.url)
        assert sender.run_once(clock.now) == {"sent": 3, "retry": 0, "failed": 0}
        got = sink.handler.wait_for(3)
        assert sender.run_once(clock.now + timedelta(hours=1)) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(got) == 3
    assert sorted(g.rcpt_tos[0] for g in got) == sorted(r.to_addr for r in rows(service))
    assert all(g.mail_from == "support@desk.example" for g in got)
    assert all(r.status == "sent" and r.attempts == 2 and r.last_error is None for r in rows(service))
    # the stored payload is what the relay received
    assert sorted(g.data.replace(b"\r\n", b"\n") for g in got) == \
        sorted(r.payload.replace(b"\r\n", b"\n") for r in rows(service))


def test_temporary_failure_retries_permanent_failure_marks_failed_and_tells_the_ticket(service, clock):
    intake.ingest_raw(service, customer_mail(1, variant="plain"), "t")
    intake.ingest_raw(service, customer_mail(2, variant="plain"), "t")
    with Sink() as sink:
        sender = sender_for(service, sink.url)
        sink.handler.fail_with, sink.handler.fail_count = "451 4.3.0 try later", 1
        assert sender.run_once(clock.now) == {"sent": 1, "retry": 1, "failed": 0}
        sink.handler.fail_with, sink.handler.fail_count = "550 5.1.1 mailbox unknown", 1
        clock.advance(minutes=1)
        assert sender.run_once(clock.now) == {"sent": 0, "retry": 0, "failed": 1}
    failed = [r for r in rows(service) if r.status == "failed"]
    assert len(failed) == 1 and "550" in failed[0].last_error and failed[0].attempts == 2
    d = queries.ticket_detail(service, OPERATOR, failed[0].ticket_id)
    assert d["events"][-1]["action"] == "delivery-failed"
    assert "mailbox unknown" in d["events"][-1]["reason"]
    assert d["bounced"] is True


def test_gives_up_after_max_attempts(service, clock):
    service.settings = service.settings.with_(outbox_max_attempts=2)
    intake.ingest_raw(service, customer_mail(1, variant="plain"), "t")
    sender = sender_for(service, Sink().url)  # never started
    sender.settings = service.settings
    assert sender.run_once(clock.now)["retry"] == 1
    clock.advance(hours=2)
    assert sender.run_once(clock.now)["failed"] == 1
    assert rows(service)[0].status == "failed"


def test_two_senders_at_once_deliver_each_mail_once(service, clock):
    for i in range(10):
        intake.ingest_raw(service, customer_mail(i, variant="plain"), "t")
    with Sink() as sink:
        a, b = sender_for(service, sink.url), sender_for(service, sink.url)
        due_a, due_b = a.due(clock.now), b.due(clock.now)
        assert due_a == due_b and len(due_a) == 10
        # interleave: each claims before delivering, so the other skips what it holds
        outcomes = []
        for oid in due_a:
            outcomes.append(a._deliver(oid, clock.now))
            outcomes.append(b._deliver(oid, clock.now))
        assert outcomes.count("sent") == 10 and outcomes.count(None) == 10
        assert len(sink.handler.wait_for(10)) == 10


def intl_mail(n: int) -> bytes:
    """A customer whose address is internationalised (RFC 6532: UTF-8 in the header)."""
    return (f"From: J\u00f6rg M\u00fcller <j\u00f6rg@m\u00fcller.de>\r\n"
            f"To: support@desk.example\r\nSubject: Vraag {n}\r\n"
            f"Message-ID: <intl-{n}@m\u00fcller.de>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nGoedendag, een vraag.\r\n").encode()


def test_an_internationalised_address_never_costs_another_customer_their_mail(service, clock):
    """Issue 10.3: the acknowledgement to jörg@müller.de fails alone, with its reason, when
    the relay has no SMTPUTF8; the next customer's mail on the same connection is sent."""
    first = intake.ingest_raw(service, intl_mail(1), "t").ticket
    intake.ingest_raw(service, customer_mail(2, variant="plain"), "t")
    with Sink() as sink:
        sender = sender_for(service, sink.url)
        assert sender.run_once(clock.now) == {"sent": 1, "retry": 0, "failed": 1}
        [got] = sink.handler.wait_for(1)
    failed, sent = rows(service)
    assert failed.ticket_id == first and failed.to_addr == "j\u00f6rg@m\u00fcller.de"
    assert failed.status == "failed" and "SMTPUTF8" in failed.last_error
    assert sent.status == "sent" and got.rcpt_tos == [sent.to_addr]
    # a relay that offers SMTPUTF8 gets it, UTF-8 headers and all
    clock.advance(minutes=1)
    intake.ingest_raw(service, intl_mail(3), "t")
    with Sink(smtputf8=True) as sink:
        assert sender_for(service, sink.url).run_once(clock.now) == {"sent": 1, "retry": 0, "failed": 0}
        [got] = sink.handler.wait_for(1)
    assert got.rcpt_tos == ["j\u00f6rg@m\u00fcller.de"]
    assert "To: j\u00f6rg@m\u00fcller.de".encode() in got.data


def test_an_address_with_invisible_characters_is_not_mailed(service, clock):
    """Issue 10.10: a zero-width space in an address (a look-alike) is refused for sending,
    with the reason, and does not disturb the relay connection."""
    intake.ingest_raw(service, customer_mail(4, variant="plain").replace(
        b"contact4@customer4.example", "contact4\u200b@customer4.example".encode()), "t")
    intake.ingest_raw(service, customer_mail(5, variant="plain"), "t")
    with Sink(smtputf8=True) as sink:
        sender = sender_for(service, sink.url)
        assert sender.run_once(clock.now) == {"sent": 1, "retry": 0, "failed": 1}
        sink.handler.wait_for(1)
    bad = next(r for r in rows(service) if r.status == "failed")
    assert "invisible" in bad.last_error


def test_a_locked_database_while_recording_sent_never_sends_twice(service, clock, monkeypatch):
    """Issue 10.4: the database is locked just when the sender records "sent"; it waits
    and records it, so the mail is not sent again when its claim runs out."""
    from contextlib import contextmanager

    from sqlalchemy.exc import OperationalError

    intake.ingest_raw(service, customer_mail(60, variant="plain"), "t")
    with Sink() as sink:
        sender = sender_for(service, sink.url)
        real_write, calls = sender.uow.write, []

        @contextmanager
        def flaky_write(joined=None):
            calls.append(1)
            if len(calls) == 2:  # the claim is call 1; recording the outcome is call 2
                raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))
            with real_write(joined) as s:
                yield s

        monkeypatch.setattr(sender.uow, "write", flaky_write)
        assert sender.run_once(clock.now) == {"sent": 1, "retry": 0, "failed": 0}
        sink.handler.wait_for(1)
        # after the claim would have run out, nothing is due: the mail went once
        assert sender.run_once(clock.now + timedelta(minutes=10)) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(sink.handler.received) == 1
    [row] = rows(service)
    assert (row.status, row.attempts) == ("sent", 1)


class _Blocking:
    """A Slack transport stuck in its pacing (or an outage) until released."""

    def __init__(self):
        self.started, self.release = threading.Event(), threading.Event()

    def send(self, *args):
        self.started.set()
        self.release.wait(HANG)
        return {"channel": "C1", "ts": "1.1"}

    def describe(self):
        return "blocked Slack"

    def close(self):
        self.release.set()


class _Recorder:
    def __init__(self):
        self.sent = threading.Event()

    def send(self, *args):
        self.sent.set()

    def describe(self):
        return "recorder"

    def close(self):
        pass


def test_mail_is_never_delivered_behind_slack(service, clock):
    """Issue 10.6: mail and Slack posts are delivered in separate lanes: an
    acknowledgement goes out while a Slack post (queued before it) waits on Slack."""
    with service.uow.write() as s:
        s.add(Outbox(channel="slack", purpose="slack-root", automatic=True, to_addr="C1",
                  subject="", status="queued", attempts=0, created_at=clock.now,
                  payload=json.dumps({"method": "chat.postMessage", "args": {"text": "x"}}).encode(),
                  next_attempt_at=clock.now - timedelta(minutes=1)))
    intake.ingest_raw(service, customer_mail(1, variant="plain"), "t")  # queues an ack
    worker = Worker(service.settings, service)
    slack, mail = _Blocking(), _Recorder()
    worker.sender.transports = {"slack": slack, "mail": mail}
    worker.start(smtp=False, imap=False)
    try:
        assert slack.started.wait(HANG), "the Slack post was never tried"
        assert mail.sent.wait(HANG), "the acknowledgement waited behind Slack"
        assert not slack.release.is_set()
    finally:
        slack.release.set()
        worker.shutdown()


def test_a_batch_is_claimed_in_one_transaction_and_recorded_in_one(service, clock, monkeypatch):
    """Issue 15: not two transactions per mail (claim, then "sent"), two per batch."""
    from contextlib import contextmanager

    for i in range(10):
        intake.ingest_raw(service, customer_mail(70 + i, variant="plain"), "t")
    with Sink() as sink:
        sender = sender_for(service, sink.url)
        real_write, writes = sender.uow.write, []

        @contextmanager
        def counted(joined=None):
            writes.append(1)
            with real_write(joined) as s:
                yield s

        monkeypatch.setattr(sender.uow, "write", counted)
        # (a batch that takes longer records what it has every RECORD_EVERY seconds)
        monkeypatch.setattr("bot.delivery.outbox.RECORD_EVERY", 3600.0)
        reads: list[str] = []
        with service.uow.read() as s:
            engine = s.get_bind()

        updates: list[str] = []

        def seen(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("SELECT") and "FROM outbox" in statement:
                reads.append(statement)
            if statement.lstrip().upper().startswith("UPDATE outbox".upper()):
                updates.append(statement)

        event.listen(engine, "before_cursor_execute", seen)
        try:
            assert sender.run_once(clock.now) == {"sent": 10, "retry": 0, "failed": 0}
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert len(sink.handler.wait_for(10)) == 10
    assert len(writes) == 2
    # the batch's rows read once, to send them: recording "sent" needs no second read
    # (nor one a row: the session's identity map holds objects weakly)
    assert len(reads) == 1, reads
    # the claim, and one UPDATE for all ten "sent" (an executemany), not one a row
    assert len(updates) == 2, updates
    assert {(r.status, r.attempts, r.claimed_until, r.sent_at) for r in rows(service)} == \
        {("sent", 1, None, clock.now)}
    # the bytes kept are the bytes the relay got
    assert sorted(r.payload.replace(b"\r\n", b"\n") for r in rows(service)) == \
        sorted(m.data.replace(b"\r\n", b"\n") for m in sink.handler.received)


def test_an_idle_lane_never_claims_and_wakes_only_for_rows_of_its_own(service, clock, monkeypatch):
    """Issue 15: a lane claims (a write transaction) only when a row of its channels is
    due or a commit wrote one; commits of other lanes' rows, and the outbox's own claims,
    leave it asleep (it used to claim after every commit, and each empty claim, itself a
    commit, woke every lane again: the lanes spun)."""
    worker = Worker(service.settings, service)
    mail = _Recorder()
    worker.sender.transports = {"mail": mail, "slack": _Recorder(), "webhook": _Recorder()}
    claims: list[str | None] = []
    real_claim = worker.sender._claim_due

    def counted(now, limit, lane):
        claims.append(lane)
        return real_claim(now, limit, lane)

    monkeypatch.setattr(worker.sender, "_claim_due", counted)
    worker.start(smtp=False, imap=False)
    try:
        for i in range(5):
            mail.sent.clear()
            intake.ingest_raw(service, customer_mail(200 + i, variant="plain"), "t")  # an ack
            assert mail.sent.wait(HANG), "the acknowledgement was not delivered"
    finally:
        worker.shutdown()
    assert "webhook" not in claims, claims
    # each acknowledgement: one claim that takes it (the commit recording it may wake the
    # lane for one more, empty, claim)
    assert 5 <= claims.count("mail") <= 10, claims


def test_next_due_counts_a_claimed_row_from_the_end_of_its_claim(service, clock):
    """A row another sender holds is not due again until its claim runs out: a lane
    waits for it rather than trying to claim it again and again."""
    intake.ingest_raw(service, customer_mail(300, variant="plain"), "t")
    sender = OutboxSender(service.settings, service.uow, {"mail": _Recorder()})
    assert sender.next_due_at("mail", clock.now) == clock.now
    claimed = sender._claim_due(clock.now, 100, "mail")
    assert len(claimed) == 1
    until = rows(service)[0].claimed_until
    assert until > clock.now
    assert sender.next_due_at("mail", clock.now) == until
    assert sender.next_due_at("mail") == clock.now  # without `now`: as before
