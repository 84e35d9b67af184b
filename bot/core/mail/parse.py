"""Raw mail bytes -> InboundMessage. Pure: no I/O, no database, no network.

``parse_mail`` reads whatever can be read and never raises for a malformed mail:
each problem becomes a human-readable line in ``InboundMessage.warnings``. It
raises ``UnreadableMail`` only for input that is not a mail at all (empty,
whitespace, or binary data without any header).

Charsets are decoded by ``bot.core.mail.charsets`` (labels, their traps and cousins,
then a detector; every repair a warning). Raw 8-bit header bytes and file names are
read as UTF-8, else in the charset the mail (or the attachment's part) declares, else
as windows-1252 when plausible, else in the charset the detector finds. RFC 2047
words are read leniently: spaces inside a word, raw 8-bit bytes inside a word, an
ISO-2022-JP label over Shift_JIS bytes.

Structured headers are read from the raw header values (``raw_items``) with our
own decoding, which is both faster than the header registry and in our control
for raw 8-bit headers.
"""

from __future__ import annotations

import binascii
import email
import html as html_mod
import re
from collections.abc import Iterable
from datetime import UTC
from email import errors as email_errors
from email import policy
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime

import lxml.etree
import lxml.html
from inscriptis import Inscriptis

from bot.core.domain import READ_LIMIT, Attachment, Channel, InboundMessage, UnreadableMail
from bot.core.mail.addresses import first_mailbox, mailbox_count, parse_address_list, unseparated
from bot.core.mail.autoreply import (
    automatic_reason,
    bounce_info,
    content_type_of,
    disposition_of,
    header_param,
    is_delivery_report,
    parse_message_ids,
    raw_header,
)
from bot.core.mail.charsets import C1 as _C1
from bot.core.mail.charsets import cp1252_plausible, decode_bytes, decode_declared, guess, resolve_charset
from bot.core.mail.hidden_html import without_hidden_text
from bot.core.mail.invisible import strip_invisible
from bot.core.mail.language import detect_language_explained, other_language
from bot.core.mail.quotes import visible_text as _visible_text

__all__ = ["parse_mail", "decode_bytes", "decode_header_value", "INTERNAL_ERROR_PREFIX"]

# Prefix of the warning parse_mail adds when it had to fall back after a crash.
INTERNAL_ERROR_PREFIX = "parser error, mail read as plain text"

# ---------------------------------------------------------------------------
# header values

# Lenient: the encoded text may hold spaces (``=?UTF-8?Q? Personal=C3=A4nderung?=``,
# ``=?us-ascii?Q?ABC / 123?=``), as mail programs wrote it; it still ends at its first "?".
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]{0,998}?)\?=")
_WS = re.compile(r"\s+")
_FOLD = re.compile(r"\r?\n|\r")


def _payload_bytes(payload: str, charset: str) -> bytes:
    """The encoded text as bytes; raw 8-bit text inside a word (already read as text
    with the rest of the header) goes back to bytes in the word's own charset."""
    if payload.isascii():
        return payload.encode("ascii")
    name = resolve_charset(charset)[0] or "utf-8"
    try:
        return payload.encode(name)
    except (UnicodeError, LookupError):
        return payload.encode("utf-8", "surrogateescape")


def _b_decode(payload: str) -> bytes:
    raw = "".join(payload.split()).encode("ascii", "surrogateescape")
    raw += b"=" * (-len(raw) % 4)
    try:
        return binascii.a2b_base64(raw)
    except binascii.Error:
        stripped = raw.rstrip(b"=")
        stripped = stripped[: len(stripped) - len(stripped) % 4]
        return binascii.a2b_base64(stripped) if stripped else b""


def _glued(value: str, start: int, end: int) -> bool:
    """RFC 2047 5: an encoded word is set off by white space (or a comment's parenthesis,
    or a quoted name's quote, which mailers also write); text glued to it is a repair."""
    before = value[start - 1] if start else " "
    after = value[end] if end < len(value) else " "
    return not (before.isspace() or before in '("') or not (after.isspace() or after in ')"')


def decode_header_value(value: str, warnings: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words in an (already unfolded) header value."""
    if "=?" not in value:
        return value
    if warnings is None:
        warnings = []
    out: list[str] = []
    pending_charset: str | None = None
    pending = bytearray()
    pos = 0
    after_word = False

    def flush() -> None:
        nonlocal pending_charset, pending
        if pending_charset is not None:
            out.append(decode_bytes(bytes(pending), pending_charset, warnings, "header"))
        pending_charset = None
        pending = bytearray()

    glued = False
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        if not glued and _glued(value, m.start(), m.end()):
            glued = True
            shown = value[max(0, m.start() - 12): m.end() + 12]
            said = f"header: encoded word without a space beside it, decoded anyway: {shown[:90]!r}"
            if said not in warnings:  # Subject and Thread-Topic often say the same
                warnings.append(said)
        if not (after_word and not between.strip()):
            flush()
            out.append(between)
        charset, enc, payload = m.group(1), m.group(2), m.group(3)
        if " " in payload or "\t" in payload:
            warnings.append(f"header: encoded word with spaces inside, decoded anyway: {m.group(0)[:60]!r}")
        if not payload.isascii():
            warnings.append(f"header: raw 8-bit text inside an encoded word, read as {charset}")
        try:
            if enc in "bB":
                data = _b_decode(payload)
            else:
                data = binascii.a2b_qp(_payload_bytes(payload, charset), header=True)
        except (binascii.Error, ValueError):
            warnings.append(f"header: undecodable encoded word {m.group(0)[:60]!r}")
            flush()
            out.append(m.group(0))
            pos = m.end()
            after_word = False
            continue
        cs = charset.lower()
        if pending_charset is not None and cs != pending_charset:
            flush()
        pending_charset = cs
        pending += data
        pos = m.end()
        after_word = True
    flush()
    out.append(value[pos:])
    return "".join(out)


def _raw_8bit_text(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Raw 8-bit header bytes -> (text, what was done or None for clean UTF-8): UTF-8,
    the declared charset, then what ``charsets.guess`` finds."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    if getattr(declared, "weak", False) and cp1252_plausible(data):
        return guess(data)  # a hint only: a Western name stays windows-1252 (its bytes fit GB18030 too)
    found = decode_declared(data, declared)
    if found is not None:
        source = getattr(declared, "source", "the part declares")
        return found[0], f"not UTF-8; read as {found[1]} ({source} {declared})"
    return guess(data)


class _Named(str):
    """A charset the mail names elsewhere than in a part's Content-Type."""

    source = "the mail's encoded words are in"


class _CountryHint(str):
    """The charset the sender's country writes in, from the domain of its From address: a
    hint after UTF-8 and windows-1252 (which a Western name fits), before the detector."""

    source = "the sender's country domain suggests"
    weak = True


# Where the detector is weakest (a short subject of double-byte text fits several tables):
# the CJK countries' own mail charsets.
_COUNTRY_CHARSETS = {"cn": "gb18030", "tw": "big5", "hk": "big5", "jp": "cp932", "kr": "cp949"}


def _country_charset(msg: Message) -> str | None:
    for key, value in msg.raw_items():
        if key.strip().lower() == "from":
            addr = first_mailbox(str(value))[1]
            charset = _COUNTRY_CHARSETS.get(addr.rpartition(".")[2]) if "@" in addr else None
            return _CountryHint(charset) if charset else None
    return None


def _encoded_words_charset(msg: Message) -> str | None:
    """The first charset other than ASCII or UTF-8 that an encoded word in the mail's
    headers is labelled with: the one its mail program writes in, so the best reading of
    its raw 8-bit header bytes when no part declares one (a short Chinese subject alone is
    too little for the detector: it took GB2312 for Korean)."""
    for _, value in msg.raw_items():
        for m in _ENCODED_WORD.finditer(str(value)):
            label = m.group(1).strip().lower()
            if label not in ("us-ascii", "ascii", "utf-8", "utf8"):
                return _Named(label)
    return None


def _header_text(value: str, warnings: list[str], name: str, declared: str | None = None) -> str:
    """Raw header value (surrogate-escaped 8-bit, folded) -> unfolded str. ``declared``:
    the charset of the enclosing part, for raw 8-bit bytes."""
    if not value.isascii():
        try:
            data = value.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            pass  # real non-ASCII text already (not from bytes)
        else:
            value, how = _raw_8bit_text(data, declared)
            if how is not None:
                warnings.append(f"header {name}: raw 8-bit text, {how}")
    elif "\x1b$" in value:  # raw ISO-2022-JP, not in an encoded word
        value = decode_bytes(value.encode("ascii"), "iso-2022-jp", warnings, f"header {name}")
        warnings.append(f"header {name}: raw ISO-2022-JP escapes outside an encoded word; decoded")
    if "\n" in value or "\r" in value:
        value = _FOLD.sub("", value)
    if "\x00" in value:
        value = value.replace("\x00", "")
    return " ".join(value.split())


def _fold_ws(text: str) -> str:
    return " ".join(text.split())


# Headers copied into InboundMessage.headers (plus every x-ticketbot-* header).
_KEPT_HEADERS = frozenset(
    {
        "auto-submitted",
        "precedence",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "list-post",
        "x-auto-response-suppress",
        "x-autoreply",
        "x-autorespond",
        "x-autogenerated",
        "x-loop",
        "return-path",
        "thread-index",
        "thread-topic",
        "content-type",
        "message-id",
        "in-reply-to",
        "references",
        "x-mailer",
        "user-agent",
        "x-failed-recipients",
        "x-ms-exchange-generated-message-source",
        "x-ms-exchange-inbox-rules-loop",
        "sender",
        "delivered-to",
        "x-original-to",
        # machine senders that do not say so (autoreply.machine_reason)
        "x-mailman-version",
        "x-cron-env",
        "x-github-reason",
        "x-gitlab-project",
        "x-jira-fingerprint",
        "x-redmine-project",
        "x-bugzilla-product",
        "x-launchpad-bug",
        "x-trac-ticket-id",
        "x-report-abuse",
        "x-csa-complaints",
        "x-mc-user",
        "x-campaign",
        "x-campaign-id",
        "feedback-id",
        # an upstream spam filter's verdict (autoreply.machine_reason)
        "x-spam-flag",
        "x-spam-status",
        "x-ms-exchange-organization-scl",
        # forged, mass-mailed or script-made mail (bot/core/mail/untrusted.py)
        "received-spf",
        "authentication-results",
        "mime-version",
        "content-transfer-encoding",
    }
)
# Headers parse_mail itself reads.
_READ_HEADERS = _KEPT_HEADERS | {"from", "to", "cc", "reply-to", "subject", "date"}


_QUOTED_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _warn_unseparated(header: str, value: str, warnings: list[str]) -> None:
    """A second mailbox written after the first without a comma is not read: say so."""
    stray = unseparated(value)
    if stray:
        warnings.append(f"header {header}: text after an address without a comma, not read: {stray[:80]!r}")


def _addresses(value: str) -> list[str]:
    out: list[str] = []
    for _, addr in parse_address_list(value):
        if addr not in out:
            out.append(addr)
    return out


def _parse_date(value: str, warnings: list[str]):
    try:
        dt = parsedate_to_datetime(value)
    except Exception:
        dt = None
    if dt is None:
        warnings.append(f"header Date: unparseable date {value[:80]!r}")
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


# ---------------------------------------------------------------------------
# MIME structure

_MAX_DEPTH = 30
_BAD_FILENAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\]")


def _safe_filename(name: str) -> str:
    name = _BAD_FILENAME_CHARS.sub("_", _fold_ws(name)).strip(" .")
    return name[:200]


_raw_header = raw_header


class _Parts:
    __slots__ = ("plain", "html", "attachments")

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []


def declared_charset(part: Message, depth: int = 0) -> str | None:
    """The charset a part declares for its text: its own ``charset`` parameter, or for a
    multipart the first one a text part inside declares. US-ASCII and UTF-8 say nothing
    about raw 8-bit header bytes (those would be UTF-8 already), so they do not count."""
    charset = header_param(_raw_header(part, "content-type"), "charset")
    if charset and charset.strip().strip("\"'").lower() not in ("us-ascii", "ascii", "utf-8", "utf8"):
        return charset
    if depth < 4 and part.is_multipart():
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else ():
            if isinstance(child, Message) and not content_type_of(child).startswith("message/"):
                found = declared_charset(child, depth + 1)
                if found:
                    return found
    return None


class _Walker:
    def __init__(self, warnings: list[str], linesep: str, declared: str | None = None) -> None:
        self.warnings = warnings
        self.declared = declared
        self.gen_policy = _GEN_POLICY_CRLF if linesep == "\r\n" else _GEN_POLICY_LF

    # -- helpers --------------------------------------------------------------

    def _filename(self, part: Message) -> str | None:
        # Cheap pre-check: no "name" parameter anywhere, no filename.
        ct = _raw_header(part, "content-type") or ""
        cd = _raw_header(part, "content-disposition") or ""
        if "name" not in ct.lower() and "name" not in cd.lower():
            return None
        name = None
        if not (ct.isascii() and cd.isascii()):
            # Raw 8-bit filename: the stdlib would turn it into U+FFFD, so read
            # the parameter from our own decoding of the raw header.
            declared = header_param(ct, "charset") or self.declared
            name = header_param(_header_text(cd, self.warnings, "Content-Disposition", declared), "filename")
            if name is None:
                name = header_param(_header_text(ct, self.warnings, "Content-Type", declared), "name")
        if name is None and "\\" in cd + ct and "*=" not in cd + ct:
            # A quoted Windows path (Netscape: filename="C:\TEMP\x.png"): strictly a
            # backslash escapes the next character, and the stdlib drops it, leaving
            # "C:TEMPx.png"; the sender meant the path, whose last part is the name.
            raw_name = header_param(cd, "filename") or header_param(ct, "name")
            if raw_name is not None and re.search(r'\\[^"\\]', raw_name):
                name = re.sub(r'\\(["\\])', r"\1", raw_name)
        if name is None and "*" in cd + ct:
            name = self._extended_name(part, ct)
        if name is None:
            try:
                name = part.get_filename()
            except Exception:
                name = None
                self.warnings.append("attachment: unreadable filename parameter")
        if name is None:
            return None
        name = str(name)
        if _C1.search(name):  # RFC 2231 "iso-8859-1" that is really cp1252
            try:
                name = name.encode("latin-1").decode("cp1252")
            except UnicodeError:
                pass
        name = decode_header_value(name, self.warnings)
        # Path parts from old clients ("C:\\Users\\x\\a.pdf").
        base = re.split(r"[\\/]", name)[-1]
        if base != name:
            self.warnings.append(f"attachment name: a path, its last part {base[:80]!r} kept")
        name = base
        name = _safe_filename(name)
        return name or None

    def _extended_name(self, part: Message, ct: str) -> str | None:
        """An RFC 2231 name (``filename*=charset''%xx``) read with our charset rules: the
        stdlib replaces every byte its label does not fit (``caf%E9`` labelled utf-8) and
        reads one without a label as ASCII; here the label, else the charset the part
        declares, else the detector decide, and a repair leaves a warning."""
        for header, param in (("content-disposition", "filename"), ("content-type", "name")):
            raw_value = _raw_header(part, header)
            if not raw_value or "*" not in raw_value:
                continue
            try:  # the compat32 reading keeps RFC 2231's (charset, language, bytes)
                holder = Message()
                holder[header] = raw_value
                value = holder.get_param(param, header=header)
            except Exception:
                return None
            if not isinstance(value, tuple):
                continue
            label, _, text = value
            try:
                raw = str(text).encode("latin-1")  # the stdlib's percent-decoded bytes
            except UnicodeEncodeError:
                return None
            declared = header_param(ct, "charset") or None
            if not label and declared and not raw.isascii():
                self.warnings.append(f"attachment name: RFC 2231 without a charset, read as the part's {declared}")
            return decode_bytes(raw, label or declared, self.warnings, "attachment name")
        return None

    def _text_payload(self, part: Message, where: str) -> str:
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:
            self.warnings.append(f"{where}: undecodable payload ({type(exc).__name__})")
            return ""
        if not isinstance(data, bytes):
            return ""
        charset = header_param(_raw_header(part, "content-type"), "charset")
        text = decode_bytes(data, charset, self.warnings, where)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def _bytes_payload(self, part: Message) -> bytes:
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:
            self.warnings.append(f"attachment: undecodable payload ({type(exc).__name__})")
            return b""
        return data if isinstance(data, bytes) else b""

    def _generate(self, part: Message) -> bytes:
        try:
            return part.as_bytes(policy=self.gen_policy)
        except Exception as exc:
            self.warnings.append(f"attachment: could not serialise nested part ({type(exc).__name__})")
            return b""

    # -- walking --------------------------------------------------------------

    def visit(self, part: Message, out: _Parts, depth: int = 0, related: bool = False) -> None:
        if depth > _MAX_DEPTH:
            self.warnings.append("MIME: nesting too deep, rest ignored")
            return
        ctype = content_type_of(part)
        maintype = ctype.partition("/")[0]
        if ctype in ("message/rfc822", "message/global"):
            out.attachments.append(self._message_attachment(part))
            return
        if part.is_multipart():
            children = [c for c in part.get_payload() if isinstance(c, Message)]
            if maintype == "message":  # delivery-status & co: header blocks
                out.attachments.append(self._header_blocks_attachment(part, ctype))
            elif ctype == "multipart/alternative":
                self._alternative(children, out, depth)
            elif ctype == "multipart/related":
                self._related(part, children, out, depth)
            else:
                for child in children:
                    self.visit(child, out, depth + 1)
            return
        if maintype == "multipart":
            self.warnings.append(f"MIME: {ctype} without usable parts; body read as plain text")
            ctype = "text/plain"
        disposition = disposition_of(part)
        if ctype in ("text/plain", "text/html") and disposition != "attachment":
            # Body text: no filename, or an inline named text part when there is no
            # body text yet (some clients name the body part).
            filename = self._filename(part)
            if filename is None or (disposition == "inline" and not out.plain and not out.html):
                text = self._text_payload(part, ctype)
                (out.plain if ctype == "text/plain" else out.html).append(text)
                if filename is not None:
                    # shown as the body and kept as the file it says it is, as a
                    # mail program shows it (text inline, the file in the list)
                    out.attachments.append(self._attachment(part, ctype, disposition, related))
                return
        out.attachments.append(self._attachment(part, ctype, disposition, related))

    def _alternative(self, children: list[Message], out: _Parts, depth: int) -> None:
        best_plain: list[str] = []
        best_html: list[str] = []
        text_attachments: list[Attachment] = []
        for child in children:
            if len(child) == 0 and any(t.strip() for t in best_plain + best_html):
                # A version with no headers at all (not even a type) after one that
                # declares itself is a stray, not a richer version of the text.
                self.warnings.append("MIME: alternative part without headers ignored")
                continue
            sub = _Parts()
            self.visit(child, sub, depth + 1)
            if sub.plain or sub.html:
                text_attachments = sub.attachments  # keep those of the richest version
                # an empty version (a stray part after the last boundary) replaces nothing
                if any(t.strip() for t in sub.plain) or not best_plain:
                    best_plain = sub.plain
                if any(t.strip() for t in sub.html) or not best_html:
                    best_html = sub.html
            else:
                out.attachments.extend(sub.attachments)  # e.g. text/calendar
        out.plain.extend(best_plain)
        out.html.extend(best_html)
        out.attachments.extend(text_attachments)

    def _related(self, part: Message, children: list[Message], out: _Parts, depth: int) -> None:
        if not children:
            return
        root = children[0]
        start = header_param(_raw_header(part, "content-type"), "start")
        if isinstance(start, str) and start.strip():
            want = start.strip().strip("<>")
            for child in children:
                cid = _raw_header(child, "content-id")
                if cid and cid.strip().strip("<>") == want:
                    root = child
                    break
        self.visit(root, out, depth + 1)
        for child in children:
            if child is root:
                continue
            ctype = content_type_of(child)
            if child.is_multipart() and not ctype.startswith("message/"):
                self.visit(child, out, depth + 1, related=True)
                continue
            disposition = disposition_of(child)
            if ctype.startswith("message/"):
                self.visit(child, out, depth + 1)
            else:
                out.attachments.append(self._attachment(child, ctype, disposition, True))

    def _attachment(self, part: Message, ctype: str, disposition: str | None, related: bool) -> Attachment:
        cid_raw = _raw_header(part, "content-id")
        cid = cid_raw.strip().strip("<>").strip() if cid_raw else None
        inline = disposition == "inline" or (related and bool(cid) and disposition != "attachment")
        return Attachment(
            filename=self._filename(part),
            content_type=ctype,
            content=self._bytes_payload(part),
            inline=inline,
            content_id=cid or None,
        )

    def _message_attachment(self, part: Message) -> Attachment:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        subject = ""
        if isinstance(inner, Message):
            content = self._generate(inner)
            raw_subject = _raw_header(inner, "subject")
            if raw_subject:
                subject_text = _header_text(raw_subject, self.warnings, "Subject", declared_charset(inner))
                subject = _fold_ws(decode_header_value(subject_text, self.warnings))
        else:
            content = self._bytes_payload(part)
        # the name the mail gives the attached message, else its subject
        declared = self._filename(part)
        name = _safe_filename(subject)
        if declared and "." in declared:
            filename = declared
        elif name:
            filename = name + ".eml"
        else:
            filename = declared or "message.eml"
        return Attachment(
            filename=filename,
            content_type=content_type_of(part),
            content=content,
            inline=disposition_of(part) == "inline",
            content_id=None,
        )

    def _header_blocks_attachment(self, part: Message, ctype: str) -> Attachment:
        data = self._generate(part)
        # Drop the part's own MIME headers: keep the body (the header blocks).
        for sep in (b"\r\n\r\n", b"\n\n"):
            idx = data.find(sep)
            if idx != -1:
                data = data[idx + len(sep) :]
                break
        return Attachment(filename=self._filename(part), content_type=ctype, content=data)


class _ReadPolicy(policy.EmailPolicy):
    """policy.default, but a header read again is parsed once: the stdlib's parser asks
    each part for its Content-Type four to six times while it splits the mail, and this
    module asks again, and policy.default parses the header anew (through its header
    registry) at every ask: a fifth of a parser process's time on the generated corpus.
    The parsed headers are immutable, so one object answers each ask of the same name and
    value. Few are kept, and only short ones: a parsed header keeps its whole parse tree
    (155 KB for a Content-Type of 200 characters dense with parameters; one of 20,000
    parameters, 318 KB, held 105 MB), so at most _READ_CACHE_SIZE values of up to
    _READ_CACHE_VALUE characters (5 MB at worst; the repeated asks are within one mail,
    whose distinct short headers are 10-20), a longer one parsed at each ask as before
    and let go with its mail. A process's own cache: the parser processes and this one
    each keep theirs."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name") or not isinstance(value, str) or len(value) > _READ_CACHE_VALUE:
            # parsed already (a header object is a str too: handed back as it is), set by
            # code, or too big to keep
            return super().header_fetch_parse(name, value)
        key = (name, value)
        header = _READ_CACHE.get(key)
        if header is None:
            header = super().header_fetch_parse(name, value)
            if len(_READ_CACHE) >= _READ_CACHE_SIZE:
                _READ_CACHE.clear()
            _READ_CACHE[key] = header
        return header


_READ_CACHE: dict[tuple[str, str], object] = {}
_READ_CACHE_SIZE = 32
_READ_CACHE_VALUE = 200  # characters
READ_POLICY = _ReadPolicy()

_GEN_POLICY_LF = policy.default.clone(refold_source="none", linesep="\n")
_GEN_POLICY_CRLF = policy.default.clone(refold_source="none", linesep="\r\n")


def _defect_warnings(msg: Message, warnings: list[str], limit: int = 200) -> None:
    n = 0
    for part in msg.walk():
        for defect in getattr(part, "defects", ()):
            if isinstance(defect, email_errors.MissingHeaderBodySeparatorDefect) and part is msg:
                continue  # reported (and repaired) by parse_mail itself
            doc = (type(defect).__doc__ or type(defect).__name__).strip().splitlines()[0]
            ctype = content_type_of(part)
            detail = f" ({defect})" if str(defect) else ""
            text = f"MIME defect in {ctype}: {doc}{detail}"
            if text not in warnings:
                warnings.append(text)
            n += 1
            if n >= limit:
                return


# ---------------------------------------------------------------------------
# HTML

_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TRAILING_WS = re.compile(r"[ \t]+\n")


_XML_DECLARATION = re.compile(r"^<\?xml [^>]*\?>", re.IGNORECASE)


def _render_html(html: str) -> str:
    """HTML as text by inscriptis, with each entity decoded once. lxml decodes entities
    while parsing and inscriptis decodes the text again ("&amp;lt;" would read "<"), so
    the parsed text is given back its "&" as "&amp;" before inscriptis renders it."""
    html = _XML_DECLARATION.sub("", html.strip(), count=1)
    if not html:
        return ""
    try:
        tree = lxml.html.document_fromstring(html)
    except lxml.etree.ParserError:
        tree = lxml.html.document_fromstring("<pre>" + html + "</pre>")
    for node in tree.iter():
        if isinstance(node.tag, str) and node.text:
            node.text = node.text.replace("&", "&amp;")
        if node.tail:
            node.tail = node.tail.replace("&", "&amp;")
    return Inscriptis(tree, None).get_text()


def _html_to_text(html: str, warnings: list[str]) -> str:
    if not html.strip():
        return ""
    try:
        text = _render_html(without_hidden_text(html))
    except Exception as exc:  # lxml refuses some documents
        warnings.append(f"text/html: could not render HTML ({type(exc).__name__}); tags stripped")
        text = html_mod.unescape(_TAG.sub(" ", html))
    text = _TRAILING_WS.sub("\n", text)
    text = _BLANKS.sub("\n\n", text)
    return text.strip("\n").rstrip()


# ---------------------------------------------------------------------------
# repair and sanity

_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_HEADER_NAME_SPACE = re.compile(rb"^([!-9;-~]+)[ \t]+:")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _repair_headers(raw: bytes) -> tuple[bytes, list[str]] | None:
    """Drop junk lines inside the header block so the headers after them count."""
    m = _HEADER_END.search(raw)
    head, rest = (raw[: m.start()], raw[m.start() :]) if m else (raw, b"")
    lines = head.splitlines(keepends=True)
    last_header = -1
    for i, line in enumerate(lines):
        if _HEADER_LINE.match(line):
            last_header = i
    if last_header <= 0:
        return None
    kept: list[bytes] = []
    dropped: list[str] = []
    for i, line in enumerate(lines):
        if i > last_header:
            kept.append(line)
        elif _HEADER_LINE.match(line):
            kept.append(_HEADER_NAME_SPACE.sub(rb"\1:", line))
        elif line[:1] in (b" ", b"\t") and kept:
            kept.append(line)
        elif i == 0 and line.startswith(b"From "):
            kept.append(line)
        else:
            dropped.append(line.strip().decode("utf-8", "replace")[:60])
    if not dropped:
        return None
    return b"".join(kept) + rest, [f"malformed header line ignored: {d!r}" for d in dropped]


_LEADING_LINES = 20


def _skip_leading_lines(raw: bytes) -> tuple[bytes, int, str] | None:
    """A mail whose first lines are no headers ("---- Original email message ----",
    a pasted banner): (the mail from its header block on, lines skipped, the first of
    them), when a header block (two header lines in a row) follows within 20 lines."""
    lines = raw.split(b"\n", _LEADING_LINES + 1)[:_LEADING_LINES]
    offset = 0
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1]
        if i and _HEADER_LINE.match(line) and (_HEADER_LINE.match(nxt) or nxt[:1] in (b" ", b"\t")):
            first = lines[0].strip().decode("utf-8", "replace")[:60]
            return raw[offset:], i, first
        offset += len(line) + 1
    return None


def _looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 12) or b == 127)
    return controls > len(sample) // 20


# ---------------------------------------------------------------------------
# the parser


def parse_mail(raw: bytes, own_addresses: Iterable[str] = ()) -> InboundMessage:
    """Parse one RFC 5322 mail. See the module doc; never raises except UnreadableMail."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw)
    if not raw.strip():
        raise UnreadableMail("empty input")
    own = tuple(own_addresses)
    try:
        return _parse(raw, own)
    except UnreadableMail:
        raise
    except Exception as exc:  # a bug or a stdlib corner case: keep the mail anyway
        return _fallback(raw, exc)


def _fallback(raw: bytes, exc: Exception) -> InboundMessage:
    """Last resort when parsing crashed: keep the bytes and the text, flag it."""
    warnings = [f"{INTERNAL_ERROR_PREFIX}: {type(exc).__name__}: {str(exc)[:200]}"]
    m = _HEADER_END.search(raw)
    body = raw[m.end() :] if m else raw
    text = decode_bytes(body, None, warnings, "body").replace("\r\n", "\n")
    return InboundMessage(
        channel=Channel.MAIL,
        raw=raw,
        text=text,
        visible_text=_visible_text(text),
        warnings=warnings,
    )


def _message_from_bytes(raw: bytes, warnings: list[str]) -> Message:
    try:
        return email.message_from_bytes(raw, policy=READ_POLICY)
    except Exception as exc:
        # The stdlib parser itself crashes on some broken MIME parameters (NUL
        # bytes in an RFC 2231 charset, a bare "*=" ...) while parsing the
        # structure. The compat32 policy parses those headers the old, lenient
        # way; everything below only uses APIs both policies share.
        warnings.append(
            f"MIME structure unreadable with the default policy ({type(exc).__name__}); "
            "read with the lenient compat32 policy"
        )
        return email.message_from_bytes(raw, policy=policy.compat32)


def _parse(raw: bytes, own_addresses: tuple[str, ...]) -> InboundMessage:
    warnings: list[str] = []
    msg = _message_from_bytes(raw, warnings)
    if any(isinstance(d, email_errors.FirstHeaderLineIsContinuationDefect) for d in msg.defects):
        # " From: x" as the first line: a header with stray indentation, not a continuation
        first, sep, rest = raw.partition(b"\n")
        if _HEADER_LINE.match(first.lstrip(b" \t")):
            raw_fixed = first.lstrip(b" \t") + sep + rest
            msg = _message_from_bytes(raw_fixed, warnings)
            shown = first.strip()[:60].decode("utf-8", "replace")
            warnings.append(f"first header line indented; read as a header: {shown!r}")
    if len(msg) and any(isinstance(d, email_errors.MissingHeaderBodySeparatorDefect) for d in msg.defects):
        repaired = _repair_headers(raw)
        if repaired is not None:
            msg = _message_from_bytes(repaired[0], warnings)
            warnings.extend(repaired[1])
        else:
            warnings.append("header block ends without a blank line; the rest is read as body")

    if len(msg) == 0 and not _looks_binary(raw):
        skipped = _skip_leading_lines(raw)
        if skipped is not None:
            msg = _message_from_bytes(skipped[0], warnings)
            warnings.append(f"{skipped[1]} line(s) before the header block skipped, the first: {skipped[2]!r}")

    if len(msg) == 0:
        if _looks_binary(raw):
            raise UnreadableMail("binary data without mail headers")
        warnings.append("no mail headers found; whole input read as body")

    out = InboundMessage(channel=Channel.MAIL, raw=raw, warnings=warnings)

    # -- headers ------------------------------------------------------------
    found: dict[str, str] = {}
    headers: dict[str, str] = {}
    eight_bit = any(not str(v).isascii() for _, v in msg.raw_items())
    declared = declared_charset(msg) if eight_bit else None
    if eight_bit and declared is None:  # no part declares one: the mail's encoded words may,
        declared = _encoded_words_charset(msg) or _country_charset(msg)  # or its sender's country
    for key, value in msg.raw_items():
        name = key.strip().lower()
        if name in found or not (name in _READ_HEADERS or name.startswith("x-ticketbot")):
            continue
        text = _header_text(str(value), warnings, key, declared)
        found[name] = text
        if name in _KEPT_HEADERS or name.startswith("x-ticketbot"):
            headers[name] = text
    if "thread-topic" in headers:
        headers["thread-topic"] = _fold_ws(decode_header_value(headers["thread-topic"], warnings))
    out.headers = headers

    if "message-id" in found:
        ids = parse_message_ids(found["message-id"])
        out.message_id = ids[0] if ids else None
        if not ids:
            warnings.append(f"header Message-ID: no id in {found['message-id'][:80]!r}")
    out.in_reply_to = parse_message_ids(found.get("in-reply-to"))
    out.references = parse_message_ids(found.get("references"))

    # Addresses are split before anything is decoded (core/mail/addresses.py): an
    # encoded word may hide "@", ",", ":" or a line break, and stands only in names.
    from_warnings: list[str] = []
    from_values = [_header_text(str(v), from_warnings, k, declared) for k, v in msg.raw_items()
                   if k.strip().lower() == "from"]
    warnings.extend(w for w in from_warnings if w not in warnings)
    if not from_values:
        if len(msg):
            warnings.append("no From header")
    else:
        name, addr = first_mailbox(from_values[0])
        chosen = from_values[0]
        for value in from_values:       # two From headers: the first one that has a mailbox
            found_name, found_addr = first_mailbox(value)
            if found_addr:
                name, addr, chosen = found_name, found_addr, value
                break
        if not addr:
            warnings.append(f"header From: no address in {from_values[0][:80]!r}")
        elif len(from_values) > 1:
            warnings.append(f"{len(from_values)} From headers; read the first with an address")
        elif (listed := mailbox_count(from_values[0])) > 1:
            warnings.append(f"header From: {listed} mailboxes; read the first with an address, {addr}")
        _warn_unseparated("From", chosen, warnings)
        if name and any(_ENCODED_WORD.search(q.group()) for q in _QUOTED_STRING.finditer(chosen)):
            warnings.append("header From: an encoded word inside a quoted name (RFC 2047 5 forbids "
                            "it), decoded as mail programs do")
        out.from_addr = addr
        out.from_name = _fold_ws(decode_header_value(name, warnings)) if name else ""

    for field_name, header in (("to", "to"), ("cc", "cc"), ("reply_to", "reply-to")):
        addresses = found.get(header)
        if addresses:
            setattr(out, field_name, _addresses(addresses))
            _warn_unseparated(header.title(), addresses, warnings)
    if not out.from_addr and len(out.reply_to) == 1 and found.get("reply-to"):
        # no usable From ("From: <>", none at all): the one mailbox the mail asks to be
        # answered at is its sender (there is no From for a Reply-To to steer away from)
        name, addr = first_mailbox(found["reply-to"])
        if addr:
            out.from_addr = addr
            out.from_name = _fold_ws(decode_header_value(name, warnings)) if name else ""
            warnings.append(f"no usable From: the sender {addr} read from Reply-To")

    subject = found.get("subject")
    if subject:
        out.subject = _fold_ws(decode_header_value(subject, warnings))

    date_value = found.get("date")
    if date_value:
        out.date = _parse_date(date_value, warnings)

    if "return-path" in found:
        rp = found["return-path"]
        inner = rp.strip()
        if inner.startswith("<") and ">" in inner:
            inner = inner[1 : inner.index(">")]
        inner = inner.strip()
        if not inner:
            out.return_path = ""
        else:
            addr = parseaddr(rp)[1] or inner
            out.return_path = addr.strip().strip("<>").strip().lower()

    # -- body -----------------------------------------------------------------
    linesep = "\r\n" if b"\r\n" in raw[:4096] else "\n"
    walker = _Walker(warnings, linesep, declared_charset(msg))
    parts = _Parts()
    if len(msg) == 0:
        payload = walker._bytes_payload(msg)
        parts.plain.append(decode_bytes(payload, None, warnings, "body").replace("\r\n", "\n"))
    else:
        walker.visit(msg, parts)
    out.attachments = parts.attachments
    if parts.html:
        out.html = "\n".join(parts.html)
    if parts.plain:
        out.text = "\n".join(parts.plain)
    if not out.text.strip() and out.html is not None:
        # HTML only, or an empty plain alternative next to real HTML.
        out.text = _html_to_text(out.html, warnings)
    _defect_warnings(msg, warnings)

    if len(msg) == 0 and not out.text.strip():
        raise UnreadableMail("no mail headers and no text")

    out.visible_text = _visible_text(out.text)
    # what staff read: no invisible characters in names, subjects and file names
    out.subject = strip_invisible(out.subject)
    out.from_name = strip_invisible(out.from_name)
    for a in out.attachments:
        if a.filename:
            a.filename = strip_invisible(a.filename)

    # -- loops, bounces, language -------------------------------------------
    out.is_bounce, out.bounced_message_ids = bounce_info(msg)
    out.is_delivery_report = out.is_bounce or is_delivery_report(msg)
    out.auto_reason = automatic_reason(out, own_addresses)
    out.language, how = detect_language_explained(out.subject + "\n" + out.visible_text[:READ_LIMIT])
    if out.language is None:
        out.other_language = other_language(how)
    return out
