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


def test_charset_detection_cost_counts_the_mails_that_reach_the_detector(monkeypatch):
    """Undeclared 8-bit bodies and subjects reach charset-normalizer (two calls a mail);
    generated mails, all declared, never do. A detector that burns 5 ms a call shows as
    that much CPU alone."""
    import bot.core.mail.charsets as charsets_module

    reached, calls, alone, parsing = bench_parse.charset_detection_cost(bench_parse.undeclared_mails(1))
    assert (reached, calls) == (4, 8)
    assert 0 < alone < parsing
    assert bench_parse.charset_detection_cost(corpus(12))[:2] == (0, 0)
    real = charsets_module.detect

    def slow(data: bytes):
        start = time.process_time()
        while time.process_time() - start < 0.005:
            pass
        return real(data)

    monkeypatch.setattr(charsets_module, "detect", slow)
    reached, calls, alone, parsing = bench_parse.charset_detection_cost(bench_parse.undeclared_mails(1))
    assert charsets_module.detect is slow  # put back afterwards
    assert alone >= 0.005 * calls
