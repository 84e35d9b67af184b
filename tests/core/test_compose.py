"""build_mail's direct path (the common case) writes the same mail as the EmailMessage
path: the same headers once decoded, the same parts, lines of at most 78 characters."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from bot.core.mail import compose
from bot.core.mail.compose import build_mail, build_mail_full

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LONG = "Re: Vraag over factuur 12 [TB-123] and a rather long subject that needs folding " * 2

CASES = {
    "plain ascii": {"subject": "Vraag over factuur 12 [TB-1]", "text": "Goedendag,\n\nOntvangen.\n",
                    "html": None, "headers": {}},
    "html, threaded": {"subject": "Re: Vraag", "text": "Hallo Jan,\r\nregel twee\n",
                       "html": "<p>Hallo</p>",
                       "headers": {"in_reply_to": "a@b.example", "references": ["x@y", "a@b.example"],
                                   "thread_index": "AQHXabc=", "thread_topic": "Vraag",
                                   "automatic": True}},
    "non-ascii, long": {"subject": "Re: Pytanie dotyczące faktury " + LONG,
                        "text": "Dzień dobry — ü € " + "lang " * 40 + "\n.\nFrom here\n",
                        "html": "<p>Zoë = €</p>\n" * 30,
                        "headers": {"thread_topic": "Zoë Müller over factuur 12", "automatic": False,
                                    "references": [f"ref-{i}-{'x' * 30}@mail.example"
                                                   for i in range(25)]}},
    "name with specials": {"subject": "", "text": "", "html": None, "headers": {},
                           "from_name": 'Sales "Support", B.V. ü'},
    "trailing spaces and dots": {"subject": "  spaced  ", "text": "line   \n.\n..\nend",
                                 "html": None, "headers": {}},
}


def _kw(case: dict) -> dict:
    kw = {"language": "nl", "from_addr": "support@desk.example", "from_name": "Sales Support",
          "to_addr": "contact1@customer1.example", "message_id": "tb-1-abc@desk.example", "now": NOW}
    kw.update(case)
    return kw


def _view(raw: bytes) -> tuple:
    msg = message_from_bytes(raw, policy=default_policy)
    heads = [(k, str(v)) for k, v in msg.items()
             if k.lower() not in ("content-type", "mime-version")]
    parts = [(p.get_content_type(), p.get_content_charset(), p["Content-Transfer-Encoding"],
              p.get_content()) for p in msg.walk() if not p.is_multipart()]
    return msg.get_content_type(), heads, parts


@pytest.mark.parametrize("name", sorted(CASES))
def test_direct_path_writes_the_same_mail(name, monkeypatch):
    kw = _kw(CASES[name])
    calls = []
    real = compose._build_simple

    def spy(**k):
        calls.append(real(**k))
        return calls[-1]

    monkeypatch.setattr(compose, "_build_simple", spy)
    fast = build_mail(**kw)
    assert calls == [fast] and fast is not None  # the direct path wrote it
    slow = build_mail_full(**kw)
    assert _view(fast) == _view(slow)
    assert all(len(line) <= 78 for line in fast.split(b"\r\n"))
    assert b"\n" not in fast.replace(b"\r\n", b"")  # CRLF only


def test_a_long_non_ascii_header_reads_back_as_written():
    """(EmailMessage's own folding loses a space in this one; the direct path does not.)"""
    topic = "Zoë Müller " * 12
    kw = _kw({"subject": topic, "text": "x\n", "html": None, "headers": {"thread_topic": topic}})
    msg = message_from_bytes(build_mail(**kw), policy=default_policy)
    assert str(msg["Thread-Topic"]) == topic and str(msg["Subject"]) == topic


@pytest.mark.parametrize("change", [
    {"to_addr": "jörg@müller.de"},
    {"subject": "two\nlines"},
    {"headers": {"in_reply_to": "a b@c"}},
    {"attachments": [("a.csv", "text/csv", b"a,b\n")]},
])
def test_the_rest_takes_the_full_path(change):
    kw = _kw({"subject": "Vraag", "text": "x\n", "html": None, "headers": {}})
    kw.update(change)
    assert compose._build_simple(**{k: v for k, v in kw.items()
                                    if k not in ("language", "attachments")}) is None \
        or "attachments" in change
    if "\n" in kw["subject"]:
        with pytest.raises(ValueError):  # as before: no header injection
            build_mail(**kw)
    else:
        assert build_mail(**kw) == build_mail_full(**kw) or b"boundary" in build_mail(**kw)
