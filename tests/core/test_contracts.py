"""bot.core.contracts: was a written cancellation in time, and when does the contract end?"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.contracts import NoticeOutcome, add_months, notice_outcome

D = date.fromisoformat


@pytest.mark.parametrize(
    "start, months, expected",
    [
        ("2027-01-15", -1, "2026-12-15"),  # ordinary day keeps its day
        ("2027-03-30", -1, "2027-02-28"),  # ordinary day clamped
        ("2027-01-31", -1, "2026-12-31"),  # month end stays month end
        ("2027-03-31", -1, "2027-02-28"),
        ("2028-03-31", -1, "2028-02-29"),  # leap year
        ("2027-02-28", 12, "2028-02-29"),  # last day of Feb -> last day of leap Feb
        ("2028-02-29", 12, "2029-02-28"),
        ("2027-04-30", 1, "2027-05-31"),  # month end stays month end going forward
        ("2027-05-30", 1, "2027-06-30"),  # clamped... and 30 is also June's end
        ("2027-05-29", 1, "2027-06-29"),
        ("2026-11-20", 0, "2026-11-20"),
        ("2026-12-15", 1, "2027-01-15"),  # year roll forward
        ("2027-01-15", -13, "2025-12-15"),  # year roll back past a full year
    ],
)
def test_add_months(start, months, expected):
    assert add_months(D(start), months) == D(expected)


# (received, end, kwargs, in_time, deadline, effective_end)
CASES = {
    "well ahead": ("2026-03-01", "2026-12-31", {}, True, "2026-11-30", "2026-12-31"),
    "exactly on deadline": ("2026-11-30", "2026-12-31", {}, True, "2026-11-30", "2026-12-31"),
    "one day late": ("2026-12-01", "2026-12-31", {}, False, "2026-11-30", "2027-12-31"),
    "month boundary, in time": ("2026-12-31", "2027-01-31", {}, True, "2026-12-31", "2027-01-31"),
    "month boundary, late": ("2027-01-01", "2027-01-31", {}, False, "2026-12-31", "2028-01-31"),
    "mid-month end, on deadline": ("2026-12-15", "2027-01-15", {}, True, "2026-12-15", "2027-01-15"),
    "mid-month end, late": ("2026-12-16", "2027-01-15", {}, False, "2026-12-15", "2028-01-15"),
    "end 30th clamps deadline": ("2027-02-28", "2027-03-30", {}, True, "2027-02-28", "2027-03-30"),
    "leap deadline, on it": ("2028-02-29", "2028-03-31", {}, True, "2028-02-29", "2028-03-31"),
    "leap deadline, late": ("2028-03-01", "2028-03-31", {}, False, "2028-02-29", "2029-03-31"),
    "non-leap Feb deadline": ("2027-03-01", "2027-03-31", {}, False, "2027-02-28", "2028-03-31"),
    "renew Feb 28 -> leap Feb 29": ("2027-02-01", "2027-02-28", {}, False, "2027-01-31", "2028-02-29"),
    "renew leap Feb 29 -> Feb 28": ("2028-02-01", "2028-02-29", {}, False, "2028-01-31", "2029-02-28"),
    "end in the past rolls terms": ("2026-11-20", "2023-06-30", {}, False, "2023-05-31", "2027-06-30"),
    "past end, lands on deadline": ("2026-05-31", "2023-06-30", {}, False, "2023-05-31", "2026-06-30"),
    "past end, day after deadline": ("2026-06-01", "2023-06-30", {}, False, "2023-05-31", "2027-06-30"),
    "monthly terms do not drift": (
        "2027-04-01", "2027-01-30", {"term_months": 1}, False, "2026-12-30", "2027-05-30"),
    "notice 3 months, on deadline": (
        "2026-09-30", "2026-12-31", {"notice_months": 3}, True, "2026-09-30", "2026-12-31"),
    "notice 3 months, late": (
        "2026-10-01", "2026-12-31", {"notice_months": 3}, False, "2026-09-30", "2027-12-31"),
    "notice 3 months, month-end clamp": (
        "2027-03-01", "2027-05-31", {"notice_months": 3}, False, "2027-02-28", "2028-05-31"),
    "notice 0 months, on the end day": (
        "2026-12-31", "2026-12-31", {"notice_months": 0}, True, "2026-12-31", "2026-12-31"),
    "notice 3 months, 6-month terms": (
        "2026-11-01", "2026-12-31", {"notice_months": 3, "term_months": 6},
        False, "2026-09-30", "2027-06-30"),
    "non-renewing, in time": (
        "2026-11-01", "2026-12-31", {"auto_renew": False}, True, "2026-11-30", "2026-12-31"),
    "non-renewing, late": (
        "2026-12-10", "2026-12-31", {"auto_renew": False}, True, "2026-11-30", "2026-12-31"),
    "non-renewing, after the end": (
        "2027-02-01", "2026-12-31", {"auto_renew": False}, True, "2026-11-30", "2026-12-31"),
    "open-ended": ("2026-11-20", None, {}, True, None, "2026-12-31"),
    "open-ended, first of month": ("2026-11-01", None, {}, True, None, "2026-12-31"),
    "open-ended, 3 months": ("2026-11-30", None, {"notice_months": 3}, True, None, "2027-02-28"),
    "open-ended, 0 months": ("2026-11-20", None, {"notice_months": 0}, True, None, "2026-11-30"),
}


@pytest.mark.parametrize(
    "received, end, kwargs, in_time, deadline, effective_end", CASES.values(), ids=CASES.keys()
)
def test_notice_outcome(received, end, kwargs, in_time, deadline, effective_end):
    out = notice_outcome(D(received), D(end) if end else None, **kwargs)
    assert isinstance(out, NoticeOutcome)
    assert (out.in_time, out.deadline, out.effective_end) == (
        in_time,
        D(deadline) if deadline else None,
        D(effective_end),
    )
    # The sentence for people names the dates it is about.
    assert received in out.explanation
    assert effective_end in out.explanation
    if deadline and D(received) <= out.effective_end:  # not "had already ended"
        assert deadline in out.explanation


def test_explanation_in_time_sentence():
    out = notice_outcome(D("2026-11-20"), D("2026-12-31"))
    assert out.explanation == (
        "Notice received 2026-11-20, on or before the deadline 2026-11-30: "
        "the contract ends on 2026-12-31."
    )


@pytest.mark.parametrize(
    "received, phrase",
    [("2026-12-10", "does not renew"), ("2027-02-01", "already ended")],
)
def test_non_renewing_explanations_say_why(received, phrase):
    out = notice_outcome(D(received), D("2026-12-31"), auto_renew=False)
    assert phrase in out.explanation


def test_late_explanation_says_late():
    out = notice_outcome(D("2026-12-01"), D("2026-12-31"))
    assert "after the deadline 2026-11-30" in out.explanation
    assert "2027-12-31" in out.explanation


def test_outcome_is_frozen():
    out = notice_outcome(D("2026-11-20"), D("2026-12-31"))
    with pytest.raises(AttributeError):
        out.in_time = False  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"term_months": 0}, "term_months"),
        ({"term_months": -12}, "term_months"),
        ({"notice_months": -1}, "notice_months"),
    ],
)
@pytest.mark.parametrize("end", [D("2026-12-31"), None])
def test_invalid_arguments(kwargs, message, end):
    with pytest.raises(ValueError, match=message):
        notice_outcome(D("2026-11-20"), end, **kwargs)


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=500, deadline=None)
@given(
    received=dates,
    end=dates,
    term_months=st.integers(1, 36),
    notice_months=st.integers(0, 12),
)
def test_auto_renew_properties(received, end, term_months, notice_months):
    out = notice_outcome(
        received, end, auto_renew=True, term_months=term_months, notice_months=notice_months
    )
    assert out.effective_end >= end
    assert out.deadline == add_months(end, -notice_months)
    assert out.in_time == (received <= out.deadline)
    if out.in_time:
        assert out.effective_end == end
    else:
        assert out.effective_end > end
    # The notice meets the deadline of the term it takes effect at...
    assert received <= add_months(out.effective_end, -notice_months)
    # ...which is a whole number of terms after `end`...
    months = (out.effective_end.year - end.year) * 12 + out.effective_end.month - end.month
    assert months % term_months == 0
    assert out.effective_end == add_months(end, months)
    # ...and the earliest such term: the one before it was missed.
    if months:
        previous = add_months(end, months - term_months)
        assert received > add_months(previous, -notice_months)
