"""`ticketbot run`, and the Procfile's parts one by one: worker, web, clock."""

from __future__ import annotations

import argparse

from bot.app import PARTS, run_forever
from bot.config import Settings


def cmd_run(settings: Settings, args) -> int:
    return run_forever(settings, PARTS if args.command == "run" else (args.command,))


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    """No arguments."""


handle = cmd_run
