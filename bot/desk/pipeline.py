"""Parse mails on every core, then store them in batches: the intake's hot path.

Parsing is an expensive step (prepare(): about 0.8-1.1 ms a generated mail, 3.7-4.4 ms
a real-world one, on the 2-core test machine), and the parser processes also read the
mail's routing ahead; so large batches are parsed in a process pool while the database
work stays in this process, one transaction per batch.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import sys
import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime
from importlib.machinery import ModuleSpec

from bot.config import Settings
from bot.core.mail.prepare import IngestResult, Prepared, prepare
from bot.core.rules.ahead import Sources
from bot.desk import intake, parse_worker
from bot.desk.context import Desk

log = logging.getLogger("bot.ingest")

# Below this many mails a batch is parsed in-process: the pool's overhead isn't worth it.
POOL_THRESHOLD = 8
# While the parser processes start (warm()), a batch of up to this many is parsed
# in-process rather than wait for them: the first range of a full mailbox (10 mails,
# bot/adapters/imap.py FIRST_RANGE), so the first tickets of a start-up come sooner.
WARMING_IN_PROCESS = 16


def _children_skip_main() -> None:
    """multiprocessing runs the parent's main script again in every child it starts, to
    find functions defined there. For `ticketbot` (a console script) that is all of
    bot.cli: about a second of CPU and tens of MB in each parser process, for nothing
    (their function lives in bot.desk.parse_worker). A main module named *.__main__ is
    left alone (multiprocessing.spawn), so the console script is given that name."""
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None and hasattr(main, "__file__"):
        main.__spec__ = ModuleSpec("ticketbot.__main__", None)


def parser_count(settings: Settings) -> int:
    """How many parser processes the intake runs; 0: it parses in the bot's own process.
    TICKETBOT_PARSE_WORKERS: 1 parses in the bot's own process, N > 1 runs N processes;
    0 (the default): one per core but one, the core the bot's own process needs (it
    stores, routes and delivers: the busiest process of the worker; parsing is a fifth of
    the work), so one parser process on 2 cores, seven on 8, none on 1 core."""
    return processes(settings.parse_workers) if settings.parse_workers \
        else max(0, (os.cpu_count() or 1) - 1)


def processes(workers: int) -> int:
    """Parser processes for an explicit count: 1 (or less) means none, in this process."""
    return workers if workers > 1 else 0


def _forkserver() -> multiprocessing.context.ForkServerContext:
    # forkserver: workers start clean, without this process's threads and sockets,
    # forked from a server that has loaded the parser (and only the parser) once.
    ctx = multiprocessing.get_context("forkserver")
    # and pypdf, which the parser reads attached letters with (imported late, on the
    # first PDF, in the bot's own process: bot/core/mail/attachment_text.py)
    ctx.set_forkserver_preload([parse_worker.__name__, "pypdf"])
    _children_skip_main()
    return ctx


def start_parser_server(settings: Settings) -> None:
    """Start the server the parser processes are forked from now, at the very start of
    the worker: it is a new interpreter that imports the parser (a quarter of a second
    or more of CPU), and does so on another core while this process loads the rules and
    checks the database, instead of after. Nothing when the intake parses in-process.
    The pool (Pipeline) then forks its processes from this server."""
    if parser_count(settings):
        _forkserver()
        multiprocessing.forkserver.ensure_running()


class Pipeline:
    def __init__(self, desk: Desk, workers: int | None = None):
        self.desk = desk
        # parser processes; 0: parse in this process
        self.workers = processes(workers) if workers is not None else parser_count(desk.settings)
        self._pool: Executor | None = None
        self._pool_lock = threading.Lock()  # warm() and the first batch may race to start it
        self._warming = False  # warm() is starting the parser processes

    def _executor(self) -> Executor | None:
        if self.workers <= 0:
            return None
        with self._pool_lock:
            return self._start_pool()

    def _start_pool(self) -> Executor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_forkserver(),
                                             initializer=parse_worker.die_with,
                                             initargs=(os.getpid(),))
        return self._pool

    def warm(self) -> None:
        """Start the parser processes and have them read the rules, and read the kind
        model, now (the worker calls this at start-up, beside the IMAP login), so the
        first batch of mail does not wait for them. The processes are asked to read the
        rules first: the kind model (a quarter of a second of this process's CPU) is
        read while they start and read them. Meanwhile a small batch is parsed here
        (prepare_later): the first tickets do not wait for the processes to be ready."""
        started = []
        self._warming = True
        try:
            pool = self._executor()
            if pool is not None:  # parse_worker.warm starts each process and reads the rules
                started = [pool.submit(parse_worker.warm, self.sources()) for _ in range(self.workers)]
        except Exception as exc:  # stopped meanwhile, or no processes: the first batch tries again
            log.info("parser processes not started ahead (%s: %s)", type(exc).__name__, exc)
        try:
            self.desk.kind_model  # noqa: B018 - read now, not when the first mail is routed
            for f in started:
                f.result()
        except Exception as exc:
            log.info("parser processes not started ahead (%s: %s)", type(exc).__name__, exc)
        finally:
            self._warming = False

    def parses_here(self, n: int) -> bool:
        """Whether a batch of `n` mails is parsed in this process, when its parse is
        waited for (no parser processes, a small batch, or one of up to
        WARMING_IN_PROCESS while warm() starts them), not by the parser processes."""
        return self.workers <= 0 or n < POOL_THRESHOLD or self.parses_here_while_warming(n)

    def parses_here_while_warming(self, n: int) -> bool:
        """Whether a batch of `n` mails is parsed in this process only because warm() is
        still starting the parser processes (the first range of a full mailbox)."""
        return self._warming and self.workers > 0 and POOL_THRESHOLD <= n <= WARMING_IN_PROCESS

    def prepare_many(self, items: Sequence[tuple[str, bytes]]) -> list[Prepared]:
        return self.prepare_later(items)()

    def prepare_later(self, items: Sequence[tuple[str, bytes]]) -> Callable[[], list[Prepared]]:
        """Hand the mails to the parser processes now; the returned function waits for
        them (so the caller can store the previous batch meanwhile). Small batches, or
        no pool: parsed in this process when the function is called."""
        own = tuple(self.desk.settings.all_own_addresses)
        items = list(items)
        pool = None if self.parses_here(len(items)) else self._executor()
        if pool is None:
            return lambda: [prepare(raw, source, own) for source, raw in items]
        chunk = max(1, len(items) // (self.workers * 4))
        # Executor.map submits every chunk at once; only the results are waited for later
        parsed = pool.map(parse_worker.prepare_light, [r for _, r in items], [s for s, _ in items],
                          [own] * len(items), [self.sources()] * len(items), chunksize=chunk)

        def collect() -> list[Prepared]:
            out = list(parsed)
            for p, (_, raw) in zip(out, items, strict=True):
                p.raw = raw
                if p.message is not None:
                    p.message.raw = raw
            return out
        return collect

    def sources(self) -> Sources | None:
        """The rules the desk routes with, for the parser processes to read the mail's
        routing ahead (bot/core/rules/ahead.py); None when the rules are not a
        file's (the built-in fallback, or rules given in code)."""
        path = getattr(self.desk.rules, "path", None)
        digest = self.desk.ruleset.digest if path is not None else ""
        return Sources(str(path), digest) if digest else None

    def ingest(self, items: Sequence[tuple[str, bytes]], acknowledge: bool = True,
               parsed: Callable[[], list[Prepared]] | None = None) -> list[IngestResult]:
        """Parse and store; raises if the database cannot be written (nothing then
        counts as processed). `acknowledge=False`: no customer is mailed (an archive).
        `parsed`: the items' parse, started earlier with prepare_later()."""
        prepared = parsed() if parsed is not None else self.prepare_many(items)
        return intake.ingest_prepared(self.desk, prepared, acknowledge=acknowledge)

    def process_spool(self, limit: int = 200) -> list[IngestResult]:
        """Turn spooled SMTP mail into tickets, one batch; each spool row is deleted in
        the transaction that stores its ticket. Nothing is read ahead (a drain kept from
        step to step does that: spool_drain)."""
        return SpoolDrain(self, limit, ahead=False).step()

    def spool_drain(self, limit: int = 200) -> SpoolDrain:
        return SpoolDrain(self, limit)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class SpoolDrain:
    """Spooled SMTP mail into tickets, a batch a step, the next batch parsed while this
    one is stored (as the IMAP poller overlaps its ranges): the worker's spool thread
    keeps one, so this process stores while the parser processes parse instead of
    waiting for them. A batch being parsed keeps its rows in the spool until the
    transaction that stores its tickets deletes them; the next read skips them."""

    def __init__(self, pipeline: Pipeline, limit: int = 200, ahead: bool = True):
        self.pipeline, self.limit, self.ahead = pipeline, limit, ahead
        self._next: tuple[list[tuple[int, str, bytes, datetime]], Callable[[], list[Prepared]]] | None = None

    def _start(self, skip: Collection[int] = ()) -> None:
        rows = intake.pending_spool(self.pipeline.desk, self.limit, skip)
        self._next = (rows, self.pipeline.prepare_later(
            [(source, raw) for _, source, raw, _ in rows])) if rows else None

    def step(self) -> list[IngestResult]:
        """Store one batch (the one started last step, else the oldest spooled mails),
        having handed the batch after it to the parser processes (`ahead`); [] when the spool is
        empty. Raises if the database cannot be written: the rows stay spooled, and a
        new drain reads them again."""
        if self._next is None:
            self._start()
            if self._next is None:
                return []
        (rows, parsed), self._next = self._next, None
        if self.ahead:
            self._start(skip=[sid for sid, _, _, _ in rows])
        prepared = parsed()
        for p, (sid, _, _, received_at) in zip(prepared, rows, strict=True):
            p.spool_id = sid
            p.received_at = received_at
        return intake.ingest_prepared(self.pipeline.desk, prepared)
