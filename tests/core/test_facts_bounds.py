"""facts._bounds and facts.quoted give exactly what the plain scans from the start of the
text gave (kept here as the reference), found by a binary search in matches computed once
per (pattern, text): a long text with many keywords costs no scan from its start per
keyword (the quadratic routing time a hostile sender could cause). Likewise the last words
of a clause (negated_right_before) and the context regex (in_context), each compared with
the code it replaced."""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path

from bot.adapters.rules_file import load_rules
from bot.core.mail.parse import parse_mail
from bot.core.rules import facts
from bot.core.rules.engine import route
from bot.core.rules.facts import Facts
from tests.conftest import REPO

PATTERNS = [facts._SENTENCE_END, facts._CLAUSE_END, facts._PARAGRAPH_END]
MAILS = sorted((REPO / "tests" / "fixtures" / "routing_holdout" / "mails").glob("*.eml"))


def old_bounds(text: str, start: int, end: int, rx: re.Pattern) -> tuple[int, int]:
    """The implementation before: a scan from the text's start for every keyword."""
    left = 0
    for m in rx.finditer(text, 0, start):
        left = m.end()
    after = rx.search(text, end)
    return left, (after.start() if after else len(text))


def old_quoted(text: str, start: int, end: int) -> str | None:
    p0, p1 = old_bounds(text, start, end, facts._PARAGRAPH_END)
    before = list(facts._QUOTE_MARKS.finditer(text, p0, start))
    if len(before) % 2 == 0:
        return None
    close = facts._QUOTE_MARKS.search(text, end, p1)
    if close is None:
        return None
    return f"quoted (somebody's words): {text[before[-1].start():close.end()][:120]!r}"


def check(text: str, spans) -> int:
    n = 0
    for start, end in spans:
        for rx in PATTERNS:
            assert facts._bounds(text, start, end, rx) == old_bounds(text, start, end, rx), \
                (rx.pattern, text, start, end)
        assert facts.quoted(text, start, end) == old_quoted(text, start, end), (text, start, end)
        n += 1
    return n


def every_span(text: str):
    return [(s, e) for s in range(len(text) + 1) for e in range(s, len(text) + 1)]


# where the left side's text[:start] differs from the whole text: a mark right before
# start, runs of marks across it, a text that starts or ends with marks, empty text
EDGES = ["", ".", "a", "a.", ".a", "a. b", "a.b", "a.\n", "a;\n;b", ";;\n\n;;", "a - b", "a -",
         " - ", "x...y", "x... y", "x...", "...x", "a\n\nb", "a\n \n b", "a\n\n\n\nb", "\n\n",
         " \n\n ", 'er "zegt dat" hij', 'a „b“ c «d» e', '"a', 'a"', '(a) "b, c" d',
         "Wenn das bis 31.12. nicht da ist: wir kündigen!", "Hoe lang? Tot 1-2 maanden – of meer.",
         "a:b: c:\td", "ja;\n;\n;nee", "a\r\n\r\nb", "a\xa0–\xa0b", "x!?!? y", "één. twee"]


def test_edge_texts_every_span():
    for text in EDGES:
        check(text, every_span(text))


def test_random_mark_texts_every_span():
    rng = random.Random(16)
    alphabet = "ab .!?:;,\n-–()\"„“”«» \t\r"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        check(text, every_span(text))


def spans_of(text: str) -> list[tuple[int, int]]:
    """Every word start and every place next to a mark or space (where the scans differ,
    if anywhere), with keyword-like ends, up to 120 places a text."""
    places = [i for i in range(len(text) + 1)
              if i == 0 or i == len(text) or not (text[i - 1].isalnum() and text[i].isalnum())]
    places = places[::max(1, len(places) // 120)]
    return [(s, min(len(text), s + s % 13)) for s in places]


def test_holdout_mails_same_bounds():
    """The folded and the as-written text (subject and body) of real mails: every fourth
    of the 1,319 holdout mails, over 10,000 spans of real text (all of them took 40 s of
    the suite; the edge texts and the random ones above take every span)."""
    n = 0
    for path in MAILS[::4]:
        msg = parse_mail(Path(path).read_bytes())
        f = Facts(subject=msg.subject or "", body=msg.visible_text or msg.text or "")
        for text in {f.folded("text"), f.as_written("text"), f.folded("body")}:
            n += check(text, spans_of(text))
    assert n > 10_000


def test_one_pass_per_pattern_and_text():
    """Structural: the matches of a text are found once per pattern, however many
    keywords ask for their sentence."""
    text = "If the invoice is not corrected we will cancel. " * 400
    facts._matches.cache_clear()
    for i in range(0, len(text), 7):
        for rx in PATTERNS:
            facts._bounds(text, i, i + 3, rx)
        facts.quoted(text, i, i + 3)
    info = facts._matches.cache_info()
    assert info.misses == 2 * len(PATTERNS) + 1  # each pattern's matches, its mark runs, the quotes
    assert info.hits > 1000


def test_last_words_as_all_words():
    """negated_right_before reads the last words of a clause back from the keyword, not
    the clause from its start: the same words as _words() of the whole clause."""
    rng = random.Random(15)
    alphabet = ["we", "don't", "niet", "’s", "x’y’z", "kündigen", " ", " ", "'", "’", ",", "\n", "-", "a1_b"]
    texts = EDGES + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(300)]
    texts.append("this is not urgent and no spam " * 50 + "don't" + "x" * 300 + " it'’s")
    for text in texts:
        step = 1 if len(text) <= 40 else len(text) // 15
        for lo in range(0, len(text) + 1, step):
            for hi in list(range(lo, len(text) + 1, step)) + [len(text)]:
                for n in (1, 3, 5):
                    assert facts._last_words(text, lo, hi, n) == facts._words(text[lo:hi])[-n:], \
                        (text, lo, hi, n)


def old_context_pattern(scopes: facts.Scopes) -> re.Pattern:
    """The context regex before: a word-start check in every alternative."""
    alts = []
    for phrase in scopes.context:
        stem = phrase.endswith("*")
        words = [re.escape(w) for w in phrase.rstrip("*").split()]
        if words:
            alts.append(r"(?<!\w)" + r"[\s-]+".join(words) + (r"\w*" if stem else r"(?!\w)"))
    return re.compile("|".join(alts))


def test_context_pattern_same_matches():
    """in_context's regex, one word-start check before the alternatives, finds what the
    check per alternative found: in the shipped scopes, over the holdout mails, in
    whole texts and in the windows in_context reads."""
    scopes = load_rules(REPO / "rules.yaml").scopes
    old, new = old_context_pattern(scopes), scopes.context_pattern
    assert new is not None and new.pattern != old.pattern
    n = 0
    for path in MAILS[::3]:
        msg = parse_mail(Path(path).read_bytes())
        text = Facts(subject=msg.subject or "", body=msg.visible_text or msg.text or "").folded("text")
        assert [m.span() for m in new.finditer(text)] == [m.span() for m in old.finditer(text)]
        for s in range(0, len(text), 17):
            lo, hi = max(0, s - 60), min(len(text), s + 66)
            assert [m.span() for m in new.finditer(text, lo, hi)] == [m.span() for m in old.finditer(text, lo, hi)]
            n += 1
    found = 0
    for phrase in scopes.context:  # each phrase as text: found alike
        words = facts.fold(phrase.rstrip("*"))
        text = f"x {words}ing y, -{words} z, q{words} w{words}"  # the last two inside a word
        spans = [m.span() for m in old.finditer(text)]
        assert [m.span() for m in new.finditer(text)] == spans
        found += bool(spans)
    assert n > 5000 and found > len(scopes.context) // 2


def old_keyword_pattern(words: list[str]) -> re.Pattern:
    """The keyword regex before: the words as alternatives, longest first."""
    starts = sorted({re.escape(facts.fold(w)) for w in words if not (w.startswith("*") and len(w) > 1)},
                    key=lambda w: (-len(w), w))
    ends = sorted({re.escape(facts.fold(w[1:])) for w in words if w.startswith("*") and len(w) > 1},
                  key=lambda w: (-len(w), w))
    parts = ([rf"(?<!\w)(?:{'|'.join(starts)})"] if starts else []) + ends
    return re.compile("|".join(parts) or r"(?!x)x")


def test_keyword_regexes_are_compiled_where_first_searched_once_per_list(monkeypatch):
    """Reading rules.yaml compiles no keyword list (a command that routes nothing does
    not pay for them); routing a mail compiles each list it searches, once, however
    many rules name it, and the same list in a rules file read again is not compiled
    again."""
    compiled: list[tuple[str, ...]] = []
    made = facts.keyword_pattern.__wrapped__
    cached = functools.lru_cache(maxsize=256)(lambda words: compiled.append(words) or made(words))
    monkeypatch.setattr(facts, "keyword_pattern", cached)
    rs = load_rules(REPO / "rules.yaml")
    assert compiled == []
    msg = parse_mail(b"From: a@example.nl\r\nSubject: Factuur klopt niet\r\n\r\n"
                     b"Ik wil mijn abonnement opzeggen. Bel me maar.\r\n")
    mail = Facts(subject=msg.subject or "", body=msg.text or "", from_addr=msg.from_addr or "")
    assert route(rs, mail).kind == "cancellation"
    n = len(compiled)
    assert n > 5 and len(set(compiled)) == n
    route(load_rules(REPO / "rules.yaml"), mail)
    assert len(compiled) == n
    route(rs, Facts(subject="x", body="y"))  # every rule tried: the rest, each once
    assert len(compiled) > n + 10 and len(set(compiled)) == len(compiled)


def old_trie_pattern(words: set[str]) -> str:
    """The trie's text as it was first written: one level of the recursion a character."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def branches(node: dict) -> str:
        alts = [re.escape(ch) + branches(node[ch]) for ch in sorted(node) if ch]
        if not alts:
            return ""
        group = alts[0] if len(alts) == 1 and "" not in node else f"(?:{'|'.join(alts)})"
        return group + "?" if "" in node else group

    return f"(?:{branches(trie)})"


def test_the_trie_is_written_as_it_was(monkeypatch):
    """_trie_pattern writes runs of single branches at once: the very same regex text as
    one character a level, for the shipped rules' lists and for random ones (prefixes of
    each other, regex metacharacters, ß, İ, an empty word)."""
    lists: list[list[str]] = []
    lazy = facts.lazy_keyword_pattern
    monkeypatch.setattr(facts, "lazy_keyword_pattern", lambda words: lists.append(list(words)) or lazy(words))
    load_rules(REPO / "rules.yaml")
    sets = [{facts.fold(w.lstrip("*")) for w in words} - {""} for words in lists]
    rng = random.Random(7)
    alphabet = "abcab.*+?()[]|\\ßİé- "
    for _ in range(2000):
        sets.append({"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
                     for _ in range(rng.randint(1, 12))})
    for words in sets:
        assert facts._trie_pattern(words) == old_trie_pattern(words), sorted(words)[:5]


def test_keyword_trie_same_matches(monkeypatch):
    """keyword_pattern writes a word list as a trie: it finds what the alternatives
    longest first found (the same places, the same longest word), for every word list
    of the shipped rules, over a tenth of the holdout mails and over texts made of the
    words themselves (alone, as prefixes, inside words, run together)."""
    lists: list[list[str]] = []
    lazy = facts.lazy_keyword_pattern
    monkeypatch.setattr(facts, "lazy_keyword_pattern", lambda words: lists.append(list(words)) or lazy(words))
    load_rules(REPO / "rules.yaml")
    assert len(lists) > 20 and sum(map(len, lists)) > 1000
    pairs = [(facts.keyword_pattern(tuple(words)), old_keyword_pattern(words)) for words in lists]
    assert sum(new.pattern != old.pattern for new, old in pairs) > 20  # one word: the same regex
    texts = []
    for path in MAILS[::10]:
        msg = parse_mail(Path(path).read_bytes())
        texts.append(Facts(subject=msg.subject or "", body=msg.visible_text or msg.text or "").folded("text"))
    rng = random.Random(42)
    for words in lists:
        plain = [facts.fold(w.lstrip("*")) for w in words]
        texts.append(" ".join(plain) + " " + " ".join(w + w[:3] for w in plain)  # longer words
                     + " x" + "x".join(plain) + " " + "".join(w[:-1] for w in plain if len(w) > 1))
        texts.append(" ".join(rng.choice(plain)[:rng.randint(1, 12)] for _ in range(200)))
    found = 0
    for text in texts:
        for new, old in pairs:
            spans = [(m.span(), m.group(0)) for m in old.finditer(text)]
            assert [(m.span(), m.group(0)) for m in new.finditer(text)] == spans, (old.pattern[:60], text[:80])
            found += len(spans)
    assert found > 10_000
