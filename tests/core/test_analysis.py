"""Report counting: SLA met and breached, percentiles, the complaint analysis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import analysis
from bot.core.analysis import Facts

AMS = ZoneInfo("Europe/Amsterdam")
NOV = datetime(2026, 11, 2, 9, tzinfo=UTC)


def fact(n, *, kind="complaint", owner="sanne", hours_to_act=None, resolved_after=None, due_h=24,
         created=NOV, **kw) -> Facts:
    return Facts(number=n, kind=kind, owner=owner, role="sales_support", customer=kw.pop("customer", "A"),
                 advisor=kw.pop("advisor", "marta"), category=kw.pop("category", None), created=created,
                 first_action_due=created + timedelta(hours=due_h),
                 first_action_at=created + timedelta(hours=hours_to_act) if hours_to_act is not None else None,
                 resolution_due=created + timedelta(days=10),
                 resolved_at=created + timedelta(days=resolved_after) if resolved_after is not None else None,
                 **kw)


def test_percentile_is_nearest_rank():
    assert analysis.percentile([], 50) is None
    assert analysis.percentile([5, 1, 3], 50) == 3
    assert analysis.percentile(list(range(1, 11)), 90) == 9
    assert analysis.percentile([7], 90) == 7


def test_sla_met_and_breached_count_deadlines_that_fell_in_the_period_and_have_passed():
    facts = [fact(1, hours_to_act=2, resolved_after=3), fact(2, hours_to_act=30), fact(3),
             fact(4, owner="rob", hours_to_act=10, created=NOV + timedelta(days=28))]  # due 1 Dec
    since, until = analysis.month_bounds("2026-11", AMS)
    now = NOV + timedelta(days=40)
    [rob, sanne] = analysis.sla_rows(facts, lambda f: f.owner, now, since, until)
    assert (sanne["group"], sanne["first_action_due"], sanne["first_action_met"], sanne["first_action_breached"]) \
        == ("sanne", 3, 1, 2)
    assert sanne["first_action_met_pct"] == 33
    assert (sanne["resolution_due"], sanne["resolution_met"]) == (3, 1)
    assert sanne["first_action_median_h"] == 2.0 and sanne["first_action_p90_h"] == 30.0  # of 2 h and 30 h
    assert rob["first_action_due"] == 0 and rob["first_action_median_h"] == 10.0  # due in December
    # a deadline still ahead is neither met nor breached yet
    early = analysis.sla_rows(facts, lambda f: f.owner, NOV + timedelta(hours=12), since, until)
    assert all(r["first_action_due"] == 0 for r in early)


def test_the_complaint_analysis_of_a_month():
    facts = [fact(1, hours_to_act=2, resolved_after=3, category="plaatsing", acknowledged=True, reopened=1),
             fact(2, category="plaatsing", acknowledged=True),
             fact(3, kind="question"),
             fact(4, kind="dispute", customer="B", resolved_after=5),
             fact(5, created=NOV - timedelta(days=31)),
             fact(6, kind="cancellation", cancellation="lost", cancellation_reason="te duur"),
             fact(7, kind="cancellation", cancellation="retained")]
    trend = analysis.months_before("2026-11", 3)
    assert trend == ["2026-09", "2026-10", "2026-11"]
    c = analysis.complaint_analysis(facts, "2026-11", trend, AMS)
    assert (c["received"], c["acknowledged"], c["resolved"], c["open"], c["reopened"]) == (3, 2, 2, 1, 1)
    assert c["by_category"] == [("plaatsing", 2), ("—", 1)]
    assert c["by_customer"] == [("A", 2), ("B", 1)]
    assert c["resolution_median_h"] == 72.0 and c["resolution_p90_h"] == 120.0
    assert c["cancellations"] == {"received": 2, "retained": 1, "lost": 1, "pending": 0,
                                  "lost_reasons": [("te duur", 1)]}
    assert c["trend"] == [{"month": "2026-09", "received": 0}, {"month": "2026-10", "received": 1},
                          {"month": "2026-11", "received": 3}]


def test_csv_cells_that_look_like_formulas_are_quoted():
    text = analysis.to_csv([{"group": "=HYPERLINK(\"x\")", "n": 1}, {"group": "ok", "n": None}])
    assert text == 'group,n\r\n"\'=HYPERLINK(""x"")",1\r\nok,\r\n'


def test_months_roll_over_the_year():
    assert analysis.months_before("2026-02", 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert analysis.previous_month(datetime(2026, 1, 5).date()) == "2025-12"
    start, end = analysis.month_bounds("2026-12", AMS)
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00")
