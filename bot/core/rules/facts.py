"""What routing may look at about one message, folded for keyword tests."""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.core.marks import without_marks


# --------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class Facts:
    """What routing may look at, about one new message and its sender."""

    from_addr: str = ""
    to: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    attachments: tuple[tuple[str, str], ...] = ()  # (file name, content type)
    # the text of attached letters (PDF), each after a "[file name]" line: the
    # `attachments` text part, apart from the customer's own body
    attachment_text: str = ""
    channel: str = "mail"
    language: str | None = None
    customer: str = "unknown"  # known | unknown | prospect
    company: str | None = None
    advisor: str | None = None  # person key of the company's advisor
    automatic: str = ""  # why the mail is automatic (auto-reply, bulk, list...), "" if a person wrote it
    reply: bool = False  # an answer to an earlier mail (In-Reply-To, or a Re:/AW:/Odp: subject)
    # a forward (FW:/Fwd:/PD:/WG: subject) of a message from another domain than the
    # sender's: that message's address, else "" (the sender forwarding their own letter)
    forwards_other: str = ""

    @property
    def from_domain(self) -> str:
        return self.from_addr.rpartition("@")[2].lower()

    @property
    def memo(self) -> dict[int, bool | str] | None:
        """The answers of the rules' message conditions, by their place in
        RuleSet.message_leaves (filled as they are asked), once remember() gave one: a
        parser process's answers, read ahead (rules/ahead.py). None: every condition asks
        the text each time. Not a field: dataclasses.replace() of other facts drops it."""
        return self.__dict__.get("_memo")

    def remember(self, memo: dict[int, bool | str]) -> Facts:
        self.__dict__["_memo"] = memo
        return self

    def standing(self, customer: str, company: str | None, advisor: str | None) -> Facts:
        """The same message from a sender of another standing in the directory: its
        unwrapped and folded texts shared, not made again (no memo)."""
        other = replace(self, customer=customer, company=company, advisor=advisor)
        other.__dict__.update((k, v) for k, v in self.__dict__.items()
                              if k.startswith("_") and k != "_memo")
        return other

    def as_written(self, part: str) -> str:
        """Subject, body, text or attachments as the writer typed them: unwrap()ped, so a
        line break the mail program put in mid-sentence ends no sentence. Once per message."""
        cache = self.__dict__.setdefault("_as_written", {})
        if part not in cache:
            # the subject is a line of its own, never the start of the body's sentence
            cache[part] = f"{self.subject}\n{self.as_written('body')}" if part == "text" \
                else unwrap(_TEXT[part](self))
        return cache[part]

    def folded(self, part: str) -> str:
        """fold() of as_written(part), computed once per message."""
        cache = self.__dict__.setdefault("_folded", {})
        if part not in cache:
            cache[part] = fold(self.as_written(part))
        return cache[part]


def fold(text: str) -> str:
    """Lower case without accents: 'Beëindigen' and 'beeindigen' compare equal."""
    return without_marks(unicodedata.normalize("NFKD", text.casefold())).replace("ł", "l")


# A line break inside a sentence: the previous line is long (a mail program wraps plain
# text at 70-78 characters; an HTML <br> in a paragraph) and ends without a sentence mark,
# and the next line goes on in lower case ("If the second\none is not back by Friday we
# will be terminating", "Wenn das bis Mittwoch nicht korrigiert ist,\nkündigen wir").
# A greeting ("Hallo,\nals de factuur ..."), a signature, a list or a quoted line keeps its
# break: short, or the next line starts otherwise.
# CRLF (a web form's textarea, a pasted letter) and a no-break space (HTML) as well.
_SOFT_BREAK = re.compile(r"(?<=[^\s.!?:;])[ \t\xa0]*\r?\n(?=[ \t\xa0]*(\w))")
_WRAPPED_LINE = 40
# no sentence is joined past this many characters: a text without any sentence mark is not
# made one sentence (every keyword in it would be checked against all of it, per keyword)
_JOINED_MAX = 2000
# English "I" goes on a wrapped sentence as a lower-case word does ("If the money is not
# back by Friday\nI will cancel the contract")
_ENGLISH_I = re.compile(r"I(?:['’]\w+)?(?!\w)")


def unwrap(text: str) -> str:
    """text with each soft line break (above) turned into a space, same length."""
    if "\n" not in text:
        return text
    out = list(text)
    joined_from = 0  # where the lines joined so far begin
    for m in _SOFT_BREAK.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if line_start > joined_from and out[line_start - 1] == "\n":
            joined_from = line_start  # the break before this line was kept
        line = text[line_start:m.start()].strip()
        if len(line) >= _WRAPPED_LINE and not line.startswith(">") \
                and (m.group(1).islower() or _ENGLISH_I.match(text, m.start(1))) \
                and m.start() - joined_from < _JOINED_MAX:
            out[m.end() - 1] = " "  # the break itself
            if text[m.end() - 2] == "\r":
                out[m.end() - 2] = " "
    return "".join(out)


class Miss(str):
    """A condition that does not hold, with the reason shown by --explain (a keyword
    found only where it is negated or conditional). False in a boolean test."""

    def __bool__(self) -> bool:
        return False


@dataclass(frozen=True)
class Scopes:
    """Words that take a keyword out of what the customer states (rules.yaml `scopes`):
    a negation near it in its clause ("wir kündigen nicht", "NIE rezygnujemy"), a
    condition opening its sentence ("als de factuur niet gecorrigeerd wordt, zeggen we
    op"), or hearsay and hypotheses in its sentence ("das Gerücht, wir würden kündigen").
    All folded; each list is the union over the languages of the file."""

    negation: tuple[str, ...] = ()
    condition: tuple[str, ...] = ()
    hypothetical: tuple[str, ...] = ()
    context: tuple[str, ...] = ()  # phrases a keyword inside is about something else
    before: int = 3  # words before a keyword a negation reaches
    after: int = 2  # words after it ("wir kündigen nicht", "wij zeggen niet op")

    @property
    def context_pattern(self) -> re.Pattern | None:
        """One regex for the context phrases: words apart by spaces or hyphens, a final
        "*" a word start ("noise cancel*" finds "noise-cancelling"). Each phrase starts a
        word: one check for that before the alternatives (the same matches as a check per
        alternative, many times faster in the window in_context reads per keyword)."""
        cache = self.__dict__.setdefault("_context_rx", {})
        if "rx" not in cache:
            alts = []
            for phrase in self.context:
                stem = phrase.endswith("*")
                words = [re.escape(w) for w in phrase.rstrip("*").split()]
                if words:
                    alts.append(r"[\s-]+".join(words) + (r"\w*" if stem else r"(?!\w)"))
            cache["rx"] = re.compile(r"(?<!\w)(?:" + "|".join(alts) + ")") if alts else None
        return cache["rx"]


_SENTENCE_END = re.compile(r"[.!?:]+(?=\s|$)|[;\n]+|\s[-–]\s")
_CLAUSE_END = re.compile(r"[.!?:]+(?=\s|$)|[;,\n()\"„“”]+|\s[-–]\s")
_PARAGRAPH_END = re.compile(r"\n\s*\n")
_WORD = re.compile(r"\w+(?:['’]\w+)*")


# Runs of the characters a match of a bounds pattern may contain or an attempt to match
# may read on (marks, quotes, brackets, dashes, white space): an attempt never reads past
# a character outside them (a letter, a digit, most symbols). See _bounds.
_MARK_RUN = {
    _SENTENCE_END: re.compile(r"[.!?:;\n\s\-–]+"),
    _CLAUSE_END: re.compile(r"[.!?:;,\n()\"„“”\s\-–]+"),
    _PARAGRAPH_END: re.compile(r"\s+"),
}


@functools.lru_cache(maxsize=32)
def _matches(rx: re.Pattern, text: str) -> tuple[list[int], list[int]]:
    """Once per (pattern, text): the starts and the ends of rx's matches in the whole text."""
    starts, ends = [], []
    for m in rx.finditer(text):
        starts.append(m.start())
        ends.append(m.end())
    return starts, ends


def _bounds(text: str, start: int, end: int, rx: re.Pattern) -> tuple[int, int]:
    """The stretch around text[start:end] between two matches of rx (a sentence, a
    clause, a paragraph): (the end of the last match in text[:start], the start of the
    first match from `end` on in the whole text, else len(text)). A binary search in the
    matches of the whole text (_matches), not a scan from the text's start per keyword.

    Exactly what `rx.finditer(text, 0, start)` and `rx.search(text, end)` give. The left
    side reads text[:start] alone, where "$" holds at `start` and a run of marks stops
    there, so a match may differ from the whole text's near `start`: the whole text's
    matches are taken up to the last character q before `start` outside the mark runs
    (_MARK_RUN: every attempt to match that starts up to q ends there, so both scans
    agree up to q), the rest (white space and marks, short) rescanned as text[:start].
    The right side: the whole text's first match from `end`, unless `end` lies inside
    one of its matches, where a match may start too (tried place by place)."""
    starts, ends = _matches(rx, text)
    q = start - 1  # the last character before start outside every mark run
    run_starts, run_ends = _matches(_MARK_RUN[rx], text)
    i = bisect.bisect_right(run_starts, q) - 1
    if i >= 0 and run_ends[i] > q:
        q = run_starts[i] - 1
    j = bisect.bisect_right(starts, q) - 1
    left = ends[j] if j >= 0 else 0
    for m in rx.finditer(text, q + 1, start):
        left = m.end()
    k = bisect.bisect_left(starts, end)
    if k > 0 and ends[k - 1] > end:  # end inside a match of the whole text
        for p in range(end, ends[k - 1]):
            if rx.match(text, p):
                return left, p
    return left, (starts[k] if k < len(starts) else len(text))


def _words(text: str) -> list[str]:
    return [fold(w).replace("’", "'") for w in _WORD.findall(text)]


def _last_words(text: str, lo: int, hi: int, n: int) -> list[str]:
    """_words(text[lo:hi])[-n:] (n >= 1), read back from hi only as far as needed, not
    from lo (a clause without a mark may be a whole long line, with a keyword in it every
    few words). A stretch that starts inside a word splits off only its first word."""
    width = 64
    while True:
        a = max(lo, hi - width)
        words = _WORD.findall(text, a, hi)
        if a == lo or len(words) > n:
            return [fold(w).replace("’", "'") for w in words[-n:]]
        width *= 4


def _is(word: str, entries: tuple[str, ...]) -> str | None:
    """The entry a word is: whole words, or an entry starting with "'" as an ending
    ("n't" finds "don't"), or ending in "*" as a stem ("jeśli*")."""
    for e in entries:
        if e == word or (e.startswith("'") and word.endswith(e[1:]) and len(word) > len(e)) \
                or (e.endswith("*") and word.startswith(e[:-1])):
            return e
    return None


def in_context(text: str, start: int, end: int, scopes: Scopes) -> str | None:
    """Why text[start:end] is about something else: it lies in a context phrase."""
    rx = scopes.context_pattern
    if rx is None:
        return None
    lo = max(0, start - 60)
    for m in rx.finditer(text, lo, min(len(text), end + 60)):
        if m.start() < end and m.end() > start:
            return f"in context {m.group(0)!r}"
    return None


TOPIC_AFTER = 5
_AFTER_CHARS = 300  # how far after a keyword its negation is looked for
# A conjunction that opens another clause ends a keyword's reach: the negation after it
# is about the reason or the second thing said, not the keyword ("Wypowiadamy umowę bo nie
# ma efektów", "Opzegging omdat we het niet meer nodig hebben", "Cancel the contract as we
# no longer need it", "Bitte nicht mehr verlängern und keine Rechnung mehr"). Folded.
_CLAUSE_STOP = frozenset("""omdat want aangezien doordat en because since as and
    weil denn da und bo poniewaz gdyz i oraz""".split())


def negated(text: str, start: int, end: int, scopes: Scopes, own: str = "") -> str | None:
    """Why text[start:end] is negated in its clause, or None."""
    # a keyword is a word start ("kundige" in "kündigen wir nicht"): the words after it
    # count from the end of its word, not from inside it
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    c0, c1 = _bounds(text, start, end, _CLAUSE_END)
    own_words = set(_words(own))
    # the last words of the clause before the keyword, read back only as far as needed (a
    # clause of an unwrapped paragraph may be long): whether there are any, and the last few
    before = _last_words(text, c0, start, max(scopes.before, 1))
    # a keyword put first in its clause is negated at the clause's end (Dutch and German
    # word order: "Opzeggen doe ik nog niet", "Kündigen werden wir vorerst nicht")
    after = TOPIC_AFTER if not before else scopes.after
    near = (before[-scopes.before:] if scopes.before else []) \
        + [w for w in _words(text[start:end]) if w not in own_words] \
        + _words_after(_words(text[end:min(c1, end + _AFTER_CHARS)]), after)
    neg = next((w for w in near if _is(w, scopes.negation)), None)
    if neg:
        return f"negated ({neg!r}): {text[c0:c1].strip()[:120]!r}"
    return None


def _words_after(words: list[str], n: int) -> list[str]:
    """The first n words after a keyword, up to a conjunction that opens another clause
    (_CLAUSE_STOP)."""
    words = words[:n]
    stop = next((i for i, w in enumerate(words) if w in _CLAUSE_STOP), len(words))
    return words[:stop]


# Words that may stand between a negation and the word it negates: "geen echte klacht",
# "no real complaints", "keine einzige Beschwerde", "not a complaint".
_FILLERS = frozenset(fold(w) for w in """a an any the real really big serious single
    een echte echt grote enkele enige ein eine einen einer einzige einzigen echte wirklich
    große grosse jakiejkolwiek jakichkolwiek wielkich""".split())


def negated_right_before(text: str, start: int, end: int, scopes: Scopes) -> str | None:
    """Why text[start:end] is negated by the word right before it (fillers skipped):
    "Geen klachten", "no complaints", "keine Beschwerden", "żadnych skarg". Narrower than
    `negated`: "That is not how I expect to be treated" still complains."""
    c0, _ = _bounds(text, start, end, _CLAUSE_END)
    before = _last_words(text, c0, start, max(scopes.before, 1) + 2)
    for w in reversed(before):
        if w in _FILLERS:
            continue
        if _is(w, scopes.negation):
            return f"negated ({w!r}): {text[c0:end + 40].strip()[:120]!r}"
        return None
    return None


def unnegated_miss(text: str, start: int, end: int, scopes: Scopes, own: str = "") -> str | None:
    """For `*_unnegated`: why the keyword does not count (a context phrase, a negation
    right before it)."""
    return in_context(text, start, end, scopes) or negated_right_before(text, start, end, scopes)


# Double quotation marks in every convention the desk's languages use ("…", “…”, „…“,
# „…”, «…»): each convention has one opening and one closing mark, so counting them all
# tells whether a place lies inside a quotation. Single quotes are left out: they are
# apostrophes too ("don't", "Kees' zaak").
_QUOTE_MARKS = re.compile(r'["„“”«»]')


def quoted(text: str, start: int, end: int) -> str | None:
    """Why text[start:end] is somebody else's words: it stands inside double quotation
    marks in its paragraph ('Kees roept dat hij "het abonnement gaat opzeggen"', a text
    to put on the customer's website). Reported speech and mentions are not what the
    writer states."""
    p0, p1 = _bounds(text, start, end, _PARAGRAPH_END)
    # the marks of the whole text (one character each, so the same as in any stretch)
    marks, _ = _matches(_QUOTE_MARKS, text)
    last = bisect.bisect_left(marks, start)
    if (last - bisect.bisect_left(marks, p0)) % 2 == 0:  # marks in text[p0:start]
        return None
    nxt = bisect.bisect_left(marks, end)
    if nxt == len(marks) or marks[nxt] >= p1:  # no mark in text[end:p1]
        return None
    opening = marks[last - 1]
    return f"quoted (somebody's words): {text[opening:min(marks[nxt] + 1, opening + 120)]!r}"


# A request put as a question asks us to do something: "Wilt u ervoor zorgen dat het
# contract niet wordt verlengd?", "Could you stop the listing at the end of the term?" - a
# request opener first, and no question word or wish to be told in the sentence ("Kunt u
# mij vertellen hoe ik opzeg?" still asks). Folded text, so no diacritics.
_REQUEST_OPENER = re.compile(
    r"^(?:\w+\s*,\s*)?(?:(?:en|and|und|i|dan|also|so|dus|wiec)\s+)?"
    r"(?:wil(?:t|len)?\s+(?:u|je|jullie)|kunt\s+u|kun\s+je|kunnen\s+(?:jullie|u)|zou(?:den)?\s+(?:u|je|jullie)|"
    r"could\s+you|would\s+you|can\s+you|will\s+you|(?:koennen|konnen|konnten|koennten|wurden|wuerden)\s+sie|"
    r"czy\s+(?:moga|mogliby|moglibyscie|moze|mozecie|mozna)|"
    r"(?:would|could)\s+(?:it\s+be\s+possible|we\s+ask\s+you))\b")
_ASKS_TO_BE_TOLD = re.compile(
    r"\b(?:hoe|wanneer|wat|welke?|waarom|hoeveel|how|when|what|which|why|whether|wie|wann|was|welche[nrms]?|"
    r"warum|ob|jak|kiedy|co|ktor\w+|dlaczego|ile|vertellen|laten\s+weten|uitleggen|tell|let\s+(?:me|us)\s+know|"
    r"explain|sagen|mitteilen|erklaren|erklaeren|powiedziec|wyjasnic|poinformowac)\b")


def polite_request(sentence: str) -> bool:
    """A question that is a request to act ("Wilt u het contract laten stoppen?"), not a
    question to be answered ("Kunt u zeggen wanneer het contract afloopt?")."""
    sentence = sentence.strip()
    return bool(_REQUEST_OPENER.match(sentence)) and not _ASKS_TO_BE_TOLD.search(sentence)


def unstated(text: str, start: int, end: int, scopes: Scopes, own: str = "") -> str | None:
    """Why text[start:end] is not stated by the writer (in a context phrase, quoted,
    negated, conditional, hypothetical), or None when it is. `own`: the keyword or pattern
    itself, whose own negation words ("niet verlengen", "won't be renewing") do not
    negate it."""
    ctx = in_context(text, start, end, scopes) or quoted(text, start, end)
    if ctx:
        return ctx
    s0, s1 = _bounds(text, start, end, _SENTENCE_END)
    sentence = text[s0:s1].strip()
    ending = _SENTENCE_END.match(text, s1)
    if ending and "?" in ending.group(0) and not polite_request(sentence):
        # "Hoe lang is de opzegtermijn?" asks, not states
        return f"a question: {sentence[:120]!r}"
    cond, hypo = _sentence_scope(sentence, scopes.condition, scopes.hypothetical)
    if cond:
        return f"conditional ({cond!r}): {sentence[:120]!r}"
    if hypo:
        return f"hypothetical ({hypo!r}): {sentence[:120]!r}"
    return negated(text, start, end, scopes, own)


@functools.lru_cache(maxsize=64)
def _sentence_scope(sentence: str, condition: tuple[str, ...], hypothetical: tuple[str, ...]
                    ) -> tuple[str | None, str | None]:
    """(the condition opening a sentence, a hypothetical word in it): once per sentence,
    not once per keyword in it (an unwrapped paragraph without a full stop is one long
    sentence with many keywords)."""
    first = _words(sentence[:200])[:2]
    cond = None
    for n in (2, 1):  # "o ile", "jeśli"
        if len(first) >= n and (cond := _is(" ".join(first[:n]), condition)):
            break
    return cond, next((w for w in _words(sentence) if _is(w, hypothetical)), None)


@functools.lru_cache(maxsize=256)
def keyword_pattern(words: tuple[str, ...]) -> re.Pattern:
    """One regex for a word list: the plain words behind a single word-start check (so the
    alternatives are tried only where a word starts, not at every character), the
    "*compound" endings anywhere. The longest word found at a place is the one reported.

    The words are written as a trie ("fa(?:ctuur|ktur(?:a|y)?)"), not as a list of
    alternatives longest first: the engine then follows one branch per character instead
    of trying each of hundreds of words at every word start (the same matches, half the
    time for the rules' 42 lists on the generated mails: docs/performance.md). One regex
    per list: the rules name some lists more than once (36 lists in 42 places)."""
    starts = {fold(w) for w in words if not (w.startswith("*") and len(w) > 1)} - {""}
    ends = {fold(w[1:]) for w in words if w.startswith("*") and len(w) > 1} - {""}
    parts = ([rf"(?<!\w){_trie_pattern(starts)}"] if starts else []) \
        + ([_trie_pattern(ends)] if ends else [])
    return re.compile("|".join(parts) or r"(?!x)x")


def lazy_keyword_pattern(words: list[str]) -> Callable[[], re.Pattern]:
    """keyword_pattern, written and compiled where the list is first searched, not where
    rules.yaml is read: a command that routes no mail (`ticketbot show`, `hold`, the web
    face) does not pay for the rules' 42 lists (0.17 s). Two threads searching first
    both compile it, harmlessly."""
    key = tuple(words)
    made: list[re.Pattern] = []

    def pattern() -> re.Pattern:
        if not made:
            made.append(keyword_pattern(key))
        return made[0]

    return pattern


_ESCAPED: dict[str, str] = {}  # a character as a regex matches it, worked out once


def _escaped(ch: str) -> str:
    e = _ESCAPED.get(ch)
    if e is None:
        e = _ESCAPED[ch] = re.escape(ch)
    return e


def _trie_pattern(words: set[str]) -> str:
    """A group matching the longest of the words that starts here: a trie of them, each
    word ending in an optional (greedy: tried first) group of the longer words it begins.
    A run of single branches is written as one piece of text (most of a trie's length)."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = None  # a word ends here

    def branches(node: dict) -> str:
        run = []
        while len(node) == 1 and "" not in node:  # one way on, no word ending here
            (ch, node), = node.items()
            run.append(_escaped(ch))
        end = "" in node
        alts = [_escaped(ch) + branches(node[ch]) for ch in sorted(node) if ch]
        if not alts:
            return "".join(run)
        group = alts[0] if len(alts) == 1 and not end else f"(?:{'|'.join(alts)})"
        return "".join(run) + (group + "?" if end else group)

    return f"(?:{branches(trie)})"


def _keyword_test(part: str, words: list[str], scopes: Scopes | None = None,
                  unnegated: bool = False) -> Callable[[Facts], str | bool]:
    # A keyword matches at the start of a word: "cancel" finds "cancellation",
    # "factuur" finds "factuurnummer", but "rekening" does not find "verrekening".
    # "*opzegging": also at the end of a compound (contractopzegging, Vertragskündigung)
    pattern = lazy_keyword_pattern(words)

    def test(f: Facts) -> str | bool:
        if scopes is None:
            m = pattern().search(f.folded(part))
            return f"found {m.group(0)!r}" if m else False
        return _first_stated(pattern(), f.folded(part), scopes, "found", keyword=True,
                             why=unnegated_miss if unnegated else unstated)

    return test


def _first_stated(rx: re.Pattern, text: str, scopes: Scopes, verb: str,
                  keyword: bool, why: Callable[..., str | None] = unstated) -> str | bool:
    """The first match the writer states; else a Miss saying why each was left out."""
    left_out = []
    for m in rx.finditer(text):
        reason = why(text, m.start(), m.end(), scopes, m.group(0) if keyword else rx.pattern)
        if reason is None:
            return f"{verb} {m.group(0)!r}"
        left_out.append(f"{m.group(0)!r} left out, {reason}")
    return Miss("; ".join(left_out[:3])) if left_out else False


def _regex_test(part: str, rx: re.Pattern, scopes: Scopes | None = None
                ) -> Callable[[Facts], str | bool]:
    def test(f: Facts) -> str | bool:
        if scopes is not None:
            return _first_stated(rx, f.as_written(part), scopes, "matched", keyword=False)
        m = rx.search(f.as_written(part))
        return f"matched {m.group(0)!r}" if m else False

    return test


_TEXT = {
    "subject": lambda f: f.subject,
    "body": lambda f: f.body,
    "text": lambda f: f"{f.subject}\n{f.body}",
    "attachments": lambda f: f.attachment_text,
}


# a day and month ("zum 31.12. kündigen", "am 1. März") ends no sentence
_DATE_BEFORE = re.compile(r"(?<!\w)\d{1,2}\.(\d{1,2})?$")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a text (the bounds `*_stated` reads a keyword in),
    not ended by the dots of a date ("zum 31.12. auflösen")."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.group(0) == "." and _DATE_BEFORE.search(text, max(0, m.start() - 6), m.start() + 1):
            continue
        if m.start() > start:
            out.append((start, m.start()))
        start = m.end()
    if start < len(text):
        out.append((start, len(text)))
    return out


def near_test(part: str, groups: list[tuple[str, list[str]]], scopes: Scopes | None = None
              ) -> Callable[[Facts], str | bool]:
    """`*_near`: a word of every group in one sentence ("… stopzetten … abonnement",
    "terminating … agreement"), each group's words matching as keywords do (word starts,
    "*endings"). With scopes (`*_stated_near`) the FIRST group's word (the verb) must be
    stated: not negated, conditional, hypothetical, asked or in a context phrase."""
    lazy = [lazy_keyword_pattern(words) for _, words in groups]

    def test(f: Facts) -> str | bool:
        patterns = [p() for p in lazy]
        text = f.folded(part)
        left_out: list[str] = []
        for s0, s1 in sentences(text):
            found = []
            for rx in patterns:
                m = rx.search(text, s0, s1)
                if m is None:
                    break
                found.append(m)
            if len(found) < len(patterns):
                continue
            if scopes is not None:
                # each word of the first group in this sentence, the first one stated counts
                for m in patterns[0].finditer(text, s0, s1):
                    reason = unstated(text, m.start(), m.end(), scopes, m.group(0))
                    if reason is None:
                        found[0] = m
                        break
                    left_out.append(f"{m.group(0)!r} left out, {reason}")
                else:
                    continue
            return "found " + " … ".join(repr(m.group(0)) for m in found) + " in one sentence"
        return Miss("; ".join(left_out[:3])) if left_out else False

    return test
