"""visible_text: quoted history and signatures cut, exact results."""

from __future__ import annotations

import pytest

from bot.core.mail.quotes import signs_off, visible_text


def test_gmail_attribution_wrapped_over_two_lines():
    text = (
        "Hi,\n\nThe order number is 55-1234.\n\nThanks,\nEmma\n\n"
        "On Mon, 3 Nov 2025 at 10:02, Sales Support <support@example.com>\nwrote:\n\n"
        "> Hello Emma,\n>\n> Which order?\n"
    )
    assert visible_text(text) == "Hi,\n\nThe order number is 55-1234.\n\nThanks,\nEmma"


def test_gmail_attribution_wrapped_inside_the_address():
    text = "Yes please.\n\nOn Mon, 3 Nov 2025 at 10:02, Sales Support <\nsupport@example.com> wrote:\n\n> Shall we?\n"
    assert visible_text(text) == "Yes please."


def test_attribution_on_one_line_then_unquoted_history():
    text = "Thanks!\r\n\r\nOn 3 Nov 2025, at 10:02, Sales Support <support@example.com> wrote:\r\nOld text\r\n"
    assert visible_text(text) == "Thanks!"


@pytest.mark.parametrize(
    "attribution",
    [
        "Op ma 3 nov 2025 om 10:02 schreef Sales Support <support@example.com>:",
        "Op 03-11-2025 10:02 heeft Sales Support het volgende geschreven:",
        "W dniu 3.11.2025 o 10:02, Sales Support <support@example.com> pisze:",
        "pon., 3 lis 2025 o 10:02 Sales Support <support@example.com> napisał(a):",
        "Wiadomość napisana przez Sales Support <support@example.com> w dniu 3 lis 2025, o godz. 10:02:",
        "Am 03.11.2025 um 10:02 schrieb Sales Support <support@example.com>:",
        "> On 3 Nov 2025, at 10:02, Sales Support <support@example.com> wrote:",
    ],
)
def test_attributions_in_other_languages(attribution):
    text = f"Mijn antwoord.\nTweede regel.\n\n{attribution}\n\n> oud bericht\n> nog meer\n"
    assert visible_text(text) == "Mijn antwoord.\nTweede regel."


def test_dutch_gmail_attribution_wrapped():
    text = "Akkoord.\n\nOp ma 3 nov 2025 om 10:02 schreef Sales Support <\nsupport@example.com>:\n\n> Vraag\n"
    assert visible_text(text) == "Akkoord."


def test_polish_gmail_attribution_wrapped():
    text = "Dziękuję.\n\npon., 3 lis 2025 o 10:02 Sales Support <support@example.com>\nnapisał(a):\n\n> Pytanie\n"
    assert visible_text(text) == "Dziękuję."


def test_outlook_header_block_dutch():
    text = (
        "Graag een nieuwe factuur.\n\nMet vriendelijke groet,\nJan\n\n"
        "Van: Sales Support <support@example.com>\nVerzonden: maandag 3 november 2025 10:02\n"
        "Aan: Jan <jan@example.nl>\nOnderwerp: RE: Factuur\n\nBeste Jan,\n"
    )
    assert visible_text(text) == "Graag een nieuwe factuur.\n\nMet vriendelijke groet,\nJan"


@pytest.mark.parametrize(
    "block",
    [
        "From: Sales Support <support@example.com>\nSent: Monday, November 3, 2025 10:02 AM\nTo: X\nSubject: RE: y",
        "Od: Sales Support <support@example.com>\nWysłane: poniedziałek, 3 listopada 2025 10:02\nDo: X\nTemat: y",
        "Von: Sales Support <support@example.com>\nGesendet: Montag, 3. November 2025 10:02\nAn: X\nBetreff: y",
        "From: Sales Support <support@example.com>\nDate: Monday, 3 November 2025 at 10:02\nTo: X\nSubject: y",
        "*From:* Sales Support <support@example.com>\n*Sent:* Monday\n*To:* X\n*Subject:* y",
    ],
)
def test_outlook_header_blocks_other_languages(block):
    assert visible_text(f"Answer here.\n\n{block}\n\nOld body\n") == "Answer here."


def test_from_line_without_sent_and_subject_is_kept():
    text = "From: the warehouse in Utrecht\nWe got 12 boxes.\n"
    assert visible_text(text) == "From: the warehouse in Utrecht\nWe got 12 boxes."


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Oorspronkelijk bericht-----",
        "-----Wiadomość oryginalna-----",
        "________________________________",
    ],
)
def test_separators(separator):
    text = f"New text\n{separator}\nFrom: someone\nold text\n"
    assert visible_text(text) == "New text"


def test_signature_dash_dash_space():
    assert visible_text("Body line\n\n-- \nJan Jansen\nSales\n") == "Body line"
    assert visible_text("Body line\n--\nJan\n") == "Body line"


@pytest.mark.parametrize(
    "footer",
    ["Sent from my iPhone", "Verzonden vanaf mijn iPhone", "Wysłane z iPhone'a", "Get Outlook for iOS"],
)
def test_mobile_footers(footer):
    text = f"Ok, prima.\n\n{footer}\n\n> On 3 Nov 2025, at 10:02, X <x@y.z> wrote:\n> old\n"
    assert visible_text(text) == "Ok, prima."


def test_trailing_quote_block_without_attribution():
    assert visible_text("Top reply\n\n> quoted 1\n>\n> quoted 2\n\n") == "Top reply"


def test_interleaved_reply_is_kept():
    text = "> Question 1?\nAnswer 1.\n> Question 2?\nAnswer 2.\n"
    assert visible_text(text) == "> Question 1?\nAnswer 1.\n> Question 2?\nAnswer 2."


def test_only_quote_returns_original_stripped():
    text = "\n> everything is quoted\n> here\n\n"
    assert visible_text(text) == "> everything is quoted\n> here"
    assert visible_text("On Mon, 3 Nov 2025 at 10:02, X <x@y.z> wrote:\n> hi\n") == (
        "On Mon, 3 Nov 2025 at 10:02, X <x@y.z> wrote:\n> hi"
    )


def test_sentence_ending_in_wrote_is_not_an_attribution():
    text = "This is what the customer wrote:\nThe chair is broken.\n"
    assert visible_text(text) == "This is what the customer wrote:\nThe chair is broken."


def test_sentence_before_attribution_is_kept():
    text = "See order 123.\nJohn <john@x.com> wrote:\n> old\n"
    assert visible_text(text) == "See order 123."


def test_leading_blank_lines_and_trailing_space_stripped():
    assert visible_text("\n\n  Hello  \nworld   \n\n\n") == "  Hello  \nworld"


def test_empty():
    assert visible_text("") == ""
    assert visible_text("   \n") == ""


def test_backslashes_untouched():
    assert visible_text("C:\\Users\\x41 and \\n\n-- \nsig") == "C:\\Users\\x41 and \\n"


def test_quote_markers_are_looked_for_in_a_bounded_prefix_only():
    """Issue 10.4: quote stripping reads the first READ_LIMIT characters (whole lines);
    within them it cuts as always, past them the text is kept whole (never scanned)."""
    from bot.core.domain import READ_LIMIT

    quote = "\nOn Mon, 3 Nov 2025 at 10:02, Sales Support <support@example.com> wrote:\n> Which order?\n"
    short = "Order 55-1234.\n" + "padding words here\n" * 100
    assert visible_text(short + quote + "x\n" * READ_LIMIT) == short.strip()
    long_own = "Order 55-1234.\n" + "padding words here\n" * (READ_LIMIT // 19 + 10)
    text = long_own + quote
    assert len(long_own) > READ_LIMIT
    assert visible_text(text) == text.strip()


@pytest.mark.parametrize("text,signed", [
    ("Beste Jan,\n\nhet is geregeld.\n\nGroet,\nSanne", True),
    ("Dear Jan,\nit is done.\n\nKind regards,\nSanne Jansen\nSales support\n+31 20 555", True),
    ("Dzień dobry,\nzałatwione.\nPozdrawiam\nMarta", True),
    ("Hallo,\nerledigt.\nMit freundlichen Grüßen\nSanne", True),
    ("Beste Jan,\n\nhet is geregeld.", False),
    ("Groet,\nSanne\n\nPS: de bezorger komt morgen.\nEn de factuur volgt.\nTot dan.\nEcht.", False),
    ("Best of luck with the new building, we will deliver on Monday.", False),
])
def test_signs_off(text, signed):
    assert signs_off(text) is signed
