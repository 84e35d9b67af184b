"""Many rows into one table at once, for the few places that write thousands in one
transaction (the SLA sweep's notices and events): ORM objects flushed one by one cost
about a millisecond each. The rows are dicts with the same keys, fitted to their
columns (`models.fit_row`) here; ids are assigned in the rows' order.

SQLite: one INSERT sent for all rows (executemany). PostgreSQL: COPY, several times
quicker than a pipelined INSERT a row; each value goes through its column's type
(aware datetimes to UTC, JSON with the engine's serializer) as an INSERT would."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.store.models import Outbox, fit_row
from bot.store.unit_of_work import outbox_touched


def insert_rows(s: Session, cls: type, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    rows = [fit_row(cls, r) for r in rows]
    if cls is Outbox:  # a COPY the session does not see: wake the lanes of these rows
        for channel in {r.get("channel") or "*" for r in rows}:
            outbox_touched(s, channel)
    bind = s.connection()
    dialect = bind.dialect
    if dialect.name != "postgresql":
        # render_nulls: a None goes in as NULL rather than leaving its column out, so every
        # row has the same columns and all go in one executemany (the ORM's bulk INSERT
        # starts a new statement wherever the set of None-valued keys changes: one per row
        # for a batch's mixed events). The rows name every column that has a default.
        s.execute(insert(cls).execution_options(render_nulls=True), rows)
        return
    table = cls.__table__  # type: ignore[attr-defined]
    names = list(rows[0])
    processors = _binders(table, names, dialect)
    quote = dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    dbapi_connection = bind.connection.dbapi_connection
    cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([p(row[n]) if p is not None else row[n]
                                for n, p in zip(names, processors, strict=True)])
    except dialect.loaded_dbapi.Error as exc:
        # as SQLAlchemy raises a statement's error (a unique key: IntegrityError; a lost
        # connection: OperationalError), so callers tell a duplicate or an outage from a bug
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, dialect=dialect,
                                  connection_invalidated=dialect.is_disconnect(
                                      exc, dbapi_connection, cursor)) from exc
    finally:
        cursor.close()


def insert_on_conflict(s: Session, table: Any):
    """The database's own INSERT for `table`, which has ON CONFLICT (PostgreSQL's or
    SQLite's). PostgreSQL's dialect module is imported only where the database is
    PostgreSQL: on SQLite it cost every process 40 ms of start-up."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql
        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite
    return sqlite.insert(table)


def column_arrays(s: Session, cls: type, rows: list[dict[str, Any]], names: tuple[str, ...]
                  ) -> dict[str, list[Any]]:
    """The rows as one list a column (the arrays a PostgreSQL `unnest` reads), each value
    through its column's type as the ORM and `insert_rows` bind it (UTC times without
    their zone, JSON by the engine's serializer)."""
    binders = _binders(cls.__table__, names, s.get_bind().dialect)  # type: ignore[attr-defined]
    return {name: [process(r[name]) if process is not None else r[name] for r in rows]
            for name, process in zip(names, binders, strict=True)}


def _binders(table: Any, names: Sequence[str], dialect: Any) -> list[Callable[[Any], Any] | None]:
    """Each named column's bind step on this database (None: the value goes as it is),
    as SQLAlchemy applies it to a statement's parameters."""
    return [table.c[name].type._cached_bind_processor(dialect) for name in names]


@contextmanager
def staging(s: Session, name: str, key: str,
            write: Callable[[list[dict[str, Any]]], None]) -> Iterator[None]:
    """While the block runs, rows are staged in ``s.info[name]`` as (object, row) pairs
    (the object whose id the row takes under `key`, or None); when it ends without an
    exception they are numbered (`numbered`) and handed to `write` in the order they
    were staged, and on an exception dropped. Within an outer block of the same name,
    the outer one writes. Nothing in the block may read them back."""
    if name in s.info:
        yield
        return
    s.info[name] = []
    try:
        yield
    except BaseException:
        s.info.pop(name, None)
        raise
    write(numbered(s, s.info.pop(name), key))


def numbered(s: Session, staged: list[tuple[Any, dict[str, Any]]], key: str) -> list[dict[str, Any]]:
    """Rows staged beside the object they belong to (None: none), e.g. a batch's new
    ticket: each row with that object's id under `key`, the session flushed first when
    one of them has no id yet."""
    if any(obj is not None and obj.id is None for obj, _ in staged):
        s.flush()
    return [row if obj is None else {**row, key: obj.id} for obj, row in staged]
