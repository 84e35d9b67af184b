"""The crash test: `ticketbot worker` is SIGKILLed while it turns 600 IMAP mails into
tickets, then started again. Nothing may be lost and nothing doubled: one ticket, one
raw mail and one acknowledgement per mail, every mail marked \\Seen, no spool left."""

from __future__ import annotations

import functools
import os
import re
import signal
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path

from sqlalchemy import distinct, func, select

from bot.delivery.outbox import CLAIM_BATCH, LANES
from bot.store.models import Message, Outbox, RawMail, Spool, Ticket, make_engine
from tests.conftest import HANG, RULES
from tests.scenarios.test_app import (
    ADDRESS,
    SEEN,
    assert_clean_stop,
    base_env,
    bot_process,
    wait_for_progress,
)
from tests.support.mailgen import corpus
from tests.support.servers import Dovecot, _group_alive, free_port

N = 600  # 30 batches of 20: the kill lands with most of the mailbox still to do
KILL_AT = 150  # tickets committed before the kill


@functools.lru_cache(maxsize=1)
def mails() -> tuple[bytes, ...]:
    return tuple(corpus(N))


def message_ids(raws) -> set[str]:
    parser = BytesHeaderParser(policy=default_policy)
    return {str(parser.parsebytes(raw)["Message-ID"]).strip().strip("<>") for raw in raws}


def unlimited_rules(tmp_path: Path) -> Path:
    """The shipped rules with the flood caps out of reach: this test counts one notice per
    ticket (the caps have tests of their own)."""
    text = RULES.read_text()
    for key in ("new_tickets_per_sender_per_hour", "new_tickets_per_domain_per_hour",
                "notices_per_person_per_hour"):
        text, n = re.subn(rf"{key}: \d+", f"{key}: 1000000", text)
        assert n == 1, key
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


class DB:
    def __init__(self, url: str):
        self.engine = make_engine(url)

    def scalar(self, query):
        with self.engine.connect() as conn:
            return conn.scalar(query)

    def scalars(self, query) -> list:
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def count(self, model, *where) -> int:
        return self.scalar(select(func.count()).select_from(model).where(*where))

    def close(self) -> None:
        self.engine.dispose()


def test_sigkill_mid_stream_then_restart_loses_and_doubles_nothing(db_url, tmp_path):
    raws = mails()
    assert len(message_ids(raws)) == N  # the corpus itself has no repeated Message-ID
    out = tmp_path / "out"
    db = DB(db_url)
    try:
        with Dovecot(tmp_path / "imap") as dovecot:
            dovecot.deliver_files(raws)
            env = {
                **base_env(),
                "DATABASE_URL": db_url,
                "IMAP_URL": dovecot.url,
                "TICKETBOT_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
                "TICKETBOT_ADDRESS": ADDRESS,
                "TICKETBOT_RULES": str(unlimited_rules(tmp_path)),
                "TICKETBOT_MAIL_DIR": str(out),
                # small batches, parsed in-process: many commits, so the kill lands mid-stream
                "TICKETBOT_IMAP_BATCH": "20",
                "TICKETBOT_PARSE_WORKERS": "1",
                # every sender is acknowledged (the default caps it at 5 per 24 h)
                "TICKETBOT_AUTO_REPLY_LIMIT": "100000",
            }

            # ---- first run: killed without warning once some hundreds are stored
            with bot_process(["worker"], env, tmp_path, "first") as first:
                wait_for_progress(lambda: db.count(Ticket), lambda n: n >= KILL_AT,
                                  f"{KILL_AT} tickets", first)
                first.kill()
            at_kill = db.count(Ticket)
            assert 0 < at_kill < N, f"the kill did not land mid-stream: {at_kill} tickets"
            assert "Traceback" not in first.stderr(), first.stderr()[-3000:]
            unseen = sum(SEEN not in flags for _, flags in dovecot.messages())
            assert unseen >= N - at_kill  # only mails with a committed ticket may be \Seen
            # the batch each sender thread (one per lane) of the dead worker may have held
            claimed = set(db.scalars(select(Outbox.id).where(Outbox.status == "queued",
                                                             Outbox.claimed_until.is_not(None))))
            assert len(claimed) <= CLAIM_BATCH * len(LANES)

            # ---- second run: finishes the job
            with bot_process(["worker"], env, tmp_path, "second") as second:
                wait_for_progress(lambda: db.count(Ticket), lambda n: n >= N, f"{N} tickets",
                                  second)
                wait_for_progress(lambda: sum(SEEN in flags for _, flags in dovecot.messages()),
                                  lambda n: n == N, "every mail \\Seen", second, interval=0.2)
                # the outbox drains, except the rows the killed worker had claimed (their
                # claim runs for 5 minutes, so a crash cannot send a mail twice at once)
                wait_for_progress(lambda: set(db.scalars(select(Outbox.id).where(
                    Outbox.status == "queued"))), lambda queued: queued <= claimed,
                    "the outbox to drain", second)
                assert_clean_stop(second)
            assert "Traceback" not in second.stderr(), second.stderr()[-3000:]
            messages = dovecot.messages()
            assert len(messages) == N
            assert all(SEEN in flags for _, flags in messages)
            assert dovecot.messages("Quarantine") == []

        # ---- nothing lost, nothing doubled
        assert db.count(Ticket) == N
        assert db.count(RawMail) == N
        assert db.scalar(select(func.count(distinct(RawMail.dedupe_key)))) == N
        assert db.count(RawMail, RawMail.status == "created") == N
        inbound = Message.direction == "in"
        assert db.count(Message, inbound) == N
        assert db.scalar(select(func.count(distinct(Message.message_id))).where(inbound)) == N
        assert db.scalar(select(func.count(distinct(Message.ticket_id))).where(inbound)) == N
        assert set(db.scalars(select(Message.message_id).where(inbound))) == message_ids(raws)
        # exactly one acknowledgement per ticket, and one notice to its owner
        assert db.count(Outbox) == 2 * N
        assert db.count(Outbox, Outbox.purpose == "ack") == N
        assert db.count(Outbox, Outbox.purpose == "new-ticket") == N
        assert db.scalar(select(func.count(distinct(Outbox.ticket_id)))) == N
        assert db.count(Message, Message.direction == "out") == N
        assert db.count(Outbox, Outbox.status == "failed") == 0
        sent = set(db.scalars(select(Outbox.id).where(Outbox.status == "sent")))
        assert len(sent) == 2 * N - len(claimed)
        files = {int(p.stem) for p in Path(out).glob("*.eml")}
        assert sent <= files <= sent | claimed
        assert db.count(Spool) == 0
    finally:
        db.close()


def test_parser_processes_die_with_a_killed_bot(sqlite_url, tmp_path):
    """Issue 10.9: after `kill -9` of the bot, its forkserver and parser workers do not
    linger (they would hold memory and, with a restart, double the parsers)."""
    with Dovecot(tmp_path / "imap") as dovecot:
        dovecot.deliver_files(mails()[:1500])
        env = {**base_env(), "DATABASE_URL": sqlite_url, "IMAP_URL": dovecot.url,
               "TICKETBOT_SMTP_LISTEN": f"127.0.0.1:{free_port()}", "TICKETBOT_ADDRESS": ADDRESS,
               "TICKETBOT_RULES": str(RULES), "TICKETBOT_MAIL_DIR": str(tmp_path / "out"),
               "TICKETBOT_IMAP_BATCH": "100", "TICKETBOT_PARSE_WORKERS": "2"}
        with bot_process(["worker"], env, tmp_path, "bot") as bot:
            pgid = bot.proc.pid  # its own session: its children share its group
            # the bot and its parser processes (forkserver, workers) are running
            wait_for_progress(lambda: len(_group_alive(pgid)), lambda n: n >= 3,
                              "the parser processes to start", bot)
            os.kill(bot.proc.pid, signal.SIGKILL)  # the bot alone, not its group
            bot.proc.wait(HANG)
            left = wait_for_progress(lambda: _group_alive(pgid), lambda pids: not pids,
                                     "the parser processes to exit")
            assert left == []
