"""`ticketbot api-token`: REST API tokens, one per integration."""

from __future__ import annotations

import argparse
import json
import sys

from bot.commands.common import open_for, print_table
from bot.config import Settings
from bot.desk import api_tokens


def cmd_api_token(settings: Settings, args) -> int:
    """REST API tokens: create (printed once, only its hash is kept), list, revoke."""
    desk = open_for(settings, args)
    if args.action == "create":
        token = api_tokens.create(desk, args.name, args.scope)
        print(token)
        print(f"API token for {args.name} (scope {args.scope}): shown this once; keep it as a "
              "secret. Send it as Authorization: Bearer <token>.", file=sys.stderr)
    elif args.action == "revoke":
        api_tokens.revoke(desk, args.name)
        print(f"API token of {args.name} revoked", file=sys.stderr)
    else:
        rows = api_tokens.list_tokens(desk)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=1))
        else:
            print_table(rows, ["name", "scope", "created", "revoked"])
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    at_sub = p.add_subparsers(dest="action", required=True)
    atc = at_sub.add_parser("create", help="a new token, printed once (kept hashed)")
    atc.add_argument("name")
    atc.add_argument("--scope", choices=list(api_tokens.SCOPES), required=True)
    atl = at_sub.add_parser("list", help="the tokens: name, scope, made, revoked")
    atl.add_argument("--json", action="store_true")
    atr = at_sub.add_parser("revoke", help="end a token at once")
    atr.add_argument("name")


handle = cmd_api_token
