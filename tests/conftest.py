"""Shared fixtures: real databases (SQLite and a private PostgreSQL), settings, a clock,
and desks with the shipped rules.yaml and one small customer directory."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.rules_file import load_rules
from bot.config import Settings
from bot.core.rules.schema import RuleSet
from bot.desk import customer_csv, jobs
from bot.desk.actor import Actor
from bot.desk.context import Desk
from bot.store.migrate import upgrade
from bot.store.models import make_engine, make_sessionmaker
from tests.support.servers import Postgres

REPO = Path(__file__).resolve().parent.parent  # the repository: rules.yaml, slack-manifest.yaml
RULES = REPO / "rules.yaml"  # the shipped rules
FIXTURES = REPO / "tests" / "fixtures"
MAIL_FIXTURES = FIXTURES / "mail"  # real-shaped mails
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam
HANG = 120  # seconds: a bound that only catches a hang; a slow machine must not fail a test

# The customer directory every desk test shares (`make_desk`, `desk`): a customer with an
# advisor and a phone number, one without an advisor, and a second advisor's customer.
CUSTOMERS = """\
company,domains,advisor,website_access,contact_name,contact_email,contact_phone
Bakkerij Jansen,bakkerij-jansen.nl,marta,yes,Jan Jansen,jan@bakkerij-jansen.nl,+31 6 1234 5678
Drukkerij Oost,drukkerij-oost.nl,,no,Olga Oost,olga@drukkerij-oost.nl,
Hotel Zee,hotelzee.nl,pieter,yes,Zeger Zee,zeger@hotelzee.nl,
"""
CONTRACTS = """\
contract,company,start,end,auto_renew,term_months,notice_months,status
C-100,Bakkerij Jansen,2026-01-01,2026-12-31,yes,12,1,active
C-200,Hotel Zee,2025-03-01,2027-02-28,yes,12,1,active
"""


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


# Migrating takes 0.2-0.5 s; a test's database is a copy of one migrated once per test
# process instead (tests/store/test_migrations.py runs the migrations themselves).
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("migrated") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres) -> str:
    name = "migrated_template"
    upgrade(postgres.create_database(name))  # upgrade() disposes its engine: no one stays connected
    return name


def migrated_sqlite(template: Path, path: Path) -> str:
    """A copy of the migrated template at `path` (SQLite's backup API: a consistent copy)."""
    with contextlib.closing(sqlite3.connect(template)) as src, \
            contextlib.closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """A migrated, empty database; every test using it runs on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return migrated_sqlite(request.getfixturevalue("sqlite_template"),
                               tmp_path / "ticketbot.sqlite3")
    template = request.getfixturevalue("postgres_template")
    return request.getfixturevalue("postgres").create_database(template=template)


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    return migrated_sqlite(sqlite_template, tmp_path / "ticketbot.sqlite3")


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


@functools.lru_cache(maxsize=64)
def checked_rules(text: str | None = None) -> RuleSet:
    """The shipped rules (or `text` checked in their place), checked once per test process
    and text: a RuleSet is frozen, and checking the shipped file takes 0.05-0.1 s."""
    return load_rules(RULES, text=text)


@pytest.fixture
def make_desk(settings, tmp_path):
    """Build desks on the test's database: `make_desk(start=START, rules_text=None,
    customers=CUSTOMERS, contracts=CONTRACTS, settings=None) -> Desk`.

    The desk has its own `Clock(start)` (`desk.clock`), the shipped rules.yaml (or
    `rules_text` checked in its place), and the directory imported through the desk as
    the operator; `customers=None` / `contracts=None` import nothing, e.g. for a second
    desk on the same database (a restarted process). `settings`: instead of the test's
    (e.g. with Slack configured), naming the same database. Every engine is disposed
    when the test ends."""
    default_settings = settings
    engines = []

    def make(start: datetime = START, rules_text: str | None = None,
             customers: str | None = CUSTOMERS, contracts: str | None = CONTRACTS,
             settings: Settings | None = None) -> Desk:
        chosen = settings or default_settings
        engine = make_engine(chosen.database_url)
        engines.append(engine)
        desk = Desk(chosen, make_sessionmaker(engine), clock=Clock(start),
                    rules=checked_rules(rules_text))
        for what, text in (("customers", customers), ("contracts", contracts)):
            if text is None:
                continue
            path = tmp_path / f"desk{len(engines)}-{what}.csv"
            path.write_text(text, encoding="utf-8")
            report = customer_csv.import_file(desk, OPERATOR, what, path)
            assert not report.rejected, report.rejected
        return desk

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def desk(make_desk) -> Desk:
    """A desk at START with the shipped rules and the shared directory."""
    return make_desk()


def fixture_mail(name: str) -> bytes:
    return (MAIL_FIXTURES / name).read_bytes()


def sweep_at(desk: Desk, when: datetime) -> dict[str, int]:
    """Move the desk's clock to `when` (never back) and sweep there, as the clock process
    would at that moment (a sweep ahead of the clock is refused)."""
    if when > desk.clock.now:  # type: ignore[attr-defined]
        desk.clock.now = when  # type: ignore[attr-defined]
    return jobs.sweep(desk, when)


_OWN_CACHE: list[str] = []


def pytest_configure(config):
    """The tests, and every process they start, keep their caches (the kind model's as
    loaded, bot/desk/context.py; matplotlib's font list) in a folder of this run's, not in
    the user's ~/.cache; pytest-xdist's workers inherit the controller's."""
    if os.environ.get("TICKETBOT_TESTS_CACHE_OF") == os.environ.get("XDG_CACHE_HOME", "-"):
        return
    folder = tempfile.mkdtemp(prefix="ticketbot-tests-cache-")
    os.environ["XDG_CACHE_HOME"] = os.environ["TICKETBOT_TESTS_CACHE_OF"] = folder
    _OWN_CACHE.append(folder)


def pytest_unconfigure(config):
    for folder in _OWN_CACHE:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected theirs
def pytest_collection_modifyitems(config, items):
    """TICKETBOT_TEST_SHARD=k/n keeps every n-th test from the k-th on: `make test-shifted`
    runs the suite as two plain pytest processes side by side (scripts/in-shards.sh), as
    pytest-xdist's workers do not start reliably under libfaketime."""
    shard = os.environ.get("TICKETBOT_TEST_SHARD")
    if not shard:
        return
    k, n = (int(part) for part in shard.split("/"))
    if not 1 <= k <= n:
        raise pytest.UsageError(f"TICKETBOT_TEST_SHARD={shard}: want k/n with 1 <= k <= n")
    config.hook.pytest_deselected(items=[item for i, item in enumerate(items) if i % n != k - 1])
    items[:] = [item for i, item in enumerate(items) if i % n == k - 1]
