"""The web process: health answers, errors never show a stack trace, and the server
cuts off slow clients and caps connections per client."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest
from sqlalchemy import event

from bot.adapters.web import WebServer, create_app
from bot.desk import intake
from tests.support.mailgen import customer_mail


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


def plain(environ, start_response):
    """A WSGI app for the server tests: the server, not the app, is under test."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def test_health_of_a_real_database(serve, service):
    port = serve(create_app(service))
    status, body = get(port, "/healthz")
    assert status == 200
    assert json.loads(body)["database"] == "ok"


def test_a_stuck_outbox_is_503_and_says_why(serve, service, clock):
    """Issue 10.9: a mail due for longer than 15 minutes means delivery is stuck."""
    intake.ingest_raw(service, customer_mail(1, variant="plain"), "t")  # queues the ack
    port = serve(create_app(service))
    clock.advance(minutes=14)
    assert get(port, "/healthz")[0] == 200
    clock.advance(minutes=2)
    status, body = get(port, "/healthz")
    data = json.loads(body)
    assert status == 503 and data["status"] == "stuck" and "due for more than 15 minutes" in data["reason"]
    assert data["outbox"]["due_for_seconds"] == 16 * 60


def test_unreachable_database_is_503(serve, service):
    def broken():
        raise ConnectionRefusedError("connection to 127.0.0.1:1 refused")

    status, body = get(serve(create_app(service, health=broken)), "/healthz")
    assert status == 503
    assert json.loads(body) == {"status": "unavailable", "database": "unreachable"}


def test_a_failing_route_is_a_500_without_a_trace(serve, service):
    app = create_app(service)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    from bot.adapters.web import auth
    auth.PUBLIC.add("boom")
    try:
        status, body = get(serve(app), "/boom")
    finally:
        auth.PUBLIC.discard("boom")
    assert status == 500
    assert b"secret" not in body and b"Traceback" not in body and b"see the server log" not in body
    assert b"The error is in the server log" in body
    status, body = get(serve(app), "/nothing-here")  # (urllib follows the redirect)
    assert status == 200 and b'name="email"' in body  # unknown paths: sign in first


def test_busy_port_is_a_clear_error(serve):
    port = serve(plain)
    with pytest.raises(OSError, match=f"cannot listen for HTTP on 127.0.0.1:{port}"):
        WebServer(plain, "127.0.0.1", port)


def closed_by_server(sock: socket.socket) -> bool:
    """Wait (up to a hang bound) for the server to close the connection."""
    sock.settimeout(60)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def test_a_slow_request_is_cut_off():
    """Issue 10.18: headers that never finish end the request after the timeout."""
    server = WebServer(plain, "127.0.0.1", 0, timeout=0.5)
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and then nothing more
            assert closed_by_server(slow)
        assert get(server.port, "/")[0] == 200
    finally:
        server.stop()


def test_one_client_cannot_hold_every_connection():
    """Issue 10.18: one client address holds at most `per_client` connections; the next
    one is closed at once (the held ones stay: their timeout is far away)."""
    server = WebServer(plain, "127.0.0.1", 0, timeout=300, per_client=3)
    server.start()
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as extra:
            assert closed_by_server(extra)
        assert all(still_open(sock) for sock in held)
    finally:
        for sock in held:
            sock.close()
        server.stop()


def test_a_database_that_cannot_be_written_is_503(serve, service, db_url):
    """Issue 10.9: /healthz writes (a heartbeat) as well as reads; a database that answers
    reads but refuses writes (a full disk, a read-only server) is not healthy."""
    port = serve(create_app(service))
    assert get(port, "/healthz")[0] == 200
    engine = service.sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            name = conn.exec_driver_sql("SELECT current_database()").scalar()
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            conn.commit()
        engine.dispose()  # new connections are read-only
    else:
        event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA query_only = ON"))
        engine.dispose()
    status, body = get(port, "/healthz")
    data = json.loads(body)
    assert status == 503 and data["status"] == "unwritable"
    assert "can be read but not written" in data["reason"]
