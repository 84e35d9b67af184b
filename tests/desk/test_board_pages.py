"""The web list's pages (board.find_tickets): the page's numbers are read first, then those
tickets; every page holds the tickets of its place in the chosen order, on SQLite and
PostgreSQL, as `?page=N` always did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.desk import board
from bot.store.models import Ticket
from tests.conftest import OPERATOR

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_pages_follow_the_order_of_each_sort(desk):
    n = 2 * board.PAGE_SIZE + 7
    with desk.uow.write() as s:
        s.add_all([Ticket(kind="question", status=("resolved", "open", "resolved")[i % 3], subject=f"t{i}",
                          owner="sanne", created_at=T0 + timedelta(hours=i),
                          updated_at=T0 + timedelta(hours=(i * 37) % n),  # an order of its own
                          action_due_at=None if i % 4 else T0 + timedelta(hours=(i * 11) % n))
                   for i in range(n)])
    with desk.uow.read() as s:
        resolved = [t for t in s.query(Ticket).all() if t.status == "resolved"]
    expected = {
        "newest": [t.id for t in sorted(resolved, key=lambda t: -t.id)],
        "oldest": [t.id for t in sorted(resolved, key=lambda t: t.id)],
        "updated": [t.id for t in sorted(resolved, key=lambda t: (t.updated_at, t.id), reverse=True)],
    }
    for sort, numbers in expected.items():
        seen: list[int] = []
        page = 1
        while True:
            f = board.Filters.from_args({"status": "resolved", "sort": sort, "page": str(page)})
            found = board.find_tickets(desk, OPERATOR, f)
            assert found["total"] == len(resolved)
            if not found["tickets"]:
                break
            assert all(t["status"] == "resolved" for t in found["tickets"])
            seen += [t["number"] for t in found["tickets"]]
            page += 1
        assert seen == numbers, sort
        assert page - 1 == found["pages"]
