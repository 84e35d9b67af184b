"""Build the bytes of an outgoing mail from an outbox row. Pure: no I/O."""

from __future__ import annotations

import email.policy
import random
import uuid
from datetime import datetime
from email import quoprimime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

# Lines are folded at 78 and ended with CRLF, as SMTP wants.
SMTP_POLICY = email.policy.SMTP.clone(max_line_length=78)
# An internationalised address (jörg@müller.de) is written as UTF-8 (RFC 6532); the
# relay must then offer SMTPUTF8 (bot/adapters/smtp_out.py).
SMTPUTF8_POLICY = email.policy.SMTPUTF8.clone(max_line_length=78)


def new_message_id(domain: str, ticket: int | None) -> str:
    """A bare Message-ID of ours. It names the ticket, which helps a person reading headers."""
    stem = f"tb-{ticket}-" if ticket else "tb-"
    return f"{stem}{uuid.uuid4().hex}@{domain}"


def build_mail(
    *,
    subject: str,
    text: str,
    html: str | None,
    language: str | None,
    from_addr: str,
    from_name: str,
    to_addr: str,
    message_id: str,
    headers: dict,
    now: datetime,
    attachments: tuple[tuple[str, str, bytes], ...] | list = (),
    inline: tuple[tuple[str, str, bytes], ...] | list = (),
) -> bytes:
    """Assemble a rendered mail into bytes.

    ``headers`` may hold: in_reply_to (bare id), references (list of bare ids),
    thread_index, thread_topic, automatic (bool), language. ``inline``: (content id,
    content type, bytes) of images the HTML shows as ``cid:ID`` (multipart/related).

    The common case (ASCII addresses, text and HTML, nothing attached) is written
    directly, without EmailMessage's header objects: the same mail, ~20x cheaper
    (tests/core/test_compose.py compares the two).
    """
    if not attachments and not inline:
        fast = _build_simple(subject=subject, text=text, html=html, from_addr=from_addr,
                             from_name=from_name, to_addr=to_addr, message_id=message_id,
                             headers=headers, now=now)
        if fast is not None:
            return fast
    return build_mail_full(subject=subject, text=text, html=html, language=language,
                           from_addr=from_addr, from_name=from_name, to_addr=to_addr,
                           message_id=message_id, headers=headers, now=now,
                           attachments=attachments, inline=inline)


def build_mail_full(
    *,
    subject: str,
    text: str,
    html: str | None,
    language: str | None,
    from_addr: str,
    from_name: str,
    to_addr: str,
    message_id: str,
    headers: dict,
    now: datetime,
    attachments: tuple[tuple[str, str, bytes], ...] | list = (),
    inline: tuple[tuple[str, str, bytes], ...] | list = (),
) -> bytes:
    """build_mail by way of EmailMessage: every case (attachments, inline images,
    internationalised addresses)."""
    ascii_only = from_addr.isascii() and to_addr.isascii()
    msg = EmailMessage(policy=SMTP_POLICY if ascii_only else SMTPUTF8_POLICY)
    msg["From"] = Address(display_name=from_name, addr_spec=from_addr)
    msg["To"] = to_addr
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}>"
    if headers.get("in_reply_to"):
        msg["In-Reply-To"] = f"<{headers['in_reply_to']}>"
    refs = headers.get("references") or []
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs[-20:])
    if headers.get("thread_index"):
        msg["Thread-Index"] = headers["thread_index"]
    if headers.get("thread_topic"):
        msg["Thread-Topic"] = headers["thread_topic"]
    if headers.get("automatic", True):
        # RFC 3834: an automatic answer. Also ask Exchange not to answer it with an
        # out-of-office, and mark the loop for our own intake.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Loop"] = from_addr
    if language:
        msg["Content-Language"] = language
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
        html_part = msg.get_body(("html",))
        for cid, content_type, data in inline:
            maintype, _, subtype = content_type.partition("/")
            assert html_part is not None
            html_part.add_related(data, maintype=maintype, subtype=subtype, cid=f"<{cid}>",
                                  disposition="inline")
    for filename, content_type, data in attachments:  # (name, "text/csv", bytes)
        maintype, _, subtype = content_type.partition("/")
        if maintype == "text":  # declared as UTF-8, so readers decode it right
            msg.add_attachment(data.decode("utf-8"), subtype=subtype or "plain", charset="utf-8",
                               filename=filename)
        else:
            msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=filename)
    return msg.as_bytes()


_CRLF = "\r\n"
_MAX = 78  # as SMTP_POLICY


def _unstructured(name: str, value: str) -> str:
    """One unstructured header (Subject, Thread-Topic): as is when it is short ASCII,
    else folded at 78 and RFC 2047-encoded where it is not ASCII."""
    if value.isascii() and len(name) + 2 + len(value) <= _MAX:
        return f"{name}: {value}"
    header = Header(value, None if value.isascii() else "utf-8", header_name=name)
    return f"{name}: {header.encode(linesep=_CRLF, maxlinelen=_MAX)}"


def _ids(name: str, ids: list[str]) -> str:
    """A header of <id>s, folded between ids at 78."""
    lines, line = [], f"{name}:"
    for i in ids:
        word = f"<{i}>"
        if len(line) + 1 + len(word) > _MAX and not line.endswith(":"):
            lines.append(line)
            line = ""
        line += f" {word}"
    lines.append(line)
    return _CRLF.join(lines)


def _qp(text: str) -> str:
    """The body as EmailMessage.set_content(cte="quoted-printable") writes it."""
    lines = text.encode("utf-8").splitlines()
    body = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _MAX)
    return body.replace("\n", _CRLF)


def _text_part(subtype: str, text: str) -> str:
    return (f'Content-Type: text/{subtype}; charset="utf-8"{_CRLF}'
            f"Content-Transfer-Encoding: quoted-printable{_CRLF}{_CRLF}{_qp(text)}")


def _build_simple(*, subject: str, text: str, html: str | None, from_addr: str, from_name: str,
                  to_addr: str, message_id: str, headers: dict, now: datetime) -> bytes | None:
    """build_mail's common case written directly; None when the mail needs the full
    path (a non-ASCII address or id, a line break in a header value)."""
    refs = list(headers.get("references") or [])[-20:]
    ids = [message_id, headers.get("in_reply_to") or "", *refs]
    plain = [from_addr, to_addr, *ids, headers.get("thread_index") or ""]
    if not all(v.isascii() for v in plain):
        return None
    values = [subject, from_name, headers.get("thread_topic") or "", *plain]
    if any("\r" in v or "\n" in v for v in values):
        return None
    if any(c in v for v in plain for c in "<>\" (),;:") or any(" " in i for i in ids):
        return None
    out = [f"From: {formataddr((from_name, from_addr), charset='utf-8')}", f"To: {to_addr}",
           _unstructured("Subject", subject), f"Date: {format_datetime(now)}",
           f"Message-ID: <{message_id}>"]
    if headers.get("in_reply_to"):
        out.append(f"In-Reply-To: <{headers['in_reply_to']}>")
    if refs:
        out.append(_ids("References", refs))
    if headers.get("thread_index"):
        out.append(f"Thread-Index: {headers['thread_index']}")
    if headers.get("thread_topic"):
        out.append(_unstructured("Thread-Topic", headers["thread_topic"]))
    if headers.get("automatic", True):
        out += ["Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All"]
    out += [f"X-Loop: {from_addr}", "MIME-Version: 1.0"]
    # (no Content-Language: EmailMessage.set_content drops it too, see build_mail_full)
    if html is None:
        out.append(_text_part("plain", text))
        return _CRLF.join(out).encode("ascii")
    boundary = "=" * 15 + f"{random.randrange(10**18, 10**19)}=="  # QP never writes "=="
    out += [f'Content-Type: multipart/alternative;{_CRLF} boundary="{boundary}"', "",
            f"--{boundary}", _text_part("plain", text), f"--{boundary}",
            _text_part("html", html), f"--{boundary}--", ""]
    return _CRLF.join(out).encode("ascii")
