"""What runs in a parser process of the intake (bot/desk/pipeline.py): parse one mail,
and leave when the bot that started the process is gone.

It imports the mail parser and nothing else, so a parser process starts in a fraction of
a second and stays small: the bot's other modules (the database layer, Flask, Slack
Bolt) are never loaded there.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace

from bot.core.mail.prepare import Prepared, prepare


def prepare_light(raw: bytes, source: str, own: tuple[str, ...]) -> Prepared:
    """Parse, then drop the bytes (the parent has them) to halve IPC."""
    p = prepare(raw, source, own)
    if p.message is not None:
        p.message.raw = None
    return replace(p, raw=b"")


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
