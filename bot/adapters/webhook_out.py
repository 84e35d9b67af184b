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
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from bot.core.webhooks import HEADER_DELIVERY, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign
from bot.delivery.transport import PermanentFailure, TemporaryFailure
from bot.desk import webhooks
from bot.desk.context import Desk

log = logging.getLogger("bot.webhook_out")

USER_AGENT = "ticketbot-webhooks/1"
RETRY_STATUS = {408, 429}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx reaches us as an HTTPError: never another address


class WebhookTransport:
    def __init__(self, desk: Desk):
        self.desk = desk
        self.settings = desk.settings
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def describe(self) -> str:
        return "webhooks (signed HTTP POST)"

    def close(self) -> None:
        pass

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
            if webhooks.failed(self.desk, name, str(exc), now):
                raise PermanentFailure(f"{exc}; webhook {name!r} is disabled") from None
            if now - row.created_at >= timedelta(days=self.settings.webhook_disable_days):
                raise PermanentFailure(f"{exc}; given up after "
                                       f"{self.settings.webhook_disable_days:g} days") from None
            raise
        except PermanentFailure as exc:
            webhooks.failed(self.desk, name, str(exc), now)
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
        req = urllib.request.Request(sub.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
            HEADER_EVENT: row.purpose, HEADER_DELIVERY: row.message_id or f"{row.id}",
            HEADER_TIMESTAMP: stamp, HEADER_SIGNATURE: sign(secret, stamp, body)})
        started = time.monotonic()
        try:
            with self.opener.open(req, timeout=self.settings.webhook_timeout) as resp:
                resp.read(65536)
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            what = f"{sub.url} answered {status} {exc.reason}"
            if status >= 500 or status in RETRY_STATUS:
                raise TemporaryFailure(what, retry_after=_retry_after(exc.headers)) from None
            if 300 <= status < 400:
                raise PermanentFailure(f"{what} (redirects are not followed)") from None
            raise PermanentFailure(what) from None
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise TemporaryFailure(f"{sub.url}: {type(reason).__name__}: {reason}") from None
        ms = round((time.monotonic() - started) * 1000, 1)
        log.debug("webhook %s: %s %s -> %s in %s ms", sub.name, row.purpose, row.message_id,
                  status, ms)
        return {"status": status, "ms": ms}


def _retry_after(headers) -> float | None:
    value = (headers or {}).get("Retry-After") if headers is not None else None
    try:
        return min(3600.0, float(value)) if value else None
    except ValueError:
        return None
