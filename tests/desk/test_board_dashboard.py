"""The dashboard's counts (board.dashboard), counted by the database in one grouped read of
the board's index and one statement of index-range counts, against the same counted ticket
by ticket in Python (board.sla_state, the deadlines and done times), on SQLite and
PostgreSQL: every status, due in the past, today, later or never, waiting with a past due
date, SLA met, breached and not done, tickets opened and resolved in each week."""

from __future__ import annotations

import random
from datetime import timedelta

from bot.core.domain import CLOSED
from bot.desk import board
from bot.store.models import Ticket
from tests.conftest import OPERATOR, START

OWNERS = ["sanne", "ruud", "wim"]
KINDS = ["question", "complaint", "invoice"]
STATUSES = ["new", "open", "waiting", "resolved", "closed"]


def _seed(desk, n: int = 400) -> list[Ticket]:
    rng = random.Random(11)
    now = desk.clock()
    hours = [-200, -30, -1, 0, 1, 5, 13, 14, 30, 200]  # around now, the end of today, later

    def maybe(delta_hours: float | None):
        return None if delta_hours is None else now + timedelta(hours=delta_hours, minutes=rng.choice([-1, 0, 1]))

    tickets = []
    for _ in range(n):
        created = now - timedelta(hours=rng.uniform(0, 24 * 60))
        status = rng.choice(STATUSES)
        resolved = (created + timedelta(hours=rng.uniform(0, 24 * 10))) if status in CLOSED else None
        fa_due = maybe(rng.choice([*hours, None, -24 * 20]))
        res_due = maybe(rng.choice([*hours, None, -24 * 5]))
        tickets.append(Ticket(
            kind=rng.choice(KINDS), status=status, subject="s", owner=rng.choice(OWNERS),
            created_at=created, updated_at=created, resolved_at=resolved if resolved and resolved <= now else None,
            action_due_at=maybe(rng.choice([*hours, None])),
            first_action_due_at=fa_due, first_action_at=maybe(rng.choice([None, -300, -100, -10, -2, 0])),
            resolution_due_at=res_due))
    with desk.uow.write() as s:
        s.add_all(tickets)
    with desk.uow.read() as s:
        return list(s.query(Ticket).all())


def test_the_dashboard_counts_what_each_ticket_says(desk):
    tickets = _seed(desk)
    now = desk.clock()
    _, end_of_day = board._day_bounds(desk, now)
    d = board.dashboard(desk, OPERATOR)
    by_owner: dict[str, dict[str, int]] = {}
    by_kind: dict[str, int] = {}
    for t in tickets:
        if t.status in CLOSED:
            continue
        counts = by_owner.setdefault(t.owner, dict.fromkeys(board.SLA_STATES, 0))
        counts[board.sla_state(t, now, end_of_day)] += 1
        by_kind[t.kind] = by_kind.get(t.kind, 0) + 1
    assert d["by_owner"] == dict(sorted(by_owner.items()))
    assert all(n for counts in by_owner.values() for n in counts.values()), "every state seen"
    assert d["by_kind"] == by_kind and list(d["by_kind"].values()) == sorted(by_kind.values(), reverse=True)
    assert d["totals"] == {st: sum(c[st] for c in by_owner.values()) for st in board.SLA_STATES}
    # the oldest open complaints
    complaints = sorted((t for t in tickets if t.kind == "complaint" and t.status not in CLOSED),
                        key=lambda t: (t.created_at, t.id))[:10]
    assert [c["number"] for c in d["oldest_complaints"]] == [t.id for t in complaints]
    # SLA met this week and this month
    for period, since in (("week", board._week_start(desk, now)), ("month", board._month_start(desk, now))):
        for name, due, done in (("first_action", "first_action_due_at", "first_action_at"),
                                ("resolution", "resolution_due_at", "resolved_at")):
            window = [t for t in tickets if getattr(t, due) is not None and since <= getattr(t, due) <= now]
            met = [t for t in window if getattr(t, done) is not None and getattr(t, done) <= getattr(t, due)]
            got = d["sla"][period][name]
            assert (got["due"], got["met"], got["breached"]) == (len(window), len(met), len(window) - len(met))
            assert window and met and len(met) < len(window), (period, name)
    # opened and resolved per week (Monday to Monday in the desk's time zone)
    tz = board._local_tz(desk)
    for week in d["weeks"]:
        def in_week(moment, week=week):
            if moment is None or moment > now:
                return False
            monday = moment.astimezone(tz).date() - timedelta(days=moment.astimezone(tz).weekday())
            return monday.isoformat() == week["week"]
        assert week["opened"] == sum(in_week(t.created_at) for t in tickets), week
        assert week["resolved"] == sum(in_week(t.resolved_at) for t in tickets), week
    assert len(d["weeks"]) == 8 and sum(w["opened"] for w in d["weeks"]) > 100
    assert START == now
