"""`ticketbot backup FILE`: a consistent copy of a SQLite database while the bot runs.

SQLite's online backup API copies page by page inside read transactions, so the copy is
one committed state even while the worker writes (WAL mode). PostgreSQL has its own
tools (pg_dump, base backups); the bot does not wrap them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """Why no backup was made, in one line for the operator."""


def backup(url: str, dest: Path) -> int:
    """Copy the database at `url` into the new file `dest`; returns its size in bytes."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError("the database is PostgreSQL: back it up with its own tools, e.g. "
                          f"pg_dump --format=custom --file={dest} DBNAME")
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    source = Path(parsed.database)
    if not source.is_file():
        raise BackupError(f"{source}: no such database file")
    if dest.exists():
        raise BackupError(f"{dest} exists already; name a new file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()
    return dest.stat().st_size
