"""Combining marks taken out of a decomposed (NFKD) text: "é" is "e" and U+0301, the
mark goes. The folding of routing's keywords (bot/core/rules/facts.py) and of the
search index (bot/core/search_text.py) both do it, for every word of every mail.

str.translate with a table that learns each character the first time it meets it: the
same characters unicodedata.combining() names, at C speed (a Python loop over the
characters took a fifth of routing's time read ahead: docs/performance.md)."""

from __future__ import annotations

import unicodedata


class _Marks(dict):
    """code point -> None (a combining mark: dropped) or itself (kept), filled on demand."""

    def __missing__(self, cp: int) -> int | None:
        kept = None if unicodedata.combining(chr(cp)) else cp
        if len(self) < 20_000:  # a hostile text of every code point fills no more than this (~1 MB)
            self[cp] = kept
        return kept


_TABLE = _Marks()


def without_marks(decomposed: str) -> str:
    """The text without its combining marks (give it NFKD-normalized)."""
    return decomposed if decomposed.isascii() else decomposed.translate(_TABLE)
