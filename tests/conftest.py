"""Shared fixtures: real databases (SQLite and a private PostgreSQL), settings, a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.desk.actor import Actor
from bot.desk.context import Desk
from bot.store.migrate import upgrade
from bot.store.models import make_engine, make_sessionmaker
from tests.servers import Postgres

FIXTURES = Path(__file__).parent / "fixtures"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


OPERATOR = Actor.operator("test")  # the command line: trusted


def who(desk: Desk, key: str) -> Actor:
    """The operator acting as `key` (a person of the desk's rules when there is one)."""
    return Actor.operator(key, desk.ruleset.people.get(key))


class Clock:
    """An injected clock: tests move time explicitly."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    with Postgres(tmp_path_factory.mktemp("postgres")) as pg:
        yield pg


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """A migrated, empty database; every test using it runs on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/ticketbot.sqlite3"
    else:
        url = request.getfixturevalue("postgres").create_database()
    upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path}/ticketbot.sqlite3"
    upgrade(url)
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return make_settings(db_url, tmp_path)


def make_settings(db_url: str, tmp_path: Path, **kw) -> Settings:
    base = {"database_url": db_url, "address": "support@desk.example", "address_name": "Sales Support",
                "own_addresses": ("noreply@desk.example",), "domains": ("desk.example",),
                "mail_dir": tmp_path / "outgoing", "default_language": "en", "parse_workers": 1}
    base.update(kw)
    return Settings(**base)


@pytest.fixture
def service(settings, clock):
    engine = make_engine(settings.database_url)
    svc = Desk(settings, make_sessionmaker(engine), clock=clock)
    yield svc
    engine.dispose()


def fixture_mail(name: str) -> bytes:
    return (FIXTURES / "mail" / name).read_bytes()
