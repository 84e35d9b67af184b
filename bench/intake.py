"""Benchmarks of the intake against real servers (Dovecot, aiosmtpd, SQLite, PostgreSQL).

    make bench                      # everything, 10,000 mails
    python -m bench --mails 2000    # smaller corpus
    python -m bench --only e2e      # e2e | peer | imap | smtp | latency | big | sweep | parse | routing | web |
                                    # webhooks
    python -m bench --only peer --peer-mails 1000   # ours and django-helpdesk, same corpus
    python -m bench --only e2e --e2e-workers 1 2 4   # scale-out on PostgreSQL
    python -m bench --only routing --misroutes   # the routing score and every misroute
    python -m bench --only sweep --tickets 100000   # the SLA sweep on a smaller table
    python -m bench --only web      # the web face on 100,000 tickets (bench/web.py)

`e2e` (bench/e2e.py) runs what a user runs: the `ticketbot worker` process, timed from
its start until every ticket is committed and every mail delivered. The other IMAP and
SMTP figures are the *inner loop*: the intake's code in process, fallback rules, no
outbox sender, parsers started before the clock. `peer` (bench/peer.py) runs
django-helpdesk's `get_email` (installed by pip into var/bench/peer-venv) and the worker
back to back on the same corpus and prints the ratio.

Each measured part runs the bot's code in a child process of its own, so the peak
memory figures are the bot's, not the harness's (which holds the corpus).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.support.mailgen import corpus
from tests.support.servers import Dovecot, Postgres, free_port


def _rss_mb(who=resource.RUSAGE_SELF) -> float:
    """Peak RSS of this process. /proc's VmHWM where there is one: getrusage's ru_maxrss
    can carry the parent's peak over fork and exec (a spawned child then reports the
    harness holding the corpus)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _workers_peak_mb(pipeline) -> float:
    """Largest peak RSS among the parser processes (forkserver children are not ours,
    so getrusage(RUSAGE_CHILDREN) cannot see them; /proc can)."""
    pool = pipeline._pool
    peaks = [0.0]
    for pid in list(getattr(pool, "_processes", {}) or {}):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return max(peaks)


# ---------------------------------------------------------------- child processes
def _imap_child(db_url: str, imap_url: str, workers: int, out) -> None:
    from bot.adapters.imap import IMAPPoller
    from bot.config import MailServerURL, Settings
    from bot.desk.context import Desk
    from bot.desk.pipeline import Pipeline
    from bot.store.migrate import upgrade
    from bot.store.models import make_engine, make_sessionmaker

    upgrade(db_url)
    settings = Settings(database_url=db_url, imap_url=MailServerURL.parse("IMAP_URL", imap_url),
                        auto_reply_limit=10**9, parse_workers=workers)
    service = Desk(settings, make_sessionmaker(make_engine(db_url)))
    pipeline = Pipeline(service)
    poller = IMAPPoller(settings, pipeline)
    poller.connect()
    pipeline.prepare_many([("warm-up", b"Subject: x\r\n\r\ny\r\n")] * 16)  # start the pool
    start = time.perf_counter()
    results = poller.poll_once()
    elapsed = time.perf_counter() - start
    poller.disconnect()
    worker_rss = _workers_peak_mb(pipeline)
    pipeline.close()
    statuses = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    out.send({"elapsed": elapsed, "count": len(results), "statuses": statuses,
              "rss": _rss_mb(), "rss_workers": worker_rss})


def _smtp_child(db_url: str, port: int, ready, out) -> None:
    from bot.adapters.smtp_in import IntakeHandler, IntakeServer
    from bot.config import Settings
    from bot.desk import intake
    from bot.desk.context import Desk
    from bot.desk.pipeline import Pipeline
    from bot.store.migrate import upgrade
    from bot.store.models import make_engine, make_sessionmaker

    upgrade(db_url)
    settings = Settings(database_url=db_url, address="support@desk.example",
                        auto_reply_limit=10**9)
    service = Desk(settings, make_sessionmaker(make_engine(db_url)))
    handler = IntakeHandler(lambda raw, source: intake.spool(service, raw, source),
                            frozenset({"desk.example"}))
    server = IntakeServer(handler,
                          "127.0.0.1", port, settings.smtp_max_size)
    server.start()
    ready.set()
    out.recv()  # the parent has sent everything
    server.stop()
    # then drain the spool into tickets, as the worker would
    pipeline = Pipeline(service)
    start = time.perf_counter()
    n = 0
    while batch := pipeline.process_spool(200):
        n += len(batch)
    drain = time.perf_counter() - start
    pipeline.close()
    out.send({"rss": _rss_mb(), "drained": n, "drain_elapsed": drain})


# ---------------------------------------------------------------- benchmarks
def _receive(conn, proc, timeout: float):
    """The child's result, or a clear failure when the child died or hangs."""
    deadline = time.monotonic() + timeout
    while not conn.poll(1.0):
        if not proc.is_alive():
            raise SystemExit(f"benchmark child process died (exit code {proc.exitcode})")
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("benchmark child process did not answer in time")
    return conn.recv()


def bench_imap(mails: list[bytes], tmp: Path, db: str, pg: Postgres | None, workers: int) -> dict:
    with Dovecot(tmp / f"imap-{db}") as dovecot:
        dovecot.deliver_files(mails)
        url = pg.create_database() if db == "postgres" else f"sqlite:///{tmp}/imap-{db}.sqlite3"
        parent, child = mp.Pipe()
        p = mp.get_context("spawn").Process(target=_imap_child,
                                            args=(url, dovecot.url, workers, child))
        p.start()
        res = _receive(parent, p, 3600)
        p.join()
        assert res["statuses"] == {"created": len(mails)}, res["statuses"]
        return res


def bench_smtp(mails: list[bytes], tmp: Path) -> dict:
    port = free_port()
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_smtp_child, args=(f"sqlite:///{tmp}/smtp.sqlite3", port, ready, child))
    p.start()
    assert ready.wait(60), "SMTP server did not start"
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        start = time.perf_counter()
        for raw in mails:
            c.sendmail("customer@customer.example", ["support@desk.example"], raw)
        elapsed = time.perf_counter() - start
    parent.send("done")
    res = _receive(parent, p, 3600)
    p.join()
    assert res["drained"] == len(mails), res
    res.update(elapsed=elapsed, count=len(mails))
    return res


def bench_latency(tmp: Path, n: int = 100) -> list[float]:
    """Seconds from the APPEND of a mail to Dovecot to its ticket's commit, IDLE mode."""
    from bot.adapters.imap import IMAPPoller
    from bot.config import MailServerURL, Settings
    from bot.desk.context import Desk
    from bot.desk.pipeline import Pipeline
    from bot.store.migrate import upgrade
    from bot.store.models import make_engine, make_sessionmaker

    mails = corpus(n, seed=7)
    url = f"sqlite:///{tmp}/latency.sqlite3"
    upgrade(url)
    with Dovecot(tmp / "imap-latency") as dovecot:
        settings = Settings(database_url=url, imap_url=MailServerURL.parse("IMAP_URL", dovecot.url),
                            auto_reply_limit=10**9, imap_poll_seconds=3600)
        service = Desk(settings, make_sessionmaker(make_engine(url)))
        done = threading.Condition()
        committed: list[float] = []

        def on_batch(results):
            with done:
                committed.extend(time.perf_counter() for _ in results)
                done.notify_all()

        poller = IMAPPoller(settings, Pipeline(service, workers=1), on_batch=on_batch)
        stop = threading.Event()
        t = threading.Thread(target=poller.run, args=(stop,), daemon=True)
        t.start()
        client = dovecot.connect()
        latencies = []
        try:
            for i, raw in enumerate(mails):
                assert poller.idling.wait(30), "poller not idling"
                sent = time.perf_counter()
                client.append("INBOX", raw)
                with done:
                    assert done.wait_for(lambda i=i: len(committed) > i, 30), "mail not handled"
                latencies.append(committed[i] - sent)
        finally:
            client.logout()
            stop.set()
            t.join(30)
    return latencies


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def big_mails() -> list[tuple[str, bytes]]:
    """A 5 MB plain-text mail (routing and language over the whole text was the cost) and
    a 25 MB mail: a short text with a 24 MB attachment, as people send scans."""
    from email.message import EmailMessage

    line = "De levering van vandaag was weer te laat en de factuur klopt niet. " * 2 + "\n"
    text = EmailMessage()
    text["From"] = "Jan <jan@klant.nl>"
    text["To"] = "support@desk.example"
    text["Subject"] = "Lange klacht"
    text["Message-ID"] = "<big-text@klant.nl>"
    text.set_content(line * (5 * 1024 * 1024 // len(line)))
    scan = EmailMessage()
    scan["From"] = "Piet <piet@klant.nl>"
    scan["To"] = "support@desk.example"
    scan["Subject"] = "Scan van de opzegging"
    scan["Message-ID"] = "<big-scan@klant.nl>"
    scan.set_content("Goedendag,\n\nZie de scan in de bijlage.\n")
    scan.add_attachment(bytes(range(256)) * (24 * 1024 * 1024 // 256), maintype="application",
                        subtype="pdf", filename="opzegging.pdf")
    return [("ingest a 5 MB plain-text mail (SQLite)", bytes(text)),
            ("ingest a 25 MB mail with a 24 MB attachment (SQLite)", bytes(scan))]


def bench_big(tmp: Path) -> list[tuple[str, float]]:
    """Seconds from bytes to committed ticket for each big mail, with the shipped rules."""
    from bot.adapters.rules_file import load_rules
    from bot.config import Settings
    from bot.desk import intake
    from bot.desk.context import Desk
    from bot.store.migrate import upgrade
    from bot.store.models import make_engine, make_sessionmaker

    url = f"sqlite:///{tmp}/big.sqlite3"
    upgrade(url)
    settings = Settings(database_url=url, address="support@desk.example", domains=("desk.example",),
                        mail_dir=tmp / "out-big", parse_workers=1)
    desk = Desk(settings, make_sessionmaker(make_engine(url)),
                rules=load_rules(Path(__file__).resolve().parent.parent / "rules.yaml"))
    out = []
    for label, raw in big_mails():
        started = time.perf_counter()
        result = intake.ingest_raw(desk, raw, "bench")
        assert result.status == "created", result
        out.append((label, time.perf_counter() - started))
    return out


SECTIONS = ["e2e", "peer", "imap", "smtp", "latency", "big", "sweep", "parse", "routing", "web", "webhooks"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--mails", type=int, default=10_000)
    ap.add_argument("--smtp-mails", type=int, default=3_000)
    ap.add_argument("--workers", type=int, default=0, help="parser processes (0: cores)")
    ap.add_argument("--e2e-mails", type=int, default=2_000)
    ap.add_argument("--e2e-workers", type=int, nargs="+", default=[1],
                    help="e2e: worker processes on PostgreSQL (e.g. 1 2 4)")
    ap.add_argument("--e2e-via", nargs="+", choices=("imap", "smtp"), default=["imap", "smtp"],
                    help="e2e: how the mail comes in: IMAP (Dovecot) and/or SMTP to the worker's listener")
    ap.add_argument("--peer-mails", type=int, default=500,
                    help="peer: mails for ours and django-helpdesk's get_email")
    ap.add_argument("--only", choices=SECTIONS, action="append")
    ap.add_argument("--misroutes", action="store_true",
                    help="routing: list every misroute with its explain trace")
    ap.add_argument("--tickets", type=int, default=1_000_000, help="sweep: tickets in the database")
    ap.add_argument("--open", type=int, default=100_000, help="sweep: of which open")
    ap.add_argument("--due", type=int, default=1_000, help="sweep: of which due now")
    ap.add_argument("--web-tickets", type=int, default=100_000, help="web: tickets in the database")
    ap.add_argument("--web-messages", type=int, default=1_000_000, help="web: messages in the database")
    ap.add_argument("--web-requests", type=int, default=30, help="web: timed requests per page")
    ap.add_argument("--web-db", choices=["sqlite", "postgres"], action="append", help="web: only this database")
    args = ap.parse_args(argv)
    only = set(args.only or SECTIONS)
    rows: list[tuple[str, str, str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="tb-bench-"))
    if "e2e" in only:
        from bench import e2e

        rows.extend(e2e.rows_for(e2e.bench(corpus(args.e2e_mails), tmp,
                                           workers=tuple(args.e2e_workers),
                                           via=tuple(args.e2e_via))))
    if "peer" in only:
        from bench import peer

        rows.extend(peer.bench(corpus(args.peer_mails), tmp))
    mails = corpus(args.mails) if only & {"imap", "smtp", "parse"} else []
    size = sum(map(len, mails)) / 1e6
    if mails:
        print(f"corpus: {len(mails)} mails, {size:.1f} MB (plain, HTML-only, attachments, "
              f"cp1252 as latin-1, iso-8859-2, replies; nl/en/pl)", file=sys.stderr)
    if "imap" in only:
        with Postgres(tmp / "pg") as pg:
            for db in ("sqlite", "postgres"):
                print(f"IMAP -> tickets on {db} ...", file=sys.stderr)
                r = bench_imap(mails, tmp, db, pg, args.workers)
                rate = r["count"] / r["elapsed"]
                rows.append((f"inner loop: IMAP -> committed tickets ({db})", f"{rate:,.0f} mails/s", ">= 500"))
                rows.append((f"  peak RSS, bot process ({db})", f"{r['rss']:.0f} MB", "<= 200"))
                rows.append((f"  peak RSS, each parser process ({db})", f"{r['rss_workers']:.0f} MB", ""))
    if "smtp" in only:
        print("inbound SMTP ...", file=sys.stderr)
        r = bench_smtp(mails[: args.smtp_mails], tmp)
        rows.append(("inner loop: inbound SMTP, one connection (accepted, spooled)",
                     f"{r['count'] / r['elapsed']:,.0f} mails/s", ">= 800"))
        rows.append(("  inner loop: spool -> committed tickets",
                     f"{r['drained'] / r['drain_elapsed']:,.0f} mails/s", ""))
        rows.append(("  peak RSS, SMTP process", f"{r['rss']:.0f} MB", "<= 200"))
    if "latency" in only:
        print("latency (IDLE) ...", file=sys.stderr)
        lat = bench_latency(tmp)
        rows.append(("Dovecot APPEND -> ticket committed, p50", f"{percentile(lat, 50) * 1000:.0f} ms", ""))
        rows.append(("Dovecot APPEND -> ticket committed, p99", f"{percentile(lat, 99) * 1000:.0f} ms", "< 1000"))
        rows.append(("  (mean, max)", f"{statistics.mean(lat) * 1000:.0f} / {max(lat) * 1000:.0f} ms", ""))
    if "big" in only:
        print("big mails ...", file=sys.stderr)
        for label, seconds in bench_big(tmp):
            rows.append((label, f"{seconds:.2f} s", "seconds"))
    if "parse" in only:
        from bench import parse

        print("parse_mail alone ...", file=sys.stderr)
        rows.extend(parse.rows_for(mails))
    if "sweep" in only:
        from bench import sweep

        with Postgres(tmp / "pg-sweep") as pg:
            for db in ("sqlite", "postgres"):
                print(f"SLA sweep on {db}: writing {args.tickets:,} tickets ...", file=sys.stderr)
                r = sweep.bench_sweep(tmp, db, pg, args.tickets, args.open, args.due, _receive)
                rows.extend(sweep.rows_for(db, r, args.tickets, args.open, args.due))
    if "webhooks" in only:
        from bench import webhooks

        with Postgres(tmp / "pg-webhooks") as pg:
            for db in ("sqlite", "postgres"):
                print(f"webhook fan-out on {db}: 1,000 events to 3 receivers ...", file=sys.stderr)
                rows.extend(webhooks.rows_for(db, webhooks.bench_fanout(tmp, db, pg)))
    if "routing" in only:
        from bench import routing

        print("routing: the labelled sets (tests/fixtures/routing_eval, routing_holdout) ...",
              file=sys.stderr)
        rows.extend(routing.main(show_misroutes=args.misroutes))
    if "web" in only:
        from bench import web

        rows.extend(web.main(tmp, args.web_tickets, args.web_messages, args.web_requests,
                             tuple(args.web_db or ("sqlite", "postgres"))))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"\n{'figure'.ljust(w0)}  {'measured'.rjust(w1)}  target")
    print(f"{'-' * w0}  {'-' * w1}  ------")
    for name, value, target in rows:
        print(f"{name.ljust(w0)}  {value.rjust(w1)}  {target}")
    if "peer" in only:
        from bench.peer import PER_MAIL

        print()
        for line in PER_MAIL:
            print("per mail, " + line)
    return 0


