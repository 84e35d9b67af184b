"""The reports: routing corrections, open complaints, invoices on hold, time logged."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from bot.commands import UserError
from bot.commands.common import dumps, local_time, now_arg, open_for, operator, print_table
from bot.config import KIND_MODEL, Settings
from bot.core import report
from bot.core.rules import kind_model
from bot.desk import corrections, holds, queries, timesheet


def cmd_routing(settings: Settings, args) -> int:
    """`ticketbot routing report`: the rules behind tickets people corrected (reassigned,
    kind changed), the words they matched on, and suggested edits (never applied)."""
    desk = open_for(settings, args, rules=True)
    since = now_arg(desk, args.since) if args.since else None
    if args.what == "train":
        return _train(settings, desk, args, since)
    rows = corrections.report(desk, operator(args, desk), since)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("no routed ticket was corrected by hand" + (f" since {args.since}" if args.since else ""))
        return 0
    for r in rows:
        print(f"rule {r['rule']}: {r['corrected']} corrected")
        for change, n in r["changes"]:
            print(f"  {n} x {change}")
        if r["words"]:
            print(f"  matched on: {', '.join(r['words'])}")
        for ex in r["examples"]:
            print(f"  e.g. {ex['ticket']} {ex['subject']}")
        print(f"  suggestion: {r['suggestion']}")
    return 0


def _train(settings: Settings, desk, args, since) -> int:
    """`ticketbot routing train --out FILE`: the kind model in force (TICKETBOT_KIND_MODEL,
    else the shipped one) plus the desk's own corrections, written to FILE. Never applied
    by itself: the operator points TICKETBOT_KIND_MODEL at FILE and restarts."""
    if not args.out:
        raise UserError("routing train: say where to write the model (--out FILE)")
    base = settings.kind_model or KIND_MODEL
    try:
        data = json.loads(base.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{base}: cannot read the kind model ({e})") from None
    rows = corrections.training_rows(desk, operator(args, desk), since)
    out = kind_model.add_rows(data, rows, {"desk_rows": len(rows) + int((data.get("meta") or {})
                                                                      .get("desk_rows", 0))})
    Path(args.out).write_text(kind_model.dumps(out), encoding="utf-8")
    kinds = Counter(k for _, _, k in rows)
    print(f"{args.out}: {base.name} plus {len(rows)} corrected ticket(s) "
          f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items())) or 'none'})")
    print(f"to use it: TICKETBOT_KIND_MODEL={args.out}, then restart the bot "
          f"(check first: ticketbot route MAIL --explain)")
    return 0


def cmd_report(settings: Settings, args) -> int:
    desk = open_for(settings, args, rules=True)
    now = now_arg(desk, args.now) or desk.clock()
    rows = queries.open_complaints(desk, operator(args, desk), now)
    sys.stdout.write(report.render(rows, args.format, now, desk.renderer))
    return 0


def cmd_holds(settings: Settings, args) -> int:
    """The invoices on hold from collection (a complaint about them is open)."""
    desk = open_for(settings, args)
    rows = holds.list_holds(desk, operator(args, desk), open_only=not args.all)
    if args.csv:
        sys.stdout.write(holds.to_csv(rows))
    elif args.json:
        print(dumps(desk, rows))
    else:
        for r in rows:
            r["held_since"] = local_time(desk, r["held_since"])
        print_table(rows, ["invoice", "tag", "customer", "status", "owner", "held_since", "source"]
                    + (["released"] if args.all else []))
    return 0


def cmd_time_report(settings: Settings, args) -> int:
    """Time logged in a month per person, customer and kind."""
    desk = open_for(settings, args, rules=True)
    month = args.month or desk.clock().astimezone(desk.tz).strftime("%Y-%m")
    rep = timesheet.time_report(desk, operator(args, desk), month)
    if args.csv:
        sys.stdout.write(timesheet.to_csv(rep))
    elif args.json:
        print(json.dumps(rep, ensure_ascii=False, indent=1))
    else:
        print(f"time logged in {month}: {rep['total']}")
        print_table(rep["rows"], ["person", "customer", "kind", "entries", "duration"])
        for key in ("person", "customer", "kind"):
            totals = rep[f"per_{key}"]
            if totals:
                print(f"\nper {key}: " + ", ".join(f"{t[key]} {t['duration']}" for t in totals))
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    if command == "routing":
        p.add_argument("what", choices=["report", "train"],
                       help="train: the kind model plus the desk's corrections, into --out")
        p.add_argument("--since", help="corrections from this time on (ISO; the desk's time zone)")
        p.add_argument("--out", help="train: the model file to write (never applied by itself)")
        p.add_argument("--json", action="store_true")
    elif command == "report":
        p.add_argument("name", choices=["open-complaints"])
        p.add_argument("--format", choices=["table", "csv", "html", "json"], default="table")
        p.add_argument("--now", help="as of this time (ISO; the desk's time zone when none given)")
    elif command == "holds":
        p.add_argument("--csv", action="store_true", help="as CSV (what receivables is mailed)")
        p.add_argument("--json", action="store_true")
        p.add_argument("--all", action="store_true", help="released holds too")
    elif command == "time-report":
        p.add_argument("--month", help="YYYY-MM (default: this month)")
        p.add_argument("--csv", action="store_true")
        p.add_argument("--json", action="store_true")


HANDLERS = {
    "routing": cmd_routing,
    "report": cmd_report,
    "holds": cmd_holds,
    "time-report": cmd_time_report,
}


def handle(settings: Settings, args) -> int:
    return HANDLERS[args.command](settings, args)
