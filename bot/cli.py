"""The `ticketbot` command line. Scriptable: --json wherever it lists things."""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
from types import ModuleType
from typing import NamedTuple

from bot.commands import UserError
from bot.config import ConfigError, Settings, setup_logging
from bot.core.rules.schema import RulesError
from bot.desk.errors import Refused

log = logging.getLogger("bot.cli")

__all__ = ["COMMANDS", "UserError", "build_parser", "main"]


class Command(NamedTuple):
    module: str  # bot/commands/<name>.py: add_arguments(parser, command), handle(settings, args)
    help: str  # the line `ticketbot --help` shows, without importing the module


# Every command, in the order `ticketbot --help` lists them. Only the module of the
# command that runs is imported (tests/scenarios/test_cli_imports.py checks that `ticketbot show`
# does not import the web face, Slack or IMAP). A new command: a module in bot/commands/
# and a line here.
COMMANDS: dict[str, Command] = {
    "run": Command("bot.commands.run", "run the whole bot in one process: worker, web and clock"),
    "worker": Command("bot.commands.worker", "the Procfile's worker: IMAP and SMTP intake, outbox sender"),
    "web": Command("bot.commands.run", "the Procfile's web: health endpoint (and Slack's HTTP endpoint)"),
    "clock": Command("bot.commands.run", "the Procfile's clock: the scheduler"),
    "ingest": Command("bot.commands.ingest", "turn .eml files, Maildir folders or mbox files into tickets"),
    "tickets": Command("bot.commands.tickets", "list tickets"),
    "show": Command("bot.commands.tickets", "one ticket with its messages and events"),
    "outbox": Command("bot.commands.outbox", "outgoing mail and posts, queued, sent or failed"),
    "webhooks": Command("bot.commands.webhooks", "webhook subscriptions with their state, and recent deliveries "
                                                 "(status, attempts, last error)"),
    "db": Command("bot.commands.db", "database maintenance"),
    "check-rules": Command("bot.commands.rules", "validate rules.yaml: every problem with file, line, column"),
    "route": Command("bot.commands.rules", "how a mail would be routed, without storing anything"),
    "assign": Command("bot.commands.work", "give a ticket to another person or role"),
    "cancellation": Command("bot.commands.work", "record a cancellation's outcome"),
    "field": Command("bot.commands.work", "set one of a ticket's extra fields (per kind, rules.yaml)"),
    "tasks": Command("bot.commands.tasks", "open tasks (e.g. revoke website access)"),
    "search": Command("bot.commands.search", "tickets by number or by words (as /ticket search in Slack)"),
    "reindex": Command("bot.commands.search", "rebuild the full-text search index from every ticket"),
    "routing": Command("bot.commands.reports", "routing report: the rules behind tickets people corrected, with "
                                               "suggested edits (never applied); routing train: the kind "
                                               "model plus those corrections, into a file"),
    "report": Command("bot.commands.reports", "reports; open-complaints: every open complaint with its age"),
    "sweep": Command("bot.commands.sweep", "run all due time-based work (reminders, escalations, weekly report) as "
                                           "of --now, then send the outbox"),
    "new": Command("bot.commands.work", "a ticket for a customer who phoned or asked a colleague (they get the "
                                        "acknowledgement)"),
    "reply": Command("bot.commands.work", "answer the customer by mail (counts as an action)"),
    "action": Command("bot.commands.work", "log a call, meeting or visit (counts as an action)"),
    "note": Command("bot.commands.work", "an internal note (never mailed to the customer)"),
    "resolve": Command("bot.commands.work", "resolve; the customer is mailed 'reply if it is not'"),
    "reopen": Command("bot.commands.work", "reopen a resolved ticket"),
    "wait": Command("bot.commands.work", "waiting on the customer (pauses the resolution clock)"),
    "kind": Command("bot.commands.work", "change a ticket's kind (and so its SLA policy)"),
    "send-test-mail": Command("bot.commands.mail", "mail the running bot as a customer would (SMTP)"),
    "backup": Command("bot.commands.db", "a consistent copy of the SQLite database, while it runs"),
    "mail": Command("bot.commands.mail", "what became of a mail: the reference in SMTP's 'queued as'"),
    "import": Command("bot.commands.customers", "upsert customers or contracts from CSV"),
    "holds": Command("bot.commands.reports", "invoices on hold from collection (a complaint about them is open)"),
    "hold": Command("bot.commands.work", "put an invoice on hold for a ticket, or --release it"),
    "time": Command("bot.commands.work", "log time spent on a ticket: ticketbot time 4 15m [note]"),
    "time-report": Command("bot.commands.reports", "time logged in a month per person, customer and kind"),
    "export": Command("bot.commands.customers", "customers or contracts as CSV (the import format)"),
    "api-token": Command("bot.commands.api_token", "REST API tokens, one per integration"),
    "portal": Command("bot.commands.portal", "the customer portal: revoke a contact's links, portal admins"),
}

LONG_RUNNING = ("run", "worker", "web", "clock")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command's one-line help; the arguments of `command` only
    (they are defined in its module, which this imports)."""
    p = argparse.ArgumentParser(prog="ticketbot", description=__doc__)
    p.add_argument("--now", dest="global_now", metavar="TIME",
                   help="act as if it were TIME (ISO, the desk's time zone unless given): "
                        "for replays and tests")
    sub = p.add_subparsers(dest="command", required=True)
    for name, c in COMMANDS.items():
        sp = sub.add_parser(name, help=c.help)
        if name == command:
            load(name).add_arguments(sp, name)
    return p


def load(command: str) -> ModuleType:
    """The module of one command. The one import that is not at a module's top
    (tests/test_architecture.py allows it here): `ticketbot --help` and each command
    import only what they use."""
    return importlib.import_module(COMMANDS[command].module)


def runner(command: str, settings: Settings) -> ModuleType:
    """The module that runs the command with these settings: its own, unless that one
    names another for them (`instead(settings)`: `worker` hands over to the whole app
    when Slack's listeners must run in it, bot/commands/worker.py)."""
    module = load(command)
    instead = getattr(module, "instead", None)
    other = instead(settings) if instead is not None else None
    return importlib.import_module(other) if other else module


def command_in(argv: list[str]) -> str | None:
    """The command named in argv (after the global --now TIME), or None."""
    args = iter(argv)
    for arg in args:
        if arg in COMMANDS:
            return arg
        if len(arg) > 2 and "--now".startswith(arg):  # --now TIME (argparse takes --n, --no too)
            next(args, None)
        elif not arg.startswith("-"):
            return None  # not a command: argparse says so
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = command_in(argv)
    if command not in LONG_RUNNING:
        return _main(argv, command)
    # What a long-running process builds while it starts (modules, rules, templates)
    # lives as long as it does: the cyclic collector's passes over it are wasted.
    # bot/worker.py serve() turns it back on once started (settle_heap); a start that
    # fails first (a bad setting, the rules refused) turns it back on here.
    gc.disable()
    try:
        return _main(argv, command)
    finally:
        gc.enable()


def _main(argv: list[str], command: str | None) -> int:
    args = build_parser(command).parse_args(argv)
    try:
        settings = Settings.from_env()
        handle = runner(args.command, settings).handle
        level = settings.log_level
        if args.command not in LONG_RUNNING and level.upper() == "INFO":
            # One-shot commands: stdout is the result and stderr is for errors; the
            # INFO chatter (alembic's migration lines, one line per ticket) is noise there.
            level = "WARNING"
        setup_logging(level)
        return handle(settings, args)
    except (UserError, ConfigError, Refused) as exc:
        print(f"ticketbot: {exc}", file=sys.stderr)
        return 2
    except RulesError as exc:  # one line per problem: file:line:column: reason
        for problem in exc.problems:
            print(f"ticketbot: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ticketbot show 1 | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # no stack trace for the user; the log has it at debug level
        log.debug("unexpected error", exc_info=True)
        print(f"ticketbot: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
