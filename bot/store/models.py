"""SQLAlchemy models, engine and sessions. One session per unit of work."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    relationship,
    sessionmaker,
)

from bot.core.domain import Channel, ContractStatus, OutboxStatus, Status
from bot.store import search_index


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, whatever the database keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), date: Date(), dict[str, Any]: JSON,
                           bytes: LargeBinary}


Id = BigInteger().with_variant(Integer, "sqlite")


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        # Exactly one responsible person, always (procedure 001): never null, never blank.
        CheckConstraint("owner <> ''", name="ck_ticket_owner_not_blank"),
        Index("ix_ticket_owner_status", "owner", "status"),  # one person's open tickets
        # the dashboard's open tickets (counts by owner, kind and SLA state; the oldest
        # complaints) from the index alone
        Index("ix_ticket_open_board", "status", "kind", "owner", "action_due_at", "created_at", "id"),
        Index("ix_ticket_status_id", "status", "id"),  # page N of a status, by number
        # the list sorted by due date or by last change, paged by keyset (board.find_tickets)
        Index("ix_ticket_due_id", "action_due_at", "id"),
        Index("ix_ticket_updated_id", "updated_at", "id"),
        # a deadline with what met it: SLA met this week and month from the index alone
        Index("ix_ticket_fa_due_done", "first_action_due_at", "first_action_at"),
        Index("ix_ticket_res_due_done", "resolution_due_at", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)  # the ticket number
    kind: Mapped[str] = mapped_column(String(40), default="question")
    status: Mapped[str] = mapped_column(String(20), default=Status.NEW)  # indexed with id (above)
    subject: Mapped[str] = mapped_column(Text, default="")
    customer: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    # where the customer asked to be answered (their mail's Reply-To: one person's
    # address, not ours, not a list); None: the contact address
    reply_to: Mapped[str | None] = mapped_column(String(320))
    owner: Mapped[str] = mapped_column(String(200))  # a person key; indexed with status (below)
    owner_role: Mapped[str | None] = mapped_column(String(40))  # the role it was routed by
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(10), default=Channel.MAIL)
    language: Mapped[str | None] = mapped_column(String(5))
    rule: Mapped[str | None] = mapped_column(String(200))  # the rule that routed it
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    action_due_at: Mapped[datetime | None]  # the owner must act by then (e.g. 24 h)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the kind's extra fields
    bounced: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    thread_index: Mapped[str | None] = mapped_column(String(200))  # Outlook conversation root
    # its header block as hex (core/mail/threadindex.conversation_key): Outlook replies
    # that carry nothing else of the conversation still find the ticket
    conversation: Mapped[str | None] = mapped_column(String(44), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)  # flood caps, reports
    updated_at: Mapped[datetime]
    first_action_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)  # resolved per week
    # SLA clocks (bot/core/time/sla_policy.py). The due columns are for people and reports; `sla_next_at`
    # is when the sweep must next look at this ticket (indexed: a sweep reads only what
    # is due, however many tickets there are). NULL: nothing pending.
    sla_policy: Mapped[str | None] = mapped_column(String(40))
    awaiting_since: Mapped[datetime | None]  # customer wrote after the first action
    next_action_cycle: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    waiting_since: Mapped[datetime | None]  # waiting on the customer since
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_action_due_at: Mapped[datetime | None] = mapped_column()  # dashboard, reports (indexed with its done time)
    next_action_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None] = mapped_column()  # dashboard, reports (indexed with its done time)
    sla_next_at: Mapped[datetime | None] = mapped_column(index=True)
    # Slack: the root message of the ticket's thread in the team channel.
    slack_channel: Mapped[str | None] = mapped_column(String(40))
    slack_ts: Mapped[str | None] = mapped_column(String(40), index=True)

    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="Message.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="ticket", order_by="Event.id", cascade="all, delete-orphan"
    )
    watchers: Mapped[list[Watcher]] = relationship(
        back_populates="ticket", order_by="Watcher.id", cascade="all, delete-orphan"
    )
    company: Mapped[Company | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    cancellation: Mapped[Cancellation | None] = relationship(back_populates="ticket")

    @property
    def number(self) -> int:
        return self.id

    @property
    def answer_to(self) -> str | None:
        """The address mail to the customer goes to: their Reply-To, else the contact."""
        return self.reply_to or self.contact_email


class SlaNotice(Base):
    """The ledger of SLA reminders and breaches: one row per (ticket, target, cycle,
    stage), so each is sent exactly once, across restarts, missed runs and two clocks
    sweeping at once (the unique key decides who sends)."""

    __tablename__ = "sla_notice"
    __table_args__ = (UniqueConstraint("ticket_id", "target", "cycle", "stage",
                                       name="uq_sla_notice_once"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", name="fk_sla_notice_ticket"))
    target: Mapped[str] = mapped_column(String(20))  # first_action | next_action | resolution
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(10))  # remind | breach
    due_at: Mapped[datetime]  # the deadline it was about
    fired_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(10), default="sent")  # sent | skipped
    recipients: Mapped[list | None] = mapped_column(JSON)


class Heartbeat(Base):
    """The health check's proof that the database can be written (not only read): each
    probe updates its process's row and commits."""

    __tablename__ = "heartbeat"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime]


class LoginToken(Base):
    """A one-time sign-in link for the web face (bot/desk/signin.py): only the hash of the
    token is kept; it is good once, until `expires_at`."""

    __tablename__ = "login_token"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person: Mapped[str] = mapped_column(String(200))  # a person key from rules.yaml
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ApiToken(Base):
    """A REST API token of one integration (bot/desk/api_tokens.py): only the SHA-256 of
    the token is kept; `scope` read (view only) or write (what a person may do)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # the integration
    scope: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Setting(Base):
    """Values the desk makes for itself and keeps, e.g. the web session key when
    TICKETBOT_SECRET_KEY is not set (never written to the repository or the log)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RunOnce(Base):
    """Jobs that must run once per due time (the weekly report for Monday 08:00, one
    contract-ending notice): whoever inserts the key does the work."""

    __tablename__ = "run_once"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime]
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DigestItem(Base):
    """A notice held for a person who reads their notices once a day (rules.yaml
    `notify: digest`, `digest_at`): rendered when it happened, sent with the others in
    that day's digest (bot/desk/digest.py), which sets `sent_at` and `outbox_id`."""

    __tablename__ = "digest_item"
    __table_args__ = (Index("ix_digest_item_person_sent", "person", "sent_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    purpose: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class Watcher(Base):
    """Someone informed about a ticket without being responsible for it."""

    __tablename__ = "watcher"
    __table_args__ = (UniqueConstraint("ticket_id", "person"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    person: Mapped[str] = mapped_column(String(200))

    ticket: Mapped[Ticket] = relationship(back_populates="watchers")


class Task(Base):
    """A piece of work with its own owner and due date, hanging off a ticket (e.g.
    "revoke the website access" after a lost cancellation)."""

    __tablename__ = "task"
    __table_args__ = (CheckConstraint("assignee <> ''", name="ck_task_assignee_not_blank"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    assignee: Mapped[str] = mapped_column(String(200), index=True)
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class Company(Base):
    __tablename__ = "company"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    advisor: Mapped[str | None] = mapped_column(String(200))  # a person key from rules.yaml
    website_access: Mapped[bool] = mapped_column(Boolean, default=False)
    prospect: Mapped[bool] = mapped_column(Boolean, default=False)  # first seen in a mail
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    domains: Mapped[list[CompanyDomain]] = relationship(
        back_populates="company", order_by="CompanyDomain.domain", cascade="all, delete-orphan")
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="company", order_by="Contact.email")
    contracts: Mapped[list[Contract]] = relationship(
        back_populates="company", order_by="Contract.id")


class CompanyDomain(Base):
    __tablename__ = "company_domain"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)  # lower case

    company: Mapped[Company] = relationship(back_populates="domains")


class Contact(Base):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower case
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(50))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    # the customer portal shows this contact all of the company's tickets, not only their own
    portal_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    company: Mapped[Company | None] = relationship(back_populates="contacts")


class PortalLink(Base):
    """A contact's personal link to the customer portal (bot/desk/portal.py): the link is
    signed with the desk's key and names a generation; only its SHA-256 is kept. Revoking
    ends every link of the contact (the next mail carries a new one)."""

    __tablename__ = "portal_link"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", name="fk_portal_link_contact"),
                                            unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime]  # the last mail that carried it: valid LINK_DAYS from then
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class Contract(Base):
    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    start: Mapped[date | None]
    end: Mapped[date | None]  # last day of the current term; None: open-ended
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=True)
    term_months: Mapped[int] = mapped_column(Integer, default=12)  # length of a renewal
    notice_months: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default=ContractStatus.ACTIVE)
    ends_on: Mapped[date | None]  # set when cancelled: the day it really ends
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    company: Mapped[Company] = relationship(back_populates="contracts")


class Cancellation(Base):
    """A written contract cancellation (procedure S 3.4) and its outcome."""

    __tablename__ = "cancellation"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), unique=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"), index=True)
    received_on: Mapped[date]
    in_time: Mapped[bool | None] = mapped_column(Boolean)  # None: no contract to judge by
    deadline: Mapped[date | None]  # the last day notice was in time for this term
    effective_end: Mapped[date | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(20), default="pending")  # pending|retained|lost
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]

    ticket: Mapped[Ticket] = relationship(back_populates="cancellation")
    contract: Mapped[Contract | None] = relationship()


class RawMail(Base):
    """Every inbound mail's bytes, kept; also the dedupe key so a mail is stored once."""

    __tablename__ = "raw_mail"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(200))  # imap:INBOX/123, smtp, file:path
    status: Mapped[str] = mapped_column(String(20))  # created|appended|ignored|quarantined
    error: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    received_at: Mapped[datetime]

    ticket: Mapped[Ticket | None] = relationship()


class Spool(Base):
    """Mail accepted by the SMTP server but not yet turned into a ticket.

    The SMTP server answers 250 once the bytes are committed here; the intake worker
    turns rows into tickets in batches and deletes each row in the same transaction.
    """

    __tablename__ = "spool"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]


class Message(Base):
    __tablename__ = "message"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    direction: Mapped[str] = mapped_column(String(5))  # Direction: in|out|note
    channel: Mapped[str] = mapped_column(String(10), default=Channel.MAIL)
    message_id: Mapped[str | None] = mapped_column(String(400), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[str | None] = mapped_column(Text)
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to_addrs: Mapped[str] = mapped_column(Text, default="")
    cc_addrs: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    visible_text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    auto_reason: Mapped[str | None] = mapped_column(String(200))
    is_bounce: Mapped[bool] = mapped_column(Boolean, default=False)
    warnings: Mapped[str | None] = mapped_column(Text)
    raw_mail_id: Mapped[int | None] = mapped_column(ForeignKey("raw_mail.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    sent_date: Mapped[datetime | None]
    created_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    outbox: Mapped[Outbox | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id", cascade="all, delete-orphan"
    )


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    filename: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    content_id: Mapped[str | None] = mapped_column(String(400))
    content: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[Message] = relationship(back_populates="attachments")


class TicketSearch(Base):
    """What full-text search looks in, one row per ticket (bot/store/search_index.py keeps
    it in step with every write): `head` the stemmed subject, customer and contact, `body`
    the stemmed messages and notes. SQLite indexes it with FTS5 (`ticket_fts`, an
    external-content table kept by triggers), PostgreSQL with a GIN-indexed tsvector
    column (`tsv`); both made by migration 0013, neither describable here (UNMODELLED)."""

    __tablename__ = "ticket_search"

    ticket_id: Mapped[int] = mapped_column(Id, ForeignKey("ticket.id", ondelete="CASCADE"),
                                           primary_key=True, autoincrement=False)
    head: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")


# Schema the migrations make that the models cannot say (migration checks leave them out):
# SQLite's FTS5 table with its shadow tables, PostgreSQL's tsvector column and its index.
UNMODELLED_TABLE_PREFIX = "ticket_fts"
UNMODELLED = {("column", "tsv"), ("index", "ix_ticket_search_tsv")}


def modelled(name: str | None, type_: str) -> bool:
    """False for schema objects of UNMODELLED (for Alembic's include_name)."""
    if type_ == "table" and name and name.startswith(UNMODELLED_TABLE_PREFIX):
        return False
    return (type_, name) not in UNMODELLED


class Event(Base):
    """Audit trail: who did what to a ticket, when and why."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket | None] = relationship(back_populates="events")


class Outbox(Base):
    """Outgoing mail and chat posts, written in the transaction that caused them.

    Mail is rendered when queued (subject, text, HTML, threading headers); the
    sender assembles the MIME bytes on delivery and keeps what it sent in ``payload``.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_auto_rcpt", "to_addr", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10), default=Channel.MAIL)
    purpose: Mapped[str] = mapped_column(String(40))  # ack, reply, notify, ...
    automatic: Mapped[bool] = mapped_column(Boolean, default=True)
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(400))
    template: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(5))
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.QUEUED)  # OutboxStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. Slack's channel and ts
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)  # notice caps
    sent_at: Mapped[datetime | None]


class WebhookSubscription(Base):
    """Where webhook events go (bot/desk/webhooks.py): the subscriptions of rules.yaml
    (source "rules", kept in step with the file, read-only) and those added through the
    desk (the API). Also each one's delivery health: failing since when, disabled."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list] = mapped_column(JSON)
    secret_env: Mapped[str] = mapped_column(String(100))  # the variable holding the secret
    source: Mapped[str] = mapped_column(String(20), default="rules")  # rules | desk
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    failing_since: Mapped[datetime | None]  # the first failure since the last success
    last_error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]  # set after TICKETBOT_WEBHOOK_DISABLE_DAYS of failure


class InvoiceHold(Base):
    """An invoice kept from collection while a complaint about it is open (aftersales
    procedure 001, receivables): from the customer's text, a ticket field or by hand;
    resolving the ticket releases it."""

    __tablename__ = "invoice_hold"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    invoice: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # text | field | hand
    held_at: Mapped[datetime]
    held_by: Mapped[str] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(index=True)  # NULL: still held
    released_by: Mapped[str | None] = mapped_column(String(200))


class TimeEntry(Base):
    """Time a person spent on a ticket (aftersales procedure 001)."""

    __tablename__ = "time_entry"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    person: Mapped[str] = mapped_column(String(200), index=True)  # a person key, or who logged it
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(10))  # cli | slack | mail | web
    at: Mapped[datetime] = mapped_column(index=True)  # when it was logged: the month it counts in


class IMAPState(Base):
    """Where the poller is in each folder: UIDVALIDITY and the highest UID handled."""

    __tablename__ = "imap_state"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account: Mapped[str] = mapped_column(String(400), unique=True)  # user@host/folder
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]
    # UIDs up to this one were in the folder when its UIDVALIDITY was first seen: of those
    # only the unseen are handled (claims, bot/desk/mailbox_claims.py)
    rescan_to: Mapped[int | None] = mapped_column(BigInteger)


class IMAPClaim(Base):
    """A range of UIDs of an IMAP folder claimed by one worker process, so several workers
    on one mailbox split the mail (bot/desk/mailbox_claims.py). Ranges follow each other
    from the folder's `imap_state.last_uid`; a claim is done once its tickets are committed
    and its mail marked, and deleted once the mark has passed it. An unfinished claim
    whose lease (`claimed_until`) has run out is taken over by another worker."""

    __tablename__ = "imap_claim"
    __table_args__ = (UniqueConstraint("account", "uidvalidity", "first_uid"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account: Mapped[str] = mapped_column(String(400))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    first_uid: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    claimed_by: Mapped[str] = mapped_column(String(200))
    claimed_until: Mapped[datetime]
    done_at: Mapped[datetime | None]


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=_dumps, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, json_serializer=_dumps, pool_pre_ping=True, **kw)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    maker = sessionmaker(engine, expire_on_commit=False)
    event.listen(maker, "before_flush", _fit_strings)
    event.listen(maker, "after_flush", search_index.after_flush)  # full-text search in step
    return maker


_STRING_COLUMNS: dict[type, list[tuple[str, int | None]]] = {}


def _string_columns(cls: type) -> list[tuple[str, int | None]]:
    """(attribute, length or None) of every text column of a mapped class."""
    found = _STRING_COLUMNS.get(cls)
    if found is None:
        found = []
        for prop in inspect(cls).column_attrs:  # type: ignore[var-annotated]
            column_type = prop.columns[0].type
            if isinstance(column_type, String):
                found.append((prop.key, column_type.length))
        _STRING_COLUMNS[cls] = found
    return found


def _fit_strings(session, flush_context, instances) -> None:
    """Every text value fits its column before it is written, on every database: cut to
    the column's length, NUL characters and lone surrogates removed (PostgreSQL refuses
    them; SQLite would keep them). What a mail holds is never a reason it cannot be
    stored: its raw bytes are kept whole, in a binary column."""
    for obj in (*session.new, *session.dirty):
        for key, length in _string_columns(type(obj)):
            value = obj.__dict__.get(key)
            if not isinstance(value, str):
                continue
            fitted = _fit(value, length)
            if fitted is not value and fitted != value:
                setattr(obj, key, fitted)


def fit_row(cls: type, row: dict[str, Any]) -> dict[str, Any]:
    """What `_fit_strings` does at a flush, for a row written by a bulk INSERT (which
    does not flush): the row with its text values fitted to their columns."""
    for key, length in _string_columns(cls):
        value = row.get(key)
        if isinstance(value, str):
            row[key] = _fit(value, length)
    return row


def _fit(value: str, length: int | None) -> str:
    fitted = value
    if "\x00" in fitted:
        fitted = fitted.replace("\x00", "")
    if not fitted.isascii():
        fitted = fitted.encode("utf-8", "replace").decode("utf-8")
    if length is not None and len(fitted) > length:
        fitted = fitted[:length]
    return fitted
