"""Address lists read before anything in them is decoded.

An RFC 2047 encoded word may only stand in a display name, never in an address; decoding
a header first lets the name forge structure (``=?utf-8?q?x=2C_y@evil?=`` decodes to a
comma and an address, ``=?utf-8?q?A=0D=0ABcc:_v@evil?=`` to a group and a line break).
So the raw header is split here first, treating encoded words, quoted strings, comments
and angle brackets as opaque, and only the display names are decoded afterwards.

The standard library's ``getaddresses`` is not used: it splits inside encoded words.
"""

from __future__ import annotations

import re

_ENCODED_WORD = re.compile(r"=\?[^?\s]{1,64}\?[bBqQ]\?[^?]*\?=")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
# (a match starts only where a run of address characters starts: tried at every character
# of a 16 KB run without "@", it took 1.5 s)
_ADDR_SPEC = re.compile(r"(?<![^\s<>(),;:\"\\@])[^\s<>(),;:\"\\@]+@[^\s<>(),;:\"\\@]+")
# what no address to answer holds: a second "@", list and group separators, brackets,
# quotes (<a@x,b@y> reads as one "address" but smtplib sends it to a@x only)
_NOT_IN_ADDRESS = re.compile(r"[\s,;:<>()\"\\\[\]]|@.*@")
MAX_ADDRESS = 254  # RFC 5321's limit on a path: longer is no address
# header values longer than this are cut before they are read (nothing real comes close)
MAX_HEADER = 16 * 1024


def parse_address_list(value: str) -> list[tuple[str, str]]:
    """(raw display name, lower-case address) for each mailbox in ``value``; elements
    without a usable address are left out. The names are as written (still encoded)."""
    out: list[tuple[str, str]] = []
    for display, angle, comment in _elements(value[:MAX_HEADER]):
        if angle is not None:
            addr = angle.strip()
            name = display
        else:
            # the first bare address, not one inside a quoted name or an encoded word
            found = _ADDR_SPEC.findall(_QUOTED.sub(" ", _ENCODED_WORD.sub(" ", display)))
            addr = found[0] if found else ""
            name = comment      # old style: jan@klant.nl (Jan de Vries)
        addr = addr.strip().lower()
        if addr.startswith("mailto:"):
            addr = addr[len("mailto:"):]
        addr = addr.rstrip(".")   # a domain's trailing dot (x@desk.example.) is the same domain
        if not addr or "@" not in addr or _NOT_IN_ADDRESS.search(addr) or "=?" in addr:
            continue
        if len(addr) > MAX_ADDRESS:  # no mail server takes it: not an address to answer
            continue
        out.append((_unquote(name.strip()), addr))
    return out


def first_mailbox(value: str) -> tuple[str, str]:
    """The first mailbox with an address (raw name, address); without any, the first
    name with no usable address (``"Mail Deliver System" <MAILER-DAEMON>``) and ""."""
    found = parse_address_list(value)
    if found:
        return found[0]
    for display, angle, comment in _elements(value[:MAX_HEADER]):
        name = _unquote((display if angle is not None else comment).strip())
        if name and "@" not in name:
            return name, ""
    return "", ""


def mailbox_count(value: str) -> int:
    """How many mailboxes (with an address or not) a header lists at its top level."""
    return len(_elements(value[:MAX_HEADER]))


def unseparated(value: str) -> str:
    """Text after a mailbox's angle brackets and before the next comma (a second mailbox
    written without a comma: ``"A" <a@x> "B" <b@y>``), or a second bare address, which
    the reading drops; "" when there is none. Said in a warning: no silent repair."""
    strays: list[str] = []
    for display, angle, _ in _elements(value[:MAX_HEADER], strays):
        if angle is None:   # bare addresses side by side: tim@x.example concierge@x.example
            strays += _ADDR_SPEC.findall(_QUOTED.sub(" ", _ENCODED_WORD.sub(" ", display)))[1:]
    return " ".join(strays)


def _comment_end(value: str, i: int) -> int:
    """The index after the comment (nested, with escapes) that opens at ``value[i]``."""
    depth, j, n = 1, i + 1, len(value)
    while j < n and depth:
        if value[j] == "\\":
            j += 1
        elif value[j] == "(":
            depth += 1
        elif value[j] == ")":
            depth -= 1
        j += 1
    return j


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
        name = re.sub(r"\\(.)", r"\1", name)
    return name.strip()


def _elements(value: str, strays: list[str] | None = None) -> list[tuple[str, str | None, str]]:
    """Split at top-level commas (and group markers); each element is its display text
    (comments dropped), the content of its first angle brackets (or None) and its last
    comment. Text after the first angle brackets (a second mailbox without a comma)
    belongs to nothing; it goes to ``strays`` when given."""
    elements: list[tuple[str, str | None, str]] = []
    display: list[str] = []
    angle: str | None = None
    comment = ""
    i, n = 0, len(value)
    after_angle = False

    stray_from = stray_to = -1

    def close() -> None:
        nonlocal angle, comment, after_angle, stray_from
        text = "".join(display).strip()
        if text or angle is not None:
            elements.append((text, angle, comment))
        if strays is not None and stray_from >= 0:
            strays.append(value[stray_from:stray_to].strip())
        display.clear()
        angle, comment, after_angle, stray_from = None, "", False, -1

    while i < n:
        c = value[i]
        if after_angle and c not in ",;":
            # text after the address (a second mailbox without a comma) belongs to no name
            start = i
            if c == "(":    # a comment after the address (<a@x> (work)) is no mailbox
                i = _comment_end(value, i)
                continue
            if c == '"':
                j = i + 1
                while j < n and value[j] != '"':
                    j += 2 if value[j] == "\\" else 1
                i = j
            i += 1
            if strays is not None and value[start:i].strip():
                if stray_from == -1:
                    stray_from = start
                stray_to = i
            continue
        if c == "=" and value.startswith("=?", i):
            m = _ENCODED_WORD.match(value, i)
            if m is not None:
                display.append(m.group())
                i = m.end()
                continue
        if c == '"':
            j = i + 1
            while j < n and value[j] != '"':
                j += 2 if value[j] == "\\" else 1
            display.append(value[i:j + 1])
            i = j + 1
            continue
        if c == "(":
            j = _comment_end(value, i)
            comment = value[i + 1:j - 1].strip()
            display.append(" ")
            i = j
            continue
        if c == "<":
            j = value.find(">", i + 1)
            if j < 0:
                j = n
            inner = value[i + 1:j]
            # a route (<@a,@b:x@y>) keeps only the address after its colon
            if angle is None:   # two mailboxes without a comma: the first one counts
                angle = inner.rsplit(":", 1)[-1] if inner.startswith("@") else inner
                after_angle = True
            i = j + 1
            continue

        if c == ",":
            close()
        elif c == ":":
            display.clear()     # a group's name: its members follow
        elif c == ";":
            close()
        else:
            display.append(c)
        i += 1
    close()
    return elements


_ROBOT = re.compile(r"^(?:no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?)\b", re.IGNORECASE)


def is_robot(addr: str) -> bool:
    """Whether an address is a robot's by its local part (noreply@, mailer-daemon@ ...)."""
    return bool(_ROBOT.match((addr or "").strip().lower().partition("@")[0]))


def reply_address(reply_to: list[str], from_addr: str, headers: dict[str, str],
                  own: frozenset[str] | set[str]) -> str | None:
    """Where the author asked to be answered (RFC 5322 3.6.2), when it is one person's
    address: a single Reply-To that is not the sender's own, not ours, not a mailing
    list's (a list sets Reply-To to itself) and not a robot's. The desk decides whether
    to follow it (``intake._answer_address``: a Reply-To elsewhere than the sender's
    domain brings the answers to whoever wrote it, so it must not override a customer the
    directory knows)."""
    if len(reply_to) != 1 or any(h in headers for h in ("list-id", "list-post")):
        return None
    addr = reply_to[0].lower()
    sender = (from_addr or "").lower()
    if addr == sender or addr in own or is_robot(addr):
        return None
    if not addr.isprintable() or any(c.isspace() for c in addr):
        return None
    return addr


def person_behind(reply_to: list[str], from_addr: str, headers: dict[str, str],
                  own: frozenset[str] | set[str]) -> str | None:
    """The person a robot-looking sender writes for: reply_address() when ``vouched``.
    A role sender whose Reply-To points elsewhere is not vouched for this way (a
    program's "billing@" mail answered at another domain is how phishing reads)."""
    addr = reply_address(reply_to, from_addr, headers, own)
    return addr if addr is not None and vouched(from_addr, addr) else None


def vouched(from_addr: str, reply_to: str) -> bool:
    """Whether the sender vouches for its Reply-To: a robot sending for someone (noreply@
    for a web form's customer) or a Reply-To at the sender's own domain."""
    sender = (from_addr or "").lower()
    return is_robot(sender) or sender.partition("@")[2] == reply_to.partition("@")[2] != ""
