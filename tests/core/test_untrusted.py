"""Forged, mass-mailed and script-made mail gets no automatic answer (issue 13).

bot/core/mail/untrusted.py: each sign on a message built by hand, the look-alike a
person writes that must still be answered, and the headers' way through parse_mail.
"""

from __future__ import annotations

import pytest

from bot.core.domain import Attachment, InboundMessage
from bot.core.mail.autoreply import automatic_reason
from bot.core.mail.parse import parse_mail
from bot.core.mail.untrusted import MASS_MAIL_DOMAINS, untrusted_reason

BASE_HEADERS = {"content-type": "text/plain", "message-id": "<a1@klant.nl>", "mime-version": "1.0"}


def build(kw: dict) -> InboundMessage:
    """A person's plain mail, changed by ``kw``; a header given as None is left out."""
    kw = dict(kw)
    headers = {k: v for k, v in {**BASE_HEADERS, **kw.pop("headers", {})}.items() if v is not None}
    base = {"from_addr": "jan@klant.nl", "return_path": "jan@klant.nl", "to": ["support@desk.example"],
            "headers": headers}
    return InboundMessage(**{**base, **kw})


def note(text: str, name: str = "message.txt") -> Attachment:
    return Attachment(filename=name, content_type="text/plain", content=text.encode())


FIREBOX = ("The WatchGuard Firebox that protects your network has detected a message that may not be "
           "safe.\nCause : The file type may not be safe.\nFile name : export_pdf_65acf801.js\n"
           "Action : The Firebox deleted export_pdf_65acf801.js.\n")


@pytest.mark.parametrize("kw, reason", [
    ({"headers": {"received-spf": "softfail (example.com: domain of transitioning x@example.com)"}},
     "sender not authenticated: spf softfail"),
    ({"headers": {"received-spf": "Fail receiver=mx.desk.example; client-ip=192.0.2.1"}},
     "sender not authenticated: spf fail"),
    ({"headers": {"authentication-results": "mx.desk.example; spf=softfail smtp.mailfrom=klant.nl; dkim=none"}},
     "sender not authenticated: spf softfail"),
    ({"headers": {"message-id": "<11107978796724623>"}}, "malformed message-id (no @)"),
    ({"to": [f"x{i}@firm{i}.example" for i in range(MASS_MAIL_DOMAINS)]},
     f"mass mailing: {MASS_MAIL_DOMAINS} recipients in {MASS_MAIL_DOMAINS} domains"),
    ({"to": ["a@one.example"], "cc": [f"c{i}@firm{i}.example" for i in range(MASS_MAIL_DOMAINS - 1)]},
     f"mass mailing: {MASS_MAIL_DOMAINS} recipients in {MASS_MAIL_DOMAINS} domains"),
    ({"headers": {"x-mailer": "Microsoft Outlook Express 5.00.2919.6700", "mime-version": None}},
     "forged mailer: outlook express without mime-version"),
    ({"headers": {"x-mailer": "Microsoft Outlook Express 6.00.2900.5512", "message-id": None}},
     "forged mailer: outlook express without message-id"),
    ({"headers": {"content-type": "multipart/mixed; boundary=x", "content-transfer-encoding": "quoted-printable",
                  "message-id": None}},
     "script-made mail: a multipart with quoted-printable encoding"),
    ({"from_addr": "support@part-kom.example",
      "headers": {"content-type": "multipart/mixed; boundary=x", "content-transfer-encoding": "base64"}},
     "script-made mail: a multipart with base64 encoding"),
    ({"attachments": [note(FIREBOX)]}, "security gateway removed an attachment: export_pdf_65acf801.js"),
    ({"from_addr": "bookings@hotel.example", "headers": {"x-mailer": "Microsoft CDO for Windows 2000"}},
     "application mail: microsoft cdo from bookings@"),
    ({"from_addr": "info@shop.example", "headers": {"x-mailer": "PHPMailer 6.9.1 (https://github.com/PHPMailer)"}},
     "application mail: phpmailer from info@"),
    # a Reply-To at another domain vouches for no department sender (addresses.person_behind)
    ({"from_addr": "info@shop.example", "reply_to": ["klaas@gmail.example"],
      "headers": {"x-mailer": "PHPMailer 6.9.1 (https://github.com/PHPMailer)"}},
     "application mail: phpmailer from info@"),
])
def test_signs_of_mail_no_person_wrote_to_us(kw, reason):
    msg = build(kw)
    assert untrusted_reason(msg) == reason
    assert automatic_reason(msg) == reason


@pytest.mark.parametrize("kw", [
    {"headers": {"received-spf": "pass (desk.example: domain of klant.nl designates 192.0.2.1)"}},
    {"headers": {"received-spf": "neutral"}},
    {"headers": {"received-spf": "softfailing is not a verdict"}},
    # DMARC fails on a person's post through a list that rewrites it: not a sign
    {"headers": {"authentication-results": "mx.desk.example; spf=pass; dkim=fail; dmarc=fail"}},
    {"headers": {"message-id": "<CAF=x1@mail.gmail.com>"}},
    # a customer copying colleagues in a few firms
    {"to": ["support@desk.example"], "cc": [f"c{i}@firm{i}.example" for i in range(MASS_MAIL_DOMAINS - 2)]},
    # many colleagues, one firm
    {"cc": [f"c{i}@firm.example" for i in range(30)]},
    {"headers": {"x-mailer": "Microsoft Outlook Express 6.00.2800.1106"}},
    {"headers": {"x-mailer": "Microsoft Outlook 16.0", "mime-version": None}},
    {"headers": {"content-type": "multipart/mixed; boundary=x", "content-transfer-encoding": "7bit"}},
    # a town office's document system writes it on a clerk's answer (real-world corpus):
    # a person's address and a Message-ID, no second sign
    {"headers": {"content-type": "multipart/mixed; boundary=x", "content-transfer-encoding": "quoted-printable"}},
    {"headers": {"content-type": "text/plain", "content-transfer-encoding": "quoted-printable"}},
    {"attachments": [note("I removed the old file setup.exe from the share, as asked.")]},
    {"attachments": [note("Security notice: your message was blocked by mx.example.com, sorry.")]},
    {"attachments": [Attachment(filename="contract.pdf", content_type="application/pdf", content=b"%PDF")]},
    # a runnable file attached is no sign by itself (only a gateway's note that it removed one)
    {"attachments": [Attachment(filename="setup.exe", content_type="application/octet-stream", content=b"MZ")]},
    # a web form through CDO puts the customer in From: a person
    {"from_addr": "piet@klant.nl", "headers": {"x-mailer": "Microsoft CDO for Windows 2000"}},
    # a program's mail from a department address for the person in its Reply-To (answered
    # there: bot/core/mail/addresses.reply_address)
    {"from_addr": "info@shop.example", "reply_to": ["piet@shop.example"], "headers": {"x-mailer": "PHP/8.2.1"}},
    # a B&B's bookings@ address writing with a mail client
    {"from_addr": "bookings@harbour-view.example", "headers": {"x-mailer": "Mozilla Thunderbird 128.6.0"}},
])
def test_people_who_merely_look_untrusted(kw):
    msg = build(kw)
    assert untrusted_reason(msg) is None
    assert automatic_reason(msg) is None


def raw_mail(*extra: str, body: str = "Hello, my invoice is wrong.") -> bytes:
    head = ["From: Jan <jan@klant.nl>", "To: support@desk.example", "Subject: Invoice",
            "Date: Mon, 2 Nov 2026 10:00:00 +0100", "Message-ID: <a1@klant.nl>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", *extra]
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


@pytest.mark.parametrize("header, reason", [
    ("Received-SPF: softfail (mx.desk.example: transitioning domain)", "sender not authenticated: spf softfail"),
    ("Authentication-Results: mx.desk.example;\r\n spf=fail smtp.mailfrom=klant.nl",
     "sender not authenticated: spf fail"),
    # an upstream spam filter's verdict reaches machine_reason (it was dropped by the parser before)
    ("X-Spam-Flag: YES", "spam filter: x-spam"),
    ("X-Spam-Status: Yes, score=9.2 required=5.0", "spam filter: x-spam"),
    ("X-MS-Exchange-Organization-SCL: 7", "spam filter: exchange scl 7"),
])
def test_the_signs_reach_the_parsed_mail(header, reason):
    assert parse_mail(raw_mail(header)).auto_reason == reason
    assert parse_mail(raw_mail()).auto_reason is None


def test_a_script_made_multipart_through_the_parser():
    raw = (b"From: Shop <support@part-kom.example>\r\nTo: foo@bar.example\r\nSubject: Price list\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n"
           b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
           b"Prices attached.\r\n--b--\r\n")
    assert parse_mail(raw).auto_reason == "script-made mail: a multipart with quoted-printable encoding"


@pytest.mark.parametrize("raw, reason", [
    # a windows-1252 subject pasted raw beside an encoded From (a campaign script)
    (b"From: =?Windows-1252?B?Rm9ybWHn428=?= <info@campanha.example>\r\nTo: a@desk.example\r\n"
     b"Subject: Forma\xe7\xe3o: Mega Campanha\r\n\r\nTEST\r\n",
     "script-made mail: from RFC 2047-encoded, subject in raw non-UTF-8 bytes"),
    # a GB2312 name in To, the subject encoded
    (b"From: =?gb2312?B?0MXPog==?= <x@shop.example>\r\nTo: \"\xd5\xc5\xc8\xfd\" <z@desk.example>\r\n"
     b"Subject: =?gb2312?B?t6LGsQ==?=\r\nMIME-Version: 1.0\r\n\r\nhi\r\n",
     "script-made mail: from RFC 2047-encoded, to in raw non-UTF-8 bytes"),
])
def test_headers_half_encoded_by_a_script(raw, reason):
    assert parse_mail(raw).auto_reason == reason


@pytest.mark.parametrize("raw", [
    # RFC 6532: UTF-8 in the headers is allowed; beside an encoded word it is still a person
    "From: Jøran Øygårdvær <jøran@example.com>\r\nTo: =?utf-8?q?S=C3=B8ren?= <s@desk.example>\r\n"
    "Subject: Hei\r\n\r\nHei!\r\n".encode(),
    # an old Outlook writing its subject raw in windows-1252, and nothing encoded
    b"From: \"Doug\" <doug@example.com>\r\nTo: a@desk.example\r\nSubject: Die Fr\xf6sche\r\n\r\nHallo\r\n",
    # raw bytes in a header a program does not fill from text (a Received trace)
    b"Received: from h\xe9 by mx\r\nFrom: =?utf-8?q?J=C3=A9r=C3=B4me?= <j@klant.example>\r\n"
    b"To: a@desk.example\r\nSubject: Facture\r\n\r\nBonjour\r\n",
])
def test_a_person_mail_with_8bit_headers_is_answered(raw):
    assert parse_mail(raw).auto_reason is None
