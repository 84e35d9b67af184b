"""The kind model (issue 16): a small statistical classifier that proposes a kind for a
mail the rules leave to their catch-all. Pure: no database, no settings, no files but the
one `load` is handed; plain Python (no numpy), so a worker starts and routes as fast as
without it.

Naive Bayes over binary features of the customer's own text (subject, body without quotes
and signature, attached letters' text — the rules' `Facts`): folded words, word pairs,
subject words, and character 3- to 5-grams inside words (compounds such as
`factuurbedrag` or `Vertragskündigung` share `factu`, `kündi`). Its log-odds are divided
by a temperature fitted on held-out batches so that its confidence means roughly what it
says. The weights file is made by `train` from labelled (text, kind) rows
(scripts/train_kind_model.py, `ticketbot routing train`); it holds per-class counts, so
the same rows give the same file, byte for byte.

The rules stay authoritative: the desk applies a proposal only where no rule decided
the kind, at or above the file's threshold (bot/desk/routing.py). One exception: a
rule's invoice, advertising, appointment, question or request becomes a complaint when
the model says complaint at UPGRADE_THRESHOLD or more (the owner stays the procedure's:
an invoice complaint with receivables, others per the complaint kind's `assign`).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import getitem
from pathlib import Path

from bot.core.rules.engine import Decision, resolve_target
from bot.core.rules.facts import Facts, fold
from bot.core.rules.schema import RuleSet

FORMAT = 1
# A rule's kind the model may upgrade to a complaint, and how sure it must be: the only
# way the model overrules a rule (cross-validation by batch, docs/rules.md "The kind model")
UPGRADE_TO = "complaint"
UPGRADE_FROM = ("invoice", "advertising", "appointment", "question", "request")
UPGRADE_THRESHOLD = 0.85
WORD = re.compile(r"[^\W\d_]{2,}")
TEXT_LIMIT = 6000  # characters of the customer's text the model reads
NGRAMS = (4, 5)
# Words whose features a loaded model keeps at hand, per generation (two generations:
# at most twice this many; about 1 KB a word).
WORD_CACHE = 4096


# --------------------------------------------------------------------------- features
def document(subject: str, body: str, attachment_text: str = "") -> tuple[str, str]:
    """(subject, rest): the text the model reads, folded (lower case, no accents)."""
    rest = f"{body}\n{attachment_text}" if attachment_text else body
    return fold(subject or "")[:1000], fold(rest or "")[:TEXT_LIMIT]


def featurize(subject: str, rest: str) -> set[str]:
    """The binary features of a folded document: `w:` words, `p:` word pairs, `s:`
    subject words, `c:` character n-grams of words (with `<`/`>` at the word's edges)."""
    feats: set[str] = set()
    words = WORD.findall(f"{subject}\n{rest}")
    for w in WORD.findall(subject):
        feats.add("s:" + w)
    for i, w in enumerate(words):
        if i:
            feats.add(f"p:{words[i - 1]} {w}")
        feats.update(_own_features(w))
    return feats


def facts_features(facts: Facts) -> set[str]:
    return featurize(*document(facts.subject, facts.body, facts.attachment_text))


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class Proposal:
    kind: str
    confidence: float  # 0..1, the calibrated probability of `kind`
    runner_up: str | None
    features: tuple[tuple[str, float], ...]  # (word, its weight for kind against the runner-up)
    scores: dict[str, float] = field(default_factory=dict)  # every kind's probability

    def as_dict(self) -> dict:
        return {"kind": self.kind, "confidence": round(self.confidence, 3),
                "runner_up": self.runner_up,
                "features": [[f, round(w, 2)] for f, w in self.features],
                "scores": {k: round(v, 3) for k, v in sorted(self.scores.items(), key=lambda kv: -kv[1])}}


@dataclass
class KindModel:
    kinds: tuple[str, ...]
    prior: tuple[float, ...]  # log prior per kind
    weights: dict[str, tuple[float, ...]]  # feature -> log P(feature | kind) - log P(absent)
    temperature: float
    threshold: float  # a proposal at or above it is applied where the rules fell through
    thresholds: dict[str, float]  # a higher one for some kinds (cancellation)
    meta: dict

    # word -> its `w:` and `c:` features the model knows, with their weights: the two
    # generations of a small cache (a word's n-grams are made and looked up once, not at
    # every occurrence in every mail); not part of the model's value
    _words_now: dict[str, tuple[tuple[str, tuple[float, ...]], ...]] = field(
        default_factory=dict, repr=False, compare=False)
    _words_before: dict[str, tuple[tuple[str, tuple[float, ...]], ...]] = field(
        default_factory=dict, repr=False, compare=False)

    def threshold_for(self, kind: str) -> float:
        return max(self.threshold, self.thresholds.get(kind, 0.0))

    def score(self, feats: Iterable[str], words: Sequence[str] = (), top: int = 6) -> Proposal:
        """The most likely kind, its confidence, and the words that weighed most for it
        against the runner-up (each word with its own features' weight: the word, the
        word in the subject, its character n-grams shared among the words holding them)."""
        weights = self.weights
        return self._score({f: weights[f] for f in feats if f in weights}, words, top)

    def present(self, subject: str, rest: str) -> dict[str, tuple[float, ...]]:
        """``featurize(subject, rest)``'s features that the model knows, with their
        weights, made without building every feature: each distinct word's own and
        n-gram features come from a cache (tests/core/test_kind_model.py: the same as
        through ``featurize`` on every labelled mail)."""
        weights = self.weights
        found: dict[str, tuple[float, ...]] = {}
        for w in WORD.findall(subject):
            key = "s:" + w
            v = weights.get(key)
            if v is not None:
                found[key] = v
        words = WORD.findall(f"{subject}\n{rest}")
        prev = None
        for w in words:
            if prev is not None:
                key = f"p:{prev} {w}"
                v = weights.get(key)
                if v is not None:
                    found[key] = v
            prev = w
        now, before = self._words_now, self._words_before
        for w in set(words):
            known = now.get(w)
            if known is None:
                known = before.get(w)
                if known is None:
                    known = tuple((f, weights[f]) for f in _own_features(w) if f in weights)
                if len(now) >= WORD_CACHE:  # a new generation; the old one is dropped
                    self._words_before, now = now, {}
                    self._words_now = now
                now[w] = known
            found.update(known)
        return found

    def _score(self, present: dict[str, tuple[float, ...]], words: Sequence[str], top: int) -> Proposal:
        n = len(self.kinds)
        columns = zip(*present.values(), strict=True) if present else [()] * n
        logit = [a + sum(col) for a, col in zip(self.prior, columns, strict=True)]
        t = self.temperature
        m = max(logit)
        exp = [math.exp((x - m) / t) for x in logit]
        z = sum(exp)
        probs = [e / z for e in exp]
        order = sorted(range(n), key=lambda i: (-probs[i], self.kinds[i]))
        best = order[0]
        second = order[1] if n > 1 else None
        drivers: tuple[tuple[str, float], ...] = ()
        if second is not None and words:
            drivers = self._drivers(present, words, best, second, top)
        return Proposal(self.kinds[best], probs[best],
                        self.kinds[second] if second is not None else None, drivers,
                        dict(zip(self.kinds, probs, strict=True)))

    def _drivers(self, present: dict[str, tuple[float, ...]], words: Sequence[str], best: int,
                 second: int, top: int) -> tuple[tuple[str, float], ...]:
        def gain(f: str) -> float:
            w = present.get(f)
            return (w[best] - w[second]) / self.temperature if w else 0.0

        unique = sorted(set(words))
        holders: Counter[str] = Counter()
        grams: dict[str, set[str]] = {}
        for w in unique:
            grams[w] = {g for g in _grams(w) if g in present}
            holders.update(grams[w])
        per: dict[str, float] = {}
        for w in unique:
            per[w] = gain("w:" + w) + gain("s:" + w) + sum(gain(g) / holders[g] for g in grams[w])
        ranked = sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))
        return tuple((w, g) for w, g in ranked[:top] if g > 0)

    def propose(self, facts: Facts, explain: bool = True) -> Proposal:
        """`explain`: with the words that drove it (what --explain shows; intake skips it)."""
        subject, rest = document(facts.subject, facts.body, facts.attachment_text)
        words = WORD.findall(f"{subject}\n{rest}") if explain else ()
        return self._score(self.present(subject, rest), words, 6)


def _own_features(word: str) -> list[str]:
    """A word's features wherever it stands: itself (`w:`) and its character n-grams."""
    return ["w:" + word, *_grams(word)]


def _grams(word: str) -> list[str]:
    padded = f"<{word}>"
    return ["c:" + padded[j:j + n] for n in NGRAMS for j in range(len(padded) - n + 1)]


# --------------------------------------------------------------------------- training
ALPHA = 0.5  # additive smoothing


def train(rows: Sequence[tuple[str, str, str]], *, min_df: int = 2, max_features: int = 40_000,
          temperature: float = 25.0, threshold: float = 0.6,
          thresholds: dict[str, float] | None = None, meta: dict | None = None) -> dict:
    """The weights file's content from (subject, rest, kind) rows (folded by `document`):
    per kind, in how many of its documents each feature occurs. Deterministic: features
    sorted, ties broken by name."""
    kinds = sorted({k for _, _, k in rows})
    index = {k: i for i, k in enumerate(kinds)}
    docs = [0] * len(kinds)
    counts: dict[str, list[int]] = {}
    for subject, rest, kind in rows:
        i = index[kind]
        docs[i] += 1
        for f in featurize(subject, rest):
            c = counts.get(f)
            if c is None:
                c = counts[f] = [0] * len(kinds)
            c[i] += 1
    kept = [(f, c) for f, c in counts.items() if sum(c) >= min_df]
    if len(kept) > max_features:  # the features that tell kinds apart most, by document count
        kept.sort(key=lambda fc: (-_spread(fc[1], docs), fc[0]))
        kept = kept[:max_features]
    kept.sort()
    return {"format": FORMAT, "kinds": kinds, "docs": docs, "alpha": ALPHA,
            "temperature": temperature, "threshold": threshold,
            "thresholds": dict(sorted((thresholds or {}).items())), "meta": meta or {},
            "counts": dict(kept)}


def _spread(c: list[int], docs: list[int]) -> float:
    rates = [(x + ALPHA) / (d + 2 * ALPHA) for x, d in zip(c, docs, strict=True)]
    return max(rates) - min(rates)


def from_data(data: dict) -> KindModel:
    """The model from the weights file's content: multinomial naive Bayes over binary
    features, each weight log P(feature | kind)."""
    _check_format(data)
    counts = data["counts"]
    shared: dict[tuple[int, ...], tuple[int, ...]] = {}
    return _model(data, {f: _share(shared, tuple(c)) for f, c in counts.items()}, shared)


def _check_format(data: dict) -> None:
    if data.get("format") != FORMAT:
        raise ValueError(f"kind model format {data.get('format')!r}: this bot reads format {FORMAT} "
                         "(retrain it: scripts/train_kind_model.py or `ticketbot routing train`)")


def _share(shared: dict[tuple[int, ...], tuple[int, ...]], c: tuple[int, ...]) -> tuple[int, ...]:
    """One tuple object per distinct count vector (most rare features have the same)."""
    return shared.setdefault(c, c)


def _model(data: dict, counts: dict[str, tuple[int, ...]],
           shared: dict[tuple[int, ...], tuple[int, ...]]) -> KindModel:
    """Turn `counts` (feature -> its shared count tuple) into the model, in place: each
    feature's value becomes the weight tuple of its count vector, one tuple per distinct
    vector (about 3,000 for 34,000 features), so the loaded model holds the feature names,
    one dict and a few thousand small tuples (memory: docs/rules.md "The kind model")."""
    kinds = tuple(data["kinds"])
    n = len(kinds)
    docs = data["docs"]
    alpha = float(data["alpha"])
    if len(docs) != n or any(len(c) != n for c in shared):
        raise ValueError(f"kind model: every count needs {n} numbers, one per kind")
    uses: Counter[tuple[int, ...]] = Counter(counts.values())
    totals = [alpha * len(counts) + sum(c[k] * u for c, u in uses.items()) or 1.0 for k in range(n)]
    prior = tuple(math.log(d / sum(docs)) for d in docs)
    # log P(feature | kind) = log(count + alpha) - log(total of the kind), looked up:
    # counts are small whole numbers (and equal weights share one float object)
    top = max((max(c) for c in shared), default=0)
    tables = [[math.log(x + alpha) - math.log(t) for x in range(top + 1)] for t in totals]
    weights_of = {c: tuple(map(getitem, tables, c)) for c in shared}
    # the same dict, its values replaced (no second 34,000-entry dict while loading)
    weights: dict[str, tuple[float, ...]] = counts  # type: ignore[assignment]
    for f, c in counts.items():
        weights[f] = weights_of[c]
    return KindModel(kinds, prior, weights, float(data["temperature"]),
                     float(data["threshold"]), dict(data.get("thresholds") or {}),
                     dict(data.get("meta") or {}))


def dumps(data: dict) -> str:
    """The weights file's text: stable key order, one line per feature (diffable)."""
    head = {k: v for k, v in data.items() if k != "counts"}
    lines = ["{" + json.dumps(head, ensure_ascii=False, sort_keys=True)[1:-1] + ',\n"counts": {']
    items = sorted(data["counts"].items())
    lines.append(",\n".join(f"{json.dumps(f, ensure_ascii=False)}: {json.dumps(c)}" for f, c in items))
    lines.append("}}\n")
    return "\n".join(lines)


def loads(text: str) -> KindModel:
    """The model from the weights file's text (see `load`)."""
    return _read(_lines(text), text)


def load(path: Path) -> KindModel:
    """The model from the weights file. A file as `dumps` writes it is read line by line,
    one feature at a time, never as one big parsed JSON object (that temporary made
    loading cost 18 MB of the worker's memory); any other valid JSON is parsed whole."""
    with open(path, encoding="utf-8") as fh:
        return _read(fh, None, path)


_CACHED = b"ticketbot kind model, as loaded\n"  # a cache file begins so, then its SHA-256


def _own_source() -> bytes | None:
    try:
        return hashlib.sha256(Path(__file__).read_bytes()).digest()
    except OSError:  # run from an archive: no cache (cache_key)
        return None


# this module's code as imported: a worker still running after an upgrade in place keys
# its cache by the code it runs, not by the new code on disk
_SOURCE = _own_source()


def loaded_bytes(model: KindModel) -> bytes:
    """The model as loaded, for a cache of it (`from_loaded_bytes`; bot/desk/context.py):
    marshal keeps the shared weight tuples shared and reads back in about 20 ms, against
    0.15-0.2 s for the weights file, all of it holding the worker's interpreter while the
    first mails wait to be routed. Marshal checks nothing (a damaged length can ask for
    gigabytes), so the payload's SHA-256 comes first and is checked before it is read."""
    payload = marshal.dumps((model.kinds, model.prior, model.weights, model.temperature,
                             model.threshold, model.thresholds, model.meta))
    return _CACHED + hashlib.sha256(payload).digest() + payload


def from_loaded_bytes(data: bytes) -> KindModel:
    """The model `loaded_bytes` wrote; ValueError when the bytes are not one, cut short or
    damaged."""
    head = len(_CACHED)
    digest, payload = data[head:head + 32], data[head + 32:]
    if not data.startswith(_CACHED) or hashlib.sha256(payload).digest() != digest:
        raise ValueError("not a cached kind model, or damaged")
    kinds, prior, weights, temperature, threshold, thresholds, meta = marshal.loads(payload)
    if not (isinstance(weights, dict) and len(prior) == len(kinds)):
        raise ValueError("not a loaded kind model")
    return KindModel(tuple(kinds), tuple(prior), weights, float(temperature), float(threshold),
                     dict(thresholds), dict(meta))


def cache_key(weights_file: bytes) -> str | None:
    """What a loaded model depends on: the weights file and this module (how it turns
    counts into weights, and the loaded form), so that a cache of it goes stale with either.
    None when this module's source could not be read: then nothing is cached."""
    if _SOURCE is None:
        return None
    h = hashlib.sha256(weights_file)
    h.update(_SOURCE)
    h.update(marshal.dumps(marshal.version))
    return h.hexdigest()[:32]


def _lines(text: str) -> Iterator[str]:
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        yield text[pos:end]
        pos = end


def _read(lines: Iterable[str], text: str | None, path: Path | None = None) -> KindModel:
    it = iter(lines)
    head, second = next(it, ""), next(it, "")
    if not (head.startswith("{") and head.rstrip().endswith(",") and second.strip() == '"counts": {'):
        if text is None:
            assert path is not None
            text = path.read_text(encoding="utf-8")
        return from_data(json.loads(text))
    data = json.loads(head.rstrip()[:-1] + "}")
    _check_format(data)
    shared: dict[tuple[int, ...], tuple[int, ...]] = {}
    counts: dict[str, tuple[int, ...]] = {}
    # the text of a count vector -> its shared tuple: most features repeat one of a few
    # thousand vectors, each text is read into numbers once (loading: 0.26 -> 0.1 s)
    vectors: dict[str, tuple[int, ...]] = {}
    for line in it:
        name, colon, values = line.rpartition(": [")
        if not colon:
            if line.strip() not in ("", "}}"):
                raise ValueError(f"kind model: unreadable line {line[:80]!r}")
            continue
        f = json.loads(name) if "\\" in name else name[1:-1]
        c = vectors.get(values)
        if c is None:
            c = vectors[values] = _share(shared, tuple(map(int, values.rstrip().rstrip(",]").split(","))))
        counts[f] = c
    return _model(data, counts, shared)


# --------------------------------------------------------------------------- applying
def fell_through(rs: RuleSet, d: Decision) -> bool:
    """The rules left this mail to their catch-all: the deciding rule tests nothing, and
    no matching rule set a kind (a `continue` rule's kind, e.g. complaint, stands)."""
    rules = {r.name: r for r in rs.rules}
    last = rules.get(d.rule or "")
    if d.rule is not None and (last is None or last.conditions):
        return False
    return not any("kind" in rules[name].actions for name in d.matched if name in rules)


def apply(rs: RuleSet, facts: Facts, d: Decision, model: KindModel, explain: bool = True) -> Proposal:
    """Ask the model, record its proposal on the decision (`d.model`), and apply it where
    the rules fell through, at or above its threshold: the kind, and the owner, watchers
    and acknowledgement the procedure gives that kind (the kind's `assign` in rules.yaml;
    watchers and ack of the first rule that sets the kind). Automatic mail (out-of-office,
    bulk) is never reclassified; neither is an ignored one."""
    p = model.propose(facts, explain)
    threshold = model.threshold_for(p.kind)
    info: dict = {**p.as_dict(), "threshold": threshold, "applied": False}
    d.model = info
    if d.ignore or facts.automatic:
        info["why"] = "automatic mail: never reclassified" if facts.automatic else "ignored by a rule"
    elif not fell_through(rs, d):
        info["why"] = f"rule {d.rule!r} decided the kind: the rules stand"
        if upgradable(d, p):
            upgrade(rs, facts, d, p, info)
    elif p.kind == d.kind:
        info["why"] = "agrees with the catch-all's kind"
    elif p.confidence < threshold:
        info["why"] = f"confidence below the threshold {threshold:.2f}: the catch-all stands"
        if p.confidence >= model.threshold:  # e.g. a cancellation between 0.6 and 0.9
            info["review"] = True
            info["why"] += f" (a {p.kind} needs {threshold:.2f}: check it by hand)"
    else:
        info["applied"] = True
        info["why"] = f"the rules fell through; confidence {p.confidence:.2f} >= {threshold:.2f}"
        info["rules_kind"] = d.kind
        d.kind = p.kind
        kind = rs.kinds.get(p.kind)
        target = kind.assign if kind is not None else None
        owner, role, reason = resolve_target(rs, target, facts) if target else (None, None, "")
        if owner:
            d.owner, d.owner_role = owner, role
            d.owner_reason = f"kind {p.kind} proposed by the kind model ({p.confidence:.0%}): {reason}"
        rule = next((r for r in rs.rules if r.actions.get("kind") == p.kind), None)
        if rule is not None:
            if "ack" in rule.actions:
                d.ack = rule.actions["ack"]
            for w in rule.actions.get("watchers", []):
                person = resolve_target(rs, w, facts)[0]
                if person and person != d.owner and person not in d.watchers:
                    d.watchers.append(person)
        d.watchers = [w for w in d.watchers if w != d.owner]
    return p


def upgradable(d: Decision, p: Proposal) -> bool:
    """A rule decided one of UPGRADE_FROM (never a cancellation) and the model is sure it
    is a complaint. The caller has ruled out automatic and ignored mail."""
    return (d.kind in UPGRADE_FROM and p.kind == UPGRADE_TO
            and p.confidence >= UPGRADE_THRESHOLD)


def upgrade(rs: RuleSet, facts: Facts, d: Decision, p: Proposal, info: dict) -> None:
    """The rule's kind becomes a complaint. An invoice complaint stays with its owner
    (receivables, as the procedure has it); any other gets the complaint kind's `assign`
    (the customer's advisor). Acknowledgement and watchers stay the rule's, as for a
    complaint the rules find (their complaint rule sets only the kind)."""
    was = d.kind
    info["applied"] = True
    info["upgraded"] = True
    info["rules_kind"] = was
    info["threshold"] = UPGRADE_THRESHOLD
    info["why"] = (f"upgraded to complaint by the kind model, confidence {p.confidence:.2f} "
                   f">= {UPGRADE_THRESHOLD:.2f} (rule {d.rule!r} said {was})")
    d.kind = UPGRADE_TO
    kind = rs.kinds.get(UPGRADE_TO)
    target = kind.assign if kind is not None else None
    if was == "invoice" or not target:
        return
    owner, role, reason = resolve_target(rs, target, facts)
    if owner and owner != d.owner:
        d.owner, d.owner_role = owner, role
        d.owner_reason = f"upgraded to complaint by the kind model ({p.confidence:.0%}): {reason}"
        d.watchers = [w for w in d.watchers if w != d.owner]


def add_rows(data: dict, rows: Sequence[tuple[str, str, str]], meta: dict | None = None) -> dict:
    """The weights file's content with more (subject, rest, kind) rows counted in: naive
    Bayes keeps counts, so learning from the desk's corrections adds theirs to the shipped
    ones (every feature of a corrected mail is kept). Deterministic; `data` is not changed."""
    kinds = list(data["kinds"])
    for _, _, k in rows:
        if k not in kinds:
            kinds.append(k)
    kinds.sort()
    old = [data["kinds"].index(k) if k in data["kinds"] else None for k in kinds]

    def widen(c: list[int]) -> list[int]:
        return [c[i] if i is not None else 0 for i in old]

    counts = {f: widen(c) for f, c in data["counts"].items()}
    docs = widen(data["docs"])
    for subject, rest, kind in rows:
        i = kinds.index(kind)
        docs[i] += 1
        for f in featurize(subject, rest):
            counts.setdefault(f, [0] * len(kinds))[i] += 1
    out = {**data, "kinds": kinds, "docs": docs, "counts": dict(sorted(counts.items()))}
    out["meta"] = {**(data.get("meta") or {}), **(meta or {})}
    return out
