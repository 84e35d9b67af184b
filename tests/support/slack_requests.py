"""What Slack sends the bot, built as Slack builds it: Events API envelopes, slash-command
and block-action forms, v0 request signatures, and one request straight into a WSGI app or
over HTTP to the web process. Shared by the adapter tests, the desk-in-Slack tests and the
scenario that runs `ticketbot web`."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

from werkzeug.test import EnvironBuilder

from bot.adapters.slack_app import COMMAND, EVENTS_PATH
from tests.support.fakeslack import APP_ID, TEAM_ID

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the signing secret the tests configure


def rich_text(text: str) -> list[dict]:
    return [{"type": "rich_text", "block_id": "Xy1z", "elements": [
        {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}]


def message_event(text: str, ts: str, user: str = "U0ALICE001", channel: str = "C0DESK0001",
                  **extra) -> dict:
    event = {"client_msg_id": f"5a3c7a0e-{ts.replace('.', '')[-8:]}", "type": "message",
             "text": text, "user": user, "ts": ts, "blocks": rich_text(text), "team": TEAM_ID,
             "channel": channel, "event_ts": ts, "channel_type": "channel"}
    event.update(extra)
    return event


def envelope(event: dict, event_id: str, bot_user: str = "U0BOT00001") -> dict:
    """Slack's event_callback wrapper (Events API)."""
    return {"token": "legacyVerificationTok", "team_id": TEAM_ID, "api_app_id": APP_ID,
            "event": event, "type": "event_callback", "event_id": event_id,
            "event_time": int(float(event.get("event_ts") or event.get("ts") or 1700000000)),
            "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": bot_user,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False, "event_context": "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMCJ9"}


def command_form(text: str, user: str = "U0ALICE001", channel: str = "C0DESK0001") -> str:
    return urlencode({
        "token": "legacyVerificationTok", "team_id": TEAM_ID, "team_domain": "fake-desk",
        "channel_id": channel, "channel_name": "desk", "user_id": user, "user_name": "alice",
        "command": COMMAND, "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": f"https://hooks.slack.com/commands/{TEAM_ID}/1234/abcd",
        "trigger_id": "1234567890.1234567890.abcdef0123456789abcdef0123456789"})


def block_actions_form(action: dict, message_ts: str = "1700000000.000100",
                       user: str = "U0BOB00001") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "bob", "name": "bob", "team_id": TEAM_ID},
        "api_app_id": APP_ID, "token": "legacyVerificationTok",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": "C0DESK0001",
                      "is_ephemeral": False},
        "trigger_id": "1234567890.1234567890.0123456789abcdef0123456789abcdef",
        "team": {"id": TEAM_ID, "domain": "fake-desk"}, "enterprise": None,
        "is_enterprise_install": False, "channel": {"id": "C0DESK0001", "name": "desk"},
        "message": {"user": "U0BOT00001", "type": "message", "ts": message_ts,
                    "bot_id": "B0BOT00001", "app_id": APP_ID, "text": "TB-12: invoice wrong",
                    "team": TEAM_ID, "blocks": [{"type": "actions", "block_id": "tb-12",
                                                 "elements": [{"type": "button", "action_id":
                                                               action["action_id"]}]}]},
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{TEAM_ID}/1234/efgh",
        "actions": [action]}
    return urlencode({"payload": json.dumps(payload)})


def message_shortcut_form(message: dict, callback_id: str = "ticket_from_message",
                          user: str = "U0ALICE001", channel: str = "C0DESK0001") -> str:
    """A message shortcut ("Create ticket for…" in a message's ⋮ menu), as Slack posts it."""
    payload = {
        "type": "message_action", "token": "legacyVerificationTok",
        "action_ts": "1700000001.000200", "team": {"id": TEAM_ID, "domain": "fake-desk"},
        "user": {"id": user, "username": "alice", "team_id": TEAM_ID, "name": "alice"},
        "channel": {"id": channel, "name": "desk"}, "is_enterprise_install": False,
        "enterprise": None, "callback_id": callback_id,
        "trigger_id": "1234567890.1234567890.fedcba9876543210fedcba9876543210",
        "response_url": f"https://hooks.slack.com/app/{TEAM_ID}/1234/ijkl",
        "message_ts": message["ts"], "message": message}
    return urlencode({"payload": json.dumps(payload)})


def view_submission_form(view: dict, values: dict, user: str = "U0ALICE001") -> str:
    """The modal `view` submitted with `values` ({block_id: {action_id: state}}), as Slack
    posts it (view_submission)."""
    payload = {
        "type": "view_submission", "team": {"id": TEAM_ID, "domain": "fake-desk"},
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM_ID},
        "api_app_id": APP_ID, "token": "legacyVerificationTok",
        "trigger_id": "1234567890.1234567890.0000aaaa1111bbbb2222cccc3333dddd",
        "view": {**view, "id": "V0FAKE0001", "team_id": TEAM_ID, "app_id": APP_ID,
                 "state": {"values": values}, "hash": "1700000000.fakehash",
                 "root_view_id": "V0FAKE0001", "bot_id": "B0BOT00001"},
        "response_urls": [], "is_enterprise_install": False, "enterprise": None}
    return urlencode({"payload": json.dumps(payload)})


def reaction_event(reaction: str, item_ts: str, user: str = "U0ALICE001",
                   channel: str = "C0DESK0001", item_user: str = "U0BOB00001") -> dict:
    return {"type": "reaction_added", "user": user, "reaction": reaction,
            "item_user": item_user, "item": {"type": "message", "channel": channel, "ts": item_ts},
            "event_ts": "1700000100.000100"}


def signed_headers(body: str, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    """Headers as Slack sends them: v0 = HMAC-SHA256(secret, "v0:{ts}:{body}")."""
    ts = int(time.time()) if ts is None else ts
    sig = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={sig}"}


def wsgi_post(app, body: str, content_type: str = "application/json",
              headers: dict | None = None) -> tuple[int, str, bytes]:
    """One request straight into a WSGI app: (status, content type, body)."""
    data = body.encode()
    environ = EnvironBuilder(path=EVENTS_PATH, method="POST", data=data, content_type=content_type,
                             headers=headers if headers is not None else signed_headers(body),
                             environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
    got = {}

    def start_response(status, hdrs):
        got["status"], got["headers"] = status, dict(hdrs)

    out = b"".join(app(environ, start_response))
    return int(got["status"].split()[0]), got["headers"].get("Content-Type", ""), out


def http_post(port: int, body: str, content_type: str = "application/json",
              headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{EVENTS_PATH}", data=body.encode(),
                                 method="POST", headers={"Content-Type": content_type,
                                                         **(headers if headers is not None
                                                            else signed_headers(body))})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
