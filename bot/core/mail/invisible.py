"""Characters a reader cannot see: bidi controls (which can show `invoice\u202efdp.exe` as
"invoiceexe.pdf"), zero-width spaces and joiners (which can hide a keyword such as
`Op\u200bzeg\u200bging` from routing), the byte-order mark, the soft hyphen: Unicode's
format characters (category Cf). They are removed from what staff read (names, subjects,
file names) and from what routing reads; an address holding one is not mailed."""

from __future__ import annotations

import unicodedata


def is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf"


def has_invisible(text: str) -> bool:
    # each distinct character once (a set is made at C speed): a long mail in Polish or
    # Dutch has a few dozen non-ASCII characters, but thousands of occurrences
    return not text.isascii() and any(is_invisible(ch) for ch in set(text) if not ch.isascii())


_ZWJ = "\u200d"


def _emoji_side(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk") or ch == "\ufe0f"


def strip_invisible(text: str) -> str:
    """``text`` without format characters, except a zero-width joiner inside an emoji
    sequence (``😵\u200d💫``), which joins pictures and can hide no word."""
    if not has_invisible(text):
        return text
    out = []
    for i, ch in enumerate(text):
        if not is_invisible(ch):
            out.append(ch)
        elif ch == _ZWJ and 0 < i < len(text) - 1 and _emoji_side(text[i - 1]) and _emoji_side(text[i + 1]):
            out.append(ch)
    return "".join(out)
