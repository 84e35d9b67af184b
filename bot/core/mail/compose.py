"""Build the bytes of an outgoing mail from an outbox row. Pure: no I/O."""

from __future__ import annotations

import email.policy
import uuid
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

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
    """
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
