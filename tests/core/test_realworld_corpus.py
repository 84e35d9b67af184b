"""The parser scored against 237 real-world mails and their human readings.

``tests/fixtures/realworld/`` holds mails from other projects' test suites (see its
README and SOURCES.md) with an expected reading of each in a file of its own
(``readings/<source>/<name>.yaml``), made without the bot. Every
mail is parsed with ``parse_mail`` and compared field by field; the agreement table is
printed (``pytest -s``, or ``python -m tests.core.test_realworld_corpus`` for the table
and every disagreement) and each field must stay at or above its floor. The floors are
what the parser reached; raise them when it gets better, never lower them to pass.

How a field is compared:

- ``from_addr``, ``from_name``, ``subject``: equal after whitespace is collapsed
  (``str.split``: no-break and ideographic spaces too).
- ``body``: the expected excerpt occurs in the parsed ``text`` (whitespace collapsed on
  both sides); mails whose excerpt is empty (no human text) are not scored.
- ``attachments``: the list of file names, in order. A ``message/*`` part the bot
  names itself (its subject + ``.eml``) is left out unless the reading names it too:
  the reading lists only names the mail declares. A declared name that is a path
  (``C:\\TEMP\\x.png``) is compared by its last part: the bot keeps only that, on purpose
  (a name is never a path on the desk).
- ``language``: only mails whose expected language is one the bot detects; the bot's
  ``None`` (unsure: one-word mails such as "Hello") counts as wrong.
- ``ack language``: the same mails, the language the acknowledgement is written in:
  the detected one, else the shipped default (``TICKETBOT_LANGUAGE=en``).
- ``machine``: of the mails a machine sent (bounces, reports, robots, newsletters,
  notifications, spam), those the bot refuses an automatic answer (``auto_reason``,
  bounce, delivery report). The issue's bar is all of them.
- ``person``: of the mails a person wrote, those the bot would acknowledge. A person's
  post that came through a mailing list (List-Id, ``Precedence: list/bulk``) counts as
  read right when it is refused: RFC 3834 forbids answering list mail automatically;
  so does a mail whose reading has no sender address (nobody to answer).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.core.domain import InboundMessage
from bot.core.mail.parse import parse_mail
from tests.fixtures.realworld.check import load_readings
from tests.fixtures.realworld.check import problems as corpus_problems

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "realworld"
# Languages the bot detects (bot/core/mail/language.py).
DETECTED_LANGUAGES = frozenset({"nl", "en", "pl", "de"})
OWN = ("support@ticketbot.example",)
DEFAULT_LANGUAGE = "en"  # TICKETBOT_LANGUAGE's default

# Agreement floors (share of scored mails). Measured first; raised as the parser got better.
FLOORS = {
    "from_addr": 1.0,       # first measured 98.6 %
    "from_name": 1.0,       # 98.2 %
    "subject": 0.995,       # 97.3 %
    "body": 0.995,          # 97.1 %; 98.6 %; 99.5 % (issue 13: stray alternative, type without ";")
    "attachments": 0.995,   # 96.8 %; 98.6 %; 99.5 % (named inline text part, quoted Windows path)
    "language": 0.97,       # 63.8 %; 75.9 % (stopwords with German); 95.7 % with lingua (issue 13);
                            # 97.2 %: weekdays, forward-header labels and "Abend" as stopwords
                            # (German 90.5 -> 100 %; per language: tests/core/test_language_per_language.py)
    "ack language": 0.99,   # 84.4 %; 95.7 %; 97.9 % with lingua; 99.3 %
    "machine": 1.0,         # 73.7 %; 85.3 %, then 84.2 %: a noreply sender with a person in Reply-To
                            # is that person (web forms, shops: issue 13), so a Gmail invitation
                            # notice from gmail-noreply@ with the inviter in Reply-To is answered;
                            # 90.5 %: Hebrew out-of-office subject, a lead as XML, an svn commit,
                            # "配信専用" and unsubscribe links in the mail's own text; 97.9 %: forged,
                            # mass-mailed and script-made mail (bot/core/mail/untrusted.py); 98.9 %:
                            # headers half RFC 2047, half raw non-UTF-8 bytes; 100 %: the unsubscribe
                            # footer in en/ru/fr/it/es/pt too (MACHINE_EXCEPTIONS is empty).
    "person": 1.0,          # 100 %
}


# The machine mails the bot still acknowledges, each with why no general rule catches it.
# None since issue 13's last two: the nine once listed are refused now
# (bot/core/mail/untrusted.py, autoreply.py): SPF softfail, a Message-ID without "@", 21
# recipients in 21 domains, Outlook Express without MIME-Version and Message-ID, a
# quoted-printable multipart, a gateway's note that it removed a .js file, CDO (a
# program) sending from bookings@, a From RFC 2047-encoded beside a Subject in raw
# windows-1252 bytes, and a Russian advert whose footer says how to stop receiving it.
# Spam written to look like a person's mail in every respect still needs a spam
# filter's verdict in front of the desk (X-Spam-Flag / X-Spam-Status / Exchange SCL are
# read): add it here, with why, rather than lower the floor.
MACHINE_EXCEPTIONS: dict[str, str] = {}


def _ws(text: str) -> str:
    return " ".join(text.split())


# A list's copy of a person's post: no automatic answer, rightly (RFC 3834).
_LIST_REASONS = ("list-id", "precedence: list", "precedence: bulk")


def no_automatic_answer(msg: InboundMessage) -> bool:
    """As the desk decides (bot/desk/outgoing.py: no sender address, no automatic mail)."""
    return msg.auto_reason is not None or msg.is_bounce or msg.is_delivery_report or not msg.from_addr


@dataclass
class Score:
    agree: int = 0
    total: int = 0
    misses: list[tuple[str, object, object]] = field(default_factory=list)

    def add(self, file: str, ok: bool, expected: object, got: object) -> None:
        self.total += 1
        if ok:
            self.agree += 1
        else:
            self.misses.append((file, expected, got))

    @property
    def share(self) -> float:
        return self.agree / self.total if self.total else 1.0


def _attachment_names(msg: InboundMessage, expected: list[str]) -> list[str]:
    names = []
    for a in msg.attachments:
        if not a.filename:
            continue
        if a.content_type.startswith("message/") and a.filename not in expected:
            continue  # a name the bot gave an unnamed attached message
        names.append(a.filename)
    return names


def score_entry(entry: dict, msg: InboundMessage, scores: dict[str, Score]) -> None:
    f = entry["file"]
    scores["from_addr"].add(f, msg.from_addr == entry["from_addr"], entry["from_addr"], msg.from_addr)
    scores["from_name"].add(f, _ws(msg.from_name) == _ws(entry["from_name"]), entry["from_name"], msg.from_name)
    scores["subject"].add(f, _ws(msg.subject) == _ws(entry["subject"]), entry["subject"], msg.subject)
    excerpt = _ws(entry["body_excerpt"])
    if excerpt:
        text = _ws(msg.text)
        scores["body"].add(f, excerpt in text, excerpt, text[:160])
    expected_names = [_ws(re.split(r"[\\/]", n)[-1]) for n in entry["attachments"]]
    got_names = [_ws(n) for n in _attachment_names(msg, expected_names)]
    scores["attachments"].add(f, got_names == expected_names, expected_names, got_names)
    if entry["language"] in DETECTED_LANGUAGES:
        scores["language"].add(f, msg.language == entry["language"], entry["language"], msg.language)
        ack = msg.language or DEFAULT_LANGUAGE
        scores["ack language"].add(f, ack == entry["language"], entry["language"], ack)
    refused = no_automatic_answer(msg)
    if entry["machine"]:
        scores["machine"].add(f, refused, "no automatic answer", msg.auto_reason)
    else:
        ok = not refused or (msg.auto_reason or "").startswith(_LIST_REASONS) or not entry["from_addr"]
        scores["person"].add(f, ok, "acknowledged", msg.auto_reason)


@functools.cache
def corpus_scores() -> dict[str, Score]:
    entries = load_readings()
    scores = {name: Score() for name in FLOORS}
    for entry in entries:
        raw = (CORPUS / "mails" / entry["file"]).read_bytes()
        score_entry(entry, parse_mail(raw, OWN), scores)
    return scores


def table(scores: dict[str, Score]) -> str:
    lines = [f"{'field':<13} {'agree':>6} {'of':>5} {'share':>7} {'floor':>7}"]
    for name, s in scores.items():
        lines.append(f"{name:<13} {s.agree:>6} {s.total:>5} {s.share:>7.1%} {FLOORS[name]:>7.1%}")
    return "\n".join(lines)


def test_corpus_is_complete():
    """A reading file per mail (readings/<source>/<name>.yaml for mails/<source>/<name>.eml),
    each well-formed and its source documented: the corpus's own check.py."""
    errors, mails, readings, _ = corpus_problems()
    assert mails >= 150
    assert readings == mails
    assert errors == []


def test_agreement_table_is_printed(capsys):
    scores = corpus_scores()
    with capsys.disabled():
        print("\nreal-world corpus, agreement with the human readings:\n" + table(scores))
    assert all(s.total > 0 for s in scores.values())


@pytest.mark.parametrize("name", list(FLOORS))
def test_field_agreement_at_least_its_floor(name):
    s = corpus_scores()[name]
    misses = "\n".join(f"  {f}: expected {e!r}, got {g!r}" for f, e, g in s.misses[:20])
    assert s.share >= FLOORS[name], f"{name}: {s.agree}/{s.total} = {s.share:.1%} < {FLOORS[name]:.1%}\n{misses}"


def test_the_score_can_fail():
    """A wrong reading lowers the score: the comparison is not vacuous."""
    entry = {"file": "x.eml", "from_addr": "a@b.example", "from_name": "A", "subject": "Hi",
             "body_excerpt": "hallo da", "attachments": ["a.pdf"], "language": "de", "machine": True}
    scores = {name: Score() for name in FLOORS}
    score_entry(entry, InboundMessage(from_addr="x@b.example", text="goodbye"), scores)
    score_entry(entry | {"machine": False}, InboundMessage(auto_reason="robot-sender: noreply"), scores)
    assert all(s.agree == 0 for s in scores.values())
    assert scores["machine"].total == scores["person"].total == 1


if __name__ == "__main__":  # the table and every disagreement
    result = corpus_scores()
    for field_name, s in result.items():
        for f, e, g in s.misses:
            print(f"{field_name:<11} {f}\n    expected {e!r}\n    got      {g!r}")
    print(table(result))


def test_every_machine_mail_answered_is_a_known_exception():
    """Zero acknowledgements to machine senders, except the listed ones (each with why)."""
    answered = {f for f, _, _ in corpus_scores()["machine"].misses}
    assert answered == set(MACHINE_EXCEPTIONS)


# Sources whose mails are under weak-copyleft licences (SOURCES.md): the issue asks for
# permissively licensed mail, so its bars must hold without them too.
WEAK_COPYLEFT = frozenset({"deltachat", "horde"})
ISSUE_BARS = {"from_addr": 0.99, "from_name": 0.99, "subject": 0.99, "attachments": 0.99,
              "body": 0.98, "language": 0.95, "machine": 1.0}


def test_the_issues_bars_hold_on_the_permissively_licensed_mails_alone():
    entries = [e for e in load_readings() if e["source"] not in WEAK_COPYLEFT]
    assert len(entries) >= 150
    scores = {name: Score() for name in FLOORS}
    for entry in entries:
        score_entry(entry, parse_mail((CORPUS / "mails" / entry["file"]).read_bytes(), OWN), scores)
    low = {name: f"{scores[name].share:.1%}" for name, bar in ISSUE_BARS.items() if scores[name].share < bar}
    assert low == {}
