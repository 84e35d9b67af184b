"""The reports of the web face and the monthly mail: SLA performance and the monthly
complaint analysis for a chosen month, as tables, CSV and charts. The desk gathers the
facts in one read; bot/core/analysis.py counts; bot/core/charts.py draws."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.core import analysis, charts
from bot.core.analysis import Facts
from bot.core.domain import OutboxStatus
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.views import aware
from bot.store.models import Cancellation, Company, Event, Outbox, Ticket

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
TREND_MONTHS = 6


def default_month(desk: Desk) -> str:
    """The last whole month: what the manager asks about ("how did we do last month")."""
    return analysis.previous_month(desk.clock().astimezone(desk.tz).date())


def check_month(month: str) -> str:
    if not MONTH.match(month or ""):
        raise Refused(f"{month!r} is not a month; write it as YYYY-MM, e.g. 2026-10")
    return month


def gather(desk: Desk, since: datetime, until: datetime) -> list[Facts]:
    """The facts of every ticket made in, or with a deadline in, [since, until)."""
    with desk.uow.read() as s:
        # the columns the facts need, not whole tickets (a year of them is tens of thousands)
        q = (select(Ticket.id, Ticket.kind, Ticket.owner, Ticket.owner_role, Ticket.customer,
                    Ticket.category, Ticket.created_at, Ticket.first_action_due_at,
                    Ticket.first_action_at, Ticket.resolution_due_at, Ticket.resolved_at,
                    Company.advisor, Cancellation.outcome, Cancellation.outcome_reason)
             .outerjoin(Company, Ticket.company_id == Company.id)
             .outerjoin(Cancellation, Cancellation.ticket_id == Ticket.id)
             .where((Ticket.created_at >= since) & (Ticket.created_at < until)
                    | (Ticket.first_action_due_at >= since) & (Ticket.first_action_due_at < until)
                    | (Ticket.resolution_due_at >= since) & (Ticket.resolution_due_at < until)))
        rows = s.execute(q).all()
        # reopenings and acknowledgements of those tickets: one query each (not per 500)
        these = select(Ticket.id).where(q.whereclause)  # type: ignore[arg-type]
        reopened: dict[int, int] = {
            tid: n for tid, n in s.execute(select(Event.ticket_id, func.count()).where(
                Event.ticket_id.in_(these), Event.action == "reopened").group_by(Event.ticket_id))
            if tid is not None}
        acked: set[int] = set(s.scalars(select(Outbox.ticket_id).where(
            Outbox.ticket_id.in_(these), Outbox.purpose == "ack", Outbox.status == OutboxStatus.SENT)))
        facts = []
        for t in rows:  # a row: the ticket's columns by name, advisor, outcome, outcome_reason
            advisor, outcome, reason = t.advisor, t.outcome, t.outcome_reason
            created = aware(t.created_at)
            assert created is not None
            facts.append(Facts(
                number=t.id, kind=t.kind, owner=t.owner, role=t.owner_role, customer=t.customer,
                advisor=advisor, category=t.category, created=created,
                first_action_due=aware(t.first_action_due_at), first_action_at=aware(t.first_action_at),
                resolution_due=aware(t.resolution_due_at), resolved_at=aware(t.resolved_at),
                reopened=reopened.get(t.id, 0), acknowledged=t.id in acked,
                cancellation=outcome, cancellation_reason=reason))
        return facts


def monthly(desk: Desk, actor: Actor, month: str) -> dict[str, Any]:
    """Both reports for one month, with the complaint trend of the months before."""
    check(actor, Verb.VIEW)
    month = check_month(month)
    tz = desk.tz
    trend = analysis.months_before(month, TREND_MONTHS)
    since, until = analysis.month_bounds(month, tz)
    trend_since, _ = analysis.month_bounds(trend[0], tz)
    facts = gather(desk, trend_since, until)
    now = desk.clock()
    # the month's tables need only the facts of the month (made in it, or due in it)
    in_month = [f for f in facts if f.created < until and (
        since <= f.created or (f.first_action_due is not None and since <= f.first_action_due < until)
        or (f.resolution_due is not None and since <= f.resolution_due < until))]
    sla = analysis.sla_performance(in_month, now, since, until, tz)
    people = desk.ruleset.people
    for row in sla["owner"]:
        row["group"] = people[row["group"]].name if row["group"] in people else row["group"]
    complaints = analysis.complaint_analysis(facts, month, trend, tz)
    monthly_sla = analysis.sla_rows(facts, lambda f: analysis.month_of(f.first_action_due or f.created, tz),
                                    now, trend_since, until)
    return {"month": month, "sla": sla, "complaints": complaints, "sla_trend": monthly_sla,
            "now": now.isoformat()}


def csv_table(report: dict[str, Any], table: str) -> str:
    """One table of a monthly report as CSV: sla-owner, sla-role, sla-kind, sla-month,
    complaints-category, complaints-customer, complaints-trend."""
    if table.startswith("sla-") and table[4:] in report["sla"]:
        return analysis.to_csv(report["sla"][table[4:]])
    c = report["complaints"]
    if table == "complaints-trend":
        return analysis.to_csv(c["trend"])
    if table in ("complaints-category", "complaints-customer", "complaints-advisor", "complaints-kind"):
        name = table.split("-", 1)[1]
        return analysis.to_csv([{name: k, "complaints": n} for k, n in c[f"by_{name}"]])
    if table == "complaints-summary":
        keys = ("month", "received", "acknowledged", "resolved", "open", "reopened",
                "resolution_median_h", "resolution_p90_h", "first_action_median_h")
        return analysis.to_csv([{k: c[k] for k in keys}])
    raise Refused(f"no table {table!r}")


CHARTS = ("sla-trend", "complaints-trend", "complaints-category")


CHART_WORDS = {
    "en": {"sla-trend": "SLA met per month (%)", "first": "first action", "resolution": "resolution",
           "complaints-trend": "Complaints per month", "complaints-category": "Complaints by category"},
    "nl": {"sla-trend": "SLA gehaald per maand (%)", "first": "eerste actie", "resolution": "oplossing",
           "complaints-trend": "Klachten per maand", "complaints-category": "Klachten naar categorie"},
    "pl": {"sla-trend": "SLA dotrzymane w miesiącu (%)", "first": "pierwsze działanie",
           "resolution": "rozwiązanie", "complaints-trend": "Reklamacje w miesiącu",
           "complaints-category": "Reklamacje według kategorii"},
}


def chart(report: dict[str, Any], name: str, language: str) -> bytes:
    """One of CHARTS as PNG, its words in `language` (nl, en, pl)."""
    w = CHART_WORDS.get(language, CHART_WORDS["en"])
    if name == "sla-trend":
        rows = report["sla_trend"]
        return charts.bars(w["sla-trend"], [r["group"] for r in rows],
                           {w["first"]: [r["first_action_met_pct"] for r in rows],
                            w["resolution"]: [r["resolution_met_pct"] for r in rows]},
                           percent=True)
    if name == "complaints-trend":
        rows = report["complaints"]["trend"]
        return charts.bars(w["complaints-trend"],
                           [r["month"] for r in rows], {"": [r["received"] for r in rows]})
    if name == "complaints-category":
        rows = report["complaints"]["by_category"] or [("—", 0)]
        return charts.bars(w["complaints-category"],
                           [k for k, _ in rows], {"": [n for _, n in rows]}, horizontal=True)
    raise Refused(f"no chart {name!r}")
