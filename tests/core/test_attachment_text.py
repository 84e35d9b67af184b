"""An attached letter's text (issue 16): PDFs read within caps, for routing only; the
attachment's bytes are kept as they came."""

from __future__ import annotations

from email.message import EmailMessage

from bot.core.domain import Attachment
from bot.core.mail import attachment_text
from bot.core.mail.attachment_text import extract, pdf_text
from bot.core.mail.prepare import prepare
from tests.support.pdf import pdf_bytes

LETTER = ["Stolarnia Kowalczyk", "Dotyczy: umowa P-20107",
          "Niniejszym wypowiadamy umowe P-20107 ze skutkiem na dzien 30.04.2026."]


def mail_with(pdf: bytes, name: str = "pismo.pdf", ctype: str = "application/pdf") -> bytes:
    m = EmailMessage()
    m["From"] = "jan@stolarnia.pl"
    m["To"] = "desk@desk.example"
    m["Subject"] = "pismo"
    m["Message-ID"] = "<pdf-1@stolarnia.pl>"
    m.set_content("Dzień dobry,\nw załączniku pismo.\n")
    maintype, subtype = ctype.split("/")
    m.add_attachment(pdf, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes()


def test_a_pdf_letter_is_read_and_its_bytes_are_kept():
    pdf = pdf_bytes(LETTER)
    p = prepare(mail_with(pdf), "t")
    assert p.message is not None
    [att] = [a for a in p.message.attachments if not a.inline]
    assert att.content == pdf  # the raw attachment, unchanged
    assert "wypowiadamy umowe P-20107" in att.text


def test_only_the_first_pages_are_read():
    pages = [[f"page {i} says hello"] for i in range(attachment_text.MAX_PAGES + 3)]
    text = pdf_text(pdf_bytes(*pages))
    assert f"page {attachment_text.MAX_PAGES - 1} says" in text
    assert f"page {attachment_text.MAX_PAGES} says" not in text


def test_a_big_broken_or_slow_pdf_gives_no_text_and_no_error(monkeypatch):
    assert pdf_text(b"%PDF-1.4\n" + b"\x00garbage" * 100) == ""
    assert pdf_text(pdf_bytes(LETTER), time_limit=0) == ""  # out of time before the first page
    monkeypatch.setattr(attachment_text, "MAX_BYTES", 100)
    assert pdf_text(pdf_bytes(LETTER)) == ""


def test_only_pdfs_are_read_and_at_most_a_few_per_mail():
    fake = Attachment("letter.pdf", "application/pdf", b"not a pdf at all")
    word = Attachment("letter.docx", "application/octet-stream", pdf_bytes(LETTER))
    inline = Attachment("x.pdf", "application/pdf", pdf_bytes(LETTER), inline=True)
    many = [Attachment(f"{i}.pdf", "application/pdf", pdf_bytes(LETTER)) for i in range(5)]
    extract([fake, word, inline, *many])
    assert fake.text is None and word.text is None and inline.text is None  # not PDFs, or inline
    assert [bool(a.text) for a in many] == [True] * attachment_text.MAX_ATTACHMENTS + \
        [False] * (5 - attachment_text.MAX_ATTACHMENTS)


def test_a_word_letter_is_read_too_and_a_zip_bomb_is_cut_short(monkeypatch):
    from tests.support.pdf import docx_bytes

    raw = mail_with(docx_bytes("Sehr geehrte Damen und Herren,", "hiermit kündigen wir den Vertrag D-1 & Co."),
                    name="Schreiben.docx",
                    ctype="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    p = prepare(raw, "t")
    [att] = [a for a in p.message.attachments if not a.inline]
    assert att.text == "Sehr geehrte Damen und Herren,\nhiermit kündigen wir den Vertrag D-1 & Co."
    assert attachment_text.docx_text(b"PK\x03\x04 broken") == ""
    monkeypatch.setattr(attachment_text, "MAX_XML", 200)  # only the start of a huge document
    assert "kündigen" not in attachment_text.docx_text(docx_bytes("x" * 300, "hiermit kündigen wir"))
