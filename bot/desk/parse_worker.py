"""What runs in a parser process of the intake (bot/desk/pipeline.py): parse one mail,
read its routing ahead (bot/core/rules/ahead.py), and leave when the bot that started
the process is gone.

It imports the mail parser and the pure rules (bot/core) and nothing else, so a parser
process starts in a fraction of a second and stays small: the bot's other modules (the
database layer, Flask, Slack Bolt) are never loaded there.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.core.mail.prepare import Prepared, prepare

if TYPE_CHECKING:  # the rules are imported by the parser processes, not their forkserver
    from bot.core.rules.ahead import Sources


def prepare_light(raw: bytes, source: str, own: tuple[str, ...],
                  sources: Sources | None = None) -> Prepared:
    """Parse, read its routing ahead (`sources`: the desk's rules), then drop
    the bytes (the parent has them) to halve IPC."""
    p = prepare(raw, source, own)
    if p.message is not None:
        if sources is not None:
            from bot.core.rules.ahead import read_ahead
            p.ahead = read_ahead(p.message, sources)
        p.message.raw = None
    return replace(p, raw=b"")


def warm(sources: Sources | None) -> int:
    """Read the desk's rules now (the worker's start-up, beside its IMAP login),
    not when the first mail is read ahead. The process id: which process this reached."""
    if sources is not None:
        from bot.core.rules.ahead import hold
        hold(sources)
    return os.getpid()


def die_with(parent: int, every: float = 1.0) -> None:
    """Exit when the bot that started the pool is gone (killed with -9, its pipes never
    closed), instead of lingering as an orphan."""
    def watch() -> None:
        while not threading.Event().wait(every):
            try:
                os.kill(parent, 0)
            except (ProcessLookupError, PermissionError):  # gone (or its pid reused)
                os._exit(0)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
