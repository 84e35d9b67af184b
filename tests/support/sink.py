"""An aiosmtpd sink: the outgoing relay in tests. Records what it receives, and can be
told to answer with a failure code for the next N mails."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from tests.support.servers import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    fail_with: str | None = None  # e.g. "451 4.3.0 busy" or "550 5.1.1 no such user"
    fail_count: int = 0
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):
        if self.fail_count > 0:
            self.fail_count -= 1
            return self.fail_with
        with self.arrived:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content))
            self.arrived.notify_all()
        return "250 2.0.0 OK"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= n, timeout), \
                f"only {len(self.received)} of {n} mails arrived"
            return list(self.received)


class Sink:
    def __init__(self, port: int | None = None, smtputf8: bool = False):
        self.port = port or free_port()
        self.handler = SinkHandler()
        self.controller: Controller | None = None
        self.smtputf8 = smtputf8  # offer SMTPUTF8 (internationalised addresses)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> Sink:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     enable_SMTPUTF8=self.smtputf8)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
