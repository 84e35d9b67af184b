"""detect_language: stopwords, then lingua, for nl / en / pl / de; default when unsure."""

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
        # German, with the words it shares with Dutch (die, was, hier, er, dank)
        ("Sehr geehrte Damen und Herren, die Rechnung ist leider falsch.", "de"),
        ("Hallo, was ist hier los? Er hat die Bestellung nicht bekommen. Vielen Dank", "de"),
        ("Wir kündigen hiermit den Vertrag zum 31.12.", "de"),
        ("Die Hasen und die Frösche", "de"),
        # ... and Dutch with the same words stays Dutch
        ("Die factuur was niet goed, er staat hier een fout in. Dank u wel", "nl"),
        ("Wat is er aan de hand met mijn bestelling?", "nl"),
    ],
)
def test_detects(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "OK",
        "12345 !!! ???",
        "Gracias, saludos",  # short, and surely another language
        "Grazie mille per il vostro aiuto, a presto e buona giornata a tutti voi",
        "the de",  # one English, one Dutch hit: a tie
    ],
)
def test_weak_or_tied_evidence_gives_default(text):
    assert detect_language(text) is None
    assert detect_language(text, default="nl") == "nl"


@pytest.mark.parametrize(
    "text, expected, how",
    [
        # a short mail whose only known word is one language's
        ("Re: Test\nHello", "en", "one word"),
        ("Bedankt!", "nl", "one word"),
        ("Dziękuję", "pl", "stopwords"),
        # short, no stopword: the model among the desk's languages only, when sure
        ("Test headers", "en", "model, short text, desk languages"),
        ("Zie bijgevoegde brief. Mehmet", "nl", "model, short text, desk languages"),
        # no two stopwords of one language, but enough text for the model
        ("Lieferung erhalten, Verpackung kaputt, Kartons nass, Inhalt teilweise unbrauchbar", "de", "model"),
        ("Zapraszam serdecznie, wyślę jutro zdjęcia sklepu i nowego logo", "pl", "stopwords"),
        # issue 13: the writer's mail client and greeting tell when the own text does not
        ('Fw: subject\nGesendet: Donnerstag, 12. August 2021 um 15:52 Uhr\nVon: "Claire" <c@example.org>\n'
         "An: a@example.org\nBetreff: subject\nbodytext", "de", "stopwords"),
        ("Re: subj?\nGuten Abend,\n\nLots of text\ntext with Umlaut ä...\nMfG", "de", "stopwords"),
        # another script than Latin: none of the desk's languages, the model is not asked
        ("Добрый день, Марина. Я пишу вам по поводу перевода документов в Турции.", None, "other script"),
        ("お疲れ様です、吉田です。定例ミーティングではなく特別なミーティングをしたいと思います。"
         "水曜日の午後はいかがでしょうか。よろしくお願いします。", None, "other script"),
    ],
)
def test_readers(text, expected, how):
    from bot.core.mail.language import detect_language_explained

    assert detect_language_explained(text) == (expected, how)


def test_another_language_gets_the_default():
    from bot.core.mail.language import detect_language_explained

    got, how = detect_language_explained(
        "Buongiorno, vorrei sapere quando arriverà la fattura del mese scorso. Cordiali saluti", "nl")
    assert (got, how) == ("nl", "model: other language (it)")


def test_quotes_are_not_read():
    """The customer's own words decide, not the quoted German header block under them."""
    raw = (
        "From: a@example.org\nTo: b@example.org\nSubject: Re: Rechnung\n\n"
        "Thanks, that is all we needed.\n\n"
        "Gesendet: Dienstag, 08. Dezember 2020 um 12:59 Uhr\nVon: bob@gmx.de\nAn: alice@gmx.de\n"
        "Betreff: Rechnung\nSehr geehrte Damen und Herren, die Rechnung ist leider falsch und wir "
        "haben sie nicht bekommen. Mit freundlichen Grüßen\n"
    ).encode()
    assert parse_mail(raw).language == "en"


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


def test_ack_language_falls_back_to_english_before_the_desk_default(tmp_path):
    """A German customer gets German where a template exists, else English, not the
    Dutch desk's default; with no language known, the desk's default."""
    from datetime import date
    from pathlib import Path

    from bot.core.render import Renderer
    from bot.core.time.humanize import format_date

    shipped = Path(__file__).resolve().parents[2] / "templates"
    ctx = {"tag": "[TB-7]", "subject": "Rechnung", "name": "Frau Weber", "desk": "Desk", "ticket": 7}
    ack = Renderer(shipped, default_language="nl").render_mail("ack", "de", ctx)
    assert ack.language == "de" and "vielen Dank für Ihre Nachricht" in ack.text and ack.html
    (tmp_path / "mail").mkdir()
    for lang in ("nl", "en"):
        (tmp_path / "mail" / f"hello.{lang}.txt").write_text(lang)
        (tmp_path / "mail" / f"hello.{lang}.subject").write_text(lang)
    r = Renderer(tmp_path, default_language="nl")
    assert r.render_mail("hello", "de", {}).language == "en"
    assert r.render_mail("hello", "nl", {}).language == "nl"
    assert r.render_mail("hello", None, {}).language == "nl"
    assert format_date(date(2026, 12, 31), "de") == "31. Dezember 2026"
