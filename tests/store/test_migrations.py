"""The Alembic migrations produce exactly the schema the ORM models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.scheduler import JOBS_TABLE
from bot.store.migrate import upgrade
from bot.store.models import Base, make_engine, modelled


def test_migrations_match_models(db_url):
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "compare_type": False,
                "include_name": lambda name, type_, parents: modelled(name, type_) and not (
                    type_ == "table" and name == JOBS_TABLE)})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
