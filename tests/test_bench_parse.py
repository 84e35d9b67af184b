"""bench/parse.py's measure of language detection's cost (issue 13: at most +5 %)."""

from __future__ import annotations

import time

import bot.core.mail.parse as parse_module
from bench import parse as bench_parse
from tests.support.mailgen import corpus

SPIN = 0.02  # seconds of CPU the stand-in detector burns a call (ten parses of a mail)


def _slow_detector(text: str, default: str | None = None) -> tuple[str | None, str]:
    start = time.process_time()
    while time.process_time() - start < SPIN:
        pass
    return "nl", "stopwords"


def test_detection_cost_tells_what_detection_costs(monkeypatch):
    """A detector that burns 20 ms of CPU a mail shows as about 20 ms a mail between the
    parse with and without it, and in the time taken by detection alone."""
    mails = corpus(12)
    monkeypatch.setattr(parse_module, "detect_language_explained", _slow_detector)
    with_, without, alone = bench_parse.detection_cost(mails, reps=2)
    assert parse_module.detect_language_explained is _slow_detector  # put back afterwards
    per_mail = (with_ - without) / len(mails)
    assert SPIN * 0.8 <= per_mail <= SPIN * 2
    assert alone >= SPIN * len(mails)
