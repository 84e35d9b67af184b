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

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.domain import CLOSED, Channel, OutboxStatus, Status
from bot.desk import cancellation_workflow as cancellations
from bot.desk import outgoing, routing, sla_state, webhooks
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.events import record
from bot.desk.views import cancellation_dict, iso, task_dict, ticket_dict, valid_number
from bot.store.models import Company, Message, Outbox, Task, Ticket

log = logging.getLogger("bot.actions")

ACTION_KINDS = sla_state.FIRST_ACTIONS  # reply, call, meeting, visit, action


def ticket_or_refuse(s: Session, number: int) -> Ticket:
    ticket = s.get(Ticket, number) if valid_number(number) else None
    if ticket is None:
        raise Refused(f"no ticket {number}")
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
          slack_ref: str | None = None, s: Session | None = None) -> dict[str, Any]:
    """Answer the customer by mail, threaded with their last mail; an action.
    `delay_seconds`: the mail waits that long in the outbox (Slack's undo window);
    `slack_ref` ("channel:ts"): the Slack message it came from, so an edit or a
    delete within the window changes or cancels it."""
    check(actor, Verb.REPLY)
    now = desk.clock()
    with desk.uow.write(s) as s:
        t = ticket_or_refuse(s, number)
        if not t.answer_to:
            raise Refused(f"ticket {t.id} has no customer address to reply to")
        if not text.strip():
            raise Refused("the reply is empty")
        before = {"first_action_at": iso(t.first_action_at), "status": t.status,
                  "awaiting_since": iso(t.awaiting_since)}
        row = outgoing.queue_mail(
            s, desk, t, now, purpose="reply", template="reply", to_addr=t.answer_to,
            automatic=False, reply_to=outgoing.last_inbound(s, t),
            context=outgoing.reply_context(desk, t, text, actor.key))
        row.next_attempt_at = now + timedelta(seconds=delay_seconds)
        record(s, t, now, actor.key, "replied", {"via": actor.via, "message_id": row.message_id,
                                                 "send_at": row.next_attempt_at.isoformat()})
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
        raise Refused(f"unknown action {how!r}; one of {', '.join(ACTION_KINDS)}")
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
            raise Refused(f"ticket {number} is {t.status}; reopen it first")
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
            raise Refused(f"ticket {t.id} is already {t.status}")
        old = t.status
        met = sla_state.satisfied(t, first=True, answered=True, resolved=True)
        if t.first_action_at is None:
            t.first_action_at = now
        t.status, t.resolved_at, t.waiting_since, t.awaiting_since = Status.RESOLVED, now, None, None
        sla_state.refresh(s, desk.ruleset, t)
        sla_state.record_met(s, t, now, met)
        t.updated_at = now
        record(s, t, now, actor.key, "resolved", {"from": old}, note)
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
            raise Refused(f"ticket {number} is {t.status}, not resolved")
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
            raise Refused(f"unknown kind {kind!r}; kinds: {', '.join(sorted(rs.kinds))}")
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
                          f"{', '.join(allowed) or 'none (add them in rules.yaml)'}")
        fields = dict(ticket.fields or {})
        old = fields.get(name)
        fields[name] = value
        ticket.fields = fields  # a new dict: JSON columns see assignment, not mutation
        ticket.updated_at = now
        record(s, ticket, now, actor.key, "field", {"field": name, "from": old, "to": value})
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
