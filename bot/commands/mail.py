"""`ticketbot send-test-mail` and `ticketbot mail`: a mail to the running bot, and what became of one."""

from __future__ import annotations

import argparse
import json
import smtplib
import sys
import time
from email.utils import format_datetime

from bot.commands import UserError
from bot.commands.common import open_for, operator, print_table
from bot.config import Settings
from bot.desk import queries
from bot.desk.context import utcnow

TEST_MAIL = """\
From: Jan de Vries <jan@klant.example>
To: {to}
Subject: {subject}
Date: {date}
Message-ID: <{mid}@klant.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{body}
"""

TEST_SUBJECT = "Factuur 2026-114 klopt niet"

TEST_BODY = """\
Goedendag,

Op factuur 2026-114 staat een advertentie die wij niet besteld hebben.
Kunt u dit corrigeren?

Met vriendelijke groet,
Jan de Vries"""


def cmd_send_test_mail(settings: Settings, args) -> int:
    """A customer's mail to the running bot's SMTP intake: the quick start's first step,
    with nothing to install."""
    host, port = settings.smtp_listen
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    now = utcnow()
    to = args.to or settings.address
    raw = TEST_MAIL.format(to=to, date=format_datetime(now), mid=f"test-{now:%Y%m%d%H%M%S%f}",
                           subject=" ".join(args.subject.split()), body=args.body)
    if args.sender != "jan@klant.example":  # another sender: no name to go with it
        raw = raw.replace("Jan de Vries <jan@klant.example>", args.sender, 1)
    try:
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail(args.sender)
            code, said = smtp.rcpt(to)
            if code != 250:
                raise UserError(f"smtp://{host}:{port} refused {to}: {code} {said.decode()}")
            code, said = smtp.data(raw.encode("utf-8"))
    except (OSError, smtplib.SMTPException) as exc:
        raise UserError(f"could not hand the test mail to smtp://{host}:{port} ({exc}); "
                        "is the bot running (make run)?") from exc
    if code != 250:
        raise UserError(f"smtp://{host}:{port} answered {code} {said.decode()}")
    print(f"sent: {args.sender} -> {to} at smtp://{host}:{port}, {said.decode()}")
    ref = said.decode().rpartition("queued as ")[2].strip()
    if args.no_wait or not ref:
        return 0
    # Wait until the bot has made it a ticket (it is quick), so the next command finds it.
    desk = open_for(settings, args, rules=True)
    actor = operator(args, desk)
    deadline = time.monotonic() + args.wait
    while True:
        fate = [f for f in queries.mail_fate(desk, actor, ref) if f["status"] != "spooled"]
        if fate:
            print(f"it became ticket {fate[0]['ticket']} ({fate[0]['status']}). "
                  f"Next: .venv/bin/ticketbot tickets" if fate[0]["ticket"] else
                  f"the bot {fate[0]['status']} it: .venv/bin/ticketbot mail {ref}")
            return 0
        if time.monotonic() > deadline:
            print(f"not yet a ticket after {args.wait:g} s: is the bot's worker running on "
                  f"this database? (.venv/bin/ticketbot mail {ref} tells later)", file=sys.stderr)
            return 1
        time.sleep(0.2)


def cmd_mail(settings: Settings, args) -> int:
    """What became of a mail, by the reference the SMTP server answered with."""
    desk = open_for(settings, args, rules=True)
    found = queries.mail_fate(desk, operator(args, desk), args.ref)
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=1))
    elif not found:
        raise UserError(f"no mail with reference {args.ref}")
    else:
        print_table(found, ["ref", "status", "ticket", "received_at", "source", "error"])
    return 0


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    if command == "send-test-mail":
        p.add_argument("--from", dest="sender", default="jan@klant.example")
        p.add_argument("--to", help="default: the desk's address (TICKETBOT_ADDRESS)")
        p.add_argument("--subject", default=TEST_SUBJECT)
        p.add_argument("--body", default=TEST_BODY)
        p.add_argument("--wait", type=float, default=30.0, metavar="SECONDS",
                       help="how long to wait for the ticket (default 30)")
        p.add_argument("--no-wait", action="store_true", help="do not wait for the ticket")
    elif command == "mail":
        p.add_argument("ref")
        p.add_argument("--json", action="store_true")


HANDLERS = {
    "send-test-mail": cmd_send_test_mail,
    "mail": cmd_mail,
}


def handle(settings: Settings, args) -> int:
    return HANDLERS[args.command](settings, args)
