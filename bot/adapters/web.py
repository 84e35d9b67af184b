"""The `web` process: a small threaded WSGI server for the health endpoint and, when
Slack runs in HTTP mode, Slack's events endpoint.

Traffic here is a load balancer's health probe and a help desk's Slack events (a few per
second at most), so the standard library's server, one thread per request, is enough and
adds no dependency. Routes are plain WSGI apps, so any WSGI server can host `WebApp`.
"""

from __future__ import annotations

import json
import logging
import socketserver
import threading
from collections.abc import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

log = logging.getLogger("bot.web")

WSGIApp = Callable


# A request must arrive whole within this many seconds (headers and body), or its
# connection is closed: slow clients cannot hold the server's threads.
REQUEST_TIMEOUT = 10.0
# Connections one client address may hold open at once; more are closed at once.
PER_CLIENT = 20


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    per_client = PER_CLIENT

    def server_activate(self) -> None:
        super().server_activate()
        self._open: dict[str, int] = {}
        self._open_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        host = client_address[0]
        with self._open_lock:
            if self._open.get(host, 0) >= self.per_client:
                log.warning("web: %s holds %d connections already; refused one", host,
                            self.per_client)
                self.shutdown_request(request)
                return
            self._open[host] = self._open.get(host, 0) + 1
        super().process_request(request, client_address)

    def close_request_of(self, client_address) -> None:
        with self._open_lock:
            host = client_address[0]
            left = self._open.get(host, 1) - 1
            if left > 0:
                self._open[host] = left
            else:
                self._open.pop(host, None)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.close_request_of(client_address)


class _QuietHandler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT  # the socket's timeout: a slow header or body ends the request

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)


def json_response(start_response, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


class WebApp:
    """Routes by exact path; everything else is 404. Errors become a 500 with a short
    JSON body, never a stack trace."""

    def __init__(self, health: Callable[[], dict]):
        self.routes: dict[str, WSGIApp] = {"/healthz": self._health, "/health": self._health}
        self._health_fn = health

    def mount(self, path: str, app: WSGIApp) -> None:
        self.routes[path] = app

    def __call__(self, environ, start_response):
        app = self.routes.get(environ.get("PATH_INFO", ""))
        if app is None:
            return json_response(start_response, "404 Not Found", {"error": "not found"})
        try:
            return app(environ, start_response)
        except Exception:
            log.exception("error handling %s", environ.get("PATH_INFO"))
            return json_response(start_response, "500 Internal Server Error",
                                 {"error": "internal error; see the server log"})

    def _health(self, environ, start_response):
        try:
            body = self._health_fn()
        except Exception as exc:
            log.warning("health check failed: %s: %s", type(exc).__name__, exc)
            return json_response(start_response, "503 Service Unavailable",
                                 {"status": "unavailable", "database": "unreachable"})
        if body.get("status", "ok") != "ok":  # e.g. "stuck": the load balancer should know
            return json_response(start_response, "503 Service Unavailable", body)
        return json_response(start_response, "200 OK", body)


class WebServer:
    def __init__(self, app: WSGIApp, host: str, port: int, timeout: float = REQUEST_TIMEOUT,
                 per_client: int = PER_CLIENT):
        handler = type("_Handler", (_QuietHandler,), {"timeout": timeout})
        try:
            self.server = make_server(host, port, app, server_class=_ThreadingWSGIServer,
                                      handler_class=handler)
            self.server.per_client = per_client
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen for HTTP on {host}:{port}: "
                                     f"{exc.strerror}") from None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, name="web", daemon=True)
        self.thread.start()
        log.info("web listening on http://%s:%s", *self.server.server_address[:2])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(10)
