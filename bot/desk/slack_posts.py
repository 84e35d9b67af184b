"""Posts into Slack, as outbox rows written in the caller's transaction: a ticket's
thread root in its team channel, the customer's later mails into that thread, the bot's
remarks there, and messages only one person sees. The texts are bot/core/slack_text.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core import slack_text
from bot.core.domain import Channel, OutboxStatus
from bot.desk.context import Desk
from bot.store.models import Outbox, Ticket


def slack_row(ticket_id: int | None, to: str, purpose: str, text: str, payload: bytes,
              now: datetime) -> Outbox:
    return Outbox(ticket_id=ticket_id, channel=Channel.SLACK, purpose=purpose, automatic=True,
                  to_addr=to or "thread", subject="", body_text=text, payload=payload,
                  status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=now, created_at=now)


def root_post(s: Session, desk: Desk, ticket: Ticket, now: datetime) -> Outbox | None:
    """The ticket's thread in its team channel (when Slack is set up and a channel is)."""
    settings, rs = desk.settings, desk.ruleset
    if not settings.slack_enabled:
        return None
    channel = rs.slack_channel_for(ticket.kind, ticket.owner_role, settings.slack_channel)
    if not channel:
        return None
    owner = rs.people.get(ticket.owner)
    who = (f"<@{owner.slack}>" if owner and owner.slack
           else slack_text.escape(owner.name if owner else ticket.owner))
    kind = rs.kinds.get(ticket.kind)
    lang = rs.default_language  # the channel is shared: the desk's language
    label = (kind.label.get(lang) or kind.label.get("en") if kind and kind.label else None) or ticket.kind
    text, blocks = slack_text.summary(
        tag=desk.tag(ticket.id), ticket_id=ticket.id, label=label, subject=ticket.subject,
        urgent=ticket.urgent, customer=ticket.customer, contact_name=ticket.contact_name,
        contact_email=ticket.contact_email, owner=who, due=ticket.action_due_at, tz=desk.tz,
        link=desk.dossier_url(ticket.id), language=lang, note_prefix=rs.slack["note_prefix"])
    row = slack_row(ticket.id, channel, "slack-root", text,
                    slack_text.post_payload(text, blocks), now)
    s.add(row)
    return row


def has_thread(s: Session, ticket: Ticket) -> bool:
    return bool(ticket.slack_ts) or bool(s.scalar(
        select(func.count()).select_from(Outbox).where(Outbox.ticket_id == ticket.id,
                                                       Outbox.purpose == "slack-root")))


def customer_wrote(s: Session, desk: Desk, ticket: Ticket, text: str, who: str,
                   now: datetime) -> None:
    """The customer's mail, into the ticket's thread."""
    if not desk.settings.slack_enabled or not has_thread(s, ticket):
        return
    body = slack_text.customer_wrote(who, text, desk.ruleset.default_language)
    s.add(slack_row(ticket.id, "thread", "slack-customer", body,
                    slack_text.post_payload(body, thread_of=ticket.id), now))


def say(s: Session, ticket: Ticket, text: str, now: datetime) -> None:
    """The bot's remark in the ticket's thread (mrkdwn: escape outside text first)."""
    s.add(slack_row(ticket.id, "thread", "slack-info", text,
                    slack_text.post_payload(text, thread_of=ticket.id), now))


def tell_only(s: Session, ticket_id: int | None, channel: str, user: str, text: str,
              now: datetime, thread_ts: str | None = None) -> None:
    """A message in `channel` that only `user` sees."""
    s.add(slack_row(ticket_id, channel, "slack-ephemeral", text,
                    slack_text.ephemeral_payload(user, text, thread_ts), now))
