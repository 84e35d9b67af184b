"""`ticketbot sweep`: all due time-based work as of --now, then the outbox."""

from __future__ import annotations

import argparse
import json

from bot.commands.common import now_arg, open_for
from bot.config import Settings
from bot.desk import jobs
from bot.wiring import build_sender, close_sender


def cmd_sweep(settings: Settings, args) -> int:
    """All due time-based work as of --now (default: now): reminders, escalations, jobs.
    Then delivers the outbox, unless --no-send."""
    desk = open_for(settings, args, rules=True)
    now = now_arg(desk, args.now) or desk.clock()
    rehearse = args.force and now - desk.clock() > jobs.AHEAD
    done: dict[str, int | bool] = {**jobs.sweep(desk, now, rehearse=rehearse)}
    if rehearse:
        done["rehearsal"] = True
    elif not args.no_send:
        sender = build_sender(settings, desk)
        try:
            sent = sender.run_once(now, limit=10_000)
        finally:
            close_sender(sender)
        done.update({f"outbox {k}": v for k, v in sent.items()})
    if args.json:
        print(json.dumps(done))
    else:
        print(", ".join(f"{k}: {v}" for k, v in done.items()) or "nothing due")
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    p.add_argument("--now", help="as of this time, e.g. 2026-12-01T09:00 (desk's time zone)")
    p.add_argument("--no-send", action="store_true", help="queue only; do not deliver")
    p.add_argument("--force", action="store_true",
                   help="a --now more than an hour ahead: rehearse (show what would go; "
                        "send and record nothing)")
    p.add_argument("--json", action="store_true")


handle = cmd_sweep
