"""A customer's "thanks!" on a resolved ticket: recorded, but it does not reopen it
(peers' users complain of tickets reopened by pleasantries). Anything more than thanks,
a greeting and a name reopens it as before."""

from __future__ import annotations

import re

from bot.core.mail.quotes import without_signature

THANKS = frozenset("""
thanks thank thx ty cheers bedankt dank dankjewel dankuwel dankje bedankje merci danke dankeschön
dziękuję dziekuje dzięki dzieki dziekujemy dziękujemy
""".split())
FILLER = frozenset("""
you u je jullie wel hartelijk heel erg zeer veel vriendelijk very much so a lot many great super top
prima perfect perfekt fijn mooi goed ok okay oke oké all for the your help hulp voor de uw je moeite
bardzo serdecznie wielkie za pomoc vielen vielmals sehr schön schoen herzlichen herzlich für fur ihre
die hilfe again nogmaals weer
hi hello hallo hoi dear beste geachte guten tag dzień dzien dobry witam
regards groet groeten gr mvg met kind best warm vriendelijke hartelijke pozdrawiam pozdrowienia
gruß gruss grüße grusse mfg freundlichen grüßen grussen z poważaniem
""".split())
MAX_WORDS = 16
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def only_thanks(text: str, sender_name: str = "") -> bool:
    """Whether ``text`` (the customer's own words) says thanks and nothing else."""
    text = (text or "").strip()
    body = without_signature(text) or text  # ("Thanks!" alone is a closing line)
    words = [w.lower() for w in _WORD.findall(body)]
    if not words or len(words) > MAX_WORDS or not any(w in THANKS for w in words):
        return False
    names = {w.lower() for w in _WORD.findall(sender_name or "")}
    return all(w in THANKS or w in FILLER or w in names for w in words)
