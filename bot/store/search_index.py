"""Full-text search, the database side: the `ticket_search` rows kept in step with every
write, the index rebuilt whole (`ticketbot reindex`, migration 0013), and a query as SQL.

Every flush of a session (`make_sessionmaker` listens) looks at what it wrote: a new or
changed ticket rewrites its row's `head` (subject, customer, contact), a new message or
note appends its stemmed text to `body`, an edited or deleted message rebuilds the
ticket's row. So whatever writes through the ORM (intake, the desk's actions, Slack,
mail, web, API) is searchable in the same transaction; nothing can forget it. SQLite's
FTS5 table follows `ticket_search` by triggers, PostgreSQL's `tsv` column is generated.

Words are stemmed in Python (bot/core/search_text.py), so both databases match the same
stems: SQLite's tokenizer is `unicode61 remove_diacritics 2` without its own stemming,
PostgreSQL's configuration `simple`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Float, Integer, bindparam, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from bot.core import search_text

HEAD_FIELDS = ("subject", "customer", "contact_name", "contact_email")
# events whose text a person wrote: internal notes, a logged action's or a resolution's note
NOTE_EVENTS = ("note", "action", "resolved", "reopened", "task-done")
MESSAGE_INDEXED = 10_000  # characters of one message's stems kept in the index
BODY_CAP = 200_000  # characters of a ticket's body: past it, later messages are not indexed
BATCH = 500

_HEAD = text("INSERT INTO ticket_search (ticket_id, head, body) VALUES (:t, :h, '') "
             "ON CONFLICT (ticket_id) DO UPDATE SET head = excluded.head")
_NEW = text("INSERT INTO ticket_search (ticket_id, head, body) VALUES (:t, :h, :b) "
            "ON CONFLICT (ticket_id) DO UPDATE SET head = excluded.head, body = excluded.body")
_APPEND = text(
    "INSERT INTO ticket_search (ticket_id, head, body) VALUES (:t, '', :b) "
    "ON CONFLICT (ticket_id) DO UPDATE SET body = CASE "
    f"WHEN length(ticket_search.body) > {BODY_CAP} THEN ticket_search.body "
    "WHEN ticket_search.body = '' THEN excluded.body "
    "ELSE ticket_search.body || ' ' || excluded.body END")
_DELETE = text("DELETE FROM ticket_search WHERE ticket_id IN :ids").bindparams(
    bindparam("ids", expanding=True))
_INSERT = text("INSERT INTO ticket_search (ticket_id, head, body) VALUES (:t, :h, :b)")
_TICKETS = text("SELECT id, language, subject, customer, contact_name, contact_email "
                "FROM ticket WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))
_MESSAGES = text("SELECT ticket_id, visible_text, text FROM message WHERE ticket_id IN :ids "
                 "ORDER BY id").bindparams(bindparam("ids", expanding=True))
_NOTES = text("SELECT ticket_id, reason FROM event WHERE ticket_id IN :ids AND action IN :actions "
              "AND reason IS NOT NULL ORDER BY id").bindparams(
    bindparam("ids", expanding=True), bindparam("actions", expanding=True))


def head_text(language: str | None, *fields: str | None) -> str:
    return search_text.index_text(" ".join(f for f in fields if f), language)


def message_text(language: str | None, visible: str | None, full: str | None) -> str:
    return search_text.index_text(visible or full or "", language)[:MESSAGE_INDEXED]


def _changed(obj: Any, names: Iterable[str]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[n].history.has_changes() for n in names)


def after_flush(session: Session, _context: Any) -> None:
    """Bring `ticket_search` in step with what this flush wrote (see the module doc)."""
    heads: set[int] = set()
    appended: dict[int, list[Any]] = {}
    rebuild: set[int] = set()
    created: set[int] = set()
    for obj in session.new:
        table = getattr(obj, "__tablename__", None)
        if table == "ticket":
            heads.add(obj.id)
            created.add(obj.id)
        elif table == "message" and obj.ticket_id is not None:
            appended.setdefault(obj.ticket_id, []).append((obj.visible_text, obj.text))
        elif table == "event" and obj.ticket_id is not None and _is_note(obj.action, obj.reason):
            appended.setdefault(obj.ticket_id, []).append((obj.reason, None))
    for obj in session.dirty:
        table = getattr(obj, "__tablename__", None)
        if table == "ticket":
            if _changed(obj, ("language",)):
                rebuild.add(obj.id)
            elif _changed(obj, HEAD_FIELDS):
                heads.add(obj.id)
        elif table == "message" and _changed(obj, ("text", "visible_text", "ticket_id")):
            rebuild.update(t for t in inspect(obj).attrs.ticket_id.history.sum() if t is not None)
    for obj in session.deleted:
        if getattr(obj, "__tablename__", None) == "message" and obj.ticket_id is not None:
            rebuild.add(obj.ticket_id)
    deleted_tickets = {obj.id for obj in session.deleted
                       if getattr(obj, "__tablename__", None) == "ticket"}
    rebuild -= deleted_tickets
    heads -= rebuild | deleted_tickets
    appended = {t: ms for t, ms in appended.items() if t not in rebuild | deleted_tickets}
    if not (heads or appended or rebuild):
        return
    conn = session.connection()
    wanted = sorted(heads | set(appended))
    tickets = {row.id: row for row in conn.execute(_TICKETS, {"ids": wanted})} if wanted else {}

    # A ticket this flush created has no row yet: head and body in one statement (one
    # FTS5 insert, not an insert and then an update's delete and insert); each kind of
    # statement is sent once for the whole flush (an intake batch: one per table).
    new_rows, head_rows = [], []
    for t in sorted(heads):
        row = tickets.get(t)
        if row is None:
            continue
        head = head_text(row.language, row.subject, row.customer, row.contact_name, row.contact_email)
        if t in created:
            new_rows.append({"t": t, "h": head, "b": _stems_of(row, appended.pop(t, []))})
        else:
            head_rows.append({"t": t, "h": head})
    body_rows = _body_rows(tickets, appended)
    for statement, rows in ((_NEW, new_rows), (_HEAD, head_rows), (_APPEND, body_rows)):
        if rows:
            conn.execute(statement, rows)
    if rebuild:
        reindex_tickets(conn, sorted(rebuild))


def notes_written(session: Session, notes: Iterable[tuple[int | None, str, str | None]]) -> None:
    """Events written without the ORM (a bulk INSERT: bot/desk/events.py), as
    (ticket id, action, reason): the notes among them get into their tickets' rows as
    the flush hook above puts those of Event objects."""
    appended: dict[int, list[Any]] = {}
    for t, action, reason in notes:
        if t is not None and _is_note(action, reason):
            appended.setdefault(t, []).append((reason, None))
    if not appended:
        return
    conn = session.connection()
    tickets = {row.id: row for row in conn.execute(_TICKETS, {"ids": sorted(appended)})}
    rows = _body_rows(tickets, appended)
    if rows:
        conn.execute(_APPEND, rows)


def _is_note(action: str, reason: str | None) -> bool:
    """An event whose text a person wrote (NOTE_EVENTS, with its words)."""
    return action in NOTE_EVENTS and bool(reason)


def _stems_of(row: Any, messages: list[Any]) -> str:
    """The stems of a ticket's new texts ((visible, full) each), in its language."""
    return " ".join(x for x in (message_text(row.language, visible, full)
                                for visible, full in messages) if x)


def _body_rows(tickets: dict[int, Any], appended: dict[int, list[Any]]) -> list[dict[str, Any]]:
    """The `_APPEND` rows for texts added to tickets (their rows from `_TICKETS`)."""
    rows = []
    for t, messages in sorted(appended.items()):
        row = tickets.get(t)
        stems = _stems_of(row, messages) if row is not None else ""
        if stems:
            rows.append({"t": t, "b": stems})
    return rows


def reindex_tickets(conn: Connection, ids: list[int]) -> int:
    """Rebuild the rows of these tickets from their tickets and messages."""
    done = 0
    for i in range(0, len(ids), BATCH):
        chunk = ids[i:i + BATCH]
        tickets = list(conn.execute(_TICKETS, {"ids": chunk}))
        language = {row.id: row.language for row in tickets}
        bodies: dict[int, list[str]] = {}
        texts = [*conn.execute(_MESSAGES, {"ids": chunk}),
                 *((t, reason, None) for t, reason in conn.execute(
                     _NOTES, {"ids": chunk, "actions": NOTE_EVENTS}))]
        for ticket_id, visible, full in texts:
            stems = message_text(language.get(ticket_id), visible, full)
            body = bodies.setdefault(ticket_id, [])
            if stems and sum(map(len, body)) <= BODY_CAP:
                body.append(stems)
        conn.execute(_DELETE, {"ids": chunk})
        rows = [{"t": row.id, "h": head_text(row.language, row.subject, row.customer,
                                              row.contact_name, row.contact_email),
                 "b": " ".join(bodies.get(row.id, []))} for row in tickets]
        if rows:
            conn.execute(_INSERT, rows)
        done += len(rows)
    return done


def reindex(conn: Connection) -> int:
    """Rebuild the whole index (migration 0013's backfill, `ticketbot reindex`): every
    ticket's row from its ticket and messages. Returns the number of tickets."""
    conn.execute(text("DELETE FROM ticket_search"))
    if conn.dialect.name == "sqlite":  # start the FTS5 index afresh too (and compact it)
        conn.execute(text("INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')"))
    done = 0
    last = 0
    while True:
        ids = list(conn.scalars(text("SELECT id FROM ticket WHERE id > :last ORDER BY id LIMIT 5000"),
                                {"last": last}))
        if not ids:
            return done
        done += reindex_tickets(conn, ids)
        last = ids[-1]


def matches(dialect: str, q: search_text.Query) -> Subquery:
    """The tickets matching the query: (ticket_id, score), a lower score is a better match
    (SQLite: FTS5's bm25, the head counting 4 times the body; PostgreSQL: minus ts_rank,
    the head weighted A and the body B). The query is a bound parameter, never SQL."""
    if dialect == "sqlite":
        sql = text("SELECT rowid AS ticket_id, bm25(ticket_fts, 4.0, 1.0) AS score "
                   "FROM ticket_fts WHERE ticket_fts MATCH :fts_query")
        sql = sql.bindparams(fts_query=search_text.fts5_match(q))
    else:
        sql = text("SELECT ticket_id, -ts_rank(tsv, to_tsquery('simple', :fts_query)) AS score "
                   "FROM ticket_search WHERE tsv @@ to_tsquery('simple', :fts_query)")
        sql = sql.bindparams(fts_query=search_text.tsquery(q))
    return sql.columns(ticket_id=Integer, score=Float).subquery("fts")
