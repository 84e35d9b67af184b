"""`ticketbot webhooks`: the subscriptions and their recent deliveries."""

from __future__ import annotations

import argparse
import json
import sys

from bot.commands.common import open_for, operator, print_table
from bot.config import Settings
from bot.desk import webhooks


def cmd_webhooks(settings: Settings, args) -> int:
    """Webhook subscriptions with their state, and the recent deliveries."""
    desk = open_for(settings, args, rules=True)  # rules.yaml's subscriptions, synced
    actor = operator(args, desk)
    if args.enable:
        webhooks.enable(desk, actor, args.enable)
        print(f"webhook {args.enable}: enabled", file=sys.stderr)
    subs = webhooks.list_subscriptions(desk, actor)
    recent = webhooks.recent_deliveries(desk, actor, args.limit, args.name)
    if args.json:
        print(json.dumps({"subscriptions": subs, "deliveries": recent}, ensure_ascii=False,
                         indent=1))
        return 0
    rows = [{**d, "events": ",".join(d["events"]),
             "secret": "set" if d["secret_set"] else f"{d['secret_env']} NOT SET",
             "queued/sent/failed": "/".join(str(d["deliveries"].get(k, 0))
                                            for k in ("queued", "sent", "failed"))}
            for d in subs]
    print_table(rows, ["name", "source", "state", "url", "events", "secret", "queued/sent/failed",
                       "last_error"])
    print()
    print_table(recent, ["id", "subscription", "event", "ticket", "status", "attempts",
                         "created_at", "last_error"])
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=20, help="recent deliveries shown (default 20)")
    p.add_argument("--name", help="deliveries of this subscription only")
    p.add_argument("--enable", metavar="NAME", help="deliver to a disabled subscription again")


handle = cmd_webhooks
