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

from bot.db import Event, Outbox, Ticket
from bot.mailout import build_mail, new_message_id
from bot.rules import Person, RuleSet


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
