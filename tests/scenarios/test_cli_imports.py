"""`ticketbot --help` and the simple commands start fast because they import only what
they use: bot/cli.py lists the commands (name, module, one-line help) and imports the
module of the one that runs. The real console script runs in a subprocess with Python's
import log on (PYTHONPROFILEIMPORTTIME, the `-X importtime` of an environment), so an
import that brings the servers back into every command fails here, not in a stopwatch."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS, main, runner
from bot.config import Settings
from tests.conftest import HANG, RULES, START
from tests.support.mailgen import customer_mail
from tests.support.servers import free_port

# What only `ticketbot run` and its Procfile parts need: the web face, Slack's app, IMAP,
# the SMTP server, and the wiring that starts them.
SERVERS = {"flask", "slack_bolt", "imapclient", "aiosmtpd", "bot.app", "bot.worker"}
# What the worker does not run (the web face, Slack's listeners, the clock): `ticketbot
# worker` starts sooner without them.
NOT_IN_THE_WORKER = {"flask", "slack_bolt", "werkzeug", "apscheduler.schedulers", "bot.app",
                     "bot.adapters.web", "bot.adapters.slack_app", "bot.scheduler",
                     "pypdf"}  # until a PDF arrives
# What a command that reads the tickets does not need: the mail parser's HTML and charset
# libraries, Jinja, Slack's client (a third of a second of every `show` and `tickets`)
NOT_TO_READ = {"lxml", "inscriptis", "charset_normalizer", "jinja2", "slack_sdk", "bot.core.mail.parse"}
IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)\s*$", re.M)


def imports_of(args: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run the installed `ticketbot` with ARGS; its result and every module it imported."""
    exe = Path(sys.executable).parent / "ticketbot"
    run_env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "IMAP_URL", "SMTP_URL") and not k.startswith(("TICKETBOT_", "SLACK_"))}
    run_env.update(env, PYTHONPROFILEIMPORTTIME="1")
    res = subprocess.run([str(exe), *args], env=run_env, cwd=cwd, capture_output=True, text=True, timeout=HANG)
    modules = set(IMPORTED.findall(res.stderr))
    assert "bot.cli" in modules, res.stderr[-2000:]  # the log was on: the test sees imports
    res.stderr = "\n".join(line for line in res.stderr.splitlines() if not line.startswith("import time:"))
    return res, modules


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules} | modules


@pytest.fixture
def desk_env(tmp_path, monkeypatch) -> dict[str, str]:
    """A small SQLite desk with one ticket (made in this process), its settings as env."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/ticketbot.sqlite3",
        "TICKETBOT_MAIL_DIR": str(tmp_path / "outgoing"),
        "TICKETBOT_RULES": str(RULES),
    }
    for var in list(os.environ):
        if var in ("DATABASE_URL", "IMAP_URL", "SMTP_URL") or var.startswith(("TICKETBOT_", "SLACK_")):
            monkeypatch.delenv(var)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    mail = tmp_path / "question.eml"
    mail.write_bytes(customer_mail(1))
    assert main(["--now", START.isoformat(), "ingest", "--no-ack", str(mail)]) == 0
    return env


def test_help_lists_every_command_without_importing_one(tmp_path):
    res, modules = imports_of(["--help"], {}, tmp_path)
    assert res.returncode == 0, res.stderr
    for name, command in COMMANDS.items():
        assert f"    {name}" in res.stdout and command.help.split()[0] in res.stdout
    heavy = top_level(modules) & (SERVERS | {"sqlalchemy", "alembic", "jinja2"})
    assert not heavy, sorted(heavy)
    commands = {m for m in modules if m.startswith("bot.commands.")}
    assert not commands, sorted(commands)


@pytest.mark.parametrize(("args", "expect"), [
    (["show", "1"], "[TB-1] Question about invoice 1"),
    (["tickets"], "Question about invoice 1"),
    (["route", "--explain", "question.eml"], "rules:"),
], ids=["show", "tickets", "route-explain"])
def test_simple_commands_do_not_import_the_servers(desk_env, tmp_path, args, expect):
    res, modules = imports_of(["--now", START.isoformat(), *args], desk_env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert expect in res.stdout
    servers = top_level(modules) & SERVERS
    assert not servers, sorted(servers)
    assert "alembic" not in modules  # the schema is current: one query says so
    assert "pypdf" not in modules  # no PDF was read
    if args[0] != "route":  # (route --explain parses the mail)
        assert not top_level(modules) & NOT_TO_READ, sorted(top_level(modules) & NOT_TO_READ)


def test_the_worker_runs_without_the_web_face_slack_listeners_or_the_clock(desk_env, tmp_path):
    """`ticketbot worker` (Slack on, events over HTTP: the web process takes them) starts,
    says it is ready, stops on SIGTERM, and never imported Flask, Slack Bolt or the
    scheduler: about a quarter of a second less before its first mail."""
    exe = Path(sys.executable).parent / "ticketbot"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "IMAP_URL", "SMTP_URL") and not k.startswith(("TICKETBOT_", "SLACK_"))}
    env.update(desk_env, PYTHONPROFILEIMPORTTIME="1", TICKETBOT_SMTP_LISTEN=f"127.0.0.1:{free_port()}",
               SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="secret",
               SLACK_API_URL="http://127.0.0.1:9/api/", TICKETBOT_PARSE_WORKERS="1")
    # The import log goes to a file, not a pipe: unread, a pipe fills (64 KB) while the
    # warm-up thread imports the holidays library's 200 countries, and the worker then
    # blocks writing to it before its ready line (failed so in a clean-clone run).
    with open(tmp_path / "stderr.txt", "w+") as errfile:
        proc = subprocess.Popen([str(exe), "worker"], env=env, cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE, stderr=errfile)
        try:  # the ready line, or nothing if it hangs (Slack Bolt asking the fake address)
            ready = proc.stdout.readline() if select.select([proc.stdout], [], [], 60)[0] else ""
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=HANG)
        errfile.seek(0)
        err = errfile.read()
    assert proc.returncode == 0 and ready.startswith("ticketbot is ready: mail in on smtp://"), err[-3000:]
    # started with the garbage collector off, on again before the ready line (bot/worker.py)
    assert "objects kept out of the garbage collector's passes" in err, err[-3000:]
    modules = set(IMPORTED.findall(err))
    assert {"bot.worker", "bot.adapters.smtp_in", "bot.desk.intake"} <= modules
    assert not top_level(modules) & NOT_IN_THE_WORKER, sorted(top_level(modules) & NOT_IN_THE_WORKER)


@pytest.mark.parametrize(("app_token", "module"), [
    ("", "bot.commands.worker"), ("xapp-test", "bot.commands.run")], ids=["http", "socket"])
def test_with_slack_in_socket_mode_the_worker_runs_the_whole_app(monkeypatch, app_token, module):
    """Slack's Socket Mode listeners run in the worker process: then `worker` is run by
    the whole app (bot/app.py), as before; otherwise by bot/worker.py alone."""
    for var in list(os.environ):
        if var.startswith(("TICKETBOT_", "SLACK_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    if app_token:
        monkeypatch.setenv("SLACK_APP_TOKEN", app_token)
    assert runner("worker", Settings.from_env()).__name__ == module
