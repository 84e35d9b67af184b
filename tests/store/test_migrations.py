"""The Alembic migrations produce exactly the schema the ORM models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.scheduler import JOBS_TABLE
from bot.store.migrate import alembic_config, head_revision, upgrade
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


def test_the_head_read_from_the_files_is_alembics(db_url):
    """bot/store/migrate.py reads the head revision from the migration files, so that a
    schema already at head is seen with one query, without importing Alembic."""
    heads = ScriptDirectory.from_config(alembic_config(db_url)).get_heads()
    assert [head_revision()] == heads
    assert upgrade(db_url)[1] == heads[0]
    assert upgrade(db_url) == (heads[0], heads[0])  # up to date: the fast path says so
