"""What the bot says to staff in Slack (bot/core/slack_words.py) and what a refusal says
in each channel (bot/core/refusal_texts.py) exist in every staff language, nl, en and
pl, with the same placeholders; every text the code asks for is there; and no channel
but the command line names a command-line flag or command (issue 14)."""

from __future__ import annotations

import copy
import re
import string
from pathlib import Path

import pytest

from bot.core import refusal_texts, slack_words
from bot.core.refusal_texts import CHANNELS, REFUSALS
from bot.core.render import STAFF_LANGUAGES
from bot.core.slack_words import HELP, TEXTS
from bot.desk.errors import Refused

BOT = Path(__file__).resolve().parents[2] / "bot"


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def problems(texts: dict, help_: dict, refusals: dict) -> list[str]:
    """Every text missing in a staff language, or with other placeholders than its English."""
    want = set(STAFF_LANGUAGES)
    out = []
    if set(help_) != want:
        out.append(f"HELP: in {', '.join(sorted(help_))}")
    for key, langs in sorted(texts.items()):
        if set(langs) != want:
            out.append(f"{key}: in {', '.join(sorted(langs))}")
        out += [f"{key}.{lang}: placeholders {sorted(fields(t))}, en has {sorted(fields(langs['en']))}"
                for lang, t in sorted(langs.items()) if fields(t) != fields(langs.get("en", t))]
    for code, variants in sorted(refusals.items()):
        if "*" not in variants:
            out.append(f"{code}: no words for every channel (*)")
        for channel, langs in sorted(variants.items()):
            if channel != "*" and channel not in CHANNELS:
                out.append(f"{code}: unknown channel {channel}")
            if set(langs) != want:
                out.append(f"{code}[{channel}]: in {', '.join(sorted(langs))}")
            out += [f"{code}[{channel}].{lang}: placeholders {sorted(fields(t))}, en has "
                    f"{sorted(fields(langs['en']))}"
                    for lang, t in sorted(langs.items()) if fields(t) != fields(langs.get("en", t))]
    return out


def test_every_text_is_in_every_staff_language_with_the_same_placeholders():
    assert set(refusal_texts.LANGUAGES) == set(STAFF_LANGUAGES)
    assert problems(TEXTS, HELP, REFUSALS) == []


def test_a_text_missing_in_one_language_fails():
    texts, help_, refusals = copy.deepcopy(TEXTS), copy.deepcopy(HELP), copy.deepcopy(REFUSALS)
    del texts["taken"]["pl"]
    texts["held"]["nl"] = "{tag}: factuur on hold"  # a placeholder lost in translation
    del refusals["reopen-first"]["mail"]["nl"]
    del help_["en"]
    assert problems(texts, help_, refusals) == [
        "HELP: in nl, pl",
        "held.nl: placeholders ['tag'], en has ['held', 'invoice', 'tag']",
        "taken: in en, nl",
        "reopen-first[mail]: in en, pl"]


def sources() -> dict[Path, str]:
    return {p: p.read_text() for p in BOT.rglob("*.py")}


def test_every_slack_text_the_code_asks_for_is_in_the_table():
    used, prefixes = set(), set()
    for text in sources().values():
        used |= set(re.findall(r"\bsay\([^,()]+,\s*[\"']([a-z-]+)[\"']", text))
        used |= set(re.findall(r"\bplain\([\"']([a-z-]+)[\"']\)", text))  # the modal's
        used |= set(re.findall(r"\bsay\([^,()]+,\s*[\"'][a-z-]+[\"'] if [^()]*? else [\"']([a-z-]+)[\"']",
                               text))
        prefixes |= set(re.findall(r"\bsay\([^,()]+,\s*f[\"']([a-z-]+)\{", text))
    assert len(used) > 40 and {"taken", "not-done", "modal-title", "failed"} <= used
    assert sorted(used - set(TEXTS)) == []
    assert prefixes == {"too-late-", "usage-"}
    assert all(any(k.startswith(p) for k in TEXTS) for p in prefixes)
    # and no text is left that nothing says
    assert sorted(k for k in set(TEXTS) - used if not k.startswith(tuple(prefixes))) == []


def test_every_refusal_code_the_code_raises_has_words():
    raised = set()
    for path, text in sources().items():
        if path.parent.name in ("desk", "core"):  # (the API's error codes are its own)
            raised |= set(re.findall(r"\bcode=\"([a-z-]+)\"", text))
        raised |= set(re.findall(r"\"([a-z-]+)\"\)\s*$", text, re.M)) & set(REFUSALS) \
            if path.name == "worktime.py" else set()
    staff = (BOT / "core" / "staff_commands.py").read_text()
    raised |= set(re.findall(r"\"(mail-[a-z-]+|lost-needs-reason)\"", staff))
    assert len(raised) > 30 and {"not-duration", "mail-which-invoice", "reason-needed"} <= raised
    assert sorted(raised - set(REFUSALS)) == []


CLI_WORDS = re.compile(r"(?<![\w-])--[a-z]|\bticketbot [a-z]")


def test_no_channel_but_the_command_line_names_a_flag_or_a_command():
    for code, variants in REFUSALS.items():
        for channel, langs in variants.items():
            for lang, text in langs.items():
                assert not CLI_WORDS.search(text), (code, channel, lang, text)
    for langs in (TEXTS, {"help": HELP}):
        for key, by_lang in langs.items():
            for text in by_lang.values():
                assert not CLI_WORDS.search(text), (key, text)


@pytest.mark.parametrize("code, cli, channel, language, said", [
    ("reason-needed", "say why (--reason): reassignments are recorded with their reason", "slack", "en",
     "say why: `/ticket assign 12 NAME reason`"),
    ("reason-needed", "say why (--reason): …", "mail", "pl", "podaj powód po imieniu: #assign IMIĘ powód"),
    ("reason-needed", "say why (--reason): …", "web", "nl", "zeg waarom, in het veld reden naast Toewijzen"),
    ("lost-needs-reason", "a lost customer needs a reason (--reason)", "mail", "nl",
     "#lost heeft een reden nodig: #lost te duur"),
    ("lost-needs-reason", "a lost customer needs a reason (--reason)", "api", "en",
     "a lost customer needs a reason: \"reason\" in the request's JSON"),
    ("operator-only", "webhook subscriptions are changed by the operator (rules.yaml, `ticketbot "
     "webhooks`) or a trusted integration (the API)", "slack", "en",
     "webhook subscriptions are changed by the desk's operator (in rules.yaml) or a trusted "
     "integration; ask the operator"),
])
def test_each_channel_says_what_its_reader_can_do_there(code, cli, channel, language, said):
    exc = Refused(cli, code=code, ticket=12)
    assert exc.words(channel, language) == said
    assert exc.words("cli", language) == cli.rstrip(".")  # the command line keeps its own words
    assert str(exc) == cli


def test_a_refusal_in_the_readers_language_with_its_status_translated():
    exc = Refused("ticket 4 is resolved; reopen it first", code="reopen-first", ticket=4, status="resolved")
    assert exc.words("slack", "pl") == ("zgłoszenie 4 jest rozwiązane; najpierw otwórz je ponownie: "
                                        "`/ticket reopen 4`")
    assert exc.words("mail", "nl").startswith("ticket 4 is opgelost, en een afgesloten ticket wordt "
                                              "niet per mail heropend")
    assert exc.words("web", "de") == "ticket 4 is resolved; reopen it first (Reopen, on this page)"
    assert exc.words("api", "en") == "ticket 4 is resolved; reopen it first (POST /tickets/4/reopen)"
    # no words here: the message as it is; the API keeps its English without words of its own
    assert Refused("no task 7.").words("slack", "nl") == "no task 7"
    assert Refused("there is no ticket 7", code="no-ticket", number=7).words("api", "nl") == "there is no ticket 7"
    assert Refused("x", code="no-ticket").words("slack", "nl") == "x"  # a param missing: never a crash


def test_slack_words_fall_back_to_english_for_another_language():
    assert slack_words.say("de", "taken", tag="[TB-1]") == "[TB-1] is yours now."
    assert slack_words.say("pl", "taken", tag="[TB-1]") == "[TB-1] jest teraz Twoje."
    assert slack_words.help_text("nl").startswith("`/ticket`-opdrachten:")
