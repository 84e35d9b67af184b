"""Parse mails on every core, then store them in batches: the intake's hot path.

Parsing is the expensive step (about 630 mails/s per core with the stdlib parser), so
large batches are parsed in a process pool while the database work stays in this
process, one transaction per batch.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace

from bot.core.mail.prepare import IngestResult, Prepared, prepare
from bot.desk import intake
from bot.desk.context import Desk

log = logging.getLogger("bot.ingest")

# Below this many mails a batch is parsed in-process: the pool's overhead isn't worth it.
POOL_THRESHOLD = 8


def _prepare_light(raw: bytes, source: str, own: tuple[str, ...]) -> Prepared:
    """Runs in a worker: parse, then drop the bytes (the parent has them) to halve IPC."""
    p = prepare(raw, source, own)
    if p.message is not None:
        p.message.raw = None
    return replace(p, raw=b"")


def _die_with(parent: int, every: float = 1.0) -> None:
    """In each parser worker: exit when the bot that started the pool is gone (killed
    with -9, its pipes never closed), instead of lingering as an orphan."""
    def watch() -> None:
        while not threading.Event().wait(every):
            try:
                os.kill(parent, 0)
            except (ProcessLookupError, PermissionError):  # gone (or its pid reused)
                os._exit(0)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


class Pipeline:
    def __init__(self, desk: Desk, workers: int | None = None):
        self.desk = desk
        n = workers if workers is not None else (desk.settings.parse_workers or os.cpu_count() or 1)
        self.workers = max(1, n)
        self._pool: Executor | None = None

    def _executor(self) -> Executor | None:
        if self.workers <= 1:
            return None
        if self._pool is None:
            # forkserver: workers start clean, without this process's threads and sockets.
            ctx = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx,
                                             initializer=_die_with, initargs=(os.getpid(),))
        return self._pool

    def prepare_many(self, items: Sequence[tuple[str, bytes]]) -> list[Prepared]:
        own = tuple(self.desk.settings.all_own_addresses)
        pool = self._executor() if len(items) >= POOL_THRESHOLD else None
        if pool is None:
            return [prepare(raw, source, own) for source, raw in items]
        chunk = max(1, len(items) // (self.workers * 4))
        out = list(pool.map(_prepare_light, [r for _, r in items], [s for s, _ in items],
                            [own] * len(items), chunksize=chunk))
        for p, (_, raw) in zip(out, items, strict=True):
            p.raw = raw
            if p.message is not None:
                p.message.raw = raw
        return out

    def ingest(self, items: Sequence[tuple[str, bytes]], acknowledge: bool = True) -> list[IngestResult]:
        """Parse and store; raises if the database cannot be written (nothing then
        counts as processed). `acknowledge=False`: no customer is mailed (an archive)."""
        return intake.ingest_prepared(self.desk, self.prepare_many(items), acknowledge=acknowledge)

    def process_spool(self, limit: int = 200) -> list[IngestResult]:
        """Turn spooled SMTP mail into tickets, one batch; each spool row is deleted in
        the transaction that stores its ticket."""
        rows = intake.pending_spool(self.desk, limit)
        if not rows:
            return []
        prepared = self.prepare_many([(source, raw) for _, source, raw, _ in rows])
        for p, (sid, _, _, received_at) in zip(prepared, rows, strict=True):
            p.spool_id = sid
            p.received_at = received_at
        return intake.ingest_prepared(self.desk, prepared)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
