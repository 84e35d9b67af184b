"""A long-running process starts with Python's cyclic garbage collector off (bot/cli.py),
and turns it back on once started, with what it built to start kept out of its passes
(bot/worker.py settle_heap). A test that serves in its own process keeps its collector
as it was."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest

import bot.cli
from bot.worker import settle_heap


@pytest.fixture
def collector():
    """The collector's state put back as it was, whatever the test did to it."""
    enabled, threshold, frozen = gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()
    yield
    if gc.get_freeze_count() > frozen:
        gc.unfreeze()
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()


def test_a_started_process_freezes_what_it_built_and_collects_again(collector):
    gc.disable()  # as bot/cli.py leaves it for `worker`
    before = gc.get_freeze_count()
    settle_heap()
    assert gc.isenabled()
    assert gc.get_freeze_count() > before  # this process's modules and objects


def test_a_collector_that_was_left_on_is_left_as_it_was(collector):
    gc.enable()
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    settle_heap()
    assert gc.isenabled()
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)


@pytest.mark.parametrize(("argv", "collecting"), [
    (["worker"], False), (["run"], False), (["web"], False), (["clock"], False),
    (["tickets"], True), (["--now", "2026-03-02T09:00", "show", "1"], True),
], ids=["worker", "run", "web", "clock", "tickets", "show"])
def test_only_long_running_commands_start_with_the_collector_off(collector, monkeypatch,
                                                                 argv, collecting):
    """Off from before the command's module is imported until it has started (here, the
    handler's call); on again when the command returns."""
    loaded, seen = [], []
    load = bot.cli.load
    monkeypatch.setattr(bot.cli, "load", lambda command: loaded.append(gc.isenabled())
                        or load(command))
    monkeypatch.setattr(bot.cli, "runner", lambda command, settings: SimpleNamespace(
        handle=lambda settings, args: seen.append(gc.isenabled()) or 0))
    gc.enable()
    assert bot.cli.main(argv) == 0
    assert loaded == [collecting] and seen == [collecting]
    assert gc.isenabled()


def test_a_start_that_fails_turns_the_collector_back_on(collector, monkeypatch):
    def refuse(settings, args):
        raise bot.cli.UserError("rules refused")

    monkeypatch.setattr(bot.cli, "runner", lambda command, settings: SimpleNamespace(handle=refuse))
    gc.enable()
    assert bot.cli.main(["worker"]) == 2
    assert gc.isenabled()
