"""Commands in a colleague's mail (colleagues without system access work from their
mailbox, procedure 000 S 7.1). Pure: text in, a command out.

A reply to one of the bot's notification mails lands on the ticket as an internal note.
When its first non-empty line is a command, the bot does that instead:

    #reply            the rest of the mail goes to the customer (from the desk, signed)
    #note             the rest is an internal note (the default anyway)
    #action [how]     record an action (call, meeting, visit); the rest is the note
    #resolve          resolve; the rest, if any, is told to the customer
    #assign NAME      give the ticket to a person or role; the rest is the reason
    #retained         a cancellation's retention talk succeeded
    #lost REASON      the customer leaves after all (reason required)
    #time 15m [note]  time spent on the ticket (15m, 1h30, 1.5h, 90); the rest is the note
    #hold INVOICE     keep that invoice from collection while the ticket is open
    #release INVOICE  the invoice may go to collection again
    #done [note]      the ticket's open task is done (e.g. the website access revoked)

Who may do this is decided by the desk (bot/desk/actor.py), not here: the sender must be a person in
rules.yaml *and* the mail must answer a notification the bot sent to that address (its
Message-ID is random), so a forged From line alone is never taken as staff."""

from __future__ import annotations

import re
from dataclasses import dataclass

COMMANDS = ("reply", "note", "action", "resolve", "assign", "retained", "lost", "time", "hold",
            "release", "done")
_LINE = re.compile(r"^\s*#([a-z]+)\b[ \t]*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class StaffCommand:
    name: str  # one of COMMANDS
    arg: str  # the rest of the command line
    text: str  # the body after the command line (quoted history already removed)
    problem: str | None = None  # why it cannot be done as written
    code: str | None = None  # the problem's words in each language: bot/core/refusal_texts.py
    written: str = ""  # the command word as written, when it is none of COMMANDS


def parse(body: str) -> StaffCommand:
    """The command in a staff member's reply (its own text, quotes removed)."""
    lines = body.strip().splitlines()
    if not lines:
        return StaffCommand("note", "", "", "the mail has no text of its own", "mail-no-text")
    m = _LINE.match(lines[0])
    if not m:
        return StaffCommand("note", "", body.strip())
    name, arg = m.group(1).lower(), m.group(2).strip()
    rest = "\n".join(lines[1:]).strip()
    if name not in COMMANDS:
        return StaffCommand("note", "", body.strip(),
                            f"unknown command #{name}; known: "
                            + ", ".join(f"#{c}" for c in COMMANDS) + " (kept as a note)",
                            "mail-unknown-command", f"#{name}")
    if name == "reply":
        text = (arg + "\n" + rest).strip() if arg else rest
        return StaffCommand(name, "", text, None if text else "#reply with nothing to send",
                            None if text else "mail-reply-empty")
    if name == "assign" and not arg:
        return StaffCommand(name, arg, rest, "#assign needs a person or role: #assign marta",
                            "mail-assign-whom")
    if name == "lost" and not (arg or rest):
        return StaffCommand(name, arg, rest, "#lost needs a reason: #lost too expensive",
                            "lost-needs-reason")
    if name == "time" and not arg:
        return StaffCommand(name, arg, rest, "#time needs a duration: #time 15m called the customer",
                            "mail-time-how-long")
    if name in ("hold", "release") and not arg:
        return StaffCommand(name, arg, rest, f"#{name} needs an invoice number: #{name} 2026-114",
                            "mail-which-invoice")
    if name == "action":
        how = arg.split()[0].lower() if arg else "action"
        return StaffCommand(name, how, rest)
    return StaffCommand(name, arg, rest)
