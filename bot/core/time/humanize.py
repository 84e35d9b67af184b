"""Dates and times as people read them, in their language and the desk's time zone."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"],
    "pl": ["stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
           "września", "października", "listopada", "grudnia"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"],
}

WEEKDAYS = {  # short, Monday first
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "nl": ["ma", "di", "wo", "do", "vr", "za", "zo"],
    "pl": ["pon.", "wt.", "śr.", "czw.", "pt.", "sob.", "niedz."],
    "de": ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."],
}


def format_date(d: date | None, language: str | None) -> str:
    """31 december 2026 / 31 December 2026 / 31 grudnia 2026 / 31. Dezember 2026."""
    if d is None:
        return ""
    months = MONTHS.get(language or "en", MONTHS["en"])
    day = f"{d.day}." if language == "de" else f"{d.day}"
    return f"{day} {months[d.month - 1]} {d.year}"


def when(moment: datetime, tz: tzinfo, language: str | None) -> str:
    """24 november 2026 10:00 / 24 November 2026 10:00, in the desk's time zone."""
    local = moment.astimezone(tz)
    return f"{format_date(local.date(), language)} {local:%H:%M}"


def short_when(moment: datetime, tz: tzinfo, language: str | None) -> str:
    """Mon 30 November 2026 10:00 / ma 30 november 2026 10:00 / pon. 30 listopada 2026
    10:00: with the weekday, in the desk's time zone."""
    local = moment.astimezone(tz)
    days = WEEKDAYS.get(language or "en", WEEKDAYS["en"])
    return f"{days[local.weekday()]} {when(moment, tz, language)}"
