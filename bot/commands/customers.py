"""`ticketbot import` and `ticketbot export`: customers and contracts as CSV."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.commands import UserError
from bot.commands.common import open_for, operator
from bot.config import Settings
from bot.desk import customer_csv


def cmd_import(settings: Settings, args) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    # with the rules, so advisors are checked against rules.yaml's people
    desk = open_for(settings, args, rules=True)
    report = customer_csv.import_file(desk, operator(args, desk), args.what, path)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    else:
        print(f"{path}: {report.added} added, {report.changed} changed, "
              f"{report.unchanged} unchanged, {len(report.rejected)} rejected")
        for line, reason in report.rejected:
            print(f"  line {line}: {reason}")
    return 1 if report.rejected else 0


def cmd_export(settings: Settings, args) -> int:
    desk = open_for(settings, args)
    actor = operator(args, desk)
    if args.file:
        with open(args.file, "w", encoding="utf-8", newline="") as f:
            customer_csv.export_file(desk, actor, args.what, f)
    else:
        customer_csv.export_file(desk, actor, args.what, sys.stdout)
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    if command == "import":
        p.add_argument("what", choices=["customers", "contracts"])
        p.add_argument("file")
        p.add_argument("--json", action="store_true")
    elif command == "export":
        p.add_argument("what", choices=["customers", "contracts"])
        p.add_argument("file", nargs="?", help="default: standard output")


HANDLERS = {
    "import": cmd_import,
    "export": cmd_export,
}


def handle(settings: Settings, args) -> int:
    return HANDLERS[args.command](settings, args)
