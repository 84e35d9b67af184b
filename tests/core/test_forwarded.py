"""Forwarded mail (bot/core/mail/forwarded.py): the original sender, subject and text out of
the forwards of Outlook, Gmail, Apple Mail and Thunderbird in nl/en/pl/de, and out of a
message/rfc822 attachment; real-shaped fixtures in tests/fixtures/mail/forwarded/."""

from __future__ import annotations

import pytest

from bot.core.mail import forwarded
from bot.core.mail.parse import parse_mail
from tests.conftest import MAIL_FIXTURES

DESK = "desk.example"


def ours(addr: str) -> bool:
    return addr.endswith("@" + DESK)


def found(name: str) -> forwarded.Forwarded:
    msg = parse_mail((MAIL_FIXTURES / "forwarded" / name).read_bytes())
    fwd = forwarded.find(msg, parse_mail, ours)
    assert fwd is not None, name
    return fwd


@pytest.mark.parametrize("name, addr, person, subject, style, first_words", [
    ("outlook_nl.eml", "jan@bakkerij-jansen.nl", "Jan Jansen", "Factuur 2026-114 klopt niet",
     "outlook", "Beste Sanne,"),
    ("outlook_en.eml", "zeger@hotelzee.nl", "Zeger Zee", "Question about our delivery schedule",
     "outlook", "Hello Rob,"),
    ("gmail_en.eml", "olga@drukkerij-oost.nl", "Olga Oost", "Website login does not work",
     "gmail", "Hi Marta,"),
    ("gmail_nl.eml", "piet@klant-bv.nl", "Piet Klant", "Bezorging gemist", "gmail",
     "Goedemorgen,"),
    ("apple_mail.eml", "zeger@hotelzee.nl", "Zeger Zee", "Afspraak verzetten", "apple",
     "Beste Sanne,"),
    ("thunderbird.eml", "ann@buyer-gmbh.example", "Ann Buyer", "Order 5521 delayed",
     "thunderbird", "Dear Rob,"),
    ("outlook_pl.eml", "tomasz@nowak-sp.pl", "Tomasz Nowak", "Reklamacja faktury", "outlook",
     "Dzień dobry,"),
    ("gmail_de.eml", "klaus@kunde-gmbh.de", "Klaus Kunde", "Lieferung fehlt", "gmail",
     "Guten Tag,"),
    ("outlook_de.eml", "klaus@kunde-gmbh.de", "Klaus Kunde", "Rechnung falsch", "outlook",
     "Die Rechnung ist falsch."),
    ("outlook_attached.eml", "jan@bakkerij-jansen.nl", "Jan Jansen", "Opzegging abonnement",
     "attached", "Hierbij zeg ik"),
])
def test_the_original_sender_subject_and_text_of_each_mail_program(name, addr, person, subject,
                                                                  style, first_words):
    fwd = found(name)
    assert (fwd.from_addr, fwd.from_name, fwd.subject, fwd.style) == (addr, person, subject, style)
    assert fwd.text.lstrip().startswith(first_words)
    assert "Forwarded" not in fwd.text and "Van:" not in fwd.text


def test_what_the_colleague_wrote_above_is_the_note_and_noack_is_read_from_it():
    en = found("outlook_en.eml")
    assert en.note == "Please pick this up, the customer called me as well. #noack"
    assert en.no_ack and en.cc == ["reception@hotelzee.nl"] and en.to == ["rob@desk.example"]
    nl = found("outlook_nl.eml")
    assert nl.note.startswith("Kwam bij mij binnen") and not nl.no_ack


def test_apple_mail_quoting_is_taken_off_the_original_text():
    fwd = found("apple_mail.eml")
    assert ">" not in fwd.text
    assert "Kunnen we de afspraak van donderdag verzetten" in fwd.text


def test_thunderbird_in_dutch_and_a_colleagues_forward_of_a_forward():
    text = ("Zie onder.\n\n-------- Doorgestuurd bericht --------\nOnderwerp: \tFwd: Vraag\n"
            "Datum: \tMon, 23 Nov 2026 09:00:00 +0100\nVan: \tRob Visser <rob@desk.example>\n"
            "Aan: \tsanne@desk.example\n\n\n\n---------- Forwarded message ---------\n"
            "From: Ann <ann@buyer.example>\nDate: Mon, 23 Nov 2026 at 08:00\nSubject: Vraag\n"
            "To: <rob@desk.example>\n\nMijn vraag.\n")
    fwd = forwarded.find_in_text(text, "Fwd: Fwd: Vraag", ours)
    assert fwd is not None
    assert (fwd.from_addr, fwd.subject, fwd.text, fwd.note) == (
        "ann@buyer.example", "Vraag", "Mijn vraag.", "Zie onder.")


@pytest.mark.parametrize("subject, text", [
    ("Vraag over factuur", "Van: Jan <jan@x.nl>\nOnderwerp: iets\n\nTekst"),  # no marker, no FW:
    ("FW: iets", "Hallo,\n\nik stuur iets door maar zonder kopregels.\n"),
    ("Fwd: x", "---------- Forwarded message ---------\nDate: today\nSubject: x\n\nno sender"),
])
def test_a_mail_that_is_no_forward_is_none(subject, text):
    assert forwarded.find_in_text(text, subject, ours) is None


def test_outlook_mailto_forms_of_the_sender():
    for value in ("Jan Klant [mailto:jan@klant.nl]", "jan@klant.nl <mailto:jan@klant.nl>",
                  "Jan Klant <jan@klant.nl<mailto:jan@klant.nl>>", '"Klant, Jan" <Jan@Klant.nl>'):
        name, addr = forwarded._mailbox(value)
        assert addr == "jan@klant.nl", value
        assert name in ("Jan Klant", "", "Klant, Jan"), value
