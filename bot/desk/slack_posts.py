"""Posts into Slack, as outbox rows written in the caller's transaction: a ticket's
thread root in its team channel, the customer's later mails into that thread, the bot's
remarks there, and messages only one person sees. The texts are bot/core/slack_text.py and,
in each staff language, bot/core/slack_words.py."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core import slack_text, slack_words
from bot.core.domain import Channel, OutboxStatus
from bot.desk import card
from bot.desk.context import Desk
from bot.store.models import Attachment, Outbox, Ticket
from bot.store.unit_of_work import staged


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
        link=desk.dossier_url(ticket.id), card=card.card(s, desk, ticket), language=lang,
        note_prefix=rs.slack["note_prefix"])
    row = slack_row(ticket.id, channel, "slack-root", text,
                    slack_text.post_payload(text, blocks), now)
    s.add(row)
    return row


def has_thread(s: Session, ticket: Ticket) -> bool:
    if ticket.slack_ts or any(o.ticket_id == ticket.id and o.purpose == "slack-root"
                              for o in staged(s, Outbox)):
        return True
    with s.no_autoflush:  # a root row staged in this session was looked for above
        return bool(s.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.ticket_id == ticket.id, Outbox.purpose == "slack-root")))


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


def files(s: Session, desk: Desk, ticket: Ticket, attachments: Sequence[Attachment],
          now: datetime) -> int:
    """The customer's files, uploaded into the ticket's thread (one outbox row each,
    retried like any post; the bytes are read from the attachment when it is sent). A file
    over the Slack limit (TICKETBOT_SLACK_FILE_MAX) is named with a link to the dossier
    instead. Returns the number of uploads queued."""
    if not desk.settings.slack_enabled or not any(not a.inline and a.size for a in attachments) \
            or not has_thread(s, ticket):
        return 0
    queued, too_big = 0, []
    for a in attachments:
        if a.inline or not a.size:
            continue
        if a.size > desk.settings.slack_file_max:
            too_big.append(a.filename or "file")
            continue
        name = slack_text.file_name(a.filename or f"attachment-{a.id}")
        payload = {"method": "files.upload", "args": {"filename": name, "title": name},
                   "thread_of": ticket.id, "attachment": a.id}
        s.add(slack_row(ticket.id, "thread", "slack-file", name, json.dumps(payload).encode(), now))
        queued += 1
    if too_big:
        names = ", ".join(slack_text.escape(n) for n in too_big)
        say(s, ticket, slack_words.say(desk.ruleset.default_language, "too-large-for-slack", names=names,
                                       link=desk.dossier_url(ticket.id)), now)  # the thread is shared
    return queued


def upload(s: Session, ticket_id: int | None, to: str, name: str, content: bytes,
           now: datetime, comment: str | None = None) -> Outbox:
    """A file (a report's CSV) uploaded to a channel or a person's DM (`to`: C… or U…),
    carried in the outbox row itself (small files only; a ticket's attachments are read
    from their rows instead, see `files`)."""
    name = slack_text.file_name(name)
    args: dict = {"filename": name, "title": name,
                  "content_b64": base64.b64encode(content).decode("ascii")}
    if comment:
        args["initial_comment"] = comment
    row = slack_row(ticket_id, to, "slack-file", name,
                    json.dumps({"method": "files.upload", "args": args}).encode(), now)
    s.add(row)
    return row
