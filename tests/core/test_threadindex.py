import base64
from datetime import UTC, datetime, timedelta

from bot.core.mail import threadindex

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_new_index_is_22_bytes_with_filetime_prefix():
    value = threadindex.new_thread_index(NOW)
    raw = base64.b64decode(value)
    assert len(raw) == 22
    filetime = int.from_bytes(raw[:6] + b"\0\0", "big")
    seconds = filetime / 10_000_000
    assert abs((datetime(1601, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)) - NOW) < timedelta(seconds=1)
    assert threadindex.is_valid(value)


def test_child_appends_five_bytes_keeping_the_parent():
    parent = threadindex.new_thread_index(NOW)
    child = threadindex.child_thread_index(parent, NOW + timedelta(hours=1))
    raw_p, raw_c = base64.b64decode(parent), base64.b64decode(child)
    assert len(raw_c) == 27 and raw_c[:22] == raw_p
    grandchild = threadindex.child_thread_index(child, NOW + timedelta(hours=2))
    assert len(base64.b64decode(grandchild)) == 32
    # the time delta in the child block (bits 18..48 of the FILETIME delta) is one hour
    block = int.from_bytes(raw_c[22:], "big") >> 8
    assert block >> 31 == 0
    assert abs((block << 18) / 10_000_000 - 3600) < 1


def test_garbage_parent_starts_a_new_conversation():
    assert len(base64.b64decode(threadindex.child_thread_index("not base64!", NOW))) == 22
    assert not threadindex.is_valid("AQHZ")


def test_a_replys_conversation_key_is_its_roots():
    from datetime import UTC, datetime

    from bot.core.mail import threadindex
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    root = threadindex.new_thread_index(now)
    child = threadindex.child_thread_index(threadindex.child_thread_index(root, now), now)
    key = threadindex.conversation_key(root)
    assert key is not None and len(key) == 44
    assert threadindex.conversation_key(child) == key
    assert threadindex.conversation_key(threadindex.new_thread_index(now)) != key
    assert threadindex.conversation_key("not base64!") is None and threadindex.conversation_key(None) is None
