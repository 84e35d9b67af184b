"""The parser reads each header once (parse.READ_POLICY): the stdlib's parser asks a
part for its Content-Type several times while it splits a mail, and policy.default
parses the header anew at every ask. Same answers as policy.default, fewer parses."""

from __future__ import annotations

from collections import Counter
from email import policy
from pathlib import Path

import pytest

import bot.core.mail.parse as parse_module
from bot.core.mail.parse import parse_mail
from tests.support.mailgen import corpus, customer_mail

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _counting(monkeypatch) -> Counter:
    asked: Counter = Counter()
    parse = policy.EmailPolicy.header_fetch_parse

    def counted(self, name, value):
        if not hasattr(value, "name"):
            asked[(name.lower(), value)] += 1
        return parse(self, name, value)

    monkeypatch.setattr(policy.EmailPolicy, "header_fetch_parse", counted)
    return asked


def test_each_header_of_a_multipart_mail_is_parsed_once(monkeypatch):
    raw = customer_mail(7, variant="attachment")
    parse_module._READ_CACHE.clear()
    asked = _counting(monkeypatch)
    parse_mail(raw)
    assert asked and max(asked.values()) == 1
    assert any(name == "content-type" for name, _ in asked)


def test_policy_default_would_parse_a_content_type_several_times(monkeypatch):
    """What the test above guards against: with policy.default each ask parses again."""
    monkeypatch.setattr(parse_module, "READ_POLICY", policy.default)
    asked = _counting(monkeypatch)
    parse_mail(customer_mail(7, variant="attachment"))
    assert max(n for (name, _), n in asked.items() if name == "content-type") >= 3


def _mails() -> list[bytes]:
    files = [p for d in ("realworld/mails", "hostile", "mail") for p in sorted((FIXTURES / d).rglob("*"))
             if p.is_file() and p.suffix in (".eml", "")]
    assert len(files) > 200
    return [p.read_bytes() for p in files] + corpus(100)


def _read_all(mails: list[bytes]) -> list[str]:
    out = []
    for raw in mails:
        try:
            out.append(repr(parse_mail(raw)))
        except Exception as exc:  # an unreadable mail: the same refusal either way
            out.append(f"{type(exc).__name__}: {exc}")
    return out


def test_the_fixture_mails_read_the_same_as_with_policy_default(monkeypatch):
    mails = _mails()
    ours = _read_all(mails)
    monkeypatch.setattr(parse_module, "READ_POLICY", policy.default)
    assert _read_all(mails) == ours


def test_the_kept_headers_are_few_and_short():
    """A parsed header keeps its parse tree (150 KB for 200 characters dense with
    parameters): only a few short values are kept, a long one is parsed at each ask."""
    parse_module._READ_CACHE.clear()
    read = parse_module.READ_POLICY.header_fetch_parse
    for i in range(parse_module._READ_CACHE_SIZE * 3):
        read("Content-Type", f"text/plain; x={i}")
        assert 0 < len(parse_module._READ_CACHE) <= parse_module._READ_CACHE_SIZE
    parse_module._READ_CACHE.clear()
    long = "text/plain; " + "; ".join(f"p{j}=v" for j in range(parse_module._READ_CACHE_VALUE // 5))
    first, again = read("Content-Type", long), read("Content-Type", long)
    assert first is not again and str(first) == str(again)
    assert parse_module._READ_CACHE == {}


@pytest.mark.parametrize("value", ["text/plain; charset=utf-8", "multipart/mixed; boundary=x"])
def test_a_cached_header_is_the_parsed_header(value):
    parse_module._READ_CACHE.clear()
    first = parse_module.READ_POLICY.header_fetch_parse("Content-Type", value)
    again = parse_module.READ_POLICY.header_fetch_parse("Content-Type", value)
    fresh = policy.default.header_fetch_parse("Content-Type", value)
    assert again is first
    assert (str(first), first.content_type, dict(first.params)) == \
        (str(fresh), fresh.content_type, dict(fresh.params))


def test_a_header_already_parsed_is_handed_back_as_it_is():
    """A header object (a str too) set on a message is returned itself, as policy.default
    returns it, not a kept header parsed from the same text."""
    parse_module._READ_CACHE.clear()
    kept = parse_module.READ_POLICY.header_fetch_parse("Subject", "hello")
    own = policy.default.header_factory("Subject", "hello")
    assert parse_module.READ_POLICY.header_fetch_parse("Subject", own) is own is not kept
