"""`ticketbot --help` and the simple commands start fast because they import only what
they use: bot/cli.py lists the commands (name, module, one-line help) and imports the
module of the one that runs. The real console script runs in a subprocess with Python's
import log on (PYTHONPROFILEIMPORTTIME, the `-X importtime` of an environment), so an
import that brings the servers back into every command fails here, not in a stopwatch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS, main
from tests.conftest import HANG, RULES, START
from tests.support.mailgen import customer_mail

# What only `ticketbot run` and its Procfile parts need: the web face, Slack's app, IMAP,
# the SMTP server, and the wiring that starts them.
SERVERS = {"flask", "slack_bolt", "imapclient", "aiosmtpd", "bot.app"}
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
