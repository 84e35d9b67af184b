"""Reports over tickets: SLA performance and the monthly complaint analysis (in the
spirit of ISO 10002: received, acknowledged, by category and customer, resolution times,
reopened, cancellations retained or lost, the trend). Pure: the desk gathers the facts
(bot/desk/reports.py), these functions count.

A deadline counts in the period it fell in, once it has passed: "met" when the thing was
done by then. Times to first action and to resolution are wall-clock hours.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

COMPLAINT_KINDS = ("complaint", "dispute")


@dataclass
class Facts:
    """What a report needs of one ticket."""

    number: int
    kind: str
    owner: str
    role: str | None
    customer: str | None
    advisor: str | None
    category: str | None
    created: datetime
    first_action_due: datetime | None = None
    first_action_at: datetime | None = None
    resolution_due: datetime | None = None
    resolved_at: datetime | None = None
    reopened: int = 0
    acknowledged: bool = False
    cancellation: str | None = None  # pending | retained | lost
    cancellation_reason: str | None = None
    extra: dict = field(default_factory=dict)


def month_of(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"  # strftime costs 20 times more (reports loop)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), nearest-rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[percentile_rank(len(ordered), q) - 1]


def percentile_rank(n: int, q: float) -> int:
    """The 1-based place of the q-th percentile among n ordered values (nearest rank); the
    database's ordered scan (bot/desk/reports.py) picks the same place."""
    return max(1, math.ceil(q / 100 * n))


def hours(a: datetime | None, b: datetime | None) -> float | None:
    """Wall-clock hours from a to b, to a tenth."""
    return _hours(a, b)


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() / 3600, 1)


def _pct(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


pct = _pct


def sla_rows(facts: Iterable[Facts], key: Callable[[Facts], str], now: datetime,
             since: datetime, until: datetime) -> list[dict]:
    """Per group: first actions and resolutions due in [since, until) and passed by
    now, met and breached, with the median and 90th percentile time to first action."""
    groups: dict[str, dict] = defaultdict(lambda: {"fa_due": 0, "fa_met": 0, "res_due": 0, "res_met": 0,
                                                   "fa_hours": []})
    # the same moments in UTC, as the facts are: comparing times of one zone is 25 times
    # cheaper than across zones (a month's bounds come in the desk's zone)
    now, since, until = now.astimezone(UTC), since.astimezone(UTC), until.astimezone(UTC)
    for f in facts:
        g = groups[key(f)]
        due = f.first_action_due
        if due is not None and since <= due < until and due <= now:
            g["fa_due"] += 1
            if f.first_action_at is not None and f.first_action_at <= due:
                g["fa_met"] += 1
        if since <= f.created < until and f.first_action_at is not None:
            g["fa_hours"].append(_hours(f.created, f.first_action_at))
        due = f.resolution_due
        if due is not None and since <= due < until and due <= now:
            g["res_due"] += 1
            if f.resolved_at is not None and f.resolved_at <= due:
                g["res_met"] += 1
    rows = []
    for name, g in sorted(groups.items()):
        if not (g["fa_due"] or g["res_due"] or g["fa_hours"]):
            continue
        rows.append({
            "group": name,
            "first_action_due": g["fa_due"], "first_action_met": g["fa_met"],
            "first_action_breached": g["fa_due"] - g["fa_met"],
            "first_action_met_pct": _pct(g["fa_met"], g["fa_due"]),
            "resolution_due": g["res_due"], "resolution_met": g["res_met"],
            "resolution_breached": g["res_due"] - g["res_met"],
            "resolution_met_pct": _pct(g["res_met"], g["res_due"]),
            "first_action_median_h": percentile(g["fa_hours"], 50),
            "first_action_p90_h": percentile(g["fa_hours"], 90),
        })
    return rows


def sla_performance(facts: list[Facts], now: datetime, since: datetime, until: datetime,
                    tz: ZoneInfo) -> dict[str, list[dict]]:
    """The SLA tables by owner, role, kind and month."""
    return {
        "owner": sla_rows(facts, lambda f: f.owner, now, since, until),
        "role": sla_rows(facts, lambda f: f.role or "—", now, since, until),
        "kind": sla_rows(facts, lambda f: f.kind, now, since, until),
        "month": sla_rows(facts, lambda f: month_of(f.first_action_due or f.created, tz), now, since, until),
    }


def complaint_analysis(facts: list[Facts], month: str, trend_months: list[str],
                       tz: ZoneInfo, per_month: dict[str, int] | None = None) -> dict:
    """The complaints received in ``month`` (YYYY-MM, the desk's time zone), and the
    number received in each of ``trend_months`` (for the trend): counted from ``facts``,
    or given as ``per_month`` (the database counted them)."""
    complaints = [f for f in facts if f.kind in COMPLAINT_KINDS and month_of(f.created, tz) == month]
    resolved = [f for f in complaints if f.resolved_at is not None]
    hours = [h for f in resolved if (h := _hours(f.created, f.resolved_at)) is not None]
    first = [h for f in complaints if (h := _hours(f.created, f.first_action_at)) is not None]
    if per_month is None:
        per_month = Counter(month_of(f.created, tz) for f in facts if f.kind in COMPLAINT_KINDS)
    cancellations = [f for f in facts if f.cancellation and month_of(f.created, tz) == month]
    return {
        "month": month,
        "received": len(complaints),
        "acknowledged": sum(1 for f in complaints if f.acknowledged),
        "resolved": len(resolved),
        "open": len(complaints) - len(resolved),
        "reopened": sum(1 for f in complaints if f.reopened),
        "resolution_median_h": percentile(hours, 50),
        "resolution_p90_h": percentile(hours, 90),
        "first_action_median_h": percentile(first, 50),
        "by_kind": Counter(f.kind for f in complaints).most_common(),
        "by_category": Counter(f.category or "—" for f in complaints).most_common(),
        "by_customer": Counter(f.customer or "(unknown)" for f in complaints).most_common(10),
        "by_advisor": Counter(f.advisor or "—" for f in complaints).most_common(),
        "by_owner": Counter(f.owner for f in complaints).most_common(),
        "cancellations": {
            "received": len(cancellations),
            "retained": sum(1 for f in cancellations if f.cancellation == "retained"),
            "lost": sum(1 for f in cancellations if f.cancellation == "lost"),
            "pending": sum(1 for f in cancellations if f.cancellation == "pending"),
            "lost_reasons": Counter((f.cancellation_reason or "(no reason)").strip()
                                    for f in cancellations if f.cancellation == "lost").most_common(),
        },
        "trend": [{"month": m, "received": per_month.get(m, 0)} for m in trend_months],
    }


def months_before(month: str, n: int) -> list[str]:
    """The n months up to and including ``month`` (YYYY-MM), oldest first."""
    year, mon = (int(x) for x in month.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{mon:02d}")
        mon -= 1
        if mon == 0:
            year, mon = year - 1, 12
    return out[::-1]


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first moment, first moment of the next month) of ``month`` in ``tz``."""
    year, mon = (int(x) for x in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=tz)
    nxt = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=tz)
    return start, nxt


def previous_month(today: date) -> str:
    return f"{today.year - (today.month == 1):04d}-{12 if today.month == 1 else today.month - 1:02d}"


def to_csv(rows: list[dict]) -> str:
    """Rows as CSV (a formula-looking cell is quoted with a leading apostrophe)."""
    if not rows:
        return ""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(v) for k, v in r.items()})
    return out.getvalue()


def _cell(v):
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return "" if v is None else v
