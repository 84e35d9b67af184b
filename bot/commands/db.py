"""`ticketbot db upgrade` and `ticketbot backup`: the database itself."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.commands import UserError
from bot.commands.common import database_name
from bot.config import Settings
from bot.store.backup import BackupError, backup
from bot.store.migrate import upgrade


def cmd_db(settings: Settings, args) -> int:
    before, after = upgrade(settings.database_url)
    where = database_name(settings.database_url)
    if before is None:
        print(f"database created: {where} (schema {after})", file=sys.stderr)
    elif before != after:
        print(f"database upgraded: {where} (schema {before} -> {after})", file=sys.stderr)
    else:
        print(f"database is up to date: {where} (schema {after})", file=sys.stderr)
    return 0


def cmd_backup(settings: Settings, args) -> int:
    try:
        size = backup(settings.database_url, Path(args.file))
    except BackupError as exc:
        raise UserError(str(exc)) from exc
    print(f"backed up {database_name(settings.database_url)} to {args.file} ({size:,} bytes)")
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    if command == "db":
        p.add_argument("action", choices=["upgrade"])
    elif command == "backup":
        p.add_argument("file", help="the new file")


HANDLERS = {
    "db": cmd_db,
    "backup": cmd_backup,
}


def handle(settings: Settings, args) -> int:
    return HANDLERS[args.command](settings, args)
