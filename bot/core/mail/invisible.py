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
    return any(is_invisible(ch) for ch in text if not ch.isascii())


def strip_invisible(text: str) -> str:
    if text.isascii():
        return text
    return "".join(ch for ch in text if not is_invisible(ch))
