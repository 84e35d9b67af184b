"""Routing read ahead (bot/core/rules/ahead.py): a parser process answers the rules'
message conditions; the desk then routes with the sender's real standing (and asks the
kind model itself). The decision must be the one the desk makes alone, for every labelled mail and
every standing a sender can have."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from bot.adapters.rules_file import load_rules
from bot.config import KIND_MODEL
from bot.core.mail.prepare import prepare
from bot.core.rules import ahead
from bot.core.rules.engine import route
from bot.core.rules.facts import Facts, Miss
from bot.core.rules.kind_model import apply, load
from bot.core.rules.reading import message_facts

ROOT = Path(__file__).resolve().parents[2]
MAILS = sorted((ROOT / "tests/fixtures/routing_eval/mails").iterdir()) + \
    sorted((ROOT / "tests/fixtures/routing_holdout/mails").iterdir())


@pytest.fixture(scope="module")
def desk_files():
    rs = load_rules(ROOT / "rules.yaml")
    model = load(KIND_MODEL)
    return rs, model, ahead.Sources(str(ROOT / "rules.yaml"), rs.digest)


def _decide(rs, model, facts: Facts):
    d = route(rs, facts)
    apply(rs, facts, d, model, explain=False)
    return d


def test_read_ahead_gives_the_desks_own_decision_for_every_labelled_mail(desk_files):
    """Two standings a mail is not read ahead under (a customer without an advisor, a
    prospect) on all 1,643 labelled mails: same decision, same trace (every condition's
    answer and why), the same kind model's proposal on top, and no message condition left
    to ask."""
    rs, model, sources = desk_files
    advisor = next(iter(rs.people))
    standings = [{"customer": "known", "company": "Acme", "advisor": None},
                 {"customer": "prospect", "company": "New BV", "advisor": None}]
    assert len(MAILS) >= 1_600
    asked_again = differ = 0
    for path in MAILS:
        msg = prepare(path.read_bytes(), path.name).message
        assert msg is not None
        got = ahead.read_ahead(msg, sources)
        assert got is not None and got.rules_digest == rs.digest
        got = pickle.loads(pickle.dumps(got))  # as it crosses from the parser process
        for standing in standings:
            alone = _decide(rs, model, message_facts(msg, **standing))
            facts = message_facts(msg, **standing).remember(dict(got.memo))
            read = _decide(rs, model, facts)
            differ += (alone.as_dict(), alone.trace) != (read.as_dict(), read.trace)
            asked_again += len(facts.memo or {}) - len(got.memo)
    assert differ == 0
    assert asked_again == 0
    # the standings read ahead are the ones the memo was made under
    msg = prepare(MAILS[0].read_bytes(), "m").message
    assert msg is not None
    got = ahead.read_ahead(msg, sources)
    assert got is not None
    for standing in ({"customer": "known", "company": "Acme", "advisor": advisor}, {}):
        alone = _decide(rs, model, message_facts(msg, **standing))
        read = _decide(rs, model, message_facts(msg, **standing).remember(dict(got.memo)))
        assert (alone.as_dict(), alone.trace) == (read.as_dict(), read.trace)


def test_a_memo_answer_is_used_not_asked_again(desk_files):
    """The memo is what the desk believes: a condition's remembered answer decides (the
    test that the desk really does not read the text again)."""
    rs, _, _ = desk_files
    i, leaf = next((i, c) for i, c in enumerate(rs.message_leaves) if c.key == "subject")
    facts = Facts(subject="nothing of interest")
    assert not leaf.test(facts)
    assert leaf.test(Facts(subject="nothing of interest").remember({i: "found 'x'"})) == "found 'x'"
    memo: dict = {}
    leaf.test(Facts(subject="nothing").remember(memo))
    assert i in memo and not memo[i]


def test_miss_answers_keep_their_reason_across_processes():
    m = pickle.loads(pickle.dumps(Miss("negated: 'niet'")))
    assert isinstance(m, Miss) and not m and str(m) == "negated: 'niet'"


@pytest.fixture
def fresh_process(monkeypatch):
    """A parser process that holds no rules or file stamps yet."""
    monkeypatch.setattr(ahead, "_rules", None)
    monkeypatch.setattr(ahead, "_stamps", {})
    monkeypatch.setattr(ahead, "_told", set())


def test_nothing_is_read_ahead_under_other_rules(desk_files, tmp_path, fresh_process):
    """The parser process answers only with the rules the desk loaded: an edited rules
    file (not yet, or never, reloaded by the desk) means the desk reads the mail itself."""
    rs, _, _ = desk_files
    msg = prepare(MAILS[0].read_bytes(), "m").message
    assert msg is not None
    rules = tmp_path / "rules.yaml"
    shutil.copy(ROOT / "rules.yaml", rules)
    mine = ahead.Sources(str(rules), rs.digest)
    assert ahead.read_ahead(msg, mine) is not None
    rules.write_text(rules.read_text() + "\n# edited\n")
    assert ahead.read_ahead(msg, mine) is not None  # the copy held is the desk's
    other = ahead.Sources(str(rules), "0" * 64)
    assert ahead.read_ahead(msg, other) is None


def test_a_rules_file_with_crlf_line_ends_is_read_ahead(tmp_path, fresh_process):
    """The desk's digest is of the text as read (newlines made \n): a file saved with
    Windows line ends is the same rules on both sides."""
    rules = tmp_path / "rules.yaml"
    rules.write_bytes((ROOT / "rules.yaml").read_bytes().replace(b"\n", b"\r\n"))
    rs = load_rules(rules)
    msg = prepare(MAILS[0].read_bytes(), "m").message
    assert msg is not None
    got = ahead.read_ahead(msg, ahead.Sources(str(rules), rs.digest))
    assert got is not None and got.rules_digest == rs.digest and got.memo


def test_a_file_the_desk_has_not_loaded_is_not_read_again_for_every_mail(
        desk_files, tmp_path, fresh_process, monkeypatch, caplog):
    """Edited but not (or never) reloaded by the desk: each mail looks at the file's size
    and time only; a missing file is told once, not once per mail."""
    rs, _, _ = desk_files
    rules = tmp_path / "rules.yaml"
    rules.write_text((ROOT / "rules.yaml").read_text() + "\n# edited\n")
    reads = []
    real = ahead.Path.read_text

    def counted(self, *args, **kwargs):
        reads.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ahead.Path, "read_text", counted)
    msg = prepare(MAILS[0].read_bytes(), "m").message
    assert msg is not None
    for _ in range(3):
        assert ahead.read_ahead(msg, ahead.Sources(str(rules), rs.digest)) is None
    assert len(reads) == 1
    gone = ahead.Sources(str(tmp_path / "gone.yaml"), rs.digest)
    with caplog.at_level("WARNING", logger="bot.ingest"):
        for _ in range(3):
            assert ahead.read_ahead(msg, gone) is None
    assert len([r for r in caplog.records if "gone.yaml" in r.getMessage()]) == 1


def test_the_desk_ignores_what_was_read_under_other_rules(desk_files):
    """routing.decide takes the memo only when its digest is that of the rules in force."""
    rs, model, sources = desk_files
    msg = prepare(MAILS[0].read_bytes(), "m").message
    assert msg is not None
    got = ahead.read_ahead(msg, sources)
    assert got is not None
    wrong = dict.fromkeys(got.memo, "found 'forged'")  # every condition would hold
    from bot.desk import directory, routing

    class NoDatabase:
        pass

    def decide(a):
        import unittest.mock as mock
        with mock.patch.object(directory, "identify", return_value=directory.NOBODY):
            return routing.decide(NoDatabase(), rs, msg, None, ours={"x"}, model=model, ahead=a)[1]

    alone = decide(None)
    assert decide(ahead.Ahead("f" * 64, wrong)).as_dict() == alone.as_dict()
    assert decide(ahead.Ahead(rs.digest, wrong)).as_dict() != alone.as_dict()
