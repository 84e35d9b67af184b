"""The webhook transport: POSTs one outbox row (channel "webhook") to its subscription,
signed (bot/core/webhooks.py, docs/webhooks.md).

Only to a subscription's address as configured when it is sent (rules.yaml or the
desk's table): a row names its subscription, never an address, and redirects are not
followed. No proxy from the environment either: the address is the operator's.

Outcomes: 2xx delivered; 5xx, 408, 429, timeouts and connection errors are tried again
with the outbox's backoff (TemporaryFailure, Retry-After honoured); other 4xx and 3xx
fail for good. A subscription failing for TICKETBOT_WEBHOOK_DISABLE_DAYS is disabled
(bot/desk/webhooks.py `failed`), and a row that old is given up.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.core.webhooks import HEADER_DELIVERY, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign
from bot.delivery.transport import PermanentFailure, TemporaryFailure
from bot.desk import webhooks
from bot.desk.context import Desk

log = logging.getLogger("bot.webhook_out")

USER_AGENT = "ticketbot-webhooks/1"
RETRY_STATUS = {408, 429}
MAX_ANSWER = 1 << 20  # bytes of a receiver's answer read (and thrown away)
# the server closed a kept-alive connection between two deliveries: try once on a new one
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class WebhookTransport:
    """http.client, one kept-alive connection per receiver and thread: it follows no
    redirect and reads no proxy settings, so a POST goes to the configured address only."""

    def __init__(self, desk: Desk):
        self.desk = desk
        self.settings = desk.settings
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        # made with the first https connection: loading the system's CA certificates takes
        # 50 ms, on the worker's start-up path, and most desks have no https webhook
        self._tls: ssl.SSLContext | None = None

    def describe(self) -> str:
        return "webhooks (signed HTTP POST)"

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()

    def send(self, row: Any) -> dict[str, Any]:
        name = row.to_addr
        sub = webhooks.target(self.desk, name)
        if sub is None:
            raise PermanentFailure(f"no webhook subscription named {name!r}: not sent "
                                   "(events go only to configured subscriptions)")
        if sub.disabled:
            raise PermanentFailure(f"webhook {name!r} is disabled")
        now = self.desk.clock()
        try:
            result = self._post(sub, row, now)
        except TemporaryFailure as exc:
            if webhooks.failed(self.desk, name, str(exc), now, delivery=row.id):
                raise PermanentFailure(f"{exc}; webhook {name!r} is disabled") from None
            if now - row.created_at >= timedelta(days=self.settings.webhook_disable_days):
                raise PermanentFailure(f"{exc}; given up after "
                                       f"{self.settings.webhook_disable_days:g} days") from None
            raise
        except PermanentFailure as exc:
            webhooks.failed(self.desk, name, str(exc), now, delivery=row.id)
            raise
        if sub.failing:
            webhooks.delivered(self.desk, name, now)
        return result

    def _post(self, sub: webhooks.Target, row: Any, now) -> dict[str, Any]:
        secret = self.settings.webhook_secret(sub.secret_env)
        if not secret:
            raise TemporaryFailure(f"{sub.secret_env} is not set: not sent unsigned")
        body: bytes = row.payload or b""
        stamp = str(int(now.timestamp()))
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   HEADER_EVENT: row.purpose, HEADER_DELIVERY: row.message_id or f"{row.id}",
                   HEADER_TIMESTAMP: stamp, HEADER_SIGNATURE: sign(secret, stamp, body)}
        started = time.monotonic()
        try:
            status, reason, answer = self._request(sub.url, body, headers)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timeout, TLS
            raise TemporaryFailure(f"{sub.url}: {type(exc).__name__}: {exc}") from None
        what = f"{sub.url} answered {status} {reason}"
        if status >= 500 or status in RETRY_STATUS:
            raise TemporaryFailure(what, retry_after=_retry_after(answer.get("Retry-After")))
        if 300 <= status < 400:
            raise PermanentFailure(f"{what} (redirects are not followed)")
        if status >= 400 or status < 200:
            raise PermanentFailure(what)
        ms = round((time.monotonic() - started) * 1000, 1)
        log.debug("webhook %s: %s %s -> %s in %s ms", sub.name, row.purpose, row.message_id,
                  status, ms)
        return {"status": status, "ms": ms}

    def _request(self, url: str, body: bytes, headers: dict[str, str]):
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (parts.scheme, parts.hostname, parts.port)
        conns = self._local.__dict__.setdefault("conns", {})
        for attempt in (1, 2):
            conn = conns.get(key)
            reused = conn is not None
            if conn is None:
                conn = conns[key] = self._connect(parts)
            try:
                if conn.sock is None:
                    conn.connect()
                    # headers and body are two writes: without this, a kept-alive
                    # connection waits out the receiver's delayed ACK on every POST
                    sock: socket.socket = conn.sock  # type: ignore[assignment]
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read(MAX_ANSWER)
                if resp.will_close or not resp.isclosed():
                    self._drop(conns, key)
                return resp.status, resp.reason, resp.headers
            except STALE:
                self._drop(conns, key)
                if reused and attempt == 1:
                    continue
                raise
            except BaseException:
                self._drop(conns, key)
                raise
        raise AssertionError("unreachable")

    def _connect(self, parts) -> http.client.HTTPConnection:
        timeout = self.settings.webhook_timeout
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            with self._lock:
                if self._tls is None:
                    self._tls = ssl.create_default_context()
            conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                                               context=self._tls)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        with self._lock:
            self._all.append(conn)
        return conn

    def _drop(self, conns: dict, key) -> None:
        conn = conns.pop(key, None)
        if conn is not None:
            conn.close()
            with self._lock:
                if conn in self._all:
                    self._all.remove(conn)


def _retry_after(value: str | None) -> float | None:
    try:
        return min(3600.0, float(value)) if value else None
    except ValueError:
        return None
