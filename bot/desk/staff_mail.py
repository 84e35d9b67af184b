"""A colleague's mail on a ticket: who wrote it (verified or not), and what
it does (a note, or a command run through the desk actions)."""

from __future__ import annotations

from bot.core.staff_commands import StaffCommand, parse


# ------------------------------------------------------------------ service side
def author(s, service, msg) -> tuple[object | None, bool]:
    """(person, verified) for a mail from a staff address: verified when it answers a
    mail the bot sent to that very address. (None, False) for everyone else."""
    from sqlalchemy import func, select

    from bot.store.models import Outbox

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
    from bot.desk import cancellation_workflow as cancellations
    from bot.desk.errors import Refused
    from bot.desk.routing import reassign
    from bot.store.models import Event, Message

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
        from bot.desk import notify

        notify.tell(s, service, person, now, purpose="staff-refused", template="staff-refused",
                    ticket=ticket, context={"tag": f"[{service.settings.tag_prefix}-{ticket.id}]",
                                            "subject": ticket.subject, "command": done,
                                            "reason": str(exc)})
        outcome = f"refused: {exc}"
    ticket.updated_at = now
    return f"{done} by {by}: {outcome}"
