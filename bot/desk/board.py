"""What the web face shows: the dashboard, the ticket finder, an attachment, the preview
of a reply. Views like those in queries.py: each checks the actor first and reads in one
unit of work; none changes anything.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Double,
    Select,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, selectinload

from bot.core.domain import CLOSED, Status
from bot.desk import fulltext, outgoing, queries
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.views import aware, contains, contract_dict, iso, ticket_dict, valid_number
from bot.store.models import Attachment, Company, CompanyDomain, Contact, Message, Ticket

SLA_STATES = ("new", "overdue", "due-today", "waiting", "on-track")
PAGE_SIZE = 50
# not closed, said as IN (an index on status finds the few open ones; NOT IN reads them all)
OPEN = tuple(st for st in Status if st not in CLOSED)
# a search with more matches than this is counted as "more than" and listed newest first
# (ranking every match of a common word costs a second on 100,000 tickets)
SEARCH_RANKED = 1000
# The list's orders. Each pages by keyset: a page's link carries the sort key and number
# of the last (or first) ticket of the page before (after), and the next page is the
# tickets beyond it in the order: an index range (ix_ticket_status_id, ix_ticket_due_id,
# ix_ticket_updated_id), never an OFFSET, so page 400 costs what page 1 costs and a
# ticket that arrives meanwhile shifts nothing. "due": soonest first, the tickets
# without a due date last (by number); "relevance" (with words searched for, the default
# then): best match first, then the latest.
SORTS = ("newest", "oldest", "due", "updated", "relevance")


def _day_bounds(desk: Desk, now: datetime) -> tuple[datetime, datetime]:
    """Start and end of today in the desk's time zone, as UTC."""
    tz = _local_tz(desk)
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, local.day, tzinfo=tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _sla_state_expr(now: datetime, end_of_day: datetime):
    """The SLA state of a ticket as SQL (for grouping and filtering)."""
    return case(
        (Ticket.status.in_(CLOSED), "closed"),
        (Ticket.status == Status.WAITING, "waiting"),
        (and_(Ticket.action_due_at.is_not(None), Ticket.action_due_at < now), "overdue"),
        (and_(Ticket.action_due_at.is_not(None), Ticket.action_due_at < end_of_day), "due-today"),
        (Ticket.status == Status.NEW, "new"),
        else_="on-track")


def sla_state(t: Ticket, now: datetime, end_of_day: datetime) -> str:
    due = aware(t.action_due_at)
    if t.status in CLOSED:
        return "closed"
    if t.status == Status.WAITING:
        return "waiting"
    if due is not None and due < now:
        return "overdue"
    if due is not None and due < end_of_day:
        return "due-today"
    return "new" if t.status == Status.NEW else "on-track"


def dashboard(desk: Desk, actor: Actor, weeks: int = 8) -> dict[str, Any]:
    """The state of the desk: open tickets by owner, kind and SLA state; the oldest open
    complaints; SLA met this week and month; opened and resolved per week; the outbox."""
    check(actor, Verb.VIEW)
    now = desk.clock()
    _, end_of_day = _day_bounds(desk, now)
    open_ = Ticket.status.in_(OPEN)
    with desk.uow.read() as s:
        # the open tickets counted by the database, by status, kind and owner: the few
        # open ones read from the board's index in its order (ix_ticket_open_board: no
        # ticket row read, no sort: the groups are its prefix), with those due before now
        # and before the end of today; the SLA state of each group's tickets follows
        # (sla_state: waiting; overdue; due today; else new or on track)
        by_owner: dict[str, dict[str, int]] = {}
        kinds: dict[str, int] = {}
        for status, kind, owner, n, before_now, before_eod in s.execute(
                select(Ticket.status, Ticket.kind, Ticket.owner, func.count(),
                       func.count(case((Ticket.action_due_at < now, 1))),
                       func.count(case((Ticket.action_due_at < end_of_day, 1))))
                .where(open_).group_by(Ticket.status, Ticket.kind, Ticket.owner)):
            counts = by_owner.get(owner)
            if counts is None:
                counts = by_owner[owner] = dict.fromkeys(SLA_STATES, 0)
            if status == Status.WAITING:
                counts["waiting"] += n
            else:
                counts["overdue"] += before_now
                counts["due-today"] += before_eod - before_now
                counts["new" if status == Status.NEW else "on-track"] += n - before_eod
            kinds[kind] = kinds.get(kind, 0) + n
        by_kind = dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
        totals = dict.fromkeys(SLA_STATES, 0)
        for counts in by_owner.values():
            for k, n in counts.items():
                totals[k] += n
        # the ten oldest open complaints: their numbers from the same index (a few hundred
        # entries sorted), then those ten tickets
        oldest_ten = list(s.scalars(select(Ticket.id).where(open_, Ticket.kind == "complaint")
                                    .order_by(Ticket.created_at, Ticket.id).limit(_limit(10))))
        complaints = sorted(s.scalars(select(Ticket).where(Ticket.id.in_(oldest_ten))).all(),
                            key=lambda t: oldest_ten.index(t.id))
        oldest = [{**_row(desk, t, now, end_of_day),
                   "age_days": (now - (aware(t.created_at) or now)).days} for t in complaints]
        # SLA met this week and month, opened and resolved per week: one statement of
        # counts, each a range of an index (ix_ticket_fa_due_done, ix_ticket_res_due_done,
        # created_at, resolved_at), not one statement each (a statement costs more in
        # SQLAlchemy and the driver than its count in the database)
        week_start = _week_start(desk, now)
        month_start = _month_start(desk, now)
        first = week_start - timedelta(weeks=weeks - 1)
        weeks_of = _week_bounds(first, now, desk)
        params: dict[str, datetime] = {"now": now, "week_since": week_start, "month_since": month_start}
        for i, (_, lo, hi) in enumerate(weeks_of):
            for key in ("opened", "resolved"):
                params[f"{key}_{i}_from"], params[f"{key}_{i}_to"] = lo, hi
        values = [int(v or 0) for v in s.execute(_counts_statement(len(weeks_of)), params).one()]
        n = len(weeks_of)
        sla = {"week": _sla_met_from(values[0:4]), "month": _sla_met_from(values[4:8])}
        opened = {key: v for (key, _, _), v in zip(weeks_of, values[8:8 + n], strict=True)}
        resolved = {key: v for (key, _, _), v in zip(weeks_of, values[8 + n:], strict=True)}
    series = []
    tz = _local_tz(desk)
    for i in range(weeks):
        start = first + timedelta(weeks=i)
        key = start.astimezone(tz).date().isoformat()
        series.append({"week": key, "opened": opened.get(key, 0), "resolved": resolved.get(key, 0)})
    health = queries.health(desk, write=False)  # a page view writes nothing (the probe beats)
    return {"now": iso(now), "by_owner": dict(sorted(by_owner.items())), "totals": totals,
            "by_kind": by_kind, "oldest_complaints": oldest, "sla": sla, "weeks": series,
            "outbox": health.get("outbox", {}), "health": health.get("status"),
            "health_reason": health.get("reason")}


def _limit(n: int) -> Any:
    """A LIMIT (or OFFSET) written into the SQL, not bound: told "LIMIT ?", SQLite's planner
    may walk an index in the ORDER BY's order through every ticket (the oldest complaints
    by the created_at index: 2-3 ms) instead of the filter's index (0.1 ms)."""
    return literal_column(str(int(n)))


def _local_tz(desk: Desk) -> ZoneInfo:
    return ZoneInfo(desk.ruleset.timezone)


def _week_start(desk: Desk, now: datetime) -> datetime:
    local = now.astimezone(_local_tz(desk))
    monday = local.date() - timedelta(days=local.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=_local_tz(desk)).astimezone(UTC)


def _month_start(desk: Desk, now: datetime) -> datetime:
    local = now.astimezone(_local_tz(desk))
    return datetime(local.year, local.month, 1, tzinfo=_local_tz(desk)).astimezone(UTC)


SLA_TARGETS = (("first_action", Ticket.first_action_due_at, Ticket.first_action_at),
               ("resolution", Ticket.resolution_due_at, Ticket.resolved_at))


@functools.lru_cache(maxsize=8)
def _counts_statement(weeks: int) -> Select:
    """The dashboard's counts as one statement, each a range of an index: per SLA target,
    this week's and this month's deadlines in [since, now] and those met (the (deadline,
    done time) indexes), then the tickets opened and resolved in each of ``weeks`` weeks
    (created_at, resolved_at). Built once per number of weeks, its bounds bound as
    parameters (building it cost about 2 ms a page)."""
    counted = []
    for period in ("week", "month"):
        for _, due, done in SLA_TARGETS:
            window = (due >= bindparam(f"{period}_since"), due <= bindparam("now"))
            counted.append(select(func.count()).where(*window).scalar_subquery())
            counted.append(select(func.count()).where(*window, done.is_not(None), done <= due).scalar_subquery())
    for key, column in (("opened", Ticket.created_at), ("resolved", Ticket.resolved_at)):
        for i in range(weeks):
            counted.append(select(func.count()).where(column >= bindparam(f"{key}_{i}_from"),
                                                      column < bindparam(f"{key}_{i}_to")).scalar_subquery())
    return select(*counted)


def _sla_met_from(values: list[int]) -> dict[str, Any]:
    """Per target, the counts of _counts_statement as met, breached and percent."""
    out: dict[str, Any] = {}
    for i, (name, _, _) in enumerate(SLA_TARGETS):
        total, ok = values[2 * i], values[2 * i + 1]
        out[name] = {"due": total, "met": ok, "breached": total - ok,
                     "percent": round(100 * ok / total) if total else None}
    return out


def _week_bounds(first: datetime, now: datetime, desk: Desk) -> list[tuple[str, datetime, datetime]]:
    """The local weeks from ``first`` to ``now``: (the Monday's date, from, to), the first
    from ``first``, the last to just after ``now`` (counted per week, each a range of the
    column's index: no row read, no CASE per row, 30-40 ms less on SQLite)."""
    tz = _local_tz(desk)
    monday = first.astimezone(tz).date()
    monday -= timedelta(days=monday.weekday())
    starts = []
    while True:
        start = datetime(monday.year, monday.month, monday.day, tzinfo=tz).astimezone(UTC)
        if start > now:
            break
        starts.append((monday.isoformat(), max(start, first)))
        monday += timedelta(days=7)
    if not starts:
        return []
    ends = [b for _, b in starts[1:]] + [now + timedelta(microseconds=1)]
    return [(key, lo, hi) for (key, lo), hi in zip(starts, ends, strict=True)]


def _row(desk: Desk, t: Ticket, now: datetime, end_of_day: datetime) -> dict[str, Any]:
    return {**ticket_dict(desk, t), "sla_state": sla_state(t, now, end_of_day)}


@dataclass
class Filters:
    """The ticket list's filters, as the URL carries them (bookmarkable)."""

    status: str = ""          # new | open | waiting | resolved | closed | "open-all" (not closed)
    owner: str = ""
    role: str = ""
    kind: str = ""
    customer: str = ""
    sla: str = ""             # one of SLA_STATES
    since: date | None = None
    until: date | None = None
    q: str = ""               # words in the subject, messages and notes
    sort: str = "newest"
    page: int = 1             # the page's number, as shown; where it starts is after / before
    after: str = ""           # a cursor (Cursor.encode): the page after that ticket ...
    before: str = ""          # ... or the page before it (the "previous" link)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        f = cls()
        for name in ("status", "owner", "role", "kind", "customer", "sla", "q", "after", "before"):
            setattr(f, name, (args.get(name) or "").strip()[:200])
        f.sort = args.get("sort") if args.get("sort") in SORTS else f.default_sort
        try:
            f.page = max(1, min(10_000, int(args.get("page") or 1)))
        except ValueError:
            f.page = 1
        for name in ("since", "until"):
            raw = (args.get(name) or "").strip()
            if raw:
                try:
                    setattr(f, name, date.fromisoformat(raw))
                except ValueError:
                    f.problems.append(f"{name}: {raw[:20]!r} is not a date (YYYY-MM-DD)")
        if f.sla and f.sla not in SLA_STATES:
            f.problems.append(f"sla: one of {', '.join(SLA_STATES)}")
            f.sla = ""
        return f

    @property
    def default_sort(self) -> str:
        return "relevance" if self.q else "newest"

    def args(self, **changes: Any) -> dict[str, str]:
        """The query string of these filters (with ``changes``), empty values left out."""
        out = {k: getattr(self, k) for k in ("status", "owner", "role", "kind", "customer",
                                             "sla", "q", "sort", "page")}
        out.update(after="", before="")  # a cursor belongs to one page: given in changes
        out.update({"since": self.since.isoformat() if self.since else "",
                    "until": self.until.isoformat() if self.until else ""})
        out.update(changes)
        return {k: str(v) for k, v in out.items()
                if v not in ("", None) and not (k == "page" and str(v) == "1")
                and not (k == "sort" and v == self.default_sort)}


def _filtered(q: Select, f: Filters, now: datetime, end_of_day: datetime, tz: ZoneInfo,
              s: Session, scan: bool = False) -> Select:
    """``q`` with the filters of ``f``. Words searched for join the matches (with their
    score as "relevance"); with ``scan``, they are a test on each ticket instead (for a
    common word listed in another index's order: read that index in order and keep the
    matches, not every match sorted)."""
    if f.status == "open-all":
        q = q.where(Ticket.status.in_(OPEN))
    elif f.status:
        q = q.where(Ticket.status == f.status)
    if f.owner:
        q = q.where(Ticket.owner == f.owner)
    if f.role:
        q = q.where(Ticket.owner_role == f.role)
    if f.kind:
        q = q.where(Ticket.kind == f.kind)
    if f.customer:
        like = contains(f.customer)
        q = q.where(or_(func.lower(Ticket.customer).like(like, escape="\\"),
                        func.lower(Ticket.contact_email).like(like, escape="\\"),
                        func.lower(Ticket.contact_name).like(like, escape="\\")))
    if f.sla:
        q = q.where(_sla_state_expr(now, end_of_day) == f.sla)
    if f.since:
        q = q.where(Ticket.created_at >= datetime(f.since.year, f.since.month, f.since.day, tzinfo=tz))
    if f.until:
        end = datetime(f.until.year, f.until.month, f.until.day, tzinfo=tz) + timedelta(days=1)
        q = q.where(Ticket.created_at < end)
    if f.q:
        words = f.q.strip()
        if words.lstrip("#").isdigit() and valid_number(int(words.lstrip("#"))):
            return q.where(Ticket.id == int(words.lstrip("#")))
        # full text: subject, customer, contact, messages and notes (bot/desk/fulltext.py)
        found = fulltext.matches(s, words)
        if found is None:  # no word in it ("%", "*"): nothing
            return q.where(false())
        if scan:  # "+ 0": the matches must not lead (SQLite would fetch and sort them all)
            return q.where((Ticket.id + literal_column("0")).in_(select(found.c.ticket_id)))
        q = q.join(found, found.c.ticket_id == Ticket.id).add_columns(found.c.score.label("relevance"))
    return q


# a key's kind in a cursor: the ticket number, a time (microseconds since 1970, UTC), a score
NUMBER, TIME, SCORE = "n", "t", "s"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Key = tuple[Any, bool, str]  # (a column or expression, descending, kind)


@dataclass(frozen=True)
class _Part:
    """One run of a sort's order: the tickets it holds (``where``; None: all) ordered by
    ``keys``, of which the last is the ticket number (ties never left open)."""

    where: ColumnElement[bool] | None
    keys: tuple[Key, ...]


def _parts(sort: str, found: Any) -> list[_Part]:
    """The order of ``sort`` as runs, each one an index range with the filters."""
    number: Any = Ticket.id if found is None else found.c.ticket_id  # a search: the index's order
    if sort == "newest":
        return [_Part(None, ((number, True, NUMBER),))]
    if sort == "oldest":
        return [_Part(None, ((number, False, NUMBER),))]
    if sort == "updated":
        return [_Part(None, ((Ticket.updated_at, True, TIME), (Ticket.id, True, NUMBER)))]
    if sort == "due":  # the tickets without a due date after all the others (NULL sorts first on
        # SQLite, last on PostgreSQL: two runs, each a range of ix_ticket_due_id on both)
        return [_Part(Ticket.action_due_at.is_not(None),
                      ((Ticket.action_due_at, False, TIME), (Ticket.id, False, NUMBER))),
                _Part(Ticket.action_due_at.is_(None), ((Ticket.id, False, NUMBER),))]
    # relevance: the score as a double on both databases (PostgreSQL's real, read as text,
    # would not come back exactly as it compares)
    return [_Part(None, ((cast(found.c.score, Double), False, SCORE), (Ticket.updated_at, True, TIME),
                         (Ticket.id, True, NUMBER)))]


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: the sort, the run of its order and the sort key (with the
    number) of a ticket, as a link carries it: ``due_0_1764064800000000_1234``."""

    sort: str
    part: int
    values: tuple[Any, ...]

    def encode(self, parts: list[_Part]) -> str:
        out = [self.sort, str(self.part)]
        for (_, _, kind), v in zip(parts[self.part].keys, self.values, strict=True):
            out.append(str((v - EPOCH) // timedelta(microseconds=1)) if kind == TIME else repr(v))
        return "_".join(out)

    @classmethod
    def decode(cls, raw: str, sort: str, parts: list[_Part]) -> Cursor | None:
        """The cursor in ``raw``, or None when it is not one this sort gave out."""
        try:
            name, part, *values = raw.split("_")
            keys = parts[int(part)].keys
            if name != sort or int(part) < 0 or len(values) != len(keys):
                return None
            got: list[Any] = []
            for (_, _, kind), v in zip(keys, values, strict=True):
                if kind == NUMBER:
                    got.append(int(v) if valid_number(int(v)) else None)
                elif kind == TIME:
                    got.append(EPOCH + timedelta(microseconds=int(v)))
                else:
                    got.append(float(v) if abs(float(v)) < float("inf") else None)
            if None in got:
                return None
        except (ValueError, IndexError, OverflowError):
            return None
        return cls(sort, int(part), tuple(got))


def _beyond(keys: tuple[Key, ...], values: tuple[Any, ...], forward: bool) -> ColumnElement[bool]:
    """The tickets after (``forward``) or before these key values in the order of ``keys``:
    the first key as a range (the index's seek), the ties broken by the next keys."""
    terms = []
    for k, ((expr, desc, _), v) in enumerate(zip(keys, values, strict=True)):
        later = expr < v if desc == forward else expr > v
        terms.append(and_(*[e == w for (e, _, _), w in zip(keys[:k], values[:k], strict=True)], later))
    if len(terms) == 1:
        return terms[0]
    first, desc, _ = keys[0]
    seek = first <= values[0] if desc == forward else first >= values[0]
    return and_(seek, or_(*terms))


def find_tickets(desk: Desk, actor: Actor, f: Filters) -> dict[str, Any]:
    """One page of the tickets that pass the filters, with the total. The page is the one
    after ``f.after`` (or before ``f.before``) in the sort's order, by keyset; a page
    number without a cursor (a link from before cursors) is counted from the start."""
    check(actor, Verb.VIEW)
    now = desk.clock()
    _, end_of_day = _day_bounds(desk, now)
    tz = _local_tz(desk)
    with desk.uow.read() as s:
        base = _filtered(select(Ticket), f, now, end_of_day, tz, s)
        ids = base.with_only_columns(Ticket.id)  # counted on numbers alone: no row read
        searched = "relevance" in base.selected_columns
        found = base.selected_columns["relevance"].element.table if searched else None
        if searched:  # counted up to SEARCH_RANKED + 1
            total = s.scalar(select(func.count()).select_from(ids.limit(SEARCH_RANKED + 1).subquery())) or 0
        else:
            total = s.scalar(select(func.count()).select_from(ids.subquery())) or 0
        more = total > SEARCH_RANKED
        ranked = searched and f.sort == "relevance" and not more
        if searched:
            total = min(total, SEARCH_RANKED)
        sort = f.sort if ranked or f.sort != "relevance" else "newest"
        if more and sort in ("due", "updated"):
            # a common word (thousands of matches) by due date or change: that index in
            # order, each ticket tested (a page needs a few hundred), not every match sorted
            base, found = _filtered(select(Ticket), f, now, end_of_day, tz, s, scan=True), None
        parts = _parts(sort, found)
        cursor, forward, page = None, True, f.page
        if f.after or f.before:
            cursor = Cursor.decode(f.after or f.before, sort, parts)
            forward = not f.before or bool(f.after)
            if cursor is None:
                f.problems.append("this page's link is not one this list gave out: the first page")
                forward, page = True, 1
        skip = (page - 1) * PAGE_SIZE if cursor is None else 0
        # the page's keys and numbers, from the index (no ticket row read), one run after
        # the other, one more than a page (is there a next?); then only those tickets
        want = PAGE_SIZE + 1
        got: list[tuple[int, tuple[Any, ...]]] = []
        first = cursor.part if cursor is not None else 0
        runs = range(first, len(parts)) if forward else range(first, -1, -1)
        for i in runs:
            part = parts[i]
            exprs = [e for e, _, _ in part.keys]
            q = base.with_only_columns(*exprs, Ticket.id)
            if part.where is not None:
                q = q.where(part.where)
            if cursor is not None and i == cursor.part:
                q = q.where(_beyond(part.keys, cursor.values, forward))
            q = q.order_by(*[e.desc() if desc == forward else e.asc() for e, desc, _ in part.keys])
            if skip:  # a page number without a cursor: an old link, counted from the start
                rows = s.execute(q.offset(_limit(skip)).limit(_limit(want - len(got)))).all()
                if not rows:
                    skip -= s.scalar(select(func.count()).select_from(q.subquery())) or 0
                    continue
                skip = 0
            else:
                rows = s.execute(q.limit(_limit(want - len(got)))).all()
            got += [(i, tuple(r[:-1])) for r in rows]
            if len(got) >= want:
                break
        further = len(got) > PAGE_SIZE
        got = got[:PAGE_SIZE]
        if not forward:
            got.reverse()
        has_next = further if forward else True
        has_prev = further if not forward else page > 1 or cursor is not None
        page = max(page, 2) if has_prev else 1
        numbers = [values[-1] for _, values in got]
        by_number = {t.id: t for t in s.scalars(select(Ticket).where(Ticket.id.in_(numbers)))}
        tickets = [_row(desk, by_number[n], now, end_of_day) for n in numbers if n in by_number]
    pages = max(1, -(-total // PAGE_SIZE), page + 1 if has_next and got else page)
    nxt = Cursor(sort, *got[-1]).encode(parts) if has_next and got else ""
    prev = Cursor(sort, *got[0]).encode(parts) if has_prev and got else ""
    return {"tickets": tickets, "total": total, "more": more, "page": page, "pages": pages,
            "next": nxt, "prev": prev, "sort": sort}


def attachment(desk: Desk, actor: Actor, number: int, attachment_id: int) -> dict[str, Any] | None:
    """One attachment of one ticket: name, type and bytes; None when there is none."""
    check(actor, Verb.VIEW)
    if not valid_number(number) or not valid_number(attachment_id):
        return None
    with desk.uow.read() as s:
        a = s.scalar(select(Attachment).join(Message, Attachment.message_id == Message.id)
                     .where(Attachment.id == attachment_id, Message.ticket_id == number))
        if a is None:
            return None
        return {"name": a.filename or f"attachment-{a.id}", "type": a.content_type or "",
                "size": a.size, "content": a.content or b""}


def reply_preview(desk: Desk, actor: Actor, number: int, text: str) -> dict[str, Any] | None:
    """The mail a reply would be, exactly as `actions.reply` would queue it (recipient,
    subject, text), without queueing anything."""
    check(actor, Verb.REPLY)
    if not valid_number(number):
        return None
    with desk.uow.read() as s:
        t = s.get(Ticket, number)
        if t is None:
            return None
        rendered = desk.renderer.render_mail("reply", t.language,
                                             outgoing.reply_context(desk, t, text, actor.key))
        return {"to": t.answer_to, "subject": rendered.subject, "text": rendered.text}


def attachments_of(desk: Desk, actor: Actor, number: int) -> dict[int, list[dict[str, Any]]]:
    """Per message id, its attachments with their ids (for download links)."""
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        out: dict[int, list[dict[str, Any]]] = {}
        for a_id, m_id, name, ctype, size, inline in s.execute(
                select(Attachment.id, Attachment.message_id, Attachment.filename,
                       Attachment.content_type, Attachment.size, Attachment.inline)
                .join(Message, Attachment.message_id == Message.id)
                .where(Message.ticket_id == number).order_by(Attachment.id)):
            out.setdefault(m_id, []).append({"id": a_id, "name": name or f"attachment-{a_id}",
                                             "type": ctype, "size": size, "inline": inline})
        return out


def customers(desk: Desk, actor: Actor, words: str = "", page: int = 1) -> dict[str, Any]:
    """Companies with their domains, advisor, contacts, contracts (and each contract's
    notice deadline) and open tickets; a page of PAGE_SIZE, by name, filtered by words
    in the name, a domain or a contact's address."""
    check(actor, Verb.VIEW)
    today = desk.clock().astimezone(_local_tz(desk)).date()
    with desk.uow.read() as s:
        q = select(Company).where(Company.prospect.is_(False))
        if words.strip():
            like = contains(words.strip())
            q = q.where(or_(func.lower(Company.name).like(like, escape="\\"),
                            exists().where(CompanyDomain.company_id == Company.id,
                                           CompanyDomain.domain.like(like, escape="\\")),
                            exists().where(Contact.company_id == Company.id,
                                           func.lower(Contact.email).like(like, escape="\\"))))
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.options(selectinload(Company.domains), selectinload(Company.contacts),
                                   selectinload(Company.contracts))
                         .order_by(func.lower(Company.name)).offset((page - 1) * PAGE_SIZE)
                         .limit(PAGE_SIZE)).all()
        open_counts = dict(s.execute(select(Ticket.company_id, func.count()).where(
            Ticket.company_id.in_([c.id for c in rows]), Ticket.status.not_in(CLOSED))
            .group_by(Ticket.company_id)).all())
        out = []
        for c in rows:
            contracts = [contract_dict(k, today)
                         for k in sorted(c.contracts, key=lambda k: (k.end or date.max, k.id))]
            out.append({"id": c.id, "name": c.name, "advisor": c.advisor, "website_access": c.website_access,
                        "domains": sorted(d.domain for d in c.domains),
                        "contacts": [{"name": p.name, "email": p.email, "phone": p.phone}
                                     for p in sorted(c.contacts, key=lambda p: p.email)],
                        "contracts": contracts, "open_tickets": open_counts.get(c.id, 0)})
    return {"customers": out, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE))}


def tickets_after(desk: Desk, actor: Actor, f: Filters, after: int = 0,
                  limit: int = PAGE_SIZE) -> list[dict[str, Any]]:
    """Up to ``limit`` tickets that pass the filters with a number above ``after``, by
    number: a cursor (the last number seen) pages without gaps or repeats however many
    tickets arrive meanwhile (new tickets get higher numbers). The REST API's list."""
    check(actor, Verb.VIEW)
    now = desk.clock()
    _, end_of_day = _day_bounds(desk, now)
    with desk.uow.read() as s:
        q = _filtered(select(Ticket), f, now, end_of_day, _local_tz(desk), s).where(Ticket.id > after)
        rows = s.scalars(q.order_by(Ticket.id.asc()).limit(limit)).all()
        return [_row(desk, t, now, end_of_day) for t in rows]
