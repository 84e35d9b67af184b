from datetime import UTC, datetime, timedelta

import pytest

from bot.core import correlation
from bot.core.domain import InboundMessage

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("subject,number", [
    ("[TB-12] Invoice question", 12),
    ("Re: [TB-12] Invoice question", 12),
    ("AW: RE: [TB-12] Invoice question", 12),
    ("Odp: [ TB - 12 ] faktura", 12),
    ("Antw: [tb#77] offerte", 77),
    ("RE: [TB-4711", 4711),            # truncated by a mail client
    ("Fwd: about TB 5 and more", 5),
    ("Re: [TB-1] old, Re: [TB-9] new", 9),  # the newest tag wins
    ("Invoice question", None),
    ("STB-12 is a product code", None),     # not our tag: part of a word
    ("[TB-] nothing", None),
])
def test_subject_tag(subject, number):
    assert correlation.subject_tag(subject, "TB") == number


def test_tag_prefix_is_literal_text():
    assert correlation.subject_tag("[T.B-3] x", "T.B") == 3
    assert correlation.subject_tag("[TXB-3] x", "T.B") is None


@pytest.mark.parametrize("subject,clean", [
    ("Re: AW: Odp: Antw: FW: question", "question"),
    ("RE[2]: question", "question"),
    ("Re: [TB-12] Re: question", "question"),
    ("Fwd: [TB-12]  question  ", "question"),
])
def test_clean_subject(subject, clean):
    assert correlation.clean_subject(subject, "TB") == clean


def test_tagged_subject():
    assert correlation.tagged_subject("Re: question", "TB", 5) == "Re: [TB-5] question"
    assert correlation.tagged_subject("", "TB", 5, reply=False) == "[TB-5] (no subject)"


def test_candidate_ids_order_and_dedupe():
    m = InboundMessage(in_reply_to=["c@x"], references=["a@x", "b@x", "c@x"],
                       bounced_message_ids=["z@x"])
    assert correlation.candidate_ids(m) == ["z@x", "c@x", "b@x", "a@x"]


def test_correlate_prefers_message_ids_then_tag():
    m = InboundMessage(subject="Re: [TB-3] x", in_reply_to=["ours@tb"])
    lookup = {"ours@tb": 7}.get
    found = correlation.correlate(m, "TB", lambda ids: next((lookup(i) for i in ids if lookup(i)), None),
                                  lambda n: n)
    assert found == correlation.Match(7, "message-id")
    found = correlation.correlate(m, "TB", lambda ids: None, lambda n: n if n == 3 else None)
    assert found == correlation.Match(3, "subject-tag")
    # A tag naming no ticket (a typo, another system's tag) makes a new ticket.
    found = correlation.correlate(m, "TB", lambda ids: None, lambda n: None)
    assert found == correlation.Match(None, "new")


def test_reopen_decision():
    assert correlation.reopen_decision("open", None, NOW, 14) == "append"
    assert correlation.reopen_decision("waiting", None, NOW, 14) == "append"
    assert correlation.reopen_decision("resolved", NOW - timedelta(days=14), NOW, 14) == "reopen"
    assert correlation.reopen_decision("closed", NOW - timedelta(days=14, seconds=1), NOW, 14) == "new-linked"


def test_dedupe_key():
    assert correlation.dedupe_key("a@b", "ff") == "mid:a@b"
    assert correlation.dedupe_key(None, "ff") == "sha256:ff"
    long_key = correlation.dedupe_key("x" * 1000, "ff")
    assert len(long_key) <= 400 and long_key.startswith("mid-sha256:")
    # never cut: two long ids that share their first 400 characters are two keys
    assert correlation.dedupe_key("x" * 1000 + "y", "ff") != long_key
