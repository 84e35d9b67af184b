"""A webhook receiver for tests and the bench: a real HTTP server on 127.0.0.1 (a free
port, its own thread) that records every POST, and answers with scripted statuses
(`fail`: the next answers, e.g. [500]; then `status`, 200 by default; `hold`: answers
wait until that event is set)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    at: float  # time.monotonic() on arrival
    wall: float = 0.0  # time.time() on arrival (the bench's latency against created_at)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    status: int = 200
    fail: list[int] = field(default_factory=list)  # answered first, one per request
    extra_headers: dict[str, str] = field(default_factory=dict)  # e.g. a redirect's Location
    hold: threading.Event | None = None  # answers wait for it (a slow receiver: timeouts)
    requests: list[Request] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def accepted(self) -> list[Request]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms stall)

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.arrived:
                    status = receiver.fail.pop(0) if receiver.fail else receiver.status
                    receiver.requests.append(Request(self.path, dict(self.headers.items()), body,
                                                     status, time.monotonic(), time.time()))
                    receiver.arrived.notify_all()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                self.send_response(status)
                for k, v in receiver.extra_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n: int, timeout: float = 30.0) -> list[Request]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.requests) >= n, timeout), \
                f"{len(self.requests)} of {n} requests arrived"
            return list(self.requests)
