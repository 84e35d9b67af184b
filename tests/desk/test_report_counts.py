"""The monthly report's trend is counted by the database (bot/desk/reports.py): the same
numbers as bot/core/analysis.py counting every ticket's facts in Python, on a varied set
of tickets (month edges in the desk's time zone, deadlines met to the microsecond, missed,
still ahead, no deadline, made before the trend and due in it), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from bot.core import analysis
from bot.desk import reports
from bot.store.models import Ticket
from tests.conftest import OPERATOR

NOW = datetime(2026, 11, 20, 10, tzinfo=UTC)
MONTH = "2026-11"
KINDS = ("complaint", "dispute", "question", "invoice", "cancellation")


def seed(desk, n: int = 600) -> None:
    rng = random.Random(7)
    start = datetime(2026, 3, 20, tzinfo=UTC)
    # 23:00 UTC on a month's last day: the next month in Amsterdam
    edges = [datetime(2026, m, 1, tzinfo=UTC) - timedelta(hours=1) for m in range(5, 12)]
    tickets = []
    for i in range(1, n + 1):
        if i % 10 == 0:  # on a month's edge in local time
            created = rng.choice(edges) + timedelta(minutes=rng.choice((-61, -1, 0, 1, 59, 61)))
        else:
            created = start + timedelta(seconds=rng.randrange(int((NOW + timedelta(days=15) - start).total_seconds())),
                                        microseconds=rng.randrange(1_000_000))
        fa_due = None if i % 17 == 0 else created + timedelta(hours=rng.choice((4, 24, 24, 48, 300)))
        res_due = None if i % 13 == 0 else created + timedelta(days=rng.choice((2, 10, 10, 40)))
        pick = rng.random()
        if fa_due is not None and pick < 0.1:
            fa_at = fa_due  # met to the microsecond
        elif fa_due is not None and pick < 0.15:
            fa_at = fa_due + timedelta(microseconds=1)  # missed by a microsecond
        elif pick < 0.3:
            fa_at = None
        else:  # many the same time taken: ties in the percentiles
            fa_at = created + timedelta(minutes=rng.choice((30, 90, 90, 183, 1440, 3000)) if pick < 0.6
                                        else rng.randrange(1, 5000), microseconds=rng.randrange(1000))
        resolved = None if rng.random() < 0.3 else (
            res_due if res_due is not None and rng.random() < 0.1 else created + timedelta(hours=rng.randrange(1, 900)))
        tickets.append(Ticket(
            kind=rng.choice(KINDS), status="resolved" if resolved else "open", subject=f"t{i}",
            customer=rng.choice(("A", "B", None)), owner=rng.choice(("sanne", "ruud", "wim")),
            owner_role=rng.choice(("sales_support", None)), category=rng.choice(("plaatsing", None)),
            created_at=created, updated_at=created, first_action_at=fa_at, resolved_at=resolved,
            first_action_due_at=fa_due, resolution_due_at=res_due))
    with desk.uow.write() as s:
        s.add_all(tickets)


def test_the_database_counts_the_trend_as_python_does(desk):
    desk.clock.now = NOW
    seed(desk)
    tz = desk.tz
    trend = analysis.months_before(MONTH, reports.TREND_MONTHS)
    since, until = analysis.month_bounds(trend[0], tz)[0], analysis.month_bounds(MONTH, tz)[1]
    facts = reports.gather(desk, since, until)
    assert len(facts) > 450

    python = analysis.sla_rows(facts, lambda f: analysis.month_of(f.first_action_due or f.created, tz),
                               NOW, since, until)
    sql = reports.sla_by_month(desk, trend, NOW)
    assert sql == python
    # the data set reaches what it should: groups before and after the trend's months (counted
    # in Python), every month of the trend with deadlines met and breached
    groups = [r["group"] for r in python]
    assert groups[0] < trend[0] and groups[-1] > trend[-1] and set(trend) <= set(groups)
    assert all(r["first_action_met"] and r["first_action_breached"] and r["resolution_met"]
               for r in python if r["group"] in trend)

    complaints = Counter(analysis.month_of(f.created, tz) for f in facts if f.kind in analysis.COMPLAINT_KINDS)
    assert reports.complaints_per_month(desk, trend) == {m: complaints.get(m, 0) for m in trend}
    assert all(complaints[m] for m in trend)


def test_the_monthly_report_is_the_one_python_counts_from_every_ticket(desk):
    desk.clock.now = NOW
    seed(desk)
    tz = desk.tz
    report = reports.monthly(desk, OPERATOR, "2026-10")
    # the report as it was counted before: every fact of the trend's months in Python
    trend = analysis.months_before("2026-10", reports.TREND_MONTHS)
    since, until = analysis.month_bounds("2026-10", tz)
    trend_since = analysis.month_bounds(trend[0], tz)[0]
    facts = reports.gather(desk, trend_since, until)
    in_month = [f for f in facts if f.created < until and (
        since <= f.created or (f.first_action_due is not None and since <= f.first_action_due < until)
        or (f.resolution_due is not None and since <= f.resolution_due < until))]
    sla = analysis.sla_performance(in_month, NOW, since, until, tz)
    people = desk.ruleset.people
    for row in sla["owner"]:
        row["group"] = people[row["group"]].name if row["group"] in people else row["group"]
    assert report["sla"] == sla
    assert report["complaints"] == analysis.complaint_analysis(facts, "2026-10", trend, tz)
    assert report["sla_trend"] == analysis.sla_rows(
        facts, lambda f: analysis.month_of(f.first_action_due or f.created, tz), NOW, trend_since, until)
    assert report["complaints"]["received"] > 10
