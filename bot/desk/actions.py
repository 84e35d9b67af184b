"""Every change a person can make to a ticket: one function each.

Each takes the desk, an `Actor` (who, through which channel) and plain arguments; it
checks the actor's permission first (bot/desk/actor.py), then does the work in one unit
of work and returns plain data. The command line, Slack (commands, buttons, thread
messages), a colleague's mail, and later the web pages and the API only translate their
input into one of these calls and its answer (or its `Refused`) back. An action run
while a mail is being ingested (a colleague's `#resolve`) joins that transaction with
`s=`; otherwise it opens its own.

What counts as an *action* for the SLA clocks (it stops the first-action clock and
answers a waiting customer message): a reply, a logged call, meeting or visit, a note
marked as action, resolving. Reassigning, plain notes and status changes do not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import invoices, slack_words
from bot.core.domain import CLOSED, Channel, Direction, InboundMessage, OutboxStatus, Status
from bot.core.mail.language import detect_language
from bot.core.mail.prepare import Prepared, prepare
from bot.core.worktime import DurationError, format_minutes, parse_minutes
from bot.desk import cancellation_workflow as cancellations
from bot.desk import directory, holds, intake, outgoing, portal, routing, sla_state, slack_posts, webhooks
from bot.desk.actor import Actor, Verb, check, check_customer
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.events import record
from bot.desk.views import cancellation_dict, iso, task_dict, ticket_dict, valid_number
from bot.store.models import Company, Message, Outbox, Task, Ticket, TimeEntry

log = logging.getLogger("bot.actions")

ACTION_KINDS = sla_state.FIRST_ACTIONS  # reply, call, meeting, visit, action


def ticket_or_refuse(s: Session, number: int) -> Ticket:
    ticket = s.get(Ticket, number) if valid_number(number) else None
    if ticket is None:
        raise Refused(f"no ticket {number}", code="no-ticket", number=number)
    return ticket


def _acted(s: Session, desk: Desk, t: Ticket, now: datetime, by: str, how: str) -> None:
    """Something done for the customer: the first action if there was none."""
    first = sla_state.acted(s, desk.ruleset, t, now)
    if t.status == Status.NEW:
        t.status = Status.OPEN
    t.updated_at = now
    if first:
        record(s, t, now, by, "first-action", {"how": how})


# ------------------------------------------------------------------ to the customer
def reply(desk: Desk, actor: Actor, number: int, text: str, *, delay_seconds: float = 0,
          slack_ref: str | None = None, files: list[dict] | None = None,
          s: Session | None = None) -> dict[str, Any]:
    """Answer the customer by mail, threaded with their last mail; an action.
    `delay_seconds`: the mail waits that long in the outbox (Slack's undo window);
    `slack_ref` ("channel:ts"): the Slack message it came from, so an edit or a
    delete within the window changes or cancels it. `files`: Slack files ({name,
    mimetype, size, url}) the mail carries; fetched when it is sent."""
    check(actor, Verb.REPLY)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        if not t.answer_to:
            raise Refused(f"ticket {t.id} has no customer address to reply to", code="no-address",
                          ticket=t.id)
        if not text.strip():
            raise Refused("the reply is empty", code="reply-empty")
        before = {"first_action_at": iso(t.first_action_at), "status": t.status,
                  "awaiting_since": iso(t.awaiting_since)}
        row = outgoing.queue_mail(
            s, desk, t, now, purpose="reply", template="reply", to_addr=t.answer_to,
            automatic=False, reply_to=outgoing.last_inbound(s, t),
            context={**outgoing.reply_context(desk, t, text, actor.key),
                     "portal_link": outgoing.portal_link(s, desk, t, now)})
        row.next_attempt_at = now + timedelta(seconds=delay_seconds)
        record(s, t, now, actor.key, "replied", {"via": actor.via, "message_id": row.message_id,
                                                 "send_at": row.next_attempt_at.isoformat()})
        if files:
            row.headers = {**(row.headers or {}), "files": [
                {k: f.get(k) for k in ("name", "mimetype", "size", "url")} for f in files]}
        _acted(s, desk, t, now, actor.key, "reply")
        if slack_ref is not None:
            # the undo window: what to put back if the Slack message is deleted in time
            row.headers = {**(row.headers or {}), "slack_ref": slack_ref, "undo": before}
            record(s, t, now, actor.key, "slack-reply",
                   {"slack_ref": slack_ref, "send_at": row.next_attempt_at.isoformat()})
        s.flush()
        return {"outbox": row.id, "message_id": row.message_id,
                "send_at": iso(row.next_attempt_at)}


def queued_reply(s: Session, ticket: Ticket, slack_ref: str) -> Outbox | None:
    """The mail a Slack message became, whatever its state."""
    return next((r for r in s.scalars(select(Outbox).where(Outbox.ticket_id == ticket.id,
                                                          Outbox.purpose == "reply"))
                 if (r.headers or {}).get("slack_ref") == slack_ref), None)


def _in_window(s: Session, t: Ticket, slack_ref: str,
               now: datetime) -> tuple[Outbox, Message | None] | None:
    """The mail a Slack message became and its copy on the ticket, while the mail still
    waits in its undo window (queued, not being sent); None otherwise."""
    row = queued_reply(s, t, slack_ref)
    if row is None or row.status != OutboxStatus.QUEUED or (
            row.claimed_until and row.claimed_until > now):
        return None
    return row, s.scalars(select(Message).where(Message.outbox_id == row.id)).first()


def edit_reply(desk: Desk, actor: Actor, number: int, slack_ref: str, text: str, *,
               s: Session | None = None) -> bool:
    """A reply still in its undo window follows the edited Slack message. False when
    the mail has gone already (or there is none)."""
    check(actor, Verb.EDIT_REPLY)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        found = _in_window(s, t, slack_ref, now)
        if found is None:
            return False
        row, msg = found
        rendered = desk.renderer.render_mail(
            "reply", row.language, outgoing.reply_context(desk, t, text, actor.key))
        row.subject, row.body_text, row.body_html = rendered.subject, rendered.text, rendered.html
        if msg is not None:
            msg.text = msg.visible_text = rendered.text
        t.updated_at = now
        record(s, t, now, actor.key, "reply-edited", {"slack_ref": slack_ref, "outbox": row.id})
        return True


def cancel_reply(desk: Desk, actor: Actor, number: int, slack_ref: str, *,
                 s: Session | None = None) -> bool:
    """A reply still in its undo window is not sent, and was never an action: the SLA
    clock is put back as it was, unless something else happened to the ticket since.
    False when the mail has gone already (or there is none)."""
    check(actor, Verb.EDIT_REPLY)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        found = _in_window(s, t, slack_ref, now)
        if found is None:
            return False
        row, msg = found
        row.status = OutboxStatus.CANCELLED
        webhooks.cancel_reply(s, t.id, row.message_id)
        if msg is not None:
            s.delete(msg)
        before = (row.headers or {}).get("undo") or {}
        if t.first_action_at == row.created_at and before.get("first_action_at") is None:
            t.first_action_at = None
            if t.status == Status.OPEN and before.get("status") == Status.NEW:
                t.status = Status.NEW
        if t.awaiting_since is None and before.get("awaiting_since"):
            t.awaiting_since = datetime.fromisoformat(before["awaiting_since"])
        sla_state.refresh(s, desk.ruleset, t)
        t.updated_at = now
        record(s, t, now, actor.key, "reply-cancelled", {"slack_ref": slack_ref, "outbox": row.id},
               "the Slack message was deleted within the undo window")
        return True


# ------------------------------------------------------------------ the record
def log_action(desk: Desk, actor: Actor, number: int, how: str, note: str | None = None, *,
               s: Session | None = None) -> dict[str, Any]:
    """A call, meeting or visit with the customer, or a note marked as action: counts
    as the first action (and answers a waiting customer message)."""
    check(actor, Verb.ACTION)
    if how not in ACTION_KINDS:
        raise Refused(f"unknown action {how!r}; one of {', '.join(ACTION_KINDS)}", code="unknown-action",
                      how=how, kinds=", ".join(ACTION_KINDS))
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        record(s, t, now, actor.key, "action", {"how": how, "via": actor.via}, note)
        _acted(s, desk, t, now, actor.key, how)
        return ticket_dict(desk, t)


def add_note(desk: Desk, actor: Actor, number: int, text: str, *, action: bool = False,
             slack_ref: str | None = None, refused: str | None = None,
             s: Session | None = None) -> dict[str, Any]:
    """An internal note: never mailed to the customer. `action`: it records an action.
    `refused`: the command of a colleague's mail that was not run (kept as this note)."""
    check(actor, Verb.ACTION if action else Verb.NOTE)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        detail: dict[str, Any] = {"action": action, "via": actor.via}
        if slack_ref:
            detail["slack_ref"] = slack_ref
        if refused:
            detail["refused"] = refused
        if not actor.verified:
            detail["verified"] = False
        record(s, t, now, actor.key, "note", detail, text or None)
        if action:
            _acted(s, desk, t, now, actor.key, "note")
        t.updated_at = now
        return ticket_dict(desk, t)


# ------------------------------------------------------------------ status
def set_waiting(desk: Desk, actor: Actor, number: int, waiting: bool, *,
                s: Session | None = None) -> dict[str, Any]:
    """Waiting on the customer (pauses the resolution clock if the policy says so)."""
    check(actor, Verb.WAIT)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        if t.status in CLOSED:
            raise Refused(f"ticket {number} is {t.status}; reopen it first", code="reopen-first",
                          ticket=number, status=t.status)
        old = t.status
        t.status = Status.WAITING if waiting else Status.OPEN
        sla_state.set_waiting(s, desk.ruleset, t, now, waiting)
        t.updated_at = now
        record(s, t, now, actor.key, "status", {"from": old, "to": t.status})
        return ticket_dict(desk, t)


def resolve(desk: Desk, actor: Actor, number: int, note: str | None = None,
            tell_customer: bool = True, *, s: Session | None = None) -> dict[str, Any]:
    """Resolved; the customer is told "reply if it is not" (the customer decides,
    procedure 003) and their reply reopens the ticket."""
    check(actor, Verb.RESOLVE)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        if t.status in CLOSED:
            raise Refused(f"ticket {t.id} is already {t.status}", code="already-status", ticket=t.id,
                          status=t.status)
        old = t.status
        met = sla_state.satisfied(t, first=True, answered=True, resolved=True)
        if t.first_action_at is None:
            t.first_action_at = now
        t.status, t.resolved_at, t.waiting_since, t.awaiting_since = Status.RESOLVED, now, None, None
        sla_state.refresh(s, desk.ruleset, t)
        sla_state.record_met(s, t, now, met)
        t.updated_at = now
        record(s, t, now, actor.key, "resolved", {"from": old}, note)
        holds.release(s, t, None, now, actor.key, "the ticket was resolved")
        if tell_customer and t.answer_to and t.channel == Channel.MAIL:
            outgoing.resolved_mail(s, desk, t, now, note)
        return ticket_dict(desk, t)


def reopen(desk: Desk, actor: Actor, number: int, reason: str | None = None, *,
           s: Session | None = None) -> dict[str, Any]:
    check(actor, Verb.REOPEN)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        if t.status not in CLOSED:
            raise Refused(f"ticket {number} is {t.status}, not resolved", code="not-resolved",
                          ticket=number, status=t.status)
        old, resolved_at = t.status, t.resolved_at
        t.status, t.resolved_at = Status.OPEN, None
        sla_state.reopened(s, desk.ruleset, t, now, resolved_at)
        t.updated_at = now
        record(s, t, now, actor.key, "reopened", {"from": old, "to": Status.OPEN}, reason)
        return ticket_dict(desk, t)


def set_kind(desk: Desk, actor: Actor, number: int, kind: str, *,
             s: Session | None = None) -> dict[str, Any]:
    """A different kind; its SLA policy takes over (already sent notices stay sent)."""
    check(actor, Verb.KIND)
    now = desk.clock()
    rs = desk.ruleset
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        if kind not in rs.kinds:
            raise Refused(f"unknown kind {kind!r}; kinds: {', '.join(sorted(rs.kinds))}",
                          code="unknown-kind", kind=kind, kinds=", ".join(sorted(rs.kinds)))
        old = t.kind
        t.kind = kind
        sla_state.kind_changed(s, rs, t)
        t.updated_at = now
        record(s, t, now, actor.key, "kind", {"from": old, "to": kind})
        return ticket_dict(desk, t)


def set_field(desk: Desk, actor: Actor, number: int, name: str, value: str, *,
              s: Session | None = None) -> dict[str, Any]:
    """Record one of the ticket kind's extra fields (rules.yaml `kinds: ... fields`)."""
    check(actor, Verb.FIELD)
    now = desk.clock()
    with desk.uow.write(s) as s:
        ticket = ticket_or_refuse(s, number)
        kind = desk.ruleset.kinds.get(ticket.kind)
        allowed = kind.fields if kind else ()
        if name not in allowed:
            raise Refused(f"kind {ticket.kind!r} has no field {name!r}; its fields: "
                          f"{', '.join(allowed) or 'none (add them in rules.yaml)'}", code="no-field",
                          kind=ticket.kind, name=name, fields=", ".join(allowed) or "—")
        fields = dict(ticket.fields or {})
        old = fields.get(name)
        fields[name] = value
        ticket.fields = fields  # a new dict: JSON columns see assignment, not mutation
        ticket.updated_at = now
        record(s, ticket, now, actor.key, "field", {"field": name, "from": old, "to": value})
        if name in holds.INVOICE_FIELDS and ticket.status not in CLOSED:
            # the field names the invoice in dispute: that one is held, the old one released
            if old and old != value:
                holds.release(s, ticket, str(old), now, actor.key, f"field {name} changed")
            invoice = invoices.normalise(value)
            if invoice:
                holds.hold(s, ticket, invoice, now, actor.key, "field")
        return dict(fields)


# ------------------------------------------------------------------ owner
def assign(desk: Desk, actor: Actor, number: int, target: str, reason: str, *,
           s: Session | None = None) -> str:
    """Give the ticket to a person or a role's person (or `advisor`: the customer's);
    returns the new owner's key."""
    check(actor, Verb.ASSIGN)
    with desk.uow.write(s) as s:
        ticket = ticket_or_refuse(s, number)
        return routing.reassign(s, desk.ruleset, ticket, target, actor.key, reason, desk.clock())


def take(desk: Desk, actor: Actor, number: int, reason: str = "taken", *,
         s: Session | None = None) -> str:
    """The ticket is the actor's own now."""
    check(actor, Verb.TAKE)
    assert actor.person is not None  # check() refuses a take without a person
    with desk.uow.write(s) as s:
        ticket = ticket_or_refuse(s, number)
        return routing.reassign(s, desk.ruleset, ticket, actor.person.key, actor.key, reason,
                                desk.clock())


# ------------------------------------------------------------------ cancellations, tasks
def cancellation_outcome(desk: Desk, actor: Actor, number: int, outcome: str,
                         reason: str | None, *, s: Session | None = None) -> dict[str, Any]:
    """A written cancellation's retention talk: retained, or lost (with a reason: the
    contract ends and sales support is given the task to revoke website access)."""
    check(actor, Verb.CANCELLATION)
    now = desk.clock()
    with desk.uow.write(s) as s:
        ticket = ticket_or_refuse(s, number)
        c = cancellations.record_outcome(s, desk.ruleset, ticket, outcome, reason, actor.key,
                                         now, desk.ruleset.timezone)
        s.flush()
        if outcome == "lost":
            outgoing.tell_revoke(s, desk, ticket, c, now)
        return cancellation_dict(c)


def complete_task(desk: Desk, actor: Actor, task_id: int, note: str | None = None, *,
                  s: Session | None = None) -> dict[str, Any]:
    """Mark a task done; revoking website access also records it on the company."""
    check(actor, Verb.TASK)
    now = desk.clock()
    with desk.uow.write(s) as s:
        task = s.get(Task, task_id) if valid_number(task_id) else None
        if task is None:
            raise Refused(f"no task {task_id}")
        if task.done_at is not None:
            raise Refused(f"task {task_id} was already done on {task.done_at:%Y-%m-%d %H:%M} UTC")
        task.done_at = now
        ticket = s.get(Ticket, task.ticket_id) if task.ticket_id else None
        detail: dict[str, Any] = {"task": task.id, "kind": task.kind}
        if task.kind == "revoke-website-access" and ticket is not None and ticket.company_id:
            company = s.get(Company, ticket.company_id)
            if company is not None:
                company.website_access = False
                company.updated_at = now
                detail["company"] = company.name
                detail["website_access"] = False
        if ticket is not None:
            record(s, ticket, now, actor.key, "task-done", detail, note)
        s.flush()
        return task_dict(task)


# ------------------------------------------------------------------ the customer portal
# A customer (Actor.for_contact, Via.PORTAL) on their own tickets. What they write enters
# the desk exactly as their mail would (bot/desk/intake.py: the reopen rules, the Slack
# thread, routing and the acknowledgement of a new request), in this action's unit of work.
def _from_portal(s: Session, desk: Desk, actor: Actor, subject: str, text: str,
                 files: list[tuple[str, str, bytes]], now: datetime,
                 thread: list[str] | None = None) -> Ticket:
    assert actor.customer is not None
    raw = portal.as_mail(desk, actor, subject, text, files, now, thread)
    item = prepare(raw, f"portal:{actor.customer.contact_id}", tuple(desk.settings.all_own_addresses))
    result = intake.ingest_in(s, desk, [item], now)[0]
    ticket = s.get(Ticket, result.ticket) if result.ticket is not None else None
    if ticket is None or result.status not in ("created", "appended"):
        raise Refused(f"the desk did not take the message in ({result.reason or result.status})")
    return ticket


def _portal_text(text: str, files: list[tuple[str, str, bytes]]) -> str:
    text = (text or "").strip()
    if len(text) > portal.MAX_TEXT:
        raise Refused(f"the message is longer than {portal.MAX_TEXT} characters")
    if not text and not files:
        raise Refused("the message is empty")
    portal.check_files(files)
    return text


def portal_reply(desk: Desk, actor: Actor, number: int, text: str,
                 files: list[tuple[str, str, bytes]] | None = None, *,
                 s: Session | None = None) -> dict[str, Any]:
    """The customer answers on their ticket in the portal (files: (name, type, bytes),
    at most portal.MAX_FILES_BYTES together). Returns the ticket it landed on: this one,
    or a new one linked to it when it was resolved longer ago than the reopen window."""
    check_customer(actor, Verb.PORTAL_REPLY)
    files = list(files or [])
    text = _portal_text(text, files)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = portal.customer_ticket(s, actor, number)
        thread = [m.message_id for m in t.messages
                  if m.message_id and m.direction in (Direction.IN, Direction.OUT)]
        landed = _from_portal(s, desk, actor, f"Re: {desk.tag(t.id)} {t.subject}", text, files, now,
                              thread)
        record(s, landed, now, actor.key, "portal", {"how": "reply", "files": len(files)},
               "written in the customer portal")
        return {"ticket": landed.id, "status": str(landed.status)}


def portal_request(desk: Desk, actor: Actor, kind: str, subject: str, text: str,
                   files: list[tuple[str, str, bytes]] | None = None, label: str | None = None, *,
                   s: Session | None = None) -> dict[str, Any]:
    """A new request from the portal, with the kind the customer chose (portal.KINDS).
    The rules route it as they route mail, reading the kind's label before the subject
    ("Klacht: ...", `label`); when they still make it another kind, the customer's choice
    stands (except a cancellation, which only the rules start: it runs a procedure)."""
    check_customer(actor, Verb.PORTAL_REQUEST)
    if kind not in portal.KINDS or kind not in desk.ruleset.kinds:
        raise Refused(f"unknown kind {kind!r}; one of {', '.join(portal.KINDS)}")
    files = list(files or [])
    text = _portal_text(text, files)
    subject = " ".join((subject or "").split())[:200]
    if not subject:
        raise Refused("the subject is empty")
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = _from_portal(s, desk, actor, f"{label}: {subject}" if label else subject, text, files, now)
        if t.kind != kind and kind != "cancellation" and t.created_at == now:
            old = t.kind
            t.kind = kind
            sla_state.kind_changed(s, desk.ruleset, t)
            record(s, t, now, actor.key, "kind", {"from": old, "to": kind},
                   "the kind the customer chose in the portal")
        record(s, t, now, actor.key, "portal", {"how": "request", "kind": kind, "files": len(files)},
               "filed in the customer portal")
        return {"ticket": t.id, "kind": t.kind, "status": str(t.status)}


def portal_decide(desk: Desk, actor: Actor, number: int, solved: bool, *,
                  s: Session | None = None) -> dict[str, Any]:
    """Procedure 003, the customer decides: on a resolved ticket, "solved" closes it (the
    resolution confirmed), "not solved" reopens it; the ticket's Slack thread hears it."""
    check_customer(actor, Verb.PORTAL_DECIDE)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = portal.customer_ticket(s, actor, number)
        if t.status != Status.RESOLVED:
            raise Refused(f"ticket {t.id} is {t.status}, not resolved")
        if solved:
            t.status = Status.CLOSED
            t.updated_at = now
            record(s, t, now, actor.key, "confirmed", {"from": Status.RESOLVED, "to": Status.CLOSED},
                   "the customer confirmed in the portal that it is solved")
            said = slack_words.say(desk.ruleset.default_language, "portal-solved")
        else:
            resolved_at = t.resolved_at
            t.status, t.resolved_at = Status.OPEN, None
            sla_state.reopened(s, desk.ruleset, t, now, resolved_at)
            t.updated_at = now
            record(s, t, now, actor.key, "reopened", {"from": Status.RESOLVED, "to": Status.OPEN},
                   "the customer says in the portal that it is not solved")
            said = slack_words.say(desk.ruleset.default_language, "portal-not-solved")
        if desk.settings.slack_enabled and slack_posts.has_thread(s, t):
            slack_posts.say(s, t, said, now)
        return ticket_dict(desk, t)


# ------------------------------------------------------------------ on behalf of a customer
def open_on_behalf(desk: Desk, actor: Actor, customer: str, kind: str | None, text: str, *,
                   ack: bool = True, source: str = "cli", name: str = "",
                   subject: str | None = None, ref: str | None = None,
                   s: Session | None = None) -> dict[str, Any]:
    """A request that reached a colleague first (procedure 000 S 1.1: identify the caller):
    a ticket whose contact is the customer (directory, routing and advisor as for their own
    mail), the colleague recorded (an on-behalf event) and watching it, the customer
    acknowledged unless `ack` is False. `kind` "call": a phone call, logged as the first
    action; another kind overrides the rules' choice. `ref` ("channel:ts"): the Slack
    message it came from; the same message opens one ticket only (the answer then says
    `duplicate`)."""
    check(actor, Verb.OPEN)
    rs = desk.ruleset
    addr = directory.normalize_email(customer)
    if addr is None:
        raise Refused(f"{customer!r} is not a mail address; give the customer's address",
                      code="not-an-address", customer=customer)
    if rs.person_for_email(addr) is not None or addr in desk.settings.all_own_addresses:
        raise Refused(f"{addr} is the desk's own address; give the customer's address",
                      code="own-address", address=addr)
    how = None
    if kind == "call":
        how, kind = "call", None
    if kind and kind not in rs.kinds:
        raise Refused(f"unknown kind {kind!r}; kinds: {', '.join(sorted(rs.kinds))} (or call)",
                      code="unknown-kind-or-call", kind=kind, kinds=", ".join(sorted(rs.kinds)))
    text = (text or "").strip()
    if not text:
        raise Refused("what did the customer ask? The text is empty", code="text-empty")
    now = desk.clock()
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), text)
    mid = (f"onbehalf.{ref.replace(':', '.')}@slack" if ref
           else f"onbehalf-{uuid.uuid4().hex}@{desk.settings.mail_domain}")
    msg = InboundMessage(channel=Channel.MAIL, message_id=mid, from_addr=addr, from_name=name,
                         to=[desk.settings.address], subject=(subject or first)[:200], text=text,
                         visible_text=text, date=now, language=detect_language(text))
    raw = json.dumps({"on_behalf_of": addr, "by": actor.key, "via": actor.via, "source": source,
                      "kind": kind, "how": how, "ref": ref, "text": text},
                     ensure_ascii=False).encode()
    item = Prepared(f"{source}:{actor.key}"[:200], raw,
                    hashlib.sha256(raw if not ref else ref.encode()).hexdigest(), msg)
    with desk.uow.write(s) as s:
        s.info.setdefault("on_behalf", {})[id(item)] = intake.OnBehalf(
            by=actor.key, source=source, ack=ack, kind=kind, how=how)
        result = intake.ingest_in(s, desk, [item], now)[0]
        s.info["on_behalf"].pop(id(item), None)
        t = s.get(Ticket, result.ticket) if result.ticket else None
        if t is None:
            raise Refused(f"no ticket was opened ({result.reason or result.status})")
        duplicate = result.status != "created"
        if how == "call" and not duplicate:
            record(s, t, now, actor.key, "action", {"how": "call", "via": actor.via}, text)
            _acted(s, desk, t, now, actor.key, "call")
        return {**ticket_dict(desk, t), "duplicate": duplicate}


# ------------------------------------------------------------------ invoice holds, time
def hold_invoice(desk: Desk, actor: Actor, number: int, invoice: str, *, release: bool = False,
                 reason: str | None = None, s: Session | None = None) -> list[dict[str, Any]]:
    """Put an invoice on hold from collection for this ticket (or, `release`, take it
    off hold) by hand; returns the ticket's open holds."""
    check(actor, Verb.HOLD)
    now = desk.clock()
    value = invoices.normalise(invoice)
    if value is None:
        raise Refused(f"{invoice!r} is not an invoice number (letters, digits, - / . _; "
                      "at least one digit)", code="not-invoice", invoice=invoice)
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        if release:
            if not holds.release(s, t, value, now, actor.key, reason or "released by hand"):
                held = ", ".join(h.invoice for h in holds.open_holds(s, t)) or "none"
                raise Refused(f"invoice {value} is not on hold for ticket {t.id} (held: {held})",
                              code="not-held", invoice=value, ticket=t.id, held=held)
        else:
            if t.status in CLOSED:
                raise Refused(f"ticket {t.id} is {t.status}: a hold lasts while the ticket is "
                              "open; reopen it first", code="hold-closed", ticket=t.id, status=t.status)
            if holds.hold(s, t, value, now, actor.key, "hand") is None:
                raise Refused(f"invoice {value} is already on hold for ticket {t.id}", code="already-held",
                              invoice=value, ticket=t.id)
        t.updated_at = now
        s.flush()
        return [holds.hold_dict(h, t, desk.tag(t.id), desk.tz) for h in holds.open_holds(s, t)]


def log_time(desk: Desk, actor: Actor, number: int, duration: str, note: str | None = None, *,
             slack_ref: str | None = None, s: Session | None = None) -> dict[str, Any]:
    """Time spent on the ticket by the actor (`duration`: 15m, 1h30, 1.5h, 90). Not an
    action for the SLA clocks: it says how long, not what was done."""
    check(actor, Verb.TIME)
    try:
        minutes = parse_minutes(duration)
    except DurationError as exc:
        raise Refused(str(exc), code=exc.code, duration=duration) from None
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        person = actor.person.key if actor.person is not None else actor.key
        entry = TimeEntry(ticket_id=t.id, person=person, minutes=minutes,
                          note=(note or "").strip() or None, via=str(actor.via), at=now)
        s.add(entry)
        detail: dict[str, Any] = {"minutes": minutes, "person": person, "via": str(actor.via)}
        if slack_ref:
            detail["slack_ref"] = slack_ref  # a re-sent Slack event logs nothing twice
        record(s, t, now, actor.key, "time", detail, entry.note)
        s.flush()
        total = sum(e for e in s.scalars(select(TimeEntry.minutes).where(TimeEntry.ticket_id == t.id)))
        return {"ticket": t.id, "tag": desk.tag(t.id), "person": person, "minutes": minutes,
                "duration": format_minutes(minutes), "note": entry.note,
                "total_minutes": total, "total": format_minutes(total)}
