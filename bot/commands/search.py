"""`ticketbot search` and `ticketbot reindex`: the full-text search."""

from __future__ import annotations

import argparse
import sys

from bot.commands.common import dumps, open_for, operator
from bot.config import Settings
from bot.desk import fulltext, queries


def cmd_search(settings: Settings, args) -> int:
    """The same search as Slack's `/ticket search`: a number, or words in the subject,
    the customer, the contact or any message."""
    desk = open_for(settings, args, rules=True)
    words = " ".join(args.words)
    found = queries.search(desk, operator(args, desk), words, limit=args.limit)
    if args.json:
        print(dumps(desk, found))
        return 0
    for d in found:
        print(f"{d['tag']}  {d['status']:<8} {d['owner']:<10} {d['subject']}")
    if not found:
        print(f"nothing found for {words!r}", file=sys.stderr)
    return 0


def cmd_reindex(settings: Settings, args) -> int:
    """`ticketbot reindex`: the full-text search index rebuilt from every ticket."""
    desk = open_for(settings, args)
    n = fulltext.reindex(desk, operator(args, desk))
    print(f"search index rebuilt: {n} tickets", file=sys.stderr)
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    if command == "search":
        p.add_argument("words", nargs="+")
        p.add_argument("--limit", type=int, default=20)
        p.add_argument("--json", action="store_true")


HANDLERS = {
    "search": cmd_search,
    "reindex": cmd_reindex,
}


def handle(settings: Settings, args) -> int:
    return HANDLERS[args.command](settings, args)
