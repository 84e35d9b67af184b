"""Inbound SMTP: a real aiosmtpd server in front of the spool and the ingest pipeline."""

from __future__ import annotations

import asyncio
import smtplib
import threading

import pytest
from sqlalchemy import func, select, text

from bot.adapters.smtp_in import IntakeHandler, IntakeServer
from bot.desk import intake, queries
from bot.desk.pipeline import Pipeline
from bot.store.models import Spool
from tests.conftest import OPERATOR
from tests.support.mailgen import customer_mail
from tests.support.servers import free_port


@pytest.fixture
def smtp_server(service):
    handler = IntakeHandler(lambda raw, source: intake.spool(service, raw, source), frozenset({"desk.example"}))
    server = IntakeServer(handler, "127.0.0.1", free_port(), max_size=100_000)
    server.start()
    yield server
    server.stop()


def send(server, raw: bytes, rcpt="support@desk.example"):
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as c:
        return c.sendmail("contact@customer.example", [rcpt], raw)


def spooled(service) -> int:
    with service.sessions() as s:
        return s.scalar(select(func.count()).select_from(Spool))


def test_accepted_mail_is_spooled_then_becomes_a_ticket(service, smtp_server):
    raw = customer_mail(1, variant="attachment")
    assert send(smtp_server, raw) == {}
    assert spooled(service) == 1
    results = Pipeline(service, workers=1).process_spool()
    assert [r.status for r in results] == ["created"]
    assert spooled(service) == 0  # removed in the transaction that made the ticket
    d = queries.ticket_detail(service, OPERATOR, results[0].ticket)
    assert d["messages"][0]["attachments"][0]["name"] == "factuur-1.pdf"
    # the bytes kept are the bytes sent
    with service.sessions() as s:
        from bot.store.models import RawMail
        assert s.scalar(select(RawMail.content)).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


def test_same_mail_over_smtp_twice_is_one_ticket(service, smtp_server):
    raw = customer_mail(2, variant="plain")
    send(smtp_server, raw)
    send(smtp_server, raw)
    results = Pipeline(service, workers=1).process_spool()
    assert [r.status for r in results] == ["created", "duplicate"]
    assert spooled(service) == 0


def test_recipient_of_another_domain_is_refused_with_550(smtp_server):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        send(smtp_server, customer_mail(3), rcpt="someone@elsewhere.example")
    code, msg = err.value.recipients["someone@elsewhere.example"]
    assert code == 550 and b"no such mailbox" in msg


def test_oversized_mail_is_refused_with_552(service, smtp_server):
    big = customer_mail(4, variant="plain") + (b"x" * 70 + b"\r\n") * 3000
    # A client that declares SIZE is refused at MAIL FROM ...
    with pytest.raises(smtplib.SMTPSenderRefused) as err:
        send(smtp_server, big)
    assert err.value.smtp_code == 552
    # ... one that does not is refused at the end of DATA.
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as c:
        c.helo("client.example")
        assert c.mail("contact@customer.example")[0] == 250
        assert c.rcpt("support@desk.example")[0] == 250
        code, _ = c.data(big)
    assert code == 552
    assert spooled(service) == 0


def test_storage_failure_answers_451_so_the_sender_retries(service, smtp_server):
    with service.sessions() as s, s.begin():
        s.execute(text("DROP TABLE spool"))
    with pytest.raises(smtplib.SMTPDataError) as err:
        send(smtp_server, customer_mail(5))
    assert err.value.smtp_code == 451


def test_handler_works_without_a_socket(service):
    class Env:
        rcpt_tos: list = []
        original_content = customer_mail(6)
        content = original_content
        mail_from = "a@b"

    class Sess:
        peer = ("127.0.0.1", 1)

    handler = IntakeHandler(lambda raw, source: intake.spool(service, raw, source), frozenset({"desk.example"}))
    env = Env()
    assert asyncio.run(handler.handle_RCPT(None, Sess(), env, "x@other.example", [])).startswith("550")
    assert asyncio.run(handler.handle_RCPT(None, Sess(), env, "Support@Desk.Example", [])).startswith("250")
    assert asyncio.run(handler.handle_DATA(None, Sess(), env)).startswith("250 2.0.0 OK")
    handler.close()
    assert spooled(service) == 1


class _Sess:
    peer = ("127.0.0.1", 1)


def _envelope(raw: bytes):
    """An envelope handle_DATA accepts: one of our recipients, these bytes."""
    class Env:
        rcpt_tos = ["support@desk.example"]
        original_content = raw
        content = raw
        mail_from = "a@b"
    return Env()


def _counting_puts(handler: IntakeHandler) -> threading.Semaphore:
    """A semaphore released each time a mail is handed to the writer."""
    handed = threading.Semaphore(0)
    real_put = handler._queue.put

    def put(item):
        real_put(item)
        if item is not None:
            handed.release()

    handler._queue.put = put  # type: ignore[method-assign]
    return handed


def test_mails_arriving_while_a_commit_runs_are_committed_together_each_answered(service):
    """Group commit: the mails of several connections that arrive while the spool's
    writer commits are written in its next single transaction; each sender still gets
    250 with its own mail's reference, and every mail is in the spool."""
    first_started, release = threading.Event(), threading.Event()
    groups: list[int] = []

    def store_many(mails):
        groups.append(len(mails))
        if len(groups) == 1:  # hold the first commit until the others are waiting
            first_started.set()
            assert release.wait(30)
        return intake.spool_many(service, mails)

    handler = IntakeHandler(lambda raw, source: intake.spool(service, raw, source),
                            frozenset({"desk.example"}), store_many=store_many)
    handed = _counting_puts(handler)
    server = IntakeServer(handler, "127.0.0.1", free_port(), max_size=100_000)
    server.start()
    mails = [customer_mail(40 + i, variant="plain") for i in range(5)]
    answers: dict[int, tuple] = {}

    def deliver(i):
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
            c.ehlo()
            c.mail("contact@customer.example")
            c.rcpt("support@desk.example")
            answers[i] = c.data(mails[i])

    try:
        threads = [threading.Thread(target=deliver, args=(0,))]
        threads[0].start()
        assert first_started.wait(30) and handed.acquire(timeout=30)
        threads += [threading.Thread(target=deliver, args=(i,)) for i in range(1, 5)]
        for t in threads[1:]:
            t.start()
        for _ in range(4):  # the four others are handed to the writer, waiting
            assert handed.acquire(timeout=30)
        release.set()
        for t in threads:
            t.join(30)
    finally:
        release.set()
        server.stop()
    assert groups == [1, 4]
    assert spooled(service) == 5
    for i, (code, reply) in answers.items():
        assert code == 250 and reply.decode().endswith(intake.mail_ref(mails[i])), (i, reply)


def test_a_group_that_cannot_be_stored_is_stored_mail_by_mail_and_only_the_bad_one_is_refused(service):
    bad = customer_mail(60, variant="plain")
    good = [customer_mail(61 + i, variant="plain") for i in range(2)]

    def store(raw, source):
        if raw == bad:
            raise RuntimeError("this one cannot be stored")
        return intake.spool(service, raw, source)

    def store_many(mails):
        if any(raw == bad for raw, _ in mails):
            raise RuntimeError("the group cannot be stored")
        return intake.spool_many(service, mails)

    handler = IntakeHandler(store, frozenset({"desk.example"}), store_many=store_many)

    async def all_at_once():
        return await asyncio.gather(*(handler.handle_DATA(None, _Sess(), _envelope(raw))
                                      for raw in (good[0], bad, good[1])))

    try:
        answers = asyncio.run(all_at_once())
    finally:
        handler.close()
    assert [a[:3] for a in answers] == ["250", "451", "250"]
    assert spooled(service) == 2


def _data_answer(handler) -> str:
    """One DATA straight to the handler; a writer that never answers fails in 5 s, not hangs."""
    class Sess:
        peer = ("127.0.0.1", 1)

    class Env:
        rcpt_tos = ["support@desk.example"]
        original_content = content = customer_mail(70, variant="plain")
        mail_from = "a@b"

    async def one():
        return await asyncio.wait_for(handler.handle_DATA(None, Sess(), Env()), 5)
    return asyncio.run(one())


def test_a_mail_after_close_is_answered_451_and_not_left_waiting():
    handler = IntakeHandler(lambda raw, source: "ref", frozenset({"desk.example"}))
    handler.close()
    assert _data_answer(handler)[:3] == "451"


def test_the_writer_lives_on_after_a_store_that_raises_a_base_exception_or_miscounts():
    calls: list[int] = []

    def store(raw, source):
        calls.append(1)
        if len(calls) == 1:
            raise SystemExit("not an Exception")
        return "ref"

    handler = IntakeHandler(store, frozenset({"desk.example"}))
    try:
        assert _data_answer(handler)[:3] == "451"
        assert _data_answer(handler)[:3] == "250"
    finally:
        handler.close()
    handler = IntakeHandler(lambda raw, source: "ref", frozenset({"desk.example"}),
                            store_many=lambda mails: [])  # a reference short
    try:
        assert _data_answer(handler)[:3] == "451"
        assert _data_answer(handler)[:3] == "451"
    finally:
        handler.close()


def test_a_group_holds_at_most_group_bytes_of_mail(service, monkeypatch):
    """Large mails are not gathered into one huge transaction: a group ends before the
    mail that would take it over GROUP_BYTES, and that mail starts the next."""
    import bot.adapters.smtp_in as smtp_in

    mails = [customer_mail(70 + i, variant="plain") for i in range(5)]
    monkeypatch.setattr(smtp_in, "GROUP_BYTES", 2 * max(len(m) for m in mails))
    first_started, release = threading.Event(), threading.Event()
    groups: list[int] = []

    def store_many(items):
        groups.append(len(items))
        if len(groups) == 1:
            first_started.set()
            assert release.wait(30)
        return intake.spool_many(service, items)

    handler = IntakeHandler(lambda raw, source: intake.spool(service, raw, source),
                            frozenset({"desk.example"}), store_many=store_many)
    handed = _counting_puts(handler)

    async def deliver():
        first = asyncio.ensure_future(handler.handle_DATA(None, _Sess(), _envelope(mails[0])))
        await asyncio.get_running_loop().run_in_executor(None, first_started.wait, 30)
        rest = [asyncio.ensure_future(handler.handle_DATA(None, _Sess(), _envelope(m))) for m in mails[1:]]
        for _ in range(5):  # all five handed to the writer, four of them waiting
            assert await asyncio.get_running_loop().run_in_executor(None, handed.acquire, True, 30)
        release.set()
        return await asyncio.gather(first, *rest)

    try:
        answers = asyncio.run(deliver())
    finally:
        release.set()
        handler.close()
    assert [a[:3] for a in answers] == ["250"] * 5
    assert groups == [1, 2, 2]
    assert spooled(service) == 5


class _Recording(Pipeline):
    """A real pipeline that notes when a batch is handed to the parsers and when one is
    stored, by the spool rows' sources."""

    def __init__(self, desk, log: list):
        super().__init__(desk, workers=1)
        self.log = log

    def prepare_later(self, items):
        self.log.append(("parse", [source for source, _ in items]))
        return super().prepare_later(items)


def _spool(service, numbers) -> None:
    for i in numbers:
        intake.spool(service, customer_mail(100 + i, variant="plain"), f"smtp:{i}")


def test_the_spool_drain_parses_the_next_batch_while_it_stores_this_one(service, monkeypatch):
    log: list = []
    stored = intake.ingest_prepared

    def ingest(desk, prepared, **kw):
        log.append(("store", [p.source for p in prepared]))
        return stored(desk, prepared, **kw)

    monkeypatch.setattr(intake, "ingest_prepared", ingest)
    _spool(service, range(1, 21))
    pipeline = _Recording(service, log)
    try:
        drain = pipeline.spool_drain(limit=8)
        first = drain.step()
        _spool(service, [21])  # spooled while the second batch is being parsed
        results = first + drain.step() + drain.step()
        assert drain.step() == []
    finally:
        pipeline.close()
    names = [f"smtp:{i}" for i in range(1, 22)]
    # each batch is handed to the parser processes before the one before it is stored
    assert log == [("parse", names[0:8]), ("parse", names[8:16]), ("store", names[0:8]),
                   ("parse", names[16:21]), ("store", names[8:16]), ("store", names[16:21])]
    assert [r.status for r in results] == ["created"] * 21
    assert len({r.ticket for r in results}) == 21
    assert spooled(service) == 0


def test_a_batch_that_cannot_be_stored_stays_spooled_and_a_new_drain_takes_it_once(service, monkeypatch):
    stored = intake.ingest_prepared
    failures = [RuntimeError("database unwritable")]

    def ingest(desk, prepared, **kw):
        if failures:
            raise failures.pop()
        return stored(desk, prepared, **kw)

    monkeypatch.setattr(intake, "ingest_prepared", ingest)
    _spool(service, range(1, 13))
    pipeline = Pipeline(service, workers=1)
    try:
        with pytest.raises(RuntimeError):
            pipeline.spool_drain(limit=8).step()  # the spool thread's guard starts it again
        assert spooled(service) == 12
        drain = pipeline.spool_drain(limit=8)
        results = drain.step() + drain.step()
        assert drain.step() == []
    finally:
        pipeline.close()
    assert [r.status for r in results] == ["created"] * 12
    assert len({r.ticket for r in results}) == 12
    assert spooled(service) == 0


def test_pending_spool_leaves_out_the_rows_being_parsed(service):
    _spool(service, range(1, 6))
    ids = [sid for sid, *_ in intake.pending_spool(service, 10)]
    assert len(ids) == 5
    assert [sid for sid, *_ in intake.pending_spool(service, 10, skip=ids[1:3])] == \
        [ids[0], ids[3], ids[4]]
    assert [sid for sid, *_ in intake.pending_spool(service, 2, skip=ids[:1])] == ids[1:3]


def test_process_spool_takes_one_batch_and_reads_nothing_ahead(service):
    """One batch a call (the tests', the inner-loop bench's): a batch read ahead would be
    parsed, dropped, and parsed again by the next call."""
    log: list = []
    _spool(service, range(1, 13))
    pipeline = _Recording(service, log)
    try:
        results = pipeline.process_spool(limit=8)
    finally:
        pipeline.close()
    assert log == [("parse", [f"smtp:{i}" for i in range(1, 9)])]
    assert [r.status for r in results] == ["created"] * 8
    assert spooled(service) == 4
