"""Two `ticketbot worker` processes on one mailbox and one PostgreSQL database: one is
SIGKILLed while both take mail in, the other finishes the job. Nothing may be lost or
doubled, and the survivor parses no mail the killed one had committed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import distinct, func, select

from bot.store.models import IMAPClaim, IMAPState, Message, RawMail, Ticket
from tests.scenarios.test_app import (
    ADDRESS,
    SEEN,
    assert_clean_stop,
    base_env,
    bot_process,
    wait_for_progress,
)
from tests.scenarios.test_crash import DB, message_ids, unlimited_rules
from tests.support.mailgen import corpus
from tests.support.servers import Dovecot, free_port

N = 600
ALONE = 60  # tickets the first worker commits before the second starts
KILL_AT = 250  # tickets committed before the first is killed


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_workers_one_killed_the_other_finishes_nothing_lost_or_doubled(db_url, tmp_path):
    raws = corpus(N)
    db = DB(db_url)
    try:
        with Dovecot(tmp_path / "imap") as dovecot:
            dovecot.deliver_files(raws)
            env = {
                **base_env(),
                "DATABASE_URL": db_url,
                "IMAP_URL": dovecot.url,
                "TICKETBOT_ADDRESS": ADDRESS,
                "TICKETBOT_RULES": str(unlimited_rules(tmp_path)),
                "TICKETBOT_MAIL_DIR": str(tmp_path / "out"),
                "TICKETBOT_IMAP_BATCH": "20",
                "TICKETBOT_PARSE_WORKERS": "1",
                "TICKETBOT_AUTO_REPLY_LIMIT": "100000",
            }

            def worker_env() -> dict[str, str]:
                return {**env, "TICKETBOT_SMTP_LISTEN": f"127.0.0.1:{free_port()}"}

            with bot_process(["worker"], worker_env(), tmp_path, "first") as first:
                wait_for_progress(lambda: db.count(Ticket), lambda n: n >= ALONE,
                                  f"{ALONE} tickets", first)
                before_second = db.count(Ticket)
                with bot_process(["worker"], worker_env(), tmp_path, "second") as second:
                    wait_for_progress(lambda: db.count(Ticket), lambda n: n >= KILL_AT,
                                      f"{KILL_AT} tickets", second)
                    first.kill()
                    assert db.count(Ticket) < N, "the kill did not land mid-stream"
                    wait_for_progress(lambda: db.count(Ticket), lambda n: n >= N,
                                      f"{N} tickets", second)
                    wait_for_progress(lambda: sum(SEEN in f for _, f in dovecot.messages()),
                                      lambda n: n == N, "every mail \\Seen", second, interval=0.2)
                    wait_for_progress(lambda: db.count(IMAPClaim), lambda n: n == 0,
                                      "the claims passed by the mark", second)
                    assert_clean_stop(second)
                err = second.stderr()
                assert "Traceback" not in first.stderr(), first.stderr()[-3000:]
            assert dovecot.messages("Quarantine") == []
            last_uid = max(uid for uid, _ in dovecot.messages())

        # nothing lost, nothing doubled
        assert db.count(Ticket) == N
        assert db.count(RawMail) == N
        inbound = Message.direction == "in"
        assert db.scalar(select(func.count(distinct(Message.ticket_id))).where(inbound)) == N
        assert set(db.scalars(select(Message.message_id).where(inbound))) == message_ids(raws)
        assert db.scalars(select(IMAPState.last_uid)) == [last_uid]
        # the survivor parsed each mail at most once, none the first had committed alone
        [parsed] = map(int, re.findall(r"IMAP intake stopped \(.*?\): parsed (\d+) mails", err))
        assert parsed <= N - before_second
        assert "batch of" not in err  # no batch lost on a unique index and redone
    finally:
        db.close()
