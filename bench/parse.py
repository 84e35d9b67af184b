"""`python -m bench --only parse`: parse_mail alone, one process, no database.

Two corpora: the generated one (what `imap` and `smtp` ingest) and the real-world
corpus of tests/fixtures/realworld (charset repairs, detector calls, odd structures).
Each is parsed three times; the best run counts (the machine's noise only slows).

Language detection's cost (issue 13: it must not slow intake by more than 5 %): each
corpus (2,000 of the generated mails, all real-world ones) parsed with and without it,
mail by mail, on the process's CPU time (``detection_cost`` says why).

The charset detector's cost (issue 13: "choose one, e.g. charset-normalizer, and measure
its cost"): it runs only for 8-bit bytes that name no charset and are neither UTF-8 nor
plausible windows-1252, which no generated mail has. ``charset_detection_cost`` counts
how many real-world mails reach it and times it alone on what they gave it;
``undeclared_mails`` are the worst case, whole bodies in Russian, Greek, Chinese and
Japanese with no charset named, parsed with the detector and with it stubbed out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import bot.core.mail.charsets as charsets_module
import bot.core.mail.parse as parse_module
from bot.core.mail.parse import parse_mail

REALWORLD = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "realworld" / "mails"


def realworld_mails() -> list[bytes]:
    return [p.read_bytes() for p in sorted(REALWORLD.rglob("*.eml"))]


def rate(mails: list[bytes], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for raw in mails:
            parse_mail(raw)
        best = min(best, time.perf_counter() - start)
    return len(mails) / best


def _no_detection(text: str, default: str | None = None) -> tuple[str | None, str]:
    return default, "unsure"


def _cpu(mails: list[bytes]) -> float:
    start = time.process_time()
    for raw in mails:
        parse_mail(raw)
    return time.process_time() - start


def _alone(fn: Callable[..., object], inputs: list) -> float:
    """CPU seconds of ``fn`` over ``inputs`` by itself, the best of three runs."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for one in inputs:
            fn(one)
        best = min(best, time.process_time() - start)
    return best


def detection_cost(mails: list[bytes], reps: int = 2) -> tuple[float, float, float]:
    """(CPU seconds parsing with language detection, without, in detection itself): every
    mail parsed both ways, one right after the other, the order alternating from mail to
    mail, ``reps`` times over, each parse timed on the process's CPU clock; the last is
    ``detect_language`` timed alone on the very texts the parser gave it.

    Why mail by mail: this VM's speed drifts by a third within seconds (the same 1,000
    mails took 1.88-2.08 s, 3,000 took 5.3-7.0 s). Whole runs with and without, even
    alternated and the median taken, told anything from -3 % to +24 % while the detection
    itself took 2-3 % of the parse; mail by mail the two ways see the same machine, and
    two runs that differed by 30 % in total time both gave +3.7 %."""
    real: Callable[..., tuple[str | None, str]] = parse_module.detect_language_explained
    texts: list[str] = []

    def recording(text: str, default: str | None = None) -> tuple[str | None, str]:
        texts.append(text)
        return real(text, default)

    spent = {True: 0.0, False: 0.0}
    clock = time.process_time
    try:
        parse_module.detect_language_explained = recording
        _cpu(mails)
        for rep in range(reps):
            for i, raw in enumerate(mails):
                for detect in ((True, False) if (i + rep) % 2 == 0 else (False, True)):
                    parse_module.detect_language_explained = real if detect else _no_detection
                    start = clock()
                    parse_mail(raw)
                    spent[detect] += clock() - start
    finally:
        parse_module.detect_language_explained = real
    return spent[True] / reps, spent[False] / reps, _alone(real, texts)


# A few sentences a customer might write, in scripts that need the detector when no
# charset is named (each body about 1.5 KB once repeated).
_UNDECLARED = (
    ("cp1251", "ru", "Здравствуйте, счёт за октябрь выставлен неверно, прошу проверить и прислать исправленный. "),
    ("cp1253", "el", "Καλησπέρα σας, το τιμολόγιο του Οκτωβρίου είναι λάθος, παρακαλώ ελέγξτε το ξανά. "),
    ("gb18030", "zh", "您好，十月份的发票金额不对，请核实后重新开具发票并发给我们，谢谢。"),
    ("cp932", "ja", "お世話になっております。十月分の請求書の金額が違っていますので、ご確認をお願いします。"),
)


def undeclared_mails(copies: int = 25) -> list[bytes]:
    """``copies`` mails per script: 8-bit bodies and subjects with no charset named."""
    out = []
    for i in range(copies):
        for codec, lang, sentence in _UNDECLARED:
            body = (sentence * max(1, 1500 // len(sentence.encode(codec)))).encode(codec)
            out.append(
                b"From: klant%d@example.%s\r\nTo: support@desk.example\r\nSubject: " % (i, lang.encode())
                + sentence[:20].encode(codec)
                + b"\r\nMessage-ID: <u%d-%s@example.org>\r\nMIME-Version: 1.0\r\n"
                  b"Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" % (i, lang.encode())
                + body + b"\r\n")
    return out


def charset_detection_cost(mails: list[bytes]) -> tuple[int, int, float, float]:
    """(mails that call the charset detector, its calls, CPU seconds of the detector alone
    on the bytes those calls gave it (best of three), CPU seconds of parsing them all)."""
    real = charsets_module.detect
    inputs: list[bytes] = []
    reached: set[int] = set()
    current = -1

    def recording(data: bytes) -> tuple[str, str] | None:
        inputs.append(data)
        reached.add(current)
        return real(data)

    clock = time.process_time
    try:
        charsets_module.detect = recording
        start = clock()
        for current, raw in enumerate(mails):  # noqa: B007 (read by recording)
            parse_mail(raw)
        parsing = clock() - start
    finally:
        charsets_module.detect = real
    return len(reached), len(inputs), _alone(real, inputs), parsing


def rows_for(generated: list[bytes]) -> list[tuple[str, str, str]]:
    real = realworld_mails()
    rows = [
        (f"parse_mail, generated corpus ({len(generated):,} mails, one core)", f"{rate(generated):,.0f} mails/s", ""),
        (f"parse_mail, real-world corpus ({len(real)} mails, one core)", f"{rate(real):,.0f} mails/s", ""),
    ]
    # 2,000 of the generated mails (each parsed four times), the real-world ones 8 times
    for name, mails, reps in (("generated", generated[:2000], 2), ("real-world", real, 4)):
        with_, without, alone = detection_cost(mails, reps)
        rates = f"{len(mails) / with_:,.0f} / {len(mails) / without:,.0f} mails/s"
        rows.append((f"  with / without language detection, {name} (CPU, mail by mail)",
                     f"{rates} ({(with_ - without) / without:+.1%})", "<= +5 %"))
        rows.append((f"  language detection alone, {name} ({alone / len(mails) * 1e6:.0f} us a mail)",
                     f"{alone / with_:.1%} of parse CPU", "<= 5 %"))
    for name, mails in (("real-world corpus", real), ("undeclared ru/el/zh/ja bodies", undeclared_mails())):
        reached, calls, alone, parsing = charset_detection_cost(mails)
        per_call = f"{alone / calls * 1e6:,.0f} us a call" if calls else "no call"
        rows.append((f"  charset detector (charset-normalizer), {name}: {reached} of {len(mails)} mails call it",
                     f"{per_call}; {alone / parsing:.1%} of parse CPU", ""))
    return rows
