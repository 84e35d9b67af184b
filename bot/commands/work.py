"""The commands that change one ticket, each through one desk action (bot/desk/actions.py)."""

from __future__ import annotations

import argparse
import json
import sys

from bot.commands.common import dumps, open_for, operator
from bot.config import Settings
from bot.desk import actions


def cmd_assign(settings: Settings, args) -> int:
    desk = open_for(settings, args, rules=True)
    person = actions.assign(desk, operator(args, desk), args.number, args.to, args.reason)
    print(f"ticket {args.number}: now owned by {person}", file=sys.stderr)
    return 0


def cmd_cancellation(settings: Settings, args) -> int:
    desk = open_for(settings, args, rules=True)
    out = actions.cancellation_outcome(desk, operator(args, desk), args.number, args.outcome,
                                       args.reason)
    if args.json:
        print(dumps(desk, out))
    else:
        ends = f"; the contract ends on {out['contract_ends_on']}" if out["contract_ends_on"] else ""
        print(f"ticket {args.number}: {out['outcome']}{ends}")
    return 0


def cmd_field(settings: Settings, args) -> int:
    desk = open_for(settings, args, rules=True)
    fields = actions.set_field(desk, operator(args, desk), args.number, args.name, args.value)
    print(json.dumps(fields, ensure_ascii=False))
    return 0


def cmd_work(settings: Settings, args) -> int:
    """reply / action / note / resolve / reopen / wait / kind on one ticket."""
    desk = open_for(settings, args, rules=True)
    actor = operator(args, desk)
    c, n = args.command, args.number
    if c == "reply":
        text = sys.stdin.read() if args.text == "-" else args.text
        result = actions.reply(desk, actor, n, text)
    elif c == "action":
        result = actions.log_action(desk, actor, n, args.how, args.note)
    elif c == "note":
        result = actions.add_note(desk, actor, n, args.text, action=args.action)
    elif c == "resolve":
        result = actions.resolve(desk, actor, n, args.note, tell_customer=not args.no_mail)
    elif c == "reopen":
        result = actions.reopen(desk, actor, n, args.reason)
    elif c == "wait":
        result = actions.set_waiting(desk, actor, n, not args.off)
    else:
        result = actions.set_kind(desk, actor, n, args.kind)
    print(dumps(desk, result, indent=None))
    return 0


def cmd_new(settings: Settings, args) -> int:
    """A ticket for a customer who phoned, or asked a colleague (actions.open_on_behalf)."""
    desk = open_for(settings, args, rules=True)
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    result = actions.open_on_behalf(desk, operator(args, desk), args.customer, args.kind, text,
                                    ack=not args.no_ack, source="cli", name=args.name or "")
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0


def cmd_hold(settings: Settings, args) -> int:
    """Put an invoice on hold for a ticket by hand, or (--release) take it off hold."""
    desk = open_for(settings, args, rules=True)
    rows = actions.hold_invoice(desk, operator(args, desk), args.number, args.invoice,
                                release=args.release, reason=args.reason)
    held = ", ".join(r["invoice"] for r in rows) or "none"
    print(f"ticket {args.number}: invoice {args.invoice} "
          f"{'released' if args.release else 'on hold'}; on hold now: {held}")
    return 0


def cmd_time(settings: Settings, args) -> int:
    """Log time spent on a ticket: `ticketbot time 4 15m called the customer`."""
    desk = open_for(settings, args, rules=True)
    out = actions.log_time(desk, operator(args, desk), args.number, args.duration,
                           " ".join(args.note) or None)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print(f"{out['tag']}: {out['duration']} logged for {out['person']}; "
              f"{out['total']} on this ticket in all")
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    if command == "assign":
        p.add_argument("number", type=int)
        p.add_argument("to", help="a person or a role from rules.yaml")
        p.add_argument("--reason", required=True)
        p.add_argument("--by", help="who does it (default: cli:$USER)")
    elif command == "cancellation":
        p.add_argument("number", type=int)
        p.add_argument("outcome", choices=["retained", "lost"])
        p.add_argument("--reason")
        p.add_argument("--by", help="who does it (default: cli:$USER)")
        p.add_argument("--json", action="store_true")
    elif command == "field":
        p.add_argument("number", type=int)
        p.add_argument("name")
        p.add_argument("value")
        p.add_argument("--by", help="who does it (default: cli:$USER)")
    elif command == "new":
        p.add_argument("customer", help="the customer's mail address")
        p.add_argument("text", nargs="+", help="what they asked; - reads it from standard input")
        p.add_argument("--kind", help="a kind from rules.yaml (default: as the rules route it), or "
                                      "call: a phone call, logged as the first action")
        p.add_argument("--no-ack", action="store_true", help="do not acknowledge the customer")
        p.add_argument("--name", help="the customer's name, if the directory does not know it")
        p.add_argument("--by", help="who took the request: a person from rules.yaml")
    elif command == "reply":
        p.add_argument("number", type=int)
        p.add_argument("text", help="the reply; - reads it from standard input")
        p.add_argument("--by", help="who answers: a person from rules.yaml (default: cli:$USER)")
    elif command == "action":
        p.add_argument("number", type=int)
        p.add_argument("how", choices=["call", "meeting", "visit", "action"])
        p.add_argument("--note")
        p.add_argument("--by")
    elif command == "note":
        p.add_argument("number", type=int)
        p.add_argument("text")
        p.add_argument("--action", action="store_true", help="the note records an action")
        p.add_argument("--by")
    elif command == "resolve":
        p.add_argument("number", type=int)
        p.add_argument("--note", help="told to the customer too")
        p.add_argument("--no-mail", action="store_true", help="do not mail the customer")
        p.add_argument("--by")
    elif command == "reopen":
        p.add_argument("number", type=int)
        p.add_argument("--reason")
        p.add_argument("--by")
    elif command == "wait":
        p.add_argument("number", type=int)
        p.add_argument("--off", action="store_true", help="no longer waiting")
        p.add_argument("--by")
    elif command == "kind":
        p.add_argument("number", type=int)
        p.add_argument("kind")
        p.add_argument("--by")
    elif command == "hold":
        p.add_argument("number", type=int)
        p.add_argument("invoice", help="the invoice number, e.g. 2026-114")
        p.add_argument("--release", action="store_true", help="take it off hold")
        p.add_argument("--reason")
        p.add_argument("--by", help="who does it (default: cli:$USER)")
    elif command == "time":
        p.add_argument("number", type=int)
        p.add_argument("duration", help="15m, 1h30, 1.5h or 90 (minutes)")
        p.add_argument("note", nargs="*")
        p.add_argument("--by", help="whose time: a person from rules.yaml (default: cli:$USER)")
        p.add_argument("--json", action="store_true")


HANDLERS = {
    "assign": cmd_assign,
    "cancellation": cmd_cancellation,
    "field": cmd_field,
    "new": cmd_new,
    "reply": cmd_work,
    "action": cmd_work,
    "note": cmd_work,
    "resolve": cmd_work,
    "reopen": cmd_work,
    "wait": cmd_work,
    "kind": cmd_work,
    "hold": cmd_hold,
    "time": cmd_time,
}


def handle(settings: Settings, args) -> int:
    return HANDLERS[args.command](settings, args)
