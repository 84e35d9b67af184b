"""The peer in the same run: django-helpdesk's `manage.py get_email` against the same
kind of Dovecot, loaded with the same generated corpus, timed beside `ticketbot worker`.

django-helpdesk is never part of this repository: the bench installs it with pip into a
venv of its own (var/bench/peer-venv/<pins>, kept between runs; a venv without its
"installed" stamp is rebuilt), writes a minimal Django project at bench time (settings
module and manage.py), runs its migrations, creates one queue whose IMAP settings point
at the bench's Dovecot, and starts `python manage.py get_email`.

The clock starts just before that process is started (interpreter start-up, Django
set-up and imports count, as the worker's do) and stops when the database holds one
`helpdesk_ticket` row per mail (polled read-only from here every 20 ms, as bench/e2e.py
polls the worker's database). get_email is a one-shot command: it also reports when the
process exited ("all mail delivered": it sends its mail before it takes the next one).

Both sides run back to back on the same corpus (bench/e2e.run_once for ours), per
database. If the peer cannot be installed (no network, no wheel for this Python), the
section prints one line saying so and the bench goes on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

REPO = Path(__file__).resolve().parent.parent
PEER = "django-helpdesk"
PEER_VERSION = "2.6.1"
# django-helpdesk 2.6.1 requires Django >= 5.2; 5.2 is the LTS line. psycopg for the
# PostgreSQL runs (the version the bot itself uses).
PINS = (f"django-helpdesk=={PEER_VERSION}", "Django==5.2.19", "psycopg[binary]==3.3.9")
VENV_ROOT = REPO / "var" / "bench" / "peer-venv"
STAMP = "installed"
QUEUE_ADDRESS = "support@desk.example"
STAFF_ADDRESS = "staff@desk.example"  # the queue's "new ticket CC": the staff notice
POLL = 0.02

# What each side does per mail (docs/performance.md says the same, at more length).
PER_MAIL = (
    "ours (`ticketbot worker`): IMAP fetch in batches of 100; parse in parser processes (MIME, "
    "charsets, HTML to text, language, quoted history, signature, auto-reply/bounce); per "
    "batch one transaction: duplicate check, thread, sender against the customer directory, "
    "flood caps, route by the shipped rules.yaml, ticket + message + raw mail + events + SLA "
    "clock + outbox rows (acknowledgement in the customer's language, Slack thread root, "
    "owner's notice, advisor's copy); \\Seen; the outbox threads deliver to the SMTP sink "
    "(one kept connection) and to Slack",
    f"theirs (django-helpdesk {PEER_VERSION} `get_email`): IMAP SEARCH NOT DELETED, then one "
    "FETCH (RFC822) per mail; email.message_from_string; ignore list; ticket id from "
    "`[queue-N]` in the subject; thread by In-Reply-To against follow-ups; body (plain, or "
    "HTML kept as an attachment file and stripped by BeautifulSoup), email_reply_parser; "
    "attachments written to MEDIA_ROOT; Ticket + FollowUp rows (autocommit, several "
    "statements); CC subscriptions; mail rendered from DB templates and sent through "
    "Django's SMTP backend, one new connection per mail: the submitter's acknowledgement and "
    "the queue's new-ticket CC (the staff notice); backlinks; STORE \\Deleted; EXPUNGE at "
    "the end. No routing rules, no customer directory, no flood caps, no SLA, no Slack",
)


# ---------------------------------------------------------------- the venv
def venv_dir(root: Path) -> Path:
    """One venv per set of pins and Python version: a change of either builds anew."""
    key = hashlib.sha256("\n".join(PINS).encode()).hexdigest()[:10]
    return root / f"helpdesk-{PEER_VERSION}-py{sys.version_info[0]}.{sys.version_info[1]}-{key}"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_peer(root: Path | None = None, timeout: float = 900.0) -> Path | str:
    """The peer venv's python, installed if need be; or why it could not be (a line)."""
    venv = venv_dir(root or VENV_ROOT)
    python = venv_python(venv)
    if (venv / STAMP).is_file() and python.is_file():
        return python
    if venv.exists():  # a half-built venv from an interrupted run
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"peer: installing {', '.join(PINS)} into {venv} ...", file=sys.stderr)
    steps = [
        ("python -m venv", [sys.executable, "-m", "venv", str(venv)]),
        # short network timeouts: without a network this fails in seconds, not minutes
        ("pip install", [str(python), "-m", "pip", "install", "--quiet",
                         "--disable-pip-version-check", "--timeout", "20", "--retries", "1",
                         *PINS]),
    ]
    for label, cmd in steps:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(venv, ignore_errors=True)
            return f"{label} failed: {exc}"
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            lines = [ln for ln in (done.stderr or done.stdout).splitlines()
                     if ln.strip() and not ln.startswith("WARNING: Location")]
            return f"{label} failed: {lines[-1] if lines else done.returncode}"
    (venv / STAMP).write_text("\n".join(PINS) + "\n")
    return python


# ---------------------------------------------------------------- the Django project
def django_databases(db_url: str) -> dict:
    """Django's DATABASES for one of the bench's SQLAlchemy URLs (SQLite file or
    PostgreSQL). SQLite gets the pragmas the bot uses (WAL, synchronous=NORMAL), so the
    bench's read-only polling does not block its writer and both sides write alike."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return {"default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": url.database,
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }}
    if url.get_backend_name() == "postgresql":
        return {"default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.database,
            "USER": url.username or "",
            "PASSWORD": url.password or "",
            "HOST": url.host or "",
            "PORT": str(url.port or ""),
        }}
    raise ValueError(f"no Django backend for {url.get_backend_name()}")


def settings_text(db_url: str, smtp_port: int, media_root: Path) -> str:
    """A minimal settings module for django-helpdesk's intake: the apps it needs, the
    database, Django's SMTP backend towards the bench's sink, attachments on disk."""
    databases = django_databases(db_url)
    return f'''"""Written by bench/peer.py for one run; not part of ticketbot."""
SECRET_KEY = "bench-peer-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
SITE_ID = 1
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {{"context_processors": ["django.template.context_processors.request",
                                        "django.contrib.auth.context_processors.auth",
                                        "django.contrib.messages.context_processors.messages"]}},
}}]
DATABASES = {databases!r}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = {smtp_port}
DEFAULT_FROM_EMAIL = "{QUEUE_ADDRESS}"
MEDIA_ROOT = {str(media_root)!r}
HELPDESK_TEAMS_MODE_ENABLED = False
'''


MANAGE_PY = '''#!/usr/bin/env python
"""Written by bench/peer.py: Django's manage.py for the peer's settings."""
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
'''


def write_project(project: Path, db_url: str, smtp_port: int) -> Path:
    """peer_settings.py and manage.py in ``project``; returns manage.py's path."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "media").mkdir(exist_ok=True)
    (project / "peer_settings.py").write_text(settings_text(db_url, smtp_port, project / "media"))
    manage = project / "manage.py"
    manage.write_text(MANAGE_PY)
    return manage


def queue_script(imap_host: str, imap_port: int, user: str, password: str) -> str:
    """Code for `manage.py shell -c`: one queue on the bench's mailbox."""
    fields = {
        "title": "Support", "slug": "support", "email_address": QUEUE_ADDRESS,
        "allow_email_submission": True, "email_box_type": "imap",
        "email_box_host": imap_host, "email_box_port": imap_port, "email_box_ssl": False,
        "email_box_user": user, "email_box_pass": password, "email_box_imap_folder": "INBOX",
        "email_box_interval": 0, "new_ticket_cc": STAFF_ADDRESS, "logging_type": "none",
    }
    return f"from helpdesk.models import Queue; Queue.objects.create(**{fields!r})"


def count_tickets(engine) -> int:
    """Tickets in django-helpdesk's table (0 before its migrations have run)."""
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM helpdesk_ticket")) or 0)
    except SQLAlchemyError:
        return 0


# ---------------------------------------------------------------- one run
@dataclass
class PeerResult:
    db: str
    mails: int
    committed: float = 0.0  # start -> every mail a ticket
    exited: float = 0.0  # start -> get_email exited (its mail is sent inline)
    first_ticket: float = 0.0
    tickets: int = 0
    mail_sent: int = 0
    peak_rss: float = 0.0
    load_before: str = ""
    load_after: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def committed_rate(self) -> float:
        return self.mails / self.committed if self.committed else 0.0

    @property
    def exited_rate(self) -> float:
        return self.mails / self.exited if self.exited else 0.0


def _run(cmd: list, project: Path, env: dict, what: str, timeout: float = 600) -> None:
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        out = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(f"{what} failed: {out[-1] if out else done.returncode}\n"
                           + "\n".join(out[-40:]))


def peer_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV")}


def run_peer(python: Path, mails: list[bytes], tmp: Path, db: str, pg=None,
             stall: float = 120.0) -> PeerResult:
    """One timed `manage.py get_email` over ``mails`` in a fresh Dovecot and database."""
    from bench.e2e import loadavg, tree_rss_mb
    from bench.sink import LeanSink
    from tests.support.servers import Dovecot

    tmp.mkdir(parents=True, exist_ok=True)
    n = len(mails)
    res = PeerResult(db=db, mails=n)
    with Dovecot(tmp / "imap") as dovecot, LeanSink() as sink:
        dovecot.deliver_files(mails)
        url = pg.create_database() if db == "postgres" else f"sqlite:///{tmp}/helpdesk.sqlite3"
        project = tmp / "project"
        manage = write_project(project, url, sink.port)
        env = peer_env()
        _run([str(python), str(manage), "migrate", "--no-input"], project, env, "migrate")
        _run([str(python), str(manage), "shell", "-c",
              queue_script(dovecot.host, dovecot.port, dovecot.user, dovecot.password)],
             project, env, "creating the queue")
        engine = create_engine(url, pool_size=1, max_overflow=0)  # one kept connection, as e2e
        log = open(tmp / "get_email.log", "wb")  # noqa: SIM115 - closed below
        res.load_before = loadavg()
        start = time.perf_counter()
        proc = subprocess.Popen([str(python), str(manage), "get_email", "--quiet"], cwd=project,
                                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
        try:
            last, since = -1, time.monotonic()
            while True:
                time.sleep(POLL)
                now = time.perf_counter() - start
                rss, _ = tree_rss_mb(proc.pid)
                res.peak_rss = max(res.peak_rss, rss)
                tickets = count_tickets(engine)
                if tickets and not res.first_ticket:
                    res.first_ticket = now
                if tickets >= n and not res.committed:
                    res.committed = now
                if proc.poll() is not None:
                    res.exited = now
                    break
                if tickets != last:
                    last, since = tickets, time.monotonic()
                elif time.monotonic() - since > stall:
                    res.notes.append(f"no progress for {stall:.0f} s at {tickets} tickets")
                    break
        finally:
            res.load_after = loadavg()
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                proc.wait(30)
            log.close()
        res.tickets = count_tickets(engine)
        engine.dispose()
        res.mail_sent = sink.count
        if proc.returncode:
            res.notes.append(f"get_email exited with {proc.returncode}; see {tmp}/get_email.log")
        if res.tickets != n:
            res.notes.append(f"{res.tickets} tickets for {n} mails")
    return res


# ---------------------------------------------------------------- the table
DB_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if ours and theirs else "n/a"


def rows_for(pairs: list[tuple[object, PeerResult]]) -> list[tuple[str, str, str]]:
    """One block per database: both sides' tickets-committed rates and the ratio.
    ``pairs``: (ours: bench.e2e.Result, theirs: PeerResult)."""
    rows: list[tuple[str, str, str]] = []
    for ours, theirs in pairs:
        name = DB_NAMES.get(theirs.db, theirs.db)
        o_rate = getattr(ours, "committed_rate", 0.0)
        rows += [
            (f"peer, {theirs.mails:,} mails, {name}: `ticketbot worker` tickets committed",
             f"{o_rate:,.1f} mails/s", ""),
            (f"  {PEER} {PEER_VERSION} `get_email` tickets committed",
             f"{theirs.committed_rate:,.1f} mails/s", ""),
            ("  ratio ours / theirs", ratio(o_rate, theirs.committed_rate), ">= 20x"),
            (f"  all mail delivered: ours ({getattr(ours, 'mail_sent', 0):,} mails) / theirs "
             f"({theirs.mail_sent:,} mails, process exit)",
             f"{getattr(ours, 'delivered_rate', 0.0):,.1f} / {theirs.exited_rate:,.1f} mails/s", ""),
            ("  start -> first ticket: ours / theirs",
             f"{getattr(ours, 'first_ticket', 0.0):.2f} / {theirs.first_ticket:.2f} s", ""),
            ("  peak RSS, process tree: ours / theirs",
             f"{getattr(ours, 'peak_rss', 0.0):.0f} / {theirs.peak_rss:.0f} MB", ""),
            (f"  load: ours {getattr(ours, 'load_before', '')} -> {getattr(ours, 'load_after', '')}"
             f"; theirs {theirs.load_before} -> {theirs.load_after}", "", ""),
        ]
        rows += [("  NOTE ours: " + note, "", "") for note in getattr(ours, "notes", [])]
        rows += [("  NOTE theirs: " + note, "", "") for note in theirs.notes]
    return rows


def skipped_row(reason: str) -> tuple[str, str, str]:
    return (f"peer: {PEER} {PEER_VERSION} not run ({reason})", "", "")


def bench(mails: list[bytes], tmp: Path, dbs: tuple[str, ...] = ("sqlite", "postgres"),
          root: Path | None = None) -> list[tuple[str, str, str]]:
    """Install (or reuse) the peer, then per database ours and theirs back to back."""
    from bench import e2e
    from tests.support.servers import Postgres

    python = ensure_peer(root)
    if isinstance(python, str):
        print(f"peer: {PEER} could not be installed, skipped: {python}", file=sys.stderr)
        return [skipped_row(f"could not be installed: {python}")]
    pairs, failed = [], []
    with Postgres(tmp / "pg-peer") if "postgres" in dbs else _nothing() as pg:
        for db in dbs:
            print(f"peer: `ticketbot worker` on {db}, {len(mails)} mails (load "
                  f"{e2e.loadavg()}) ...", file=sys.stderr)
            ours = e2e.run_once(mails, tmp / f"peer-ours-{db}", db, pg)
            print(f"peer: {PEER} `get_email` on {db}, {len(mails)} mails (load "
                  f"{e2e.loadavg()}) ...", file=sys.stderr)
            try:
                theirs = run_peer(python, mails, tmp / f"peer-theirs-{db}", db, pg)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                first = str(exc).strip().splitlines()[0]
                print(f"peer: {PEER} on {db} failed: {exc}", file=sys.stderr)
                failed.append(skipped_row(f"{db}: {first}"))
                continue
            pairs.append((ours, theirs))
    return rows_for(pairs) + failed


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def main(argv: list[str] | None = None) -> int:
    """python -m bench.peer [N] [sqlite|postgres ...]: the peer table alone."""
    import tempfile

    from tests.support.mailgen import corpus

    argv = list(sys.argv[1:] if argv is None else argv)
    n = int(argv.pop(0)) if argv and argv[0].isdigit() else 500
    dbs = tuple(argv) or ("sqlite", "postgres")
    tmp = Path(tempfile.mkdtemp(prefix="tb-peer-"))
    rows = bench(corpus(n), tmp, dbs)
    print(f"runs in {tmp}", file=sys.stderr)
    print_table(rows)
    return 0


def print_table(rows: list[tuple[str, str, str]]) -> None:
    for name, value, target in rows:
        print(f"{name:<80} {value:>18}  {target}")
    print()
    for line in PER_MAIL:
        print("per mail, " + line)


if __name__ == "__main__":
    sys.exit(main())
