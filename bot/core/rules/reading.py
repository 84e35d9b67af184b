"""What routing reads of a message: its Facts, from the message alone and the sender's
standing in the directory (given by the caller). Pure, so that a parser process can read
a mail for routing ahead of the desk (bot/core/rules/ahead.py) without the database."""

from __future__ import annotations

import re

from bot.core.domain import READ_LIMIT, InboundMessage
from bot.core.mail.forwarded import FORWARD_SUBJECT, find_in_text
from bot.core.mail.invisible import strip_invisible
from bot.core.mail.quotes import without_signature
from bot.core.mail_domains import is_free_mail, same_organisation
from bot.core.rules.facts import Facts

# Re:, RE:, AW:, Antw:, Odp:, SV:, Vs: (one or more, as mail programs stack them)
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|antw|odp|sv|vs|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


SUBJECT_LIMIT = 2000  # characters of a subject routing reads (staff are shown as much)


ATTACHMENT_TEXT_LIMIT = 20_000  # characters of attached letters routing reads


def attachment_text(msg: InboundMessage) -> str:
    """The text of the attached letters (read by the parser), each after its name."""
    parts = [f"[{a.filename or 'attachment'}]\n{strip_invisible(a.text)}"
             for a in msg.attachments if a.text and not a.inline]
    return "\n\n".join(parts)[:ATTACHMENT_TEXT_LIMIT]


def message_facts(msg: InboundMessage, customer: str = "unknown", company: str | None = None,
                  advisor: str | None = None) -> Facts:
    """What the rules look at: the customer's own words, the first READ_LIMIT of them
    (and of the subject, SUBJECT_LIMIT), without characters nobody sees (a zero-width
    space must not hide a keyword); `customer`, `company`, `advisor`: the sender's
    standing in the directory (known | prospect | unknown), which the message cannot tell."""
    body = (msg.visible_text or msg.text or "")[:READ_LIMIT]
    return Facts(
        from_addr=msg.from_addr or "", to=tuple(msg.to) + tuple(msg.cc),
        subject=strip_invisible((msg.subject or "")[:SUBJECT_LIMIT]),
        body=strip_invisible(without_signature(body)),
        attachments=tuple((a.filename or "", a.content_type) for a in msg.attachments
                          if not a.inline),
        attachment_text=attachment_text(msg),
        channel=msg.channel.value, language=msg.language,
        customer=customer, company=company, advisor=advisor,
        automatic=msg.auto_reason or "",
        reply=bool(msg.in_reply_to) or bool(REPLY_PREFIX.match(msg.subject or "")),
        forwards_other=forwards_other(msg),
    )


def forwards_other(msg: InboundMessage) -> str:
    """The sender of the message a forward (FW:/Fwd:/PD:/WG: subject) carries, when that is
    somebody at another domain than the sender's: its subject is that writer's, not the
    customer's (a supplier's notice forwarded by mistake). "" for any other mail, and for
    the customer forwarding their own earlier letter."""
    if not FORWARD_SUBJECT.match(msg.subject or ""):
        return ""
    found = find_in_text((msg.text or "")[:READ_LIMIT], msg.subject or "")
    if found is None:
        return ""
    sender = (msg.from_addr or "").rpartition("@")[2].lower()
    theirs = found.from_addr.rpartition("@")[2].lower()
    if not theirs:
        return ""
    if is_free_mail(theirs):
        # a free-mail domain is no organisation: only the same mailbox is the sender's own
        # (a neighbour's gmail letter forwarded from the customer's gmail is somebody else's)
        same = found.from_addr.lower() == (msg.from_addr or "").lower()
    else:
        same = same_organisation(sender, theirs)
    return "" if same else found.from_addr.lower()
