"""A colleague's mail on a ticket (colleagues without system access work from their
mailbox, procedure 000 S 7.1): who wrote it, and what it does. The command is read by
bot/core/staff_commands.py and carried out by the desk actions, in the transaction that
stores the mail, with the colleague as the actor:

- the sender must be a person in rules.yaml, and the mail must answer a notification
  the bot sent to that very address (its Message-ID is random) to be *verified*; an
  unverified mail may only leave a note (the actor's permission says so), so a forged
  From line never runs a command;
- a refused command is never lost: its text is kept as a note and the colleague is
  told why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core import correlation
from bot.core.domain import Channel, Direction, InboundMessage
from bot.core.staff_commands import COMMANDS, StaffCommand, parse
from bot.desk import actions, notify
from bot.desk.actor import Actor, Via
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.events import record
from bot.store.models import Message, Outbox, Task, Ticket


def author(s: Session, desk: Desk, msg: InboundMessage) -> Actor | None:
    """The colleague who wrote this mail, verified when it answers a mail the bot sent to
    that very address; None when the sender is not a person in rules.yaml."""
    rs = desk.ruleset
    person = rs.person_for_email(msg.from_addr) if msg.from_addr else None
    if person is None or not rs.notify_staff:
        return None
    ids = [i for i in [*msg.in_reply_to, *msg.references] if i]
    verified = bool(ids) and bool(s.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.message_id.in_(ids[-50:]), func.lower(Outbox.to_addr) == person.email.lower())))
    return Actor.of(person, Via.MAIL, verified=verified)


def handle(s: Session, desk: Desk, ticket: Ticket, msg: InboundMessage, actor: Actor,
           now: datetime) -> str:
    """Do what a colleague's mail says, in the ingest transaction. Returns a one-line
    summary for the log and the event."""
    cmd = parse(msg.visible_text or msg.text or "")
    s.add(Message(ticket=ticket, direction=Direction.NOTE, channel=Channel.MAIL,
                  message_id=correlation.stored_id(msg.message_id) if msg.message_id else None,
                  from_addr=msg.from_addr[:320], from_name=msg.from_name[:200],
                  subject=msg.subject, text=msg.text, visible_text=msg.visible_text,
                  created_at=now))
    done = f"#{cmd.name}"
    try:
        if cmd.problem:
            raise Refused(cmd.problem, code=cmd.code, command=cmd.written or f"#{cmd.name}",
                          known=", ".join(f"#{c}" for c in COMMANDS))
        _run(s, desk, ticket, cmd, actor)
        outcome = "done"
    except Refused as exc:
        # Never lost: the text is kept as a note, and the colleague is told why.
        actions.add_note(desk, actor, ticket.id, cmd.text or (msg.visible_text or "").strip(),
                         refused=done, s=s)
        record(s, ticket, now, "system", "staff-mail-refused",
               {"command": done, "from": actor.key}, str(exc))
        if actor.person is not None and not _told_lately(s, actor.person.email, now):
            notify.tell(s, desk, actor.person, now, purpose="staff-refused",
                        template="staff-refused", ticket=ticket,
                        context={"tag": desk.tag(ticket.id), "subject": ticket.subject,
                                 "command": done,
                                 # the mail's own words, in the colleague's language (never a CLI flag)
                                 "reason": exc.words("mail", desk.ruleset.language_of(actor.person))})
        outcome = f"refused: {exc}"
    ticket.updated_at = now
    return f"{done} by {actor.key}: {outcome}"


REFUSAL_WINDOW = timedelta(hours=1)


def _told_lately(s: Session, email: str, now: datetime) -> bool:
    """A colleague hears of refused commands at most once per window: forged mail in
    their name cannot flood their mailbox (only they are ever told)."""
    return bool(s.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.purpose == "staff-refused", func.lower(Outbox.to_addr) == email.lower(),
        Outbox.created_at > now - REFUSAL_WINDOW)))


def _run(s: Session, desk: Desk, ticket: Ticket, cmd: StaffCommand, actor: Actor) -> None:
    n = ticket.id
    if cmd.name == "reply":
        actions.reply(desk, actor, n, cmd.text, s=s)
    elif cmd.name == "action":
        actions.log_action(desk, actor, n, cmd.arg, cmd.text or None, s=s)
    elif cmd.name == "resolve":
        actions.resolve(desk, actor, n, cmd.text or None, tell_customer=True, s=s)
    elif cmd.name == "assign":
        target, *why = cmd.arg.split()
        actions.assign(desk, actor, n, target,
                       (" ".join(why) + " " + cmd.text).strip() or "by mail", s=s)
    elif cmd.name in ("retained", "lost"):
        actions.cancellation_outcome(desk, actor, n, cmd.name,
                                     (cmd.arg + " " + cmd.text).strip() or None, s=s)
    elif cmd.name == "time":
        duration, _, note = cmd.arg.partition(" ")
        actions.log_time(desk, actor, n, duration, (note + "\n" + cmd.text).strip() or None, s=s)
    elif cmd.name in ("hold", "release"):
        invoice, _, said = cmd.arg.partition(" ")
        actions.hold_invoice(desk, actor, n, invoice, release=cmd.name == "release",
                             reason=(said + " " + cmd.text).strip() or None, s=s)
    elif cmd.name == "done":
        tasks = s.scalars(select(Task).where(Task.ticket_id == n, Task.done_at.is_(None))
                          .order_by(Task.id)).all()
        if len(tasks) != 1:
            raise Refused(f"ticket {desk.tag(n)} has {len(tasks) or 'no'} open tasks; "
                          "#done needs exactly one", code="mail-done-one", tag=desk.tag(n),
                          count=len(tasks))
        actions.complete_task(desk, actor, tasks[0].id, (cmd.arg + " " + cmd.text).strip() or None, s=s)
    else:
        actions.add_note(desk, actor, n, cmd.text, s=s)
