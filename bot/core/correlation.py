"""Which ticket a message belongs to. Pure: lookups are passed in as functions."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Generic, TypeVar

from bot.core.domain import CLOSED, InboundMessage
from bot.core.mail import threadindex

# Reply and forward prefixes in the languages our customers' mail clients use:
# en Re/Fwd/Fw, nl Antw/Doorst, de AW/WG, pl Odp/PD, sv/da SV, fr TR, and Outlook's RE[2]:
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|odp|antw|antwoord|sv|vs|wg|fw|fwd|tr|pd|doorst|rif|r)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)


@lru_cache(maxsize=16)
def _tag_re(prefix: str) -> re.Pattern[str]:
    # Tolerant of spacing, '#', '-', ':' and a truncated closing bracket: "[TB-12]",
    # "[ TB - 12 ]", "[TB#12", "TB 12". The prefix must stand as a word of its own.
    return re.compile(
        r"(?<![A-Za-z0-9])\[?\s*" + re.escape(prefix) + r"\s*[-#:]?\s*(\d{1,12})(?!\d)\s*\]?",
        re.IGNORECASE,
    )


def format_tag(prefix: str, number: int) -> str:
    return f"[{prefix}-{number}]"


def subject_tag(subject: str, prefix: str) -> int | None:
    """The ticket number tagged in a subject, or None. The last tag wins (the newest)."""
    found = _tag_re(prefix).findall(subject or "")
    return int(found[-1]) if found else None


def strip_prefixes(subject: str) -> str:
    """'RE: AW: Odp: question' -> 'question' (for Thread-Topic and display)."""
    return _PREFIX.sub("", subject or "").strip()


def clean_subject(subject: str, prefix: str) -> str:
    """Subject without reply prefixes and without our tag."""
    without_tag = _tag_re(prefix).sub(" ", subject or "")
    return re.sub(r"\s{2,}", " ", strip_prefixes(strip_prefixes(without_tag))).strip()


def tagged_subject(subject: str, prefix: str, number: int, reply: bool = True) -> str:
    base = clean_subject(subject, prefix) or "(no subject)"
    tag = format_tag(prefix, number)
    return f"Re: {tag} {base}" if reply else f"{tag} {base}"


def candidate_ids(msg: InboundMessage) -> list[str]:
    """Message-IDs that may name the message's ticket, the most specific first:
    In-Reply-To, then References from newest to oldest. Also the ids a bounce reports."""
    seen: dict[str, None] = {}
    for mid in (*msg.bounced_message_ids, *msg.in_reply_to, *reversed(msg.references)):
        if mid and mid not in seen:
            seen[mid] = None
    return list(seen)


T = TypeVar("T")


@dataclass(frozen=True)
class Match(Generic[T]):
    ticket: T | None  # whatever the lookups return: a number, a row
    how: str  # "message-id", "subject-tag", "new"


def correlate(
    msg: InboundMessage,
    prefix: str,
    find_by_message_ids: Callable[[list[str]], T | None],
    find_by_number: Callable[[int], T | None],
    find_by_conversation: Callable[[str], T | None] | None = None,
) -> Match[T]:
    """Stored Message-IDs first (so a CC'd colleague's reply threads too), then the tag,
    then Outlook's conversation (the Thread-Index header block: a reply that lost its
    In-Reply-To, References and tag). A tag that names no ticket (a typo, another
    system's tag) is ignored."""
    ids = candidate_ids(msg)
    if ids:
        found = find_by_message_ids(ids)
        if found is not None:
            return Match(found, "message-id")
    number = subject_tag(msg.subject, prefix)
    if number is not None:
        found = find_by_number(number)
        if found is not None:
            return Match(found, "subject-tag")
    key = threadindex.conversation_key(msg.headers.get("thread-index"))
    if key is not None and find_by_conversation is not None:
        found = find_by_conversation(key)
        if found is not None:
            return Match(found, "thread-index")
    return Match(None, "new")


def reopen_decision(status: str, resolved_at: datetime | None, now: datetime, days: int) -> str:
    """What a customer's message does to a ticket: 'append', 'reopen' or 'new-linked'."""
    if status not in CLOSED:
        return "append"
    if resolved_at is None or now - resolved_at <= timedelta(days=days):
        return "reopen"
    return "new-linked"


MAX_KEY = 400  # the width of raw_mail.dedupe_key


MAX_STORED_ID = 400  # the width of message.message_id


def stored_id(message_id: str) -> str:
    """How a Message-ID is stored and looked up for threading: whole when it fits, else
    ``"sha256 <hex of the whole id>"`` (a space never stands in a parsed id, so no real
    id can be made to look like another's hash)."""
    if len(message_id) <= MAX_STORED_ID:
        return message_id
    return "sha256 " + hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()


def dedupe_key(message_id: str | None, sha256: str) -> str:
    """The key that makes a mail stored once: its Message-ID, or its bytes' hash. A
    Message-ID too long for the column is keyed by the hash of the whole id, never cut:
    two ids that share their first 400 characters are two mails."""
    if not message_id:
        return f"sha256:{sha256}"
    key = f"mid:{message_id}"
    if len(key) <= MAX_KEY:
        return key
    return "mid-sha256:" + hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
