"""Webhooks (docs/webhooks.md): who gets which events, and the outbox rows that carry them.

Subscriptions live in the `webhook_subscription` table: those of rules.yaml (`webhooks:`,
source "rules", kept in step with the file by `sync_configured`, read-only here) and those
added with `subscribe` (source "desk": the API's). Nothing else is ever delivered to: a
webhook outbox row names its subscription, and the transport looks the address up when it
sends (bot/adapters/webhook_out.py), so a removed or disabled subscription gets nothing.

Events come from the ticket's history: `bot.desk.events.record` hands every event to
`enqueue`; when the session flushes (the event and its ticket have their ids and the
ticket its final state) one outbox row per event and subscribing subscription is added
to the same transaction. A webhook is never sent for a change that was rolled back.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.domain import Channel, OutboxStatus
from bot.core.rules.load import webhook_url_problem
from bot.core.rules.schema import NAME, WEBHOOK_SECRET_ENV, WEBHOOK_SETTINGS
from bot.core.webhooks import EVENTS, events_of
from bot.desk import notify
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.store.models import Event, Outbox, Ticket, WebhookSubscription

log = logging.getLogger("bot.webhooks")

PENDING = "webhook_pending"  # session.info: history events whose webhooks are not queued yet
RULES, DESK = "rules", "desk"  # where a subscription comes from
# history detail that is the desk's own business, not a receiver's
PRIVATE = {"slack_ref", "evidence", "outbox", "send_at", "undo"}


# ------------------------------------------------------------------ events -> outbox
def enqueue(s: Session, event: Event) -> None:
    """Called for every history event (bot/desk/events.py); queues its webhooks when
    the session next flushes, in the same transaction."""
    if not events_of(event.action, event.detail):
        return
    s.info.setdefault(PENDING, []).append(event)


@sa_event.listens_for(Session, "after_flush_postexec")
def _after_flush(s: Session, _flush_context) -> None:
    """After each flush: the pending events now have ids (and their tickets too); their
    outbox rows are added to the session, and the commit's next flush writes them."""
    pending: list[Event] | None = s.info.get(PENDING)
    if not pending:
        return
    ready = [e for e in pending if e.id is not None]
    if not ready:
        return
    s.info[PENDING] = [e for e in pending if e.id is None]
    subs = subscriptions(s)
    if subs:
        queue(s, ready, subs)


def subscriptions(s: Session) -> list[WebhookSubscription]:
    """The subscriptions that are delivered to, in order."""
    return list(s.scalars(select(WebhookSubscription)
                          .where(WebhookSubscription.disabled_at.is_(None))
                          .order_by(WebhookSubscription.id)))


def queue(s: Session, events: list[Event], subs: list[WebhookSubscription]) -> None:
    """The outbox rows of history events that have their ids (written by a flush, or by
    one multi-row INSERT: bot/desk/events.py `insert_many`), added to the session."""
    for event in events:
        detail = event.detail or {}
        # a reply waits in its undo window: so does its webhook (cancel_reply drops it)
        due = datetime.fromisoformat(detail["send_at"]) if detail.get("send_at") else event.at
        ticket = event.ticket if event.ticket is not None else (
            s.get(Ticket, event.ticket_id) if event.ticket_id is not None else None)
        for kind in events_of(event.action, event.detail):
            wanted = [sub for sub in subs if kind in (sub.events or ())]
            if not wanted:
                continue
            event_id = str(uuid.uuid4())
            body = json.dumps(payload(kind, event_id, event, ticket), ensure_ascii=False,
                              separators=(",", ":"), default=str).encode("utf-8")
            for sub in wanted:
                s.add(Outbox(ticket_id=ticket.id if ticket is not None else None,
                             channel=Channel.WEBHOOK, purpose=kind, automatic=True,
                             to_addr=sub.name, subject=kind, message_id=event_id,
                             headers={"event": kind, "delivery": event_id,
                                      "mail": detail.get("message_id")}, payload=body,
                             status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=due,
                             created_at=event.at))


def cancel_reply(s: Session, ticket_id: int, message_id: str | None) -> None:
    """A reply cancelled in its undo window was never sent: nor is its ticket.replied."""
    for row in s.scalars(select(Outbox).where(
            Outbox.channel == Channel.WEBHOOK, Outbox.ticket_id == ticket_id,
            Outbox.purpose == "ticket.replied", Outbox.status == OutboxStatus.QUEUED)):
        if message_id and (row.headers or {}).get("mail") == message_id:
            row.status, row.last_error = OutboxStatus.CANCELLED, "the reply was cancelled"


def payload(kind: str, event_id: str, event: Event, ticket: Ticket | None) -> dict[str, Any]:
    """The JSON a receiver gets (docs/webhooks.md has an example of each)."""
    detail = {k: v for k, v in (event.detail or {}).items() if k not in PRIVATE}
    data: dict[str, Any] = {"actor": event.actor}
    if kind == "task.created":
        data["task"] = detail.get("task")
    else:
        data.update(detail)
        if event.reason:
            data["reason"] = event.reason
        if kind == "ticket.replied":
            data["direction"] = "in" if event.action == "message" else "out"
    return {"id": event_id, "type": kind, "created_at": event.at.isoformat(),
            "ticket": ticket_json(ticket) if ticket is not None else None, "data": data}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_json(t: Ticket) -> dict[str, Any]:
    return {"number": t.id, "subject": t.subject, "status": t.status, "kind": t.kind,
            "priority": t.priority, "urgent": bool(t.urgent), "category": t.category,
            "owner": t.owner, "customer": t.customer, "contact_email": t.contact_email,
            "channel": t.channel, "language": t.language, "created_at": _iso(t.created_at),
            "updated_at": _iso(t.updated_at), "resolved_at": _iso(t.resolved_at),
            "first_action_due_at": _iso(t.first_action_due_at),
            "next_action_due_at": _iso(t.next_action_due_at),
            "resolution_due_at": _iso(t.resolution_due_at)}


# ------------------------------------------------------------------ subscriptions
def sync_configured(desk: Desk) -> dict[str, int]:
    """Make the table's rules.yaml subscriptions what the file says (at start and after
    every reload). A changed address or secret gets a fresh start (enabled again); a
    subscription gone from the file is removed and its queued deliveries cancelled."""
    now = desk.clock()
    wanted = {w.name: w for w in desk.ruleset.webhooks}
    counts = {"added": 0, "changed": 0, "removed": 0}
    try:
        with desk.uow.write() as s:
            rows = {r.name: r for r in s.scalars(select(WebhookSubscription))}
            for name, w in wanted.items():
                row = rows.get(name)
                if row is None:
                    s.add(WebhookSubscription(name=name, url=w.url, events=list(w.events),
                                              secret_env=w.secret_env, source=RULES,
                                              created_by=desk.ruleset.source, created_at=now))
                    counts["added"] += 1
                    continue
                fresh = row.url != w.url or row.secret_env != w.secret_env or row.source != RULES
                if fresh or list(row.events or ()) != list(w.events):
                    if row.source != RULES:
                        log.warning("webhook %r: rules.yaml now configures it (it was added "
                                    "through the desk)", name)
                    row.url, row.events, row.secret_env, row.source = (
                        w.url, list(w.events), w.secret_env, RULES)
                    counts["changed"] += 1
                if fresh:
                    row.disabled_at = row.failing_since = None
            for name, row in rows.items():
                if row.source == RULES and name not in wanted:
                    _cancel_queued(s, name, "the subscription was removed from rules.yaml")
                    s.delete(row)
                    counts["removed"] += 1
    except IntegrityError:  # another process synced the same file at the same moment
        log.info("webhooks: synced by another process meanwhile")
    for w in wanted.values():
        if not desk.settings.webhook_secret(w.secret_env):
            log.error("webhook %r: %s is not set; its deliveries wait (never sent unsigned)",
                      w.name, w.secret_env)
    return counts


def _cancel_queued(s: Session, name: str, why: str, keep: int | None = None) -> int:
    """Cancel the subscription's queued deliveries (but `keep`: the one failing now, which
    its sender records as failed)."""
    q = update(Outbox).where(Outbox.channel == Channel.WEBHOOK, Outbox.to_addr == name,
                             Outbox.status == OutboxStatus.QUEUED)
    if keep is not None:
        q = q.where(Outbox.id != keep)
    res = s.execute(q.values(status=OutboxStatus.CANCELLED, last_error=why))
    return int(getattr(res, "rowcount", 0) or 0)


def subscribe(desk: Desk, actor: Actor, name: str, url: str, events: list[str],
              secret_env: str) -> dict[str, Any]:
    """Add a subscription (the API's way; rules.yaml's are the file's). The secret stays
    in the environment: `secret_env` names a TICKETBOT_WEBHOOK_* variable."""
    check(actor, Verb.WEBHOOKS)
    if not isinstance(name, str) or not NAME.match(name) or len(name) > 100:
        raise Refused("a webhook's name is a lower-case word like 'crm' (letters, digits, _ . -)")
    if problem := webhook_url_problem(url):
        raise Refused(f"url {problem}")
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise Refused(f"unknown or no events {unknown}; events: {', '.join(EVENTS)}")
    if not WEBHOOK_SECRET_ENV.match(secret_env or "") or secret_env in WEBHOOK_SETTINGS:
        raise Refused("secret_env must name an environment variable TICKETBOT_WEBHOOK_<NAME>")
    if not desk.settings.webhook_secret(secret_env):
        raise Refused(f"{secret_env} is not set in the bot's environment")
    now = desk.clock()
    with desk.uow.write() as s:
        if s.scalar(select(WebhookSubscription.id).where(WebhookSubscription.name == name)):
            raise Refused(f"there is a webhook named {name!r} already")
        row = WebhookSubscription(name=name, url=url, events=list(dict.fromkeys(events)),
                                  secret_env=secret_env, source=DESK, created_by=actor.key,
                                  created_at=now)
        s.add(row)
        s.add(Event(ticket_id=None, at=now, actor=actor.key, action="webhook-subscribed",
                    detail={"name": name, "url": url, "events": row.events}))
        s.flush()
        return subscription_dict(row)


def unsubscribe(desk: Desk, actor: Actor, name: str) -> None:
    """Remove a desk subscription; its queued deliveries are cancelled."""
    check(actor, Verb.WEBHOOKS)
    now = desk.clock()
    with desk.uow.write() as s:
        row = _named(s, name)
        if row.source == RULES:
            raise Refused(f"webhook {name!r} is configured in rules.yaml; remove it there")
        _cancel_queued(s, name, "unsubscribed")
        s.delete(row)
        s.add(Event(ticket_id=None, at=now, actor=actor.key, action="webhook-unsubscribed",
                    detail={"name": name}))


def enable(desk: Desk, actor: Actor, name: str) -> dict[str, Any]:
    """Deliver to a disabled subscription again (new events only)."""
    check(actor, Verb.WEBHOOKS)
    now = desk.clock()
    with desk.uow.write() as s:
        row = _named(s, name)
        row.disabled_at = row.failing_since = None
        s.add(Event(ticket_id=None, at=now, actor=actor.key, action="webhook-enabled",
                    detail={"name": name}))
        return subscription_dict(row)


def list_subscriptions(desk: Desk, actor: Actor) -> list[dict[str, Any]]:
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        counts: dict[str, dict[str, int]] = {}
        for name, status, n in s.execute(
                select(Outbox.to_addr, Outbox.status, func.count()).where(
                    Outbox.channel == Channel.WEBHOOK).group_by(Outbox.to_addr, Outbox.status)):
            counts.setdefault(name, {})[status] = n
        out = []
        for row in s.scalars(select(WebhookSubscription).order_by(WebhookSubscription.name)):
            d = subscription_dict(row)
            d["secret_set"] = bool(desk.settings.webhook_secret(row.secret_env))
            d["deliveries"] = counts.get(row.name, {})
            out.append(d)
        return out


def recent_deliveries(desk: Desk, actor: Actor, limit: int = 20,
                      name: str | None = None) -> list[dict[str, Any]]:
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        q = select(Outbox).where(Outbox.channel == Channel.WEBHOOK)
        if name:
            q = q.where(Outbox.to_addr == name)
        return [{"id": r.id, "subscription": r.to_addr, "event": r.purpose,
                 "delivery": r.message_id, "ticket": r.ticket_id, "status": r.status,
                 "attempts": r.attempts, "last_error": r.last_error,
                 "created_at": _iso(r.created_at), "sent_at": _iso(r.sent_at),
                 "next_attempt_at": _iso(r.next_attempt_at) if r.status == OutboxStatus.QUEUED
                 else None}
                for r in s.scalars(q.order_by(Outbox.id.desc()).limit(limit))]


def subscription_dict(row: WebhookSubscription) -> dict[str, Any]:
    state = "disabled" if row.disabled_at else "failing" if row.failing_since else "active"
    return {"name": row.name, "url": row.url, "events": list(row.events or ()),
            "secret_env": row.secret_env, "source": row.source, "state": state,
            "failing_since": _iso(row.failing_since), "disabled_at": _iso(row.disabled_at),
            "last_success_at": _iso(row.last_success_at), "last_error": row.last_error,
            "created_by": row.created_by, "created_at": _iso(row.created_at)}


def _named(s: Session, name: str) -> WebhookSubscription:
    row = s.scalar(select(WebhookSubscription).where(WebhookSubscription.name == name))
    if row is None:
        raise Refused(f"no webhook named {name!r}")
    return row


# ------------------------------------------------------------------ delivery health
@dataclass(frozen=True)
class Target:
    """What the transport needs of a subscription to deliver one row."""

    name: str
    url: str
    secret_env: str
    failing: bool
    disabled: bool


def target(desk: Desk, name: str) -> Target | None:
    """The subscription a webhook row names, as configured now; None: there is none."""
    with desk.uow.read() as s:
        row = s.scalar(select(WebhookSubscription).where(WebhookSubscription.name == name))
        if row is None:
            return None
        return Target(row.name, row.url, row.secret_env, row.failing_since is not None,
                      row.disabled_at is not None)


def delivered(desk: Desk, name: str, now: datetime) -> None:
    """A delivery went through: the subscription is healthy again."""
    with desk.uow.write() as s:
        s.execute(update(WebhookSubscription).where(WebhookSubscription.name == name).values(
            failing_since=None, last_error=None, last_success_at=now))


def failed(desk: Desk, name: str, error: str, now: datetime, delivery: int | None = None) -> bool:
    """A delivery failed. Returns True when the subscription has now failed for
    TICKETBOT_WEBHOOK_DISABLE_DAYS without a success in between: it is disabled, its
    queued deliveries cancelled, and the operator (rules.yaml `defaults: owner`) told
    by mail, in the same transaction."""
    days = desk.settings.webhook_disable_days
    with desk.uow.write() as s:
        row = s.scalar(select(WebhookSubscription).where(WebhookSubscription.name == name))
        if row is None or row.disabled_at is not None:
            return row is not None
        if row.failing_since is None:
            row.failing_since = now
        row.last_error = error[:2000]
        if now - row.failing_since < timedelta(days=days):
            return False
        row.disabled_at = now
        cancelled = _cancel_queued(s, name, "the subscription was disabled", keep=delivery)
        detail = {"name": name, "url": row.url, "failing_since": _iso(row.failing_since),
                  "cancelled": cancelled}
        s.add(Event(ticket_id=None, at=now, actor="system", action="webhook-disabled",
                    detail=detail, reason=error[:2000]))
        rs = desk.ruleset
        key = rs.resolve(rs.default_owner)
        person = rs.people.get(key) if key else None
        if person is not None and person.email:
            notify.tell(s, desk, person, now, purpose="webhook-disabled",
                        template="webhook-disabled", by_mail=True,
                        context={"name": name, "url": row.url, "days": f"{days:g}",
                                 "since": row.failing_since.strftime("%Y-%m-%d %H:%M UTC"),
                                 "error": error[:500], "cancelled": cancelled})
        log.error("webhook %r disabled: failing since %s (%s)", name,
                  row.failing_since.isoformat(), error)
        return True
