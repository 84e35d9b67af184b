"""The bench's relay: a lean SMTP sink that accepts every mail, counts it and keeps only
its envelope (ESMTP with PIPELINING, 8BITMIME and SMTPUTF8; no TLS, no AUTH).

Why not the tests' aiosmtpd sink (tests/support/sink.py): the bench runs on the same two
cores as the worker it times, and aiosmtpd spends about 1.3 ms of CPU on each mail it
accepts (it parses every address with the email package's header parser), a tenth of
what the worker spends on the whole mail: the relay's own cost was counted against the
worker. A real relay runs on another machine. This one reads the SMTP dialogue as bytes
and answers it, so the mail's text is never parsed.

It answers what a relay answers to a well-formed client: 220, EHLO/HELO, MAIL, RCPT
(250), DATA (354, then 250 after the lone dot), RSET, NOOP, QUIT; anything else 502.
A mail is counted when the end of its DATA is read; its 250 goes out in the same write.
"""

from __future__ import annotations

import asyncio
import threading

from tests.support.servers import free_port

_EHLO = (b"250-bench-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
         b"250 SIZE 52428800\r\n")


class _Session(asyncio.Protocol):
    def __init__(self, sink: LeanSink):
        self.sink = sink
        self.buf = bytearray()
        self.in_data = False
        self.rcpts = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        transport.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buf += data
        out = bytearray()
        while True:
            if self.in_data:
                # the mail ends at a line holding one dot (DATA put a line end before
                # the first line, so an empty mail ends the same way)
                end = self.buf.find(b"\r\n.\r\n")
                if end < 0:
                    if len(self.buf) > 4:  # keep what may be the start of the end marker
                        del self.buf[:-4]
                    break
                del self.buf[:end + 5]
                self.in_data = False
                self.sink._accepted(self.rcpts)
                self.rcpts = 0
                out += b"250 2.0.0 OK\r\n"
                continue
            nl = self.buf.find(b"\r\n")
            if nl < 0:
                break
            line = bytes(self.buf[:nl])
            del self.buf[:nl + 2]
            verb = line[:4].upper()
            if verb == b"EHLO":
                out += _EHLO
            elif verb == b"HELO":
                out += b"250 bench-sink\r\n"
            elif verb == b"MAIL":
                self.rcpts = 0
                out += b"250 2.1.0 OK\r\n"
            elif verb == b"RCPT":
                self.rcpts += 1
                out += b"250 2.1.5 OK\r\n"
            elif verb == b"DATA":
                self.in_data = True
                self.buf[:0] = b"\r\n"
                out += b"354 End data with <CR><LF>.<CR><LF>\r\n"
            elif verb in (b"RSET", b"NOOP"):
                self.rcpts = 0 if verb == b"RSET" else self.rcpts
                out += b"250 2.0.0 OK\r\n"
            elif verb == b"QUIT":
                out += b"221 2.0.0 Bye\r\n"
                assert self.transport is not None
                self.transport.write(bytes(out))
                self.transport.close()
                return
            else:
                out += b"502 5.5.2 not implemented\r\n"
        if out:
            assert self.transport is not None
            self.transport.write(bytes(out))


class LeanSink:
    """Start with `with LeanSink() as sink:`; `sink.url` for SMTP_URL, `sink.count` the
    mails accepted so far, `sink.recipients` their recipients."""

    def __init__(self) -> None:
        self.port = free_port()
        self.count = 0
        self.recipients = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _accepted(self, rcpts: int) -> None:
        with self._lock:
            self.count += 1
            self.recipients += rcpts

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(
                loop.create_server(lambda: _Session(self), "127.0.0.1", self.port))
        except BaseException as exc:  # the port was taken meanwhile: say so in start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            loop.run_until_complete(server.wait_closed())
            loop.close()

    def start(self) -> LeanSink:
        self._thread = threading.Thread(target=self._run, name="bench-sink", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def __enter__(self) -> LeanSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
