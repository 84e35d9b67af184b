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

Who may do this is decided by the service, not here: the sender must be a person in
rules.yaml *and* the mail must answer a notification the bot sent to that address (its
Message-ID is random), so a forged From line alone is never taken as staff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMMANDS = ("reply", "note", "action", "resolve", "assign", "retained", "lost")
_LINE = re.compile(r"^\s*#([a-z]+)\b[ \t]*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class StaffCommand:
    name: str  # one of COMMANDS
    arg: str  # the rest of the command line
    text: str  # the body after the command line (quoted history already removed)
    problem: str | None = None  # why it cannot be done as written


def parse(body: str) -> StaffCommand:
    """The command in a staff member's reply (its own text, quotes removed)."""
    lines = body.strip().splitlines()
    if not lines:
        return StaffCommand("note", "", "", "the mail has no text of its own")
    m = _LINE.match(lines[0])
    if not m:
        return StaffCommand("note", "", body.strip())
    name, arg = m.group(1).lower(), m.group(2).strip()
    rest = "\n".join(lines[1:]).strip()
    if name not in COMMANDS:
        return StaffCommand("note", "", body.strip(),
                            f"unknown command #{name}; known: "
                            + ", ".join(f"#{c}" for c in COMMANDS) + " (kept as a note)")
    if name == "reply":
        text = (arg + "\n" + rest).strip() if arg else rest
        return StaffCommand(name, "", text, None if text else "#reply with nothing to send")
    if name == "assign" and not arg:
        return StaffCommand(name, arg, rest, "#assign needs a person or role: #assign marta")
    if name == "lost" and not (arg or rest):
        return StaffCommand(name, arg, rest, "#lost needs a reason: #lost too expensive")
    if name == "action":
        how = arg.split()[0].lower() if arg else "action"
        return StaffCommand(name, how, rest)
    return StaffCommand(name, arg, rest)


# ------------------------------------------------------------------ service side
def author(s, service, msg) -> tuple[object | None, bool]:
    """(person, verified) for a mail from a staff address: verified when it answers a
    mail the bot sent to that very address. (None, False) for everyone else."""
    from sqlalchemy import func, select

    from bot.db import Outbox

    person = service.ruleset.person_for_email(msg.from_addr) if msg.from_addr else None
    if person is None or not getattr(service.ruleset, "notify_staff", True):
        return None, False
    ids = [i for i in [*msg.in_reply_to, *msg.references] if i]
    if not ids:
        return person, False
    sent = s.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.message_id.in_(ids[-50:]), func.lower(Outbox.to_addr) == person.email.lower()))
    return person, bool(sent)


def handle(s, service, ticket, msg, person, verified: bool, now) -> str:
    """Do what a colleague's mail says, in the ingest transaction. Returns a one-line
    summary for the log and the event."""
    from bot import cancellations
    from bot.db import Event, Message
    from bot.routing import Refused, reassign

    by = person.key
    cmd = parse(msg.visible_text or msg.text or "")
    if not verified and cmd.name != "note":
        cmd = StaffCommand("note", "", cmd.text or (msg.visible_text or "").strip(),
                           "the mail does not answer a notification sent to this address, so "
                           "its command was not run (kept as a note)")
    s.add(Message(ticket=ticket, direction="note", channel="mail",
                  message_id=(msg.message_id or None) and msg.message_id[:400],
                  from_addr=msg.from_addr[:320], from_name=msg.from_name[:200],
                  subject=msg.subject, text=msg.text, visible_text=msg.visible_text,
                  created_at=now))
    done = f"#{cmd.name}"
    try:
        if cmd.problem:
            raise Refused(cmd.problem)
        if cmd.name == "reply":
            service._reply(s, ticket, now, cmd.text, by)
        elif cmd.name == "action":
            service._acted(s, ticket, now, by, cmd.arg)
            s.add(Event(ticket=ticket, at=now, actor=by, action="action",
                        detail={"how": cmd.arg, "via": "mail"}, reason=cmd.text or None))
        elif cmd.name == "resolve":
            service._resolve(s, ticket, now, by, cmd.text or None, tell_customer=True)
        elif cmd.name == "assign":
            reassign(s, service.ruleset, ticket, cmd.arg.split()[0], by,
                     (" ".join(cmd.arg.split()[1:]) + " " + cmd.text).strip() or "by mail", now)
        elif cmd.name in ("retained", "lost"):
            c = cancellations.record_outcome(s, service.ruleset, ticket, cmd.name,
                                             (cmd.arg + " " + cmd.text).strip() or None, by, now,
                                             service.settings.timezone)
            if cmd.name == "lost":
                s.flush()
                service._tell_revoke(s, ticket, c, now)
        else:
            s.add(Event(ticket=ticket, at=now, actor=by, action="note",
                        detail={"action": False, "via": "mail"}, reason=cmd.text or None))
        outcome = "done"
    except Refused as exc:
        # Never lost: the text is kept as a note, and the colleague is told why.
        s.add(Event(ticket=ticket, at=now, actor=by, action="note",
                    detail={"action": False, "via": "mail", "refused": done}, reason=cmd.text or None))
        s.add(Event(ticket=ticket, at=now, actor="system", action="staff-mail-refused",
                    detail={"command": done, "from": by}, reason=str(exc)))
        from bot import notify

        notify.tell(s, service, person, now, purpose="staff-refused", template="staff-refused",
                    ticket=ticket, context={"tag": f"[{service.settings.tag_prefix}-{ticket.id}]",
                                            "subject": ticket.subject, "command": done,
                                            "reason": str(exc)})
        outcome = f"refused: {exc}"
    ticket.updated_at = now
    return f"{done} by {by}: {outcome}"
