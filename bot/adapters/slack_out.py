"""The outbox transport for channel "slack": posts, updates, deletes and reacts through
Slack's Web API.

An outbox row for Slack has ``to_addr`` = a channel id (C…, G…, D…) or a person's user id
(U…, W…: the post goes to their direct-message channel, opened with conversations.open
and remembered), and ``payload`` = JSON bytes::

    {"method": "chat.postMessage", "args": {"text": "…", "blocks": […], "thread_ts": "…"}}

``method`` is one of chat.postMessage, chat.postEphemeral (args: user, text, thread_ts),
chat.update (args: ts, text, blocks), chat.delete (args: ts) or reactions.add (args:
timestamp, name) or files.upload (args: filename, title, initial_comment, thread_ts; the
file's bytes are the row's ``file``, read by the outbox from the stored attachment, or
``content_b64`` in the args; uploaded with Slack's files.getUploadURLExternal, a POST to
the upload URL and files.completeUploadExternal). The channel always
comes from ``to_addr``; a token never belongs in a payload.

Failures map onto the outbox's retry rules: a 429 is a TemporaryFailure carrying Slack's
Retry-After (and further calls of that method to that channel wait it out without asking
Slack again); 5xx, connection errors and timeouts are temporary; Slack's definite answers
(invalid_auth, channel_not_found, not_in_channel, is_archived, …) are permanent.
chat.postMessage keeps to Slack's documented pace of one message per second per channel:
a second post to the same channel waits out the rest of that second, other channels do
not wait. Delivery is at least once (the outbox's guarantee): a post that Slack accepted
just before a crash is posted again; a repeated reaction or deletion counts as done.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.delivery.transport import PermanentFailure, TemporaryFailure

log = logging.getLogger("bot.slack_out")

METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "chat.delete",
           "reactions.add", "files.upload")
POST_INTERVAL = 1.0  # seconds between posts to one channel (Slack: 1 message/s/channel)
DEFAULT_RETRY_AFTER = 30.0  # a 429 without a usable Retry-After header

# Slack errors (ok: false) that say "not now" rather than "never".
TEMPORARY_ERRORS = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
    "request_timeout", "timeout", "team_added_to_org",
})
# Errors that mean the work is already done (a repeat after an unrecorded success).
ALREADY_DONE = {
    "reactions.add": frozenset({"already_reacted"}),
    "chat.delete": frozenset({"message_not_found"}),
}
# Errors meaning the person cannot be reached on Slack: fall back to mail.
USER_GONE_ERRORS = frozenset({"user_not_found", "user_not_visible", "user_disabled",
                              "account_inactive"})


def make_client(token: str | None, base_url: str = "https://slack.com/api/",
                timeout: float = 10.0) -> WebClient:
    """A WebClient without the SDK's own retries: the outbox decides when to try again."""
    # slack_sdk annotates timeout as int; it goes to urllib, which takes a float
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[],  # type: ignore[arg-type]
                     logger=logging.getLogger("bot.slack_out.web"))


def is_user_id(target: str) -> bool:
    return target[:1] in ("U", "W")


def _error_of(exc: SlackApiError) -> tuple[int, str]:
    resp = exc.response
    data = resp.data if isinstance(resp.data, dict) else {}
    return resp.status_code, str(data.get("error") or "unknown_error")


def _retry_after(exc: SlackApiError) -> float:
    headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def classify(exc: BaseException, what: str) -> TemporaryFailure | PermanentFailure:
    """A Slack client exception as the outbox's TemporaryFailure or PermanentFailure.
    ``what`` names the call ("chat.postMessage to C123"); no token is ever in the text."""
    if isinstance(exc, SlackApiError):
        status, error = _error_of(exc)
        if status == 429 or error in ("ratelimited", "rate_limited"):
            wait = _retry_after(exc)
            return TemporaryFailure(f"Slack {what}: rate limited, retry after {wait:g} s",
                                    retry_after=wait)
        if status >= 500 or error in TEMPORARY_ERRORS:
            return TemporaryFailure(f"Slack {what}: HTTP {status} {error}")
        return PermanentFailure(f"Slack {what}: {error}")
    reason = getattr(exc, "reason", None) or exc  # URLError wraps the socket's error
    return TemporaryFailure(f"Slack {what}: {type(exc).__name__}: {reason}")


NETWORK_ERRORS = (OSError, http.client.HTTPException)  # timeouts, refused, reset, URLError


def _pause(seconds: float) -> None:
    """A wait that never reads the wall clock (an Event, not time.sleep)."""
    threading.Event().wait(seconds)


class ChannelPacer:
    """At most one post per ``interval`` seconds per key (a channel), and nothing to a key
    that Slack has rate limited until its Retry-After has passed. The wait for one channel
    is taken outside the lock, so posts to other channels are not held up by it."""

    def __init__(self, interval: float = POST_INTERVAL, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] | None = None):
        self.interval = interval
        self.clock = clock
        self.sleep = sleep or _pause
        self._next: dict[str, float] = {}
        self._blocked: dict[str, float] = {}
        self._lock = threading.Lock()

    def blocked_for(self, key: str) -> float:
        with self._lock:
            return max(0.0, self._blocked.get(key, 0.0) - self.clock())

    def block(self, key: str, seconds: float) -> None:
        with self._lock:
            self._blocked[key] = max(self._blocked.get(key, 0.0), self.clock() + seconds)

    def wait_turn(self, key: str) -> float:
        """Reserve the next slot for ``key``; sleep until it comes. Returns the wait."""
        with self._lock:
            now = self.clock()
            at = max(now, self._next.get(key, now))
            self._next[key] = at + self.interval
            if len(self._next) > 1000:  # forget channels that are quiet again
                self._next = {k: v for k, v in self._next.items() if v > now}
                self._blocked = {k: v for k, v in self._blocked.items() if v > now}
        wait = at - now
        if wait > 0:
            self.sleep(wait)
        return wait


def parse_payload(payload: bytes | str | None) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(payload or b"")
    except (ValueError, TypeError) as exc:
        raise PermanentFailure(f"Slack outbox payload is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("method") not in METHODS \
            or not isinstance(data.get("args", {}), dict):
        raise PermanentFailure("Slack outbox payload must be {\"method\": one of "
                               f"{', '.join(METHODS)}, \"args\": {{…}}}}")
    args = dict(data.get("args") or {})
    if "token" in args:
        raise PermanentFailure("Slack outbox payload must not carry a token")
    return data["method"], args


class SlackTransport:
    """``send(row)`` delivers one outbox row and returns ``{"channel": …, "ts": …}``: where
    the message is, so later updates and thread replies can find it."""

    def __init__(self, client: WebClient, pacer: ChannelPacer | None = None):
        self.client = client
        self.pacer = pacer or ChannelPacer()
        self._dms: dict[str, str] = {}  # user id -> D… channel
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings, timeout: float = 10.0, **kw) -> SlackTransport:
        return cls(make_client(settings.slack_bot_token, settings.slack_api_url, timeout), **kw)

    def describe(self) -> str:
        return f"Slack Web API at {self.client.base_url}"

    def send(self, row) -> dict[str, str]:
        method, args = parse_payload(row.payload)
        channel = self.channel_for(row.to_addr)
        args["channel"] = channel
        if method == "chat.postMessage":
            key = f"{method} {channel}"
        else:
            key = method  # Slack's other limits are per method across the workspace
        what = f"{method} to {channel}"
        if (wait := self.pacer.blocked_for(key)) > 0:
            raise TemporaryFailure(f"Slack {what}: rate limited, retry after {wait:.0f} s",
                                   retry_after=wait)
        if method == "chat.postMessage":
            self.pacer.wait_turn(key)
        try:
            resp = self._call(method, args, getattr(row, "file", None))
        except SlackRequestError as exc:  # the upload URL refused the file
            raise TemporaryFailure(f"Slack {what}: {exc}") from None
        except SlackApiError as exc:
            status, error = _error_of(exc)
            if status == 200 and error in ALREADY_DONE.get(method, ()):
                log.info("Slack %s: %s; counted as done", what, error)
                return self._result(method, args, None)
            failure = classify(exc, what)
            if failure.__class__ is TemporaryFailure and failure.retry_after is not None:
                self.pacer.block(key, failure.retry_after)
            raise failure from None
        except NETWORK_ERRORS as exc:
            raise classify(exc, what) from None
        except TypeError as exc:  # args the method does not take, or a missing one
            raise PermanentFailure(f"Slack {what}: bad arguments in the payload: {exc}") from None
        return self._result(method, args, resp)

    def channel_for(self, target: str) -> str:
        """The channel to post to: ``target`` itself, or a person's DM channel."""
        if not target:
            raise PermanentFailure("Slack outbox row has no channel or user (to_addr)")
        if not is_user_id(target):
            return target
        with self._lock:
            if target in self._dms:
                return self._dms[target]
        try:
            resp = self.client.conversations_open(users=target)
        except (SlackApiError, *NETWORK_ERRORS) as exc:
            raise classify(exc, f"conversations.open with {target}") from None
        channel = resp["channel"]["id"]
        with self._lock:
            self._dms[target] = channel
        return channel

    def _call(self, method: str, args: dict, file: bytes | None = None):
        if method == "files.upload":
            a = dict(args)
            encoded = a.pop("content_b64", None)
            content = file if file is not None else base64.b64decode(encoded or b"")
            return self.client.files_upload_v2(channel=a.pop("channel"), content=content, **a)
        if method == "chat.postMessage":
            return self.client.chat_postMessage(**args)
        if method == "chat.update":
            return self.client.chat_update(**args)
        if method == "chat.delete":
            return self.client.chat_delete(**args)
        if method == "chat.postEphemeral":
            return self.client.chat_postEphemeral(**args)
        return self.client.reactions_add(**args)

    @staticmethod
    def _result(method: str, args: dict, resp) -> dict[str, str]:
        if method == "reactions.add":
            return {"channel": args["channel"], "ts": str(args.get("timestamp", ""))}
        if method == "files.upload":
            files = (resp.get("files") or [{}]) if resp is not None else [{}]
            return {"channel": args["channel"], "ts": str(args.get("thread_ts") or ""),
                    "file": str(files[0].get("id") or "")}
        if resp is None:
            return {"channel": args["channel"], "ts": str(args.get("ts", ""))}
        return {"channel": resp.get("channel") or args["channel"],
                "ts": resp.get("ts") or str(args.get("ts", ""))}

    def download(self, url: str, limit: int = 100 * 1024 * 1024) -> bytes:
        """A file people shared in Slack (url_private / url_private_download), read with the
        bot token (files:read). Slack answers a request it does not accept with its HTML
        sign-in page, not an error: that is a PermanentFailure."""
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.client.token}"})
        try:
            with urllib.request.urlopen(req, timeout=self.client.timeout) as resp:
                kind = resp.headers.get_content_type()
                data = resp.read(limit + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise TemporaryFailure(f"Slack file download: HTTP {exc.code}") from None
            raise PermanentFailure(f"Slack file download: HTTP {exc.code}") from None
        except NETWORK_ERRORS as exc:
            raise classify(exc, "file download") from None
        if kind == "text/html":
            raise PermanentFailure("Slack file download: answered with a sign-in page "
                                   "(the bot token lacks files:read, or the file is not shared with it)")
        if len(data) > limit:
            raise PermanentFailure(f"Slack file download: larger than {limit} bytes")
        return data

    def close(self) -> None:
        pass


def slack_user_active(client: WebClient, user_id: str) -> bool:
    """Whether ``user_id`` is a live Slack account we can reach (users.info). False for a
    deactivated (``deleted: true``) or unknown user: send them mail instead. Slack being
    unreachable is a TemporaryFailure, not a verdict on the person."""
    try:
        resp = client.users_info(user=user_id)
    except SlackApiError as exc:
        status, error = _error_of(exc)
        if status == 200 and error in USER_GONE_ERRORS:
            return False
        raise classify(exc, f"users.info for {user_id}") from None
    except NETWORK_ERRORS as exc:
        raise classify(exc, f"users.info for {user_id}") from None
    user = resp.get("user") or {}
    return not user.get("deleted", False)
