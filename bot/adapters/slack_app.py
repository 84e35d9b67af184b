"""Slack's way in: the slack-bolt app, its HTTP endpoint and Socket Mode.

Slack reaches the bot in one of two ways (issue #4):

- **Socket Mode** when SLACK_APP_TOKEN is set: the bot opens a WebSocket to Slack, so no
  public URL is needed (`start_socket_mode`).
- **HTTP mode** otherwise: Slack posts to ``/slack/events`` on the web process
  (`mount_http`, on the web face's Flask app); every request must carry a
  valid v0 signature made with SLACK_SIGNING_SECRET and a timestamp at most five minutes
  old, or it is answered 401 and goes no further.

Both feed the same Bolt app (`build_app`), whose listeners only translate Slack's payloads
into calls on a narrow `SlackHandlers` object (bot.desk.slack_desk implements it) with
keyword arguments. Here, and not in the desk:

- the bot's own messages (its user id or bot id, from auth.test) and other bots' messages
  (``bot_id``, subtype ``bot_message``) are ignored, so the bot never answers itself or
  another bot;
- an event Slack sends again (no ack within 3 s: ``x-slack-retry-num``) is acknowledged
  and not handled twice: a bounded set of recent event ids, plus the message's
  (channel, ts), so a message that arrives both as ``message`` and ``app_mention`` is handled
  once. The set lives in this process; the desk stays idempotent on (channel, ts)
  for re-sends that reach another process or outlive a restart;
- if a handler fails, the event is answered 500 and forgotten, so Slack's retry is handled.

Handlers run before the answer is sent (``process_before_response``), so they must be
quick: record the work and queue replies in the outbox, never call Slack from them.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from flask import Flask, Response, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.core.slack_words import say

log = logging.getLogger("bot.slack")


class _BoltTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and, as we hand it a client
    made with that token, warns at every start that "`token` will be unused": true and
    harmless, so not said."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logging.getLogger("bot.slack.bolt").addFilter(_BoltTokenNotice())

EVENTS_PATH = "/slack/events"
COMMAND = "/ticket"
MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller
COMMAND_FAILED = say("en", "failed")  # when no language is known


def failed_text(language: str | None) -> str:
    return say(language, "failed")

# Scopes each Web API method and event subscription needs (slack-manifest.yaml must grant
# them all; tests/adapters/test_slack.py checks).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),  # chat:write.public: channels the bot is not in
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "reactions.add": ("reactions:write",),
    "conversations.open": ("im:write",),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "views.open": (),
    "conversations.history": ("channels:history", "groups:history"),  # a reacted-to message
    "conversations.replies": ("channels:history", "groups:history"),
    "files.upload": ("files:write",),  # getUploadURLExternal + completeUploadExternal
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "apps.connections.open": (),  # the app-level token's connections:write
}
EVENT_SCOPES: dict[str, str] = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "app_mention": "app_mentions:read",
    "reaction_added": "reactions:read",  # rules.yaml slack: intake_reaction
}
SHORTCUT = "ticket_from_message"  # the message shortcut "Create ticket for…" and its modal

# Message subtypes that are a person writing something; others (joins, topic changes, …)
# are not for the desk.
_PERSON_SUBTYPES = {None, "file_share", "thread_broadcast", "me_message"}


class SlackHandlers(Protocol):
    """What the desk does with what people do in Slack. Called with keyword arguments;
    ``files`` are dicts with id, name, mimetype, size and url (url_private_download, read
    with the bot token). Each call should be idempotent on (channel, ts)."""

    def on_intake_message(self, *, channel: str, ts: str, user: str, text: str,
                          files: list[dict]) -> None:
        """A new top-level message (a channel the bot is in, or a DM to it)."""

    def on_thread_message(self, *, channel: str, thread_ts: str, ts: str, user: str, text: str,
                          files: list[dict]) -> None:
        """A reply in a thread; ``thread_ts`` is the thread's first message."""

    def on_message_changed(self, *, channel: str, ts: str, thread_ts: str | None, user: str,
                           text: str) -> None:
        """A person edited their message ``ts`` (its text changed)."""

    def on_message_deleted(self, *, channel: str, ts: str, thread_ts: str | None) -> None:
        """A person's message ``ts`` was deleted."""

    def on_action(self, *, action_id: str, value: str | None, user: str, channel: str | None,
                  message_ts: str | None, trigger_id: str | None) -> None:
        """A button or menu in one of the bot's messages (block_actions)."""

    def on_command(self, *, text: str, user: str, channel: str) -> str | None:
        """``/ticket text``; the returned text is shown to the user (only them)."""

    def on_shortcut(self, *, user: str, channel: str, message: dict) -> dict | None:
        """The message shortcut "Create ticket for…" on ``message`` (ts, text, user,
        files): the modal view to open, or None."""

    def on_view_submission(self, *, user: str, values: dict, private_metadata: str
                           ) -> dict[str, str] | None:
        """The shortcut's modal submitted: None when done, else errors by block id."""

    def on_reaction(self, *, channel: str, ts: str, user: str, reaction: str,
                    fetch: Callable[[], dict | None]) -> None:
        """A reaction added to message ``ts``; ``fetch()`` reads that message from Slack
        (text, user, email and name of its author, files), None if it cannot."""


class RecentKeys:
    """A bounded, thread-safe set of recently handled keys (oldest forgotten first)."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, keys: Iterable[str]) -> bool:
        """Record ``keys``; False (and nothing recorded) when any of them was seen."""
        keys = [k for k in keys if k]
        with self._lock:
            if any(k in self._keys for k in keys):
                return False
            for k in keys:
                self._keys[k] = None
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)
            return True

    def forget(self, keys: Iterable[str]) -> None:
        with self._lock:
            for k in keys:
                self._keys.pop(k, None)

    def __len__(self) -> int:
        return len(self._keys)


def _files(items: list[dict] | None) -> list[dict]:
    return [{"id": f.get("id"), "name": f.get("name") or f.get("title"),
             "mimetype": f.get("mimetype"), "size": f.get("size"),
             "url": f.get("url_private_download") or f.get("url_private")}
            for f in items or [] if isinstance(f, dict)]


def _thread_of(msg: dict) -> str | None:
    thread_ts = msg.get("thread_ts")
    return thread_ts if thread_ts and thread_ts != msg.get("ts") else None


def _action_value(action: dict) -> str | None:
    if action.get("value") is not None:
        return action["value"]
    for key in ("selected_option",):
        if isinstance(action.get(key), dict):
            return action[key].get("value")
    for key in ("selected_user", "selected_channel", "selected_conversation", "selected_date"):
        if action.get(key):
            return action[key]
    return None


class _Listeners:
    def __init__(self, handlers: SlackHandlers, seen: RecentKeys):
        self.handlers = handlers
        self.seen = seen

    # -- who wrote it

    @staticmethod
    def _from_a_bot(msg: dict, context) -> bool:
        if msg.get("subtype") == "bot_message" or msg.get("bot_id"):
            return True  # ours (bot_id) or another bot's: never answer a bot
        user = msg.get("user")
        return user is not None and user == context.get("bot_user_id")

    # -- once only

    def _once(self, keys: list[str], request, fn) -> None:
        retry = request.headers.get("x-slack-retry-num", [None])[0]
        if not self.seen.claim(keys):
            log.info("Slack re-sent %s (retry %s, %s): already handled", keys[0],
                     retry or "-", request.headers.get("x-slack-retry-reason", ["-"])[0])
            return
        try:
            fn()
        except Exception:
            self.seen.forget(keys)  # answered 500: Slack's retry gets handled
            raise

    # -- listeners (Bolt passes arguments by name)

    def message(self, body: dict, event: dict, context, request) -> None:
        channel = event.get("channel")
        subtype = event.get("subtype")
        event_key = f"event {body.get('event_id')}"
        if subtype == "message_changed":
            msg, prev = event.get("message") or {}, event.get("previous_message") or {}
            user, ts = msg.get("user"), msg.get("ts")
            if self._from_a_bot(msg, context) or not user:
                return
            if prev and prev.get("text") == msg.get("text"):
                return  # an unfurl, a reply count: not an edit of the words
            if not channel or not ts:  # Slack always sends both; nothing to find without them
                log.warning("Slack message_changed without channel or ts ignored (%s)", event_key)
                return
            self._once([event_key], request, lambda: self.handlers.on_message_changed(
                channel=channel, ts=ts, thread_ts=_thread_of(msg),
                user=user, text=msg.get("text") or ""))
        elif subtype == "message_deleted":
            deleted = event.get("previous_message") or {}
            if self._from_a_bot(deleted, context):
                return
            deleted_ts = event.get("deleted_ts") or deleted.get("ts")
            if not channel or not deleted_ts:  # as above
                log.warning("Slack message_deleted without channel or ts ignored (%s)", event_key)
                return
            self._once([event_key], request, lambda: self.handlers.on_message_deleted(
                channel=channel, ts=deleted_ts, thread_ts=_thread_of(deleted)))
        elif subtype in _PERSON_SUBTYPES:
            self._posted(body, event, context, request)
        else:
            log.debug("Slack message subtype %s in %s ignored", subtype, channel)

    def app_mention(self, body: dict, event: dict, context, request) -> None:
        self._posted(body, event, context, request)

    def _posted(self, body: dict, event: dict, context, request) -> None:
        if self._from_a_bot(event, context) or not event.get("user"):
            return
        channel, ts = event.get("channel"), event.get("ts")
        keys = [f"event {body.get('event_id')}", f"message {channel} {ts}"]
        thread_ts = _thread_of(event)
        common = {"channel": channel, "ts": ts, "user": event["user"], "text": event.get("text") or "",
                      "files": _files(event.get("files"))}
        if thread_ts:
            self._once(keys, request,
                       lambda: self.handlers.on_thread_message(thread_ts=thread_ts, **common))
        else:
            self._once(keys, request, lambda: self.handlers.on_intake_message(**common))

    @staticmethod
    def other_event(event: dict) -> None:
        log.debug("Slack event %s ignored: nothing handles it", event.get("type"))

    def action(self, ack, body: dict) -> None:
        ack()
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id")
        message_ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get(
            "message_ts")
        user = (body.get("user") or {}).get("id")
        if not user:  # Slack always says who clicked; nobody to act for without it
            log.warning("Slack block_actions without a user ignored")
            return
        for action in body.get("actions") or []:
            self.handlers.on_action(
                action_id=action.get("action_id"), value=_action_value(action),
                user=user, channel=channel,
                message_ts=message_ts, trigger_id=body.get("trigger_id"))

    def command(self, ack, command: dict) -> None:
        user, channel = command.get("user_id"), command.get("channel_id")
        reply: str | None
        try:
            if not user or not channel:  # Slack always sends both
                raise ValueError("command without user_id or channel_id")
            reply = self.handlers.on_command(text=(command.get("text") or "").strip(),
                                             user=user, channel=channel)
        except Exception:
            log.exception("%s from %s failed", COMMAND, command.get("user_id"))
            reply = self._failed(user)
        if reply:
            ack(text=reply)  # shown only to the person who typed it
        else:
            ack()


    def _failed(self, user: str | None) -> str:
        """COMMAND_FAILED in the person's language, when the handlers know it (SlackDesk:
        bot/core/slack_words.py "failed"); never a failure of its own."""
        language_of = getattr(self.handlers, "language_of", None)
        try:
            return failed_text(language_of(user)) if language_of and user else COMMAND_FAILED
        except Exception:
            return COMMAND_FAILED

    def shortcut(self, ack, body: dict, client) -> None:
        ack()
        user = (body.get("user") or {}).get("id")
        channel = (body.get("channel") or {}).get("id")
        if not user or not channel:
            log.warning("Slack shortcut without a user or channel ignored")
            return
        message = body.get("message") or {}
        view = self.handlers.on_shortcut(user=user, channel=channel, message={
            "ts": message.get("ts"), "text": message.get("text") or "",
            "user": message.get("user"), "files": _files(message.get("files"))})
        if view is not None and body.get("trigger_id"):
            client.views_open(trigger_id=body["trigger_id"], view=view)

    def view_submission(self, ack, body: dict) -> None:
        user = (body.get("user") or {}).get("id")
        view = body.get("view") or {}
        values = {block: {action: (v.get("value") if v.get("value") is not None
                                   else (v.get("selected_option") or {}).get("value")
                                   if "selected_option" in v
                                   else [o.get("value") for o in v.get("selected_options") or []])
                          for action, v in actions.items()}
                  for block, actions in ((view.get("state") or {}).get("values") or {}).items()}
        errors = self.handlers.on_view_submission(
            user=user or "", values=values, private_metadata=view.get("private_metadata") or "")
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    def reaction_added(self, body: dict, event: dict, client, request) -> None:
        item = event.get("item") or {}
        channel, ts, user = item.get("channel"), item.get("ts"), event.get("user")
        if item.get("type") != "message" or not channel or not ts or not user:
            return

        def fetch() -> dict | None:
            return fetch_message(client, channel, ts)

        self._once([f"event {body.get('event_id')}"], request, lambda: self.handlers.on_reaction(
            channel=channel, ts=ts, user=user, reaction=event.get("reaction") or "", fetch=fetch))


def fetch_message(client: WebClient, channel: str, ts: str) -> dict | None:
    """One message (a channel's or a thread's) with its author's address and name, as
    the desk reads a reacted-to message: {"ts", "text", "user", "email", "name", "files"}."""
    try:
        found = client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
        msgs = [m for m in found.get("messages") or [] if m.get("ts") == ts]
        if not msgs:  # a reply in a thread is not in the channel's history
            found = client.conversations_replies(channel=channel, ts=ts, limit=1, inclusive=True)
            msgs = [m for m in found.get("messages") or [] if m.get("ts") == ts]
        if not msgs:
            return None
        msg = msgs[0]
        email = name = ""
        if msg.get("user"):
            info = client.users_info(user=msg["user"]).get("user") or {}
            profile = info.get("profile") or {}
            email = profile.get("email") or ""
            name = info.get("real_name") or profile.get("real_name") or ""
    except Exception:
        log.warning("Slack: could not read message %s in %s", ts, channel, exc_info=True)
        return None
    return {"ts": ts, "text": msg.get("text") or "", "user": msg.get("user"), "email": email,
            "name": name, "files": _files(msg.get("files"))}


def build_app(settings, handlers: SlackHandlers, *, client: WebClient | None = None,
              seen: RecentKeys | None = None) -> App:
    """The Bolt app for ``settings`` (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL).
    Makes no call to Slack until the first request (then one auth.test, for the bot's own
    user and bot ids)."""
    client = client or WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url,
                                 timeout=10, logger=logging.getLogger("bot.slack.web"))
    app = App(
        name="ticketbot",
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=False,  # no auth.test at start: Slack may be down
        process_before_response=True,  # handle, then answer; an exception answers 500
        logger=logging.getLogger("bot.slack.bolt"),
        url_verification_enabled=True,
        ssl_check_enabled=True,
        ignoring_self_events_enabled=True,
    )
    listeners = _Listeners(handlers, seen or RecentKeys())
    app.event("message")(listeners.message)
    app.event("app_mention")(listeners.app_mention)
    app.action(re.compile(".+"))(listeners.action)
    app.command(COMMAND)(listeners.command)
    app.shortcut(SHORTCUT)(listeners.shortcut)
    app.view(SHORTCUT)(listeners.view_submission)
    app.event("reaction_added")(listeners.reaction_added)
    # any other event (a subscription added in Slack before the code): acknowledged, so
    # Slack does not retry it or count it as a failure
    app.event(re.compile(".*"))(listeners.other_event)
    return app


def _signed(verifier: SignatureVerifier, body: bytes, timestamp: str, signature: str) -> bool:
    if not timestamp.strip().isdigit() or not signature:
        return False
    try:
        return verifier.is_valid(body, timestamp.strip(), signature)
    except (ValueError, TypeError):
        return False


def mount_http(web_app: Flask, bolt_app: App, settings, max_body: int = MAX_BODY) -> None:
    """``POST /slack/events`` for HTTP mode (events, interactivity and slash commands) on
    the web face's Flask app, through slack-bolt's Flask adapter. Slack's v0 signature is
    checked first: a request without a valid one (bad or missing signature, timestamp
    over five minutes off) is a 401 with a one-line body, logged without its body."""
    secret = settings.slack_signing_secret or ""
    if not secret:
        raise ValueError("SLACK_SIGNING_SECRET is needed for Slack's HTTP mode")
    verifier = SignatureVerifier(secret)
    handler = SlackRequestHandler(bolt_app)

    def slack_events():
        if (request.content_length or 0) > max_body:
            return Response("too large\n", 413, mimetype="text/plain")
        body = request.get_data(cache=True)
        if not _signed(verifier, body, request.headers.get("X-Slack-Request-Timestamp", ""),
                       request.headers.get("X-Slack-Signature", "")):
            log.warning("Slack request from %s refused: bad or missing signature, or a stale "
                        "timestamp", request.remote_addr or "?")
            return Response("invalid signature\n", 401, mimetype="text/plain")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return Response("not UTF-8\n", 400, mimetype="text/plain")
        return handler.handle(request)

    web_app.add_url_rule(EVENTS_PATH, "slack_events", slack_events, methods=["POST"])


def socket_mode_handler(app: App, app_token: str) -> SocketModeHandler:
    """The Socket Mode handler (slack_sdk's built-in WebSocket client); not yet connected."""
    return SocketModeHandler(app, app_token=app_token,
                             logger=logging.getLogger("bot.slack.socket"))


def start_socket_mode(app: App, app_token: str) -> SocketModeHandler:
    """Connect to Slack over Socket Mode in background threads; returns the handler (call
    ``.close()`` at shutdown). It reconnects by itself when the connection drops."""
    handler = socket_mode_handler(app, app_token)
    started = time.monotonic()
    handler.connect()
    log.info("Slack Socket Mode connected in %.1f s", time.monotonic() - started)
    return handler
