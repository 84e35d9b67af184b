"""`python -m bench --only parse`: parse_mail alone, one process, no database.

Two corpora: the generated one (what `imap` and `smtp` ingest) and the real-world
corpus of tests/fixtures/realworld (charset repairs, detector calls, odd structures).
Each is parsed three times; the best run counts (the machine's noise only slows).
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.core.mail.parse import parse_mail

REALWORLD = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "realworld" / "mails"


def realworld_mails() -> list[bytes]:
    return [p.read_bytes() for p in sorted(REALWORLD.rglob("*.eml"))]


def rate(mails: list[bytes], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for raw in mails:
            parse_mail(raw)
        best = min(best, time.perf_counter() - start)
    return len(mails) / best


def rows_for(generated: list[bytes]) -> list[tuple[str, str, str]]:
    real = realworld_mails()
    return [
        (f"parse_mail, generated corpus ({len(generated):,} mails, one core)", f"{rate(generated):,.0f} mails/s", ""),
        (f"parse_mail, real-world corpus ({len(real)} mails, one core)", f"{rate(real):,.0f} mails/s", ""),
    ]
