"""Inbound SMTP (aiosmtpd): accepts mail for our domains and spools it durably.

The handler answers 250 only after the mail's bytes are committed to the spool table;
when that fails it answers 451 so the sending server tries again later. A worker
(bot.desk.pipeline.Pipeline.process_spool) turns the spool into tickets.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("bot.smtp_in")

# Replies (RFC 5321 codes with RFC 3463 enhanced status codes).
OK = "250 2.0.0 OK: queued as {id}"  # the mail's reference: `ticketbot mail REF`
RCPT_OK = "250 2.1.5 OK"
NOT_OURS = "550 5.1.1 <{addr}>: no such mailbox here"
NO_RECIPIENTS = "554 5.5.1 no valid recipients"
TRY_LATER = "451 4.3.0 mail not stored, please try again later"


class IntakeHandler:
    """aiosmtpd handler: plain hooks returning SMTP replies; callable without a socket."""

    def __init__(self, store: Callable[[bytes, str], str], domains: frozenset[str],
                 on_stored: Callable[[], None] | None = None):
        self.store = store
        self.domains = frozenset(d.lower() for d in domains)
        self.on_stored = on_stored
        # One writer thread: keeps the event loop free while the database commits.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="smtp-spool")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        domain = address.rpartition("@")[2].lower().rstrip(">")
        if domain not in self.domains:
            log.info("refused recipient %s from %s", address, session.peer)
            return NOT_OURS.format(addr=address)
        envelope.rcpt_tos.append(address)
        return RCPT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not envelope.rcpt_tos:
            return NO_RECIPIENTS
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if data is None:  # aiosmtpd fills the content before this hook; never seen without
            log.error("DATA from %s without content; answered 451", envelope.mail_from)
            return TRY_LATER
        source = f"smtp:{session.peer[0] if session.peer else '?'}"
        loop = asyncio.get_running_loop()
        try:
            ref = await loop.run_in_executor(self._writer, self.store, data, source)
        except Exception as exc:
            log.error("could not spool mail from %s (%s: %s); answered 451",
                      envelope.mail_from, type(exc).__name__, exc)
            return TRY_LATER
        if self.on_stored is not None:
            self.on_stored()
        return OK.format(id=ref)

    def close(self) -> None:
        self._writer.shutdown(wait=True)


class IntakeServer:
    """The SMTP listener: start() binds host:port (0 picks a free port), stop() ends it."""

    def __init__(self, handler: IntakeHandler, host: str, port: int, max_size: int,
                 hostname: str | None = None):
        self.handler = handler
        self.controller = Controller(
            handler, hostname=host, port=port, server_hostname=hostname,
            data_size_limit=max_size, enable_SMTPUTF8=True, decode_data=False,
            ident="ticketbot ESMTP",
        )

    @property
    def port(self) -> int:
        server = self.controller.server  # typed AbstractServer; the loop's create_server gives a Server
        if not isinstance(server, asyncio.Server):
            raise RuntimeError("SMTP intake is not listening: start() it first")
        return server.sockets[0].getsockname()[1]

    def start(self) -> None:
        # aiosmtpd's controller reports a busy port only after its ready timeout; a
        # plain bind first gives a clear error at once.
        host, port = self.controller.hostname, self.controller.port
        if port:
            try:
                socket.create_server((host, port)).close()
            except OSError as exc:
                raise OSError(exc.errno, f"cannot listen for SMTP on {host}:{port}: "
                                         f"{exc.strerror}") from None
        self.controller.start()
        log.info("SMTP intake listening on %s:%s", self.controller.hostname, self.port)

    def stop(self) -> None:
        self.controller.stop()
        self.handler.close()
