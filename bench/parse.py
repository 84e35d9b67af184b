"""`python -m bench --only parse`: parse_mail alone, one process, no database.

Two corpora: the generated one (what `imap` and `smtp` ingest) and the real-world
corpus of tests/fixtures/realworld (charset repairs, detector calls, odd structures).
Each is parsed three times; the best run counts (the machine's noise only slows).

Language detection's cost (issue 13: it must not slow intake by more than 5 %): each
corpus parsed with and without it, in interleaved pairs, on the process's CPU time (a
shared, loaded machine moves wall time by more than the difference), best run of each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import bot.core.mail.parse as parse_module
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


def _no_detection(text: str, default: str | None = None) -> str | None:
    return default


def _cpu(mails: list[bytes]) -> float:
    start = time.process_time()
    for raw in mails:
        parse_mail(raw)
    return time.process_time() - start


def detection_cost(mails: list[bytes], pairs: int = 3) -> tuple[float, float, float]:
    """(CPU seconds parsing with language detection, without, in detection itself): the
    best of ``pairs`` interleaved runs each (with/without, then without/with, ...); the
    last is ``detect_language`` timed alone on the very texts the parser gave it (steadier
    than the difference of the first two on a loaded machine)."""
    real: Callable[..., str | None] = parse_module.detect_language
    texts: list[str] = []

    def recording(text: str, default: str | None = None) -> str | None:
        texts.append(text)
        return real(text, default)

    best = {True: float("inf"), False: float("inf")}
    try:
        parse_module.detect_language = recording
        _cpu(mails)
        for i in range(pairs):
            for detect in ((True, False) if i % 2 == 0 else (False, True)):
                parse_module.detect_language = real if detect else _no_detection
                best[detect] = min(best[detect], _cpu(mails))
    finally:
        parse_module.detect_language = real
    alone = float("inf")
    for _ in range(pairs):
        start = time.process_time()
        for text in texts:
            real(text)
        alone = min(alone, time.process_time() - start)
    return best[True], best[False], alone


def rows_for(generated: list[bytes]) -> list[tuple[str, str, str]]:
    real = realworld_mails()
    rows = [
        (f"parse_mail, generated corpus ({len(generated):,} mails, one core)", f"{rate(generated):,.0f} mails/s", ""),
        (f"parse_mail, real-world corpus ({len(real)} mails, one core)", f"{rate(real):,.0f} mails/s", ""),
    ]
    for name, mails in (("generated", generated), ("real-world", real)):
        with_, without, alone = detection_cost(mails)
        rates = f"{len(mails) / with_:,.0f} / {len(mails) / without:,.0f} mails/s"
        rows.append((f"  with / without language detection, {name} (CPU, interleaved)",
                     f"{rates} ({(with_ - without) / without:+.1%})", "<= +5 %"))
        rows.append((f"  language detection alone, {name} ({alone / len(mails) * 1e6:.0f} us a mail)",
                     f"{alone / with_:.1%} of parse CPU", "<= 5 %"))
    return rows
