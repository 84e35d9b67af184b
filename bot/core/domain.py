"""Plain values shared by every layer. No I/O, no SQLAlchemy, no transport."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Status(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"  # waiting on the customer
    RESOLVED = "resolved"
    CLOSED = "closed"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    NOTE = "note"


class Channel(enum.StrEnum):
    MAIL = "mail"
    SLACK = "slack"
    WEBHOOK = "webhook"  # outbox only: a signed POST to a subscription (bot/desk/webhooks.py)


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # a Slack reply deleted within its undo window


class ContractStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"  # a lost customer: ends on its effective end
    ENDED = "ended"


CLOSED = (Status.RESOLVED, Status.CLOSED)

# Routing and language detection read at most this much of a mail's text: enough for
# any message a person writes, and a 25 MB mail costs no more to route than a short one.
READ_LIMIT = 64 * 1024


@dataclass
class Attachment:
    filename: str | None
    content_type: str
    content: bytes
    inline: bool = False
    content_id: str | None = None  # without <>
    # the text of an attached letter (PDF), for routing (bot/core/mail/attachment_text.py);
    # None: not read (not a PDF, or not tried)
    text: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class InboundMessage:
    """One message as read from any transport, before it touches the database.

    Addresses are lower-cased bare addresses ("a@b.nl"); message ids are bare
    (no angle brackets). ``text`` is the full body as text (HTML turned into text
    when there is no plain part); ``visible_text`` is what people should read:
    quoted history and signature removed.
    """

    channel: Channel = Channel.MAIL
    raw: bytes | None = None
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_addr: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    html: str | None = None
    visible_text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    # Headers that matter for loop safety and threading, lower-cased names.
    headers: dict[str, str] = field(default_factory=dict)
    # None when the mail has no Return-Path header; "" for the null sender "<>".
    return_path: str | None = None
    # Why no automatic mail may be sent to this sender (None: a person wrote it).
    auto_reason: str | None = None
    is_bounce: bool = False
    # any delivery-status report (failed, delayed, delivered, relayed): never a ticket
    is_delivery_report: bool = False
    # For a delivery report: the Message-IDs of the mail(s) it reports on.
    bounced_message_ids: list[str] = field(default_factory=list)
    language: str | None = None  # "nl", "en", "pl", "de" or None when unsure
    # a language the desk does not write that the mail is sure to be in ("it", "ja", or
    # "other script"): the acknowledgement goes in English then, not the desk's default
    other_language: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Slack-specific (set by the Slack adapter, unused for mail)
    slack_channel: str | None = None
    slack_ts: str | None = None


class UnreadableMail(Exception):
    """Raised by the parser when the bytes are not a mail at all (quarantine them)."""
