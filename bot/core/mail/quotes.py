"""Strip quoted history and signatures from a mail body, for display.

``visible_text`` cuts the text at the first marker of quoted history or of a
signature and keeps what comes before it. Markers (English, Dutch, Polish,
German, some French):

- attribution lines: "On ... wrote:", "Op ... schreef ...:", "W dniu ... pisze:",
  "... napisał(a):", "Wiadomość napisana przez ... w dniu ...:", "Am ... schrieb ...:",
  "Le ... a écrit :", also wrapped over two or three lines (Gmail, Apple Mail);
  an attribution must contain a digit or an "@" so a sentence that happens to end
  in "wrote:" is kept;
- Outlook header blocks: "From:/Van:/Od:/Von:" followed within a few lines by a
  "Sent:/Verzonden:/Wysłane:/Gesendet:/Date:/Datum:" line and a
  "Subject:/Onderwerp:/Temat:/Betreff:" line;
- separators: "-----Original Message-----" (and the Dutch, Polish, German, French
  versions), a line of 20 or more underscores (Outlook);
- a signature separator line "-- " (also "--");
- mobile footers: "Sent from my iPhone", "Verzonden vanaf mijn iPhone",
  "Wysłane z iPhone'a", "Get Outlook for iOS", ...;
- a block of ">"-quoted lines (with blank lines in between) that runs to the end.

Interleaved replies (quote, answer, quote, answer) are kept whole, only a quote
block at the very end is cut. When the cut would leave nothing (a mail that is only
a quote), the original text is returned, stripped.
"""

from __future__ import annotations

import re

from bot.core.domain import READ_LIMIT

_DIGIT_OR_AT = re.compile(r"[\d@]")

# A complete attribution, after the lines that make it up were joined with spaces.
# Anchored: starts with a known opening word; generic: only the ending is known.
_ATTRIBUTION_ANCHORED = re.compile(
    r"""^(?:
        On\s.+\swrote\s?:
      | Op\s.+\s(?:schreef|geschreven)\b.*:
      | Am\s.+\sschrieb\b.*:
      | Le\s.+\sa\sécrit\s?:
      | W\sdniu\s.+\spisze\s?:
      | Wiadomość\snapisana\sprzez\s.+:
    )$""",
    re.VERBOSE,
)
_ATTRIBUTION_GENERIC = re.compile(
    r"^.+\s(?:napisał(?:\(a\)|a)?|schreef|wrote|schrieb|написал(?:\(а\)|а)?)\s?:$")
_MAX_ATTRIBUTION = 400
_SENTENCE_END = frozenset(".!?:;")

_OUTLOOK_FROM = re.compile(r"^\*?(?:From|Van|Od|Von|De|Fra|Från)\s?:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(
    r"^\*?(?:Sent|Verzonden|Wysłane|Wysłano|Gesendet|Date|Datum|Data|Envoyé)\s?:", re.IGNORECASE
)
_OUTLOOK_SUBJECT = re.compile(r"^\*?(?:Subject|Onderwerp|Temat|Betreff|Objet)\s?:", re.IGNORECASE)
_OUTLOOK_WINDOW = 6

_SEPARATOR = re.compile(
    r"""^(?:
        -{2,}\s*(?:Original\sMessage|Oorspronkelijk\sbericht|Oorspronkelijk\sBericht
                |Wiadomość\soryginalna|Ursprüngliche\sNachricht|Message\sd'origine)\s*-{2,}
      | _{20,}
      | --
    )$""",
    re.VERBOSE | re.IGNORECASE,
)

_MOBILE = re.compile(
    r"""^(?:
        Sent\sfrom\smy\s[\w ]+
      | Sent\sfrom\s(?:Mail|Outlook|Yahoo\sMail)(?:\sfor\s[\w ]+)?
      | Get\sOutlook\sfor\s[\w ]+
      | (?:Verzonden|Verstuurd)\s(?:vanaf|met|van|via)\smijn\s[\w'’ ]+
      | Wysłane\sz\s(?:mojego\s)?[\w'’ ]+
      | Von\smeinem\s[\w ]+\sgesendet
      | Envoyé\sde\smon\s[\w ]+
    )\.?$""",
    re.VERBOSE,
)
_MAX_MOBILE = 60


def _is_attribution(candidate: str, anchored_only: bool = False) -> bool:
    if len(candidate) > _MAX_ATTRIBUTION or _DIGIT_OR_AT.search(candidate) is None:
        return False
    if _ATTRIBUTION_ANCHORED.match(candidate):
        return True
    return not anchored_only and _ATTRIBUTION_GENERIC.match(candidate) is not None


def _can_join(s: str) -> bool:
    return bool(s) and s[-1] not in _SENTENCE_END and s[0] != ">"


def _is_outlook_block(stripped: list[str], i: int) -> bool:
    window = stripped[i + 1 : i + 1 + _OUTLOOK_WINDOW]
    return any(_OUTLOOK_SENT.match(s) for s in window) and any(
        _OUTLOOK_SUBJECT.match(s) for s in window
    )


def _is_sent_first_block(stripped: list[str], i: int) -> bool:
    """GMX and web.de write the date first: "Gesendet:", "Von:", "An:", "Betreff:"."""
    window = stripped[i + 1 : i + 1 + _OUTLOOK_WINDOW]
    return any(_OUTLOOK_FROM.match(s) for s in window) and any(
        _OUTLOOK_SUBJECT.match(s) for s in window
    )


def _find_cut(lines: list[str]) -> int:
    """Index of the first line of quoted history or signature, or len(lines)."""
    stripped = [line.strip() for line in lines]
    for i, s in enumerate(stripped):
        if not s:
            continue
        first = s[0]
        if first == ">":
            continue  # quote blocks are handled after the marker scan
        if s[-1] == ":":
            # An attribution, maybe wrapped over 2-3 lines (the lines before must
            # not end a sentence). Longest anchored form first, so that
            # "On ... <" + "x@y> wrote:" cuts at the "On" line.
            join1 = i >= 1 and _can_join(stripped[i - 1])
            join2 = join1 and i >= 2 and _can_join(stripped[i - 2])
            if join2 and _is_attribution(" ".join(stripped[i - 2 : i + 1]), anchored_only=True):
                return i - 2
            if join1 and _is_attribution(stripped[i - 1] + " " + s, anchored_only=True):
                return i - 1
            if _is_attribution(s):
                return i
            if join1 and _is_attribution(stripped[i - 1] + " " + s):
                return i - 1
        if (first == "-" or first == "_") and _SEPARATOR.match(s):
            return i
        if len(s) <= _MAX_MOBILE and _MOBILE.match(s):
            return i
        if _OUTLOOK_FROM.match(s) and _is_outlook_block(stripped, i):
            return i
        if _OUTLOOK_SENT.match(s) and _is_sent_first_block(stripped, i):
            return i
    return len(lines)


def _trailing_quote_start(lines: list[str], end: int) -> int:
    """Start of a block of ">" lines (blank lines allowed) running up to ``end``."""
    start = end
    seen_quote = False
    for i in range(end - 1, -1, -1):
        s = lines[i].lstrip()
        if not s:
            start = i
        elif s[0] == ">":
            start = i
            seen_quote = True
        else:
            break
    return start if seen_quote else end


def visible_text(text: str) -> str:
    """The part of ``text`` a person wrote for this message (see module doc)."""
    if not text:
        return ""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > READ_LIMIT:
        # bounded: the markers are looked for in the first READ_LIMIT characters only
        # (whole lines); a mail whose own words run past that is shown whole
        lines = text[:READ_LIMIT].split("\n")[:-1]
        cut = _find_cut(lines)
        if cut == len(lines):
            return text.strip()
    else:
        lines = text.split("\n")
        cut = _find_cut(lines)
    cut = _trailing_quote_start(lines, cut)
    kept = lines[:cut]
    while kept and not kept[0].strip():
        kept.pop(0)
    result = "\n".join(kept).rstrip()
    if not result:
        return text.strip()
    return result


# A closing line ("Met vriendelijke groet,") and the short block under it (name, company,
# address, phone, disclaimer) are a signature even without a "-- " separator.
_CLOSING = re.compile(
    r"^\s*(met vriendelijke groet(en)?|vriendelijke groet(en)?|hartelijke groet(en)?|"
    r"met hartelijke groet(en)?|groet(en|jes)?|mvg|m\.v\.g\.|kind regards|best regards|"
    r"warm regards|regards|best wishes|best|cheers|sincerely|yours sincerely|yours faithfully|"
    r"thanks( and regards)?|thank you|z poważaniem|z wyrazami szacunku|pozdrawiam( serdecznie)?|"
    r"serdecznie pozdrawiam|pozdrowienia)\s*[,.!]?\s*$",
    re.IGNORECASE)
SIGNATURE_MAX_LINES = 12


def without_signature(text: str) -> str:
    """The text up to its last closing line, when what follows it is short enough to be
    a signature; for deciding what a mail is about (a "Factuuradres:" or a legal
    disclaimer under the name must not make a mail an invoice or a technical fault)."""
    lines = text.rstrip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if _CLOSING.match(lines[i]):
            if len(lines) - i - 1 <= SIGNATURE_MAX_LINES:
                return "\n".join(lines[:i]).rstrip()
            break
    return text


# German closings too: a staff member may answer a German customer in German
_CLOSING_DE = re.compile(r"^\s*(mit freundlichen grüßen|mit freundlichem gruß|freundliche grüße|"
                         r"viele grüße|beste grüße|liebe grüße|herzliche grüße|gruß|grüße)\s*[,.!]?\s*$",
                         re.IGNORECASE)
SIGN_OFF_MAX_LINES = 3  # a name, a function, a phone number under the closing line


def signs_off(text: str) -> bool:
    """Whether a text a person wrote ends with its own closing ("Groet,\nSanne"): a
    closing line with at most SIGN_OFF_MAX_LINES lines under it. A reply that signs
    itself gets no second sign-off from the template (templates/mail/reply.*)."""
    lines = text.rstrip().splitlines()
    for i in range(len(lines) - 1, max(-1, len(lines) - 2 - SIGN_OFF_MAX_LINES), -1):
        if _CLOSING.match(lines[i]) or _CLOSING_DE.match(lines[i]):
            return True
    return False
