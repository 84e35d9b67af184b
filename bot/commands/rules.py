"""`ticketbot check-rules` and `ticketbot route`: rules.yaml checked, and tried on a mail."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.adapters.rules_file import load_rules
from bot.commands import UserError
from bot.commands.common import open_for, operator
from bot.config import Settings
from bot.desk import queries


def cmd_check_rules(settings: Settings, args) -> int:
    path = Path(args.file) if args.file else settings.rules_path
    # RulesError: printed by main, one line per problem
    rs = load_rules(path, templates=settings.templates_dir, default_timezone=settings.timezone,
                    default_language=settings.default_language)
    print(f"{path}: OK ({len(rs.rules)} rules, {len(rs.people)} people, "
          f"{len(rs.kinds)} kinds)")
    return 0


def cmd_route(settings: Settings, args) -> int:
    path = Path(args.mail)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    desk = open_for(settings, args, rules=True)
    out = queries.explain(desk, operator(args, desk), path.read_bytes(), f"file:{path}")
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    s = out["sender"]
    who = f"{s['name']} <{s['email']}>" if s["name"] else s["email"]
    company = s["company"] or "-"
    print(f"sender:   {who}")
    print(f"customer: {company} ({s['how']}; advisor: {s['advisor'] or 'none'})")
    print(f"subject:  {out['subject']}")
    print(f"language: {out['language'] or '?'}")
    if args.explain:
        for a in out.get("attachments_read", []):  # the text part `attachments` of the rules
            print(f"attached: {a['name']} ({a['chars']} characters read): {a['text'][:200]!r}")
        print(f"rules:    {out['rules']}")
        for t in out["trace"]:
            mark = "MATCH" if t["matched"] else "no"
            print(f"  {mark:5} {t['rule']} (line {t['line']})")
            for c in t["conditions"]:
                res = "yes" if c["result"] else "no"
                print(f"          {res:3} {c['condition'][:100]}" + (f"  [{c['detail']}]" if c["detail"] else ""))
    m = out.get("model")
    if args.explain and m:
        words = ", ".join(f"{w} (+{g:.1f})" for w, g in m["features"]) or "-"
        print(f"model:    {m['kind']} ({m['confidence']:.0%}; threshold {m['threshold']:.0%}; "
              f"runner-up {m['runner_up'] or '-'}): "
              f"{'APPLIED' if m['applied'] else 'not applied'}: {m['why']}")
        print(f"          words for {m['kind']} against {m['runner_up'] or '-'}: {words}")
    print(f"kind:     {out['kind']}" + (f" / {out['category']}" if out["category"] else "")
          + ((f" (upgraded to complaint by the kind model, confidence {m['confidence']:.2f}; "
              f"the rule said {m['rules_kind']})" if m.get("upgraded") else " (proposed by the kind model)")
             if m and m["applied"] else ""))
    print(f"priority: {out['priority']}" + (" (urgent)" if out["urgent"] else ""))
    print(f"owner:    {out['owner']} ({out['owner_reason']})")
    print(f"watchers: {', '.join(out['watchers']) or '-'}")
    print(f"rule:     {out['rule'] or '(none matched: defaults)'}")
    if out["ignore"]:
        print("action:   ignored (no ticket)")
    if "cancellation" in out:
        c = out["cancellation"]
        print(f"cancellation: {c.get('explanation') or 'no contract found for this sender'}")
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    if command == "check-rules":
        p.add_argument("file", nargs="?", help="default: TICKETBOT_RULES")
    elif command == "route":
        p.add_argument("mail", help="an .eml file")
        p.add_argument("--explain", action="store_true", help="every rule tried, and why")
        p.add_argument("--json", action="store_true")


HANDLERS = {
    "check-rules": cmd_check_rules,
    "route": cmd_route,
}


def handle(settings: Settings, args) -> int:
    return HANDLERS[args.command](settings, args)
