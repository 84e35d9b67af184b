"""The reports of the web face and the monthly mail: SLA performance and the monthly
complaint analysis for a chosen month, as tables, CSV and charts. The desk gathers the
facts in one read; bot/core/analysis.py counts; bot/core/charts.py draws."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select

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


def _in(column, since: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(column >= since, column < until)


def _made_or_due(since: datetime, until: datetime) -> ColumnElement[bool]:
    """A ticket made in, or with a deadline in, [since, until): the tickets a report reads."""
    return or_(_in(Ticket.created_at, since, until), _in(Ticket.first_action_due_at, since, until),
               _in(Ticket.resolution_due_at, since, until))


def _month_of(column, months: list[str], tz) -> ColumnElement:
    """The month (YYYY-MM, in the desk's time zone) of `column` when it is one of `months`,
    else NULL: a CASE over the months' bounds, so the database needs no time zones."""
    return case(*[(_in(column, *analysis.month_bounds(m, tz)), literal(m)) for m in months], else_=None)


def gather(desk: Desk, since: datetime, until: datetime,
           only: ColumnElement[bool] | None = None) -> list[Facts]:
    """The facts of every ticket made in, or with a deadline in, [since, until) (and
    matching `only`, when given)."""
    with desk.uow.read() as s:
        # the columns the facts need, not whole tickets (a year of them is tens of thousands)
        q = (select(Ticket.id, Ticket.kind, Ticket.owner, Ticket.owner_role, Ticket.customer,
                    Ticket.category, Ticket.created_at, Ticket.first_action_due_at,
                    Ticket.first_action_at, Ticket.resolution_due_at, Ticket.resolved_at,
                    Company.advisor, Cancellation.outcome, Cancellation.outcome_reason)
             .outerjoin(Company, Ticket.company_id == Company.id)
             .outerjoin(Cancellation, Cancellation.ticket_id == Ticket.id)
             .where(_made_or_due(since, until)))
        if only is not None:
            q = q.where(only)
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


def complaints_per_month(desk: Desk, months: list[str]) -> dict[str, int]:
    """The complaints made in each of `months` (the desk's time zone), counted by the
    database: analysis.complaint_analysis's trend."""
    since, until = analysis.month_bounds(months[0], desk.tz)[0], analysis.month_bounds(months[-1], desk.tz)[1]
    made = (select(_month_of(Ticket.created_at, months, desk.tz).label("k"))
            .where(_in(Ticket.created_at, since, until), Ticket.kind.in_(analysis.COMPLAINT_KINDS)).subquery())
    with desk.uow.read() as s:  # grouped outside: PostgreSQL does not group by a CASE of parameters
        counted: dict[str, int] = {}
        for k, n in s.execute(select(made.c.k, func.count()).group_by(made.c.k)):
            counted[k] = n
    return {m: counted.get(m, 0) for m in months}


def sla_by_month(desk: Desk, months: list[str], now: datetime) -> list[dict]:
    """analysis.sla_rows over the tickets made in or due in `months`, grouped by the month
    of their first-action deadline (else of their making), with the same numbers, counted
    by the database: met and breached by GROUP BY, the median and 90th percentile time to
    first action by an ordered scan (row_number over the time taken) that picks the ticket
    at analysis.percentile_rank. The few tickets whose group month falls outside `months`
    (made before, due in them) are counted in Python."""
    tz = desk.tz
    since, until = analysis.month_bounds(months[0], tz)[0], analysis.month_bounds(months[-1], tz)[1]
    key = _month_of(func.coalesce(Ticket.first_action_due_at, Ticket.created_at), months, tz).label("k")
    fa_due = and_(_in(Ticket.first_action_due_at, since, until), Ticket.first_action_due_at <= now)
    res_due = and_(_in(Ticket.resolution_due_at, since, until), Ticket.resolution_due_at <= now)
    timed = and_(_in(Ticket.created_at, since, until), Ticket.first_action_at.is_not(None))

    # a 1 or 0 per ticket, summed per month outside (PostgreSQL groups by no CASE of parameters)
    per_ticket = (select(key, Ticket.id, Ticket.created_at, Ticket.first_action_at,
                         case((fa_due, 1), else_=0).label("fa_due"),
                         case((and_(fa_due, Ticket.first_action_at <= Ticket.first_action_due_at), 1),
                             else_=0).label("fa_met"),
                         case((res_due, 1), else_=0).label("res_due"),
                         case((and_(res_due, Ticket.resolved_at <= Ticket.resolution_due_at), 1),
                             else_=0).label("res_met"),
                         case((timed, 1), else_=0).label("timed"))
                  .where(_made_or_due(since, until)).subquery())
    t = per_ticket.c
    with desk.uow.read() as s:
        counts = {r.k: r for r in s.execute(
            select(t.k, *(func.sum(c).label(c.name) for c in (t.fa_due, t.fa_met, t.res_due, t.res_met, t.timed)))
            .where(t.k.is_not(None)).group_by(t.k))}
        ranks = {analysis.percentile_rank(r.timed, q) for r in counts.values() if r.timed for q in (50, 90)}
        picked: dict[tuple[str, int], float | None] = {}
        if ranks:
            if s.get_bind().dialect.name == "sqlite":
                taken = func.julianday(t.first_action_at) - func.julianday(t.created_at)
            else:
                taken = t.first_action_at - t.created_at
            ordered = (select(t.k, t.created_at, t.first_action_at,
                              func.row_number().over(partition_by=t.k, order_by=(taken, t.id)).label("rn"))
                       .where(t.k.is_not(None), t.timed == 1).subquery())
            for r in s.execute(select(ordered).where(ordered.c.rn.in_(sorted(ranks)))):
                picked[(r.k, r.rn)] = analysis.hours(aware(r.created_at), aware(r.first_action_at))
    rows = []
    for month, c in counts.items():
        if not (c.fa_due or c.res_due or c.timed):
            continue
        rows.append({
            "group": month,
            "first_action_due": c.fa_due, "first_action_met": c.fa_met,
            "first_action_breached": c.fa_due - c.fa_met,
            "first_action_met_pct": analysis.pct(c.fa_met, c.fa_due),
            "resolution_due": c.res_due, "resolution_met": c.res_met,
            "resolution_breached": c.res_due - c.res_met,
            "resolution_met_pct": analysis.pct(c.res_met, c.res_due),
            "first_action_median_h": picked.get((month, analysis.percentile_rank(c.timed, 50))) if c.timed else None,
            "first_action_p90_h": picked.get((month, analysis.percentile_rank(c.timed, 90))) if c.timed else None,
        })
    outside = gather(desk, since, until, only=key.element.is_(None))
    rows += analysis.sla_rows(outside, lambda f: analysis.month_of(f.first_action_due or f.created, tz),
                              now, since, until)
    return sorted(rows, key=lambda r: r["group"])


def monthly(desk: Desk, actor: Actor, month: str) -> dict[str, Any]:
    """Both reports for one month, with the complaint trend of the months before. The
    month's tables are counted in Python from its tickets' facts (a few thousand); the
    trend over TREND_MONTHS by the database (tens of thousands of tickets)."""
    check(actor, Verb.VIEW)
    month = check_month(month)
    tz = desk.tz
    trend = analysis.months_before(month, TREND_MONTHS)
    since, until = analysis.month_bounds(month, tz)
    now = desk.clock()
    # the month's tables need only the facts of the month (made in it, or due in it)
    in_month = [f for f in gather(desk, since, until) if f.created < until]
    sla = analysis.sla_performance(in_month, now, since, until, tz)
    people = desk.ruleset.people
    for row in sla["owner"]:
        row["group"] = people[row["group"]].name if row["group"] in people else row["group"]
    complaints = analysis.complaint_analysis(in_month, month, trend, tz,
                                             per_month=complaints_per_month(desk, trend))
    monthly_sla = sla_by_month(desk, trend, now)
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
