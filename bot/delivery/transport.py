"""What the outbox hands its items to: a transport per channel (mail, Slack), and
the two ways a delivery can fail. Adapters implement it; the outbox sender needs
nothing else of them."""

from __future__ import annotations

from typing import Any, Protocol


class TemporaryFailure(Exception):
    """Try again later (4xx, connection refused, timeout). ``retry_after``: seconds the
    other side asked us to wait (Slack's 429 Retry-After); the outbox waits at least that."""

    def __init__(self, *args, retry_after: float | None = None):
        super().__init__(*args)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Will never work (5xx): mark failed and tell the ticket."""


class Transport(Protocol):
    """Delivers one outbox item; raises TemporaryFailure or PermanentFailure."""

    def send(self, *args: Any) -> Any: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...
