"""Benchmark of the SLA sweep (issue #5): one sweep over 1,000,000 tickets of which
100,000 are open, on SQLite and PostgreSQL: with nothing due, and with 1,000 due.

The tickets are written by the harness (bulk inserts; COPY on PostgreSQL); the sweeps
run in a child process of their own, with the shipped rules.yaml, so its peak RSS is
the clock process's own.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.desk import jobs

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)  # a Wednesday: no weekly job due
COLUMNS = ("kind", "status", "subject", "owner", "owner_role", "priority", "urgent", "channel",
           "bounced", "created_at", "updated_at", "sla_policy", "next_action_cycle",
           "paused_seconds", "sla_next_at", "first_action_due_at", "resolution_due_at")


def _rows(total: int, open_: int, due: int):
    """Tickets in id order: `due` open complaints whose first action is overdue now,
    the other open ones due later, the rest resolved (no pending clock)."""
    for i in range(total):
        if i < due:  # created 25 h ago, first action (24 h) overdue
            created = NOW - timedelta(hours=25)
            yield ("complaint", "new", f"Klacht {i}", "sanne", "sales_support", "normal", False,
                   "mail", False, created, created, "complaint", 0, 0,
                   NOW - timedelta(minutes=1), created + timedelta(hours=24),
                   created + timedelta(days=10))
        elif i < open_:  # opened within the last hour: the next look is hours away
            created = NOW - timedelta(minutes=i % 60)
            yield ("complaint", "new", f"Klacht {i}", "sanne", "sales_support", "normal", False,
                   "mail", False, created, created, "complaint", 0, 0,
                   created + timedelta(hours=18), created + timedelta(hours=24),
                   created + timedelta(days=10))
        else:
            created = NOW - timedelta(days=30 + i % 300)
            yield ("question", "resolved", f"Vraag {i}", "sanne", "sales_support", "normal",
                   False, "mail", False, created, created, "standard", 0, 0, None, None, None)


def fill(url: str, total: int, open_: int, due: int) -> None:
    from sqlalchemy import insert

    from bot.store.migrate import upgrade
    from bot.store.models import Ticket, make_engine

    upgrade(url)
    engine = make_engine(url)
    try:
        if url.startswith("postgresql"):
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                with cur.copy(f"COPY ticket ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in _rows(total, open_, due):
                        copy.write_row(row)
                raw.commit()
                # as autovacuum leaves a live table (visibility map, hint bits, statistics);
                # otherwise it starts on the million new rows during the sweeps, beside them
                raw.driver_connection.autocommit = True  # VACUUM runs outside a transaction
                cur.execute("VACUUM (ANALYZE) ticket")
            finally:
                raw.close()
        else:
            batch: list[dict] = []
            with engine.begin() as conn:
                for row in _rows(total, open_, due):
                    batch.append(dict(zip(COLUMNS, row, strict=False)))
                    if len(batch) == 50_000:
                        conn.execute(insert(Ticket), batch)
                        batch = []
                if batch:
                    conn.execute(insert(Ticket), batch)
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def _child(url: str, out) -> None:
    from bot.adapters.rules_file import load_rules
    from bot.config import Settings
    from bot.desk.context import Desk
    from bot.store.models import make_engine, make_sessionmaker

    settings = Settings(database_url=url, address="support@desk.example")
    service = Desk(settings, make_sessionmaker(make_engine(url)),
                      rules=load_rules(REPO / "rules.yaml"), clock=lambda: NOW)
    jobs.warm(service)  # as the clock process does at its start (bot/app.py)
    base = _hwm_mb()
    quiet = []
    for _ in range(7):  # nothing due: 20 minutes before the first due ticket
        t0 = time.perf_counter()
        done = jobs.sweep(service, NOW - timedelta(minutes=20))
        quiet.append(time.perf_counter() - t0)
        assert done["tickets"] == 0, done
    t0 = time.perf_counter()
    done = jobs.sweep(service, NOW)
    busy = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = jobs.sweep(service, NOW)
    repeat = time.perf_counter() - t0
    out.send({"quiet": statistics.median(quiet), "busy": busy, "done": done, "again": again,
              "repeat": repeat, "base": base, "rss": _hwm_mb()})


def _hwm_mb() -> float:
    """Peak RSS of this process from /proc (VmHWM): getrusage's ru_maxrss can carry the
    parent's peak over fork and exec, which here is the harness holding the rows."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_sweep(tmp: Path, db: str, pg, total: int, open_: int, due: int, receive) -> dict:
    url = pg.create_database() if db == "postgres" else f"sqlite:///{tmp}/sweep-{db}.sqlite3"
    t0 = time.perf_counter()
    fill(url, total, open_, due)
    filled = time.perf_counter() - t0
    parent, child = mp.Pipe()
    p = mp.get_context("spawn").Process(target=_child, args=(url, child))
    p.start()
    res = receive(parent, p, 1800)
    p.join()
    assert res["done"]["escalations"] == due, res["done"]
    assert res["again"]["escalations"] == 0, res["again"]
    res["filled"] = filled
    return res


def rows_for(db: str, r: dict, total: int, open_: int, due: int) -> list[tuple[str, str, str]]:
    return [
        (f"SLA sweep, {total:,} tickets ({open_:,} open), nothing due ({db})",
         f"{r['quiet'] * 1000:,.1f} ms", "<= 200 ms"),
        (f"SLA sweep, {due:,} due ({db})", f"{r['busy'] * 1000:,.0f} ms", "<= 1000 ms"),
        (f"  peak RSS, clock process ({db})", f"{r['rss']:.0f} MB", "<= 200"),
        ("    (of which at start, before any sweep)", f"{r['base']:.0f} MB", ""),
    ]

