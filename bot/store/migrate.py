"""`ticketbot db upgrade`: Alembic, driven from code so no alembic.ini is needed.

Every command brings the schema up to date first (open_desk). When it already is, one
query says so and Alembic is not even imported (~0.1-0.3 s of every `ticketbot` start):
the head revision is read from the migration files themselves."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from bot.store.models import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^revision\s*(?::[^=\n]*)?=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=\n]*)?=\s*(.+)$", re.M)


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # late: see the module's docstring

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision, from the files in migrations/versions (None if
    they do not name exactly one head: then Alembic decides)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if rev is None or down is None:
            return None
        revisions.add(rev.group(1))
        downs.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def _stamped(conn: Connection) -> str | None:
    """The database's one revision (None: none yet, or more than one)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to `revision`; returns the revision before (None: a new database)
    and after, so the caller can say which of the three happened."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            stamped = _stamped(conn)
            if stamped is not None and stamped == (head_revision() if revision == "head" else revision):
                return stamped, stamped  # up to date: no need for Alembic
            return _alembic_upgrade(conn, url, revision)
    finally:
        engine.dispose()


def _alembic_upgrade(conn: Connection, url: str, revision: str) -> tuple[str | None, str | None]:
    from alembic import command  # late: see the module's docstring
    from alembic.runtime.migration import MigrationContext

    before = MigrationContext.configure(conn).get_current_revision()
    cfg = alembic_config(url)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)
    after = MigrationContext.configure(conn).get_current_revision()
    return before, after
