"""Invoice numbers in a customer's text (bot/core/invoices.py) and durations as people
type them (bot/core/worktime.py): plain values in, plain values out."""

from __future__ import annotations

import pytest

from bot.core import invoices
from bot.core.worktime import DurationError, format_minutes, parse_minutes


@pytest.mark.parametrize("text, expected", [
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
])
def test_invoice_numbers_are_found(text, expected):
    assert invoices.find(text) == expected


@pytest.mark.parametrize("text", [
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
])
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
