"""bot/core/marks.py takes out what unicodedata.combining() names, as the loop it
replaced did: over every code point, in any order, and past its table's cap."""

from __future__ import annotations

import random
import unicodedata

from bot.core import marks
from bot.core.rules.facts import fold
from bot.core.search_text import fold as search_fold


def old(decomposed: str) -> str:
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def test_every_code_point_as_the_loop_did(monkeypatch):
    monkeypatch.setattr(marks, "_TABLE", marks._Marks())  # a fresh table: every lookup learns
    # the planes that have combining marks (0-2, 14), past the table's cap of 20,000
    points = [chr(cp) for cp in (*range(0x30000), *range(0xE0000, 0xE1000))
              if not 0xD800 <= cp < 0xE000]
    random.Random(7).shuffle(points)
    text = "".join(points)
    assert marks.without_marks(text) == old(text)
    assert len(marks._TABLE) == 20_000  # capped; the rest is still answered
    decomposed = unicodedata.normalize("NFKD", text[:50_000])
    assert marks.without_marks(decomposed) == old(decomposed)


def test_the_folds_that_use_it():
    assert fold("Beëindigen ŻÓŁĆ Kündigung") == "beeindigen zolc kundigung"
    assert search_fold("Żółć café Straße") == "zolc cafe strasse"
    assert marks.without_marks("plain ascii") == "plain ascii"
