"""Written cancellations, the pure part: the customer's reason from their text. (Notice
and end dates: bot/core/contracts.py; dates as people write them: bot/core/time/humanize.py.)"""

from __future__ import annotations

import re

# Words that introduce a reason, nl/en/pl. The sentences holding them are the reason.
_REASON = re.compile(
    r"(?<!\w)(reden|omdat|vanwege|wegens|want|helaas|te duur|niet tevreden|because|reason|due to|"
    r"since|unfortunately|too expensive|ponieważ|powod|powód|z powodu|gdyż|niestety|za drogo)",
    re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_GREETING = re.compile(r"^(beste|geachte|hallo|dear|hello|hi|szanowni|szanowny|dzień dobry|"
                       r"met vriendelijke|kind regards|best regards|regards|z poważaniem|"
                       r"pozdrawiam|mvg)\b", re.IGNORECASE)

def extract_reason(text: str, limit: int = 1000) -> str:
    """The sentences of the customer's own text that give a reason; failing that, the
    text without greeting and closing lines. Never invents anything."""
    lines = [ln.strip() for ln in text.splitlines()]
    body = "\n".join(ln for ln in lines if ln and not _GREETING.match(ln))
    sentences = [" ".join(s.split()) for s in _SENTENCE.split(body) if s.strip()]
    reasons = [s for s in sentences if _REASON.search(s)]
    out = " ".join(reasons) if reasons else " ".join(" ".join(body.split()).split(" "))
    return out[:limit].strip()
