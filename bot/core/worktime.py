"""Time spent on a ticket (aftersales procedure 001: time per item can be recorded):
durations as people type them, and as people read them. Pure."""

from __future__ import annotations

import re

MAX_MINUTES = 24 * 60  # one entry is at most a day's work

_HM = re.compile(r"^(?P<h>\d+)\s*(?:h|u|uur|hr|hrs|hours?|godz|std)\s*(?P<m>[0-5]?\d)?\s*(?:m|min|mins|minutes?)?$")
_FRACTION = re.compile(r"^(?P<h>\d+[.,]\d+)\s*(?:h|u|uur|hr|hrs|hours?|godz|std)$")
_MINUTES = re.compile(r"^(?P<m>\d+)\s*(?:m|min|mins|minutes?|minuten|minut)?$")
_CLOCK = re.compile(r"^(?P<h>\d+):(?P<m>[0-5]\d)$")


class DurationError(ValueError):
    """`code` names the problem for the desk's refusals (bot/core/refusal_texts.py)."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


def parse_minutes(text: str) -> int:
    """'15m', '90', '1h30', '1h 30m', '1.5h', '1,5u', '1:30', '2h' -> minutes.
    A bare number is minutes. Raises DurationError (with an example) otherwise."""
    t = text.strip().lower()
    minutes: float | None = None
    if m := _MINUTES.match(t):
        minutes = int(m["m"])
    elif m := _HM.match(t):
        minutes = int(m["h"]) * 60 + int(m["m"] or 0)
    elif m := _FRACTION.match(t):
        minutes = float(m["h"].replace(",", ".")) * 60
    elif m := _CLOCK.match(t):
        minutes = int(m["h"]) * 60 + int(m["m"])
    if minutes is None:
        raise DurationError(f"{text!r} is not a duration; e.g. 15m, 1h30, 1.5h or 90 (minutes)",
                            "not-duration")
    whole = round(minutes)
    if whole <= 0:
        raise DurationError(f"{text!r}: a duration must be at least one minute", "duration-too-short")
    if whole > MAX_MINUTES:
        raise DurationError(f"{text!r}: more than 24 hours in one entry; log each day apart",
                            "duration-too-long")
    return whole


def looks_like_duration(text: str) -> bool:
    try:
        parse_minutes(text)
    except DurationError:
        return False
    return True


def format_minutes(minutes: int) -> str:
    """90 -> '1h30', 15 -> '15m', 120 -> '2h'."""
    h, m = divmod(int(minutes), 60)
    if not h:
        return f"{m}m"
    return f"{h}h{m:02d}" if m else f"{h}h"
