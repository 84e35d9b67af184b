"""Full-text search, the text side: words, stems and queries, the same for SQLite and
PostgreSQL (the databases only match the stemmed words they are given).

A ticket's words are stemmed once, in Python, by the ticket's language (Snowball's
Dutch, English and Polish; `snowballstemmer`), then folded (lower case, diacritics
removed: "café" is "cafe"); the index keeps those stems. A word searched for does not
know its language, so it matches any of its stems (Dutch, English, Polish) or itself:
"facturen" finds "factuur", "invoices" finds "invoice", "faktury" finds "fakturę".
Both databases are given the same stems, so they find the same tickets.

A query is words (all must be there), "a phrase in quotes" (those words in a row) and
`prefix*` (a word beginning so). Anything else (quotes, FTS operators such as NEAR, OR,
-, ^, :, parentheses) is text: only the words in it are searched for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from bot.core.marks import without_marks

# a ticket's language -> its Snowball stemmer; other languages: words unstemmed
STEMMERS = {"nl": "dutch", "en": "english", "pl": "polish"}
MAX_TERMS = 8  # words, phrases and prefixes of one query; the rest is ignored
MAX_WORD = 60  # longer "words" (base64, URLs) are cut: nobody searches for them whole
MIN_PREFIX = 2  # `a*` would match half the index

_WORD = re.compile(r"[^\W_]+")
_TERM = re.compile(r'"([^"]*)"?|(\S+)')


@lru_cache(maxsize=8)
def _stemmer(language: str):
    return snowballstemmer.stemmer(language)


def fold(text: str) -> str:
    """Lower case without diacritics ("Żółć" -> "zolc"); ł and ø too."""
    text = text.lower().replace("ł", "l").replace("ø", "o").replace("ß", "ss")
    if text.isascii():
        return text
    return without_marks(unicodedata.normalize("NFKD", text))


def words(text: str) -> list[str]:
    """The words of a text, lower case (diacritics kept: the stemmers need them)."""
    return [w[:MAX_WORD] for w in _WORD.findall(text.lower())]


@lru_cache(maxsize=200_000)
def stem(word: str, language: str | None) -> str:
    """One lower-case word as the index keeps it in a text of `language`."""
    name = STEMMERS.get(language or "")
    stemmed = _stemmer(name).stemWord(word) if name else word
    return "".join(_WORD.findall(fold(stemmed))) or fold(word)


@lru_cache(maxsize=50_000)
def variants(word: str) -> tuple[str, ...]:
    """What one searched word may be in the index: its stem in each language, or itself."""
    found = [stem(word, lang) for lang in STEMMERS] + ["".join(_WORD.findall(fold(word)))]
    return tuple(dict.fromkeys(v for v in found if v))


def index_text(text: str, language: str | None) -> str:
    """The text as the index keeps it: its stems, in order, separated by spaces."""
    return " ".join(stem(w, language) for w in words(text))


@dataclass
class Query:
    """A parsed search: each term is one of words / a phrase / a prefix, all required."""

    words: list[tuple[str, ...]] = field(default_factory=list)  # each word's variants
    phrases: list[list[str]] = field(default_factory=list)  # the words of each phrase
    prefixes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases or self.prefixes)


def parse(text: str) -> Query:
    """Words, "phrases" and prefix* from what someone typed; everything else is text."""
    q = Query()
    n = 0
    for m in _TERM.finditer(text):
        if n >= MAX_TERMS:
            break
        if m.group(1) is not None:  # a phrase (an unclosed quote runs to the end)
            ws = words(m.group(1))
            if len(ws) > 1:
                q.phrases.append(ws[:MAX_TERMS])
                n += 1
                continue
            raw = m.group(1)
        else:
            raw = m.group(2)
        ws = words(raw)
        if len(ws) == 1 and raw.endswith("*") and len(fold(ws[0])) >= MIN_PREFIX \
                and raw.rstrip("*").lower().endswith(ws[0]):
            q.prefixes.append("".join(_WORD.findall(fold(ws[0]))))
            n += 1
            continue
        for w in ws:  # "e-mail", "2026-114": each part
            if n >= MAX_TERMS:
                break
            q.words.append(variants(w))
            n += 1
    return q


def _fts5_alternatives(vs: tuple[str, ...]) -> str:
    return vs[0] if len(vs) == 1 else "(" + " OR ".join(vs) + ")"


def fts5_match(q: Query) -> str:
    """The query as an SQLite FTS5 MATCH expression (every token quoted: the query's own
    operators cannot get through, the tokens are only letters and digits anyway)."""
    parts = [_fts5_alternatives(tuple(f'"{v}"' for v in vs)) for vs in q.words]
    for phrase in q.phrases:
        spellings = _phrase_spellings(phrase)
        parts.append("(" + " OR ".join('"' + " ".join(s) + '"' for s in spellings) + ")")
    parts.extend(f'"{p}"*' for p in q.prefixes)
    return " AND ".join(parts)


def tsquery(q: Query) -> str:
    """The query as PostgreSQL tsquery text for `to_tsquery('simple', ...)` (lexemes quoted)."""
    def lex(v: str) -> str:
        return "'" + v.replace("'", "''").replace("\\", "\\\\") + "'"

    parts = ["(" + " | ".join(lex(v) for v in vs) + ")" for vs in q.words]
    for phrase in q.phrases:
        spellings = _phrase_spellings(phrase)
        parts.append("(" + " | ".join("(" + " <-> ".join(lex(v) for v in s) + ")"
                                      for s in spellings) + ")")
    parts.extend(lex(p) + ":*" for p in q.prefixes)
    return " & ".join(parts)


def _phrase_spellings(phrase: list[str]) -> list[tuple[str, ...]]:
    """A phrase as the index may hold it: stemmed in one language throughout (each of
    ours), or unstemmed."""
    out: list[tuple[str, ...]] = []
    for lang in (*STEMMERS, None):
        spelled = tuple(stem(w, lang) for w in phrase)
        if spelled not in out:
            out.append(spelled)
    return out
