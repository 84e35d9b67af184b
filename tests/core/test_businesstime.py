"""The business calendar behind the SLA clocks (bot/businesstime.py): pure, no database.

2026 dates used below: DST starts Sunday 29 March and ends Sunday 25 October (Europe/
Amsterdam); King's Day is Monday 27 April; Good Friday 3 April and Easter Monday 6 April;
Christmas Friday 25 / Saturday 26 December; Polish Independence Day Wednesday 11 November.
2026-11-20 is a Friday.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.time.businesstime import BusinessCalendar, _supported_countries

AMS = ZoneInfo("Europe/Amsterdam")
UTC = UTC
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

OFFICE = BusinessCalendar()  # NL, Monday-Friday 08:30-17:00, Europe/Amsterdam
NL_PL = BusinessCalendar(holidays_countries=("NL", "PL"))
H24 = BusinessCalendar.from_config({"days": ALL_DAYS, "hours": "24h", "holidays": []})
ALWAYS = BusinessCalendar(always_open=True)
SEVEN_DAYS = BusinessCalendar.from_config({"days": ALL_DAYS, "holidays": []})  # 08:30-17:00 every day
WEEKDAYS_24H = BusinessCalendar.from_config({"hours": "24h"})  # whole days, Mon-Fri, NL holidays


def ams(*args) -> datetime:
    return datetime(*args, tzinfo=AMS)


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


# --- is_open / next_open -------------------------------------------------------------


@pytest.mark.parametrize(
    "cal, moment, expected",
    [
        (OFFICE, ams(2026, 11, 23, 8, 30), True),  # opening time is open
        (OFFICE, ams(2026, 11, 23, 8, 29, 59), False),
        (OFFICE, ams(2026, 11, 23, 16, 59, 59), True),
        (OFFICE, ams(2026, 11, 23, 17, 0), False),  # closing time is closed
        (OFFICE, ams(2026, 11, 21, 12, 0), False),  # Saturday
        (OFFICE, ams(2026, 4, 27, 12, 0), False),  # King's Day
        (OFFICE, ams(2026, 12, 25, 12, 0), False),  # Christmas
        (OFFICE, ams(2026, 11, 11, 12, 0), True),  # PL Independence Day, NL only
        (NL_PL, ams(2026, 11, 11, 12, 0), False),  # ... closed when PL counts too
        (BusinessCalendar(closed=frozenset({date(2026, 11, 24)})), ams(2026, 11, 24, 12, 0), False),
        (OFFICE, datetime(2026, 11, 23, 7, 45, tzinfo=UTC), True),  # 08:45 in Amsterdam
        (H24, ams(2026, 11, 22, 0, 0), True),  # Sunday midnight
        (WEEKDAYS_24H, ams(2026, 11, 21, 12, 0), False),
        (WEEKDAYS_24H, ams(2026, 11, 20, 23, 59, 59), True),
        (ALWAYS, ams(2026, 12, 25, 3, 0), True),
    ],
)
def test_is_open(cal, moment, expected):
    assert cal.is_open(moment) is expected


@pytest.mark.parametrize(
    "moment, expected",
    [
        (ams(2026, 11, 20, 20, 0), ams(2026, 11, 23, 8, 30)),  # Friday evening -> Monday
        (ams(2026, 11, 21, 12, 0), ams(2026, 11, 23, 8, 30)),  # Saturday
        (ams(2026, 11, 23, 6, 0), ams(2026, 11, 23, 8, 30)),  # early morning
        (ams(2026, 11, 23, 10, 0), ams(2026, 11, 23, 10, 0)),  # open: itself
        (ams(2026, 11, 23, 17, 0), ams(2026, 11, 24, 8, 30)),  # closing time
        (ams(2026, 4, 27, 9, 0), ams(2026, 4, 28, 8, 30)),  # King's Day -> the day after
        (ams(2026, 4, 2, 17, 30), ams(2026, 4, 7, 8, 30)),  # Good Friday ... Easter Monday
        (ams(2026, 12, 24, 18, 0), ams(2026, 12, 28, 8, 30)),  # Christmas weekend
    ],
)
def test_next_open(moment, expected):
    result = OFFICE.next_open(moment)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


# --- add ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cal, start, duration, expected",
    [
        # created outside business hours: counting starts at the next opening
        (OFFICE, ams(2026, 11, 20, 20, 0), h(1), ams(2026, 11, 23, 9, 30)),  # Friday 20:00
        (OFFICE, ams(2026, 11, 21, 12, 0), h(1), ams(2026, 11, 23, 9, 30)),  # Saturday
        (OFFICE, ams(2026, 11, 23, 6, 0), h(1), ams(2026, 11, 23, 9, 30)),  # 06:00
        (OFFICE, ams(2026, 4, 27, 10, 0), h(1), ams(2026, 4, 28, 9, 30)),  # King's Day
        # ending exactly at closing time is that closing time, not the next opening
        (OFFICE, ams(2026, 11, 23, 16, 0), h(1), ams(2026, 11, 23, 17, 0)),
        (OFFICE, ams(2026, 11, 23, 8, 30), h(8.5), ams(2026, 11, 23, 17, 0)),
        (OFFICE, ams(2026, 11, 23, 16, 0), h(1) + timedelta(seconds=1), ams(2026, 11, 24, 8, 30, 1)),
        # 24 h of business time lands inside a later business day, never midnight/weekend
        (OFFICE, ams(2026, 11, 23, 9, 0), h(24), ams(2026, 11, 25, 16, 0)),
        (OFFICE, ams(2026, 11, 20, 12, 0), h(24), ams(2026, 11, 25, 10, 30)),  # over a weekend
        (OFFICE, ams(2026, 12, 23, 12, 0), h(24), ams(2026, 12, 29, 10, 30)),  # over Christmas
        (OFFICE, ams(2026, 11, 23, 9, 0), h(85), ams(2026, 12, 7, 9, 0)),  # 10 business days
        # holidays of any listed country, and company closing days
        (OFFICE, ams(2026, 11, 10, 12, 0), h(8.5), ams(2026, 11, 11, 12, 0)),
        (NL_PL, ams(2026, 11, 10, 12, 0), h(8.5), ams(2026, 11, 12, 12, 0)),
        (BusinessCalendar(closed=frozenset({date(2026, 11, 24)})), ams(2026, 11, 23, 12, 0), h(8.5),
         ams(2026, 11, 25, 12, 0)),
        # 24/7 has no gap at midnight; whole weekdays skip the weekend
        (H24, ams(2026, 11, 20, 23, 59, 59), timedelta(seconds=2), ams(2026, 11, 21, 0, 0, 1)),
        (WEEKDAYS_24H, ams(2026, 11, 20, 23, 59, 59), timedelta(seconds=2), ams(2026, 11, 23, 0, 0, 1)),
        (BusinessCalendar.from_config({"hours": "08:00-24:00"}), ams(2026, 11, 20, 23, 0), h(2),
         ams(2026, 11, 23, 9, 0)),
        (ALWAYS, ams(2026, 12, 24, 20, 0), h(24), ams(2026, 12, 25, 20, 0)),
        # zero duration: the next opening
        (OFFICE, ams(2026, 11, 21, 12, 0), timedelta(0), ams(2026, 11, 23, 8, 30)),
    ],
)
def test_add(cal, start, duration, expected):
    result = cal.add(start, duration)
    assert result == expected
    assert result.tzinfo is UTC
    assert cal.elapsed(start, result) == duration


@pytest.mark.parametrize("start", [ams(2026, 11, 23, 10, 0), datetime(2026, 11, 23, 9, 0, tzinfo=UTC)])
def test_add_same_instant_in_any_zone_gives_the_same_result(start):
    assert OFFICE.add(start, h(24)) == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 17:00 local


# --- daylight saving ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cal, start, duration, expected_local, expected_utc",
    [
        # business hours: always 8.5 h a day, in local wall time, whatever DST did overnight
        (OFFICE, ams(2026, 3, 27, 12, 0), h(8.5), ams(2026, 3, 30, 12, 0), datetime(2026, 3, 30, 10, 0)),
        (OFFICE, ams(2026, 3, 27, 8, 30), h(17), ams(2026, 3, 30, 17, 0), datetime(2026, 3, 30, 15, 0)),
        (OFFICE, ams(2026, 10, 23, 12, 0), h(8.5), ams(2026, 10, 26, 12, 0), datetime(2026, 10, 26, 11, 0)),
        (OFFICE, ams(2026, 10, 23, 8, 30), h(17), ams(2026, 10, 26, 17, 0), datetime(2026, 10, 26, 16, 0)),
        # ... also on the changeover Sunday itself when it is a working day
        (SEVEN_DAYS, ams(2026, 3, 28, 12, 0), h(8.5), ams(2026, 3, 29, 12, 0), datetime(2026, 3, 29, 10, 0)),
        (SEVEN_DAYS, ams(2026, 10, 24, 12, 0), h(8.5), ams(2026, 10, 25, 12, 0), datetime(2026, 10, 25, 11, 0)),
        # 24/7: real elapsed time, so 24 h later is 13:00 / 11:00 on the 23 h / 25 h day
        (H24, ams(2026, 3, 28, 12, 0), h(24), ams(2026, 3, 29, 13, 0), datetime(2026, 3, 29, 11, 0)),
        (H24, ams(2026, 10, 24, 12, 0), h(24), ams(2026, 10, 25, 11, 0), datetime(2026, 10, 25, 10, 0)),
        (H24, ams(2026, 3, 29, 0, 0), h(23), ams(2026, 3, 30, 0, 0), datetime(2026, 3, 29, 22, 0)),
        (H24, ams(2026, 10, 25, 0, 0), h(25), ams(2026, 10, 26, 0, 0), datetime(2026, 10, 25, 23, 0)),
        (ALWAYS, ams(2026, 3, 28, 12, 0), h(24), ams(2026, 3, 29, 13, 0), datetime(2026, 3, 29, 11, 0)),
        (ALWAYS, ams(2026, 10, 24, 12, 0), h(24), ams(2026, 10, 25, 11, 0), datetime(2026, 10, 25, 10, 0)),
    ],
)
def test_add_across_dst(cal, start, duration, expected_local, expected_utc):
    result = cal.add(start, duration)
    assert result == expected_local
    assert result.replace(tzinfo=None) == expected_utc
    assert cal.elapsed(start, result) == duration


@pytest.mark.parametrize(
    "cal, a, b, expected",
    [
        (H24, ams(2026, 3, 29, 0, 0), ams(2026, 3, 30, 0, 0), h(23)),  # spring forward
        (H24, ams(2026, 10, 25, 0, 0), ams(2026, 10, 26, 0, 0), h(25)),  # fall back
        (ALWAYS, ams(2026, 3, 28, 12, 0), ams(2026, 3, 29, 12, 0), h(23)),
        (ALWAYS, ams(2026, 10, 24, 12, 0), ams(2026, 10, 25, 12, 0), h(25)),
        (SEVEN_DAYS, ams(2026, 3, 29, 0, 0), ams(2026, 3, 30, 0, 0), h(8.5)),
        (SEVEN_DAYS, ams(2026, 10, 25, 0, 0), ams(2026, 10, 26, 0, 0), h(8.5)),
        (OFFICE, ams(2026, 3, 27, 0, 0), ams(2026, 3, 31, 0, 0), h(17)),  # Fri + Mon
    ],
)
def test_elapsed_across_dst(cal, a, b, expected):
    assert cal.elapsed(a, b) == expected


# --- elapsed --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cal, a, b, expected",
    [
        (OFFICE, ams(2026, 11, 23, 10, 0), ams(2026, 11, 23, 12, 30), h(2.5)),
        (OFFICE, ams(2026, 11, 20, 16, 0), ams(2026, 11, 23, 9, 0), h(1.5)),  # over a weekend
        (OFFICE, ams(2026, 11, 20, 18, 0), ams(2026, 11, 23, 8, 0), h(0)),  # all closed
        (OFFICE, ams(2026, 11, 23, 0, 0), ams(2026, 11, 30, 0, 0), h(42.5)),  # a full week
        (OFFICE, ams(2026, 4, 24, 12, 0), ams(2026, 4, 28, 12, 0), h(8.5)),  # 5 h Fri, King's Day, 3.5 h Tue
        (NL_PL, ams(2026, 11, 10, 12, 0), ams(2026, 11, 12, 12, 0), h(8.5)),  # Independence Day
        (OFFICE, ams(2026, 11, 10, 12, 0), ams(2026, 11, 12, 12, 0), h(17)),
        (BusinessCalendar(closed=frozenset({date(2026, 11, 24)})), ams(2026, 11, 23, 0, 0),
         ams(2026, 11, 26, 0, 0), h(17)),
        (H24, ams(2026, 11, 20, 23, 59, 59), ams(2026, 11, 21, 0, 0, 1), timedelta(seconds=2)),
        (WEEKDAYS_24H, ams(2026, 11, 20, 12, 0), ams(2026, 11, 23, 12, 0), h(24)),
        (OFFICE, ams(2026, 11, 23, 12, 0), ams(2026, 11, 23, 11, 0), h(0)),  # b before a
        (ALWAYS, ams(2026, 11, 23, 12, 0), ams(2026, 11, 23, 11, 0), h(0)),
    ],
)
def test_elapsed(cal, a, b, expected):
    assert cal.elapsed(a, b) == expected


# --- configuration ------------------------------------------------------------------------


def test_from_config_reads_a_yaml_section():
    cfg = yaml.safe_load(
        """
        timezone: Europe/Warsaw
        days: [mon, Tuesday, wed, Thurs, 4, sat]
        hours: "09:00-17:30"
        holidays: [nl, PL]
        closed: [2026-12-24, "2026-12-31"]   # YAML reads the first as a date already
        """
    )
    assert BusinessCalendar.from_config(cfg) == BusinessCalendar(
        tz="Europe/Warsaw",
        days=frozenset({0, 1, 2, 3, 4, 5}),
        start=time(9, 0),
        end=time(17, 30),
        holidays_countries=("NL", "PL"),
        closed=frozenset({date(2026, 12, 24), date(2026, 12, 31)}),
    )


def test_from_config_defaults_and_whole_day_spellings():
    assert BusinessCalendar.from_config({}) == OFFICE
    assert BusinessCalendar.from_config({"holidays": None}).holidays_countries == ()
    whole_day = BusinessCalendar.from_config({"hours": "24h"})
    assert (whole_day.start, whole_day.end) == (time(0, 0), time(0, 0))
    assert BusinessCalendar.from_config({"hours": "00:00-24:00"}) == whole_day
    assert BusinessCalendar.from_config({"hours": "08:00-24:00"}).end == time(0, 0)


@pytest.mark.parametrize(
    "cfg, message",
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"days": []}, "no working days"),
        ({"days": None}, "no working days"),
        ({"days": ["funday"]}, "days"),
        ({"days": [7]}, "days"),
        ({"days": [True]}, "days"),
        ({"days": "mon-fri"}, "days"),
        ({"hours": "9-5"}, "hours"),
        ({"hours": "17:00-08:30"}, "hours"),
        ({"hours": "08:30-08:30"}, "hours"),
        ({"hours": "08:30-25:00"}, "hours"),
        ({"hours": 510}, "hours"),  # YAML 1.1 reads an unquoted 08:30 as 510
        ({"holidays": ["XX"]}, "holidays"),
        ({"holidays": "NL"}, "holidays"),
        ({"closed": ["2026-13-01"]}, "closed"),
        ({"closed": "2026-12-24"}, "closed"),
        ({"holiday": ["NL"]}, "holiday"),  # typo: unknown key
        ([("timezone", "UTC")], "mapping"),
    ],
)
def test_from_config_rejects_bad_values_naming_the_key(cfg, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_config(cfg)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"days": frozenset()}, "no working days"),
        ({"days": frozenset({7})}, "days"),
        ({"tz": "Nowhere/Special"}, "timezone"),
        ({"start": time(17, 0), "end": time(8, 30)}, "hours"),
        ({"holidays_countries": ("NL", "ZZ")}, "holidays"),
        ({"closed": frozenset({"2026-12-24"})}, "closed"),
    ],
)
def test_constructor_validates(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)


def test_calendar_is_hashable_and_normalised():
    cal = BusinessCalendar(days={0, 1}, holidays_countries=["nl"], closed=[date(2026, 12, 24)])
    assert cal == BusinessCalendar(days=frozenset({0, 1}), holidays_countries=("NL",),
                                   closed=frozenset({date(2026, 12, 24)}))
    assert BusinessCalendar(holidays_countries="pl").holidays_countries == ("PL",)
    assert hash(cal) == hash(BusinessCalendar(days=frozenset({1, 0}), closed=frozenset({date(2026, 12, 24)})))


@pytest.mark.parametrize("cal", [OFFICE, ALWAYS], ids=["business", "always_open"])
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.is_open(datetime(2026, 11, 23, 10, 0)),
        lambda c: c.add(datetime(2026, 11, 23, 10, 0), h(1)),
        lambda c: c.elapsed(datetime(2026, 11, 23, 10, 0), ams(2026, 11, 23, 11, 0)),
        lambda c: c.elapsed(ams(2026, 11, 23, 10, 0), datetime(2026, 11, 23, 11, 0)),
        lambda c: c.next_open(datetime(2026, 11, 23, 10, 0)),
    ],
    ids=["is_open", "add", "elapsed_a", "elapsed_b", "next_open"],
)
def test_naive_datetimes_are_rejected(cal, call):
    with pytest.raises(ValueError, match="naive"):
        call(cal)


def test_a_year_without_working_days_is_an_error_not_a_hang():
    mondays = frozenset(date(2026, 11, 23) + timedelta(weeks=n) for n in range(60))  # > 1 year
    cal = BusinessCalendar(days=frozenset({0}), closed=mondays)
    with pytest.raises(ValueError, match="no working days"):
        cal.add(ams(2026, 11, 23, 10, 0), h(1))
    assert cal.elapsed(ams(2026, 11, 23, 10, 0), ams(2027, 11, 23, 10, 0)) == timedelta(0)


@pytest.mark.parametrize("cal", [OFFICE, ALWAYS], ids=["business", "always_open"])
def test_negative_duration_is_rejected(cal):
    with pytest.raises(ValueError, match="negative"):
        cal.add(ams(2026, 11, 23, 10, 0), h(-1))


# --- properties -----------------------------------------------------------------------------

CALENDARS = [
    OFFICE,
    BusinessCalendar(holidays_countries=("NL", "PL"), closed=frozenset({date(2026, 12, 24), date(2027, 1, 4)})),
    H24,
    WEEKDAYS_24H,
    SEVEN_DAYS,
    ALWAYS,
    BusinessCalendar.from_config({"timezone": "America/New_York", "days": ["sun", "wed"], "hours": "07:15-24:00",
                                  "holidays": ["US"]}),
    BusinessCalendar.from_config({"timezone": "Asia/Kolkata", "days": [5], "hours": "10:00-10:01"}),
]
ZONES = [UTC, AMS, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]

calendars = st.sampled_from(CALENDARS)
moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.sampled_from(ZONES)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))


def _open_or_closing_time(cal: BusinessCalendar, moment: datetime) -> bool:
    return cal.is_open(moment) or cal.is_open(moment - timedelta(microseconds=1))


@settings(max_examples=120, deadline=None)
@given(cal=calendars, start=moments, duration=durations)
def test_add_and_elapsed_agree(cal, start, duration):
    end = cal.add(start, duration)
    assert end.tzinfo is UTC
    assert end >= start.astimezone(UTC)
    assert cal.elapsed(start, end) == duration
    assert _open_or_closing_time(cal, end)


@settings(max_examples=80, deadline=None)
@given(cal=calendars, start=moments, d1=durations, d2=durations)
def test_add_is_monotonic_in_the_duration(cal, start, d1, d2):
    short, long = sorted([d1, d2])
    assert cal.add(start, short) <= cal.add(start, long)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, a=moments, b=moments, c=moments)
def test_elapsed_is_additive_and_bounded(cal, a, b, c):
    a, b, c = sorted([a, b, c], key=lambda m: m.astimezone(UTC))
    assert cal.elapsed(a, c) == cal.elapsed(a, b) + cal.elapsed(b, c)
    assert timedelta(0) <= cal.elapsed(a, c) <= c.astimezone(UTC) - a.astimezone(UTC)
    assert cal.elapsed(c, a) == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, moment=moments)
def test_next_open_is_open_and_nothing_is_open_before_it(cal, moment):
    nxt = cal.next_open(moment)
    assert cal.is_open(nxt)
    assert nxt >= moment
    assert cal.elapsed(moment, nxt) == timedelta(0)
    # (compared in UTC: Python never equates a fold/gap wall time with another zone's)
    assert (nxt == moment.astimezone(UTC)) is cal.is_open(moment)



def test_the_country_codes_are_the_holidays_librarys_without_loading_every_country():
    """A calendar checks its countries against the library's codes (aliases too: UK, NLD),
    read from its registry: listing them through list_supported_countries() imports every
    country's module (~200, a quarter of a second at each `ticketbot` start)."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from bot.core.time.businesstime import BusinessCalendar; "
         "BusinessCalendar(holidays_countries=('NL', 'UK', 'PL')); "
         "print(' '.join(m for m in sys.modules if m.startswith('holidays.countries.')))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []  # none until a holiday is looked up
    assert _supported_countries() == frozenset(holidays.list_supported_countries())
    assert {"NL", "NLD", "UK", "GB", "PL"} <= _supported_countries()
