"""Bytes of mail text -> str, whatever the label says. Pure: no I/O.

The order, for text with a label (``decode_bytes``):

1. the label, strictly; single-byte labels with their traps: valid UTF-8 in a
   single-byte label is UTF-8, windows-1252 text labelled iso-8859-1 / us-ascii
   (C1 control characters after decoding) is windows-1252 (iso-8859-2 ->
   windows-1250, ...);
2. the label's wider cousins as mail programs wrote them: ISO-2022-JP with vendor
   extensions (``iso2022_jp_2``, ``iso2022_jp_ext``, then the JIS bytes read with the
   CP932 table, which has NEC row 13: ``①``), Shift_JIS as CP932, EUC-KR as CP949,
   Big5 as Big5-HKSCS; a 7-bit label (ISO-2022-JP) over 8-bit bytes: UTF-8, CP932,
   EUC-JP;
3. UTF-8, only for bytes that hold 8-bit UTF-8 sequences (7-bit bytes are valid
   UTF-8 whatever they mean, so "is UTF-8" would prove nothing);
4. the label with replacement characters.

Without a usable label (undeclared, unknown), or for raw 8-bit header bytes once the
declared charset has failed (``guess``): UTF-8, then windows-1252 when the bytes are
windows-1252-plausible (Western text: few 8-bit bytes, not in long runs), then
charset-normalizer over the mail charsets, then windows-1252 as a last resort. Every
repair leaves a warning that says what was done. Nothing is ever decoded with
``unicode_escape``: backslashes arrive as written.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from functools import lru_cache

from charset_normalizer import from_bytes as _detect_bytes

__all__ = ["decode_bytes", "guess", "resolve_charset", "utf8_or_cp1252", "cp1252_plausible", "iso2022jp_as_cp932"]


def _cp1252_errors(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not valid UTF-8 are read as cp1252."""
    if isinstance(exc, UnicodeDecodeError):
        chunk = exc.object[exc.start : exc.end]
        return bytes(chunk).decode("cp1252", "replace"), exc.end
    raise exc


_CP1252_FALLBACK = "ticketbot.utf8-cp1252"
codecs.register_error(_CP1252_FALLBACK, _cp1252_errors)

C1 = re.compile("[\x80-\x9f]")

# Labels Python does not know (or knows under another name) as used in real mail.
_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-8-i": "iso8859-8",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-sjis": "shift_jis",
    "unicode-1-1-utf-8": "utf-8",
    "utf8mb4": "utf-8",
    "x-unicode20utf8": "utf-8",
    "ansi_x3.4-1968": "ascii",
    "x-user-defined": "cp1252",
}
# Labels meaning "no idea": treat like an undeclared charset, without a warning.
_UNDECLARED = frozenset({"", "unknown", "unknown-8bit", "x-unknown", "default", "none", "8bit"})
# Codecs that exist in Python but must never be used on mail text.
_FORBIDDEN = frozenset(
    {"unicode-escape", "raw-unicode-escape", "unicode-internal", "punycode", "idna", "undefined"}
)
# Single-byte charsets whose 0x80-0x9F range is C1 controls in the label but
# printable characters in the Windows code page mail programs actually used.
_WINDOWS_FOR = {
    "ascii": "cp1252",
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-15": "cp1252",
    "cp1252": "cp1252",
    "iso8859-2": "cp1250",
    "iso8859-5": "cp1251",
    "iso8859-7": "cp1253",
    "iso8859-9": "cp1254",
    "iso8859-8": "cp1255",
    "iso8859-6": "cp1256",
    "iso8859-13": "cp1257",
    "iso8859-4": "cp1257",
}
# Codecs where ASCII bytes mean ASCII text (so an ASCII payload can skip decoding).
_NOT_ASCII_COMPATIBLE_PREFIXES = ("utf-16", "utf-32", "utf-7", "iso2022", "hz")
# 7-bit codecs: 8-bit bytes under such a label are some other charset.
_SEVEN_BIT_PREFIXES = ("utf-7", "iso2022", "hz")

# What charset-normalizer may answer: the charsets real mail is written in (a short
# list is faster and keeps short texts from being read as, say, mac-cyrillic).
_DETECTABLE = (
    "cp1252", "cp1250", "cp1251", "koi8_r", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
    "gb18030", "big5hkscs", "cp932", "euc_jp", "cp949",
)
# The detector reads at most this much: its answer does not change past it.
_DETECT_LIMIT = 32 * 1024


@lru_cache(maxsize=256)
def resolve_charset(label: str | None) -> tuple[str | None, str]:
    """(python codec name or None, status) with status "none", "ok" or "unknown"."""
    if label is None:
        return None, "none"
    norm = label.strip().strip("\"'").strip().lower()
    if norm in _UNDECLARED:
        return None, "none"
    norm = _ALIASES.get(norm, norm)
    try:
        name = codecs.lookup(norm).name
    except (LookupError, ValueError, TypeError):
        return None, "unknown"
    try:
        codecs.getdecoder(name)
        b"".decode(name)
    except (LookupError, ValueError, TypeError, UnicodeError):
        return None, "unknown"  # not a text encoding (base64, rot13, zlib, ...)
    if name in _FORBIDDEN:
        return None, "unknown"
    return name, "ok"


def utf8_or_cp1252(data: bytes) -> tuple[str, bool]:
    """Decode as UTF-8; bytes that are not UTF-8 are read as cp1252. (text, was_clean)."""
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", _CP1252_FALLBACK), False


def clean(text: str) -> str:
    if text and text[0] == "\ufeff":
        text = text[1:]
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text


_HIGH_RUN = re.compile(rb"[\x80-\xff]{3,}")


def cp1252_plausible(data: bytes) -> bool:
    """Could these 8-bit bytes be Western text in windows-1252? Every byte defined in
    cp1252, and the 8-bit bytes mostly single letters among ASCII ("Frösche", "café"):
    Cyrillic, Greek and the CJK double-byte charsets put them in long runs."""
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    high = sum(1 for b in data if b >= 0x80)
    in_runs = sum(len(m) for m in _HIGH_RUN.findall(data))
    return in_runs * 5 <= high and high * 2 <= len(data)


def detect(data: bytes) -> tuple[str, str] | None:
    """(text, codec) from charset-normalizer over the mail charsets, or None."""
    try:
        best = _detect_bytes(data[:_DETECT_LIMIT], cp_isolation=list(_DETECTABLE)).best()
    except Exception:  # a detector bug must not cost the mail
        return None
    if best is None:
        return None
    try:
        return data.decode(best.encoding, "replace"), best.encoding
    except (LookupError, UnicodeError):
        return None


def guess(data: bytes) -> tuple[str, str | None]:
    """Undeclared 8-bit bytes -> (text, how it was read or None for clean UTF-8)."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    if cp1252_plausible(data):
        return data.decode("cp1252"), "not UTF-8; read as windows-1252"
    found = detect(data)
    if found is not None:
        return found[0], f"not UTF-8 nor windows-1252; detected as {found[1]}"
    return data.decode("utf-8", _CP1252_FALLBACK), "no charset fits; read as windows-1252 (a guess)"


# -- ISO-2022-JP as mail programs wrote it ----------------------------------------------

_ISO2022_ESC = re.compile(rb"\x1b(\$[@B]|\$\(D|\([BJI]|\$\(Q|\$\(O|&@\x1b\$B)")


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    s1 = (j1 + 1) // 2 + 0x70
    if s1 >= 0xA0:
        s1 += 0x40
    if j1 % 2:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:
            s2 += 1
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


def iso2022jp_as_cp932(data: bytes) -> str:
    """ISO-2022-JP bytes read with the CP932 table (Windows' "ISO-2022-JP" with the NEC
    and IBM extensions: circled numbers, Roman numerals, ...). Raises UnicodeDecodeError
    for what is not JIS X 0208 / ASCII / JIS-Roman / half-width katakana."""
    out = bytearray()
    mode = "ascii"
    pos = 0
    n = len(data)
    while pos < n:
        b = data[pos]
        if b == 0x1B:
            m = _ISO2022_ESC.match(data, pos)
            if m is None:
                raise UnicodeDecodeError("iso2022_jp_cp932", data, pos, pos + 1, "unknown escape")
            seq = m.group(1)
            if seq in (b"$@", b"$B", b"&@\x1b$B"):
                mode = "jis"
            elif seq in (b"(B", b"(J"):
                mode = "ascii"
            elif seq == b"(I":
                mode = "kana"
            else:
                raise UnicodeDecodeError("iso2022_jp_cp932", data, pos, m.end(), "JIS X 0212/0213")
            pos = m.end()
            continue
        if b >= 0x80:
            raise UnicodeDecodeError("iso2022_jp_cp932", data, pos, pos + 1, "8-bit byte")
        if b in (0x0A, 0x0D):
            mode = "ascii" if mode == "kana" else mode
            out.append(b)
            pos += 1
        elif mode == "jis":
            if pos + 1 >= n or not (0x21 <= b <= 0x7E and 0x21 <= data[pos + 1] <= 0x7E):
                raise UnicodeDecodeError("iso2022_jp_cp932", data, pos, pos + 1, "broken pair")
            out += _jis_to_sjis(b, data[pos + 1])
            pos += 2
        elif mode == "kana":
            out.append(b + 0x80 if 0x21 <= b <= 0x5F else b)
            pos += 1
        else:
            out.append(b)
            pos += 1
    return bytes(out).decode("cp932")


def _codec(name: str) -> Callable[[bytes], str]:
    return lambda data: data.decode(name)


# The label's cousins, tried in order after the label itself failed: (name, decoder).
_COUSINS: dict[str, tuple[tuple[str, Callable[[bytes], str]], ...]] = {
    "iso2022_jp": (
        ("iso-2022-jp-2", _codec("iso2022_jp_2")),
        ("iso-2022-jp-ext", _codec("iso2022_jp_ext")),
        ("iso-2022-jp with the cp932 table", iso2022jp_as_cp932),
        ("iso-2022-jp-2004", _codec("iso2022_jp_2004")),
    ),
    "shift_jis": (("cp932", _codec("cp932")),),
    "euc_jp": (("euc-jis-2004", _codec("euc_jis_2004")), ("cp932", _codec("cp932"))),
    "euc_kr": (("cp949", _codec("cp949")),),
    "big5": (("big5-hkscs", _codec("big5hkscs")),),
}
_EIGHT_BIT_COUSINS: dict[str, tuple[tuple[str, Callable[[bytes], str]], ...]] = {
    "iso2022_jp": (("cp932", _codec("cp932")), ("euc-jp", _codec("euc_jp"))),
    "iso2022_kr": (("cp949", _codec("cp949")),),
}


def decode_bytes(data: bytes, label: str | None, warnings: list[str] | None = None, where: str = "text") -> str:
    """Decode ``data`` declared as charset ``label`` (None: undeclared). See module doc."""
    if warnings is None:
        warnings = []
    if not data:
        return ""
    name, status = resolve_charset(label)
    if status == "unknown":
        if data.isascii():
            return clean(data.decode("ascii"))
        text, how = guess(data)
        warnings.append(f"{where}: unknown charset {label!r}, {how or 'decoded as utf-8'}")
        return clean(text)
    if name is None:
        if data.isascii():
            if b"\x1b$" in data:  # undeclared ISO-2022-JP (old Japanese mailers)
                text = decode_bytes(data, "iso-2022-jp", warnings, where)
                warnings.append(f"{where}: 7-bit text without charset holds ISO-2022-JP escapes; read as ISO-2022-JP")
                return text
            return clean(data.decode("ascii"))
        text, how = guess(data)
        if how is not None:
            warnings.append(f"{where}: 8-bit text without charset, {how}")
        elif label is None and where != "header":
            warnings.append(f"{where}: 8-bit text without charset, read as UTF-8")
        return clean(text)
    eight_bit = not data.isascii()
    if not eight_bit and not name.startswith(_NOT_ASCII_COMPATIBLE_PREFIXES):
        return clean(data.decode("ascii"))
    windows = _WINDOWS_FOR.get(name)
    if windows is not None:
        # A single-byte label. Valid UTF-8 wins (a mislabel), then the C1 trap.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            warnings.append(f"{where}: labelled {label!r} but is UTF-8; read as UTF-8")
            return clean(text)
        if name == "ascii":
            warnings.append(f"{where}: 8-bit bytes in us-ascii text; read as {windows}")
            return clean(data.decode(windows, "replace"))
        text = data.decode(name, "replace")
        if name != windows and C1.search(text):
            warnings.append(
                f"{where}: labelled {label!r} but contains {windows} characters; read as {windows}"
            )
            text = data.decode(windows, "replace")
        return clean(text)
    seven_bit_label = name.startswith(_SEVEN_BIT_PREFIXES)
    if not (eight_bit and seven_bit_label):
        try:
            return clean(data.decode(name))
        except (UnicodeError, LookupError, ValueError, TypeError):
            pass
    if name == "utf-8":
        warnings.append(f"{where}: invalid UTF-8; undecodable bytes read as windows-1252")
        return clean(data.decode("utf-8", _CP1252_FALLBACK))
    if eight_bit:
        # "is UTF-8" means something only for bytes with 8-bit UTF-8 sequences
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            warnings.append(f"{where}: labelled {label!r} but is UTF-8; read as UTF-8")
            return clean(text)
    cousins = (_EIGHT_BIT_COUSINS if eight_bit and seven_bit_label else _COUSINS).get(name, ())
    for cousin, decode in cousins:
        try:
            text = decode(data)
        except (UnicodeError, LookupError, ValueError):
            continue
        warnings.append(f"{where}: not valid {label!r}; read as {cousin}")
        return clean(text)
    warnings.append(f"{where}: bytes not valid in charset {label!r}; replaced")
    try:
        return clean(data.decode(name, "replace"))
    except Exception:  # some codecs fail even with errors="replace"
        return clean(data.decode("utf-8", _CP1252_FALLBACK))


def decode_declared(data: bytes, label: str | None) -> tuple[str, str] | None:
    """(text, codec used) for 8-bit bytes in the charset ``label`` declares, or None when
    it does not fit (no label, US-ASCII, UTF-8 that is not UTF-8, bytes the charset does
    not have). A single-byte label with the C1 trap is read as its Windows code page."""
    name, status = resolve_charset(label)
    if name is None or name in ("ascii", "utf-8") or name.startswith(_SEVEN_BIT_PREFIXES):
        return None
    windows = _WINDOWS_FOR.get(name)
    try:
        text = data.decode(name)
    except (UnicodeError, LookupError, ValueError):
        return None
    if windows is not None and windows != name and C1.search(text):
        return data.decode(windows, "replace"), windows
    return text, name
