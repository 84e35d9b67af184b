"""The `web` process's HTTP server: the standard library's threaded WSGI server, hardened.

Traffic here is a desk's staff in their browsers, a load balancer's health probe and
Slack's events (a few requests per second at most), so one thread per request is enough
and adds no dependency. It closes a request that does not arrive whole within
REQUEST_TIMEOUT and caps the connections one client address may hold (PER_CLIENT). Any
WSGI server can host the app (`app.create_app`) instead, e.g. behind a reverse proxy.
"""

from __future__ import annotations

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
