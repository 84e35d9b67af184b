"""The web list's pages (board.find_tickets) by keyset: each page's link carries the sort
key and number of the ticket it starts after (or ends before), for every sort (newest,
oldest, due, updated, relevance), on SQLite and PostgreSQL: paging forward and back goes
through every ticket exactly once, in the sort's order, through ties and tickets without a
due date; a ticket that arrives meanwhile shifts nothing; a page number without a cursor
(an old bookmark) still shows that page; the sorts are ranges of an index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.desk import board, fulltext
from bot.store.models import Ticket
from tests.conftest import OPERATOR

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
N = 2 * board.PAGE_SIZE + 17


def _seed(desk, n: int = N) -> list[Ticket]:
    """n tickets, statuses mixed; updated_at and action_due_at with many ties (the same
    value for runs of tickets whose numbers are not in that order), a third without a due
    date; subjects with 1-3 times "factuur" (ties in relevance too)."""
    with desk.uow.write() as s:
        s.add_all([Ticket(kind="question", status=("resolved", "open", "resolved")[i % 3],
                          subject=" ".join(["factuur"] * (1 + i % 3) + [f"t{i}"]),
                          owner="sanne", created_at=T0 + timedelta(hours=i),
                          updated_at=T0 + timedelta(hours=(i * 37) % 23),  # 23 values: ties
                          action_due_at=None if i % 4 == 1 else T0 + timedelta(minutes=(i * 11) % 17,
                                                                               microseconds=i % 2))
                   for i in range(n)])
    with desk.uow.read() as s:
        return list(s.query(Ticket).all())


def _expected(tickets: list[Ticket], sort: str) -> list[int]:
    if sort == "newest":
        return [t.id for t in sorted(tickets, key=lambda t: -t.id)]
    if sort == "oldest":
        return [t.id for t in sorted(tickets, key=lambda t: t.id)]
    if sort == "due":  # soonest first, without a due date last, ties by number
        return [t.id for t in sorted(tickets, key=lambda t: (t.action_due_at is None,
                                                             t.action_due_at or T0, t.id))]
    assert sort == "updated"
    return [t.id for t in sorted(tickets, key=lambda t: (t.updated_at, t.id), reverse=True)]


def _walk(desk, args: dict[str, str]) -> tuple[list[list[int]], list[dict[str, Any]]]:
    """Every page from the first by its "next" cursor, then back by "previous"."""
    pages: list[list[int]] = []
    found = board.find_tickets(desk, OPERATOR, board.Filters.from_args(args))
    seen = [found]
    while True:
        assert found["page"] == len(pages) + 1
        pages.append([t["number"] for t in found["tickets"]])
        if not found["next"]:
            break
        f = board.Filters.from_args({**args, "page": str(found["page"] + 1), "after": found["next"]})
        assert not f.problems
        found = board.find_tickets(desk, OPERATOR, f)
        seen.append(found)
    back = [pages[-1]]
    while found["prev"]:
        f = board.Filters.from_args({**args, "page": str(found["page"] - 1), "before": found["prev"]})
        found = board.find_tickets(desk, OPERATOR, f)
        back.insert(0, [t["number"] for t in found["tickets"]])
    assert back == pages, "paging back gives the same pages"
    assert found["page"] == 1
    return pages, seen


@pytest.mark.parametrize("status", ["", "resolved"])
def test_every_sort_pages_through_every_ticket_once_in_order(desk, status):
    tickets = [t for t in _seed(desk) if not status or t.status == status]
    assert any(t.action_due_at is None for t in tickets)
    for sort in ("newest", "oldest", "due", "updated"):
        pages, seen = _walk(desk, {"status": status, "sort": sort})
        numbers = [n for page in pages for n in page]
        assert numbers == _expected(tickets, sort), sort
        assert len(set(numbers)) == len(tickets)
        assert all(len(p) == board.PAGE_SIZE for p in pages[:-1]) and pages[-1]
        assert all(f["total"] == len(tickets) and f["pages"] == len(pages) for f in seen), sort
        if status:
            assert all(t["status"] == status for f in seen for t in f["tickets"])


def test_relevance_pages_by_score_then_latest_through_ties(desk):
    tickets = _seed(desk)
    fulltext.reindex(desk, OPERATOR)
    pages, seen = _walk(desk, {"q": "factuur"})
    numbers = [n for page in pages for n in page]
    assert seen[0]["sort"] == "relevance" and len(pages) == 3
    assert sorted(numbers) == sorted(t.id for t in tickets)  # each once
    # best match first (the word three times), the ties by last change, then number
    times = {t.id: len(t.subject.split()) for t in tickets}
    assert [times[n] for n in numbers] == sorted((times[n] for n in numbers), reverse=True)
    updated = {t.id: (t.updated_at, t.id) for t in tickets}
    for i in range(len(numbers) - 1):
        if times[numbers[i]] == times[numbers[i + 1]]:
            assert updated[numbers[i]] > updated[numbers[i + 1]]
    # a search's other sorts page by keyset too (in the index's order for the numbers)
    for sort in ("oldest", "due"):
        pages, _ = _walk(desk, {"q": "factuur", "sort": sort})
        assert [n for page in pages for n in page] == _expected(tickets, sort), sort


def test_a_common_word_pages_by_due_date_and_change_through_each_match_once(desk, monkeypatch):
    """More matches than board.SEARCH_RANKED: by due date or change, the sort's index is
    read in order and each ticket tested for the words (no sort of every match)."""
    tickets = _seed(desk)
    fulltext.reindex(desk, OPERATOR)
    monkeypatch.setattr(board, "SEARCH_RANKED", 10)
    for sort in ("due", "updated", "newest", "relevance"):
        pages, seen = _walk(desk, {"q": "factuur", "sort": sort})
        assert seen[0]["more"]
        expected = _expected(tickets, "newest" if sort == "relevance" else sort)
        assert [n for page in pages for n in page] == expected, sort
    with_two = [t for t in tickets if t.subject.count("factuur") >= 2]
    pages, _ = _walk(desk, {"q": "factuur factuur", "sort": "due"})  # (every word: the same)
    assert len([n for page in pages for n in page]) == len(tickets) > len(with_two)


def test_a_new_ticket_shifts_no_page_and_an_old_page_link_still_works(desk):
    tickets = _seed(desk)
    for sort in ("newest", "due", "updated"):
        first = board.find_tickets(desk, OPERATOR, board.Filters.from_args({"sort": sort}))
        args = {"sort": sort, "page": "2", "after": first["next"]}
        second = board.find_tickets(desk, OPERATOR, board.Filters.from_args(args))
        # a link of before cursors: ?page=2 alone shows the same page
        legacy = board.find_tickets(desk, OPERATOR, board.Filters.from_args({"sort": sort, "page": "2"}))
        assert [t["number"] for t in legacy["tickets"]] == [t["number"] for t in second["tickets"]]
        assert legacy["prev"] and legacy["next"]
        last = board.find_tickets(desk, OPERATOR, board.Filters.from_args({"sort": sort, "page": "3"}))
        assert [t["number"] for t in last["tickets"]] == _expected(tickets, sort)[2 * board.PAGE_SIZE:]
    with desk.uow.write() as s:  # sorts first in each order
        s.add(Ticket(kind="question", status="open", subject="new", owner="sanne", created_at=T0,
                     updated_at=T0 + timedelta(days=9), action_due_at=T0 - timedelta(days=1)))
    for sort in ("newest", "due", "updated"):
        first = board.find_tickets(desk, OPERATOR, board.Filters.from_args({"sort": sort}))
        assert first["tickets"][0]["subject"] == "new"
        page_two = board.find_tickets(desk, OPERATOR, board.Filters.from_args(
            {"sort": sort, "page": "2", "after": first["next"]}))
        assert [t["number"] for t in page_two["tickets"]] == _expected(tickets, sort)[49:99], sort


@pytest.mark.parametrize("cursor", ["newest_0_x", "due_0_12", "due_7_1_2", "updated_0_99999999999999999999_1",
                                    "oldest_0_1", "newest_0_-5", "", "relevance_0_nan_1_1"])
def test_a_cursor_that_is_not_one_of_this_sort_shows_the_first_page(desk, cursor):
    _seed(desk, 60)
    first = board.find_tickets(desk, OPERATOR, board.Filters.from_args({"sort": "newest"}))
    f = board.Filters.from_args({"sort": "newest", "page": "5", "after": cursor})
    got = board.find_tickets(desk, OPERATOR, f)
    if cursor:
        assert f.problems and got["page"] == 1
        assert got["tickets"] == first["tickets"]
    assert board.Cursor.decode(first["next"], "newest", board._parts("newest", None)) is not None


def test_each_sort_is_a_range_of_an_index(desk):
    """The page after a cursor is read from an index in its order: no sort of the tickets
    (SQLite: no temporary B-tree; PostgreSQL, told to avoid sorts and table scans: no
    Sort node), and the sort's own index is the one read."""
    _seed(desk)  # page 2 of "due": the last of the dated tickets, then the undated
    with desk.uow.read() as s:
        engine = s.get_bind()
    statements: list[tuple[str, Any]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    for sort, index in (("newest", "ticket"), ("due", "ix_ticket_due_id"), ("updated", "ix_ticket_updated_id")):
        first = board.find_tickets(desk, OPERATOR, board.Filters.from_args({"sort": sort}))
        event.listen(engine, "before_cursor_execute", seen)
        try:
            board.find_tickets(desk, OPERATOR, board.Filters.from_args(
                {"sort": sort, "page": "2", "after": first["next"]}))
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        keyset = [(st, p) for st, p in statements if "ORDER BY" in st and "LIMIT" in st]
        statements.clear()
        assert keyset, sort
        plans = []
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            cur = raw.cursor()
            if engine.dialect.name == "postgresql":
                cur.execute("SET enable_sort = off")
                cur.execute("SET enable_seqscan = off")
            for st, p in keyset:
                if engine.dialect.name == "sqlite":
                    cur.execute("EXPLAIN QUERY PLAN " + st, p)
                    plans.append(" ".join(str(r[-1]) for r in cur.fetchall()))
                else:
                    cur.execute("EXPLAIN " + st, p)
                    plans.append(" ".join(str(r[0]) for r in cur.fetchall()))
            conn.rollback()
        assert not any("TEMP B-TREE" in plan or "Sort" in plan for plan in plans), (sort, plans)
        assert any(index in plan for plan in plans), (sort, plans)
