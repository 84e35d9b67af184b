"""The intake's parser processes load the parser, not the script that started them: a
console script such as `ticketbot` imports all of the bot (Flask, Slack Bolt, SQLAlchemy),
and multiprocessing would run it again in every parser process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import HANG

SCRIPT = """
import sys
import flask  # what a heavy main script has loaded (bot.cli does)
from types import SimpleNamespace
from bot.desk.pipeline import Pipeline

settings = SimpleNamespace(parse_workers=2, all_own_addresses=frozenset())
pipeline = Pipeline(SimpleNamespace(settings=settings, kind_model=None), workers=2)
pipeline.warm()
pool = pipeline._executor()
print(pool.submit(eval, "sorted(m for m in ('flask', 'sqlalchemy', 'bot.cli', "
                        "'bot.core.mail.prepare') if m in __import__('sys').modules)").result())
pipeline.close()
"""


def test_parser_processes_do_not_rerun_the_main_script(tmp_path):
    script = tmp_path / "ticketbot"  # run by path, as the console script is
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=HANG, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['bot.core.mail.prepare']"


def test_an_attached_letter_is_read_in_the_parser_processes():
    """The PDF text is read where the mail is parsed (a parser process), and comes back
    with the parsed mail; the parent keeps the raw bytes."""
    from types import SimpleNamespace

    from bot.desk.pipeline import POOL_THRESHOLD, Pipeline
    from tests.core.test_attachment_text import LETTER, mail_with
    from tests.support.pdf import pdf_bytes

    settings = SimpleNamespace(parse_workers=2, all_own_addresses=frozenset())
    pipeline = Pipeline(SimpleNamespace(settings=settings, rules=None), workers=2)
    raw = mail_with(pdf_bytes(LETTER))
    try:
        out = pipeline.prepare_many([(f"m{i}", raw) for i in range(POOL_THRESHOLD)])
    finally:
        pipeline.close()
    for p in out:
        assert p.raw == raw and p.message is not None
        [att] = [a for a in p.message.attachments if not a.inline]
        assert "wypowiadamy umowe P-20107" in (att.text or "")


def test_warming_up_reads_the_kind_model_before_the_first_mail():
    """The worker's start-up reads the kind model (75-170 ms) beside the IMAP login, so
    the first mail's route does not wait for it."""
    from types import SimpleNamespace

    from bot.desk.pipeline import Pipeline

    class Desk:
        settings = SimpleNamespace(parse_workers=0, all_own_addresses=frozenset())
        reads = 0

        @property
        def kind_model(self):
            self.reads += 1

    desk = Desk()
    pipeline = Pipeline(desk, workers=0)  # type: ignore[arg-type]
    try:
        pipeline.warm()
    finally:
        pipeline.close()
    assert desk.reads == 1


def test_while_the_parser_processes_start_a_small_batch_is_parsed_here():
    """At start-up the first range of a full mailbox (10 mails) does not wait for the
    parser processes to start and read the rules: while warm() runs, a batch of up to
    WARMING_IN_PROCESS mails is parsed in this process (nothing read ahead); a larger one,
    and every batch once they are ready, goes to them (its routing read ahead)."""
    import threading
    from types import SimpleNamespace

    from bot.adapters.rules_file import RulesHolder
    from bot.desk.pipeline import POOL_THRESHOLD, WARMING_IN_PROCESS, Pipeline
    from tests.support.mailgen import corpus

    holder = RulesHolder(Path(__file__).resolve().parents[2] / "rules.yaml")
    reading, read = threading.Event(), threading.Event()

    class Desk:
        settings = SimpleNamespace(parse_workers=2, all_own_addresses=frozenset())
        rules = holder
        ruleset = holder.current

        @property
        def kind_model(self):  # warm() reads it while the processes start: held here
            reading.set()
            read.wait(60)

    pipeline = Pipeline(Desk(), workers=2)  # type: ignore[arg-type]
    mails = [(f"m{i}", raw) for i, raw in enumerate(corpus(WARMING_IN_PROCESS + 1))]
    warming = threading.Thread(target=pipeline.warm)
    warming.start()
    try:
        assert reading.wait(60)
        pool, handed = pipeline._pool, []
        assert pool is not None
        to_pool = pool.map
        pool.map = lambda fn, raws, *more, **kw: handed.append(len(raws)) or to_pool(fn, raws, *more, **kw)
        first = pipeline.prepare_many(mails[:WARMING_IN_PROCESS])
        larger = pipeline.prepare_later(mails)
        assert handed == [WARMING_IN_PROCESS + 1]
        read.set()
        warming.join(60)
        later = pipeline.prepare_many(mails[:POOL_THRESHOLD])
        assert handed == [WARMING_IN_PROCESS + 1, POOL_THRESHOLD]
        assert all(p.message is not None and p.ahead is None for p in first)
        assert all(p.ahead is not None for p in larger() + later)
    finally:
        read.set()
        pipeline.close()


def test_by_default_one_parser_process_per_core_but_the_one_the_worker_needs(monkeypatch):
    """The worker's own process (storing, routing, delivering) is its busiest: it keeps a
    core, the parser processes take the others; an explicit 1 parses in-process."""
    from types import SimpleNamespace

    from bot.desk import pipeline

    def count(setting, cores):
        monkeypatch.setattr(pipeline.os, "cpu_count", lambda: cores)
        return pipeline.parser_count(SimpleNamespace(parse_workers=setting))

    assert [count(0, cores) for cores in (1, 2, 4, 8)] == [0, 1, 3, 7]
    assert [count(n, 8) for n in (1, 2, 5)] == [0, 2, 5]
    desk = SimpleNamespace(settings=SimpleNamespace(parse_workers=1, all_own_addresses=frozenset()))
    one = pipeline.Pipeline(desk, workers=1)  # type: ignore[arg-type]
    assert one.workers == 0 and one._executor() is None  # parsed in this process


def test_the_routing_is_read_ahead_in_the_parser_processes(tmp_path):
    """With the rules from a file, each mail comes back from a parser process with its
    routing read ahead under the desk's very rules (bot/core/rules/ahead.py); with rules
    given in code, nothing is read ahead."""
    from types import SimpleNamespace

    from bot.adapters.rules_file import RulesHolder
    from bot.desk.pipeline import POOL_THRESHOLD, Pipeline
    from tests.support.mailgen import corpus

    holder = RulesHolder(Path(__file__).resolve().parents[2] / "rules.yaml")
    settings = SimpleNamespace(parse_workers=2, all_own_addresses=frozenset())
    desk = SimpleNamespace(settings=settings, rules=holder, ruleset=holder.current, kind_model=None)
    pipeline = Pipeline(desk, workers=2)  # type: ignore[arg-type]
    mails = [(f"m{i}", raw) for i, raw in enumerate(corpus(POOL_THRESHOLD))]
    try:
        out = pipeline.prepare_many(mails)
        desk.rules = holder.current  # rules given in code: no file to read them from
        plain = pipeline.prepare_many(mails)
    finally:
        pipeline.close()
    for p in out:
        assert p.ahead is not None, p.source
        assert p.ahead.rules_digest == holder.current.digest and p.ahead.memo
    assert all(p.ahead is None for p in plain)
