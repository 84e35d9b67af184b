"""Was a written contract cancellation in time, and when does the contract really end?

Business rule (general terms, procedure S 3.4): "a contract renews automatically unless
cancelled in writing in the month before it ends".

Interpretation implemented here:

* ``end`` is the LAST day of service (inclusive).
* Notice must be RECEIVED at the latest ``notice_months`` calendar months before ``end``
  (default 1). That day is the *deadline*; notice received on or before it is in time,
  however early (it takes effect at the end of the current term).
* Month arithmetic preserves month ends: if ``end`` is the last day of its month, the
  deadline is the last day of the month ``notice_months`` earlier (2027-03-31 ->
  2027-02-28, 2028-03-31 -> 2028-02-29); otherwise the same day of the month, clamped
  (2027-01-15 -> 2026-12-15, 2027-03-30 -> 2027-02-28).
* Late notice on an auto-renewing contract takes effect at the end of the first later
  term whose deadline it meets; terms are ``term_months`` long with the same month-end
  rule (2027-02-28 + 12 -> 2028-02-29; 2028-02-29 + 12 -> 2029-02-28). Term *k* ends on
  ``add_months(end, k * term_months)``, counted from the original end so that clamping
  never drifts (e.g. monthly terms from the 30th stay on the 30th, not the 31st).
* A contract that does not renew ends on ``end`` whatever happens: notice then is never
  "late" (``in_time`` is True) and the explanation says so.
* An open-ended contract (``end`` is None) ends on the last day of the month
  ``notice_months`` after receipt (2026-11-20, 1 month -> 2026-12-31).

Pure: no I/O, stdlib only, ``datetime.date`` in and out.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _is_month_end(d: date) -> bool:
    return d.day == _last_day(d.year, d.month)


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months (may be negative).

    A month-end stays a month-end; any other day keeps its day of the month, clamped to
    the length of the target month.
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = _last_day(year, month)
    day = last if _is_month_end(d) else min(d.day, last)
    return date(year, month, day)


@dataclass(frozen=True)
class NoticeOutcome:
    in_time: bool
    deadline: date | None  # last day notice was in time for the term judged (None: open-ended)
    effective_end: date  # last day of service
    explanation: str  # one English sentence for people


def notice_outcome(
    received: date,
    end: date | None,
    *,
    auto_renew: bool = True,
    term_months: int = 12,
    notice_months: int = 1,
) -> NoticeOutcome:
    """Judge a written cancellation received on ``received`` against a contract ending ``end``."""
    if term_months < 1:
        raise ValueError(f"term_months must be at least 1, got {term_months}")
    if notice_months < 0:
        raise ValueError(f"notice_months must be 0 or more, got {notice_months}")

    if end is None:
        target = add_months(received, notice_months)
        effective = target.replace(day=_last_day(target.year, target.month))
        return NoticeOutcome(
            True, None, effective,
            f"Notice received {received} on an open-ended contract with {notice_months} "
            f"month(s) notice: the contract ends on {effective}.",
        )

    deadline = add_months(end, -notice_months)
    if received <= deadline:
        return NoticeOutcome(
            True, deadline, end,
            f"Notice received {received}, on or before the deadline {deadline}: "
            f"the contract ends on {end}.",
        )

    if not auto_renew:
        if received > end:
            text = (f"Notice received {received}, after the contract had already ended "
                    f"on {end}; it does not renew, so nothing more ends.")
        else:
            text = (f"Notice received {received}, after the deadline {deadline}, but the "
                    f"contract does not renew and ends on {end} regardless.")
        return NoticeOutcome(True, deadline, end, text)

    terms = 1
    while received > add_months(add_months(end, terms * term_months), -notice_months):
        terms += 1
    effective = add_months(end, terms * term_months)
    return NoticeOutcome(
        False, deadline, effective,
        f"Notice received {received}, after the deadline {deadline}: the contract renewed "
        f"{terms} time(s) and ends on {effective}.",
    )
