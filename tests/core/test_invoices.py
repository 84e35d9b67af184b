"""Invoice numbers in a customer's text (bot/core/invoices.py) and durations as people
type them (bot/core/worktime.py): plain values in, plain values out."""

from __future__ import annotations

import re

import pytest

from bot.core import invoices
from bot.core.worktime import DurationError, format_minutes, parse_minutes

FOUND = [
    # Dutch
    ("Het bedrag op factuur 2026-114 klopt niet.", ["2026-114"]),
    ("Factuur 2026-311 klopt niet", ["2026-311"]),
    ("factuurnummer 12345 is dubbel", ["12345"]),
    ("Factuurnummer: 2026/0042", ["2026/0042"]),
    ("factuurnr. 778899", ["778899"]),
    ("over factuur nr. 2026-114 en 2026-115", ["2026-114", "2026-115"]),
    ("de facturen 1001, 1002 en 1003 zijn te hoog", ["1001", "1002", "1003"]),
    ("Creditnota CN-2026-7 ontbreekt", ["CN-2026-7"]),
    # English
    ("Regarding invoice no. INV-2026-0042, we were billed twice.", ["INV-2026-0042"]),
    ("Invoice number: 88-2211", ["88-2211"]),
    ("invoice #4455 is wrong", ["4455"]),
    ("Your invoice 20261187 arrived", ["20261187"]),
    ("We dispute INV-2026-0042 and INV-2026-0043.", ["INV-2026-0042", "INV-2026-0043"]),
    # Polish
    ("Dotyczy: faktura nr FV/2026/11/3", ["FV/2026/11/3"]),
    ("reklamacja faktury nr 123/2026", ["123/2026"]),
    ("Proszę o korektę faktury numer FV/2026/10/17 oraz FV/2026/10/18",
     ["FV/2026/10/17", "FV/2026/10/18"]),
    # German
    ("Ihre Rechnung Nr. 4711 ist falsch", ["4711"]),
    ("Rechnungsnummer RE-2026-55 bitte stornieren", ["RE-2026-55"]),
    ("Rechnungsnr.: 2026-900", ["2026-900"]),
    # marked year-like numbers count, a bare year does not
    ("Rechnung Nr. 2026", ["2026"]),
    ("de factuur 2026 was hoger dan die van 2025", []),
]
NOT_INVOICES = [
    "Ons IBAN is NL91ABNA0417164300, de factuur volgt.",
    "factuur NL91ABNA0417164300",  # an IBAN after the word is still an IBAN
    "Bel me over de factuur: 06-12345678",
    "factuur 0612345678",
    "invoice +31201234567",
    "de factuur van 12-11-2026 klopt niet",
    "factuur 12-11-2026",
    "invoice 2026-11-05 is late",
    "Rechnung vom 12.11.2026",
    "factuur € 250,00 te hoog",
    "factuur 250,00",
    "invoice 1.234,56 EUR",
    "de factuur 450 euro",
    "faktura 1200 zł",
    "invoice for 3 months",
    "factuur 12",  # too short to be a number anyone quotes
    "we betalen per factuur, zie www.example.nl",
    "Geen factuurnummer bekend.",
    "billing address changed",
]


@pytest.mark.parametrize("text, expected", FOUND)
def test_invoice_numbers_are_found(text, expected):
    assert invoices.find(text) == expected


@pytest.mark.parametrize("text", NOT_INVOICES)
def test_ibans_phones_dates_and_amounts_are_not_invoice_numbers(text):
    assert invoices.find(text) == []


def test_each_number_once_in_order():
    text = "Factuur 2026-114 ... zoals gezegd factuur 2026-114 en ook invoice 2026-120"
    assert invoices.find(text) == ["2026-114", "2026-120"]


@pytest.mark.parametrize("typed, expected", [
    ("2026-114", "2026-114"), ("#4711", "4711"), (" FV/2026/11/3 ", "FV/2026/11/3"),
    ("abc", None), ("", None), ("x" * 50 + "1", None), ("12 34", None)])
def test_a_number_typed_by_hand(typed, expected):
    assert invoices.normalise(typed) == expected


@pytest.mark.parametrize("typed, minutes", [
    ("15m", 15), ("15", 15), ("90", 90), ("15 min", 15), ("1h", 60), ("1h30", 90),
    ("1h 30m", 90), ("1H30M", 90), ("1.5h", 90), ("1,5u", 90), ("0.25h", 15), ("2u", 120),
    ("1:30", 90), ("24h", 1440)])
def test_durations(typed, minutes):
    assert parse_minutes(typed) == minutes


@pytest.mark.parametrize("typed", ["", "0", "0m", "abc", "15x", "25h", "1h75", "-5", "1.5"])
def test_not_durations(typed):
    with pytest.raises(DurationError):
        parse_minutes(typed)


def test_durations_as_people_read_them():
    assert [format_minutes(m) for m in (15, 60, 90, 125)] == ["15m", "1h", "1h30", "2h05"]


def _find_before(text: str) -> list[str]:
    """find() as it was before it was made linear (each match copied and searched the
    text before and after it): the reference the new one must agree with."""
    from bot.core import invoices as inv

    money_after = re.compile(r"^(?:[.,]\d{1,2}(?!\d)|[.,]-)|^\s*(?:€|eur\b|euro|zł|zl\b|pln\b|usd\b|\$|,-)",
                             re.IGNORECASE)
    money_before = re.compile(r"(?:€|eur|euro|\$|zł|pln)\s*$", re.IGNORECASE)
    found: list[tuple[int, str]] = []
    for m in inv._AFTER_WORD.finditer(text):
        marked = bool(re.search(r"(?:nummer|number|numer|nr|no|num|#|n°|nº)\.?\s*[:#.]?\s*$",
                                text[m.start():m.start("first")], re.IGNORECASE)) or \
            m.group(0).lower().startswith(("factuurnummer", "factuurnr", "rechnungsnummer",
                                           "rechnungsnr", "invoice number", "invoice-number"))
        token = inv._clean(m.group("first"))
        if money_before.search(text[:m.start("first")]) or money_after.match(text[m.end("first"):]):
            continue
        if not inv._plausible(token, marked):
            continue
        found.append((m.start("first"), token))
        pos = m.end("first")
        while True:
            more = inv._MORE.match(text, pos)
            if more is None:
                break
            nxt = inv._clean(more.group("next"))
            if money_after.match(text[more.end("next"):]) or not inv._plausible(nxt, True) \
                    or nxt.isdigit() and len(nxt) < 3:
                break
            found.append((more.start("next"), nxt))
            pos = more.end("next")
    for m in inv._PREFIXED.finditer(text):
        token = inv._clean(m.group(0))
        if inv._plausible(token, True):
            found.append((m.start(), token))
    seen: set[str] = set()
    out: list[str] = []
    for _, token in sorted(found):
        if token.upper() not in seen:
            seen.add(token.upper())
            out.append(token)
    return out


def test_finding_reads_each_place_once_and_finds_what_it_found_before():
    """find() reads a currency before and after a number at its place, not in copies of
    the text before and after it (a 5 MB complaint saying "de factuur klopt niet" on every
    line took longer than anyone waits: each of its 150,000 matches copied the text).
    Compared with the old reading on random texts built of the words, marks, currencies,
    numbers and spaces that decide, and on every example above."""
    import random

    rnd = random.Random(20261201)
    pieces = ["factuur", "Factuurnummer", "invoice", "invoice no.", "faktura nr", "Rechnung Nr.",
              "fv", "INV-2026-0042", "FV/2026/11/3", "€", "EUR", "euro", "zł", "PLN", "$", "usd",
              ",-", ",00", ".50", "250", "2026-114", "12345", "4711", "12-11-2026", "06-12345678",
              "NL91ABNA0417164300", "en", "and", "und", ",", ";", "&", "#", ":", "klopt", "niet",
              " ", "  ", "\n", "\t", ".", "nr", "2026"]
    texts = [" ".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 40))) for _ in range(3000)]
    texts += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 40))) for _ in range(2000)]
    texts += [t for t, _ in FOUND] + list(NOT_INVOICES)
    differ = [t for t in texts if invoices.find(t) != _find_before(t)]
    assert not differ, differ[:5]
