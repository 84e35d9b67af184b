"""detect_language: stopword counts for nl / en / pl, default when unsure."""

from __future__ import annotations

import pytest

from bot.core.mail.language import detect_language
from bot.core.mail.parse import parse_mail
from tests.conftest import MAIL_FIXTURES


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hierbij zeggen wij ons contract op per 1 januari.", "nl"),
        ("Kunnen jullie de factuur opnieuw sturen? Met vriendelijke groet", "nl"),
        ("Could you please send the invoice again? Thanks and regards", "en"),
        ("The chairs have not arrived yet, can you check the order?", "en"),
        ("Proszę o przesłanie faktury, dziękuję.", "pl"),
        ("Dzień dobry, czy zamówienie jest już gotowe?", "pl"),
        # Diacritics alone count as Polish evidence.
        ("Zażółć gęślą jaźń", "pl"),
    ],
)
def test_detects(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "OK",
        "Thanks",  # one hit only
        "12345 !!! ???",
        "the de",  # one English, one Dutch hit: a tie
    ],
)
def test_weak_or_tied_evidence_gives_default(text):
    assert detect_language(text) is None
    assert detect_language(text, default="nl") == "nl"


def test_shared_words_do_not_count():
    # "is", "in", "we", "to" are shared between the languages and ignored.
    assert detect_language("is in we to is in we to") is None


@pytest.mark.parametrize(
    "name, expected",
    [
        ("outlook_reply_nl.eml", "nl"),
        ("gmail_reply_en.eml", "en"),
        ("apple_mail_pl.eml", "pl"),
        ("out_of_office.eml", "nl"),
        ("cp1252_as_latin1.eml", "nl"),
        ("html_only.eml", "nl"),
        ("attachments.eml", "pl"),
        ("rfc2047_subject.eml", "pl"),
        ("cancellation_nl.eml", "nl"),
        ("mailing_list.eml", "en"),
        ("bounce_dsn.eml", "en"),
    ],
)
def test_fixture_languages(name, expected):
    assert parse_mail((MAIL_FIXTURES / name).read_bytes()).language == expected
