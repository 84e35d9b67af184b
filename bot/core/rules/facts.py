"""What routing may look at about one message, folded for keyword tests."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass


# --------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class Facts:
    """What routing may look at, about one new message and its sender."""

    from_addr: str = ""
    to: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    attachments: tuple[tuple[str, str], ...] = ()  # (file name, content type)
    channel: str = "mail"
    language: str | None = None
    customer: str = "unknown"  # known | unknown | prospect
    company: str | None = None
    advisor: str | None = None  # person key of the company's advisor

    @property
    def from_domain(self) -> str:
        return self.from_addr.rpartition("@")[2].lower()

    def folded(self, part: str) -> str:
        """fold() of subject, body or text, computed once per message."""
        cache = self.__dict__.setdefault("_folded", {})
        if part not in cache:
            cache[part] = fold(_TEXT[part](self))
        return cache[part]


def fold(text: str) -> str:
    """Lower case without accents: 'Beëindigen' and 'beeindigen' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ł", "l")


def _keyword_test(part: str, words: list[str]) -> Callable[[Facts], str | bool]:
    # A keyword matches at the start of a word: "cancel" finds "cancellation",
    # "factuur" finds "factuurnummer", but "rekening" does not find "verrekening".
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(fold(w))}" for w in words))

    def test(f: Facts) -> str | bool:
        m = pattern.search(f.folded(part))
        return f"found {m.group(0)!r}" if m else False

    return test


def _regex_test(getter: Callable[[Facts], str], rx: re.Pattern) -> Callable[[Facts], str | bool]:
    def test(f: Facts) -> str | bool:
        m = rx.search(getter(f))
        return f"matched {m.group(0)!r}" if m else False

    return test


_TEXT = {
    "subject": lambda f: f.subject,
    "body": lambda f: f.body,
    "text": lambda f: f"{f.subject}\n{f.body}",
}
