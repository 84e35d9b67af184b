"""Inbound SMTP (aiosmtpd): accepts mail for our domains and spools it durably.

The handler answers 250 only after the mail's bytes are committed to the spool table;
when that fails it answers 451 so the sending server tries again later. A worker
(bot.desk.pipeline.Pipeline.process_spool) turns the spool into tickets.

One writer thread commits the spool, and commits together what arrived together (group
commit): the mails of several connections that finish their DATA while a commit runs
are written in the next single transaction, each answered once it is in. A group that
fails is tried again mail by mail, so only a mail that cannot be stored gets its 451.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import socket
import threading
from collections.abc import Callable, Sequence

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("bot.smtp_in")

# Replies (RFC 5321 codes with RFC 3463 enhanced status codes).
OK = "250 2.0.0 OK: queued as {id}"  # the mail's reference: `ticketbot mail REF`
RCPT_OK = "250 2.1.5 OK"
NOT_OURS = "550 5.1.1 <{addr}>: no such mailbox here"
NO_RECIPIENTS = "554 5.5.1 no valid recipients"
TRY_LATER = "451 4.3.0 mail not stored, please try again later"
GROUP = 50  # mails committed in one transaction at most
GROUP_BYTES = 64 * 1024 * 1024  # ... and their bytes (a group of large mails stays well
# under PostgreSQL's 1 GB message; a single larger mail goes alone)


class IntakeHandler:
    """aiosmtpd handler: plain hooks returning SMTP replies; callable without a socket.

    ``store(raw, source) -> ref`` commits one mail; ``store_many([(raw, source), ...]) ->
    [ref, ...]`` (optional) commits several in one transaction, for group commit."""

    def __init__(self, store: Callable[[bytes, str], str], domains: frozenset[str],
                 on_stored: Callable[[], None] | None = None,
                 store_many: Callable[[Sequence[tuple[bytes, str]]], list[str]] | None = None):
        self.store = store
        self.store_many = store_many
        self.domains = frozenset(d.lower() for d in domains)
        self.on_stored = on_stored
        # One writer thread: keeps the event loop free while the database commits.
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()  # no mail is handed over behind close()'s sentinel
        self._writer = threading.Thread(target=self._write_loop, name="smtp-spool", daemon=True)
        self._writer.start()

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
        done: asyncio.Future = loop.create_future()
        with self._lock:
            if self._closed or not self._writer.is_alive():
                log.error("mail from %s while the spool writer is stopped; answered 451",
                          envelope.mail_from)
                return TRY_LATER
            self._queue.put((data, source, loop, done))
        try:
            ref = await done
        except Exception as exc:
            log.error("could not spool mail from %s (%s: %s); answered 451",
                      envelope.mail_from, type(exc).__name__, exc)
            return TRY_LATER
        if self.on_stored is not None:
            self.on_stored()
        return OK.format(id=ref)

    def close(self) -> None:
        """Stop the writer once the mails handed to it are stored."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._writer.join()

    # ------------------------------------------------------------------ the writer
    def _write_loop(self) -> None:
        carry = None  # taken from the queue for a group it did not fit in: starts the next
        while True:
            first, carry = (carry, None) if carry is not None else (self._queue.get(), None)
            if first is None:
                return
            group, stop, size = [first], False, len(first[0])
            while len(group) < GROUP:  # what else arrived meanwhile goes in the same commit
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if size + len(item[0]) > GROUP_BYTES:
                    carry = item
                    break
                group.append(item)
                size += len(item[0])
            try:
                outcomes = self._store_group(group)
                if len(outcomes) != len(group):
                    raise RuntimeError(f"{len(outcomes)} references for {len(group)} mails")
            except BaseException as exc:  # noqa: BLE001 - the writer must live on: 451 for all
                log.exception("spooling %d mails failed", len(group))
                outcomes = [RuntimeError(f"spool writer: {exc!r}")] * len(group)
            for (_, _, loop, done), outcome in zip(group, outcomes, strict=True):
                try:
                    loop.call_soon_threadsafe(_settle, done, outcome)
                except RuntimeError:  # the listener's loop is closed: nobody waits for the answer
                    pass
            if stop:
                return

    def _store_group(self, group: list) -> list[str | BaseException]:
        """Each mail's reference, or the error that kept it out of the spool."""
        items = [(data, source) for data, source, _, _ in group]
        if self.store_many is not None:
            try:
                return list(self.store_many(items))
            except Exception as exc:  # noqa: BLE001 - answered 451 below, or mail by mail
                if len(items) == 1:
                    return [exc]
                log.warning("spooling %d mails at once failed (%s: %s); storing them one by one",
                            len(items), type(exc).__name__, exc)
        out: list[str | BaseException] = []
        for data, source in items:
            try:
                out.append(self.store(data, source))
            except Exception as exc:  # noqa: BLE001 - this mail gets its 451
                out.append(exc)
        return out


def _settle(done: asyncio.Future, outcome: str | BaseException) -> None:
    if done.cancelled():  # the connection went away meanwhile; the mail is stored or not
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


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
