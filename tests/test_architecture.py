"""The shape of the code, checked: one unit of work, one clock, imports at the top, and
every ticket change through the desk actions. (The layer contract itself is
import-linter's, run by `make test`: see [tool.importlinter] in pyproject.toml.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
SOURCES = sorted(p for p in BOT.rglob("*.py") if "migrations" not in p.parts)


def rel(p: Path) -> str:
    return str(p.relative_to(BOT.parent))


def calls(tree: ast.AST, name: str) -> list[int]:
    """Lines where a method or function called `name` is called."""
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
            and ((isinstance(n.func, ast.Attribute) and n.func.attr == name)
                 or (isinstance(n.func, ast.Name) and n.func.id == name))]


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_only_the_unit_of_work_begins_and_commits(path):
    allowed = {"bot/store/unit_of_work.py", "bot/store/migrate.py"}  # migrate: alembic's DDL
    if rel(path) in allowed:
        return
    tree = ast.parse(path.read_text())
    found = {name: calls(tree, name) for name in ("begin", "commit", "begin_nested", "rollback")}
    assert not any(found.values()), f"{rel(path)} opens or ends a transaction itself: {found}"


# Deliberately late: matplotlib costs ~0.4 s and ~30 MB to import, and only a report
# chart needs it (bot/core/charts.py loads it on first use).
# Alembic (~0.1-0.3 s) likewise: every command checks the schema first, and only a schema
# behind the migrations needs Alembic (bot/store/migrate.py; one query says it is current).
# A parser process (bot/desk/parse_worker.py) reads the mail's routing ahead: its
# forkserver loads only the parser, each parser process the rules on first use; and it
# reads only the routing part of rules.yaml, without the scheduler (apscheduler's cron) and
# the holiday calendars that the SLA part needs (bot/core/rules/load.py, ~10 MB a process).
# pypdf (~0.2 s): only a PDF attachment needs it; the command line (which imports the
# parser to look mail up) and the worker's own process seldom do, and the parser
# processes' forkserver loads it ahead (bot/desk/pipeline.py).
# The commands that read tickets (`show`, `tickets`) need neither the mail parser (lxml,
# inscriptis: `route --explain` alone, bot/desk/queries.py), nor Jinja (the first render,
# bot/core/render.py), nor Slack's client (the outbox sender, bot/wiring.py): a third of
# a second of each such command (tests/scenarios/test_cli_imports.py).
LATE_IMPORTS = {("bot/core/charts.py", "matplotlib"), ("bot/store/migrate.py", "alembic"),
                ("bot/desk/queries.py", "bot.core.mail.prepare"), ("bot/core/render.py", "jinja2"),
                ("bot/wiring.py", "bot.adapters.slack_out"), ("bot/wiring.py", "bot.adapters.webhook_out"),
                ("bot/core/mail/attachment_text.py", "pypdf"),
                ("bot/desk/parse_worker.py", "bot.core.rules.ahead"),
                ("bot/core/rules/load.py", "apscheduler.triggers.cron"),
                ("bot/core/rules/load.py", "bot.core.time"),
                ("bot/store/bulk.py", "sqlalchemy.dialects")}


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_imports_are_at_module_top(path):
    tree = ast.parse(path.read_text())
    nested = [f"{rel(path)}:{sub.lineno}: {ast.unparse(sub)}"
              for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom))
              and not _late(rel(path), sub)]
    assert not nested, "\n".join(nested)


# Imports by name at run time would get round the rule above; the one place that does it is
# the command dispatcher: bot/cli.py imports only the module of the command that runs (see
# its COMMANDS table), so `ticketbot --help` and `ticketbot show 1` do not pay for the web
# face, Slack and IMAP (tests/scenarios/test_cli_imports.py).
RUNTIME_IMPORTS = {"bot/cli.py"}


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_no_imports_by_name_at_run_time(path):
    if rel(path) in RUNTIME_IMPORTS:
        return
    tree = ast.parse(path.read_text())
    found = calls(tree, "import_module") + calls(tree, "__import__")
    assert not found, f"{rel(path)} imports a module by name at lines {found}"


def _late(path: str, node: ast.Import | ast.ImportFrom) -> bool:
    """A deliberately late import (LATE_IMPORTS: the module or a module under it)."""
    name = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
    return any(p == path and (name == m or name.startswith(m + ".")) for p, m in LATE_IMPORTS)


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_time_and_environment_come_from_one_place(path):
    text = path.read_text()
    if rel(path) != "bot/desk/context.py":  # utcnow(): the one wall clock, injected everywhere
        assert not re.search(r"datetime\.now\(|date\.today\(|time\.time\(\)", text), rel(path)
    if rel(path) != "bot/config.py":  # settings come from the environment in one place
        assert not re.search(r"os\.environ|os\.getenv", text), rel(path)


def test_only_the_desk_writes_tickets():
    """Ticket rows change in the desk layer (actions, intake, SLA state, routing...), never in
    an adapter, the CLI or the wiring: they call the desk."""
    outside = [p for p in SOURCES if p.parts[-2] != "desk" and "store" not in p.parts
               and "delivery" not in p.parts]
    offenders = [rel(p) for p in outside
                 if re.search(r"\bTicket\(|\b(?:t|ticket)\.(?:status|owner|kind)\s*=[^=]", p.read_text())]
    assert not offenders, offenders


def test_no_dispatcher_calls_a_private_desk_function():
    """The CLI (bot/cli.py and the commands in bot/commands/), the Slack desk and the
    staff-mail handler translate their input into the public desk actions; none reaches
    behind them."""
    names = ["cli.py", *(f"commands/{p.name}" for p in sorted((BOT / "commands").glob("*.py"))),
             "desk/slack_desk.py", "desk/staff_mail.py"]
    for name in names:
        text = (BOT / name).read_text()
        assert not re.search(r"\b(?:actions|intake|queries|outgoing)\._\w+\(", text), name
