"""A mail a colleague forwarded: who wrote the original, what it said, and what the
colleague wrote above it. Pure: text (or an attached message) in, a `Forwarded` out.

Recognised, in Dutch, English, Polish and German:

- Outlook: an optional ``-----Original Message-----`` / underscore line, then a header
  block ``Van:/From:/Od:/Von:``, ``Verzonden:/Sent:/Wysłano:/Gesendet:``,
  ``Aan:/To:/Do:/An:``, ``Onderwerp:/Subject:/Temat:/Betreff:``;
- Gmail: ``---------- Forwarded message ---------`` (``Doorgestuurd bericht``,
  ``Wiadomość przekazana dalej``, ``Weitergeleitete Nachricht``), then From/Date/Subject/To;
- Apple Mail: ``Begin forwarded message:`` (``Begin doorgestuurd bericht:``), its block
  perhaps quoted with ``>``;
- Thunderbird: ``-------- Forwarded Message --------`` (``Doorgestuurd bericht``), a
  block whose labels are followed by a tab;
- a forward *as attachment*: a message/rfc822 part (read with the ordinary parser).

A header block is only taken for a forward after such a marker line, or when the
subject says it is a forward (FW:, Fwd:, Doorst:, WG:, PD:, TR:, RV:). ``#noack`` in
what the colleague wrote asks that the customer gets no acknowledgement.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.domain import Attachment, InboundMessage
from bot.core.mail.addresses import first_mailbox

LABELS: dict[str, str] = {}
for _field, _words in {
    "from": ("from", "van", "od", "von", "de", "da"),
    "date": ("sent", "date", "datum", "verzonden", "wysłano", "wysłany", "gesendet", "data",
             "envoyé"),
    "to": ("to", "aan", "do", "an", "à"),
    "cc": ("cc", "kopie", "dw", "kopia"),
    "subject": ("subject", "onderwerp", "temat", "betreff", "objet", "oggetto"),
    "reply_to": ("reply-to", "antwoord aan", "odpowiedź do", "antwort an"),
}.items():
    for _w in _words:
        LABELS[_w] = _field

# lines that announce a forwarded message (or an Outlook original)
MARKER = re.compile(
    r"^\s*(?:"
    r"-{3,}\s*(?:forwarded message|doorgestuurd bericht|wiadomość przekazana dalej|"
    r"weitergeleitete nachricht|message transféré|original message|oorspronkelijk bericht|"
    r"ursprüngliche nachricht|wiadomość oryginalna|oorspronkelijk bericht)\s*-{3,}"
    r"|begin (?:forwarded message|doorgestuurd bericht)\s*:"
    r"|_{10,}"
    r")\s*$", re.IGNORECASE)
STYLES = (("gmail", re.compile(r"^-{10} ", re.I)), ("thunderbird", re.compile(r"^-{8} ", re.I)),
          ("apple", re.compile(r"^begin ", re.I)))
FORWARD_SUBJECT = re.compile(r"^\s*(?:(?:fwd?|fw|doorst|wg|pd|tr|rv|vs|fs)\s*:\s*)+", re.IGNORECASE)
HEADER_LINE = re.compile(r"^\s*\**\s*([^\W\d_][\w .-]{0,20}?)\s*\**\s*:\**[ \t]*(.*)$")
NOACK = re.compile(r"(?<![\w#])#no-?ack\b", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class Forwarded:
    """The original message inside a colleague's forward."""

    from_addr: str
    from_name: str
    subject: str
    text: str  # the original message's text (its own quotes kept)
    note: str  # what the colleague wrote above the forwarded block
    style: str  # outlook | gmail | apple | thunderbird | attached
    date: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)  # an attached message's own
    html: str | None = None

    @property
    def no_ack(self) -> bool:
        """The colleague wrote #noack: the customer is not acknowledged."""
        return bool(NOACK.search(self.note))


def clean_subject(subject: str) -> str:
    """A subject without its forward prefixes."""
    return FORWARD_SUBJECT.sub("", subject or "").strip()


def _unquote(line: str) -> str:
    return re.sub(r"^(?:\s?>)+ ?", "", line)


def _mailbox(value: str) -> tuple[str, str]:
    """(name, address) from a header value as mail programs print it:
    ``Jan <jan@x.nl>``, ``Jan [mailto:jan@x.nl]``, ``jan@x.nl <mailto:jan@x.nl>``."""
    value = re.sub(r"([\w.+'-]+@[\w.-]+)\s*[\[<]\s*mailto:[^\]>\s]+\s*[\]>]", r"\1",
                   value.strip(), flags=re.I)  # jan@x.nl<mailto:jan@x.nl>
    value = re.sub(r"[\[<]\s*mailto:([^\]>\s]+)\s*[\]>]", r"<\1>", value, flags=re.I)
    name, addr = first_mailbox(value)
    if not addr:
        m = EMAIL.search(value)
        if not m:
            return "", ""
        addr = m.group(0)
        name = value[:m.start()].strip(" <[\"'")
    name = name.strip().strip("\"'").strip()
    if "@" in name and name.lower() == addr.lower():
        name = ""
    return name, addr.lower()


def _addresses(value: str) -> list[str]:
    return [m.group(0).lower() for m in EMAIL.finditer(value or "")]


def _header_block(lines: list[str], start: int) -> tuple[dict[str, str], int] | None:
    """The header block starting at ``lines[start]`` (blank lines before it skipped):
    fields by their meaning and the index of the first body line; None if there is none
    with a sender."""
    i = start
    while i < len(lines) and not _unquote(lines[i]).strip():
        i += 1
    fields: dict[str, str] = {}
    last: str | None = None
    while i < len(lines):
        line = _unquote(lines[i])
        if not line.strip():
            break
        m = HEADER_LINE.match(line)
        label = m.group(1).strip().lower() if m else None
        if m and label in LABELS:
            last = LABELS[label]
            if last in fields:  # the second From: of a nested block: this one ends here
                break
            fields[last] = m.group(2).strip().strip("*").strip()
        elif last is not None and line[:1] in (" ", "\t") and fields:
            fields[last] += " " + line.strip()  # a folded To: line
        else:
            break
        i += 1
    if "from" not in fields or not ({"subject", "date", "to"} & fields.keys()):
        return None
    return fields, i


def _style(marker: str, fields_tabbed: bool) -> str:
    for name, pattern in STYLES:
        if pattern.match(marker.strip()):
            return name
    return "thunderbird" if fields_tabbed else "outlook"


def find_in_text(text: str, subject: str = "",
                 is_ours: Callable[[str], bool] = lambda a: False) -> Forwarded | None:
    """The forwarded message in a forward's text, or None. ``is_ours``: an address of the
    desk; a block whose sender is ours (a colleague forwarding a colleague's forward) is
    looked into further."""
    lines = (text or "").replace("\r\n", "\n").split("\n")
    by_subject = bool(FORWARD_SUBJECT.match(subject or ""))
    note_end: int | None = None
    i = 0
    while i < len(lines):
        line = _unquote(lines[i])
        is_marker = bool(MARKER.match(line))
        start = i + 1 if is_marker else i
        if is_marker or (by_subject and HEADER_LINE.match(line)):
            found = _header_block(lines, start)
            if found is not None:
                fields, body_at = found
                name, addr = _mailbox(fields["from"])
                if addr:
                    if note_end is None:
                        note_end = i
                    if is_ours(addr):  # forwarded on by a colleague: look further in
                        i = body_at
                        continue
                    quoted = any(lines[k].lstrip().startswith(">") for k in range(start, body_at))
                    body_lines = lines[body_at:]
                    if quoted:
                        body_lines = [_unquote(b) for b in body_lines]
                    tabbed = any("\t" in lines[k] for k in range(start, body_at))
                    return Forwarded(
                        from_addr=addr, from_name=name,
                        subject=clean_subject(fields.get("subject", "")) or clean_subject(subject),
                        text="\n".join(body_lines).strip("\n"),
                        note="\n".join(lines[:note_end]).strip(),
                        style=_style(line if is_marker else "", tabbed),
                        date=fields.get("date", ""), to=_addresses(fields.get("to", "")),
                        cc=_addresses(fields.get("cc", "")))
        i += 1
    return None


def find(msg: InboundMessage, parse: Callable[[bytes], InboundMessage],
         is_ours: Callable[[str], bool] = lambda a: False) -> Forwarded | None:
    """The message a colleague forwarded in ``msg``: a forward in its text, else an
    attached message (message/rfc822, read with ``parse``). None when it is no forward."""
    found = find_in_text(msg.text or "", msg.subject, is_ours)
    if found is not None:
        return found
    for a in msg.attachments:
        if a.content_type.lower() not in ("message/rfc822", "message/global"):
            continue
        try:
            inner = parse(a.content)
        except Exception:  # an unreadable attachment is not a forward
            continue
        if not inner.from_addr:
            continue
        if is_ours(inner.from_addr):
            deeper = find(inner, parse, is_ours)
            if deeper is None:
                continue
            deeper.note = (msg.text or "").strip()
            return deeper
        return Forwarded(from_addr=inner.from_addr, from_name=inner.from_name,
                         subject=clean_subject(inner.subject), text=inner.text or "",
                         note=(msg.visible_text or msg.text or "").strip(), style="attached",
                         date=inner.date.isoformat() if inner.date else "", to=list(inner.to),
                         cc=list(inner.cc), attachments=list(inner.attachments), html=inner.html)
    return None
