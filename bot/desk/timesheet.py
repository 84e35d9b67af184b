"""Time spent on tickets (aftersales procedure 001): a ticket's entries for its dossier,
and the monthly report per person, customer and kind (CSV for payroll and invoicing).
Entries are made by the `log_time` action (bot/desk/actions.py); this module only reads."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.worktime import format_minutes
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.holds import local_iso
from bot.store.models import Ticket, TimeEntry

CSV_COLUMNS = ("month", "person", "name", "customer", "kind", "entries", "minutes", "hours")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def ticket_time(s: Session, desk: Desk, ticket_id: int) -> dict[str, Any]:
    entries = list(s.scalars(select(TimeEntry).where(TimeEntry.ticket_id == ticket_id)
                             .order_by(TimeEntry.at, TimeEntry.id)))
    total = sum(e.minutes for e in entries)
    return {"entries": [{"at": local_iso(e.at, desk.tz), "person": e.person, "minutes": e.minutes,
                         "duration": format_minutes(e.minutes), "note": e.note, "via": e.via}
                        for e in entries],
            "total_minutes": total, "total": format_minutes(total) if total else "0m"}


def month_bounds(desk: Desk, month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in the desk's time zone."""
    m = _MONTH.match(month.strip())
    if m is None:
        raise Refused(f"month {month!r}: use YYYY-MM, e.g. 2026-11")
    year, mon = int(m[1]), int(m[2])
    start = datetime(year, mon, 1, tzinfo=desk.tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=desk.tz)
    return start, end


def time_report(desk: Desk, actor: Actor, month: str) -> dict[str, Any]:
    """Minutes logged in `month` (YYYY-MM, the desk's time zone) per person, customer and
    kind; with the totals per person, per customer and per kind."""
    check(actor, Verb.VIEW)
    start, end = month_bounds(desk, month)
    people = desk.ruleset.people
    with desk.uow.read() as s:
        found = s.execute(select(TimeEntry.person, TimeEntry.minutes, Ticket.customer,
                                 Ticket.contact_email, Ticket.kind)
                          .join(Ticket, Ticket.id == TimeEntry.ticket_id)
                          .where(TimeEntry.at >= start, TimeEntry.at < end)).all()
    cells: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for person, minutes, customer, contact, kind in found:
        cell = cells[(person, customer or contact or "(unknown)", kind)]
        cell[0] += 1
        cell[1] += minutes
    rows: list[dict[str, Any]] = [{"month": month, "person": p, "name": people[p].name if p in people else p,
             "customer": c, "kind": k, "entries": n, "minutes": m, "hours": round(m / 60, 2),
             "duration": format_minutes(m)}
            for (p, c, k), (n, m) in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1].lower(), kv[0][2]))]

    def totals(key: str) -> list[dict[str, Any]]:
        acc: dict[str, int] = defaultdict(int)
        for r in rows:
            acc[r[key]] += r["minutes"]
        return [{key: k, "minutes": v, "duration": format_minutes(v)} for k, v in sorted(acc.items())]

    total = sum(r["minutes"] for r in rows)
    return {"month": month, "rows": rows, "per_person": totals("person"),
            "per_customer": totals("customer"), "per_kind": totals("kind"),
            "total_minutes": total, "total": format_minutes(total) if total else "0m"}


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in report["rows"]:
        w.writerow([r[c] for c in CSV_COLUMNS])
    return out.getvalue()
