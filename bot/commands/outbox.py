"""`ticketbot outbox`: outgoing mail and posts; --send delivers what is due."""

from __future__ import annotations

import argparse
import sys

from bot.commands.common import dumps, open_for, operator, print_table
from bot.config import Settings
from bot.desk import queries
from bot.wiring import build_sender, close_sender


def cmd_outbox(settings: Settings, args) -> int:
    desk = open_for(settings, args)
    if args.send:
        sender = build_sender(settings, desk)
        try:
            counts = sender.run_once(desk.clock(), limit=10_000)
        finally:
            close_sender(sender)
        print(", ".join(f"{n} {k}" for k, n in counts.items()), file=sys.stderr)
    rows = queries.list_outbox(desk, operator(args, desk), args.status)
    if args.json:
        print(dumps(desk, rows))
    else:
        print_table(rows, ["id", "ticket", "channel", "to", "subject", "status", "attempts",
                           "last_error"])
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    p.add_argument("--status")
    p.add_argument("--json", action="store_true")
    p.add_argument("--send", action="store_true", help="deliver what is due now, then list")


handle = cmd_outbox
