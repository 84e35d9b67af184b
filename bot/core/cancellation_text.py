"""Written cancellations, the pure part: the customer's reason from their text, and dates
as people write them. (Notice and end dates: bot/contracts.py.)"""

from __future__ import annotations

import re
from datetime import date

# Words that introduce a reason, nl/en/pl. The sentences holding them are the reason.
_REASON = re.compile(
    r"(?<!\w)(reden|omdat|vanwege|wegens|want|helaas|te duur|niet tevreden|because|reason|due to|"
    r"since|unfortunately|too expensive|ponieważ|powod|powód|z powodu|gdyż|niestety|za drogo)",
    re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_GREETING = re.compile(r"^(beste|geachte|hallo|dear|hello|hi|szanowni|szanowny|dzień dobry|"
                       r"met vriendelijke|kind regards|best regards|regards|z poważaniem|"
                       r"pozdrawiam|mvg)\b", re.IGNORECASE)

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"],
    "pl": ["stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
           "września", "października", "listopada", "grudnia"],
}


def extract_reason(text: str, limit: int = 1000) -> str:
    """The sentences of the customer's own text that give a reason; failing that, the
    text without greeting and closing lines. Never invents anything."""
    lines = [ln.strip() for ln in text.splitlines()]
    body = "\n".join(ln for ln in lines if ln and not _GREETING.match(ln))
    sentences = [" ".join(s.split()) for s in _SENTENCE.split(body) if s.strip()]
    reasons = [s for s in sentences if _REASON.search(s)]
    out = " ".join(reasons) if reasons else " ".join(" ".join(body.split()).split(" "))
    return out[:limit].strip()


def format_date(d: date | None, language: str | None) -> str:
    """31 december 2026 / 31 December 2026 / 31 grudnia 2026."""
    if d is None:
        return ""
    months = MONTHS.get(language or "en", MONTHS["en"])
    return f"{d.day} {months[d.month - 1]} {d.year}"
