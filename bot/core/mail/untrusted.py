"""Mail no automatic answer should go to, though it does not say it is automatic.

RFC 3834 (section 2): when in doubt, do not send an automatic reply. An
acknowledgement to a forged or mass-mailed sender is backscatter: it goes to
somebody who never wrote to us. ``untrusted_reason`` names the signs a program
can trust that a mail was not written by a person to us, or that its sender is not
who it says. Each sign was measured against the real-world corpus and both routing
sets (docs/design.md, "Reading real-world mail"): none of them is on a person's mail
there.

The ticket is still made; only the automatic mail is left out (the reason is the
ticket's ``ack-skipped`` event). Pure and never raises.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.core.mail.addresses import person_behind

if TYPE_CHECKING:  # pragma: no cover
    from bot.core.domain import InboundMessage

# The receiving server's SPF verdict: the sending host is not (fail) or probably not
# (softfail, "~all") allowed to send for the sender's domain, so an answer would go to
# an address somebody else typed. A forged verdict can only silence its own sender.
_SPF_FAILED = frozenset({"fail", "softfail"})
_AUTH_RESULTS_SPF = re.compile(r"\bspf\s*=\s*(fail|softfail)\b", re.IGNORECASE)
# A person writing to a helpdesk copies colleagues, not ten organisations.
MASS_MAIL_DOMAINS = 10
# Outlook Express always writes MIME-Version and a Message-ID: without them the X-Mailer
# line is a mass-mailing tool's disguise (SpamAssassin's forged-Outlook rules).
_OUTLOOK_EXPRESS = re.compile(r"\boutlook express\b", re.IGNORECASE)
# Libraries programs send mail with (not a mail client a person types into).
_PROGRAM_MAILER = re.compile(
    r"\b(?:microsoft cdo|cdo for windows|phpmailer|swift ?mailer|symfony mailer|zend_?mail|laminas|"
    r"javamail|mime::lite|mail::sender|nodemailer|coldfusion|php/\d)",
    re.IGNORECASE,
)
# A department's address a program sends confirmations and offers from.
_ROLE_LOCAL = frozenset({
    "booking", "bookings", "reservation", "reservations", "order", "orders", "confirmation",
    "confirmations", "billing", "invoice", "invoices", "accounts", "info", "sales", "support",
    "service", "admin", "webmaster", "system", "shop", "store", "tickets",
})
# RFC 2045 6.4: a multipart's transfer encoding is 7bit, 8bit or binary; only hand-made
# scripts write quoted-printable or base64 there.
_ENCODED = frozenset({"quoted-printable", "base64"})
# Files that run when opened: the way malware travels, with forged senders (not ".com":
# a host name in a note would read as one). Such a file attached is not a sign by itself
# here (a customer may send one; the hostile corpus's RTLO "invoice\u202efdp.exe" is
# acknowledged and shown safely): only a security gateway's note that it removed one.
_RUNNABLE = r"(?:exe|scr|pif|bat|cmd|js|jse|vbs|vbe|wsf|wsh|hta|jar|lnk|ps1|cpl|msi)"
# A security gateway's note that it took such a file out ("The Firebox deleted x.js").
_GATEWAY_REMOVED = re.compile(
    r"\b(?:deleted|removed|stripped|quarantined|blocked)\b[^\n]{0,80}?(\S+\." + _RUNNABLE + r")\b",
    re.IGNORECASE,
)
_GATEWAY_WORDS = re.compile(r"virus|malware|not be safe|unsafe|dangerous|threat|firebox|security|policy",
                            re.IGNORECASE)
_NOTE_MAX = 16_000
# The headers a program writes from what it was given (names, subject). A mail client
# encodes non-ASCII text in all of them (RFC 2047) or, under RFC 6532, writes all of them
# as UTF-8. One header RFC 2047-encoded beside another in raw bytes that are not UTF-8
# (windows-1252, GB2312: neither standard allows them) is a script that encoded one
# header and pasted the other (SpamAssassin's SUBJ_ILLEGAL_CHARS family). Measured on 222
# real-world mails and about 400 more from other projects' fixtures: two hits, both spam.
_TEXT_HEADERS = frozenset({b"from", b"to", b"cc", b"reply-to", b"subject"})
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = re.compile(rb"\r?\n(?![ \t])")
_ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bq]\?", re.IGNORECASE)
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
_HEAD_MAX = 64 * 1024


def _local_part(addr: str) -> str:
    return addr.rsplit("@", 1)[0] if "@" in addr else addr


def _domain(addr: str) -> str:
    return addr.rsplit("@", 1)[1] if "@" in addr else ""


def _mixed_encoding(raw: bytes | None) -> tuple[str, str] | None:
    """(a header in raw non-UTF-8 bytes, a header RFC 2047-encoded) among the text
    headers of the top header block, or None."""
    if not raw:
        return None
    head = _HEAD_END.split(raw[:_HEAD_MAX], 1)[0]
    if not _EIGHT_BIT.search(head):
        return None  # the common case, read no further
    raw8: list[str] = []
    encoded: list[str] = []
    for line in _HEADER_LINE.split(head):
        name, colon, value = line.partition(b":")
        name = name.strip().lower()
        if not colon or name not in _TEXT_HEADERS:
            continue
        if _EIGHT_BIT.search(value):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                raw8.append(name.decode("ascii", "replace"))
                continue
        if _ENCODED_WORD.search(value):
            encoded.append(name.decode("ascii", "replace"))
    if raw8 and encoded:
        return raw8[0], encoded[0]
    return None


def untrusted_reason(msg: InboundMessage) -> str | None:
    """Why ``msg`` gets no automatic answer though nothing in it says "automatic":
    a failed SPF check, a Message-ID no mail program writes, a mass mailing, a forged
    mailer line, headers or MIME only a script writes, a security gateway's note that it removed a
    runnable attachment, or a program's mail from a department address. None: none."""
    h = msg.headers
    spf = h.get("received-spf", "").strip().split(None, 1)
    if spf and spf[0].lower() in _SPF_FAILED:
        return f"sender not authenticated: spf {spf[0].lower()}"
    m = _AUTH_RESULTS_SPF.search(h.get("authentication-results", ""))
    if m:
        return f"sender not authenticated: spf {m.group(1).lower()}"
    mid = h.get("message-id")
    if mid is not None and mid.strip() and "@" not in mid:
        return "malformed message-id (no @)"
    recipients = {a.lower() for a in (*msg.to, *msg.cc) if "@" in a}
    domains = {_domain(a) for a in recipients}
    if len(domains) >= MASS_MAIL_DOMAINS:
        return f"mass mailing: {len(recipients)} recipients in {len(domains)} domains"
    mixed = _mixed_encoding(msg.raw)
    if mixed:
        return f"script-made mail: {mixed[1]} RFC 2047-encoded, {mixed[0]} in raw non-UTF-8 bytes"
    mailer = h.get("x-mailer", "")
    if _OUTLOOK_EXPRESS.search(mailer):
        missing = [name for name in ("mime-version", "message-id") if name not in h]
        if missing:
            return f"forged mailer: outlook express without {' and '.join(missing)}"
    ctype = h.get("content-type", "").strip().lower()
    cte = h.get("content-transfer-encoding", "").strip().lower()
    local = _local_part((msg.from_addr or "").strip().lower())
    if ctype.startswith("multipart/") and cte in _ENCODED:
        # RFC 2045 6.4 forbids it, but a town office's document system writes it on its
        # clerks' answers too (real-world corpus, watchdog/reply-8bit-pdf-name-pl): a sign
        # only with a second one, a department sender or no Message-ID
        if local in _ROLE_LOCAL or not (h.get("message-id") or "").strip():
            return f"script-made mail: a multipart with {cte} encoding"
    for a in msg.attachments:
        if a.content_type.lower().startswith("text/plain") and len(a.content) <= _NOTE_MAX:
            note = a.content.decode("utf-8", "replace")
            removed = _GATEWAY_REMOVED.search(note)
            if removed and _GATEWAY_WORDS.search(note):
                return f"security gateway removed an attachment: {removed.group(1)[:60]}"
    program = _PROGRAM_MAILER.search(mailer)
    if program and local in _ROLE_LOCAL and not person_behind(msg.reply_to, msg.from_addr, h, frozenset()):
        return f"application mail: {program.group(0).lower()} from {local}@"
    return None
