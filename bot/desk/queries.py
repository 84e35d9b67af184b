"""What people and systems may read: ticket lists, one ticket in full, search, tasks,
the outbox, the open-complaints report, how a mail would be routed, health. Each view of
tickets takes an `Actor` and checks it like an action does: someone who is not in
rules.yaml sees nothing of any ticket."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from bot.core import contracts, report
from bot.core.domain import CLOSED, OutboxStatus
from bot.core.mail.ref import MAIL_REF_LENGTH
from bot.core.time import sla_policy as sla
from bot.desk import cancellation_workflow as cancellations
from bot.desk import card, clock_jump, directory, fulltext, holds, routing, sla_state, timesheet
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.views import aware, cancellation_dict, iso, task_dict, ticket_dict, valid_number
from bot.store.models import Attachment, Heartbeat, InvoiceHold, Message, Outbox, RawMail, Spool, Task, Ticket


def list_tickets(desk: Desk, actor: Actor, status: str | None = None,
                 limit: int = 1000) -> list[dict[str, Any]]:
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        q = select(Ticket).order_by(Ticket.id)
        if status:
            q = q.where(Ticket.status == status)
        return [ticket_dict(desk, t) for t in s.scalars(q.limit(limit))]


def ticket_detail(desk: Desk, actor: Actor, number: int) -> dict[str, Any] | None:
    """The ticket with its messages, attachments, watchers, tasks and events; None
    when there is no such ticket."""
    check(actor, Verb.VIEW)
    if not valid_number(number):
        return None
    with desk.uow.read() as s:
        # messages with their attachments in two queries, not one per message; the
        # attachments' bytes are not read (the page lists them, a download reads one)
        t = s.get(Ticket, number, options=[selectinload(Ticket.messages).selectinload(Message.attachments)
                                           .defer(Attachment.content)])
        if t is None:
            return None
        d = ticket_dict(desk, t)
        outbox = {o.id: o for o in s.scalars(select(Outbox).where(Outbox.ticket_id == t.id))}
        d["messages"] = [{
            "id": m.id, "direction": str(m.direction), "channel": str(m.channel),
            "message_id": m.message_id, "from": m.from_addr, "from_name": m.from_name,
            "to": m.to_addrs, "cc": m.cc_addrs, "subject": m.subject,
            "text": m.visible_text or m.text, "full_text": m.text,
            "date": iso(m.sent_date or m.created_at), "bounce": m.is_bounce,
            "automatic": m.auto_reason, "warnings": m.warnings.split("\n") if m.warnings else [],
            "delivery": str(outbox[m.outbox_id].status) if m.outbox_id in outbox else None,
            "attachments": [{"name": a.filename, "type": a.content_type, "size": a.size,
                             "inline": a.inline} for a in m.attachments],
        } for m in t.messages]
        d["watchers"] = [w.person for w in t.watchers]
        d["cancellation"] = cancellation_dict(t.cancellation) if t.cancellation else None
        d["tasks"] = [task_dict(x) for x in s.scalars(
            select(Task).where(Task.ticket_id == t.id).order_by(Task.id))]
        d["events"] = [{"at": iso(e.at), "actor": e.actor, "action": e.action,
                        "detail": e.detail, "reason": e.reason} for e in t.events]
        d["holds"] = [holds.hold_dict(h, t, d["tag"], desk.tz) for h in s.scalars(
            select(InvoiceHold).where(InvoiceHold.ticket_id == t.id).order_by(InvoiceHold.id))]
        d["time"] = timesheet.ticket_time(s, desk, t.id)
        return d


def search(desk: Desk, actor: Actor, words: str, limit: int = 10) -> list[dict[str, Any]]:
    """Tickets by number, or by words in the subject, customer, contact or any message."""
    check(actor, Verb.VIEW)
    words = words.strip()
    with desk.uow.read() as s:
        if words.lstrip("#").isdigit():
            number = int(words.lstrip("#"))
            if not valid_number(number):
                return []
            q = select(Ticket).where(Ticket.id == number)
        else:  # full text: the words anywhere, best match first (bot/desk/fulltext.py)
            found = fulltext.matches(s, words)
            if found is None:  # no word in it ("%", "_")
                return []
            q = (select(Ticket).join(found, found.c.ticket_id == Ticket.id)
                 .order_by(found.c.score, Ticket.updated_at.desc()))
        return [ticket_dict(desk, t) for t in s.scalars(q.order_by(Ticket.id.desc()).limit(limit))]


def list_tasks(desk: Desk, actor: Actor, open_only: bool = True) -> list[dict[str, Any]]:
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        q = select(Task).order_by(Task.due_at, Task.id)
        if open_only:
            q = q.where(Task.done_at.is_(None))
        return [task_dict(t) for t in s.scalars(q)]


def list_outbox(desk: Desk, actor: Actor, status: str | None = None,
                limit: int = 1000) -> list[dict[str, Any]]:
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        q = select(Outbox).order_by(Outbox.id)
        if status:
            q = q.where(Outbox.status == status)
        return [{"id": o.id, "ticket": o.ticket_id, "channel": str(o.channel), "to": o.to_addr,
                 "subject": o.subject, "purpose": o.purpose, "status": str(o.status),
                 "attempts": o.attempts, "next_attempt": iso(o.next_attempt_at),
                 "sent": iso(o.sent_at), "last_error": o.last_error}
                for o in s.scalars(q.limit(limit))]


def complaint_kinds(desk: Desk) -> set[str]:
    """Kinds timed as complaints: `complaint` and any kind with `sla: complaint`."""
    return {"complaint"} | {k.name for k in desk.ruleset.kinds.values() if k.sla == "complaint"}


def open_complaint_rows(s: Session, desk: Desk, now: datetime) -> list[dict[str, Any]]:
    """Rows of the open-complaints report, oldest first (bot/core/report.py)."""
    rs = desk.ruleset
    tickets = s.scalars(select(Ticket).where(
        Ticket.kind.in_(complaint_kinds(desk)), Ticket.status.not_in(CLOSED),
        Ticket.created_at <= now))
    data = [{"number": t.id, "tag": desk.tag(t.id),
             "subject": t.subject, "customer": t.customer, "contact": t.contact_email,
             "owner": t.owner, "status": str(t.status), "created": t.created_at,
             "first_action": t.first_action_at, "action_due": t.action_due_at,
             "sla_state": sla.state(sla_state.policy_of(rs, t), sla_state.clock_state(t), now),
             "resolution_due": t.resolution_due_at}
            for t in tickets]
    return report.build_rows(data, now)


def open_complaints(desk: Desk, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        return open_complaint_rows(s, desk, now or desk.clock())


def explain(desk: Desk, actor: Actor, raw: bytes, source: str = "file") -> dict[str, Any]:
    """How a mail would be routed, without storing anything."""
    check(actor, Verb.VIEW)
    from bot.core.mail.prepare import prepare  # the parser (lxml, inscriptis): only here
    item = prepare(raw, source, desk.settings.all_own_addresses)
    if item.message is None:
        raise Refused(f"{source}: {item.error}")
    msg = item.message
    now = desk.clock()
    rs = desk.ruleset
    with desk.uow.read() as s:  # identify() may stage a prospect: rolled back at the end
        ident, decision = routing.decide(s, rs, msg, now, create=False, model=desk.kind_model,
                                         explain=True)
        out: dict[str, Any] = {
            "sender": {"email": ident.email, "name": ident.name, "company": ident.company_name,
                       "advisor": ident.advisor, "known_contact": ident.known_contact,
                       "known_company": ident.known_company, "prospect": ident.prospect,
                       "how": ident.how},
            "subject": msg.subject, "language": msg.language, "rules": rs.source,
            # attached letters whose text the rules read (their `attachments` part)
            "attachments_read": [{"name": a.filename or "attachment", "chars": len(a.text),
                                  "text": a.text[:500]}
                                 for a in msg.attachments if a.text and not a.inline],
            **decision.as_dict()}
        kind = rs.kinds.get(decision.kind)
        if kind is not None and kind.workflow == "cancellation":
            received = cancellations.local_date(now, rs.timezone)
            contract = (directory.find_contract(s, ident.company_id, received)
                        if ident.company_id else None)
            if contract is None:
                out["cancellation"] = {"contract": None, "received": received.isoformat()}
            else:
                o = contracts.notice_outcome(received, contract.end,
                                             auto_renew=contract.auto_renew,
                                             term_months=contract.term_months,
                                             notice_months=contract.notice_months)
                out["cancellation"] = {
                    "contract": contract.reference, "received": received.isoformat(),
                    "in_time": o.in_time, "deadline": iso(o.deadline),
                    "effective_end": iso(o.effective_end), "explanation": o.explanation}
    return out


STUCK_AFTER = timedelta(minutes=15)  # a due outbox row older than this: delivery is stuck


def health(desk: Desk, write: bool = True) -> dict[str, Any]:
    """What an operator or a load balancer needs to know: can we reach the database,
    is mail piling up. `status` is "stuck" (the web process answers 503) when an outbox
    row has been due for longer than STUCK_AFTER. Raises when the database cannot be
    read. `write=False`: without the heartbeat's write (and its commit to disk), so not
    telling "unwritable": for a page that shows the outbox (the dashboard), not the probe."""
    now = desk.clock()
    with desk.uow.read() as s:
        queued, first_queued = s.execute(select(func.count(), func.min(Outbox.created_at))
                                         .where(Outbox.status == OutboxStatus.QUEUED)).one()
        first_due = s.scalar(select(func.min(Outbox.next_attempt_at)).where(
            Outbox.status == OutboxStatus.QUEUED, Outbox.next_attempt_at <= now))
        failed = s.scalar(select(func.count()).where(Outbox.status == OutboxStatus.FAILED))
        spooled = s.scalar(select(func.count()).select_from(Spool))
        held = clock_jump.held_since(s)
    oldest, due_since = aware(first_queued), aware(first_due)
    try:
        if write:
            beat(desk, now)
    except SQLAlchemyError as exc:  # it can be read but not written: a full disk, read-only
        return {"status": "unwritable", "database": "cannot be written",
                "reason": f"the database can be read but not written ({type(exc).__name__}): "
                          "is the disk full, or the database read-only?",
                "outbox": {"queued": queued, "failed": failed}, "spool": spooled}
    stuck = due_since is not None and now - due_since > STUCK_AFTER
    out: dict[str, Any] = {
        "status": "clock-held" if held else "stuck" if stuck else "ok", "database": "ok",
        "outbox": {"queued": queued, "failed": failed,
                   "oldest_queued_seconds": round((now - oldest).total_seconds()) if oldest else None,
                   "due_for_seconds": round((now - due_since).total_seconds()) if due_since else 0},
        "spool": spooled}
    if held:
        out["reason"] = (f"the clock process holds its sweeps since {held:%Y-%m-%d %H:%M} UTC: the "
                         "wall clock jumped ahead; reminders and escalations wait until it is "
                         "back, or until the clock process is restarted to accept the new time")
    elif stuck:
        out["reason"] = (f"an outgoing mail or post has been due for more than "
                         f"{int(STUCK_AFTER.total_seconds() // 60)} minutes: is the sender running, "
                         "can it reach the relay and Slack?")
    return out


def beat(desk: Desk, now: datetime, name: str = "web") -> None:
    """Write (and commit) this process's heartbeat: a database that can be read but not
    written (a full disk, a read-only file or server) is not healthy."""
    with desk.uow.write() as s:  # a real UPDATE every time, even when nothing changes
        updated = s.execute(update(Heartbeat).where(Heartbeat.name == name).values(at=now))
        if not cast(CursorResult[Any], updated).rowcount:
            s.add(Heartbeat(name=name, at=now))




def customer_card(desk: Desk, actor: Actor, number: int) -> dict[str, Any] | None:
    """Who the ticket's customer is, for the owner to act without looking anything up
    (bot/desk/card.py): company, contact, phone, advisor, contracts with their notice
    deadline (the last day a written cancellation is in time for the current term), open
    tickets and invoices on hold."""
    check(actor, Verb.VIEW)
    if not valid_number(number):
        return None
    with desk.uow.read() as s:
        t = s.get(Ticket, number)
        return card.card(s, desk, t) if t is not None else None


def mail_fate(desk: Desk, actor: Actor, ref: str) -> list[dict[str, object]]:
    """What became of the mails whose SHA-256 starts with `ref` (an SMTP answer's
    `queued as` reference): still spooled, or kept with its status and ticket."""
    check(actor, Verb.VIEW)
    ref = ref.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{8,64}", ref):
        raise Refused(f"{ref!r} is not a mail reference (8 to 64 hexadecimal digits)")
    with desk.uow.read() as s:
        found: list[dict[str, object]] = [
            {"ref": r.sha256[:MAIL_REF_LENGTH], "status": r.status, "source": r.source,
             "ticket": desk.tag(r.ticket_id) if r.ticket_id else None, "error": r.error,
             "received_at": _local(desk, r.received_at)}
            for r in s.scalars(select(RawMail).where(RawMail.sha256.startswith(ref))
                               .order_by(RawMail.id).limit(20))]
        if not found:
            for sp in s.scalars(select(Spool).order_by(Spool.id).limit(10_000)):
                if hashlib.sha256(sp.content).hexdigest().startswith(ref):
                    found.append({"ref": ref, "status": "spooled", "source": sp.source,
                                  "ticket": None, "error": None,
                                  "received_at": _local(desk, sp.received_at)})
    return found


def _local(desk: Desk, when: datetime) -> str:
    """A moment as ISO 8601 in the desk's time zone, with its offset, to the second."""
    moment = aware(when)
    assert moment is not None
    return moment.astimezone(desk.tz).isoformat(timespec="seconds")
