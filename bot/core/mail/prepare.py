"""A mail made ready for the desk: parsed (in any process), hashed, with what
went wrong when it could not be read; and what became of it."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.domain import InboundMessage, UnreadableMail
from bot.core.mail.attachment_text import extract
from bot.core.mail.parse import parse_mail
from bot.core.mail.ref import MAIL_REF_LENGTH

if TYPE_CHECKING:  # the parser's forkserver does not load the rules
    from bot.core.rules.ahead import Ahead

log = logging.getLogger("bot.ingest")


@dataclass
class IngestResult:
    source: str
    status: str  # created | appended | duplicate | ignored | quarantined
    ticket: int | None = None
    warnings: list[str] = field(default_factory=list)
    reason: str | None = None
    _ticket_obj: object | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        return {"source": self.source, "status": self.status, "ticket": self.ticket,
                "warnings": list(self.warnings)}


@dataclass
class Prepared:
    """A mail made ready for ingest (parsing can run in another process)."""

    source: str
    raw: bytes
    sha256: str
    message: InboundMessage | None
    error: str | None = None  # why it could not be read
    spool_id: int | None = None  # set when it came from the SMTP spool: deleted on commit
    received_at: datetime | None = None  # when it reached us, if known (the SMTP spool)
    # another mail arrived before with the same Message-ID but another sender or text:
    # this one is kept too, keyed by its bytes (never dropped as a "duplicate")
    clash: bool = False
    # its routing read ahead in the parser process, if it was: for `message` as parsed,
    # never for what the desk makes of it (a colleague's forward)
    ahead: Ahead | None = None
    # the mail as parsed, when the desk stored it as another's (a colleague's forward as the
    # customer's mail, bot/desk/intake.py): a retry of its batch starts from this again
    as_parsed: InboundMessage | None = None


def prepare(raw: bytes, source: str, own_addresses: Iterable[str] = ()) -> Prepared:
    sha = hashlib.sha256(raw).hexdigest()
    try:
        msg = parse_mail(raw, own_addresses)
    except UnreadableMail as exc:
        return Prepared(source, raw, sha, None, f"unreadable: {exc}")
    except Exception as exc:  # a parser bug must not lose the mail: quarantine it
        log.exception("parser failed on %s", source)
        return Prepared(source, raw, sha, None, f"parser error: {type(exc).__name__}: {exc}")
    extract(msg.attachments)  # an attached letter's text, for routing (never raises)
    return Prepared(source, raw, sha, msg)


def mail_ref(raw: bytes) -> str:
    """A mail's short reference, given in the SMTP answer (`queued as 3fa9c2d1e0b7`): the
    start of its SHA-256, which the kept raw mail carries too."""
    return hashlib.sha256(raw).hexdigest()[:MAIL_REF_LENGTH]
