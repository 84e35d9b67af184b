"""Business calendar for the SLA clocks. Pure: no database, no clock; takes aware
datetimes, returns UTC. ``always_open=True`` is plain calendar time (real elapsed time).

Hours are wall-clock times in ``tz``. Each open day becomes one interval [opens, closes)
in UTC, converted through the time zone, so daylight saving falls out of the conversion:
08:30-17:00 is 8.5 h on any date, a whole day ("24h") is 23 h or 25 h on the changeover
Sundays, and back-to-back whole days join up (no gap at midnight). ``add`` and
``elapsed`` walk day by day, never minute by minute.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from holidays.registry import EntityLoader

UTC = UTC
ZERO = timedelta(0)
ONE_DAY = timedelta(days=1)
MIDNIGHT = time(0, 0)
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CONFIG_KEYS = ("timezone", "days", "hours", "holidays", "closed")
_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    """The country codes the holidays library knows (with aliases such as UK), from its
    registry: holidays.list_supported_countries() gives the same codes but imports every
    country's module to list subdivisions too (~200 modules, a quarter of a second), and
    every calendar checks its countries, the module's own 24/7 one at import."""
    return frozenset(EntityLoader.get_country_codes(include_aliases=True))


@lru_cache(maxsize=1024)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays_lib.country_holidays(country, years=year))


def _utc(moment: datetime) -> datetime:
    """The same instant in UTC. Everything is compared and added in UTC: Python compares
    and subtracts two datetimes sharing a tzinfo by their *wall* times, which is wrong
    across a daylight-saving change."""
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: pass an aware datetime")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    tz: str = "Europe/Amsterdam"  # IANA time zone the hours are in
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday=0
    start: time = time(8, 30)
    end: time = time(17, 0)  # time(0, 0) means the midnight ending the day: 00:00-00:00 is the whole day
    holidays_countries: tuple[str, ...] = ("NL",)  # closed on a public holiday of ANY of them
    closed: frozenset[date] = frozenset()  # company closing days
    always_open: bool = False  # calendar time: 24/7, real elapsed time
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)  # ZoneInfo(tz), set by __post_init__

    def __post_init__(self) -> None:
        # Messages start with the config key, so from_config's errors name it.
        try:
            zone = ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"timezone: unknown time zone {self.tz!r}") from None
        object.__setattr__(self, "_zone", zone)
        # Normalise containers so the (frozen) calendar stays hashable and comparable.
        object.__setattr__(self, "days", frozenset(self.days))
        object.__setattr__(self, "closed", frozenset(self.closed))
        countries = self.holidays_countries
        countries = (countries,) if isinstance(countries, str) else countries  # "NL", not "N", "L"
        object.__setattr__(self, "holidays_countries", tuple(c.upper() for c in countries))
        if not self.days:
            raise ValueError("days: no working days")
        if not all(isinstance(d, int) and 0 <= d <= 6 for d in self.days):
            raise ValueError(f"days: expected weekday numbers 0 (Monday) to 6, got {sorted(self.days)}")
        if not (self.end > self.start or self.end == MIDNIGHT):
            raise ValueError(f"hours: end {self.end} must be after start {self.start} (no overnight hours)")
        unknown = [c for c in self.holidays_countries if c not in _supported_countries()]
        if unknown:
            raise ValueError(f"holidays: unknown country code(s) {', '.join(unknown)}")
        if not all(isinstance(d, date) and not isinstance(d, datetime) for d in self.closed):
            raise ValueError("closed: expected dates")

    @classmethod
    def from_config(cls, cfg: Mapping) -> BusinessCalendar:
        """From a config mapping (e.g. a rules.yaml section); missing keys take the defaults."""
        if not isinstance(cfg, Mapping):
            raise ValueError(f"calendar: expected a mapping, got {cfg!r}")
        unknown = sorted(str(k) for k in cfg if k not in CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown calendar key(s) {', '.join(unknown)}; known: {', '.join(CONFIG_KEYS)}")
        kw: dict = {}
        if "timezone" in cfg:
            kw["tz"] = cfg["timezone"]
        if "days" in cfg:
            kw["days"] = frozenset(_parse_day(v) for v in _as_list(cfg["days"], "days"))
        if "hours" in cfg:
            kw["start"], kw["end"] = _parse_hours(cfg["hours"])
        if "holidays" in cfg:
            kw["holidays_countries"] = tuple(str(c) for c in _as_list(cfg["holidays"], "holidays"))
        if "closed" in cfg:
            kw["closed"] = frozenset(_parse_date(v) for v in _as_list(cfg["closed"], "closed"))
        return cls(**kw)

    def _span(self, day: date) -> tuple[datetime, datetime] | None:
        """The open interval [opens, closes) in UTC of local date `day`, or None if closed."""
        if day.weekday() not in self.days or day in self.closed:
            return None
        if any(day in _public_holidays(c, day.year) for c in self.holidays_countries):
            return None
        opens = datetime.combine(day, self.start, self._zone)
        closes = datetime.combine(day + ONE_DAY if self.end == MIDNIGHT else day, self.end, self._zone)
        # Hours inside a DST gap give a reversed span on that day; callers treat it as closed.
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def _local_date(self, utc_moment: datetime) -> date:  # the day whose span may hold it
        return utc_moment.astimezone(self._zone).date()

    def is_business_day(self, day: date) -> bool:
        """Whether local date `day` has opening hours (not a closed weekday or holiday)."""
        return self.always_open or self._span(day) is not None

    def first_business_day(self, year: int, month: int) -> date | None:
        """The first day of the month with opening hours (None: the whole month closed)."""
        day = date(year, month, 1)
        while day.month == month:
            if self.is_business_day(day):
                return day
            day += ONE_DAY
        return None

    def is_open(self, moment: datetime) -> bool:
        m = _utc(moment)
        if self.always_open:
            return True
        span = self._span(self._local_date(m))
        return span is not None and span[0] <= m < span[1]

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """When `duration` of business time has passed after `start` (UTC). Counting starts
        at the next opening; a deadline ending exactly at closing time is that closing time."""
        begin = _utc(start)
        if duration < ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        if self.always_open:
            return begin + duration
        remaining, day, closed_run = duration, self._local_date(begin), 0
        while closed_run <= 366:  # guard: closing days may cover every working day
            span = self._span(day)
            # `begin` only matters on the first day: later days open after it.
            opens, closes = (max(begin, span[0]), span[1]) if span else (begin, begin)
            available = closes - opens  # zero on a closed day
            if available > ZERO:
                if remaining <= available:
                    return opens + remaining
                remaining -= available
                closed_run = 0
            else:
                closed_run += 1
            day += ONE_DAY
        raise ValueError(f"closed: no working days for a year from {day - closed_run * ONE_DAY}")

    def elapsed(self, a: datetime, b: datetime) -> timedelta:
        """Business time between a and b; zero if b is not after a."""
        a, b = _utc(a), _utc(b)
        if b <= a:
            return ZERO
        if self.always_open:
            return b - a
        total, day, last = ZERO, self._local_date(a), self._local_date(b)
        while day <= last:
            span = self._span(day)
            if span is not None:
                total += max(ZERO, min(span[1], b) - max(span[0], a))
            day += ONE_DAY
        return total

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself if open, else the start of the next open period (UTC)."""
        return self.add(moment, ZERO)


def _as_list(value, key: str) -> list:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{key}: expected a list, got {value!r}")
    return list(value)


def _parse_day(value) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str) and len(value.strip()) >= 3:  # "mon", "Tue", "wednesday"
        name = value.strip().lower()
        for number, full in enumerate(DAY_NAMES):
            if full.startswith(name):
                return number
    raise ValueError(f"days: {value!r} is not a weekday (mon..sun or 0..6, Monday=0)")


def _parse_hours(value) -> tuple[time, time]:
    """'08:30-17:00', or '24h' / '00:00-24:00' for the whole day. 24:00 is returned as
    time(0, 0): the midnight that ends the day."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if text == "24h":
        return MIDNIGHT, MIDNIGHT
    match = _HOURS.fullmatch(text)
    if match:
        h1, m1, h2, m2 = map(int, match.groups())
        if (h2, m2) == (24, 0):
            h2 = 0
        if h1 <= 23 and h2 <= 23 and m1 <= 59 and m2 <= 59:
            return time(h1, m1), time(h2, m2)
    raise ValueError(f"hours: expected 'HH:MM-HH:MM' (e.g. 08:30-17:00) or '24h', got {value!r}")


def _parse_date(value) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):  # YAML parses dates itself
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"closed: {value!r} is not an ISO date (YYYY-MM-DD)") from None
