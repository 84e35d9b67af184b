"""Slack (issue #4): the outbox transport against a local fake of the Web API
(tests/support/fakeslack.py), and the real Bolt app driven with Slack's own payloads: signed HTTP
requests through the web process, and Socket Mode envelopes through the SDK's client."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qsl

import pytest
import yaml
from flask import Flask
from sqlalchemy import select

from bot.adapters import slack_app, slack_out
from bot.adapters.slack_app import (
    COMMAND,
    COMMAND_FAILED,
    EVENT_SCOPES,
    METHOD_SCOPES,
    build_app,
    mount_http,
    socket_mode_handler,
)
from bot.adapters.slack_out import (
    ChannelPacer,
    SlackTransport,
    make_client,
    slack_user_active,
)
from bot.adapters.web import WebServer, create_app
from bot.config import ConfigError, Settings
from bot.delivery.outbox import OutboxSender
from bot.delivery.transport import PermanentFailure, TemporaryFailure
from bot.store.models import Outbox, make_engine, make_sessionmaker
from bot.store.unit_of_work import UnitOfWork
from tests.conftest import REPO, make_settings
from tests.support.fakeslack import APP_ID, TEAM_ID, FakeSlack, FakeTime
from tests.support.slack_requests import (
    SECRET,
    block_actions_form,
    command_form,
    envelope,
    http_post,
    message_event,
    rich_text,
    signed_headers,
    wsgi_post,
)

# ----------------------------------------------------------------------------- helpers

class RecordingHandlers:
    """The service side of the Slack app, recording every call (SlackHandlers)."""

    def __init__(self, reply: str | None = "TB-12 is open; Sanne has it."):
        self.calls: list[tuple[str, dict]] = []
        self.changed = threading.Condition()
        self.fail_next = 0
        self.reply = reply

    def _record(self, name: str, **kw) -> None:
        with self.changed:
            self.calls.append((name, kw))
            self.changed.notify_all()
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("database is locked")

    def wait_for(self, n: int, timeout: float = 5.0) -> list[tuple[str, dict]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.calls) >= n, timeout), self.calls
            return list(self.calls)

    def on_reaction(self, *, channel, ts, user, reaction, fetch):
        self._record("on_reaction", channel=channel, ts=ts, user=user, reaction=reaction)

    def on_intake_message(self, *, channel, ts, user, text, files):
        self._record("on_intake_message", channel=channel, ts=ts, user=user, text=text,
                     files=files)

    def on_thread_message(self, *, channel, thread_ts, ts, user, text, files):
        self._record("on_thread_message", channel=channel, thread_ts=thread_ts, ts=ts, user=user,
                     text=text, files=files)

    def on_message_changed(self, *, channel, ts, thread_ts, user, text):
        self._record("on_message_changed", channel=channel, ts=ts, thread_ts=thread_ts,
                     user=user, text=text)

    def on_message_deleted(self, *, channel, ts, thread_ts):
        self._record("on_message_deleted", channel=channel, ts=ts, thread_ts=thread_ts)

    def on_action(self, *, action_id, value, user, channel, message_ts, trigger_id):
        self._record("on_action", action_id=action_id, value=value, user=user, channel=channel,
                     message_ts=message_ts, trigger_id=trigger_id)

    def on_command(self, *, text, user, channel):
        self._record("on_command", text=text, user=user, channel=channel)
        return self.reply


def row(to: str, method: str, **args) -> SimpleNamespace:
    """An outbox row as the transport sees it."""
    return SimpleNamespace(to_addr=to, payload=json.dumps({"method": method, "args": args}).encode())


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack_settings(slack) -> Settings:
    return Settings(slack_bot_token=slack.bot_token, slack_signing_secret=SECRET,
                    slack_api_url=slack.url, slack_channel="C0DESK0001")


@pytest.fixture
def ftime() -> FakeTime:
    return FakeTime()


@pytest.fixture
def transport(slack, ftime) -> SlackTransport:
    return SlackTransport(make_client(slack.bot_token, slack.url, timeout=0.5),
                          ChannelPacer(clock=ftime.clock, sleep=ftime.sleep))


@pytest.fixture
def handlers() -> RecordingHandlers:
    return RecordingHandlers()


@pytest.fixture
def events(slack_settings, handlers) -> Flask:
    """A Flask app with Slack's HTTP endpoint mounted, as the web face mounts it."""
    app = Flask("slack-test")
    mount_http(app, build_app(slack_settings, handlers), slack_settings)
    return app


# ----------------------------------------------------------------------------- transport

def test_post_sends_exactly_channel_thread_text_and_blocks(slack, transport, caplog):
    caplog.set_level(logging.DEBUG)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*TB-12* Factuur klopt niet"}},
              {"type": "actions", "block_id": "tb-12", "elements": [
                  {"type": "button", "action_id": "take", "value": "12",
                   "text": {"type": "plain_text", "text": "Take it"}}]}]
    result = transport.send(row("C0DESK0001", "chat.postMessage", text="TB-12 Factuur klopt niet",
                                blocks=blocks))
    first = slack.wait_for("chat.postMessage")
    reply = transport.send(row("C0DESK0001", "chat.postMessage", text="Sanne took it",
                               thread_ts=result["ts"]))
    second = slack.wait_for("chat.postMessage", n=2)
    assert first.params == {"channel": "C0DESK0001", "text": "TB-12 Factuur klopt niet",
                            "blocks": blocks}
    assert second.params == {"channel": "C0DESK0001", "text": "Sanne took it",
                             "thread_ts": result["ts"]}
    assert first.auth == f"Bearer {slack.bot_token}"
    assert result == {"channel": "C0DESK0001", "ts": first.response["ts"]}
    assert reply == {"channel": "C0DESK0001", "ts": second.response["ts"]}
    assert float(second.response["ts"]) > float(first.response["ts"])
    assert slack.bot_token not in caplog.text  # the SDK logs requests at DEBUG, redacted


def test_a_person_is_reached_in_their_dm_opened_once(slack, transport, ftime):
    a = transport.send(row("U0ALICE001", "chat.postMessage", text="TB-12 is yours"))
    b = transport.send(row("U0ALICE001", "chat.postMessage", text="TB-13 is yours"))
    assert [c.method for c in slack.calls] == ["conversations.open", "chat.postMessage",
                                               "chat.postMessage"]
    assert slack.calls[0].params == {"users": "U0ALICE001"}
    dm = slack.dms["U0ALICE001"]
    assert [c.params for c in slack.calls[1:]] == [{"channel": dm, "text": "TB-12 is yours"},
                                                   {"channel": dm, "text": "TB-13 is yours"}]
    assert a["channel"] == b["channel"] == dm
    assert ftime.sleeps == [1.0]  # one message per second per channel, DMs too


def test_update_delete_and_react_and_repeats_count_as_done(slack, transport):
    posted = transport.send(row("C0DESK0001", "chat.postMessage", text="TB-12 new"))
    ts = posted["ts"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*TB-12* Sanne"}}]
    assert transport.send(row("C0DESK0001", "chat.update", ts=ts, text="TB-12 Sanne",
                              blocks=blocks)) == {"channel": "C0DESK0001", "ts": ts}
    assert slack.wait_for("chat.update").params == {"channel": "C0DESK0001", "ts": ts,
                                                    "text": "TB-12 Sanne", "blocks": blocks}
    for _ in range(2):  # the second is a re-delivery: Slack says already_reacted
        assert transport.send(row("C0DESK0001", "reactions.add", timestamp=ts,
                                  name="eyes")) == {"channel": "C0DESK0001", "ts": ts}
    assert [c.response for c in slack.calls_to("reactions.add")] == [
        {"ok": True}, {"ok": False, "error": "already_reacted"}]
    assert slack.calls_to("reactions.add")[0].params == {"channel": "C0DESK0001",
                                                         "timestamp": ts, "name": "eyes"}
    for _ in range(2):  # deleting twice: message_not_found the second time, also done
        assert transport.send(row("C0DESK0001", "chat.delete", ts=ts)) == \
            {"channel": "C0DESK0001", "ts": ts}
    assert [c.response["ok"] for c in slack.calls_to("chat.delete")] == [True, False]
    with pytest.raises(PermanentFailure, match="message_not_found"):  # gone: cannot update
        transport.send(row("C0DESK0001", "chat.update", ts=ts, text="late"))


def test_pacing_is_per_channel(slack, transport, ftime):
    transport.send(row("C0DESK0001", "chat.postMessage", text="1"))
    transport.send(row("C0DESK0001", "chat.postMessage", text="2"))  # waits out the second
    transport.send(row("C0SALES001", "chat.postMessage", text="3"))  # another channel: no wait
    transport.send(row("C0DESK0001", "chat.postMessage", text="4"))
    assert ftime.sleeps == [1.0, 1.0]
    assert [c.params["text"] for c in slack.calls_to("chat.postMessage")] == ["1", "2", "3", "4"]
    ftime.now += 5  # quiet for a while: the next post goes at once
    transport.send(row("C0DESK0001", "chat.postMessage", text="5"))
    assert ftime.sleeps == [1.0, 1.0]


def test_429_carries_retry_after_and_holds_that_channel_only(slack, transport, ftime):
    slack.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(TemporaryFailure, match="rate limited") as exc:
        transport.send(row("C0DESK0001", "chat.postMessage", text="1"))
    assert exc.value.retry_after == 7
    assert slack.calls_to("chat.postMessage")[0].status == 429
    # Slack is not asked again for that channel until Retry-After has passed
    ftime.now += 2
    with pytest.raises(TemporaryFailure) as exc:
        transport.send(row("C0DESK0001", "chat.postMessage", text="2"))
    assert exc.value.retry_after == pytest.approx(5)
    assert len(slack.calls_to("chat.postMessage")) == 1
    transport.send(row("C0SALES001", "chat.postMessage", text="elsewhere"))
    ftime.now += 5
    transport.send(row("C0DESK0001", "chat.postMessage", text="2"))
    assert [(c.params["channel"], c.status) for c in slack.calls_to("chat.postMessage")] == [
        ("C0DESK0001", 429), ("C0SALES001", 200), ("C0DESK0001", 200)]


@pytest.mark.parametrize("script", ["500", "503-html", "hang", "refused"])
def test_server_errors_and_timeouts_are_temporary(slack, transport, script):
    if script == "500":
        slack.fail("chat.postMessage", status=500, error="internal_error")
    elif script == "503-html":
        slack.fail("chat.postMessage", status=503, body=b"<html><body>Service down</body></html>")
    elif script == "hang":
        slack.hang("chat.postMessage")
    else:
        transport.client.base_url = "http://127.0.0.1:1/api/"  # nothing listens there
    with pytest.raises(TemporaryFailure) as exc:
        transport.send(row("C0DESK0001", "chat.postMessage", text="hello"))
    assert exc.value.retry_after is None
    expected = {"500": "HTTP 500 internal_error", "503-html": "HTTP 503",
                "hang": "timed out", "refused": "Connection refused"}[script]
    assert expected in str(exc.value)
    if script != "refused":
        transport.send(row("C0DESK0001", "chat.postMessage", text="hello"))  # Slack is back
        assert slack.calls_to("chat.postMessage")[-1].ok


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize("to, method, args, script, error", [
    ("C0NOTHERE1", "chat.postMessage", {"text": "x"}, None, "channel_not_found"),
    ("C0DESK0001", "chat.postMessage", {"text": "x"}, "not_in_channel", "not_in_channel"),
    ("C0DESK0001", "chat.postMessage", {"text": "x"}, "account_inactive", "account_inactive"),
    ("C0DESK0001", "chat.postMessage", {}, None, "no_text"),
    ("U0GONE0001", "chat.postMessage", {"text": "x"}, None, "user_disabled"),
    ("U0NOBODY01", "chat.postMessage", {"text": "x"}, None, "user_not_found"),
    ("C0DESK0001", "chat.update", {"text": "x"}, None, "bad arguments"),  # no ts
])
def test_definite_errors_are_permanent(slack, transport, to, method, args, script, error):
    if script:
        slack.fail(method, error=script)
    with pytest.raises(PermanentFailure, match=error):
        transport.send(row(to, method, **args))


def test_a_wrong_token_is_permanent_and_never_shown(slack):
    bad = SlackTransport(make_client("xoxb-wrong-token-123", slack.url, 2))
    with pytest.raises(PermanentFailure) as exc:
        bad.send(row("C0DESK0001", "chat.postMessage", text="x"))
    assert str(exc.value) == "Slack chat.postMessage to C0DESK0001: invalid_auth"


@pytest.mark.parametrize("payload", [b"not json", b'{"method": "chat.meMessage", "args": {}}',
                                     b'{"method": "chat.postMessage", "args": {"token": "x"}}',
                                     None])
def test_a_bad_payload_is_permanent_without_calling_slack(slack, transport, payload):
    with pytest.raises(PermanentFailure):
        transport.send(SimpleNamespace(to_addr="C0DESK0001", payload=payload))
    assert slack.calls == []


def test_slack_user_active_for_the_mail_fallback(slack):
    client = make_client(slack.bot_token, slack.url, 2)
    assert slack_user_active(client, "U0ALICE001") is True
    assert slack_user_active(client, "U0GONE0001") is False  # deactivated: deleted true
    assert slack_user_active(client, "U0NOBODY01") is False  # user_not_found
    assert [c.params for c in slack.calls_to("users.info")] == [
        {"user": "U0ALICE001"}, {"user": "U0GONE0001"}, {"user": "U0NOBODY01"}]
    assert slack.calls_to("users.info")[1].response["user"]["deleted"] is True
    slack.fail("users.info", status=500, error="internal_error")
    with pytest.raises(TemporaryFailure):  # Slack down says nothing about the person
        slack_user_active(client, "U0ALICE001")


# ----------------------------------------------------------------------------- outbox

@pytest.fixture
def sessions(db_url):
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def queue_slack(sessions, now, to: str, method: str, **args) -> int:
    with sessions() as s, s.begin():
        item = Outbox(channel="slack", purpose="notify", automatic=True, to_addr=to,
                      payload=json.dumps({"method": method, "args": args}).encode(),
                      next_attempt_at=now, created_at=now)
        s.add(item)
        s.flush()
        return item.id


def outbox_row(sessions, oid: int) -> Outbox:
    with sessions() as s:
        return s.scalars(select(Outbox).where(Outbox.id == oid)).one()


def test_outbox_waits_out_retry_after_then_stores_channel_and_ts(
        slack, transport, ftime, sessions, db_url, tmp_path, clock):
    settings = make_settings(db_url, tmp_path, outbox_retry_base=30.0)
    sender = OutboxSender(settings, UnitOfWork(sessions), {"slack": transport})
    long_wait = queue_slack(sessions, clock.now, "C0DESK0001", "chat.postMessage", text="a")
    short_wait = queue_slack(sessions, clock.now, "C0SALES001", "chat.postMessage", text="b")
    slack.fail("chat.postMessage", status=429, retry_after=120)
    slack.fail("chat.postMessage", status=429, retry_after=3)
    assert sender.run_once(clock.now) == {"sent": 0, "retry": 2, "failed": 0}
    r = outbox_row(sessions, long_wait)
    assert r.status == "queued" and r.attempts == 1 and "rate limited" in r.last_error
    assert r.next_attempt_at == clock.now + timedelta(seconds=120)  # Retry-After > backoff
    assert outbox_row(sessions, short_wait).next_attempt_at == clock.now + timedelta(seconds=30)
    ftime.now += 119  # the transport's clock moves with the outbox's
    assert sender.run_once(clock.now + timedelta(seconds=119)) == {"sent": 1, "retry": 0,
                                                                    "failed": 0}
    ftime.now += 1
    assert sender.run_once(clock.now + timedelta(seconds=120)) == {"sent": 1, "retry": 0,
                                                                    "failed": 0}
    posts = slack.calls_to("chat.postMessage")
    assert [(c.params["channel"], c.status) for c in posts] == [
        ("C0DESK0001", 429), ("C0SALES001", 429), ("C0SALES001", 200), ("C0DESK0001", 200)]
    r = outbox_row(sessions, long_wait)
    assert r.status == "sent" and r.attempts == 2 and r.last_error is None
    assert r.result == {"channel": "C0DESK0001", "ts": posts[3].response["ts"]}
    assert outbox_row(sessions, short_wait).result == {"channel": "C0SALES001",
                                                      "ts": posts[2].response["ts"]}


def test_outbox_retries_5xx_and_fails_a_permanent_error(slack, transport, sessions, db_url,
                                                        tmp_path, clock):
    sender = OutboxSender(make_settings(db_url, tmp_path), UnitOfWork(sessions), {"slack": transport})
    ok = queue_slack(sessions, clock.now, "C0DESK0001", "chat.postMessage", text="a")
    gone = queue_slack(sessions, clock.now, "C0NOTHERE1", "chat.postMessage", text="b")
    slack.fail("chat.postMessage", status=502, error="bad_gateway")
    assert sender.run_once(clock.now) == {"sent": 0, "retry": 1, "failed": 1}
    r = outbox_row(sessions, ok)
    assert r.status == "queued" and "HTTP 502" in r.last_error
    assert r.next_attempt_at == clock.now + timedelta(seconds=30)
    f = outbox_row(sessions, gone)
    assert f.status == "failed" and f.attempts == 1 and "channel_not_found" in f.last_error
    assert f.result is None
    assert sender.run_once(clock.now + timedelta(seconds=30))["sent"] == 1


def test_mail_transports_returning_nothing_store_no_result(sessions, db_url, tmp_path, clock):
    class Quiet:
        def send(self, row):
            return None

    sender = OutboxSender(make_settings(db_url, tmp_path), UnitOfWork(sessions), {"slack": Quiet()})
    oid = queue_slack(sessions, clock.now, "C0DESK0001", "chat.postMessage", text="a")
    assert sender.run_once(clock.now)["sent"] == 1
    assert outbox_row(sessions, oid).result is None


def test_temporary_failure_is_backwards_compatible():
    exc = TemporaryFailure("451 try later")
    assert str(exc) == "451 try later" and exc.retry_after is None
    assert TemporaryFailure("x", retry_after=4).retry_after == 4


# ----------------------------------------------------------------------------- HTTP mode

@pytest.fixture
def web(slack_settings, handlers, service):
    """The web face itself (sign-in, CSRF on forms) with Slack mounted: Slack's signed
    posts need neither a session nor a CSRF token."""
    app = create_app(service)
    mount_http(app, build_app(slack_settings, handlers), slack_settings)
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


def test_signed_event_through_the_web_process_is_handled_once(web, handlers, slack):
    body = json.dumps(envelope(message_event("Goedendag, factuur 2026-114 klopt niet",
                                             "1700000100.000200"), "Ev0MSG0001"))
    assert http_post(web.port, body) == (200, b"")
    assert handlers.calls == [("on_intake_message", {
        "channel": "C0DESK0001", "ts": "1700000100.000200", "user": "U0ALICE001",
        "text": "Goedendag, factuur 2026-114 klopt niet", "files": []})]
    # Slack did not see the ack in time and sends the same event again
    retry = signed_headers(body) | {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert http_post(web.port, body, headers=retry) == (200, b"")
    assert len(handlers.calls) == 1
    # the bot learnt who it is once (auth.test, with the bot token), to ignore itself
    assert [(c.method, c.auth) for c in slack.calls] == [("auth.test", f"Bearer {slack.bot_token}")]
    with urllib.request.urlopen(f"http://127.0.0.1:{web.port}/healthz", timeout=5) as r:
        assert r.status == 200  # the same web process still answers its health check


def test_bad_missing_or_stale_signatures_are_401(web, handlers, slack, caplog):
    body = json.dumps(envelope(message_event("hello", "1700000100.000300"), "Ev0MSG0002"))
    stale = int(time.time()) - 6 * 60
    for headers in (signed_headers(body, secret="not-the-secret"), {},
                    {"X-Slack-Request-Timestamp": str(int(time.time()))},
                    signed_headers(body, ts=stale)):
        status, answer = http_post(web.port, body, headers=headers)
        assert (status, answer) == (401, b"invalid signature\n")
    # the same body, properly signed, is accepted: the 401s were the signature's doing
    assert http_post(web.port, body) == (200, b"")
    assert [name for name, _ in handlers.calls] == ["on_intake_message"]
    assert "refused" in caplog.text
    assert SECRET not in caplog.text and "hello" not in caplog.text


def test_only_post(events):
    r = events.test_client().get("/slack/events")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


def test_url_verification_challenge(events):
    body = json.dumps({"token": "legacyVerificationTok", "type": "url_verification",
                       "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    status, _, answer = wsgi_post(events, body)
    assert status == 200
    assert json.loads(answer) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_the_bots_own_and_other_bots_messages_are_ignored(events, handlers, slack):
    own_post = message_event("TB-12 Factuur klopt niet", "1700000100.000400", user="U0BOT00001",
                             bot_id="B0BOT00001", app_id=APP_ID)
    own_by_bot_id = {"type": "message", "subtype": "bot_message", "text": "TB-12 assigned",
                     "ts": "1700000100.000500", "bot_id": "B0BOT00001", "channel": "C0DESK0001",
                     "event_ts": "1700000100.000500", "channel_type": "channel"}
    other_bot = dict(own_by_bot_id, ts="1700000100.000600", event_ts="1700000100.000600",
                     bot_id="B0OTHERBOT", username="Jira")
    own_edit = {"type": "message", "subtype": "message_changed", "hidden": True,
                "channel": "C0DESK0001", "ts": "1700000100.000700",
                "event_ts": "1700000100.000700", "channel_type": "channel",
                "message": {"type": "message", "user": "U0BOT00001", "bot_id": "B0BOT00001",
                            "text": "TB-12 Sanne", "ts": "1700000100.000400",
                            "edited": {"user": "U0BOT00001", "ts": "1700000100.000700"}},
                "previous_message": {"type": "message", "user": "U0BOT00001",
                                     "bot_id": "B0BOT00001", "text": "TB-12 new",
                                     "ts": "1700000100.000400"}}
    for n, event in enumerate((own_post, own_by_bot_id, other_bot, own_edit)):
        assert wsgi_post(events, json.dumps(envelope(event, f"Ev0BOT000{n}")))[0] == 200
    assert handlers.calls == []
    # a person's message in between goes through: the filter is about who wrote it
    wsgi_post(events, json.dumps(envelope(message_event("still there?", "1700000100.000800"),
                                          "Ev0BOT0009")))
    assert [(name, kw["text"]) for name, kw in handlers.calls] == [("on_intake_message",
                                                                    "still there?")]


def test_thread_replies_with_files_and_dm(events, handlers):
    f = {"id": "F0FILE0001", "created": 1700000150, "timestamp": 1700000150,
         "name": "factuur-2026-114.pdf", "title": "factuur-2026-114.pdf",
         "mimetype": "application/pdf", "filetype": "pdf", "user": "U0ALICE001", "size": 48213,
         "url_private": "https://files.slack.com/files-pri/T0-F0/factuur-2026-114.pdf",
         "url_private_download": "https://files.slack.com/files-pri/T0-F0/download/factuur-2026-114.pdf"}
    reply = message_event("hier is de factuur", "1700000150.000100",
                          thread_ts="1700000100.000200", parent_user_id="U0BOT00001",
                          files=[f], upload=False, display_as_bot=False)
    dm = message_event("can you call me?", "1700000160.000100", channel="D0ALICE001",
                       channel_type="im")
    for n, event in enumerate((reply, dm)):
        assert wsgi_post(events, json.dumps(envelope(event, f"Ev0THR000{n}")))[0] == 200
    assert handlers.calls == [
        ("on_thread_message", {"channel": "C0DESK0001", "thread_ts": "1700000100.000200",
                               "ts": "1700000150.000100", "user": "U0ALICE001",
                               "text": "hier is de factuur",
                               "files": [{"id": "F0FILE0001", "name": "factuur-2026-114.pdf",
                                          "mimetype": "application/pdf", "size": 48213,
                                          "url": f["url_private_download"]}]}),
        ("on_intake_message", {"channel": "D0ALICE001", "ts": "1700000160.000100",
                               "user": "U0ALICE001", "text": "can you call me?", "files": []})]


def test_message_changed_and_deleted(events, handlers):
    changed = {"type": "message", "subtype": "message_changed", "hidden": True,
               "channel": "C0DESK0001", "ts": "1700000200.000100", "event_ts": "1700000200.000100",
               "channel_type": "channel",
               "message": {"client_msg_id": "0837851c", "type": "message", "user": "U0ALICE001",
                           "text": "factuur 2026-115 klopt niet", "ts": "1700000150.000100",
                           "thread_ts": "1700000100.000200", "team": TEAM_ID,
                           "edited": {"user": "U0ALICE001", "ts": "1700000200.000100"}},
               "previous_message": {"client_msg_id": "0837851c", "type": "message",
                                    "user": "U0ALICE001", "text": "factuur 2026-114 klopt niet",
                                    "ts": "1700000150.000100",
                                    "thread_ts": "1700000100.000200"}}
    unfurl = json.loads(json.dumps(changed))
    unfurl["previous_message"]["text"] = unfurl["message"]["text"]  # only attachments changed
    deleted = {"type": "message", "subtype": "message_deleted", "hidden": True,
               "channel": "C0DESK0001", "ts": "1700000300.000100",
               "deleted_ts": "1700000160.000100", "event_ts": "1700000300.000100",
               "channel_type": "channel",
               "previous_message": {"type": "message", "user": "U0ALICE001", "text": "oops",
                                    "ts": "1700000160.000100"}}
    for n, event in enumerate((changed, unfurl, deleted)):
        assert wsgi_post(events, json.dumps(envelope(event, f"Ev0CHG000{n}")))[0] == 200
    assert handlers.calls == [
        ("on_message_changed", {"channel": "C0DESK0001", "ts": "1700000150.000100",
                                "thread_ts": "1700000100.000200", "user": "U0ALICE001",
                                "text": "factuur 2026-115 klopt niet"}),
        ("on_message_deleted", {"channel": "C0DESK0001", "ts": "1700000160.000100",
                                "thread_ts": None})]


def test_a_mention_that_is_also_a_message_is_handled_once(events, handlers):
    text = "<@U0BOT00001> kan iemand dit oppakken?"
    mention = {"type": "app_mention", "user": "U0ALICE001", "text": text,
               "ts": "1700000400.000100", "channel": "C0DESK0001",
               "event_ts": "1700000400.000100", "client_msg_id": "77aa", "team": TEAM_ID,
               "blocks": rich_text(text)}
    assert wsgi_post(events, json.dumps(envelope(mention, "Ev0MEN0001")))[0] == 200
    assert wsgi_post(events, json.dumps(envelope(message_event(text, "1700000400.000100"),
                                                 "Ev0MEN0002")))[0] == 200
    assert handlers.calls == [("on_intake_message", {
        "channel": "C0DESK0001", "ts": "1700000400.000100", "user": "U0ALICE001",
        "text": text, "files": []})]


def test_a_failing_handler_answers_500_and_slacks_retry_is_handled(events, handlers, caplog):
    handlers.fail_next = 1
    body = json.dumps(envelope(message_event("help", "1700000500.000100"), "Ev0ERR0001"))
    status, _, answer = wsgi_post(events, body)
    assert status == 500 and b"database is locked" not in answer and b"Traceback" not in answer
    retry = signed_headers(body) | {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    assert wsgi_post(events, body, headers=retry)[0] == 200
    assert [name for name, _ in handlers.calls] == ["on_intake_message", "on_intake_message"]
    assert wsgi_post(events, body, headers=signed_headers(body) | {"X-Slack-Retry-Num": "2"}
                     )[0] == 200
    assert len(handlers.calls) == 2  # handled now: a third delivery is not


def test_slash_command_reply_is_the_ack(events, handlers):
    status, ctype, answer = wsgi_post(events, command_form("show 12"),
                                      "application/x-www-form-urlencoded")
    assert status == 200 and answer.decode() == "TB-12 is open; Sanne has it."
    assert handlers.calls == [("on_command", {"text": "show 12", "user": "U0ALICE001",
                                              "channel": "C0DESK0001"})]
    handlers.fail_next = 1
    status, _, answer = wsgi_post(events, command_form("show 13"),
                                  "application/x-www-form-urlencoded")
    assert status == 200 and answer.decode() == COMMAND_FAILED  # no trace for the user


def test_block_actions_reach_on_action(events, handlers):
    action = {"action_id": "take", "block_id": "tb-12", "type": "button", "value": "12",
              "text": {"type": "plain_text", "text": "Take it", "emoji": True},
              "action_ts": "1700000600.123456"}
    status, _, answer = wsgi_post(events, block_actions_form(action),
                                  "application/x-www-form-urlencoded")
    assert (status, answer) == (200, b"")
    select_action = {"action_id": "assign", "block_id": "tb-12", "type": "static_select",
                     "selected_option": {"text": {"type": "plain_text", "text": "Marta"},
                                         "value": "marta"},
                     "action_ts": "1700000600.223456"}
    assert wsgi_post(events, block_actions_form(select_action),
                     "application/x-www-form-urlencoded")[0] == 200
    common = {"user": "U0BOB00001", "channel": "C0DESK0001", "message_ts": "1700000000.000100",
              "trigger_id": "1234567890.1234567890.0123456789abcdef0123456789abcdef"}
    assert handlers.calls == [("on_action", {"action_id": "take", "value": "12", **common}),
                              ("on_action", {"action_id": "assign", "value": "marta", **common})]


def test_events_nothing_handles_are_acknowledged(events, handlers):
    pin = {"type": "pin_added", "user": "U0ALICE001", "channel_id": "C0DESK0001",
           "item": {"type": "message", "channel": "C0DESK0001"}, "event_ts": "1700000700.000100"}
    join = message_event("", "1700000700.000200", subtype="channel_join")
    for n, event in enumerate((pin, join)):
        assert wsgi_post(events, json.dumps(envelope(event, f"Ev0OTH000{n}")))[0] == 200
    assert handlers.calls == []


# ----------------------------------------------------------------------------- Socket Mode

def test_socket_mode_envelopes_are_dispatched_and_acked(slack, handlers):
    settings = Settings(slack_bot_token=slack.bot_token, slack_app_token="xapp-1-A0FAKE0001-1-x",
                        slack_api_url=slack.url)
    socket = socket_mode_handler(build_app(settings, handlers), settings.slack_app_token)
    assert slack.calls == []  # building the app and the handler asks Slack nothing
    acks: queue.Queue[str] = queue.Queue()
    socket.client.send_message = acks.put  # the WebSocket's send: capture the acks instead
    try:
        event = message_event("Dzień dobry, faktura się nie zgadza", "1700000800.000100")
        frame = {"envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf",
                 "payload": envelope(event, "Ev0SOCK001"), "type": "events_api",
                 "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": ""}
        socket.client.enqueue_message(json.dumps(frame))  # as the WebSocket reader does
        assert json.loads(acks.get(timeout=5)) == {"envelope_id": frame["envelope_id"]}
        assert handlers.calls == [("on_intake_message", {
            "channel": "C0DESK0001", "ts": "1700000800.000100", "user": "U0ALICE001",
            "text": "Dzień dobry, faktura się nie zgadza", "files": []})]
        again = dict(frame, envelope_id="8c1f1a0b-5a9e-4b8e-a1f0-0c7e1f2f3a4b",
                     retry_attempt=1, retry_reason="timeout")
        socket.client.enqueue_message(json.dumps(again))
        assert json.loads(acks.get(timeout=5)) == {"envelope_id": again["envelope_id"]}
        assert len(handlers.calls) == 1  # the re-sent event was acked, not handled again

        command = {"envelope_id": "1d3c7f1e-0a0b-4c5d-8e9f-0a1b2c3d4e5f",
                   "payload": dict(parse_qsl(command_form("show 12"))), "type": "slash_commands",
                   "accepts_response_payload": True}
        socket.client.enqueue_message(json.dumps(command))
        assert json.loads(acks.get(timeout=5)) == {
            "envelope_id": command["envelope_id"], "payload": {"text": handlers.reply}}
        assert handlers.calls[-1] == ("on_command", {"text": "show 12", "user": "U0ALICE001",
                                                     "channel": "C0DESK0001"})
    finally:
        socket.close()
    assert [c.method for c in slack.calls] == ["auth.test"]  # no apps.connections.open: offline


# ----------------------------------------------------------------------------- manifest

def test_manifest_grants_every_scope_the_code_needs():
    manifest = yaml.safe_load((REPO / "slack-manifest.yaml").read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    # every Web API method the code calls has its scopes mapped, and granted
    called = set(slack_out.METHODS) | {"conversations.open", "users.info", "auth.test",
                                       "apps.connections.open"}
    assert called <= METHOD_SCOPES.keys()
    needed = {s for m in called for s in METHOD_SCOPES[m]} | set(EVENT_SCOPES.values())
    assert needed <= scopes, needed - scopes
    assert {"chat:write.public", "commands", "users:read.email"} <= scopes
    assert sorted(events) == sorted(EVENT_SCOPES)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [COMMAND]
    assert manifest["features"]["bot_user"]["display_name"] == "ticketbot"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "https://YOUR-HOST/slack/events" in (REPO / "slack-manifest.yaml").read_text()
    assert slack_app.EVENTS_PATH == "/slack/events"


# ----------------------------------------------------------------------------- settings

def test_slack_settings_from_the_environment_never_show_secrets():
    env = {"SLACK_BOT_TOKEN": "xoxb-111-222-SECRETbot", "SLACK_APP_TOKEN": "xapp-1-A1-SECRETapp",
           "SLACK_SIGNING_SECRET": "SECRETsigning", "SLACK_CHANNEL": "C0DESK0001",
           "SLACK_API_URL": "http://127.0.0.1:9999/api", "TICKETBOT_WEB_LISTEN": "0.0.0.0:8081",
           "SMTP_URL": "smtps://desk:SECRETsmtp@smtp.example.com"}
    s = Settings.from_env(env)
    assert (s.slack_bot_token, s.slack_app_token, s.slack_signing_secret) == (
        "xoxb-111-222-SECRETbot", "xapp-1-A1-SECRETapp", "SECRETsigning")
    assert s.slack_channel == "C0DESK0001" and s.web_listen == ("0.0.0.0", 8081)
    assert s.slack_api_url == "http://127.0.0.1:9999/api/"  # the SDK appends method names
    assert s.slack_enabled and s.slack_mode == "socket"
    assert "SECRET" not in repr(s) and "SECRET" not in str(s)
    http = Settings.from_env({k: v for k, v in env.items() if k != "SLACK_APP_TOKEN"})
    assert http.slack_mode == "http"
    default = Settings.from_env({})
    assert not default.slack_enabled and default.slack_mode is None
    assert default.slack_api_url == "https://slack.com/api/"


@pytest.mark.parametrize("env, message", [
    ({"SLACK_BOT_TOKEN": "xapp-hush", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-hush", "SLACK_APP_TOKEN": "xoxb-hush2"}, "SLACK_APP_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-hush"}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_SIGNING_SECRET": "hush"}, "SLACK_BOT_TOKEN is not set"),
    ({"SLACK_BOT_TOKEN": "xoxb-hush", "SLACK_SIGNING_SECRET": "s",
      "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
])
def test_slack_setting_mistakes_are_named_without_their_values(env, message):
    with pytest.raises(ConfigError, match=message) as exc:
        Settings.from_env(env)
    assert "hush" not in str(exc.value)


def test_http_mode_needs_the_signing_secret(slack_settings, handlers):
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        mount_http(Flask("x"), build_app(slack_settings, handlers),
                   slack_settings.with_(slack_signing_secret=None))
