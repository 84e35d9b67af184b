"""Telling staff: each person on their own channel. Slack (a DM) when Slack is set up and
the person has system access and a Slack id; otherwise mail, which carries everything
needed to act (procedure 000 S 7.1: colleagues without system access get it by mail).

Every notice is an outbox row written in the caller's transaction (delivered with
retries by the outbox) and an event on the ticket saying who was told what, and how.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from bot.core.mail.compose import build_mail, new_message_id
from bot.core.rules.schema import Person, RuleSet
from bot.store.models import Event, Outbox, Ticket


def when(moment: datetime, tz, language: str | None) -> str:
    """24 november 2026 10:00 / 24 November 2026 10:00, in the desk's time zone."""
    from bot.core.cancellation_text import format_date

    local = moment.astimezone(tz)
    return f"{format_date(local.date(), language)} {local:%H:%M}"


def channel_for(person: Person, settings) -> str:
    if getattr(settings, "slack_enabled", False) and person.access == "slack" and person.slack:
        return "slack"
    return "mail"


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


def tell(s: Session, service, person: Person, now: datetime, *, purpose: str, template: str,
         context: dict, ticket: Ticket | None = None, language: str | None = None,
         attachments: tuple = (), by: str = "system") -> Outbox:
    """Queue one notice to one person. `attachments` (mail only): (file name, content
    type, bytes); Slack gets the text alone."""
    settings = service.settings
    rs = service.ruleset
    lang = language or rs.default_language
    rendered = service.renderer.render_mail(template, lang, {"person": person, **context})
    channel = channel_for(person, settings)
    if channel == "slack":
        text = f"*{rendered.subject}*\n{rendered.text}".strip()
        row = Outbox(ticket_id=ticket.id if ticket else None, channel="slack", purpose=purpose,
                     automatic=False, to_addr=person.slack, subject=rendered.subject,
                     template=template, language=rendered.language, body_text=rendered.text,
                     payload=json.dumps({"method": "chat.postMessage",
                                         "args": {"channel": person.slack, "text": text}}).encode(),
                     # if Slack does not know the person (deactivated, wrong id): mail
                     headers={"fallback_email": person.email, "language": rendered.language},
                     body_html=rendered.html,
                     status="queued", attempts=0, next_attempt_at=now, created_at=now)
    else:
        mid = new_message_id(settings.mail_domain, ticket.id if ticket else None)
        headers = {"automatic": True, "language": rendered.language,
                   "thread_topic": rendered.subject}
        payload = None
        if attachments:  # assembled now: the outbox row has no place for the files
            payload = build_mail(subject=rendered.subject, text=rendered.text, html=rendered.html,
                                 language=rendered.language, from_addr=settings.address,
                                 from_name=settings.address_name, to_addr=person.email,
                                 message_id=mid, headers=headers, now=now,
                                 attachments=attachments)
        row = Outbox(ticket_id=ticket.id if ticket else None, channel="mail", purpose=purpose,
                     automatic=False, to_addr=person.email, subject=rendered.subject,
                     message_id=mid,
                     template=template, language=rendered.language, body_text=rendered.text,
                     body_html=rendered.html, payload=payload, headers=headers,
                     status="queued", attempts=0, next_attempt_at=now, created_at=now)
    s.add(row)
    if ticket is not None:
        s.add(Event(ticket_id=ticket.id, at=now, actor=by, action="notified",
                    detail={"to": person.key, "channel": channel, "purpose": purpose}))
    return row


def new_ticket(s: Session, service, ticket: Ticket, msg, ident, now: datetime) -> list[str]:
    """Procedure S 7.1: the responsible person hears of a new ticket on their channel;
    urgent ones also by mail, phone number first (the procedure says: by phone);
    cancellations, new contacts and moved appointments go to the advisor directly too.
    Returns the keys of the people told."""
    from zoneinfo import ZoneInfo

    from bot.core import correlation

    rs = service.ruleset
    if not getattr(rs, "notify_staff", True):
        return []
    owner = rs.people.get(ticket.owner)
    kind = rs.kinds.get(ticket.kind)
    tz = ZoneInfo(rs.timezone)
    contact = ticket.contact
    advisor_key = ident.advisor if ident is not None else None
    advisor = rs.people.get(advisor_key) if advisor_key else None
    policy = rs.policy_for(ticket.kind)
    due = ticket.action_due_at
    context = {
        "tag": correlation.format_tag(service.settings.tag_prefix, ticket.id), "ticket": ticket.id,
        "subject": ticket.subject, "kind": (kind.label.get(rs.default_language) if kind else None)
        or ticket.kind, "urgent": ticket.urgent,
        "customer": ticket.customer or "", "contact_name": ticket.contact_name or "",
        "contact_email": ticket.contact_email or "",
        "phone": (contact.phone if contact is not None else None) or "",
        "advisor": advisor.name if advisor else "", "owner_name": owner.name if owner else ticket.owner,
        "due": when(due, tz, rs.default_language) if due else "",
        "expect": policy.name if policy else "",
        "text": (msg.visible_text or msg.text or "").strip()[:4000],
        "attachments": [a.filename for a in msg.attachments if a.filename and not a.inline],
        "rule": ticket.rule or "", "why": "", "is_owner": True,
    }
    told: list[str] = []
    if ticket.channel == "mail":  # a ticket opened in Slack has its thread already
        from bot.desk import slack_desk as slackdesk

        slackdesk.root_post(s, service, ticket, now)
    cancellation = kind is not None and kind.workflow == "cancellation"
    if owner is not None and not cancellation:  # a cancellation's owner gets the copy (S 3.4)
        row = tell(s, service, owner, now, purpose="new-ticket", template="new-ticket",
                   context=context, ticket=ticket)
        told.append(owner.key)
        if ticket.urgent and row.channel != "mail":  # urgent: a mail as well as the DM
            _mail_too(s, service, owner, now, context, ticket)
    also = (ticket.kind == "appointment" or cancellation
            or (ident is not None and ident.how == "new-contact-at-known-company"))
    if also and advisor is not None and advisor.key != ticket.owner:
        why = ("cancellation" if cancellation else "appointment"
               if ticket.kind == "appointment" else "new-contact")
        tell(s, service, advisor, now, purpose="advisor-copy", template="new-ticket",
             context={**context, "is_owner": False, "why": why}, ticket=ticket)
        told.append(advisor.key)
    return told


def mail_only(service):
    """The service as `tell` sees it, but telling everyone by mail."""
    class _MailOnly:
        slack_enabled = False

        def __getattr__(self, name):
            return getattr(service.settings, name)

    return type("MailOnly", (), {"settings": _MailOnly(), "ruleset": service.ruleset,
                                 "renderer": service.renderer})()


def _mail_too(s: Session, service, person: Person, now: datetime, context: dict,
              ticket: Ticket) -> None:
    tell(s, mail_only(service), person, now, purpose="urgent-mail", template="new-ticket",
         context=context, ticket=ticket)
