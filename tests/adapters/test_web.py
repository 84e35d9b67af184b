"""The web process's WSGI app: health answers, and errors never show a stack trace."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from bot.adapters.web import WebApp, WebServer
from bot.desk import queries


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture
def serve():
    servers = []

    def start(app) -> int:
        server = WebServer(app, "127.0.0.1", 0)
        server.start()
        servers.append(server)
        return server.port

    yield start
    for s in servers:
        s.stop()


def test_health_of_a_real_database(serve, service):
    port = serve(WebApp(lambda: queries.health(service)))
    status, body = get(port, "/healthz")
    assert status == 200
    assert json.loads(body)["database"] == "ok"


def test_unreachable_database_is_503(serve):
    def broken():
        raise ConnectionRefusedError("connection to 127.0.0.1:1 refused")

    status, body = get(serve(WebApp(broken)), "/healthz")
    assert status == 503
    assert json.loads(body) == {"status": "unavailable", "database": "unreachable"}


def test_a_failing_route_is_a_500_without_a_trace(serve):
    app = WebApp(dict)

    def boom(environ, start_response):
        raise RuntimeError("secret internals")

    app.mount("/boom", boom)
    status, body = get(serve(app), "/boom")
    assert status == 500
    assert b"secret" not in body and b"Traceback" not in body
    assert json.loads(body) == {"error": "internal error; see the server log"}


def test_busy_port_is_a_clear_error(serve):
    port = serve(WebApp(dict))
    with pytest.raises(OSError, match=f"cannot listen for HTTP on 127.0.0.1:{port}"):
        WebServer(WebApp(dict), "127.0.0.1", port)
