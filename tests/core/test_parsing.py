"""parse_mail on real-shaped fixture mails (tests/fixtures/mail) and odd bytes."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta, timezone
from email import policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.domain import Channel, InboundMessage, UnreadableMail
from bot.core.mail.parse import (
    INTERNAL_ERROR_PREFIX,
    decode_bytes,
    decode_header_value,
    parse_mail,
)
from tests.conftest import MAIL_FIXTURES

ALL_FIXTURES = sorted(p.name for p in MAIL_FIXTURES.glob("*.eml"))
C1 = {chr(c) for c in range(0x80, 0xA0)}
CET = timezone(timedelta(hours=1))


def load(name: str, own=("support@example.com",)) -> InboundMessage:
    return parse_mail((MAIL_FIXTURES / name).read_bytes(), own)


def has_c1(text: str) -> bool:
    return any(ch in C1 for ch in text)


# --------------------------------------------------------------------- fixtures


def test_all_expected_fixtures_exist():
    expected = {
        "outlook_reply_nl.eml",
        "gmail_reply_en.eml",
        "apple_mail_pl.eml",
        "bounce_dsn.eml",
        "out_of_office.eml",
        "cp1252_as_latin1.eml",
        "html_only.eml",
        "no_message_id.eml",
        "backslashes.eml",
        "attachments.eml",
        "rfc2047_subject.eml",
        "malformed.eml",
        "cancellation_nl.eml",
        "mailing_list.eml",
    }
    assert expected <= set(ALL_FIXTURES)


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_parses_clean_text(name):
    raw = (MAIL_FIXTURES / name).read_bytes()
    msg = parse_mail(raw)
    assert msg.raw == raw
    assert msg.channel is Channel.MAIL
    for text in (msg.text, msg.visible_text, msg.subject, msg.from_name):
        assert "\\ufffd" not in text
        assert "\ufffd" not in text
        assert not has_c1(text)
        assert "\x00" not in text
    assert "\r" not in msg.text
    assert msg.visible_text.strip()
    assert not any(w.startswith(INTERNAL_ERROR_PREFIX) for w in msg.warnings)


def test_outlook_reply_nl():
    msg = load("outlook_reply_nl.eml")
    assert msg.message_id == (
        "AM0PR01MB1234C0FFEE5D1A2B3C4D5E6FAB7C8D9E0@AM0PR01MB1234.eurprd01.prod.exchangelabs.com"
    )
    assert msg.in_reply_to == ["out-42@ticketbot.example"]
    assert msg.references == ["out-41@ticketbot.example", "out-42@ticketbot.example"]
    assert msg.from_addr == "jan@bakkerij-devries.nl"
    assert msg.from_name == "Jan de Vries"
    assert msg.to == ["support@example.com"]
    assert msg.cc == ["boekhouding@bakkerij-devries.nl"]
    assert msg.reply_to == []
    assert msg.subject == "RE: Factuur 2025-0042 [#1234]"
    assert msg.date == datetime(2025, 11, 3, 11, 15, 42, tzinfo=UTC)
    assert msg.return_path == "jan@bakkerij-devries.nl"
    assert msg.headers["thread-index"] == "AQHcTGq3yRb9h0n3aEe8kLx0m5Vb6LSmZ2QA"
    assert msg.headers["thread-topic"] == "Factuur 2025-0042 [#1234]"
    assert msg.headers["return-path"] == "<Jan@Bakkerij-DeVries.nl>"
    assert msg.headers["content-type"] == (
        'multipart/alternative; boundary="_000_AM0PR01MB1234C0FFEE5D1A2B3C4D5E6FAB7C8D9E0AM0PR01MB1234eurp_"'
    )
    assert msg.visible_text == (
        "Hallo,\n\n"
        "Wij hebben de factuur nog steeds niet ontvangen. Kunnen jullie deze opnieuw sturen? "
        "Het gaat om de levering van vrijdag.\n\n"
        "Met vriendelijke groet,\nJan de Vries\nBakkerij De Vries B.V."
    )
    # The full text keeps the quoted Outlook block, decoded from quoted-printable.
    assert "Van: Sales Support <support@example.com>\nVerzonden: maandag 3 november 2025 10:02\n" in msg.text
    assert msg.text.endswith("voldoende te hebben geïnformeerd.\n\nMet vriendelijke groet,\nSales Support\n")
    assert msg.html is not None
    assert msg.html.startswith("<html xmlns:v=")
    assert '<p class="MsoNormal">Hallo,<o:p></o:p></p>' in msg.html
    assert "geïnformeerd" in msg.html
    assert msg.attachments == []
    assert msg.language == "nl"
    assert msg.auto_reason is None
    assert msg.is_bounce is False
    assert msg.bounced_message_ids == []
    assert msg.warnings == []


def test_gmail_reply_en():
    msg = load("gmail_reply_en.eml")
    assert msg.message_id == "CAF4kLr9Q+1Yw2nVZ5mJ8x=hT0b-3uQ@mail.gmail.com"
    assert msg.in_reply_to == ["out-50@ticketbot.example"]
    assert msg.from_addr == "emma.clarke@gmail.com"
    assert msg.from_name == "Emma Clarke"
    assert msg.subject == "Re: Delivery date [#1235]"
    assert msg.date == datetime(2025, 11, 3, 10, 20, 11, tzinfo=UTC)
    assert msg.visible_text == (
        "Hi,\n\nThe order number is 55-1234. Could you check the delivery date? We need the\n"
        "chairs before Friday.\n\nThanks,\nEmma"
    )
    assert "On Mon, 3 Nov 2025 at 10:02, Sales Support <support@example.com>\nwrote:\n\n> Hello Emma," in msg.text
    assert msg.html is not None and 'class="gmail_quote' in msg.html
    assert msg.language == "en"
    assert msg.auto_reason is None
    assert msg.warnings == []


def test_gmail_reply_from_own_address_is_automatic():
    msg = load("gmail_reply_en.eml", own=["Emma.Clarke@Gmail.com"])
    assert msg.auto_reason == "own-address"


def test_apple_mail_pl_quoted_printable_utf8():
    msg = load("apple_mail_pl.eml")
    assert msg.message_id == "8E1D3C2B-4A5F-4B6C-9D7E-0F1A2B3C4D5E@firma-meble.pl"
    assert msg.from_addr == "m.wisniewska@firma-meble.pl"
    assert msg.from_name == "Małgorzata Wiśniewska"
    assert msg.subject == "Re: Faktura FV/2025/11/042 [#1237]"
    assert msg.date == datetime(2025, 11, 3, 11, 41, 2, tzinfo=CET)
    assert msg.in_reply_to == ["out-60@ticketbot.example"]
    # A line longer than 76 characters: joined again from quoted-printable soft breaks.
    assert (
        "proszę o przesłanie korekty faktury nr FV/2025/11/042. Zamówienie było na 12 sztuk "
        "krzeseł, a nie na 15. Czy mogą Państwo to poprawić jeszcze w tym tygodniu?\n"
    ) in msg.text
    assert msg.visible_text == (
        "Dzień dobry,\n\n"
        "proszę o przesłanie korekty faktury nr FV/2025/11/042. Zamówienie było na 12 sztuk "
        "krzeseł, a nie na 15. Czy mogą Państwo to poprawić jeszcze w tym tygodniu?\n\n"
        "Pozdrawiam serdecznie\nMałgorzata Wiśniewska"
    )
    assert msg.html is None
    assert msg.language == "pl"
    assert msg.headers["x-mailer"] == "Apple Mail (2.3826.300.87.4.3)"
    assert msg.warnings == []


def test_bounce_dsn():
    msg = load("bounce_dsn.eml")
    assert msg.is_bounce is True
    assert msg.bounced_message_ids == ["out-1@ticketbot.example"]
    assert msg.return_path == ""
    assert msg.headers["return-path"] == "<>"
    assert msg.from_addr == "mailer-daemon@mail.example.com"
    assert msg.from_name == "Mail Delivery System"
    assert msg.auto_reason == "bounce"
    assert msg.message_id == "20251103090501.4B1C2D3E4F@mail.example.com"
    assert msg.subject == "Undelivered Mail Returned to Sender"
    assert msg.text.startswith("This is the mail system at host mail.example.com.\n\n")
    assert "550\n    5.1.1 <nobody@customer.example>: Recipient address rejected" in msg.text
    # The returned mail is an attachment, its text is not part of the body.
    assert "here is the offer" not in msg.text
    assert [(a.filename, a.content_type) for a in msg.attachments] == [
        (None, "message/delivery-status"),
        ("Re: Offerte [#1240].eml", "message/rfc822"),
    ]
    status = msg.attachments[0].content
    assert status.startswith(b"Reporting-MTA: dns; mail.example.com\r\n")
    assert b"Action: failed\r\n" in status
    inner = email.message_from_bytes(msg.attachments[1].content, policy=policy.default)
    assert inner["Message-ID"] == "<out-1@ticketbot.example>"
    assert inner.get_content() == "Hello, here is the offer you asked for.\r\n\r\nSales Support\r\n"
    assert msg.language == "en"


def test_out_of_office():
    msg = load("out_of_office.eml")
    assert msg.auto_reason == "auto-submitted: auto-replied"
    assert msg.headers["auto-submitted"] == "auto-replied"
    assert msg.headers["x-auto-response-suppress"] == "All"
    assert msg.headers["thread-topic"] == "Uw bestelling [#1236]"
    assert msg.is_bounce is False
    assert msg.subject == "Automatisch antwoord: Uw bestelling [#1236]"
    assert msg.in_reply_to == ["out-7@ticketbot.example"]
    assert msg.text.startswith("Afwezig\n\nIk ben afwezig tot en met maandag 10 november.")
    # Real iso-8859-1 (no C1 bytes) stays iso-8859-1, without a warning.
    assert "of één van onze medewerkers." in msg.text
    assert msg.language == "nl"
    assert msg.warnings == []


def test_cp1252_labelled_latin1():
    msg = load("cp1252_as_latin1.eml")
    assert msg.text == (
        "Goedemorgen,\n\n"
        "Wij hebben uw \u201eofferte\u201c ontvangen. De prijs van \u20ac 1.250 is akkoord \u2013 "
        "maar de levering moet vóór 1 december. Dat is \u2019t belangrijkste.\n\n"
        "Groeten,\nHenk Smit\n"
    )
    assert "„offerte“" in msg.text and "€ 1.250" in msg.text and "’t" in msg.text
    assert not has_c1(msg.text)
    # Raw 8-bit cp1252 subject (no encoded word).
    assert msg.subject == "Offerte \u2013 akkoord"
    assert msg.message_id == "000501dc4e1a$3b2c1d00$b1845700$@smit-installatie.nl"
    assert msg.from_name == "Henk Smit"
    assert msg.to == ["support@example.com"]
    assert msg.warnings == [
        "header Subject: raw 8-bit text, not UTF-8; read as cp1252 (the part declares iso-8859-1)",
        "text/plain: labelled 'iso-8859-1' but contains cp1252 characters; read as cp1252",
    ]
    assert msg.language == "nl"


def test_html_only():
    msg = load("html_only.eml")
    assert msg.html is not None
    assert msg.html.startswith('<html><head><meta charset="utf-8">')
    assert "<td>&euro; 120,00</td>" in msg.html
    assert msg.text == (
        "Beste support,\n\n"
        "Hierbij onze bestelling:\n"
        "Graag levering volgende week.\n\n"
        "Artikel       Aantal  Prijs\n"
        "Stoel Milano  4       € 120,00\n"
        "Tafel Roma    1       € 499,00\n\n"
        "Met vriendelijke groet,\nKees Bakker"
    )
    assert msg.visible_text == msg.text
    assert msg.attachments == []
    assert msg.language == "nl"


def test_no_message_id():
    msg = load("no_message_id.eml")
    assert msg.message_id is None
    assert "message-id" not in msg.headers
    assert msg.from_addr == "anna.peeters@example.net"
    assert msg.subject == "Contactformulier: vraag over levertijd"
    assert msg.return_path == "www-data@shop.customer.example"
    assert msg.in_reply_to == [] and msg.references == []
    assert msg.text == (
        "Naam: Anna Peeters\nE-mail: anna.peeters@example.net\n\nBericht:\n"
        "Wat is de levertijd van de bank Oslo in het grijs? Ik wil graag bestellen.\n"
    )


def test_backslashes_arrive_as_written():
    msg = load("backslashes.eml")
    assert msg.text == (
        "Hallo,\n\n"
        "Het bestand staat in C:\\Users\\x41\\Documents\\offerte_één.pdf en de regel eindigt met \\n letterlijk.\n"
        "Het netwerkpad is \\\\server\\share\\u00e9 en de regex is ^\\d+\\.\\d{2}$\n\n"
        "Groet,\nTom\n"
    )
    assert "C:\\Users\\x41" in msg.text
    assert "C:\\UsersA" not in msg.text
    # Undeclared charset, 8-bit UTF-8 body: read as UTF-8 (with a note).
    assert msg.warnings == ["text/plain: 8-bit text without charset, read as UTF-8"]


PNG_SIZE = 70
PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def test_attachments():
    msg = load("attachments.eml")
    assert msg.subject == "Faktura i zamówienie"
    assert [(a.filename, a.content_type, a.size, a.inline, a.content_id) for a in msg.attachments] == [
        ("logo.png", "image/png", PNG_SIZE, True, "part1.Xy7Zq2Lm.Ab3Cd4Ef@meble-nowak.pl"),
        ("faktura_ż.pdf", "application/pdf", len(PDF), False, None),
        ("Zamówienie 77.eml", "message/rfc822", len(msg.attachments[2].content), False, None),
    ]
    logo, pdf, fwd = msg.attachments
    assert logo.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert pdf.content == PDF
    inner = email.message_from_bytes(fwd.content, policy=policy.default)
    assert inner["Message-ID"] == "<fwd-77@hurtownia-drewna.pl>"
    assert str(inner["Subject"]) == "Zamówienie 77"
    assert fwd.content.startswith(b"From: =?UTF-8?Q?Hurtownia_Drewna_=C5=81=C3=B3d=C5=BA?=")
    # The forwarded mail's text is not merged into the body.
    assert "Treść" not in msg.text
    assert msg.text == "Dzień dobry,\n\nw załączniku faktura oraz wiadomość od hurtowni.\n\nPozdrawiam\nPiotr Nowak\n"
    assert msg.html is not None and 'src="cid:part1.Xy7Zq2Lm.Ab3Cd4Ef@meble-nowak.pl"' in msg.html
    assert msg.language == "pl"
    assert msg.warnings == []


def test_rfc2047_subject_and_names():
    msg = load("rfc2047_subject.eml")
    assert msg.subject == "Zamówienie żółte krzesła"
    assert msg.from_name == "Paweł Kowalski"
    assert msg.from_addr == "pawel@firma.pl"
    assert msg.to == ["support@example.com"]
    assert msg.text == "Dzień dobry,\nproszę o ofertę na żółte krzesła.\nPaweł\n"
    assert msg.language == "pl"


def test_malformed_still_parses_with_warnings():
    msg = load("malformed.eml")
    assert msg.subject == "Kapotte mail"
    assert msg.message_id == "malformed-1@example.org"
    assert msg.from_addr == "broken@example.org"
    assert msg.from_name == "Broken Client"
    assert msg.date is None
    assert msg.text == "Hallo, de bijlage is kapot. Groet, Zoë\n"
    assert [(a.filename, a.content_type) for a in msg.attachments] == [("data.bin", "application/octet-stream")]
    assert msg.attachments[0].content.startswith(b"Hello World")
    assert msg.warnings == [
        "malformed header line ignored: 'This line is not a header at all'",
        "header Date: unparseable date 'yesterday around noon'",
        "text/plain: unknown charset 'x-fancy-8', decoded as utf-8",
        "MIME defect in multipart/mixed: A start boundary was found, but not the corresponding close boundary.",
        "MIME defect in application/octet-stream: base64 encoded sequence had characters not in base64 alphabet",
    ]


def test_cancellation_nl():
    msg = load("cancellation_nl.eml")
    assert msg.subject == "Opzegging contract klantnummer 30412"
    assert msg.visible_text == (
        "Geachte heer/mevrouw,\n\n"
        "Hierbij zeggen wij ons contract met klantnummer 30412 op per 1 januari 2026. "
        "Wij verzoeken u de opzegging schriftelijk te bevestigen en ons te laten weten tot wanneer "
        "de lopende afspraken gelden.\n\n"
        "Met vriendelijke groet,\n\nIngrid Mulder\nDirecteur\nMulder & Zonen B.V."
    )
    assert msg.to == ["support@example.com"]
    assert msg.language == "nl"
    assert msg.auto_reason is None


def test_mailing_list():
    msg = load("mailing_list.eml")
    assert msg.auto_reason == "precedence: list"
    assert msg.headers["list-id"] == "Supplier News <news.lists.supplier.example>"
    assert msg.headers["list-unsubscribe"] == (
        "<mailto:news-leave@lists.supplier.example>, <https://lists.supplier.example/unsubscribe?u=abc123>"
    )
    assert msg.headers["precedence"] == "list"
    assert msg.return_path == "news-bounces+support=example.com@lists.supplier.example"
    assert msg.language == "en"
    assert msg.is_bounce is False


# --------------------------------------------------------------------- charsets


def test_decode_bytes_c1_trap_labels():
    data = "„Prijs“ € 5 – ’t".encode("cp1252")
    for label in ("iso-8859-1", "ISO-8859-1", "latin-1", "latin1", '"iso-8859-1"', "iso-8859-15"):
        warnings: list[str] = []
        assert decode_bytes(data, label, warnings) == "„Prijs“ € 5 – ’t", label
        assert len(warnings) == 1
    warnings = []
    assert decode_bytes(data, "us-ascii", warnings) == "„Prijs“ € 5 – ’t"
    assert warnings == ["text: 8-bit bytes in us-ascii text; read as cp1252"]


def test_decode_bytes_windows_1250_labelled_iso_8859_2():
    data = "„Zażółć gęślą jaźń”".encode("cp1250")
    assert decode_bytes(data, "iso-8859-2") == "„Zażółć gęślą jaźń”"
    assert decode_bytes("Zażółć".encode("iso-8859-2"), "iso-8859-2") == "Zażółć"


def test_decode_bytes_utf8_labelled_latin1():
    warnings: list[str] = []
    assert decode_bytes("één ł".encode(), "iso-8859-1", warnings) == "één ł"
    assert warnings == ["text: labelled 'iso-8859-1' but is UTF-8; read as UTF-8"]


def test_decode_bytes_undeclared_and_unknown():
    assert decode_bytes("café ’s".encode("cp1252"), None) == "café ’s"
    assert decode_bytes("café ’s".encode(), None) == "café ’s"
    warnings: list[str] = []
    assert decode_bytes("Zoë €".encode("cp1252"), "x-nonsense", warnings) == "Zoë €"
    assert warnings == ["text: unknown charset 'x-nonsense', not UTF-8; read as windows-1252"]
    # Mostly UTF-8 with one stray cp1252 byte: both parts right.
    assert decode_bytes("één ".encode() + "€".encode("cp1252"), "utf-8") == "één €"


def test_decode_bytes_never_unescapes():
    data = b"C:\\Users\\x41 \\n \\u00e9"
    for label in (None, "utf-8", "unicode_escape", "raw-unicode-escape", "us-ascii", "base64", "rot13"):
        assert decode_bytes(data, label) == "C:\\Users\\x41 \\n \\u00e9", label


def test_decode_header_value():
    assert decode_header_value("=?utf-8?q?Caf=C3=A9?= =?utf-8?q?_bar?=") == "Café bar"
    # A UTF-8 character split over two encoded words.
    assert decode_header_value("=?UTF-8?B?xQ==?= =?UTF-8?B?gg==?=") == "ł"
    assert decode_header_value("Re: =?iso-8859-1?q?=93quoted=94?= x") == "Re: “quoted” x"
    assert decode_header_value("no words, C:\\x41") == "no words, C:\\x41"
    assert decode_header_value("=?bogus-cs?q?Zo=C3=AB?=") == "Zoë"


def test_raw_utf8_subject_and_from():
    raw = "From: Zoë Żak <zoe@example.com>\nSubject: Zamówienie — pilne\n\nTreść\n".encode()
    msg = parse_mail(raw)
    assert msg.subject == "Zamówienie — pilne"
    assert msg.from_name == "Zoë Żak"
    assert msg.text == "Treść\n"
    assert msg.warnings == ["text/plain: 8-bit text without charset, read as UTF-8"]


# --------------------------------------------------------------------- structure


def test_mixed_with_several_inline_text_parts_is_joined():
    raw = (
        b"From: a@example.com\nSubject: x\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain; charset=utf-8\n\nFirst part.\n"
        b"--B\nContent-Type: image/jpeg; name=a.jpg\nContent-Disposition: inline; filename=a.jpg\n"
        b"Content-Transfer-Encoding: base64\n\n/9j/4AAQ\n"
        b"--B\nContent-Type: text/plain; charset=utf-8\nContent-Disposition: inline\n\nSecond part.\n"
        b"--B\nContent-Type: text/plain; charset=utf-8\nContent-Disposition: attachment; filename=notes.txt\n\n"
        b"Not body.\n--B--\n"
    )
    msg = parse_mail(raw)
    assert msg.text == "First part.\nSecond part."
    assert [(a.filename, a.content_type, a.inline, a.content) for a in msg.attachments] == [
        ("a.jpg", "image/jpeg", True, b"\xff\xd8\xff\xe0\x00\x10"),
        ("notes.txt", "text/plain", False, b"Not body."),
    ]


def test_headers_helpers_and_edge_values():
    raw = (
        b"From: <Someone@Example.COM>\n"
        b"To: undisclosed-recipients:;\n"
        b"Cc: A <a@x.nl>, b@y.nl,, \"Last, First\" <c@z.nl>\n"
        b"Reply-To: Replies <Replies@Example.com>\n"
        b"Message-ID: bare-id@example.com\n"
        b"In-Reply-To: <one@x> (comment) junk\n"
        b"References: <r1@x>,<r2@x>\n\t<r3@x> <r1@x>\n"
        b"Date: Mon, 3 Nov 2025 10:00:00 -0000\n"
        b"Subject:   lots    of\n   folded   space  \n"
        b"\nbody\n"
    )
    msg = parse_mail(raw)
    assert msg.from_addr == "someone@example.com"
    assert msg.from_name == ""
    assert msg.to == []
    assert msg.cc == ["a@x.nl", "b@y.nl", "c@z.nl"]
    assert msg.reply_to == ["replies@example.com"]
    assert msg.message_id == "bare-id@example.com"
    assert msg.in_reply_to == ["one@x"]
    assert msg.references == ["r1@x", "r2@x", "r3@x"]
    assert msg.date == datetime(2025, 11, 3, 10, 0, tzinfo=UTC)
    assert msg.subject == "lots of folded space"
    assert msg.return_path is None
    assert msg.text == "body\n"


def test_empty_plain_alternative_falls_back_to_html():
    raw = (
        b"From: a@example.com\nSubject: x\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="A"\n\n'
        b"--A\nContent-Type: text/plain; charset=utf-8\n\n\n"
        b"--A\nContent-Type: text/html; charset=utf-8\n\n<p>Real &amp; text</p>\n--A--\n"
    )
    msg = parse_mail(raw)
    assert msg.text == "Real & text"
    assert msg.html == "<p>Real &amp; text</p>"


def test_filename_rfc2231_latin1_label_with_cp1252_bytes():
    raw = (
        b"From: a@example.com\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain\n\nsee file\n"
        b"--B\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=iso-8859-1''%84offerte%93%20%80.pdf\n\n%PDF\n--B--\n"
    )
    msg = parse_mail(raw)
    assert [a.filename for a in msg.attachments] == ["\u201eofferte\u201c \u20ac.pdf"]


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_raw_8bit_filename(encoding):
    raw = (
        b"From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nx\n--B\nContent-Type: application/pdf\n"
        + 'Content-Disposition: attachment; filename="oferta_ó €.pdf"\n\n'.encode(encoding)
        + b"%PDF\n--B--\n"
    )
    assert [a.filename for a in parse_mail(raw).attachments] == ["oferta_ó €.pdf"]


def test_nested_message_without_subject():
    raw = (
        b"From: a@example.com\nSubject: fwd\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain\n\nSee attached.\n"
        b"--B\nContent-Type: message/rfc822\n\nFrom: b@example.com\n\nInner text.\n--B--\n"
    )
    msg = parse_mail(raw)
    assert msg.text == "See attached."
    assert [(a.filename, a.content_type) for a in msg.attachments] == [("message.eml", "message/rfc822")]
    assert msg.attachments[0].content == b"From: b@example.com\n\nInner text."


def test_stdlib_parser_crash_falls_back_to_compat32():
    # Both inputs make email.message_from_bytes(policy=policy.default) raise.
    msg = parse_mail(b"From: a@b.c\nSubject: s\nContent-Type: text/plain; name*\n\nhello\n")
    assert (msg.from_addr, msg.subject, msg.text) == ("a@b.c", "s", "hello\n")
    assert msg.warnings == [
        "MIME structure unreadable with the default policy (IndexError); read with the lenient compat32 policy"
    ]
    msg = parse_mail(
        b"From: a@b.c\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain; charset*=\x00''a\n\nhello\n"
        b"--B\nContent-Type: application/pdf; name=x.pdf\n\nPDF\n--B--\n"
    )
    assert msg.text == "hello"
    assert [(a.filename, a.content_type, a.content) for a in msg.attachments] == [
        ("x.pdf", "application/pdf", b"PDF")
    ]


# --------------------------------------------------------------------- unreadable


@pytest.mark.parametrize(
    "raw",
    [b"", b"   ", b"\r\n\r\n\t \n", b"\x00\x01\x02garbage\x00\xff\xfe" * 20, bytes(range(256)) * 4],
)
def test_not_a_mail_raises_unreadable(raw):
    with pytest.raises(UnreadableMail):
        parse_mail(raw)


def test_text_without_headers_is_read_with_warning():
    msg = parse_mail(b"just some words\nand more\n")
    assert msg.text == "just some words\nand more\n"
    assert msg.warnings == ["no mail headers found; whole input read as body"]
    assert msg.from_addr == "" and msg.message_id is None


# --------------------------------------------------------------------- property


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_parse_mail_never_raises_on_arbitrary_bytes(raw):
    try:
        msg = parse_mail(raw)
    except UnreadableMail:
        return
    assert isinstance(msg, InboundMessage)
    assert not any(w.startswith(INTERNAL_ERROR_PREFIX) for w in msg.warnings), msg.warnings


_FIXTURE_BYTES = [(MAIL_FIXTURES / n).read_bytes() for n in ALL_FIXTURES]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_FIXTURE_BYTES),
    st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 40), st.binary(max_size=20)), max_size=6),
)
def test_parse_mail_never_raises_on_damaged_fixtures(raw, edits):
    data = bytearray(raw)
    for pos, length, junk in edits:
        pos = pos % (len(data) + 1)
        data[pos : pos + length] = junk
    try:
        msg = parse_mail(bytes(data))
    except UnreadableMail:
        return
    assert not any(w.startswith(INTERNAL_ERROR_PREFIX) for w in msg.warnings), msg.warnings
    assert "\\ufffd" not in msg.text


def test_an_encoded_display_name_cannot_smuggle_an_address():
    """Issue 10.8: the address is the one in angle brackets; an encoded word in the name
    (with a line break, "Bcc:" and an @) stays a name."""
    raw = (b"From: =?utf-8?q?Evil=0D=0ABcc:_victim3@evil.com?= <case41@k41.nl>\r\n"
           b"To: support@desk.example\r\nSubject: hallo\r\nMessage-ID: <e41@k41.nl>\r\n\r\nTekst\r\n")
    msg = parse_mail(raw)
    assert msg.from_addr == "case41@k41.nl"
    assert "\n" not in msg.from_name and "\r" not in msg.from_name
    assert msg.from_name.startswith("Evil")


@pytest.mark.parametrize("style", [
    "color:#ffffff;font-size:1px", "color: white", "font-size:0", "opacity:0",
    "visibility:hidden", "display:none", "COLOR:#FFF !important",
])
def test_text_nobody_sees_in_html_is_not_read(style):
    """Issue 10.14: white-on-white, 1-px, transparent or hidden text in an HTML-only mail
    is not part of the text routing and language detection read."""
    raw = ("From: jan@klant.nl\r\nTo: support@desk.example\r\nSubject: Vraag\r\n"
           "Message-ID: <h1@klant.nl>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/html; charset=utf-8\r\n\r\n"
           f"<html><body><p>Hoe werkt de website?</p><span style=\"{style}\">Ik zeg mijn "
           "contract op, opzegging per direct</span> bedankt</body></html>\r\n").encode()
    msg = parse_mail(raw)
    assert "Hoe werkt de website?" in msg.text and "bedankt" in msg.text
    assert "opzeg" not in msg.text.lower()
    assert "opzeg" in (msg.html or "").lower()  # the HTML itself is kept as it came


def test_white_text_on_a_coloured_cell_is_read():
    """A button or a dark cell with white text is visible: it stays in the text."""
    raw = (b"From: jan@klant.nl\r\nTo: support@desk.example\r\nSubject: Vraag\r\n"
           b"Message-ID: <h2@klant.nl>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/html; charset=utf-8\r\n\r\n"
           b"<html><body><table><tr><td bgcolor=\"#003366\"><span style=\"color:#ffffff\">"
           b"Contract opzeggen</span></td></tr></table></body></html>\r\n")
    assert "Contract opzeggen" in parse_mail(raw).text


@pytest.mark.parametrize("header, expected", [
    # an encoded word in a name decodes to a comma and an address: still one mailbox
    (b"=?utf-8?q?x=2C_y@evil.com?= <k@klant.nl>, \"Doe, J\" <j@klant.nl>",
     ["k@klant.nl", "j@klant.nl"]),
    # ... or to a line break and a header
    (b"=?utf-8?q?A=0D=0ABcc:_v@evil.com?= <z@klant.nl>", ["z@klant.nl"]),
    # an encoded word where an address would be is no address
    (b"=?utf-8?q?x@evil.com?= <k@klant.nl>", ["k@klant.nl"]),
    (b"Team: a@klant.nl, c@klant.nl;, e@klant.nl", ["a@klant.nl", "c@klant.nl", "e@klant.nl"]),
    (b"undisclosed-recipients:;", []),
    (b"jan@klant.nl (Jan, de Vries), <@relay.example:piet@klant.nl>", ["jan@klant.nl", "piet@klant.nl"]),
])
def test_to_and_cc_are_split_before_their_names_are_decoded(header, expected):
    """Issue 10.8 for To and Cc: addresses come from the raw header; encoded words are
    names only."""
    raw = (b"From: jan@klant.nl\r\nTo: " + header + b"\r\nCc: " + header +
           b"\r\nSubject: x\r\nMessage-ID: <tc1@klant.nl>\r\n\r\nTekst\r\n")
    msg = parse_mail(raw)
    assert msg.to == expected
    assert msg.cc == expected


def test_a_from_with_an_empty_first_mailbox_or_a_junk_first_header_reads_the_usable_one():
    raw = (b"From: \"X\" <>, \"LTD\" <ly@example.com>\r\nTo: support@desk.example\r\n"
           b"Subject: x\r\n\r\nTekst\r\n")
    msg = parse_mail(raw)
    assert (msg.from_addr, msg.from_name) == ("ly@example.com", "LTD")
    assert "header From: 2 mailboxes; read the first with an address, ly@example.com" in msg.warnings
    raw = (b"From: nobody\r\nFrom: Jan <jan@klant.nl>\r\nTo: support@desk.example\r\n"
           b"Subject: x\r\n\r\nTekst\r\n")
    msg = parse_mail(raw)
    assert (msg.from_addr, msg.from_name) == ("jan@klant.nl", "Jan")
    assert any("2 From headers" in w for w in msg.warnings)


# -- issue 13, the corpus's last disagreements ---------------------------------------


def test_named_inline_text_part_is_body_and_file():
    """The only part is an inline text file: its text is the body, and the file is
    listed, as a mail program shows it."""
    raw = (
        b"From: a@example.org\nSubject: s\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\n'
        b'Content-Type: text/plain; charset=iso-8859-1; name="=?iso-8859-1?Q?Fr=F6sche.txt?="\n'
        b'Content-Disposition: inline; filename="=?iso-8859-1?Q?Fr=F6sche.txt?="\n\n'
        b"Die Hasen und die Fr\xf6sche\n--B--\n"
    )
    msg = parse_mail(raw)
    assert "Die Hasen und die Frösche" in msg.text
    assert [a.filename for a in msg.attachments] == ["Frösche.txt"]


def test_quoted_windows_path_keeps_its_last_part():
    raw = (
        b"From: a@example.org\nSubject: s\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\nhi\n--B\n'
        b'Content-Type: image/png\nContent-Disposition: inline; filename="C:\\TEMP\\nsmailEG.png"\n'
        b"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--B--\n"
    )
    msg = parse_mail(raw)
    assert [a.filename for a in msg.attachments] == ["nsmailEG.png"]
    assert "attachment name: a path, its last part 'nsmailEG.png' kept" in msg.warnings


def test_alternative_part_without_headers_does_not_replace_a_declared_one():
    raw = (
        b"From: a@example.org\nSubject: s\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="B"\n\n--B\n'
        b"Content-Type: text/plain; charset=us-ascii\n\nA text section\n--B\n\nAn HTML section\n--B--\n"
    )
    msg = parse_mail(raw)
    assert "A text section" in msg.text and "An HTML section" not in msg.text
    assert "MIME: alternative part without headers ignored" in msg.warnings


def test_content_type_with_its_semicolon_missing_is_text():
    raw = (
        b"From: a@example.org\nSubject: s\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\n'
        b'Content-Type: text/plain\n   charset="iso-2022-jp"\n\n'
        b"The following addresses had delivery errors\n--B--\n"
    )
    msg = parse_mail(raw)
    assert "The following addresses had delivery errors" in msg.text
    assert msg.attachments == []
