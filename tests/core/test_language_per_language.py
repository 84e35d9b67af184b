"""Language right on at least 95 % of the mails IN EACH of the desk's languages (issue 13).

The overall figure can hide one language: German was read right in 19 of 21 corpus mails
(90.5 %) while the corpus as a whole stood at 95.7 %. The real-world corpus has few Dutch
and no Polish mails (it is other projects' fixtures), so the two routing sets, written by
hand in all four languages, are scored too: per set and language, and pooled per language.
A language with fewer than ``MIN_MAILS`` mails in a set is printed but not held to the bar
on its own there (one mail is 0 or 100 %); the pooled figure holds every language.
``python -m tests.core.test_language_per_language`` prints the table and every miss.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.core.mail.parse import parse_mail
from tests.fixtures.realworld.check import load_readings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LANGUAGES = ("nl", "en", "pl", "de")
BAR = 0.95
MIN_MAILS = 10
OWN = ("support@ticketbot.example",)


def _labels(name: str) -> Callable[[], list[dict]]:
    return lambda: yaml.safe_load((FIXTURES / name / "labels.yaml").read_text(encoding="utf-8"))


# set -> (its readings, their language key); the real-world corpus has a file per mail
SETS = {
    "realworld": (load_readings, "language"),
    "routing_eval": (_labels("routing_eval"), "lang"),
    "routing_holdout": (_labels("routing_holdout"), "lang"),
}


@functools.cache
def scores() -> dict[str, dict[str, tuple[int, int, tuple[str, ...]]]]:
    """set -> language -> (right, of, misses)."""
    out: dict[str, dict[str, tuple[int, int, tuple[str, ...]]]] = {}
    for name, (readings, key) in SETS.items():
        right: collections.Counter[str] = collections.Counter()
        total: collections.Counter[str] = collections.Counter()
        misses: dict[str, list[str]] = collections.defaultdict(list)
        for entry in readings():
            lang = entry[key]
            if lang not in LANGUAGES:
                continue
            msg = parse_mail((FIXTURES / name / "mails" / entry["file"]).read_bytes(), OWN)
            total[lang] += 1
            if msg.language == lang:
                right[lang] += 1
            else:
                misses[lang].append(f"{entry['file']}: {msg.language}")
        out[name] = {lang: (right[lang], total[lang], tuple(misses[lang])) for lang in LANGUAGES}
    return out


def pooled(lang: str) -> tuple[int, int]:
    return (sum(s[lang][0] for s in scores().values()), sum(s[lang][1] for s in scores().values()))


def table() -> str:
    lines = [f"{'set':<16}" + "".join(f"{lang:>16}" for lang in LANGUAGES)]
    rows = [(name, {lang: s[lang][:2] for lang in LANGUAGES}) for name, s in scores().items()]
    rows.append(("pooled", {lang: pooled(lang) for lang in LANGUAGES}))
    for name, cells in rows:
        line = f"{name:<16}"
        for lang in LANGUAGES:
            right, of = cells[lang]
            line += f"{f'{right}/{of} {right / of:.1%}' if of else '-':>16}"
        lines.append(line)
    return "\n".join(lines)


def test_the_table_is_printed(capsys):
    with capsys.disabled():
        print("\nlanguage right, per set and language:\n" + table())
    assert all(pooled(lang)[1] >= MIN_MAILS for lang in LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_pooled_at_least_95_percent(lang):
    right, of = pooled(lang)
    assert right / of >= BAR, f"{lang}: {right}/{of}"


@pytest.mark.parametrize("name", list(SETS))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_in_each_set_at_least_95_percent(name, lang):
    right, of, misses = scores()[name][lang]
    if of < MIN_MAILS:
        assert of == 0 or name == "realworld", f"{name} has only {of} {lang} mails"
        return
    assert right / of >= BAR, f"{name} {lang}: {right}/{of}\n" + "\n".join(misses)


if __name__ == "__main__":
    for set_name, per_lang in scores().items():
        for code, (_, _, missed) in per_lang.items():
            for miss in missed:
                print(f"{set_name} {code} {miss}")
    print(table())
