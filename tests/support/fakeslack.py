"""A local fake of the Slack Web API, for tests: a threaded stdlib HTTP server on
127.0.0.1 (ephemeral port) that answers the methods ticketbot uses with Slack's real
response shapes and records every call.

    with FakeSlack() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.url)
        ...
        call = slack.wait_for("chat.postMessage")          # never sleep: wait for the call
        assert call.params["channel"] == "C0DESK"

Failures are scripted per method: ``slack.fail("chat.postMessage", status=429,
retry_after=7)``, ``slack.fail(..., status=500)``, ``slack.fail(..., error="channel_not_found")``
(an HTTP 200 with ``ok: false``), or ``slack.hang(...)`` (no answer until the test ends, so
the client's timeout fires). Only the Web API is faked; everything else is real.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TEAM_ID = "T0FAKE0001"
APP_ID = "A0FAKE0001"
BOT_TOKEN = "xoxb-0000000001-0000000002-fakefakefakefakefake"

# Form-encoded arguments Slack takes as JSON strings.
_JSON_ARGS = {"blocks", "attachments", "metadata", "view", "unfurls", "files"}


@dataclass
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage"
    params: dict[str, Any]  # query + form or JSON body; JSON-string args (blocks) decoded
    auth: str | None  # the Authorization header as sent
    content_type: str
    status: int = 0  # the HTTP status answered (0: no answer, the call hung)
    response: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))


@dataclass
class _Failure:
    status: int = 200
    retry_after: float | None = None
    error: str | None = None
    hang: bool = False
    body: bytes | None = None


@dataclass
class _Message:
    channel: str
    ts: str
    text: str
    blocks: list | None
    thread_ts: str | None


class FakeSlack:
    def __init__(self, bot_token: str = BOT_TOKEN, bot_user_id: str = "U0BOT00001",
                 bot_id: str = "B0BOT00001"):
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.calls: list[Call] = []
        self.changed = threading.Condition()
        self.channels: set[str] = {"C0DESK0001", "C0SALES001", "C0OTHER001"}
        self.archived: set[str] = set()
        self.users: dict[str, dict] = {}
        self.add_user("U0ALICE001", "alice", "Alice Jansen", "alice@desk.example")
        self.add_user("U0BOB00001", "bob", "Bob de Vries", "bob@desk.example")
        self.add_user("U0GONE0001", "gone", "Former Colleague", "gone@desk.example", deleted=True)
        self.users[bot_user_id] = self._user(bot_user_id, "ticketbot", "ticketbot", None)
        self.users[bot_user_id].update(is_bot=True)
        self.messages: dict[tuple[str, str], _Message] = {}  # the bot's own posts
        self.people_messages: dict[tuple[str, str], dict] = {}  # what people wrote (add_message)
        self.reactions: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.dms: dict[str, str] = {}  # user id -> D… channel
        # files: uploads started (files.getUploadURLExternal), their bytes (the upload URL),
        # and where they were shared (files.completeUploadExternal); and people's files
        # the bot may download (url_private, with the bot token)
        self.pending_files: dict[str, dict] = {}
        self.uploads: list[dict] = []
        self.people_files: dict[str, tuple[str, bytes]] = {}  # path -> (mimetype, bytes)
        self._file_n = 0
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._ts = 1_700_000_000_000_000  # microseconds; every ts is larger than the last
        self._lock = threading.Lock()
        self._release = threading.Event()  # lets hung requests finish at stop()
        # Sign in with Slack (OpenID Connect): codes Slack gave a browser, and the
        # userInfo each access token answers
        self.client_id, self.client_secret = "1234.5678", "oidc-secret"
        self.oidc_codes: dict[str, str] = {}  # code -> user id
        self.oidc_tokens: dict[str, dict] = {}  # "Bearer xoxp-…" -> userInfo
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the stdlib's name
                fake._serve(self)

            do_GET = do_POST

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The Web API base URL for WebClient(base_url=...)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def start(self) -> FakeSlack:
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        name="fakeslack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----------------------------------------------------------------- scripting

    def add_user(self, user_id: str, name: str, real_name: str, email: str | None,
                 deleted: bool = False) -> None:
        self.users[user_id] = self._user(user_id, name, real_name, email, deleted)

    def add_message(self, channel: str, ts: str, user: str, text: str,
                    thread_ts: str | None = None, files: list[dict] | None = None) -> dict:
        """A message a person wrote in ``channel`` (conversations.history/replies read it)."""
        msg = {"type": "message", "user": user, "text": text, "ts": ts, "team": TEAM_ID}
        if thread_ts:
            msg["thread_ts"] = thread_ts
        if files:
            msg["files"] = files
        self.people_messages[(channel, ts)] = msg
        return msg

    def fail(self, method: str, *, status: int = 200, retry_after: float | None = None,
             error: str | None = None, times: int = 1, body: bytes | None = None) -> None:
        """The next ``times`` calls of ``method`` fail: an HTTP ``status`` (429 with
        Retry-After, 500, 503, ...), or an HTTP 200 ``{"ok": false, "error": error}``."""
        if status == 200 and error is None:
            raise ValueError("give an HTTP status or a Slack error")
        if status == 429 and error is None:
            error = "ratelimited"
        with self._lock:
            self._failures[method].extend(
                _Failure(status=status, retry_after=retry_after, error=error, body=body)
                for _ in range(times))

    def hang(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls get no answer until the fake stops."""
        with self._lock:
            self._failures[method].extend(_Failure(hang=True) for _ in range(times))

    # ----------------------------------------------------------------- inspection

    def calls_to(self, method: str | None = None, where: Callable[[Call], bool] | None = None
                 ) -> list[Call]:
        with self.changed:
            return [c for c in self.calls
                    if (method is None or c.method == method) and (where is None or where(c))]

    def wait_for(self, method: str | None = None, n: int = 1,
                 where: Callable[[Call], bool] | None = None, timeout: float = 5.0) -> Call:
        """The ``n``-th recorded call (1-based) to ``method`` matching ``where``, waiting up to
        ``timeout`` seconds for it to arrive; AssertionError when it does not."""
        def matching():
            return [c for c in self.calls
                    if (method is None or c.method == method) and (where is None or where(c))]

        with self.changed:
            if not self.changed.wait_for(lambda: len(matching()) >= n, timeout):
                seen = ", ".join(c.method for c in self.calls) or "none"
                raise AssertionError(f"call #{n} to {method or 'any method'} did not arrive "
                                     f"within {timeout} s; calls so far: {seen}")
            return matching()[n - 1]

    # ----------------------------------------------------------------- serving

    def add_file(self, name: str, content: bytes, mimetype: str = "application/pdf",
                 user: str = "U0ALICE001") -> dict:
        """A file a person shared in Slack, as a message's ``files`` item; the bot
        downloads it from url_private_download with its token."""
        with self._lock:
            self._file_n += 1
            fid = f"F0PEOPLE{self._file_n:03d}"
        path = f"/files-pri/{TEAM_ID}-{fid}/download/{name}"
        self.people_files[path] = (mimetype, content)
        base = self.url.rsplit("/api/", 1)[0]
        return {"id": fid, "created": 1700000000, "timestamp": 1700000000, "name": name,
                "title": name, "mimetype": mimetype, "filetype": name.rsplit(".", 1)[-1],
                "pretty_type": name.rsplit(".", 1)[-1].upper(), "user": user, "user_team": TEAM_ID,
                "editable": False, "size": len(content), "mode": "hosted", "is_external": False,
                "external_type": "", "is_public": True, "public_url_shared": False,
                "display_as_bot": False, "username": "",
                "url_private": f"{base}/files-pri/{TEAM_ID}-{fid}/{name}",
                "url_private_download": base + path,
                "permalink": f"https://fake-desk.slack.com/files/{user}/{fid}/{name}",
                "permalink_public": f"https://slack-files.com/{TEAM_ID}-{fid}-0123456789",
                "has_rich_preview": False, "file_access": "visible"}

    def _serve_file(self, req: BaseHTTPRequestHandler, path: str) -> None:
        """url_private(_download): the file's bytes for the bot's token; anyone else gets
        Slack's sign-in page (HTTP 200, HTML), as the real thing answers."""
        auth = req.headers.get("Authorization")
        found = self.people_files.get(path)
        call = Call(method="files-pri", params={"path": path}, auth=auth, content_type="")
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()
        if found is not None and auth == f"Bearer {self.bot_token}":
            self._answer(req, call, 200, found[1], {"Content-Type": found[0]}, None)
        elif found is None:
            self._answer(req, call, 404, b"Not Found", {"Content-Type": "text/plain"}, None)
        else:
            self._answer(req, call, 200, b"<!DOCTYPE html><html><title>Slack</title></html>",
                         {"Content-Type": "text/html; charset=utf-8"}, None)

    def _serve_upload(self, req: BaseHTTPRequestHandler, file_id: str, raw: bytes) -> None:
        """The upload URL files.getUploadURLExternal gave: the file's bytes, posted raw."""
        call = Call(method="upload", params={"file_id": file_id, "size": len(raw)},
                    auth=req.headers.get("Authorization"),
                    content_type=(req.headers.get("Content-Type") or ""))
        with self._lock:
            failure = self._failures["upload"].popleft() if self._failures["upload"] else None
            pending = self.pending_files.get(file_id)
            if failure is None and pending is not None:
                pending["content"] = raw
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()
        if failure is not None:
            self._answer(req, call, failure.status, b"error", {"Content-Type": "text/plain"}, None)
        elif pending is None:
            self._answer(req, call, 404, b"Not Found", {"Content-Type": "text/plain"}, None)
        else:
            self._answer(req, call, 200, f"OK - {len(raw)}".encode(),
                         {"Content-Type": "text/plain; charset=utf-8"}, None)

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        if parts.path.startswith("/files-pri/"):
            self._serve_file(req, parts.path)
            return
        if parts.path.startswith("/upload/v1/"):
            length = int(req.headers.get("Content-Length") or 0)
            self._serve_upload(req, parts.path.rsplit("/", 1)[-1],
                               req.rfile.read(length) if length else b"")
            return
        method = parts.path.rsplit("/", 1)[-1]
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        if ctype == "application/json" and raw:
            params.update(json.loads(raw))
        elif raw:
            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        for key in _JSON_ARGS & params.keys():
            if isinstance(params[key], str) and params[key][:1] in "[{":
                params[key] = json.loads(params[key])
        auth = req.headers.get("Authorization")
        if "token" in params and auth is None:  # the token as a POST parameter
            auth = f"Bearer {params.pop('token')}"
        call = Call(method=method, params=params, auth=auth, content_type=ctype)
        with self._lock:
            failure = self._failures[method].popleft() if self._failures[method] else None
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()

        headers: dict[str, str] = {}
        if failure is not None and failure.hang:
            self._release.wait(60)
            return  # no answer at all; the client has given up by now
        if failure is not None:
            status = failure.status
            if failure.retry_after is not None:
                headers["Retry-After"] = f"{failure.retry_after:g}"
            if failure.body is not None:
                body = failure.body
                headers["Content-Type"] = "text/html"
                self._answer(req, call, status, body, headers, None)
                return
            response = {"ok": False, "error": failure.error or "internal_error"}
        else:
            status = 200
            response = self._dispatch(method, params, auth)
            if method == "auth.test" and response.get("ok"):
                headers["x-oauth-scopes"] = "chat:write,chat:write.public,im:write,users:read"
        body = json.dumps(response).encode()
        headers["Content-Type"] = "application/json; charset=utf-8"
        self._answer(req, call, status, body, headers, response)

    def _answer(self, req, call: Call, status: int, body: bytes, headers: dict,
                response: dict | None) -> None:
        with self.changed:
            call.status, call.response = status, response
            self.changed.notify_all()
        try:
            req.send_response(status)
            for k, v in headers.items():
                req.send_header(k, v)
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
        except OSError:
            pass  # the client went away

    # ----------------------------------------------------------------- the methods

    def _dispatch(self, method: str, p: dict, auth: str | None) -> dict:
        if method == "openid.connect.token":  # the app authenticates with its id and secret
            with self._lock:
                return self._m_openid_connect_token(p, auth)
        if method == "openid.connect.userInfo" and auth in self.oidc_tokens:
            with self._lock:
                return self.oidc_tokens[auth]
        if auth is None:
            return {"ok": False, "error": "not_authed"}
        if auth != f"Bearer {self.bot_token}":
            return {"ok": False, "error": "invalid_auth"}
        fn = getattr(self, "_m_" + method.replace(".", "_"), None)
        if fn is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        with self._lock:
            return fn(p)

    def _user(self, uid, name, real_name, email, deleted=False) -> dict:
        profile = {"real_name": real_name, "display_name": name, "real_name_normalized": real_name,
                   "display_name_normalized": name, "team": TEAM_ID}
        if email:
            profile["email"] = email
        return {"id": uid, "team_id": TEAM_ID, "name": name, "deleted": deleted,
                "color": "9f69e7", "real_name": real_name, "tz": "Europe/Amsterdam",
                "tz_label": "Central European Time", "tz_offset": 3600, "profile": profile,
                "is_admin": False, "is_owner": False, "is_primary_owner": False,
                "is_restricted": False, "is_ultra_restricted": False, "is_bot": False,
                "is_app_user": False, "updated": 1_700_000_000}

    def _channel_error(self, channel: str | None) -> dict | None:
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel not in self.channels and channel not in self.dms.values():
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.archived:
            return {"ok": False, "error": "is_archived"}
        return None

    def _message_json(self, m: _Message) -> dict:
        msg = {"user": self.bot_user_id, "type": "message", "ts": m.ts, "bot_id": self.bot_id,
               "app_id": APP_ID, "text": m.text, "team": TEAM_ID,
               "bot_profile": {"id": self.bot_id, "app_id": APP_ID, "name": "ticketbot",
                               "deleted": False, "team_id": TEAM_ID}}
        if m.blocks is not None:
            msg["blocks"] = m.blocks
        if m.thread_ts:
            msg["thread_ts"] = m.thread_ts
            msg["parent_user_id"] = self.bot_user_id
        return msg

    def oidc_code(self, user_id: str) -> str:
        """What Slack puts in the callback after a user signed in there."""
        code = f"code-{len(self.oidc_codes) + 1}-{user_id}"
        self.oidc_codes[code] = user_id
        return code

    def _m_openid_connect_token(self, p: dict, auth: str | None) -> dict:
        client = (p.get("client_id"), p.get("client_secret"))
        if auth and auth.startswith("Basic "):  # HTTP Basic, as slack_sdk sends them
            client = tuple(base64.b64decode(auth[6:]).decode().split(":", 1))
        if client != (self.client_id, self.client_secret):
            return {"ok": False, "error": "invalid_client_id"}
        user_id = self.oidc_codes.pop(p.get("code", ""), None)  # a code works once
        if user_id is None:
            return {"ok": False, "error": "invalid_code"}
        token = f"xoxp-oidc-{user_id}"
        user = self.users.get(user_id, {})
        self.oidc_tokens[f"Bearer {token}"] = {
            "ok": True, "sub": user_id, "https://slack.com/user_id": user_id,
            "https://slack.com/team_id": "T0DESK0001", "email": user.get("profile", {}).get("email"),
            "email_verified": True, "name": user.get("real_name", "")}
        return {"ok": True, "access_token": token, "token_type": "Bearer", "id_token": "eyJ.x.y"}

    def _m_auth_test(self, p: dict) -> dict:
        return {"ok": True, "url": "https://fake-desk.slack.com/", "team": "Fake Desk",
                "user": "ticketbot", "team_id": TEAM_ID, "user_id": self.bot_user_id,
                "bot_id": self.bot_id, "is_enterprise_install": False}

    def _m_chat_postMessage(self, p: dict) -> dict:
        channel = p.get("channel")
        if (err := self._channel_error(channel)) is not None:
            return err
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            return {"ok": False, "error": "no_text"}
        thread_ts = p.get("thread_ts") or None  # the parent may be anyone's message
        m = _Message(channel, self._next_ts_unlocked(), p.get("text") or "", p.get("blocks"),
                     thread_ts)
        self.messages[(channel, m.ts)] = m
        return {"ok": True, "channel": channel, "ts": m.ts, "message": self._message_json(m)}

    def _m_chat_update(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("ts")
        if (err := self._channel_error(channel)) is not None:
            return err
        m = self.messages.get((channel, ts))
        if m is None:
            return {"ok": False, "error": "message_not_found"}
        if "text" in p:
            m.text = p["text"]
        if "blocks" in p:
            m.blocks = p["blocks"]
        return {"ok": True, "channel": channel, "ts": ts, "text": m.text,
                "message": self._message_json(m)}

    def _m_chat_delete(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("ts")
        if (err := self._channel_error(channel)) is not None:
            return err
        if self.messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_postEphemeral(self, p: dict) -> dict:
        channel, user = p.get("channel"), p.get("user")
        if (err := self._channel_error(channel)) is not None:
            return err
        u = self.users.get(user or "")
        if u is None:
            return {"ok": False, "error": "user_not_found"}
        if u["deleted"]:
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts_unlocked()}

    def _m_reactions_add(self, p: dict) -> dict:
        channel, ts, name = p.get("channel"), p.get("timestamp"), p.get("name")
        if (err := self._channel_error(channel)) is not None:
            return err
        if not ts:
            return {"ok": False, "error": "no_item_specified"}
        if not name:
            return {"ok": False, "error": "invalid_name"}
        # any message can get a reaction (customers' messages are unknown to the fake)
        if name in self.reactions[(channel, ts)]:
            return {"ok": False, "error": "already_reacted"}
        self.reactions[(channel, ts)].add(name)
        return {"ok": True}

    def _m_users_info(self, p: dict) -> dict:
        u = self.users.get(p.get("user") or "")
        if u is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": u}

    def _m_conversations_open(self, p: dict) -> dict:
        if p.get("channel"):
            return {"ok": True, "no_op": True, "already_open": True,
                    "channel": {"id": p["channel"]}}
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if len(users) != 1:
            return {"ok": False, "error": "users_list_not_supplied" if not users
                    else "not_enough_users"}
        u = self.users.get(users[0])
        if u is None:
            return {"ok": False, "error": "user_not_found"}
        if u["deleted"]:
            return {"ok": False, "error": "user_disabled"}
        already = users[0] in self.dms
        if not already:
            self.dms[users[0]] = "D0" + users[0][2:]
        return {"ok": True, "no_op": already, "already_open": already,
                "channel": {"id": self.dms[users[0]]}}

    def _m_views_open(self, p: dict) -> dict:
        if not p.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        view = dict(p.get("view") or {})
        view.update(id="V0FAKE0001", team_id=TEAM_ID, app_id=APP_ID, bot_id=self.bot_id,
                    hash="1700000000.fakehash", state={"values": {}})
        return {"ok": True, "view": view}

    def _m_files_getUploadURLExternal(self, p: dict) -> dict:  # noqa: N802 - Slack's name
        filename, length = p.get("filename"), p.get("length")
        if not filename or length in (None, ""):
            return {"ok": False, "error": "invalid_arguments"}
        self._file_n += 1
        fid = f"F0UPLOAD{self._file_n:03d}"
        self.pending_files[fid] = {"filename": filename, "length": int(length), "content": None}
        base = self.url.rsplit("/api/", 1)[0]
        return {"ok": True, "upload_url": f"{base}/upload/v1/{fid}", "file_id": fid}

    def _m_files_completeUploadExternal(self, p: dict) -> dict:  # noqa: N802 - Slack's name
        files = p.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = p.get("channel_id")
        if channel and (err := self._channel_error(channel)) is not None:
            return err
        done = []
        for f in files:
            pending = self.pending_files.get(f.get("id"))
            if pending is None or pending["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            title = f.get("title") or pending["filename"]
            self.uploads.append({"id": f["id"], "filename": pending["filename"], "title": title,
                                 "content": pending["content"], "channel": channel,
                                 "thread_ts": p.get("thread_ts"),
                                 "initial_comment": p.get("initial_comment")})
            done.append({"id": f["id"], "title": title})
        return {"ok": True, "files": done}

    def _m_conversations_history(self, p: dict) -> dict:
        channel = p.get("channel")
        if (err := self._channel_error(channel)) is not None:
            return err
        latest, inclusive = p.get("latest"), str(p.get("inclusive")).lower() in ("1", "true")
        msgs = sorted((m for (c, _), m in self.people_messages.items()
                       if c == channel and not (m.get("thread_ts") and m["thread_ts"] != m["ts"])
                       and (latest is None or float(m["ts"]) < float(latest)
                            or (inclusive and m["ts"] == latest))),
                      key=lambda m: float(m["ts"]), reverse=True)
        limit = int(p.get("limit") or 100)
        return {"ok": True, "messages": msgs[:limit], "has_more": len(msgs) > limit,
                "pin_count": 0, "response_metadata": {"next_cursor": ""}}

    def _m_conversations_replies(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("ts")
        if (err := self._channel_error(channel)) is not None:
            return err
        msg = self.people_messages.get((channel, ts or ""))
        if msg is None:
            return {"ok": False, "error": "thread_not_found"}
        root = msg.get("thread_ts") or ts
        thread = sorted((m for (c, _), m in self.people_messages.items()
                         if c == channel and (m["ts"] == root or m.get("thread_ts") == root)),
                        key=lambda m: float(m["ts"]))
        return {"ok": True, "messages": thread, "has_more": False,
                "response_metadata": {"next_cursor": ""}}

    def _next_ts_unlocked(self) -> str:
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"


class FakeTime:
    """The pacer's clock and sleep: sleeping moves the clock, nothing waits for real."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
