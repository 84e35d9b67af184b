"""`ticketbot tickets` and `ticketbot show`: the list, and one ticket in full."""

from __future__ import annotations

import argparse

from bot.commands import UserError
from bot.commands.common import dumps, local_time, open_for, operator, print_table
from bot.config import Settings
from bot.core.domain import Direction
from bot.core.worktime import format_minutes
from bot.desk import queries


def cmd_tickets(settings: Settings, args) -> int:
    desk = open_for(settings, args)
    rows = queries.list_tickets(desk, operator(args, desk), args.status)
    if args.json:
        print(dumps(desk, rows))
    else:
        for r in rows:
            r["created"] = local_time(desk, r["created"])
        print_table(rows, ["number", "status", "kind", "owner", "contact", "subject", "created"])
    return 0


def cmd_show(settings: Settings, args) -> int:
    desk = open_for(settings, args)
    d = queries.ticket_detail(desk, operator(args, desk), args.number)
    if d is None:
        raise UserError(f"no ticket {args.number}")
    if args.json:
        print(dumps(desk, d))
        return 0
    print(f"{d['tag']} {d['subject']}")
    for key in ("status", "kind", "owner", "priority", "contact", "language", "created",
                "first_action", "resolved", "linked_ticket", "bounced"):
        if d.get(key) not in (None, False):
            value = local_time(desk, d[key]) if key in ("created", "first_action", "resolved") else d[key]
            print(f"  {key}: {value}")
    if d.get("watchers"):
        print(f"  watchers: {', '.join(d['watchers'])}")
    for name, value in (d.get("fields") or {}).items():
        print(f"  field {name}: {value}")
    if d.get("holds"):
        print("  invoices on hold: " + ", ".join(
            f"{h['invoice']} (since {local_time(desk, h['held_since'])})" for h in d["holds"]
            if not h["released"]) or "none")
    if d.get("time", {}).get("entries"):
        print(f"  time: {d['time']['total']}")
    for m in d["messages"]:
        arrow = {Direction.IN: "<-", Direction.OUT: "->", Direction.NOTE: "##"}.get(m["direction"], "  ")
        who = m["from"] if m["direction"] != Direction.OUT else f"to {m['to']}"
        extra = f" [{m['delivery']}]" if m["delivery"] else ""
        print(f"\n{arrow} {local_time(desk, m['date'])} {who}{extra}: {m['subject']}")
        for line in (m["text"] or "").strip().splitlines():
            print(f"   {line}")
        for a in m["attachments"]:
            print(f"   [attachment] {a['name']} ({a['type']}, {a['size']} bytes)")
    if d.get("time", {}).get("entries"):
        print("\ntime:")
        for e in d["time"]["entries"]:
            note = f" — {e['note']}" if e["note"] else ""
            print(f"  {local_time(desk, e['at'])} {e['person']}: {e['duration']}{note}")
    print("\nevents:")
    for e in d["events"]:
        reason = f" — {e['reason']}" if e["reason"] else ""
        print(f"  {local_time(desk, e['at'])} {e['actor']}: {e['action']}{_event_detail(e)}{reason}")
    return 0


def _event_detail(e: dict) -> str:
    """What changed, for the events whose detail a person needs: fields, kind, owner,
    status, holds, time."""
    d = e.get("detail") or {}
    a = e["action"]
    if a == "field":
        return f" {d.get('field')}: {d.get('from') or '(empty)'} -> {d.get('to')}"
    if a in ("kind", "status", "reassigned") and "to" in d:
        return f" {d.get('from')} -> {d.get('to')}"
    if a in ("invoice-hold", "invoice-released"):
        return f" {d.get('invoice')}"
    if a == "time" and "minutes" in d:
        return f" {format_minutes(d['minutes'])} ({d.get('person')})"
    return ""


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    if command == "tickets":
        p.add_argument("--status")
        p.add_argument("--json", action="store_true")
    elif command == "show":
        p.add_argument("number", type=int)
        p.add_argument("--json", action="store_true")


HANDLERS = {
    "tickets": cmd_tickets,
    "show": cmd_show,
}


def handle(settings: Settings, args) -> int:
    return HANDLERS[args.command](settings, args)
