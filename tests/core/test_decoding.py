"""Issue 13: the classes of misreading found on real-world mail, one minimal mail each."""

from __future__ import annotations

import pytest

from bot.core.mail.addresses import first_mailbox, parse_address_list, unseparated
from bot.core.mail.charsets import cp1252_plausible, decode_bytes, iso2022jp_as_cp932
from bot.core.mail.invisible import strip_invisible
from bot.core.mail.parse import decode_header_value, parse_mail


def mail(headers: bytes, body: bytes = b"Tekst\r\n") -> bytes:
    return headers.replace(b"\n", b"\r\n") + b"\r\n" + body


# ------------------------------------------------------------ 8-bit header bytes


def test_raw_8bit_subject_in_the_charset_the_mail_declares():
    subject = "转发：会议通知".encode("gb2312")
    raw = mail(b"From: li@example.cn\nSubject: " + subject +
               b"\nContent-Type: text/plain; charset=GB2312\n", "你好".encode("gb2312"))
    msg = parse_mail(raw)
    assert msg.subject == "转发：会议通知"
    assert "header Subject: raw 8-bit text, not UTF-8; read as gb18030 (the part declares GB2312)" in msg.warnings


def test_raw_8bit_subject_of_a_multipart_uses_its_first_text_part_charset():
    raw = mail(b"From: a@example.ru\nSubject: " + "Рассылка: тендер".encode("cp1251") +
               b"\nContent-Type: multipart/alternative; boundary=b\n",
               b"--b\r\nContent-Type: text/plain; charset=windows-1251\r\n\r\n" +
               "Привет".encode("cp1251") + b"\r\n--b--\r\n")
    assert parse_mail(raw).subject == "Рассылка: тендер"


def test_raw_8bit_subject_in_the_charset_of_the_mails_encoded_words():
    """No part declares a charset: the one the mail's encoded words are labelled with
    reads its raw header bytes (the detector alone took this GB2312 subject for Korean)."""
    subject = "转发：会议".encode("gb2312")
    raw = (b"From: =?gb2312?B?0MXPog==?= <li@example.cn>\r\nTo: a@desk.example\r\nSubject: " + subject
           + b"\r\n\r\nhi\r\n")
    msg = parse_mail(raw)
    assert msg.subject == "转发：会议"
    assert "header Subject: raw 8-bit text, not UTF-8; read as gb18030 (the mail's encoded words are in gb2312)" \
        in msg.warnings


@pytest.mark.parametrize("subject, charset, sender, how", [
    ("转发：会议", "gb2312", "li@mail.example.cn", "read as gb18030 (the sender's country domain suggests gb18030)"),
    ("見積書のご送付", "cp932", "sato@kaisha.co.jp", "read as cp932 (the sender's country domain suggests cp932)"),
    ("轉寄：會議", "big5", "wang@example.com.tw", "read as big5 (the sender's country domain suggests big5)"),
    # a Western name from a Chinese domain stays windows-1252 (its bytes fit GB18030 too)
    ("Die Hasen und die Frösche", "cp1252", "li@example.cn", "read as windows-1252"),
])
def test_raw_8bit_subject_nothing_declares_read_as_the_senders_country_writes(subject, charset, sender, how):
    """Nothing in the mail names a charset: the detector alone took short GB2312 and
    Shift_JIS subjects for Korean; the sender's CJK country domain is the better hint."""
    raw = (f"From: {sender}\r\nTo: a@desk.example\r\nSubject: ".encode() + subject.encode(charset)
           + b"\r\n\r\nhi\r\n")
    msg = parse_mail(raw)
    assert msg.subject == subject
    assert any(w.startswith("header Subject: raw 8-bit text, not UTF-8") and w.endswith(how) for w in msg.warnings), \
        msg.warnings


def test_raw_8bit_filename_in_the_charset_its_part_declares():
    name = "报价单.pdf".encode("gb2312")
    raw = mail(b"From: li@example.cn\nSubject: x\nContent-Type: multipart/mixed; boundary=b\n",
               b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
               b"--b\r\nContent-Type: application/pdf; charset=\"GB2312\"; name=\"" + name + b"\"\r\n"
               b"Content-Disposition: attachment; filename=\"" + name + b"\"\r\n\r\n%PDF\r\n--b--\r\n")
    msg = parse_mail(raw)
    assert [a.filename for a in msg.attachments] == ["报价单.pdf"]
    assert any("read as gb18030 (the part declares GB2312)" in w for w in msg.warnings)


@pytest.mark.parametrize("param, name, warning", [
    # RFC 2231 without a charset, on a part that declares GB2312 (was "ת��.pdf", silently)
    ("filename*=''%D7%AA%B7%A2.pdf", "转发.pdf", "RFC 2231 without a charset, read as the part's GB2312"),
    # labelled UTF-8, the bytes are not (was "caf\ufffd.pdf", silently)
    ("filename*=utf-8''caf%E9.pdf", "café.pdf", "invalid UTF-8"),
    ("filename*=iso-8859-1''%80uro.pdf", "€uro.pdf", "contains cp1252 characters"),
    ("filename*0*=utf-8''caf%C3%A9; filename*1*=.pdf", "café.pdf", None),
    ("filename*=utf-8'en'%E2%82%AC.pdf", "€.pdf", None),
])
def test_rfc2231_filenames_read_with_the_charset_rules(param, name, warning):
    """Issue 13: an RFC 2231 name is read with the same rules as every other text: its
    label, else the part's declared charset, else the detector, and a repair says so."""
    raw = mail(b"From: li@example.cn\nSubject: x\nContent-Type: multipart/mixed; boundary=b\n",
               b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
               b"--b\r\nContent-Type: application/pdf; charset=GB2312\r\n"
               b"Content-Disposition: attachment; " + param.encode() + b"\r\n\r\n%PDF\r\n--b--\r\n")
    msg = parse_mail(raw)
    assert [a.filename for a in msg.attachments] == [name]
    named = [w for w in msg.warnings if w.startswith("attachment name")]
    assert (warning is None and not named) or any(warning in w for w in named), msg.warnings


def test_undeclared_bytes_that_are_not_cp1252_plausible_go_to_the_detector():
    text = "Уведомление участникам тендеров о переносе сроков подачи заявок".encode("cp1251")
    assert not cp1252_plausible(text)
    warnings: list[str] = []
    assert decode_bytes(text, None, warnings, "body").startswith("Уведомление")
    assert warnings == ["body: 8-bit text without charset, not UTF-8 nor windows-1252; detected as cp1251"]


def test_cp1252_plausible_is_western_text():
    assert cp1252_plausible("Die Hasen und die Frösche, café “quoted” €5".encode("cp1252"))
    assert cp1252_plausible("Zoë €".encode("cp1252"))
    assert not cp1252_plausible("[트래블로] 지금, 오픈베타".encode("euc-kr"))
    assert not cp1252_plausible("会议通知".encode("gb2312"))
    assert not cp1252_plausible(b"abc\x81def")  # a byte cp1252 does not have


def test_undeclared_western_bytes_stay_windows_1252_with_a_warning():
    warnings: list[str] = []
    assert decode_bytes("café ’s".encode("cp1252"), None, warnings, "body") == "café ’s"
    assert warnings == ["body: 8-bit text without charset, not UTF-8; read as windows-1252"]


# ------------------------------------------------------------ RFC 2047, leniently


@pytest.mark.parametrize("value, expected", [
    ("=?UTF-8?Q? Personal=C3=A4nderung?=", "Personaländerung"),
    ("=?us-ascii?Q?ABC / 123?=", "ABC / 123"),
    ("=?utf-8?q?a?= plain =?utf-8?q?b?=", "a plain b"),
])
def test_encoded_words_with_spaces_inside(value, expected):
    warnings: list[str] = []
    assert " ".join(decode_header_value(value, warnings).split()) == expected
    assert any("spaces inside" in w for w in warnings) == (" " in value.split("?")[3])


def test_iso_2022_jp_label_holding_shift_jis():
    import base64
    word = "=?ISO-2022-JP?B?" + base64.b64encode("テスト".encode("shift_jis")).decode() + "?="
    warnings: list[str] = []
    assert decode_header_value(word, warnings) == "テスト"
    assert warnings == ["header: not valid 'iso-2022-jp'; read as cp932"]


def test_raw_8bit_inside_an_encoded_word():
    raw = mail(b"From: a@example.de\nSubject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?=\n")
    msg = parse_mail(raw)
    assert msg.subject == "Die Hasen und die Frösche"
    assert any("raw 8-bit text inside an encoded word" in w for w in msg.warnings)


# ------------------------------------------------------------ ISO-2022-JP extensions


def test_iso_2022_jp_with_nec_row_13_is_read_with_the_cp932_table():
    data = b"\x1b$B-!-\"\x1b(B test \x1b$B$3$s$K$A$O\x1b(B"   # ①② test こんにちは
    warnings: list[str] = []
    assert decode_bytes(data, "iso-2022-jp", warnings) == "①② test こんにちは"
    assert warnings == ["text: not valid 'iso-2022-jp'; read as iso-2022-jp with the cp932 table"]
    assert iso2022jp_as_cp932(b"\x1b(I12\x1b(B") == "ｱｲ"  # half-width katakana


def test_7bit_bytes_never_prove_utf_8():
    """A strict codec that fails on 7-bit data is not 'labelled X but is UTF-8'."""
    warnings: list[str] = []
    assert decode_bytes(b"\x1b$B\x7f\x7f\x1b(B x", "iso-2022-jp", warnings) == "\ufffd x"
    assert warnings == ["text: bytes not valid in charset 'iso-2022-jp'; replaced"]
    warnings = []
    assert decode_bytes(b"\x1b$(Q.!\x1b(B", "iso-2022-jp", warnings) == "俱"   # JIS X 0213 plane 1
    assert warnings == ["text: not valid 'iso-2022-jp'; read as iso-2022-jp-2004"]
    # 8-bit UTF-8 under an ISO-2022-JP label is UTF-8
    warnings = []
    assert decode_bytes("日本語".encode(), "iso-2022-jp", warnings) == "日本語"
    assert warnings == ["text: labelled 'iso-2022-jp' but is UTF-8; read as UTF-8"]


def test_undeclared_iso_2022_jp_body():
    raw = mail(b"From: a@example.jp\nSubject: x\n", b"\x1b$B$3$s$K$A$O\x1b(B\r\n")
    msg = parse_mail(raw)
    assert msg.text.strip() == "こんにちは"
    assert any("holds ISO-2022-JP escapes" in w for w in msg.warnings)


# ------------------------------------------------------------ the header block


def test_leading_lines_that_are_no_headers_are_skipped():
    raw = ("---- Original email message ----\r\nFrom: Jan Novák <jan@firma.cz>\r\nSubject: Čtvrtek\r\n"
           "Content-Type: text/plain; charset=windows-1250\r\n\r\nČtvrtek schůzka\r\n").encode("cp1250")
    msg = parse_mail(raw)
    assert (msg.from_addr, msg.from_name, msg.subject) == ("jan@firma.cz", "Jan Novák", "Čtvrtek")
    assert msg.text == "Čtvrtek schůzka\n"
    assert msg.warnings[0] == ("1 line(s) before the header block skipped, the first: "
                               "'---- Original email message ----'")


def test_an_indented_first_header_is_a_header():
    raw = mail(b" From: James <james@example.org>\nSubject: plain\n")
    msg = parse_mail(raw)
    assert (msg.from_addr, msg.subject) == ("james@example.org", "plain")
    assert any("first header line indented" in w for w in msg.warnings)


def test_text_that_is_no_mail_still_reads_as_body():
    msg = parse_mail(b"just some words\r\nand more\r\n")
    assert msg.from_addr == "" and "just some words" in msg.text


# ------------------------------------------------------------ From


@pytest.mark.parametrize("value, expected", [
    ("Bob Dunite <bob@extern> Bobby Dunite <bobby@extern>", ("Bob Dunite", "bob@extern")),
    ("tim@powerupdev.com concierge@powerupdev.com", ("", "tim@powerupdev.com")),
    ('"x@evil.example" jan@klant.nl', ("", "jan@klant.nl")),
    ('"Mail Deliver System" <MAILER-DAEMON>', ("Mail Deliver System", "")),
])
def test_two_mailboxes_without_a_comma_and_a_name_without_an_address(value, expected):
    assert first_mailbox(value) == expected


@pytest.mark.parametrize("header, value, stray", [
    ("From", '"A" <a@x.example> "B" <b@y.example>', '"B" <b@y.example>'),
    ("From", "tim@powerupdev.com concierge@powerupdev.com", "concierge@powerupdev.com"),
    ("Cc", "<c@x.example> d@y.example, e@z.example", "d@y.example"),
    ("From", "Jan <jan@klant.nl> (werk)", ""),
    ("Cc", "a@x.example, b@y.example", ""),
])
def test_a_mailbox_dropped_for_a_missing_comma_is_a_warning(header, value, stray):
    """Issue 13, every repair says what was done: a second mailbox without a comma
    before it is not read, and the warning names it; a comment is no mailbox."""
    assert unseparated(value) == stray
    others = "From: jan@klant.nl\r\n" if header != "From" else ""
    msg = parse_mail(f"{header}: {value}\r\n{others}To: s@desk.example\r\nSubject: x\r\n\r\nTekst\r\n".encode())
    said = [w for w in msg.warnings if "without a comma" in w]
    assert said == ([f"header {header}: text after an address without a comma, not read: {stray!r}"]
                    if stray else [])


@pytest.mark.parametrize("value, expected, glued", [
    ("abc=?utf-8?q?=C3=A9?=def", "abcédef", True),
    ("Re:=?utf-8?q?Vraag?=", "Re:Vraag", True),
    ("=?utf-8?q?a?==?utf-8?q?b?=", "ab", True),
    ("Re: =?utf-8?q?=C3=A9?= x", "Re: é x", False),
    ('"=?utf-8?q?=C3=A9?=" (=?utf-8?q?x?=)', '"é" (x)', False),
])
def test_an_encoded_word_glued_to_text_is_decoded_with_a_warning(value, expected, glued):
    warnings: list[str] = []
    assert decode_header_value(value, warnings) == expected
    assert [w.split(":")[1].strip() for w in warnings] == (
        ["encoded word without a space beside it, decoded anyway"] if glued else [])


def test_a_second_mailbox_glued_to_the_first_is_no_name():
    assert parse_address_list('a <a@x.example> "Doe, John" <b@x.example>, c@y.example') == [
        ("a", "a@x.example"), ("", "c@y.example")]


# ------------------------------------------------------------ body and attachments


def test_an_empty_part_after_the_last_boundary_does_not_replace_the_text():
    raw = mail(b"From: a@example.org\nSubject: x\nContent-Type: multipart/alternative; boundary=b\n",
               b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe real text\r\n"
               b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>The real text</p>\r\n--b\r\n")
    assert parse_mail(raw).text.strip() == "The real text"


def test_an_attached_message_keeps_the_name_the_mail_gives_it():
    raw = mail(b"From: a@example.org\nSubject: x\nContent-Type: multipart/mixed; boundary=b\n",
               b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
               b"--b\r\nContent-Type: message/rfc822; name=\"thanks.eml\"\r\n\r\n"
               b"From: c@example.org\r\nSubject: Thanks\r\n\r\nthanks\r\n--b\r\n"
               b"Content-Type: message/rfc822\r\n\r\nFrom: c@example.org\r\nSubject: Other\r\n\r\nx\r\n--b--\r\n")
    assert [a.filename for a in parse_mail(raw).attachments] == ["thanks.eml", "Other.eml"]


def test_a_joiner_inside_an_emoji_is_kept_and_between_letters_removed():
    assert strip_invisible("sallo 😵\u200d💫") == "sallo 😵\u200d💫"
    assert strip_invisible("Op\u200dzeg\u200bging") == "Opzegging"


def test_invisible_characters_go_wherever_they_stand_in_any_script():
    """strip_invisible looks at each distinct character once before it walks the text:
    the same as removing every format character (category Cf) one by one."""
    import unicodedata

    texts = ["Dzień dobry, zamówienie nie dotarło", "Goedendag, één krant", "Привет", "請求書",
             "plain ascii", ""]
    hidden = ["\u200b", "\u202e", "\ufeff", "\u00ad", "\u2066", "\U000e0041"]
    for text in texts:
        assert strip_invisible(text) is text or strip_invisible(text) == text
        for ch in hidden:
            for at in (0, len(text) // 2, len(text)):
                mixed = text[:at] + ch + text[at:]
                want = "".join(c for c in mixed if unicodedata.category(c) != "Cf")
                assert strip_invisible(mixed) == want, (text, ch, at)


@pytest.mark.parametrize("value, name, warned", [
    ('"=?utf-8?q?J=C3=A1n?=" <jan@klant.nl>', "Ján", True),
    ('"Jansen, =?utf-8?q?J=C3=A1n?=" <jan@klant.nl>', "Jansen, Ján", True),
    ("=?utf-8?q?J=C3=A1n?= <jan@klant.nl>", "Ján", False),
    ('"Jan =?" <jan@klant.nl>', "Jan =?", False),
])
def test_an_encoded_word_inside_a_quoted_name_is_decoded_with_a_warning(value, name, warned):
    """Issue 13, every repair says what was done: RFC 2047 5 keeps encoded words out of
    quoted strings; mail programs decode them there all the same, and so do we."""
    msg = parse_mail(f"From: {value}\r\nTo: s@desk.example\r\nSubject: x\r\n\r\nTekst\r\n".encode())
    assert msg.from_name == name
    assert any("encoded word inside a quoted name" in w for w in msg.warnings) == warned
