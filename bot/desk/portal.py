"""The customer portal, the desk side: personal links, who a link is, and what a customer
sees. The changes a customer makes there (reply, new request, "solved" / "not solved")
are desk actions (bot/desk/actions.py, `portal_*`); this module only reads, and keeps the
links.

- A link is per contact, signed and revocable: ``/portal/k/<contact>.<generation>.<sig>``,
  where ``sig`` is an HMAC of contact and generation under the desk's secret key. Only its
  SHA-256 is stored (``portal_link``, one row per contact). Every acknowledgement and
  staff reply carries it (when TICKETBOT_WEB_URL says where the portal is); it stays
  valid LINK_DAYS after the last mail that carried it. Revoking (``ticketbot portal revoke
  ADDRESS``) ends every link of the contact at once, open portal sessions included; the
  next mail to the contact carries a new one.
- A new link by mail: whoever asks gets the same answer; only a contact's own address
  gets a mail (through the outbox).
- What a customer sees: their own tickets (by contact or address), or all of their
  company's when the contact is its portal admin; of a ticket only the conversation with
  the customer (their messages and our acknowledgement, replies and "resolved" mails),
  never notes, events, mail to colleagues, or a reply still in its undo window.
"""

from __future__ import annotations

import base64
import email.policy
import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.core.domain import Direction, OutboxStatus, Status
from bot.core.mail.addresses import is_robot
from bot.core.mail.compose import new_message_id
from bot.desk.actor import Actor, Verb, check, check_customer, customer_may_see
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.signin import SECRET_SETTING
from bot.desk.sla_state import insert_once
from bot.desk.views import iso, valid_number
from bot.store.models import Attachment, Contact, Message, Outbox, PortalLink, Setting, Ticket

log = logging.getLogger("bot.portal")

LINK_DAYS = 365  # a link works this long after the last mail that carried it
CUSTOMER_PURPOSES = ("ack", "reply", "resolved")  # our mails the customer sees in the portal
KINDS = ("question", "complaint", "invoice", "technical", "cancellation")  # a new request's kinds
MAX_FILES_BYTES = 10 * 1024 * 1024  # attachments of one portal message, together
MAX_FILES = 10
MAX_TEXT = 50_000
LANGUAGES = ("nl", "en", "pl", "de")
TOKEN = re.compile(r"/portal/k/[0-9]+\.[0-9]+\.[A-Za-z0-9_-]+")  # a link's token, wherever it is quoted


# ------------------------------------------------------------------ links
def _secret(s: Session, desk: Desk) -> bytes:
    """The key links are signed with: derived from the web face's secret key (so links
    die with it, when it is changed)."""
    key = desk.settings.secret_key
    if not key:
        row = s.get(Setting, SECRET_SETTING)
        if row is None:
            insert_once(s, Setting.__table__, {"key": SECRET_SETTING, "value": secrets.token_urlsafe(48)})
            row = s.get(Setting, SECRET_SETTING)
        assert row is not None
        key = row.value
    return hashlib.sha256(b"ticketbot portal link\0" + key.encode()).digest()


def _token(secret: bytes, contact_id: int, generation: int) -> str:
    mac = hmac.new(secret, f"{contact_id}:{generation}".encode(), hashlib.sha256).digest()
    return f"{contact_id}.{generation}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_for(s: Session, desk: Desk, contact: Contact, now: datetime, base: str | None = None) -> str | None:
    """The contact's personal portal link (made on first use, renewed by each mail that
    carries it); None when the web face's address is not configured (TICKETBOT_WEB_URL):
    a link to localhost in a customer's mail would help nobody."""
    base = base or desk.settings.web_url
    if not base or contact.id is None:
        return None
    secret = _secret(s, desk)
    row = s.scalar(select(PortalLink).where(PortalLink.contact_id == contact.id))
    if row is None:
        row = PortalLink(contact_id=contact.id, generation=1, created_at=now, sent_at=now)
        s.add(row)
    elif row.revoked_at is not None:  # a new generation: the revoked links stay dead
        row.generation += 1
        row.revoked_at = row.revoked_by = None
        row.created_at = now
    token = _token(secret, contact.id, row.generation)
    row.token_hash = _hash(token)  # also after the secret key was changed
    row.sent_at = now
    return f"{base.rstrip('/')}/portal/k/{token}"


def masked(link: str) -> str:
    """A link as the ticket's copy of the mail keeps it: the token left out."""
    return TOKEN.sub("/portal/k/…", link)


def _valid(s: Session, desk: Desk, contact_id: int, generation: int, now: datetime,
           token: str | None = None) -> PortalLink | None:
    row = s.scalar(select(PortalLink).where(PortalLink.contact_id == contact_id))
    if row is None or row.revoked_at is not None or row.generation != generation:
        return None
    if token is not None and not hmac.compare_digest(row.token_hash, _hash(token)):
        return None
    if row.sent_at + timedelta(days=LINK_DAYS) <= now:
        return None
    return row


def _parse(token: str) -> tuple[int, int] | None:
    parts = token.split(".") if token and len(token) <= 120 else []
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    contact_id, generation = int(parts[0]), int(parts[1])
    return (contact_id, generation) if valid_number(contact_id) and valid_number(generation) else None


def redeem(desk: Desk, token: str) -> tuple[int, int] | None:
    """(contact id, generation) of a valid link, for the portal session; None for a
    forged, revoked, expired or unknown one."""
    parsed = _parse(token)
    if parsed is None:
        return None
    contact_id, generation = parsed
    now = desk.clock()
    with desk.uow.write() as s:  # write: the desk's secret key may be made on first use
        expected = _token(_secret(s, desk), contact_id, generation)
        if not hmac.compare_digest(expected, token):
            return None
        if _valid(s, desk, contact_id, generation, now, token) is None:
            return None
    return parsed


def session_actor(desk: Desk, contact_id: int, generation: int) -> Actor | None:
    """The customer of a portal session, while its link is still valid (a revoked link
    ends its sessions too)."""
    if not valid_number(contact_id):
        return None
    with desk.uow.read() as s:
        if _valid(s, desk, contact_id, generation, desk.clock()) is None:
            return None
        contact = s.get(Contact, contact_id)
        return Actor.for_contact(contact) if contact is not None else None


def request_link(desk: Desk, email: str, language: str | None) -> bool:
    """Mail a contact their portal link; True when one was queued (the caller must not
    tell the visitor which). Revoked links stay dead: the mail carries a new one."""
    email = (email or "").strip().lower()
    if not email or len(email) > 320 or "@" not in email:
        return False
    now = desk.clock()
    settings = desk.settings
    with desk.uow.write() as s:
        contact = s.scalar(select(Contact).where(Contact.email == email))
        if contact is None:
            log.info("portal: a link was asked for an address that is no contact's")
            return False
        if is_robot(contact.email):
            # nobody reads noreply@: a web form's tickets (the customer in its Reply-To)
            # are the customers', and whoever holds that domain must not read them
            log.info("portal: a link was asked for a robot's address (contact %s)", contact.id)
            return False
        link = link_for(s, desk, contact, now, base=settings.public_url)
        # the language of their mails; a contact without tickets: the page's
        lang = _ticket_language(s, contact) or (language if language in LANGUAGES else None) \
            or language_of(s, desk, contact)
        rendered = desk.renderer.render_mail("portal-link", lang, {
            "name": contact.name or "", "link": link, "days": LINK_DAYS, "desk": settings.address_name})
        mid = new_message_id(settings.mail_domain, None)
        headers = {"automatic": True, "language": rendered.language, "thread_topic": rendered.subject}
        s.add(Outbox(ticket_id=None, channel="mail", purpose="portal-link", automatic=True,
                     to_addr=contact.email, subject=rendered.subject, message_id=mid,
                     template="portal-link", language=rendered.language, body_text=rendered.text,
                     body_html=rendered.html, headers=headers, status=OutboxStatus.QUEUED, attempts=0,
                     next_attempt_at=now, created_at=now))
    log.info("portal: link mailed to contact %s", contact.id)
    return True


def revoke(desk: Desk, actor: Actor, who: str) -> bool:
    """End every portal link of a contact (by address or id); False when they had none."""
    check(actor, Verb.DIRECTORY)
    now = desk.clock()
    with desk.uow.write() as s:
        contact = _contact(s, who)
        row = s.scalar(select(PortalLink).where(PortalLink.contact_id == contact.id))
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at, row.revoked_by = now, actor.key
        log.info("portal: links of contact %s revoked by %s", contact.id, actor.key)
        return True


def set_admin(desk: Desk, actor: Actor, who: str, admin: bool) -> dict[str, Any]:
    """Mark a contact as their company's portal admin (sees all the company's tickets)."""
    check(actor, Verb.DIRECTORY)
    now = desk.clock()
    with desk.uow.write() as s:
        contact = _contact(s, who)
        if admin and contact.company_id is None:
            raise Refused(f"{contact.email} belongs to no company: there is nothing to administer")
        if contact.portal_admin != admin:
            contact.portal_admin = admin
            contact.updated_at = now
        return contact_dict(s, contact)


def contacts(desk: Desk, actor: Actor) -> list[dict[str, Any]]:
    """Every contact with a portal link or portal admin rights (`ticketbot portal list`)."""
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        q = (select(Contact).outerjoin(PortalLink, PortalLink.contact_id == Contact.id)
             .where(or_(PortalLink.id.is_not(None), Contact.portal_admin.is_(True))).order_by(Contact.email))
        return [contact_dict(s, c) for c in s.scalars(q)]


def contact_dict(s: Session, c: Contact) -> dict[str, Any]:
    row = s.scalar(select(PortalLink).where(PortalLink.contact_id == c.id))
    return {"email": c.email, "name": c.name, "company": c.company.name if c.company else None,
            "portal_admin": bool(c.portal_admin),
            "link": None if row is None else ("revoked" if row.revoked_at else "active"),
            "link_sent": iso(row.sent_at) if row else None, "revoked": iso(row.revoked_at) if row else None}


def _contact(s: Session, who: str) -> Contact:
    who = (who or "").strip().lower()
    contact = (s.get(Contact, int(who)) if who.isdigit() and valid_number(int(who))
               else s.scalar(select(Contact).where(Contact.email == who)))
    if contact is None:
        raise Refused(f"no contact {who!r}")
    return contact


def _ticket_language(s: Session, contact: Contact) -> str | None:
    lang = s.scalar(select(Ticket.language).where(
        or_(Ticket.contact_id == contact.id, func.lower(Ticket.contact_email) == contact.email))
        .order_by(Ticket.id.desc()).limit(1))
    return lang[:2].lower() if lang else None


def language_of(s: Session, desk: Desk, contact: Contact) -> str:
    """The language of the contact's mails: their latest ticket's detected language."""
    lang = _ticket_language(s, contact) or (desk.ruleset.default_language or "en")[:2].lower()
    return lang if lang in LANGUAGES else "en"


def language(desk: Desk, actor: Actor) -> str:
    check_customer(actor, Verb.PORTAL_VIEW)
    assert actor.customer is not None
    with desk.uow.read() as s:
        contact = s.get(Contact, actor.customer.contact_id)
        return language_of(s, desk, contact) if contact is not None else "en"


# ------------------------------------------------------------------ what the customer sees
def _visible(actor: Actor):
    c = actor.customer
    assert c is not None
    cond = or_(Ticket.contact_id == c.contact_id, func.lower(Ticket.contact_email) == c.email)
    if c.admin and c.company_id is not None:
        cond = or_(cond, Ticket.company_id == c.company_id)
    return cond


def customer_ticket(s: Session, actor: Actor, number: int) -> Ticket:
    """The ticket, when this customer may see it; otherwise "no ticket N", exactly as for
    a number that does not exist (a guessed number tells nothing)."""
    t = s.get(Ticket, number) if valid_number(number) else None
    if t is None or not customer_may_see(actor, t):
        raise Refused(f"no ticket {number}")
    return t


def my_tickets(desk: Desk, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    check_customer(actor, Verb.PORTAL_VIEW)
    with desk.uow.read() as s:
        rows = s.scalars(select(Ticket).where(_visible(actor))
                         .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit))
        return [_ticket_head(desk, t) for t in rows if customer_may_see(actor, t)]


def _ticket_head(desk: Desk, t: Ticket) -> dict[str, Any]:
    return {"number": t.id, "tag": desk.tag(t.id), "subject": t.subject, "status": str(t.status),
            "kind": t.kind, "contact": t.contact_name or t.contact_email or "", "created": t.created_at,
            "updated": t.updated_at, "resolved": t.resolved_at}


def _shown(m: Message, outbox: dict[int, Outbox], now: datetime) -> bool:
    if m.direction == Direction.IN:
        return not m.is_bounce
    if m.direction != Direction.OUT or m.outbox_id is None:
        return False
    row = outbox.get(m.outbox_id)
    if row is None or row.purpose not in CUSTOMER_PURPOSES or row.status == OutboxStatus.CANCELLED:
        return False
    # a reply still in its undo window (Slack) may yet be taken back
    return not (row.status == OutboxStatus.QUEUED and row.next_attempt_at > now)


def shown_text(m: Message) -> str:
    """A message's words for the portal: our mails without the footer that carries the
    personal link, and no link token anywhere (a customer may quote our mail)."""
    text = m.visible_text or m.text or ""
    if m.direction == Direction.OUT and "/portal/k/" in text and "\n-- \n" in text:
        text = text[:text.rindex("\n-- \n")].rstrip()
    return TOKEN.sub("/portal/k/…", text)


def ticket_view(desk: Desk, actor: Actor, number: int) -> dict[str, Any] | None:
    """One ticket as its customer sees it: the conversation, without internal notes,
    events or mail to colleagues; None when there is no such ticket *for this customer*."""
    check_customer(actor, Verb.PORTAL_VIEW)
    now = desk.clock()
    with desk.uow.read() as s:
        try:
            t = customer_ticket(s, actor, number)
        except Refused:
            return None
        outbox = {o.id: o for o in s.scalars(select(Outbox).where(Outbox.ticket_id == t.id))}
        d = _ticket_head(desk, t)
        d["messages"] = [{
            "id": m.id, "ours": m.direction == Direction.OUT,
            "from": (desk.settings.address_name if m.direction == Direction.OUT
                     else m.from_name or m.from_addr),
            "date": m.sent_date if m.direction == Direction.IN and m.sent_date else m.created_at,
            "text": shown_text(m),
            "attachments": [{"id": a.id, "name": a.filename or f"attachment-{a.id}", "size": a.size}
                            for a in m.attachments if not a.inline],
        } for m in t.messages if _shown(m, outbox, now)]
        d["may_decide"] = t.status == Status.RESOLVED
        return d


def attachment(desk: Desk, actor: Actor, number: int, attachment_id: int) -> dict[str, Any] | None:
    """A file of a message the customer sees on their ticket; None otherwise."""
    check_customer(actor, Verb.PORTAL_VIEW)
    if not valid_number(attachment_id):
        return None
    now = desk.clock()
    with desk.uow.read() as s:
        try:
            t = customer_ticket(s, actor, number)
        except Refused:
            return None
        a = s.get(Attachment, attachment_id)
        if a is None or a.message.ticket_id != t.id:
            return None
        outbox = {o.id: o for o in s.scalars(select(Outbox).where(Outbox.ticket_id == t.id))}
        if not _shown(a.message, outbox, now):
            return None
        return {"name": a.filename or f"attachment-{a.id}", "type": a.content_type or "",
                "size": a.size, "content": a.content or b""}


# ------------------------------------------------------------------ a customer's message
def check_files(files: list[tuple[str, str, bytes]]) -> None:
    if len(files) > MAX_FILES:
        raise Refused(f"at most {MAX_FILES} files")
    if sum(len(f[2]) for f in files) > MAX_FILES_BYTES:
        raise Refused(f"the files are larger than {MAX_FILES_BYTES // (1024 * 1024)} MB together")


def as_mail(desk: Desk, actor: Actor, subject: str, text: str, files: list[tuple[str, str, bytes]],
            now: datetime, thread: list[str] | None = None) -> bytes:
    """What the customer wrote in the portal, as the mail they could have sent: the desk
    takes it in exactly like one (intake: correlation, reopen rules, routing, the Slack
    thread, the acknowledgement). A person's mail: no Auto-Submitted, no X-Loop."""
    c = actor.customer
    assert c is not None
    thread = [t for t in (thread or []) if t and " " not in t and "<" not in t and ">" not in t][-20:]
    ascii_only = c.email.isascii()
    msg = EmailMessage(policy=email.policy.SMTP if ascii_only else email.policy.SMTPUTF8)
    msg["From"] = Address(display_name=c.name, addr_spec=c.email)
    msg["To"] = Address(display_name=desk.settings.address_name, addr_spec=desk.settings.address)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{new_message_id(desk.settings.mail_domain, None).replace('tb-', 'portal-', 1)}>"
    if thread:
        msg["In-Reply-To"] = f"<{thread[-1]}>"
        msg["References"] = " ".join(f"<{t}>" for t in thread)
    msg["X-Ticketbot-Portal"] = str(c.contact_id)
    msg.set_content(text or "-", charset="utf-8", cte="quoted-printable")
    for filename, content_type, data in files:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()
