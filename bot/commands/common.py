"""What the commands share: the desk for one command, the operator, tables and times as a
person reads them at the terminal, JSON in the desk's time zone."""

from __future__ import annotations

import getpass
import json
import re
from datetime import UTC, datetime

from sqlalchemy.engine import make_url

from bot.commands import UserError
from bot.config import Settings
from bot.desk.actor import Actor
from bot.desk.context import Desk
from bot.wiring import open_desk


def print_table(rows: list[dict], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c) or "")) for r in rows)) for c in columns}
    widths = {c: min(w, 60) for c, w in widths.items()}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c) if r.get(c) is not None else "")[:60].ljust(widths[c])
                        for c in columns))


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _in_desk_time(desk: Desk, value):
    """Every ISO time in a JSON answer in the desk's time zone, with its offset, to the
    second (2026-11-23T10:00:00+01:00)."""
    if isinstance(value, dict):
        return {k: _in_desk_time(desk, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_desk_time(desk, v) for v in value]
    if isinstance(value, str) and _ISO_TIME.match(value):
        t = datetime.fromisoformat(value)
        return t.astimezone(desk.tz).replace(microsecond=0).isoformat()
    return value


def dumps(desk: Desk, value, indent: int | None = 1) -> str:
    return json.dumps(_in_desk_time(desk, value), ensure_ascii=False, indent=indent, default=str)


def database_name(url: str) -> str:
    """The database as a person names it: the SQLite file, or the server and database
    without the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def operator(args, desk: Desk) -> Actor:
    """The operator at the command line (trusted); `--by WHO` records the action as that
    person's (a key from rules.yaml) or that name's."""
    by = getattr(args, "by", None)
    if by:
        return Actor.operator(by, desk.ruleset.people.get(by))
    try:
        return Actor.operator(f"cli:{getpass.getuser()}")
    except Exception:  # no user name (a container without /etc/passwd entry)
        return Actor.operator("cli")


def open_for(settings: Settings, args, rules: bool = False) -> Desk:
    """The desk for one command; `ticketbot --now TIME` runs it as if it were then."""
    desk = open_desk(settings, rules=rules)
    fixed = now_arg(desk, args.global_now)
    if fixed is not None:
        desk.clock = lambda: fixed
    return desk


def now_arg(desk: Desk, value: str | None) -> datetime | None:
    """--now 2026-12-01T09:00 (the desk's time zone unless one is given)."""
    if not value:
        return None
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--now {value!r}: use an ISO time such as 2026-12-01T09:00") from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=desk.tz)
    return now.astimezone(UTC)


def local_time(desk: Desk, value: str | None) -> str:
    """An ISO time as a person reads it at the terminal: the desk's time zone, to the
    minute, with the zone's abbreviation (CET, CEST)."""
    if not value:
        return ""
    t = datetime.fromisoformat(value)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(desk.tz).strftime("%Y-%m-%d %H:%M %Z")
