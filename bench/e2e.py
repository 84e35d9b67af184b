"""End to end: what a user runs. The real `ticketbot worker` process, started as a
subprocess with the shipped rules.yaml, an imported customer directory, staff in Slack
(the fake Slack Web API of tests/support/fakeslack.py) and by mail, the outbox
delivering to a local SMTP sink (bench/sink.py), and a real Dovecot holding N generated
mails (tests/support/mailgen.py).

With `via="smtp"` the same worker takes the corpus in over SMTP instead (its inbound
listener, `TICKETBOT_SMTP_LISTEN`, as the Procfile's `worker` runs it): the bench sends
every mail from SMTP_SENDERS connections at once, from the moment the listener accepts
(the Dovecot mailbox is empty); a mail is in once the listener answered 250 (it is in the
spool then), and the clock runs until its ticket is committed and its mail delivered.

The clock starts just before the process is started (interpreter start-up, imports,
migrations check, rules loading, parser start-up all count) and stops when

* "tickets committed": the database holds one ticket per mail;
* "all mail delivered": also every mail the outbox queued (acknowledgements, notices
  to the staff who work by mail) has been accepted by the sink.

Slack posts are delivered too, but at Slack's documented pace (one post per second
per channel, bot/adapters/slack_out.py), so they are counted, not waited for.

The database is polled read-only from here (a count every 20 ms); the peak memory is the
sum of the RSS of the worker and all its children (parser processes, forkserver),
sampled from /proc at the same cadence (RSS counts pages the processes share once per
process, so the sum is an upper bound).
"""

from __future__ import annotations

import csv
import os
import re
import resource
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy import text as sql

from bench.sink import LeanSink
from bot.adapters.rules_file import load_rules
from bot.store.models import Outbox, Ticket
from tests.support.fakeslack import BOT_TOKEN, FakeSlack
from tests.support.mailgen import corpus
from tests.support.servers import Dovecot, Postgres, free_port

REPO = Path(__file__).resolve().parent.parent
ADDRESS = "support@desk.example"
SIGNING_SECRET = "bench-signing-secret"
TEAM_CHANNEL = "C0DESK0001"
SMTP_SENDERS = 4  # connections the bench delivers the corpus over (an MTA uses several)
_FROM = re.compile(rb"^From:[^\n]*?<?([^\s<>@]+@[^\s<>]+?)>?\s*$", re.M | re.I)


def ticketbot_exe() -> str:
    exe = Path(sys.executable).parent / "ticketbot"
    if not exe.is_file():
        raise SystemExit(f"console script not installed at {exe} (pip install -e .)")
    return str(exe)


def customers_csv(path: Path, n_domains: int = 500) -> Path:
    """The customer directory of the corpus: customer{n}.example are companies (the
    mailgen domains), every other one with an advisor, and a named contact each."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["company", "domains", "advisor", "website_access", "contact_name",
                    "contact_email", "contact_phone"])
        for n in range(n_domains):
            advisor = ("marta", "pieter", "")[n % 3]
            w.writerow([f"Klant {n} BV", f"customer{n}.example", advisor, "yes" if n % 2 else "no",
                        f"Contact {n}", f"contact{n}@customer{n}.example", ""])
    return path


# ---------------------------------------------------------------- the process tree
# The bench shares the machine with what it measures (2 cores here): reading every
# process's /proc/PID/stat 50 times a second took a seventh of the bench's own CPU. The
# tree is read again every TREE_EVERY seconds (the worker starts its parser processes at
# start-up, not as mail comes in); the RSS of its members is read at every poll.
TREE_EVERY = 0.25
_tree: tuple[float, dict[int, list[int]]] = (float("-inf"), {})


def _stat(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command's name (state, ppid, ...), or None
    when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2:].split()


def _children() -> dict[int, list[int]]:
    global _tree
    at, kids = _tree
    if time.monotonic() - at < TREE_EVERY:
        return kids
    kids = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or (fields := _stat(entry.name)) is None:
            continue
        kids.setdefault(int(fields[1]), []).append(int(entry.name))
    _tree = (time.monotonic(), kids)
    return kids


def _tree_of(pid: int) -> Iterator[int]:
    """pid and all its descendants (as the last look at /proc saw them)."""
    kids = _children()
    todo = [pid]
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, ()))
        yield p


def _forget_tree() -> None:
    global _tree
    _tree = (float("-inf"), {})


def _tree_sum(pid: int, path: str, field: bytes) -> tuple[float, int]:
    """Sum of one kB field of /proc/PID/<path> over pid and all its descendants (MB), and
    how many processes had it."""
    total, count = 0, 0
    for p in _tree_of(pid):
        try:
            with open(f"/proc/{p}/{path}", "rb") as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1])
                        count += 1
                        break
        except OSError:
            pass
    return total / 1024, count


def tree_rss_mb(pid: int) -> tuple[float, int]:
    """Sum of VmRSS over pid and all its descendants, and how many processes that is."""
    return _tree_sum(pid, "status", b"VmRSS:")


def tree_pss_mb(pid: int) -> float:
    """Sum of the proportional set size (Pss: each shared page split among the processes
    sharing it) over pid and its descendants: what the tree takes from the machine. The
    forked parser processes share most of their pages with the forkserver, which the
    VmRSS sum counts once per process."""
    return _tree_sum(pid, "smaps_rollup", b"Pss:")[0]


def cpu_s(pid: int, tree: bool = True) -> float:
    """CPU seconds (user + system) used so far by pid; with ``tree``, with all its
    descendants and the children they have already waited for."""
    total = 0
    for p in _tree_of(pid) if tree else (pid,):
        if (fields := _stat(p)) is not None:
            # utime stime, and cutime cstime (the children waited for) for a tree
            total += sum(int(x) for x in fields[11:15 if tree else 13])
    return total / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------- one run
@dataclass
class Result:
    db: str
    mails: int
    workers: int = 1
    via: str = "imap"
    sent: float = 0.0  # SMTP: seconds from start until the last mail was answered 250
    first_ticket: float = 0.0
    committed: float = 0.0
    delivered: float = 0.0
    peak_rss: float = 0.0
    peak_pss: float = 0.0
    processes: int = 0
    worker_cpu: float = 0.0  # CPU seconds of the worker process trees, start to delivered
    main_cpu: float = 0.0  # of which the worker processes themselves (not their children)
    bench_cpu: float = 0.0  # CPU seconds of this process meanwhile (sink, fake Slack, polls)
    db_cpu: float = 0.0  # CPU seconds of the PostgreSQL server meanwhile (all its processes)
    mail_sent: int = 0
    slack_posts: int = 0
    load_before: str = ""
    load_after: str = ""
    parsed: list[int] = field(default_factory=list)  # mails each worker parsed (its log)
    retried: int = 0  # batches redone one by one (e.g. lost on a unique index)
    notes: list[str] = field(default_factory=list)

    @property
    def committed_rate(self) -> float:
        return self.mails / self.committed if self.committed else 0.0

    @property
    def delivered_rate(self) -> float:
        return self.mails / self.delivered if self.delivered else 0.0


def _staff_in_slack(slack: FakeSlack, rules: Path) -> None:
    """The rules' people who work in Slack are members of the (fake) workspace, as in a
    real desk: a notice to one of them is delivered, not refused as user_not_found."""
    for p in load_rules(rules).people.values():
        if p.slack and p.slack not in slack.users:
            slack.add_user(p.slack, p.key, p.name, p.email)


def _env(db_url: str, imap_url: str, sink: LeanSink, slack: FakeSlack, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "IMAP_URL", "SMTP_URL")
           and not k.startswith(("TICKETBOT_", "SLACK_"))}
    env.update({
        "DATABASE_URL": db_url,
        "IMAP_URL": imap_url,
        "SMTP_URL": sink.url,
        "TICKETBOT_ADDRESS": ADDRESS,
        "TICKETBOT_DOMAINS": "desk.example",
        "TICKETBOT_RULES": str(REPO / "rules.yaml"),
        "TICKETBOT_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
        "TICKETBOT_WEB_LISTEN": f"127.0.0.1:{free_port()}",
        "TICKETBOT_MAIL_DIR": str(tmp / "outgoing"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "SLACK_CHANNEL": TEAM_CHANNEL,
    })
    return env


def _setup(env: dict[str, str], tmp: Path) -> None:
    """What the user does once before starting the worker: migrate, import customers."""
    exe = ticketbot_exe()
    for args in (["db", "upgrade"], ["import", "customers", str(customers_csv(tmp / "customers.csv"))]):
        done = subprocess.run([exe, *args], env=env, cwd=tmp, capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            raise SystemExit(f"ticketbot {' '.join(args)} failed:\n{done.stderr[-3000:]}")


class SMTPSender:
    """Sends the corpus to the worker's SMTP listener over SMTP_SENDERS connections, each
    opened as soon as the listener accepts."""

    def __init__(self, mails: list[bytes], port: int):
        self.mails, self.port = mails, port
        self.error: BaseException | None = None
        self._threads = [threading.Thread(target=self._send, args=(mails[i::SMTP_SENDERS],),
                                          daemon=True) for i in range(SMTP_SENDERS)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def finished(self) -> bool:
        return not any(t.is_alive() for t in self._threads)

    def _connect(self) -> smtplib.SMTP:
        deadline = time.monotonic() + 60
        while True:  # the listener comes up with the worker: poll until it accepts
            try:
                return smtplib.SMTP("127.0.0.1", self.port, timeout=60)
            except (TimeoutError, ConnectionRefusedError, smtplib.SMTPServerDisconnected):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _send(self, mails: list[bytes]) -> None:
        try:
            with self._connect() as c:
                for raw in mails:
                    m = _FROM.search(raw)
                    sender = m.group(1).decode("ascii", "replace") if m else "customer@customer.example"
                    c.sendmail(sender, [ADDRESS], raw)
        except BaseException as exc:  # reported by run_once
            self.error = exc


def run_once(mails: list[bytes], tmp: Path, db: str, pg: Postgres | None, workers: int = 1,
             stall: float = 120.0, profile: bool = False, code: Path | None = None,
             via: str = "imap") -> Result:
    """Start `workers` worker processes on one Dovecot and one database; time them.
    ``code``: another checkout of the bot to run instead (put first on PYTHONPATH), for
    before/after pairs. ``via="smtp"``: the mail comes in over SMTP (one worker)."""
    tmp.mkdir(parents=True, exist_ok=True)
    n = len(mails)
    res = Result(db=db, mails=n, workers=workers, via=via)
    if via not in ("imap", "smtp") or (via == "smtp" and workers != 1):
        raise ValueError(f"via={via!r} with {workers} workers: SMTP is benched with one worker")
    with Dovecot(tmp / "imap") as dovecot, LeanSink() as sink, FakeSlack() as slack:
        if via == "imap":
            dovecot.deliver_files(mails)
        url = pg.create_database() if db == "postgres" else f"sqlite:///{tmp}/ticketbot.sqlite3"
        env = _env(url, dovecot.url, sink, slack, tmp)
        if code is not None:
            env["PYTHONPATH"] = str(code)
            env["TICKETBOT_RULES"] = str(code / "rules.yaml")  # the rules that code understands
            res.notes.append(f"code from {code}")
        _staff_in_slack(slack, Path(env["TICKETBOT_RULES"]))
        _setup(env, tmp)
        # one kept connection for the polls: on PostgreSQL a new one each poll started a
        # server process each time, and the server's CPU row counted that against the bot
        engine = create_engine(url, pool_size=1, max_overflow=0)
        tickets_q = select(func.count()).select_from(Ticket)
        mail_q = select(Outbox.status, func.count()).where(Outbox.channel == "mail") \
            .group_by(Outbox.status)
        procs: list[subprocess.Popen] = []
        logs = []
        res.load_before = loadavg()
        sender = None
        if via == "smtp":
            sender = SMTPSender(mails, int(env["TICKETBOT_SMTP_LISTEN"].rpartition(":")[2]))
        # the PostgreSQL server: its postmaster, the backends, and the backends gone
        server = int((pg.datadir / "postmaster.pid").read_text().split()[0]) \
            if db == "postgres" and pg is not None else None
        poller = None  # the server process that answers the bench's polls
        if server is not None:
            with engine.connect() as conn:
                poller = conn.scalar(sql("SELECT pg_backend_pid()"))
        _forget_tree()
        server_cpu = cpu_s(server) if server is not None else 0.0
        poller_cpu = cpu_s(poller, tree=False) if poller is not None else 0.0
        start = time.perf_counter()
        own_cpu = _own_cpu_s()
        try:
            for i in range(workers):
                err = open(tmp / f"worker{i}.stderr", "wb")  # noqa: SIM115 - closed below
                logs.append(err)
                wenv = dict(env)
                if i:  # one SMTP listener per process
                    wenv["TICKETBOT_SMTP_LISTEN"] = f"127.0.0.1:{free_port()}"
                cmd = [ticketbot_exe(), "worker"]
                if profile:  # sampled by py-spy (idle threads left out), flame stacks in raw format
                    cmd = [str(Path(sys.executable).parent / "py-spy"), "record", "--subprocesses",
                           "--format", "raw", "-r", "200", "-o", str(tmp / f"profile{i}.txt"),
                           "--", *cmd]
                procs.append(subprocess.Popen(cmd, env=wenv, cwd=tmp,
                                              stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                              start_new_session=True))
            if sender is not None:
                sender.start()
            last, since = None, time.monotonic()
            polls = 0
            while True:
                time.sleep(0.02)
                now = time.perf_counter() - start
                rss = [tree_rss_mb(p.pid) for p in procs]
                total = sum(r for r, _ in rss)
                if total > res.peak_rss:
                    res.peak_rss, res.processes = total, sum(c for _, c in rss)
                polls += 1
                if polls % 10 == 1:  # Pss makes the kernel walk the page tables: 5 times a second
                    res.peak_pss = max(res.peak_pss, sum(tree_pss_mb(p.pid) for p in procs))
                # the database every 20 ms until the first ticket (start-up is timed to
                # that), then every 100 ms: its two queries took a third of the bench's
                # CPU, beside the bot; a run of seconds loses < 0.1 s of precision
                if res.first_ticket and polls % 5:
                    continue
                with engine.connect() as conn:
                    tickets = conn.scalar(tickets_q) or 0
                    by_status = dict(conn.execute(mail_q).all())
                if tickets and not res.first_ticket:
                    res.first_ticket = now
                if sender is not None:
                    if sender.error is not None:
                        raise SystemExit(f"sending over SMTP failed: {sender.error!r}")
                    if not res.sent and sender.finished():
                        res.sent = now
                if tickets >= n and not res.committed:
                    res.committed = now
                queued = by_status.get("queued", 0)
                if res.committed and not queued and sink.count >= by_status.get("sent", 0):
                    res.delivered = now
                    if not profile:  # (py-spy is the process then, and costs its own)
                        _forget_tree()  # every child that runs now
                        res.worker_cpu = sum(cpu_s(p.pid) for p in procs)
                        res.main_cpu = sum(cpu_s(p.pid, tree=False) for p in procs)
                        if server is not None:  # less what the bench's polls cost it
                            res.db_cpu = cpu_s(server) - server_cpu - (
                                cpu_s(poller, tree=False) - poller_cpu if poller else 0.0)
                    res.bench_cpu = _own_cpu_s() - own_cpu
                    break
                state = (tickets, queued)
                if state != last:
                    last, since = state, time.monotonic()
                elif time.monotonic() - since > stall:
                    raise SystemExit(f"no progress for {stall} s at {tickets} tickets, "
                                     f"{queued} mails queued; see {tmp}/worker*.stderr")
                dead = [p for p in procs if p.poll() is not None]
                if dead:
                    raise SystemExit(f"a worker exited ({dead[0].returncode}); see "
                                     f"{tmp}/worker*.stderr")
        finally:
            res.load_after = loadavg()
            for p in procs:
                if profile and p.poll() is None:  # py-spy writes its stacks on SIGINT
                    os.kill(p.pid, signal.SIGINT)
                    try:
                        p.wait(60)
                    except subprocess.TimeoutExpired:
                        pass
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            for f in logs:
                f.close()
        for i in range(workers):
            text = (tmp / f"worker{i}.stderr").read_text(errors="replace")
            res.parsed += [int(m) for m in re.findall(r"IMAP intake stopped \(.*?\): parsed (\d+) mails", text)]
            res.retried += len(re.findall(r"batch of \d+ failed", text))
        with engine.connect() as conn:
            res.mail_sent = conn.scalar(select(func.count()).select_from(Outbox).where(
                Outbox.channel == "mail", Outbox.status == "sent")) or 0
            failed = conn.scalar(select(func.count()).select_from(Outbox).where(
                Outbox.status == "failed")) or 0
            tickets = conn.scalar(tickets_q)
        engine.dispose()
        res.slack_posts = len(slack.calls_to("chat.postMessage"))
        received = sink.count
        if res.retried:
            res.notes.append(f"{res.retried} batches redone one by one (worker logs)")
        if via == "imap" and len(res.parsed) == workers and sum(res.parsed) != n:
            res.notes.append(f"{sum(res.parsed)} mails parsed for {n}")
        if tickets != n:
            res.notes.append(f"{tickets} tickets for {n} mails")
        if received != res.mail_sent:
            res.notes.append(f"sink received {received} mails, outbox says {res.mail_sent} sent")
        if failed:
            res.notes.append(f"{failed} outbox rows failed")
    return res


def rows_for(results: list[Result]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    targets = {"sqlite": (500, 400), "postgres": (400, 300)}
    for r in results:
        who = f"{r.db}" + (f", {r.workers} workers" if r.workers > 1 else "")
        t_commit, t_deliver = targets[r.db]
        way = "" if r.via == "imap" else f" over SMTP ({SMTP_SENDERS} connections)"
        rows += [
            (f"e2e `ticketbot worker`{way}, {r.mails:,} mails: tickets committed ({who})",
             f"{r.committed_rate:,.0f} mails/s", f">= {t_commit}"),
            (f"  all mail delivered ({r.mail_sent:,} mails to the sink)",
             f"{r.delivered_rate:,.0f} mails/s", f">= {t_deliver}"),
            ("  start -> first ticket committed", f"{r.first_ticket:.2f} s", "<= 2 s"),
            *([("  start -> last mail accepted by the SMTP listener", f"{r.sent:.2f} s", "")]
              if r.via == "smtp" else []),
            (f"  peak RSS, process tree ({r.processes} processes)", f"{r.peak_rss:.0f} MB",
             "<= 250"),
            ("  peak PSS, process tree (shared pages split; sampled 5/s)", f"{r.peak_pss:.0f} MB", ""),
            ("  CPU a mail, start to delivered: the worker's process tree",
             f"{r.worker_cpu / r.mails * 1000:.1f} ms" if r.worker_cpu else "?", ""),
            (f"    of which the worker process{'es' if r.workers > 1 else ''} (one interpreter "
             "lock each)", f"{r.main_cpu / r.mails * 1000:.1f} ms" if r.main_cpu else "?", ""),
            *([("  CPU a mail meanwhile, the PostgreSQL server",
                f"{r.db_cpu / r.mails * 1000:.1f} ms" if r.db_cpu else "?", "")]
              if r.db == "postgres" else []),
            ("  CPU a mail meanwhile, this bench (SMTP sink, fake Slack, its polls"
             + (", its SMTP senders)" if r.via == "smtp" else ")"),
             f"{r.bench_cpu / r.mails * 1000:.1f} ms" if r.bench_cpu else "?", ""),
            (f"  Slack posts delivered meanwhile (1/s/channel); load {r.load_before} -> "
             f"{r.load_after}", f"{r.slack_posts:,}", ""),
        ]
        if r.workers > 1:
            rows.append(("  mails parsed by each worker", " + ".join(map(str, r.parsed)) or "?", ""))
        rows += [("  NOTE " + note, "", "") for note in r.notes]
    return rows


def bench(mails: list[bytes], tmp: Path, dbs: tuple[str, ...] = ("sqlite", "postgres"),
          workers: tuple[int, ...] = (1,), profile: bool = False,
          baseline: Path | None = None, via: tuple[str, ...] = ("imap",)) -> list[Result]:
    results = []
    with Postgres(tmp / "pg") as pg:
        for way in via:
            for db in dbs:
                for w in workers if db == "postgres" and way == "imap" else (1,):
                    print(f"e2e: `ticketbot worker` x{w} on {db}, {len(mails)} mails in by {way} "
                          f"(load {loadavg()}) ...", file=sys.stderr)
                    name = f"e2e-{db}-{w}" + ("" if way == "imap" else f"-{way}")
                    if baseline is not None:  # before and after, back to back
                        results.append(run_once(mails, tmp / f"{name}-base", db, pg, w,
                                                code=baseline, via=way))
                    results.append(run_once(mails, tmp / name, db, pg, w, profile=profile, via=way))
    return results


def main(argv: list[str] | None = None) -> int:
    """python -m bench.e2e [--profile] [--baseline DIR] [--workers 1,2,4] [--via imap,smtp]
    [N] [sqlite|postgres ...]: the end-to-end table alone; --via: how the mail comes in
    (IMAP, the default, and/or SMTP to the worker's listener); --workers: that many worker
    processes on one mailbox and one PostgreSQL database, one run each; --profile runs
    the worker under py-spy (pip install py-spy) and leaves its stacks in the run's
    directory; --baseline DIR runs that checkout of the bot (git worktree add DIR COMMIT)
    just before this one, for a before/after pair."""
    import tempfile

    argv = list(sys.argv[1:] if argv is None else argv)
    profile = "--profile" in argv
    argv = [a for a in argv if a != "--profile"]
    baseline = None
    if "--baseline" in argv:
        i = argv.index("--baseline")
        baseline = Path(argv[i + 1]).resolve()
        del argv[i:i + 2]
    workers = (1,)
    if "--workers" in argv:  # worker processes on one mailbox (PostgreSQL), e.g. --workers 1,2,4
        i = argv.index("--workers")
        workers = tuple(int(w) for w in argv[i + 1].split(","))
        del argv[i:i + 2]
    via: tuple[str, ...] = ("imap",)
    if "--via" in argv:
        i = argv.index("--via")
        via = tuple(argv[i + 1].split(","))
        del argv[i:i + 2]
    n = int(argv.pop(0)) if argv and argv[0].isdigit() else 2000
    dbs = tuple(argv) or ("sqlite", "postgres")
    tmp = Path(tempfile.mkdtemp(prefix="tb-e2e-"))
    results = bench(corpus(n), tmp, dbs, workers=workers, profile=profile, baseline=baseline,
                    via=via)
    print(f"runs in {tmp}", file=sys.stderr)
    for name, value, target in rows_for(results):
        print(f"{name:<90} {value:>14}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
