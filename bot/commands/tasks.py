"""`ticketbot tasks`: open tasks, and --done to close one."""

from __future__ import annotations

import argparse
import sys

from bot.commands.common import dumps, local_time, open_for, operator, print_table
from bot.config import Settings
from bot.desk import actions, queries


def cmd_tasks(settings: Settings, args) -> int:
    desk = open_for(settings, args)
    if args.done is not None:
        t = actions.complete_task(desk, operator(args, desk), args.done, args.note)
        print(f"task {t['id']} done: {t['title']}", file=sys.stderr)
        return 0
    rows = queries.list_tasks(desk, operator(args, desk), open_only=not args.all)
    if args.json:
        print(dumps(desk, rows))
    else:
        for r in rows:
            r["due"] = local_time(desk, r["due"])
        print_table(rows, ["id", "ticket", "kind", "assignee", "due", "title"])
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    p.add_argument("--all", action="store_true", help="done ones too")
    p.add_argument("--json", action="store_true")
    p.add_argument("--done", type=int, metavar="ID", help="mark task ID done")
    p.add_argument("--note", help="with --done: what was done")
    p.add_argument("--by", help="with --done: who did it (default: cli:$USER)")


handle = cmd_tasks
