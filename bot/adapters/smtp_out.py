"""Outgoing mail transports: an SMTP relay, or .eml files when no relay is set."""

from __future__ import annotations

import logging
import smtplib
import ssl
from pathlib import Path

from bot.config import MailServerURL
from bot.core.mail.invisible import has_invisible
from bot.delivery.transport import PermanentFailure, TemporaryFailure

log = logging.getLogger("bot.smtp_out")


class FileTransport:
    """Writes each mail as DIR/<outbox id>.eml (atomically, via a temp file)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def describe(self) -> str:
        return f"files in {self.directory}"

    def send(self, sender: str, recipients: list[str], data: bytes, name: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.replace(self.directory / f"{name}.eml")
        except OSError as exc:
            raise TemporaryFailure(f"cannot write {self.directory}: {exc}") from exc

    def close(self) -> None:
        pass


class SMTPTransport:
    """Delivers over a relay (smtp://, smtp+starttls://, smtps://), with auth when the URL
    has a user. Keeps one connection open across mails and reconnects when it drops."""

    def __init__(self, url: MailServerURL, timeout: float = 30.0):
        self.url = url
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def describe(self) -> str:
        return self.url.redacted()

    def _connect(self) -> smtplib.SMTP:
        ctx = ssl.create_default_context()
        if self.url.tls:
            conn: smtplib.SMTP = smtplib.SMTP_SSL(self.url.host, self.url.port,
                                                  timeout=self.timeout, context=ctx)
        else:
            conn = smtplib.SMTP(self.url.host, self.url.port, timeout=self.timeout)
        conn.ehlo_or_helo_if_needed()
        if self.url.starttls:
            conn.starttls(context=ctx)
            conn.ehlo()
        if self.url.username:
            conn.login(self.url.username, self.url.password or "")
        return conn

    def send(self, sender: str, recipients: list[str], data: bytes, name: str) -> None:
        hidden = [a for a in (sender, *recipients) if has_invisible(a)]
        if hidden:
            raise PermanentFailure(f"not sent: the address {hidden[0]!r} holds invisible "
                                   "characters (a look-alike of a real address)")
        utf8 = not all(a.isascii() for a in (sender, *recipients))
        for attempt in (1, 2):
            try:
                if self._conn is None:
                    self._conn = self._connect()
                options: list[str] = []
                if utf8:  # checked before MAIL FROM: the connection stays clean
                    if not self._conn.has_extn("smtputf8"):
                        raise PermanentFailure(
                            f"not sent: {', '.join(recipients)} is an internationalised "
                            "address and the relay does not offer SMTPUTF8")
                    options = ["SMTPUTF8"]
                refused = self._conn.sendmail(sender, recipients, data, mail_options=options)
            except smtplib.SMTPServerDisconnected as exc:
                self._conn = None
                if attempt == 2:
                    raise TemporaryFailure(f"relay disconnected: {exc}") from exc
                continue  # a kept connection timed out on the server: reconnect once
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset()
                codes = [code for code, _ in exc.recipients.values()]
                text = "; ".join(f"{r}: {c} {m.decode(errors='replace')}"
                                 for r, (c, m) in exc.recipients.items())
                if all(c >= 500 for c in codes):
                    raise PermanentFailure(text) from exc
                raise TemporaryFailure(text) from exc
            except smtplib.SMTPResponseException as exc:
                self._reset()
                error = exc.smtp_error
                text = f"{exc.smtp_code} {error.decode(errors='replace') if isinstance(error, bytes) else error}"
                if exc.smtp_code >= 500:
                    raise PermanentFailure(text) from exc
                raise TemporaryFailure(text) from exc
            except (TimeoutError, OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
            except UnicodeError as exc:  # an address or header the relay cannot take
                self._drop()  # mid-transaction: never reuse the connection for the next mail
                raise PermanentFailure(f"not sent: {type(exc).__name__}: {exc}") from exc
            except PermanentFailure:
                raise
            except Exception as exc:  # anything else mid-transaction: a clean start next time
                self._drop()
                raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
            if refused:
                raise PermanentFailure(f"refused: {refused}")
            return

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self._conn = None

    def _drop(self) -> None:
        """Forget the connection (closing it quietly): the next mail opens a new one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except (OSError, smtplib.SMTPException):
                pass

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._conn = None


def make_transport(smtp_url: MailServerURL | None, mail_dir: Path, timeout: float = 30.0):
    if smtp_url is None:
        return FileTransport(mail_dir)
    return SMTPTransport(smtp_url, timeout)
