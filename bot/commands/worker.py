"""`ticketbot worker`, the Procfile's worker: IMAP and SMTP intake and the outbox sender
(bot/worker.py), without importing the web face, Slack's listeners or the clock, so that
it starts sooner. With Slack in Socket Mode the worker also runs Slack's listeners: then
bot/commands/run.py (the whole bot/app.py) runs it instead (`instead`, bot/cli.py)."""

from __future__ import annotations

import argparse

from bot.config import Settings
from bot.worker import serve


def instead(settings: Settings) -> str | None:
    """The command module that runs `worker` for these settings, when not this one."""
    return "bot.commands.run" if settings.slack_mode == "socket" else None


def cmd_worker(settings: Settings, args) -> int:
    return serve(settings, ("worker",))


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    """No arguments."""


handle = cmd_worker
