"""Routing read ahead, in a parser process: the rules' message conditions answered there,
beside the parsing, so that the desk's own process (which holds the database and the
directory, and is the worker's busiest) only adds what the sender's standing decides.

Every condition a message alone answers (RuleSet.message_leaves: all but `customer` and
`has_advisor`) remembers its answer in a memo, by its place in the rules file. The parser
process routes the mail twice, as from a customer with an advisor and as from an unknown
sender, and sends the memo back with the parsed mail; the desk routes it once more with
the sender's real standing, taking each answer from the memo and asking only what is not
in it (nothing, on every labelled mail: docs/performance.md). The decision is the one the
desk would have made alone: a test routes every labelled mail both ways.

Both sides must hold the same rules: the parser process reads the rules file itself, and
answers only when its SHA-256 is the one the desk loaded (a file changed since, or rules
refused on reload, and the desk reads the mail itself, as before).

The kind model stays in the desk's process (0.3 ms a mail): asked ahead as well, it cost
each parser process 10 MB (the tree of processes went over its 250 MB) for no rate that
could be told from the run-to-run spread (docs/performance.md).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bot.core.domain import InboundMessage
from bot.core.rules.engine import route
from bot.core.rules.load import parse_rules
from bot.core.rules.reading import message_facts
from bot.core.rules.schema import RuleSet

log = logging.getLogger("bot.ingest")

# The sender's standings a mail is routed under ahead of the desk; between them they ask
# every message condition a rule reached by any standing asks, on the labelled mails.
# (customer, company, advisor)
STANDINGS: tuple[tuple[str, str | None, str | None], ...] = (
    ("known", "(read ahead)", "(read ahead)"),
    ("unknown", None, None),
)


@dataclass(frozen=True)
class Sources:
    """The rules the desk routes with: the file and the SHA-256 of what it loaded."""

    rules_path: str
    rules_digest: str


@dataclass
class Ahead:
    """A mail read ahead: the message conditions' answers (Facts.memo) under the rules
    with `rules_digest`."""

    rules_digest: str
    memo: dict[int, bool | str]


# this process's copy, keyed by digest (the desk's rules change rarely)
_rules: tuple[str, RuleSet] | None = None
# the last look at each file: path -> ((size, mtime), digest of its text), so a file the
# desk has not (yet) loaded is not read again for every mail
_stamps: dict[str, tuple[tuple[int, int], str]] = {}
_told: set[str] = set()  # problems logged once each, not once per mail


def _text_of(path: str, digest: str) -> str | None:
    """The file's text, when its SHA-256 is `digest` as the desk computes it (RuleSet.digest:
    of the text as read, newlines made "\n"); None otherwise, or if it cannot be read. A
    file of the same size and time as when it last differed is not read again."""
    try:
        st = os.stat(path)
        stamp = (st.st_size, st.st_mtime_ns)
        seen = _stamps.get(path)
        if seen is not None and seen[0] == stamp and seen[1] != digest:
            return None
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _tell(f"{path}: {exc}")
        return None
    found = hashlib.sha256(text.encode()).hexdigest()
    _stamps[path] = (stamp, found)
    return text if found == digest else None


def _tell(problem: str) -> None:
    if problem not in _told:
        _told.add(problem)
        log.warning("routing not read ahead (the desk reads the mail itself): %s", problem)


def _ruleset(path: str, digest: str) -> RuleSet | None:
    global _rules
    if _rules is not None and _rules[0] == digest:
        return _rules[1]
    text = _text_of(path, digest)
    if text is None:
        return None  # changed since the desk read it: the desk reads the mail itself
    rs = parse_rules(text, path, routing_only=True)  # the same text: rs.digest == digest
    _rules = (digest, rs)
    return rs


def hold(sources: Sources) -> None:
    """Load the desk's rules into this process now (parse_worker.warm)."""
    try:
        _ruleset(sources.rules_path, sources.rules_digest)
    except Exception as exc:
        _tell(f"{type(exc).__name__}: {exc}")


def read_ahead(msg: InboundMessage, sources: Sources) -> Ahead | None:
    """The mail's routing read ahead under the desk's rules; None when this process cannot
    hold the same rules (the desk then routes it alone). Never raises: a failure here must
    not cost the mail its parse."""
    try:
        rs = _ruleset(sources.rules_path, sources.rules_digest)
        if rs is None or not rs.message_leaves:
            return None
        facts = message_facts(msg)
        ahead = Ahead(rs.digest, {})
        for standing in STANDINGS:
            route(rs, facts.standing(*standing).remember(ahead.memo))
        return ahead
    except Exception as exc:
        _tell(f"{type(exc).__name__}: {exc}")
        log.debug("read ahead failed", exc_info=True)
        return None
