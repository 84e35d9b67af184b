"""`ticketbot portal`: the customer portal's links and admins."""

from __future__ import annotations

import argparse
import json

from bot.commands.common import open_for, operator, print_table
from bot.config import Settings
from bot.desk import portal


def cmd_portal(settings: Settings, args) -> int:
    """The customer portal's links and admins (bot/desk/portal.py)."""
    desk = open_for(settings, args)
    actor = operator(args, desk)
    if args.portal_command == "revoke":
        if portal.revoke(desk, actor, args.contact):
            print(f"{args.contact}: portal links revoked; the next mail to them carries a new one")
        else:
            print(f"{args.contact}: had no active portal link")
        return 0
    if args.portal_command == "admin":
        out = portal.set_admin(desk, actor, args.contact, args.value == "yes")
        print(f"{out['email']}: portal admin of {out['company']}: {'yes' if out['portal_admin'] else 'no'}")
        return 0
    rows = portal.contacts(desk, actor)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        print_table(rows, ["email", "name", "company", "portal_admin", "link", "link_sent"])
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    pos = p.add_subparsers(dest="portal_command", required=True)
    pr = pos.add_parser("revoke", help="end every portal link of a contact (address or id) at once")
    pr.add_argument("contact")
    pa = pos.add_parser("admin", help="a contact sees all of their company's tickets in the portal (yes|no)")
    pa.add_argument("contact")
    pa.add_argument("value", choices=["yes", "no"])
    pl = pos.add_parser("list", help="contacts with a portal link or portal admin rights")
    pl.add_argument("--json", action="store_true")


handle = cmd_portal
