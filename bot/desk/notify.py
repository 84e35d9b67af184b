"""Telling staff: each person on their own channel. Slack (a DM) when Slack is set up and
the person has system access and a Slack id; otherwise mail, which carries everything
needed to act (procedure 000 S 7.1: colleagues without system access get it by mail).

Every notice is an outbox row written in the caller's transaction (delivered with
retries by the outbox) and an event on the ticket saying who was told what, and how.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.core import slack_text
from bot.core.domain import Channel, Direction, InboundMessage, OutboxStatus
from bot.core.mail.compose import build_mail, new_message_id
from bot.core.render import MailTemplates, RenderedMail
from bot.core.rules.schema import Person, RuleSet
from bot.core.time.humanize import when
from bot.desk import events, slack_posts
from bot.desk.context import Desk
from bot.desk.directory import Identity
from bot.store.models import Attachment, DigestItem, Message, Outbox, Ticket


def channel_for(person: Person, settings: Settings, by_mail: bool = False) -> Channel:
    if not by_mail and settings.slack_enabled and person.access == "slack" and person.slack:
        return Channel.SLACK
    return Channel.MAIL


def resolve_people(rs: RuleSet, ticket: Ticket | None, names) -> list[Person]:
    """owner / manager (of the owner's role) / a role / a person -> people, in order, once."""
    out: list[Person] = []
    for name in names:
        if name == "owner":
            key = ticket.owner if ticket is not None else None
        elif name == "manager":
            key = rs.manager_of(ticket.owner, ticket.owner_role) if ticket is not None else None
        else:
            key = rs.resolve(name)
        person = rs.people.get(key) if key else None
        if person is not None and person not in out:
            out.append(person)
    return out


def tell(s: Session, desk: Desk, person: Person, now: datetime, *, purpose: str,
         template: str, context: dict[str, Any], ticket: Ticket | None = None,
         language: str | None = None, attachments: tuple[tuple[str, str, bytes], ...] = (),
         inline: tuple[tuple[str, str, bytes], ...] = (),
         by: str = "system", by_mail: bool = False) -> Outbox:
    """Queue one notice to one person. `attachments` (mail only): (file name, content
    type, bytes); `inline` (mail only): (content id, type, bytes) of images its HTML
    shows; Slack gets the text alone. `by_mail`: mail even to a Slack user."""
    rows = Rows()
    tell_rows(rows, desk, person, now, purpose=purpose, template=template, context=context,
              ticket=ticket, language=language, attachments=attachments, inline=inline, by=by,
              by_mail=by_mail)
    return rows.add_to(s)[0]


@dataclass
class Rows:
    """Notices as rows not yet written: `add_to` adds them to a session (one notice);
    the SLA sweep gathers a batch's and writes each table with one multi-row INSERT
    (bot/desk/sla_state.py). `templates`: the compiled mail templates by (name,
    language), looked up once for all the notices gathered here."""

    outbox: list[dict[str, Any]] = field(default_factory=list)
    digest: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # "notified" (no webhooks)
    templates: dict[tuple[str, str], MailTemplates] = field(default_factory=dict)

    def render(self, desk: Desk, template: str, language: str, context: dict[str, Any]) -> RenderedMail:
        key = (template, language)
        compiled = self.templates.get(key)
        if compiled is None:
            compiled = self.templates[key] = desk.renderer.mail_templates(template, language)
        return compiled.render(context)

    def add_to(self, s: Session) -> list[Outbox]:
        """The rows as objects of the session, in order; returns the outbox rows."""
        out = [Outbox(**r) for r in self.outbox]
        for obj in (*out, *(DigestItem(**r) for r in self.digest)):
            s.add(obj)
        events.add_rows(s, self.events)
        return out


def tell_rows(rows: Rows, desk: Desk, person: Person, now: datetime, *, purpose: str,
              template: str, context: dict[str, Any], ticket: Ticket | None = None,
              language: str | None = None, attachments: tuple[tuple[str, str, bytes], ...] = (),
              inline: tuple[tuple[str, str, bytes], ...] = (),
              by: str = "system", by_mail: bool = False) -> Channel:
    """`tell`, its rows added to `rows`; returns the channel it goes by."""
    settings = desk.settings
    rs = desk.ruleset
    lang = language or rs.language_of(person)  # the recipient's language (rules.yaml)
    if ticket is not None:
        context = {"dossier": desk.dossier_url(ticket.id), **context}
    channel = channel_for(person, settings, by_mail)
    # `slack`: the template may format for Slack; `attached`: files really go with it
    # (mail only: a DM never claims a file it does not carry, unless the caller, who
    # uploads the file into the DM, says `attached` in the context)
    rendered = rows.render(desk, template, lang, {
        "person": person, "slack": channel == Channel.SLACK,
        "attached": bool(attachments) and channel == Channel.MAIL, **context})
    ticket_id = ticket.id if ticket else None
    if channel == Channel.SLACK:
        # the notice carries the customer's words: Slack shows them, never acts on them
        text = f"*{slack_text.escape(rendered.subject)}*\n{slack_text.escape(rendered.text)}".strip()
        parts = slack_text.split(text)  # a long one (a report) as several messages
        for i, part in enumerate(parts):
            if len(parts) > 1:
                part = f"({i + 1}/{len(parts)}) {part}" if i else f"{part}\n({i + 1}/{len(parts)})"
            # in order: inserted, and so delivered, part by part
            rows.outbox.append(_outbox_row(
                ticket_id=ticket_id, channel=Channel.SLACK, purpose=purpose, to_addr=person.slack,
                subject=rendered.subject, message_id=None, template=template,
                language=rendered.language, body_text=rendered.text if i == 0 else part,
                body_html=rendered.html if i == 0 else None,
                payload=json.dumps({"method": "chat.postMessage",
                                    "args": {"channel": person.slack, "text": part}}).encode(),
                # if Slack does not know the person (deactivated, wrong id): mail,
                # the whole text once (the first part's row carries it)
                headers={"language": rendered.language,
                         **({"fallback_email": person.email} if i == 0 else {}),
                         **({"part": [i + 1, len(parts)]} if len(parts) > 1 else {})},
                now=now))
    else:
        mid = new_message_id(settings.mail_domain, ticket_id)
        headers = {"automatic": True, "language": rendered.language,
                   "thread_topic": rendered.subject}
        payload = None
        if attachments or inline:  # assembled now: the outbox row has no place for files
            payload = build_mail(subject=rendered.subject, text=rendered.text, html=rendered.html,
                                 language=rendered.language, from_addr=settings.address,
                                 from_name=settings.address_name, to_addr=person.email,
                                 message_id=mid, headers=headers, now=now,
                                 attachments=attachments, inline=inline)
        rows.outbox.append(_outbox_row(
            ticket_id=ticket_id, channel=Channel.MAIL, purpose=purpose, to_addr=person.email,
            subject=rendered.subject, message_id=mid, template=template,
            language=rendered.language, body_text=rendered.text, body_html=rendered.html,
            payload=payload, headers=headers, now=now))
    if ticket is not None:
        rows.events.append({"ticket_id": ticket.id, "at": now, "actor": by, "action": "notified",
                            "detail": {"to": person.key, "channel": channel, "purpose": purpose},
                            "reason": None})
    return channel


def _outbox_row(*, ticket_id: int | None, channel: Channel, purpose: str, to_addr: str | None,
                subject: str, message_id: str | None, template: str, language: str,
                body_text: str, body_html: str | None, payload: bytes | None,
                headers: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One queued notice: every row has the same keys (one multi-row INSERT takes them)."""
    return {"ticket_id": ticket_id, "channel": channel, "purpose": purpose, "automatic": False,
            "to_addr": to_addr, "subject": subject, "message_id": message_id,
            "template": template, "language": language, "body_text": body_text,
            "body_html": body_html, "payload": payload, "headers": headers,
            "status": OutboxStatus.QUEUED, "attempts": 0, "next_attempt_at": now,
            "created_at": now}


# Notices a person with `notify: digest` gets once a day in their digest (bot/desk/digest.py)
# rather than one by one; urgent tickets, escalations, sign-in links, refusals and the
# reports still go at once.
DIGESTED = ("new-ticket", "advisor-copy", "sla-remind", "notices-held")


def notice(s: Session, desk: Desk, person: Person, now: datetime, *, purpose: str,
           template: str, context: dict[str, Any], ticket: Ticket | None = None,
           by: str = "system", attachments: tuple[tuple[str, str, bytes], ...] = ()) -> Outbox | None:
    """`tell`, or, for a person who reads a daily digest, keep the notice for it
    (None: held; it goes with the digest at the person's `digest_at`, its files named
    there and in the ticket's page, not attached)."""
    rows = Rows()
    notice_rows(rows, desk, person, now, purpose=purpose, template=template, context=context,
                ticket=ticket, by=by, attachments=attachments)
    out = rows.add_to(s)
    return out[0] if out else None


def notice_rows(rows: Rows, desk: Desk, person: Person, now: datetime, *, purpose: str,
                template: str, context: dict[str, Any], ticket: Ticket | None = None,
                by: str = "system", attachments: tuple[tuple[str, str, bytes], ...] = ()) -> None:
    """`notice`, its rows added to `rows`."""
    if person.notify != "digest" or purpose not in DIGESTED or (ticket is not None and ticket.urgent):
        tell_rows(rows, desk, person, now, purpose=purpose, template=template, context=context,
                  ticket=ticket, by=by, attachments=attachments)
        return
    if ticket is not None:
        context = {"dossier": desk.dossier_url(ticket.id), **context}
    rendered = rows.render(desk, template, desk.ruleset.language_of(person), {
        "person": person, "slack": False, "attached": False, **context})
    rows.digest.append({"person": person.key, "ticket_id": ticket.id if ticket else None,
                        "purpose": purpose, "subject": rendered.subject,
                        "body_text": rendered.text, "language": rendered.language,
                        "created_at": now, "sent_at": None, "outbox_id": None})
    if ticket is not None:
        rows.events.append({"ticket_id": ticket.id, "at": now, "actor": by, "action": "notified",
                            "detail": {"to": person.key, "channel": "digest", "purpose": purpose,
                                       "digest_at": person.digest_at},
                            "reason": None})


def new_ticket(s: Session, desk: Desk, ticket: Ticket, msg: InboundMessage,
               ident: Identity | None, now: datetime) -> list[str]:
    """Procedure S 7.1: the responsible person hears of a new ticket on their channel;
    urgent ones also by mail, phone number first (the procedure says: by phone);
    cancellations, new contacts and moved appointments go to the advisor directly too.
    Returns the keys of the people told."""
    rs = desk.ruleset
    if not getattr(rs, "notify_staff", True):
        return []
    owner = rs.people.get(ticket.owner)
    kind = rs.kinds.get(ticket.kind)
    tz = desk.tz
    contact = ticket.contact
    advisor_key = ident.advisor if ident is not None else None
    advisor = rs.people.get(advisor_key) if advisor_key else None
    policy = rs.policy_for(ticket.kind)
    due = ticket.action_due_at
    context = {
        "tag": desk.tag(ticket.id), "ticket": ticket.id,
        "subject": ticket.subject, "urgent": ticket.urgent,
        "customer": ticket.customer or "", "contact_name": ticket.contact_name or "",
        "contact_email": ticket.contact_email or "",
        "phone": (contact.phone if contact is not None else None) or "",
        "advisor": advisor.name if advisor else "", "owner_name": owner.name if owner else ticket.owner,
        "expect": policy.name if policy else "",
        "text": (msg.visible_text or msg.text or "").strip()[:4000],
        "attachments": [a.filename for a in msg.attachments if a.filename and not a.inline],
        "rule": ticket.rule or "", "why": "", "is_owner": True,
    }
    stored = customer_files(s, ticket)
    mail_files, linked = files_for_mail(desk, stored)
    # more than the cap: named, and linked to the dossier
    context["attachments_linked"] = desk.dossier_url(ticket.id) if linked else ""

    def said(person: Person, **more: Any) -> dict[str, Any]:
        """The context in the person's language: the kind's label and the due time."""
        lang = rs.language_of(person)
        return {**context, "kind": (kind.label.get(lang) or kind.label.get("en") if kind else None)
                or ticket.kind,
                "due": when(due, tz, lang) if due else "", **more}

    told: list[str] = []
    if ticket.channel == Channel.MAIL:  # a ticket opened in Slack has its thread already
        if slack_posts.root_post(s, desk, ticket, now) is not None:
            slack_posts.files(s, desk, ticket, stored, now)
    cancellation = kind is not None and kind.workflow == "cancellation"
    if owner is not None and not cancellation:  # a cancellation's owner gets the copy (S 3.4)
        if _within_cap(s, desk, owner, ticket, now):
            row = notice(s, desk, owner, now, purpose="new-ticket", template="new-ticket",
                         context=said(owner), ticket=ticket, attachments=mail_files)
            told.append(owner.key)
            if ticket.urgent and row is not None and row.channel != Channel.MAIL:  # urgent: a mail as well as the DM
                tell(s, desk, owner, now, purpose="urgent-mail", template="new-ticket",
                     context=said(owner), ticket=ticket, by_mail=True, attachments=mail_files)
    also = (ticket.kind == "appointment" or cancellation
            or (ident is not None and ident.how == "new-contact-at-known-company"))
    if also and advisor is not None and advisor.key != ticket.owner \
            and _within_cap(s, desk, advisor, ticket, now):
        why = ("cancellation" if cancellation else "appointment"
               if ticket.kind == "appointment" else "new-contact")
        notice(s, desk, advisor, now, purpose="advisor-copy", template="new-ticket",
               context=said(advisor, is_owner=False, why=why), ticket=ticket)
        told.append(advisor.key)
    return told


# Session.info key: {id(ticket): (ticket, its first message)} of the tickets a batch of
# mail opened (bot/desk/intake.py), so that customer_files need not look it up
FIRST_MESSAGES = "first_messages"


def customer_files(s: Session, ticket: Ticket) -> list[Attachment]:
    """The files of the customer's first message on the ticket (not inline images)."""
    known = s.info.get(FIRST_MESSAGES, {}).get(id(ticket))
    if known is not None and known[0] is ticket:
        return [a for a in known[1].attachments if not a.inline]
    first = s.scalars(select(Message).where(Message.ticket_id == ticket.id,
                                            Message.direction == Direction.IN)
                      .order_by(Message.id).limit(1)).first()
    return [a for a in first.attachments if not a.inline] if first is not None else []


def files_for_mail(desk: Desk, stored: list[Attachment]) -> tuple[tuple[tuple[str, str, bytes], ...], bool]:
    """The files a notice mail carries: all of them while their total stays within
    TICKETBOT_NOTICE_ATTACHMENTS_MAX (default 10 MB), else none (the mail links the
    dossier: True)."""
    if not stored:
        return (), False
    if sum(a.size for a in stored) > desk.settings.notice_attachments_max:
        return (), True
    return tuple((a.filename or f"attachment-{a.id}", a.content_type, a.content) for a in stored), False


# Notices of new tickets a person gets within NOTICE_WINDOW, up to rules.yaml `limits:
# notices_per_person_per_hour`; past it, one "notices-held" notice per window says that
# more is waiting (and where), and each held notice is an event on its ticket.
NOTICE_WINDOW = timedelta(hours=1)
CAPPED = ("new-ticket", "advisor-copy")


def _within_cap(s: Session, desk: Desk, person: Person, ticket: Ticket, now: datetime) -> bool:
    """Whether one more new-ticket notice may go to ``person`` now; if not, the notice is
    held: an event on the ticket, and the person told once per window."""
    cap = desk.ruleset.limits["notices_per_person_per_hour"]
    cache = s.info.get("notice_counts")
    if cache is None:  # read once per transaction: notices of the window, per address
        by_addr: dict[str, list[int]] = {}
        for to, purpose, n in s.execute(select(Outbox.to_addr, Outbox.purpose, func.count()).where(
                Outbox.created_at > now - NOTICE_WINDOW, Outbox.purpose.in_((*CAPPED, "notices-held")))
                .group_by(Outbox.to_addr, Outbox.purpose)):
            counted = by_addr.setdefault(to, [0, 0])
            counted[0 if purpose in CAPPED else 1] += n
        cache = s.info["notice_counts"] = {"by_addr": by_addr}
    if person.key not in cache:
        addresses = [a for a in (person.slack, person.email) if a]
        cache[person.key] = [sum(cache["by_addr"].get(a, [0, 0])[0] for a in addresses),
                             sum(cache["by_addr"].get(a, [0, 0])[1] for a in addresses)]
    counted = cache[person.key]
    if counted[0] < cap:
        counted[0] += 1
        return True
    events.record(s, ticket, now, "system", "notice-held", {"to": person.key, "cap": cap},
                  f"{person.key} was told of {cap} new tickets within the hour (rules.yaml "
                  "limits: notices_per_person_per_hour)")
    if not counted[1]:
        counted[1] += 1
        notice(s, desk, person, now, purpose="notices-held", template="notices-held",
             context={"cap": cap, "tag": desk.tag(ticket.id), "ticket": ticket.id}, ticket=ticket)
    return False
