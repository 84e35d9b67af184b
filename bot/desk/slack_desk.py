"""The desk in Slack (issue #4), service side: what the bot posts, and what staff
messages, buttons and `/ticket` do. The Slack plumbing (Bolt, signatures, Socket Mode,
re-sent events, the Web API and its rate limits) is in bot/adapters/slack_app.py and
slack_out.py; everything here writes to the database and the outbox only, in one
transaction, so a handler is quick and nothing is posted or mailed twice.

- A new ticket is the root of a thread in its team channel (rules.yaml `slack:
  channels` by kind or role, else SLACK_CHANNEL): summary, customer, owner, due time and
  buttons. The customer's later mails are posted into that thread.
- A staff message in the thread is mailed to the customer after the undo window
  (`undo_seconds`, default 60): editing the Slack message within it changes the mail,
  deleting it cancels the mail; once sent, the bot reacts with :email:. Messages that
  start with `note:` are internal notes; in an `explicit` channel only messages that
  start with `reply:` are mailed, everything else is a note.
- A message in an intake channel, or a DM to the bot, opens a ticket (channel slack).
- `/ticket` and the buttons: take, assign, resolve, reopen, kind, note, show, search.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.core import correlation
from bot.desk.errors import Refused
from bot.store.models import Event, Message, Outbox, Ticket

log = logging.getLogger("bot.slackdesk")

HELP = """`/ticket` commands:
• `/ticket 12` or `/ticket show 12` — the ticket
• `/ticket take 12` — it is yours now
• `/ticket assign 12 marta [reason]` — give it to a person or role
• `/ticket resolve 12 [note for the customer]` · `/ticket reopen 12`
• `/ticket kind 12 complaint` · `/ticket note 12 text`
• `/ticket search words` — by number, customer or text"""


def slack_post(ticket_id: int | None, to: str, purpose: str, text: str, now: datetime,
               blocks: list | None = None, thread: bool = False) -> Outbox:
    """An outbox row for chat.postMessage; `thread`: into the ticket's thread."""
    payload: dict = {"method": "chat.postMessage", "args": {"text": text}}
    if blocks:
        payload["args"]["blocks"] = blocks
    if thread:
        payload["thread_of"] = ticket_id
    return Outbox(ticket_id=ticket_id, channel="slack", purpose=purpose, automatic=True,
                  to_addr=to or "thread", subject="", body_text=text,
                  payload=json.dumps(payload).encode(), status="queued", attempts=0,
                  next_attempt_at=now, created_at=now)


def root_post(s: Session, service, ticket: Ticket, now: datetime) -> Outbox | None:
    """The ticket's thread in its team channel (when Slack is set up and a channel is)."""
    settings, rs = service.settings, service.ruleset
    if not getattr(settings, "slack_enabled", False):
        return None
    channel = rs.slack_channel_for(ticket.kind, ticket.owner_role, settings.slack_channel)
    if not channel:
        return None
    text, blocks = summary(service, ticket)
    row = slack_post(ticket.id, channel, "slack-root", text, now, blocks)
    s.add(row)
    return row


def summary(service, t: Ticket) -> tuple[str, list]:
    rs = service.ruleset
    tag = correlation.format_tag(service.settings.tag_prefix, t.id)
    owner = rs.people.get(t.owner)
    who = f"<@{owner.slack}>" if owner and owner.slack else (owner.name if owner else t.owner)
    tz = ZoneInfo(rs.timezone)
    due = t.action_due_at.astimezone(tz).strftime("%a %d %b %H:%M") if t.action_due_at else "—"
    kind = rs.kinds.get(t.kind)
    label = (kind.label.get("en") if kind and kind.label else None) or t.kind
    urgent = ":rotating_light: *URGENT* " if t.urgent else ""
    text = f"{urgent}{tag} {label}: {t.subject}"
    fields = [f"*Customer*\n{t.customer or '(unknown)'}",
              f"*Contact*\n{t.contact_name or ''} {t.contact_email or ''}".strip(),
              f"*Owner*\n{who}", f"*First action due*\n{due}"]
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        {"type": "actions", "block_id": f"ticket-{t.id}", "elements": [
            {"type": "button", "action_id": "ticket_take", "value": str(t.id),
             "text": {"type": "plain_text", "text": "Take"}},
            {"type": "button", "action_id": "ticket_resolve", "value": str(t.id),
             "style": "primary", "text": {"type": "plain_text", "text": "Resolve"}},
            {"type": "button", "action_id": "ticket_show", "value": str(t.id),
             "text": {"type": "plain_text", "text": "Show"}}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            "Reply in this thread to answer the customer by mail; start with `note:` for "
            "an internal note."}]},
    ]
    return text, blocks


def customer_wrote(s: Session, service, ticket: Ticket, text: str, who: str, now: datetime) -> None:
    """The customer's mail, into the ticket's thread."""
    if not getattr(service.settings, "slack_enabled", False):
        return
    if not ticket.slack_ts and not s.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.ticket_id == ticket.id, Outbox.purpose == "slack-root")):
        return  # no thread for this ticket
    body = text.strip()
    if len(body) > 3000:
        body = body[:3000] + "…"
    s.add(slack_post(ticket.id, "thread", "slack-customer", f"*{who}* wrote:\n>>> {body}", now,
                     thread=True))


class SlackDesk:
    """Implements bot.adapters.slack_app.SlackHandlers on the service."""

    def __init__(self, service):
        self.service = service

    # ------------------------------------------------------------------ helpers
    @property
    def rs(self):
        return self.service.ruleset

    def _by(self, user: str) -> str:
        person = next((p for p in self.rs.people.values() if p.slack == user), None)
        return person.key if person else f"slack:{user}"

    def _thread_ticket(self, s: Session, channel: str, thread_ts: str | None) -> Ticket | None:
        if not thread_ts:
            return None
        return s.scalars(select(Ticket).where(Ticket.slack_ts == thread_ts,
                                              Ticket.slack_channel == channel)).first()

    def _seen(self, s: Session, ticket_id: int, ref: str) -> bool:
        """Idempotent on (channel, ts): an event that reached us before changes nothing."""
        return any((e.detail or {}).get("slack_ref") == ref for e in s.scalars(
            select(Event).where(Event.ticket_id == ticket_id, Event.action.in_(
                ("slack-reply", "note", "slack-intake")))))

    def _reply_in_window(self, s: Session, channel: str, thread_ts: str | None, ref: str,
                         now: datetime, verb: str) -> tuple[Ticket, Outbox] | None:
        """The ticket and the mail a Slack message became, while the mail still waits in
        its undo window; None otherwise (after it, staff are told it is too late)."""
        t = self._thread_ticket(s, channel, thread_ts)
        if t is None:
            return None
        row = next((r for r in s.scalars(select(Outbox).where(Outbox.ticket_id == t.id,
                                                             Outbox.purpose == "reply"))
                    if (r.headers or {}).get("slack_ref") == ref), None)
        if row is None:
            return None
        if row.status != "queued" or (row.claimed_until and row.claimed_until > now):
            self._say(s, t, f":warning: Too late to {verb}: the mail was already sent.", now)
            return None
        return t, row

    def _reply_text(self, text: str) -> str:
        """A thread message as mailed: without the `reply:` prefix, if it has one."""
        body = text.strip()
        prefix = self.rs.slack["reply_prefix"]
        return body[len(prefix):].strip() if body.lower().startswith(prefix) else body

    def _say(self, s: Session, ticket: Ticket, text: str, now: datetime) -> None:
        s.add(slack_post(ticket.id, "thread", "slack-info", text, now, thread=True))

    # ------------------------------------------------------------------ thread messages
    def on_thread_message(self, *, channel, thread_ts, ts, user, text, files) -> None:
        svc = self.service
        now = svc.clock()
        ref = f"{channel}:{ts}"
        with svc.sessions() as s, s.begin():
            t = self._thread_ticket(s, channel, thread_ts)
            if t is None or self._seen(s, t.id, ref):
                return
            by = self._by(user)
            slack = self.rs.slack
            lowered = text.lstrip().lower()
            # a ticket opened in Slack is answered in Slack: its thread is the conversation
            explicit = channel in slack["explicit"] or t.channel == "slack"
            if lowered.startswith(slack["note_prefix"]):
                note = text.lstrip()[len(slack["note_prefix"]):].strip()
                s.add(Event(ticket=t, at=now, actor=by, action="note",
                            detail={"action": False, "via": "slack", "slack_ref": ref}, reason=note))
                return
            if explicit and not lowered.startswith(slack["reply_prefix"]):
                s.add(Event(ticket=t, at=now, actor=by, action="note",
                            detail={"action": False, "via": "slack", "slack_ref": ref},
                            reason=text.strip()))
                return
            body = self._reply_text(text)
            before = {"first_action_at": _iso(t.first_action_at), "status": t.status,
                      "awaiting_since": _iso(t.awaiting_since)}
            try:
                row = svc._reply(s, t, now, body, by, delay_seconds=slack["undo_seconds"])
            except Refused as exc:
                self._say(s, t, f":warning: Not mailed: {str(exc).rstrip('.')}.", now)
                return
            # the undo window: what to put back if the message is deleted in time
            row.headers = {**(row.headers or {}), "slack_ref": ref, "undo": before}
            s.add(Event(ticket=t, at=now, actor=by, action="slack-reply",
                        detail={"slack_ref": ref, "send_at": row.next_attempt_at.isoformat()}))
        svc._committed()

    def on_message_changed(self, *, channel, ts, thread_ts, user, text) -> None:
        """Within the undo window the mail follows the edit; after it, staff are told."""
        svc = self.service
        now = svc.clock()
        ref = f"{channel}:{ts}"
        with svc.sessions() as s, s.begin():
            found = self._reply_in_window(s, channel, thread_ts, ref, now, "change")
            if found is None:
                return
            t, row = found
            rendered = svc.renderer.render_mail(
                "reply", row.language, svc.reply_context(t, self._reply_text(text), self._by(user)))
            row.subject, row.body_text, row.body_html = rendered.subject, rendered.text, rendered.html
            msg = s.scalars(select(Message).where(Message.outbox_id == row.id)).first()
            if msg is not None:
                msg.text = msg.visible_text = rendered.text
            s.add(Event(ticket=t, at=now, actor=self._by(user), action="reply-edited",
                        detail={"slack_ref": ref, "outbox": row.id}))

    def on_message_deleted(self, *, channel, ts, thread_ts) -> None:
        svc = self.service
        now = svc.clock()
        ref = f"{channel}:{ts}"
        with svc.sessions() as s, s.begin():
            found = self._reply_in_window(s, channel, thread_ts, ref, now, "cancel")
            if found is None:
                return
            t, row = found
            row.status = "cancelled"
            msg = s.scalars(select(Message).where(Message.outbox_id == row.id)).first()
            if msg is not None:
                s.delete(msg)
            self._undo_action(s, t, row)
            s.add(Event(ticket=t, at=now, actor="slack", action="reply-cancelled",
                        detail={"slack_ref": ref, "outbox": row.id},
                        reason="the Slack message was deleted within the undo window"))

    def _undo_action(self, s: Session, t: Ticket, row: Outbox) -> None:
        """A cancelled reply was never an action: put the SLA clock back as it was, unless
        something else happened to the ticket since."""
        from bot.desk import sla_state as clocks

        before = (row.headers or {}).get("undo") or {}
        if t.first_action_at == row.created_at and before.get("first_action_at") is None:
            t.first_action_at = None
            if t.status == "open" and before.get("status") == "new":
                t.status = "new"
        if t.awaiting_since is None and before.get("awaiting_since"):
            t.awaiting_since = datetime.fromisoformat(before["awaiting_since"])
        clocks.refresh(s, self.rs, t)

    # ------------------------------------------------------------------ new tickets
    def on_intake_message(self, *, channel, ts, user, text, files) -> None:
        """An intake channel or a DM to the bot (D…) opens a ticket, routed by the rules."""
        if not (channel in self.rs.slack["intake"] or channel.startswith("D")):
            return
        if not text.strip():
            return
        person = next((p for p in self.rs.people.values() if p.slack == user), None)
        self.service.ingest_slack(channel=channel, ts=ts, user=user, text=text,
                                  email=person.email if person else "",
                                  name=person.name if person else user)

    # ------------------------------------------------------------------ buttons, /ticket
    def on_action(self, *, action_id, value, user, channel, message_ts, trigger_id) -> None:
        try:
            number = int(value or "")
        except ValueError:
            return
        verb = {"ticket_take": "take", "ticket_resolve": "resolve",
                "ticket_show": "show"}.get(action_id)
        if verb is None:
            return
        answer = self._do(verb, [str(number)], user)
        with self.service.sessions() as s, s.begin():
            t = s.get(Ticket, number)
            if t is not None and t.slack_ts:
                s.add(slack_post(t.id, "thread", "slack-info", f"<@{user}>: {answer}",
                                 self.service.clock(), thread=True))

    def on_command(self, *, text, user, channel) -> str | None:
        words = text.split()
        if not words or words[0] in ("help", "?"):
            return HELP
        if words[0].isdigit():
            words = ["show", *words]
        return self._do(words[0].lower(), words[1:], user)

    def _do(self, verb: str, args: list[str], user: str) -> str:
        svc, by = self.service, self._by(user)
        if verb == "search":
            return self._search(" ".join(args))
        if not args or not args[0].lstrip("#").isdigit():
            return f"Which ticket? For example `/ticket {verb} 12`.\n\n{HELP}"
        n = int(args[0].lstrip("#"))
        rest = " ".join(args[1:]).strip()
        tag = correlation.format_tag(svc.settings.tag_prefix, n)
        try:
            if verb == "show":
                return self._show(n)
            if verb == "take":
                if by.startswith("slack:"):
                    return "You are not in rules.yaml (people: slack id), so tickets cannot be yours."
                svc.reassign(n, by, by, "taken in Slack")
                return f"{tag} is yours now."
            if verb == "assign":
                if not rest:
                    return "Assign to whom? `/ticket assign 12 marta [reason]`"
                who, _, reason = rest.partition(" ")
                person = svc.reassign(n, who, by, reason or "assigned in Slack")
                return f"{tag} now belongs to {person}."
            if verb == "resolve":
                svc.resolve(n, by, rest or None)
                return f"{tag} resolved; the customer was asked to reply if it is not."
            if verb == "reopen":
                svc.reopen(n, by, rest or None)
                return f"{tag} reopened."
            if verb == "kind":
                svc.set_kind(n, rest, by)
                return f"{tag} is a {rest} now."
            if verb == "note":
                if not rest:
                    return "A note needs text: `/ticket note 12 called, will call back`"
                svc.add_note(n, rest, by)
                return f"Note added to {tag}."
        except Refused as exc:
            return f"Not done: {str(exc).rstrip('.')}."
        return f"Unknown command `{verb}`.\n\n{HELP}"

    def _show(self, n: int) -> str:
        d = self.service.ticket_detail(n)
        if d is None:
            return f"No ticket {n}."
        last = next((m for m in reversed(d["messages"]) if m["direction"] == "in"), None)
        lines = [f"*{d['tag']} {d['subject']}*",
                 f"{d['kind']} · {d['status']} · owner {d['owner']} · customer "
                 f"{d['customer'] or '(unknown)'} <{d['contact'] or ''}>"]
        if d["sla"]["first_action_due"]:
            lines.append(f"first action due {d['sla']['first_action_due']}")
        if last:
            lines.append(f"> {(last['text'] or '').strip()[:500]}")
        return "\n".join(lines)

    def _search(self, words: str) -> str:
        words = words.strip()
        if not words:
            return "Search for what? `/ticket search bakkerij`"
        with self.service.sessions() as s:
            like = f"%{words.lower()}%"
            q = select(Ticket).where(or_(
                func.lower(Ticket.subject).like(like), func.lower(Ticket.customer).like(like),
                func.lower(Ticket.contact_email).like(like),
                Ticket.id.in_(select(Message.ticket_id).where(func.lower(Message.visible_text)
                                                                 .like(like)))))
            if words.lstrip("#").isdigit():
                q = select(Ticket).where(Ticket.id == int(words.lstrip("#")))
            found = s.scalars(q.order_by(Ticket.id.desc()).limit(10)).all()
            if not found:
                return f"Nothing found for “{words}”."
            return "\n".join(f"{correlation.format_tag(self.service.settings.tag_prefix, t.id)} "
                             f"{t.status} · {t.owner} · {t.subject}" for t in found)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
