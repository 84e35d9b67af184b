"""Outlook's Thread-Index header, so that replies group into one conversation in Outlook.

The header is base64 of a 22-byte header block (the first 6 bytes of a FILETIME and a
16-byte GUID), followed by one 5-byte child block per reply. Pure functions.
"""

from __future__ import annotations

import base64
import struct
import uuid
from datetime import UTC, datetime

_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def _filetime(now: datetime) -> int:
    return int((now - _EPOCH).total_seconds() * 10_000_000)


def new_thread_index(now: datetime, guid: uuid.UUID | None = None) -> str:
    ft = _filetime(now)
    header = struct.pack(">Q", ft)[:6] + (guid or uuid.uuid4()).bytes
    return base64.b64encode(header).decode("ascii")


def child_thread_index(parent: str, now: datetime) -> str:
    """A reply's Thread-Index: the parent's plus one 5-byte child block."""
    try:
        raw = base64.b64decode(parent.strip(), validate=True)
    except (ValueError, TypeError):
        return new_thread_index(now)
    if len(raw) < 22 or (len(raw) - 22) % 5:
        return new_thread_index(now)
    header_ft = int.from_bytes(raw[:6] + b"\0\0", "big")
    delta = max(0, _filetime(now) - header_ft)
    # Bit 0 of the child block is 0 when the delta is encoded with bits 18..48,
    # 1 when bits 23..53 (for deltas over about 1.6 years).
    if delta < (1 << 49):
        value = (delta >> 18) & ((1 << 31) - 1)
        code = 0
    else:
        value = (delta >> 23) & ((1 << 31) - 1)
        code = 1
    block = ((code << 31) | value) << 8 | (uuid.uuid4().int & 0xFF)
    return base64.b64encode(raw + block.to_bytes(5, "big")).decode("ascii")


def is_valid(value: str) -> bool:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (ValueError, TypeError):
        return False
    return len(raw) >= 22 and (len(raw) - 22) % 5 == 0


def conversation_key(value: str | None) -> str | None:
    """The conversation a Thread-Index belongs to: its 22-byte header block (a FILETIME
    and a GUID), as hex; every reply in the conversation carries the same. None when the
    value is not a Thread-Index."""
    if not value or not is_valid(value):
        return None
    return base64.b64decode(value.strip(), validate=True)[:22].hex()
