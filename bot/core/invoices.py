"""Invoice numbers in a customer's text (the receivables route, aftersales procedure 001:
a complaint about an invoice puts that invoice on hold from collection). Pure.

Only a number that follows an invoice word counts ("factuur 2026-114", "factuurnummer
12345", "invoice no. INV-2026-0042", "faktura nr FV/2026/11/3", "Rechnung Nr. 4711"), or
a token that is an invoice number by its own prefix ("INV-2026-0042"). What looks like
an IBAN, a phone number, a date or an amount is never one, even after an invoice word
("de factuur van 12-11-2026", "factuur € 250,00")."""

from __future__ import annotations

import re

# the invoice words (nl, en, pl, de) that may stand before a number
_WORD = (r"(?:factuur(?:nummer|nr)?|facturen|creditnota|credit\s+note|fact\.?\s*nr|"
         r"invoices?|inv|invoice[- ]?(?:number|no)|bill|"
         r"faktur[aęyz]e?|faktur|fv|"
         r"rechnung(?:en|snummer|snr)?|gutschrift)")
# what may stand between the word and the number
_MARK = r"(?:\s*(?:nummer|number|numer|nummern|nr|no|num|#|n°|nº)\.?)?(?:\s*[:#.]+|\s*-(?=\s))?"
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9/._-]*[A-Za-z0-9]|[0-9]"
_AFTER_WORD = re.compile(rf"(?<![\w-]){_WORD}{_MARK}\s*(?P<first>{_TOKEN})", re.IGNORECASE)
_MORE = re.compile(rf"\s*(?:,|;|&|\ben\b|\band\b|\bund\b|\bi\b|\boraz\b)\s*(?:nr\.?\s*|#\s*)?(?P<next>{_TOKEN})",
                   re.IGNORECASE)
# numbers that carry their own prefix: INV-2026-0042, FV/2026/11/3, RE-2026-55
_PREFIXED = re.compile(r"(?<![\w/-])(?:INV|FV|FA|RE|FAC|FACT)[-/][0-9][A-Za-z0-9/._-]*[0-9](?![\w/])")

_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$", re.IGNORECASE)
_DATE = re.compile(r"^(?:\d{1,2}[-./]\d{1,2}[-./](?:\d{2}|\d{4})|\d{4}[-./]\d{1,2}[-./]\d{1,2})$")
_AMOUNT = re.compile(r"^\d{1,3}(?:[.,]\d{3})*[.,]\d{2}$|^\d+[.,]\d{1,2}$")
_PHONE = re.compile(r"^(?:0\d{9,10}|0\d{1,3}-\d{6,8}|\+?\d{11,})$")
# (both read at a place in the text, never a copy of the rest of it: find() stays linear in
# the text's length, a 5 MB complaint naming "de factuur" on every line included)
_MONEY_AFTER = re.compile(r"(?:[.,]\d{1,2}(?!\d)|[.,]-)|\s*(?:€|eur\b|euro|zł|zl\b|pln\b|usd\b|\$|,-)", re.IGNORECASE)
_MONEY_BEFORE = ("€", "eur", "euro", "$", "zł", "pln")  # right before it, spaces between
_YEAR = re.compile(r"^(?:19|20)\d{2}$")

MAX_LENGTH = 40


def _plausible(token: str, marked: bool) -> bool:
    if not any(ch.isdigit() for ch in token) or len(token) > MAX_LENGTH:
        return False
    digits = sum(ch.isdigit() for ch in token)
    if token.isdigit() and len(token) < 3:
        return False
    if _IBAN.match(token) and digits >= 10:
        return False
    if _DATE.match(token) or _AMOUNT.match(token) or _PHONE.match(token):
        return False
    if _YEAR.match(token) and not marked:  # "de factuur 2026" is the year's invoice
        return False
    return True


def _money_before(text: str, at: int) -> bool:
    """A currency right before `at`, only spaces between ("€ 250", "EUR 250")."""
    end = at
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return text[max(0, end - 4):end].lower().endswith(_MONEY_BEFORE)


def _clean(token: str) -> str:
    return token.rstrip("._-/")


def find(text: str) -> list[str]:
    """The invoice numbers in `text`, in order of appearance, each once."""
    found: list[tuple[int, str]] = []
    for m in _AFTER_WORD.finditer(text):
        marked = bool(re.search(r"(?:nummer|number|numer|nr|no|num|#|n°|nº)\.?\s*[:#.]?\s*$",
                                text[m.start():m.start("first")], re.IGNORECASE)) or \
            m.group(0).lower().startswith(("factuurnummer", "factuurnr", "rechnungsnummer",
                                           "rechnungsnr", "invoice number", "invoice-number"))
        token = _clean(m.group("first"))
        if not _plausible(token, marked) or _money_before(text, m.start("first")) \
                or _MONEY_AFTER.match(text, m.end("first")):
            continue
        found.append((m.start("first"), token))
        pos = m.end("first")
        while True:
            more = _MORE.match(text, pos)
            if more is None:
                break
            nxt = _clean(more.group("next"))
            if _MONEY_AFTER.match(text, more.end("next")) or not _plausible(nxt, True) \
                    or nxt.isdigit() and len(nxt) < 3:
                break
            found.append((more.start("next"), nxt))
            pos = more.end("next")
    for m in _PREFIXED.finditer(text):
        token = _clean(m.group(0))
        if _plausible(token, True):
            found.append((m.start(), token))
    seen: set[str] = set()
    out: list[str] = []
    for _, token in sorted(found):
        key = token.upper()
        if key not in seen:
            seen.add(key)
            out.append(token)
    return out


def normalise(value: str) -> str | None:
    """A number typed by hand (`ticketbot hold 4 "FV/2026/11/3"`), cleaned; None when it
    cannot be an invoice number."""
    token = _clean(value.strip().strip("#").strip())
    if not token or len(token) > MAX_LENGTH or not re.fullmatch(_TOKEN, token):
        return None
    return token if any(ch.isdigit() for ch in token) else None
