"""IMAP intake (imapclient): IDLE when offered, polling otherwise.

Fetches by UID in batches, in ranges of UIDs claimed in the database so that several
worker processes on one folder split its mail (bot/desk/mailbox_claims.py: UIDVALIDITY,
the last UID handled, the claims and their leases), and marks a mail processed (\\Seen,
or moved to a folder) only after its ticket is committed. A mail that cannot be processed
goes to a quarantine folder. Any dropped connection is logged and retried with backoff.
"""

from __future__ import annotations

import imaplib
import logging
import os
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientError

from bot.config import MailServerURL, Settings
from bot.core import correlation
from bot.core.mail.prepare import IngestResult, Prepared
from bot.desk import intake, mailbox_claims
from bot.desk.pipeline import Pipeline

log = logging.getLogger("bot.imap")

NETWORK_ERRORS = (IMAPClientError, imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError,
                  socket.timeout, ssl.SSLError, EOFError)
# RFC 2177 asks for a new IDLE at least every 29 minutes; renewing every 10 also finds a
# silently dead connection (the DONE then times out) well before that.
IDLE_RENEW_SECONDS = 10 * 60
# Within that, IDLE is left and NOOP asked after 1 s, then 2, 4, ... 30 s (wait_for_mail:
# Dovecot never reports a mail that arrived between the NOOP and IDLE by itself)
IDLE_RECHECK_FIRST_SECONDS = 1.0
IDLE_RECHECK_MAX_SECONDS = 30.0
# The first range a poll claims holds at most this many mails (the others up to
# TICKETBOT_IMAP_BATCH): the first tickets of a full mailbox (at start-up, or after a
# burst) are committed after ten mails are parsed and stored, not a hundred.
FIRST_RANGE = 10
HEADER_ID = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
HOST = socket.gethostname()
_OURS: set[str] = set()  # the claim holders (pollers) made in this process


def log_in(settings: Settings) -> tuple[IMAPClient, bool]:
    """A client logged in to IMAP_URL, its quarantine and processed folders made, the
    folder selected; and whether it will IDLE."""
    url = settings.imap_url
    if url is None:
        raise ValueError("IMAP_URL is not set")
    timeout = settings.imap_timeout
    ctx = ssl.create_default_context()
    client = IMAPClient(url.host, port=url.port, ssl=url.tls, ssl_context=ctx if url.tls else None,
                        timeout=SocketTimeout(connect=timeout, read=timeout))
    try:
        if url.starttls:
            client.starttls(ctx)
        client.login(url.username or "", url.password or "")
        idle = settings.imap_idle and client.has_capability("IDLE")
        for folder in filter(None, (settings.imap_quarantine_folder, settings.imap_processed_folder)):
            if not client.folder_exists(folder):
                client.create_folder(folder)
        client.select_folder(url.path or "INBOX")
    except BaseException:
        _quietly(client.logout)
        raise
    return client, idle


class EarlyLogin:
    """The IMAP login begun in a thread as the worker starts (bot/worker.py serve), while
    it reads the rules and opens the database: the server's greeting, authentication and
    SELECT take a fifth of a second that the first ticket no longer waits for. The
    poller's first connect() takes the client (or the login's error, as its own)."""

    def __init__(self, settings: Settings):
        self._found: tuple[IMAPClient, bool] | BaseException | None = None
        self._done = threading.Event()
        self._taken = False
        self._lock = threading.Lock()
        threading.Thread(target=self._log_in, args=(settings,), name="imap-login", daemon=True).start()

    def _log_in(self, settings: Settings) -> None:
        try:
            found: tuple[IMAPClient, bool] | BaseException = log_in(settings)
        except BaseException as exc:  # told by take(), as connect() would have raised it
            found = exc
        with self._lock:
            self._found = found
            stale = self._taken  # dropped meanwhile: log out
        if stale and isinstance(found, tuple):
            _quietly(found[0].logout)
        self._done.set()

    def take(self) -> tuple[IMAPClient, bool] | BaseException | None:
        """The logged-in client and its IDLE, or the login's error (waits for it)."""
        self._done.wait()
        with self._lock:
            self._taken = True
            return self._found

    def drop(self) -> None:
        """Not used after all (the worker stops first): log out once the login is done."""
        with self._lock:
            self._taken, found = True, self._found
        if isinstance(found, tuple):
            _quietly(found[0].logout)


class IMAPPoller:
    def __init__(self, settings: Settings, pipeline: Pipeline,
                 on_batch: Callable[[list[IngestResult]], None] | None = None,
                 early: EarlyLogin | None = None):
        if settings.imap_url is None:
            raise ValueError("IMAP_URL is not set")
        self.settings = settings
        self.url: MailServerURL = settings.imap_url
        self.folder = self.url.path or "INBOX"
        self.pipeline = pipeline
        self.desk = pipeline.desk
        self.on_batch = on_batch  # told each claimed range's results once it is finished
        self.client: IMAPClient | None = None
        self.idle_supported = False
        self.early = early  # a login begun at start-up, taken by the first connect()
        self.account = f"{self.url.username}@{self.url.host}:{self.url.port}/{self.folder}"
        self.reconnects = 0
        self.idling = threading.Event()  # set while IDLE is active (tests wait on it)
        # who holds a claimed range of UIDs: this host, this process, this poller
        self.worker_id = f"{HOST}/{os.getpid()}/{secrets.token_hex(4)}"
        _OURS.add(self.worker_id)
        self.parsed = 0  # mails fetched whole and parsed by this poller
        # told ("parsing", claim) once a range is fetched and handed to the parser, and
        # ("stored", claim) once its tickets are committed and its mail marked (tests)
        self.on_stage: Callable[[str, mailbox_claims.Claim], None] | None = None
        # the claimed ranges fetched and not finished yet, in claim order (the pipeline: at
        # most two). A lost connection leaves them here, their leases released; the next
        # poll finishes them from memory first (_resume) if they are still this worker's.
        self._inflight: list[_Started] = []

    # ------------------------------------------------------------------ connection
    def connect(self) -> None:
        early, self.early = self.early, None
        found = early.take() if early is not None else None
        if isinstance(found, BaseException):  # the login begun at start-up failed: as if here
            raise found
        self.client, self.idle_supported = found or log_in(self.settings)
        log.info("connected to %s (IDLE %s)", self.url.redacted(),
                 "on" if self.idle_supported else "off: polling")

    def disconnect(self) -> None:
        if self.client is not None:
            _quietly(self.client.logout)
            self.client = None

    def _connected(self) -> IMAPClient:
        """The client; the work below runs only after connect() (run() reconnects on this)."""
        if self.client is None:
            raise ConnectionError(f"not connected to {self.url.redacted()}")
        return self.client

    # ------------------------------------------------------------------ work
    def poll_once(self) -> list[IngestResult]:
        """Handle every mail in the folder not handled yet; returns what happened to each.

        Mail is taken in claimed ranges of UIDs (bot/desk/mailbox_claims.py), so several
        workers on one folder each fetch and parse only their share. With a processed
        folder, everything still in the folder above the mark is unhandled. With \\Seen
        marking, mails above the mark are; of those that were there on first contact with
        the folder, or when its UIDVALIDITY changed, only the unseen ones (already stored
        ones are recognised by Message-ID and only marked).
        """
        client = self._connected()
        client._imap.untagged_responses.clear()  # stale: this poll looks at everything
        status = client.folder_status(self.folder, ["UIDVALIDITY", "UIDNEXT"])
        uidvalidity, uidnext = status[b"UIDVALIDITY"], status[b"UIDNEXT"]
        pos = mailbox_claims.open_folder(self.desk, self.account, uidvalidity, uidnext)
        results = self._resume(uidvalidity)  # what a lost connection interrupted
        uids = sorted(u for u in client.search(["UID", f"{pos.last_uid + 1}:*"]) if u > pos.last_uid)
        if uids and not self.settings.imap_processed_folder and uids[0] <= pos.rescan_to:
            unseen = set(client.search(["UID", f"{uids[0]}:{pos.rescan_to}", "NOT", "SEEN"]))
            uids = [u for u in uids if u > pos.rescan_to or u in unseen]
        # A pipeline of depth 1: the next range is claimed, fetched and handed to the
        # parser processes before the current one is stored, so parsing (and the server)
        # work while this thread writes the database. A range is still marked processed,
        # and its claim done, only after its tickets are committed, in claim order. An
        # exception leaves the unfinished ranges in self._inflight (see _resume).
        # The first range is small (FIRST_RANGE): the first tickets wait for ten mails to
        # be parsed and stored (and, when the parser processes parse it, the next range to
        # be fetched), not for a whole batch.
        size = min(FIRST_RANGE, max(1, self.settings.imap_batch))
        while True:
            claim = mailbox_claims.claim(self.desk, self.account, uidvalidity, uids,
                                         self.worker_id, size, dead=_dead_here,
                                         held=[r.claim.id for r in self._inflight])
            size = max(1, self.settings.imap_batch)
            keep = 0  # ranges left unstored here: the one the parser processes are parsing
            if claim is not None:
                started = _Started(claim, uidvalidity)
                self._inflight.append(started)
                self._start_claim(started, uids)
                # the first range, parsed in this thread while the parser processes start:
                # nothing would run beside its store, so it is stored before the next
                # range is fetched, and its tickets come that much sooner
                keep = 0 if all(c.here for c in started.chunks) else 1
            while len(self._inflight) > keep:
                results.extend(self._finish(self._inflight[0]))
            if claim is None:
                return results

    def _resume(self, uidvalidity: int) -> list[IngestResult]:
        """Finish the ranges a lost connection (or database) interrupted, from memory: the
        mail fetched and parsed is stored, or only marked processed if its tickets were
        committed already, and every result is told as usual. A range still this worker's
        is taken back with a new lease (its lease was released when the connection was
        lost); one another worker took over meanwhile, or of an older UIDVALIDITY, is
        dropped, and so is one not fetched whole (its claim, still this worker's, is
        claimed again below and fetched anew)."""
        results: list[IngestResult] = []
        while self._inflight:
            started = self._inflight[0]
            claim = started.claim
            if not (started.fetched and started.uidvalidity == uidvalidity
                    and mailbox_claims.reclaim(self.desk, self.account, uidvalidity,
                                               claim, self.worker_id)):
                self._inflight.pop(0)
                continue
            log.info("finishing UIDs %d-%d, fetched before the connection was lost",
                     claim.first_uid, claim.last_uid)
            results.extend(self._finish(started))
        return results

    def _release(self) -> None:
        """After a failure: end the leases of the unfinished ranges, so that another worker
        may take them at once while this one reconnects (it takes them back if not)."""
        if not self._inflight:
            return
        try:
            for validity in {r.uidvalidity for r in self._inflight}:
                mailbox_claims.release(self.desk, self.account, validity,
                                       [r.claim.id for r in self._inflight
                                        if r.uidvalidity == validity], self.worker_id)
        except Exception as exc:  # the database is down: the leases run out by themselves
            log.warning("could not release claims %s (%s: %s)",
                        [r.claim.id for r in self._inflight], type(exc).__name__, exc)

    def _finish(self, started: _Started) -> list[IngestResult]:
        """Store the first unfinished range, mark it processed and its claim done; tell."""
        done = self._store(started)
        mailbox_claims.finish(self.desk, self.account, started.uidvalidity, started.claim.id)
        self._inflight.remove(started)
        if done and self.on_batch is not None:  # the range is finished: told after
            self.on_batch(done)
        return done

    def _start_claim(self, started: _Started, found: list[int]) -> None:
        """Fetch the mail of one claimed range and hand it to the parser processes."""
        claim = started.claim
        lo, hi = claim.first_uid, claim.last_uid
        if claim.taken_over:  # what is there now (some may be handled already)
            client = self._connected()
            uids = sorted(u for u in client.search(["UID", f"{lo}:{hi}"]) if lo <= u <= hi)
            if uids and not self.settings.imap_processed_folder and uids[0] <= claim.rescan_to:
                unseen = set(client.search(["UID", f"{uids[0]}:{claim.rescan_to}", "NOT", "SEEN"]))
                uids = [u for u in uids if u > claim.rescan_to or u in unseen]
        else:
            uids = [u for u in found if lo <= u <= hi]
        batch = max(1, self.settings.imap_batch)
        for i in range(0, len(uids), batch):
            chunk = uids[i:i + batch]
            # mail from before first contact, or a range another worker had: some of it
            # may be stored already; Message-ID tells without fetching it whole
            todo = self._skip_known(chunk) if claim.taken_over or chunk[0] <= claim.rescan_to else chunk
            if todo:
                started.chunks.append(self._fetch(todo))
        started.fetched = True
        if self.on_stage is not None:
            self.on_stage("parsing", claim)

    def _store(self, started: _Started) -> list[IngestResult]:
        """Store a started range (waiting for its parse) and mark its mail processed."""
        results: list[IngestResult] = []
        for chunk in started.chunks:
            results.extend(self._handle_parsed(chunk))
        if self.on_stage is not None:
            self.on_stage("stored", started.claim)
        return results

    def _skip_known(self, uids: list[int]) -> list[int]:
        """After a UIDVALIDITY change: mark already-stored mails processed without
        fetching them whole (their Message-ID tells)."""
        heads = self._connected().fetch(uids, [HEADER_ID])
        ids = {}
        for uid, data in heads.items():
            raw = data.get(HEADER_ID.replace(".PEEK", "").encode(), b"") or b""
            mid = raw.split(b":", 1)[1].strip().strip(b"<>").decode("ascii", "replace") if b":" in raw else ""
            if mid:
                ids[uid] = correlation.dedupe_key(mid, "")
        known = intake.stored_keys(self.desk, set(ids.values()))
        done = [u for u, k in ids.items() if k in known]
        if done:
            self._mark_processed(done)
        return [u for u in uids if u not in set(done)]

    def _fetch(self, uids: list[int]) -> _Chunk:
        """Fetch mails whole and hand them to the parser (its result is waited for later)."""
        fetched = self._connected().fetch(uids, ["BODY.PEEK[]"])
        items, order = [], []
        for uid in uids:
            data = fetched.get(uid)
            raw = data.get(b"BODY[]") if data else None
            if raw is None:
                continue  # expunged meanwhile
            items.append((f"imap:{self.folder}/{uid}", bytes(raw)))
            order.append(uid)
        self.parsed += len(items)
        return _Chunk(order, items, self.pipeline.prepare_later(items),
                      here=self.pipeline.parses_here_while_warming(len(items)))

    def _handle_parsed(self, chunk: _Chunk) -> list[IngestResult]:
        """Store a fetched chunk (waiting for its parse), then mark its mail processed.
        Each step is done once: after a failure, a second call goes on where it stopped."""
        order = chunk.uids
        if chunk.results is None:
            if chunk.prepared is None:
                try:
                    chunk.prepared = chunk.parsed()
                except Exception:  # the parser failed: parse again next time
                    items = chunk.items
                    chunk.parsed = lambda: self.pipeline.prepare_many(items)
                    raise
            prepared = chunk.prepared
            # raises if the database is down: nothing marked
            chunk.results = self.pipeline.ingest(chunk.items, parsed=lambda: prepared)
        results = chunk.results
        if not chunk.marked:
            quarantine = [u for u, r in zip(order, results, strict=True) if r.status == "quarantined"]
            done = [u for u, r in zip(order, results, strict=True) if r.status != "quarantined"]
            if done:
                self._mark_processed(done)
            if quarantine:
                self._move(quarantine, self.settings.imap_quarantine_folder)
                log.warning("moved %d unreadable mail(s) to %s", len(quarantine),
                            self.settings.imap_quarantine_folder)
            chunk.marked = True
        return results

    def _mark_processed(self, uids: list[int]) -> None:
        if self.settings.imap_processed_folder:
            self._move(uids, self.settings.imap_processed_folder)
        else:
            self._connected().add_flags(uids, [b"\\Seen"], silent=True)

    def _move(self, uids: Iterable[int], folder: str) -> None:
        uids = list(uids)
        client = self._connected()
        if client.has_capability("MOVE"):
            client.move(uids, folder)
        else:
            client.copy(uids, folder)
            client.add_flags(uids, [b"\\Deleted"], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:
                client.expunge()

    def wait_for_mail(self, stop: threading.Event, seconds: float) -> None:
        """IDLE until the server says something changed (or `seconds`, or stop)."""
        if not self.idle_supported:
            stop.wait(seconds)
            return
        client = self._connected()
        # Dovecot does not report at IDLE's start a mail that arrived since our last
        # command (measured: it waits for the next change or DONE), so ask first (NOOP).
        # What arrives in the round trip between that NOOP and IDLE is not reported
        # either, nor found by the server's own idle check (measured: it compares against
        # the mailbox as it was when IDLE began): only the next change would tell, maybe
        # never. Such a mail arrives typically just after a poll (a burst of mail, a
        # reconnect), so IDLE is left and the NOOP asked again after 1 s, then after
        # 2, 4, ... up to IDLE_RECHECK_MAX_SECONDS: no mail waits longer than that.
        deadline = time.monotonic() + seconds
        period = IDLE_RECHECK_FIRST_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            _, changes = client.noop()
            if any(c[1] in (b"EXISTS", b"RECENT") for c in changes if len(c) > 1):
                return  # mail arrived while we were busy: poll again at once
            if self._idle(client, stop, min(deadline, time.monotonic() + period)):
                return
            period = min(period * 2, IDLE_RECHECK_MAX_SECONDS)

    def _idle(self, client: IMAPClient, stop: threading.Event, until: float) -> bool:
        """IDLE until `until` (monotonic) or stop; True when the server said something."""
        if self._start_idle(client):
            client.idle_done()
            return True
        news = False
        self.idling.set()
        try:
            while not stop.is_set() and time.monotonic() < until:
                wait = min(1.0, max(0.01, until - time.monotonic()))
                began = time.monotonic()
                responses = client.idle_check(timeout=wait)
                if any(r and r[0] == b"BYE" for r in responses):
                    raise ConnectionError(f"server said BYE during IDLE: {responses}")
                if responses:
                    news = True
                    break
                if wait >= 0.5 and time.monotonic() - began < wait / 2:
                    # imapclient swallows EOF in idle_check: the socket was readable
                    # yet no response came, so the server has closed the connection.
                    raise ConnectionError("connection closed during IDLE")
        finally:
            self.idling.clear()
            _, after = client.idle_done()  # what came just before DONE counts too
        return news or any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in after)

    @staticmethod
    def _start_idle(client: IMAPClient) -> bool:
        """Enter IDLE; True when the server reported new mail before it said "+ idling"
        (imapclient's idle() raises on such a response; we take it as news)."""
        imap = client._imap
        tag = client._idle_tag = imap._command("IDLE")
        while imap._get_response() is not None:  # None: the "+ idling" continuation
            if imap.tagged_commands.get(tag):
                raise ConnectionError(f"server refused IDLE: {imap.tagged_commands[tag]}")
        return bool(imap.untagged_responses.pop("EXISTS", None)
                    or imap.untagged_responses.pop("RECENT", None))

    def run(self, stop: threading.Event) -> None:
        """Poll/IDLE until stop is set; reconnect with backoff after any failure."""
        delay = 1.0
        while not stop.is_set():
            try:
                if self.client is None:
                    self.connect()
                while not stop.is_set():
                    self.poll_once()
                    delay = 1.0
                    self.wait_for_mail(stop, IDLE_RENEW_SECONDS if self.idle_supported
                                       else self.settings.imap_poll_seconds)
                break  # stopped
            except NETWORK_ERRORS as exc:
                log.warning("IMAP connection to %s lost (%s: %s); reconnecting in %.0f s",
                            self.url.redacted(), type(exc).__name__, exc, delay)
            except Exception as exc:  # the database may be down: keep the mail, retry
                log.error("IMAP intake failed (%s: %s); retrying in %.0f s",
                          type(exc).__name__, exc, delay)
            self.disconnect()
            self._release()
            self.reconnects += 1
            stop.wait(delay)
            delay = min(60.0, delay * 2)
        self.disconnect()
        if self.early is not None:  # stopped before the first connect
            self.early.drop()
            self.early = None
        log.info("IMAP intake stopped (%s): parsed %d mails", self.worker_id, self.parsed)


@dataclass
class _Chunk:
    """Mails fetched whole (their UIDs and sources) and handed to the parser; then parsed
    (`prepared`), stored (`results`: their tickets are committed) and marked processed."""
    uids: list[int]
    items: list[tuple[str, bytes]]
    parsed: Callable[[], list[Prepared]]
    here: bool = False  # parsed in this thread, the parser processes still starting
    prepared: list[Prepared] | None = None
    results: list[IngestResult] | None = None
    marked: bool = False


@dataclass(eq=False)  # identity: _inflight.remove() takes this one
class _Started:
    """A claimed range being fetched (`fetched` once all of it is) and handed to the
    parser, not finished yet."""
    claim: mailbox_claims.Claim
    uidvalidity: int
    chunks: list[_Chunk] = field(default_factory=list)
    fetched: bool = False


def _dead_here(worker: str) -> bool:
    """Whether the worker holding a claim was a process on this host that is gone (killed,
    crashed): its claim is taken over at once instead of when its lease runs out. (Hosts
    are told apart by name: two hosts, or containers, of one name sharing a mailbox must
    not use the same process numbers.)"""
    host, _, rest = worker.partition("/")
    pid = rest.partition("/")[0]
    if host != HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():  # an earlier process with our number (a restarted container)
        return worker not in _OURS
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # someone else's process: alive
        return False
    return False


def _quietly(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:
        pass
