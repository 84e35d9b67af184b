"""Mail to customers and colleagues, written to the outbox inside the caller's
transaction and recorded on the ticket, threaded with the conversation: the
acknowledgement, staff replies, "resolved", the cancellation copy, the revoke task.
Nothing here sends: the outbox sender (bot/delivery/outbox.py) does, after commit."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.domain import Channel, Direction, OutboxStatus
from bot.core.mail import threadindex
from bot.core.mail.compose import new_message_id
from bot.core.mail.quotes import signs_off
from bot.core.time.humanize import format_date
from bot.desk import cancellation_workflow as cancellations
from bot.desk import portal
from bot.desk.context import Desk
from bot.desk.events import record
from bot.store.models import Cancellation, Message, Outbox, Task, Ticket

log = logging.getLogger("bot.ingest")


class Threadable(Protocol):
    """What a mail we send is threaded to: a parsed inbound message, or a stored one."""

    message_id: str | None
    references: list[str]
    headers: dict[str, str]


class StoredThread:
    """A stored inbound message, shaped like the parsed one queue_mail threads to."""

    def __init__(self, m: Message):
        # an id too long to store is kept as its hash (correlation.stored_id): not an id to
        # write into In-Reply-To
        self.message_id = m.message_id if m.message_id and " " not in m.message_id else None
        self.references = (m.references or "").split()
        self.headers: dict[str, str] = {}


def last_inbound(s: Session, t: Ticket) -> StoredThread | None:
    """The customer's last message, for threading what we send them."""
    last_in = s.scalars(select(Message).where(Message.ticket_id == t.id,
                                              Message.direction == Direction.IN)
                        .order_by(Message.id.desc())).first()
    return StoredThread(last_in) if last_in is not None else None


def queue_mail(s: Session, desk: Desk, ticket: Ticket, now: datetime, *, purpose: str,
               template: str, to_addr: str, context: dict[str, Any], automatic: bool,
               reply_to: Threadable | None = None, language: str | None = None) -> Outbox:
    """Write an outgoing mail to the outbox and record it on the ticket, threaded."""
    settings = desk.settings
    mid = new_message_id(settings.mail_domain, ticket.id)
    refs: list[str] = []
    in_reply_to = None
    parent_index = None
    if reply_to is not None:
        refs = [*reply_to.references, *([reply_to.message_id] if reply_to.message_id else [])]
        in_reply_to = reply_to.message_id
        parent_index = reply_to.headers.get("thread-index")
    if parent_index and threadindex.is_valid(parent_index):
        index = threadindex.child_thread_index(parent_index, now)
    else:
        index = threadindex.child_thread_index(
            ticket.thread_index or threadindex.new_thread_index(ticket.created_at), now)
    headers = {"in_reply_to": in_reply_to, "references": refs, "thread_index": index,
               "thread_topic": ticket.subject, "automatic": automatic,
               "language": language or ticket.language}
    rendered = desk.renderer.render_mail(template, language or ticket.language, context)
    row = Outbox(ticket_id=ticket.id, channel=Channel.MAIL, purpose=purpose, automatic=automatic,
                 to_addr=to_addr, subject=rendered.subject, message_id=mid,
                 template=template, language=rendered.language, body_text=rendered.text,
                 body_html=rendered.html, headers=headers, status=OutboxStatus.QUEUED,
                 attempts=0, next_attempt_at=now, created_at=now)
    s.add(row)
    if automatic and "auto_sent" in s.info:
        counts = s.info["auto_sent"]
        counts[to_addr] = counts.get(to_addr, 0) + 1
    # the ticket's copy (the dossier, Slack, the API) without the customer's personal
    # portal link: whoever reads the dossier must not be able to act as the customer
    text, html = rendered.text, rendered.html
    link = context.get("portal_link")
    if link:
        text = text.replace(link, portal.masked(link))
        html = html.replace(link, portal.masked(link)) if html is not None else None
    s.add(Message(ticket_id=ticket.id, direction=Direction.OUT, channel=Channel.MAIL,
                  message_id=mid, in_reply_to=in_reply_to, references=" ".join(refs) or None,
                  from_addr=settings.address, from_name=settings.address_name,
                  to_addrs=to_addr, cc_addrs="", subject=rendered.subject,
                  text=text, visible_text=text, html=html,
                  outbox=row, created_at=now))
    return row


def portal_link(s: Session, desk: Desk, ticket: Ticket, now: datetime) -> str | None:
    """The customer's personal portal link for a mail about this ticket: only to the
    contact's own address (not to a Reply-To elsewhere), and only when the web face's
    address is configured (bot/desk/portal.py)."""
    contact = ticket.contact
    if contact is None or not ticket.answer_to or ticket.answer_to.lower() != contact.email.lower():
        return None
    return portal.link_for(s, desk, contact, now)


# ------------------------------------------------------------------ automatic mail
def auto_sent(s: Session, addrs: set[str], now: datetime) -> dict[str, int]:
    """Automatic mails sent to each address in the last 24 h."""
    if not addrs:
        return {}
    with s.no_autoflush:
        rows = s.execute(select(Outbox.to_addr, func.count(Outbox.id)).where(
            Outbox.to_addr.in_(addrs), Outbox.automatic.is_(True),
            Outbox.created_at > now - timedelta(hours=24)).group_by(Outbox.to_addr)).all()
    counts = dict.fromkeys(addrs, 0)
    counts.update(dict(rows))
    return counts


def no_auto_mail_reason(s: Session, desk: Desk, sender: str, auto_reason: str | None,
                        now: datetime) -> str | None:
    """Why no automatic mail may go to ``sender`` (the address it would go to) now
    (None: it may)."""
    if auto_reason:
        return f"automatic mail ({auto_reason})"
    if not sender:
        return "no sender address"
    limit = desk.settings.auto_reply_limit
    counts = s.info.get("auto_sent")
    if counts is None or sender not in counts:
        counts = s.info.setdefault("auto_sent", {})
        counts.update(auto_sent(s, {sender}, now))
    sent = counts[sender]
    if sent >= limit:
        return f"rate limit: {sent} automatic mails to {sender} in 24 h"
    return None


def acknowledge(s: Session, desk: Desk, ticket: Ticket, msg, now: datetime,
                template: str | bool = "ack", extra: dict[str, Any] | None = None) -> None:
    """The customer's acknowledgement of a new ticket, unless the rule, the channel, a
    loop or the rate limit says no (then the ticket says why)."""
    # the most basic reason first: a machine's mail is never answered, whatever the rule;
    # the rate limit counts the address the mail goes to (a Reply-To, else From): a web
    # form's noreply@ sender must not let anyone send more acknowledgements to one person
    to_addr = ticket.answer_to or msg.from_addr
    why_not = ("opened in Slack: answered in its thread" if msg.channel == Channel.SLACK
               else no_auto_mail_reason(s, desk, to_addr, msg.auto_reason, now)
               or ("the rule that routed it sends none" if template is False else None))
    if why_not:
        record(s, ticket, now, "system", "ack-skipped", None, why_not)
        log.info("ticket %s: no acknowledgement (%s)", ticket.id, why_not)
        return
    queue_mail(
        s, desk, ticket, now, purpose="ack",
        template=template if isinstance(template, str) else "ack",
        to_addr=to_addr, automatic=True, reply_to=msg,
        context={"tag": desk.tag(ticket.id), "subject": ticket.subject, "name": msg.from_name,
                 "desk": desk.settings.address_name, "ticket": ticket.id,
                 "portal_link": portal_link(s, desk, ticket, now), **(extra or {})},
    )


# ------------------------------------------------------------------ to the customer
def reply_context(desk: Desk, t: Ticket, text: str, by: str) -> dict[str, Any]:
    """What templates/mail/reply.* needs: the staff member's words and name, and
    whether their words sign off already (then the template adds no second closing)."""
    person = desk.ruleset.people.get(by)
    return {"tag": desk.tag(t.id), "subject": t.subject, "text": text.strip(),
            "signed": signs_off(text),
            "staff_name": person.name if person else by,
            "desk": desk.settings.address_name, "name": t.contact_name or ""}


def resolved_mail(s: Session, desk: Desk, t: Ticket, now: datetime, note: str | None) -> None:
    """Procedure 003: the customer decides: "resolved, reply if it is not"."""
    queue_mail(
        s, desk, t, now, purpose="resolved", template="resolved", to_addr=t.answer_to or "",
        automatic=False, reply_to=last_inbound(s, t),
        context={"tag": desk.tag(t.id), "subject": t.subject, "name": t.contact_name or "",
                 "desk": desk.settings.address_name, "note": note or "",
                 "reopen_days": desk.settings.reopen_days, "portal_link": portal_link(s, desk, t, now)})


# ------------------------------------------------------------------ to colleagues
def cancellation_copy(s: Session, desk: Desk, ticket: Ticket, c: Cancellation, msg,
                      now: datetime) -> None:
    """Procedure S 3.4: a copy of the cancellation goes to the advisor."""
    rs = desk.ruleset
    person = rs.people.get(ticket.owner)
    if person is None:
        return
    lang = rs.language_of(person)
    queue_mail(
        s, desk, ticket, now, purpose="cancellation-copy", template="cancellation-copy",
        to_addr=person.email, automatic=False, reply_to=msg, language=lang,
        context={"tag": desk.tag(ticket.id), "subject": ticket.subject,
                 "dossier": desk.dossier_url(ticket.id), "access": person.access,
                 **cancellations.copy_context(c, ticket, rs, msg, lang, rs.timezone)})


def tell_revoke(s: Session, desk: Desk, ticket: Ticket, c: Cancellation, now: datetime) -> None:
    """Procedure S 3.4: sales support is told, so the website access is revoked."""
    rs = desk.ruleset
    task = s.scalars(select(Task).where(Task.ticket_id == ticket.id,
                                        Task.kind == "revoke-website-access")
                     .order_by(Task.id.desc())).first()
    person = rs.people.get(task.assignee) if task else None
    if task is None or person is None or task.due_at is None:
        return
    lang = rs.language_of(person)
    due = task.due_at.astimezone(desk.tz)
    queue_mail(
        s, desk, ticket, now, purpose="task", template="revoke-access", to_addr=person.email,
        automatic=False, language=lang,
        context={"tag": desk.tag(ticket.id), "access": person.access,
                 "assignee_name": person.name, "customer": ticket.customer or ticket.contact_email,
                 "decided_by": c.decided_by, "reason": c.outcome_reason or "",
                 "contract": c.contract.reference if c.contract else None,
                 "effective_end": format_date(c.effective_end, lang),
                 "due": f"{format_date(due.date(), lang)} {due:%H:%M}", "task": task.id})
