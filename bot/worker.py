"""The worker process: the intake (IMAP, SMTP, spool) and the outbox sender, and the life
of a long-running process (signals, the rules watcher, the ready line).

`ticketbot worker` runs this module alone (bot/commands/worker.py): it imports neither
the web face (Flask), nor Slack's listeners (Slack Bolt), nor the clock (APScheduler), so
the worker starts, and takes in its first mail, sooner. `ticketbot run` and the other
Procfile parts add those in bot/app.py.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.adapters.imap import EarlyLogin, IMAPPoller
from bot.adapters.rules_file import RulesHolder
from bot.adapters.smtp_in import IntakeHandler, IntakeServer
from bot.config import Settings
from bot.delivery.outbox import LANES
from bot.desk import intake, webhooks
from bot.desk.context import Desk
from bot.desk.pipeline import Pipeline, start_parser_server
from bot.wiring import build_sender, open_desk

log = logging.getLogger("bot.app")

OUTBOX_POLL = 5.0  # seconds: an idle lane looks at the table this often (other processes' rows)
OUTBOX_MIN_WAIT = 0.05  # seconds: the shortest sleep of a lane between two claims


def watch_rules(desk: Desk, stop: threading.Event, hup: threading.Event,
                every: float = 2.0) -> None:
    """Apply an edited rules file to the next message: on SIGHUP at once, else when the
    file's stamp changes (checked every `every` seconds)."""
    holder = desk.rules
    if not isinstance(holder, RulesHolder):
        return
    while not stop.is_set():
        try:
            if hup.wait(every):
                hup.clear()
                changed = not stop.is_set() and holder.reload()
            else:
                changed = holder.check()
            if changed:
                webhooks.sync_configured(desk)
        except Exception:  # this thread must outlive any surprise: it is the only reloader
            log.exception("rules watcher: unexpected error; still watching")


@dataclass
class Worker:
    """The intake and delivery threads of one process."""

    settings: Settings
    desk: Desk
    stop: threading.Event = field(default_factory=threading.Event)
    spool_ready: threading.Event = field(default_factory=threading.Event)
    # one wake-up per outbox lane (delivery/outbox.py LANES): set after every commit
    lane_ready: dict[str, threading.Event] = field(
        default_factory=lambda: {lane: threading.Event() for lane in LANES})
    threads: list[threading.Thread] = field(default_factory=list)
    smtp_server: IntakeServer | None = None
    imap: IMAPPoller | None = None
    imap_login: EarlyLogin | None = None  # begun by serve(), taken by the poller

    def __post_init__(self) -> None:
        self.pipeline = Pipeline(self.desk)
        # a lane wakes when a commit wrote rows of its channels (not on every commit: the
        # outbox's own claims and the intake's other writes leave the lanes asleep)
        self.desk.uow.track_outbox(self.wake_outbox)
        self.sender = build_sender(self.settings, self.desk)

    def _thread(self, name: str, target) -> None:
        t = threading.Thread(target=self._guard, args=(name, target), name=name, daemon=True)
        self.threads.append(t)
        t.start()

    def _guard(self, name: str, target) -> None:
        while not self.stop.is_set():
            try:
                target()
                return
            except Exception:
                log.exception("%s stopped unexpectedly; restarting in 5 s", name)
                self.stop.wait(5)

    def spool_loop(self) -> None:
        drain = self.pipeline.spool_drain()  # the next batch parsed while this one is stored
        while not self.stop.is_set():
            if not drain.step():
                self.spool_ready.wait(5.0)
                self.spool_ready.clear()

    def wake_outbox(self, channels: set[str] | None = None) -> None:
        """Wake the lanes that deliver these channels (all: None, or "*" among them)."""
        for lane, ready in self.lane_ready.items():
            if channels is None or "*" in channels or not channels.isdisjoint(LANES[lane]):
                ready.set()

    def outbox_loop(self, lane: str) -> None:
        """Deliver one lane's rows (mail, or Slack) as they come due.

        The lane keeps the time its next row comes due in memory and claims only then,
        or when a commit wrote rows of its channels; otherwise it sleeps (a look at the
        table every OUTBOX_POLL seconds finds what other processes queued). No write
        transaction when nothing is due."""
        ready = self.lane_ready[lane]
        sender = self.sender
        nxt = sender.next_due_at(lane, self.desk.clock())
        while not self.stop.is_set():
            now = self.desk.clock()
            if nxt is not None and nxt <= now:
                counts = sender.run_once(now, lane=lane)
                if sum(counts.values()):
                    continue  # a full batch, or more due meanwhile: claim again
                nxt = sender.next_due_at(lane, now)
            wait = OUTBOX_POLL if nxt is None else \
                max(OUTBOX_MIN_WAIT, min(OUTBOX_POLL, (nxt - now).total_seconds()))
            if ready.wait(wait):
                ready.clear()
                nxt = self.desk.clock()  # new rows of this lane: due now, as a rule
            elif nxt is None or nxt > self.desk.clock():
                nxt = sender.next_due_at(lane, self.desk.clock())  # the periodic look

    def warm(self) -> None:
        """The first mail's one-off work, done ahead (intake.warm); never fatal."""
        try:
            intake.warm(self.desk)
        except Exception as exc:  # e.g. a template missing: the first mail then says so
            log.info("intake not warmed up ahead (%s: %s)", type(exc).__name__, exc)

    def start(self, smtp: bool = True, imap: bool = True) -> None:
        if smtp:
            desk = self.desk
            handler = IntakeHandler(lambda raw, source: intake.spool(desk, raw, source),
                                    self.settings.accepted_domains,
                                    on_stored=self.spool_ready.set,
                                    store_many=lambda mails: intake.spool_many(desk, mails))
            host, port = self.settings.smtp_listen
            server = IntakeServer(handler, host, port, self.settings.smtp_max_size)
            server.start()
            self.smtp_server = server
        self._thread("parsers", self.pipeline.warm)
        self._thread("warm", self.warm)
        self._thread("spool", self.spool_loop)
        for lane in LANES:
            self._thread(f"outbox-{lane}", lambda lane=lane: self.outbox_loop(lane))
        early, self.imap_login = self.imap_login, None
        if imap and self.settings.imap_url is not None:
            self.imap = IMAPPoller(self.settings, self.pipeline, early=early)
            self._thread("imap", lambda: self.imap.run(self.stop))
        elif early is not None:
            early.drop()
        log.info("worker started: SMTP %s, IMAP %s, outgoing mail to %s",
                 "{}:{}".format(*self.settings.smtp_listen) if smtp else "off",
                 self.settings.imap_url.redacted() if self.settings.imap_url else "off",
                 self.sender.transports["mail"].describe())

    def shutdown(self) -> None:
        self.stop.set()
        self.spool_ready.set()
        self.wake_outbox()
        if self.smtp_server is not None:
            self.smtp_server.stop()
        for t in self.threads:
            t.join(timeout=30)
        self.pipeline.close()
        for transport in self.sender.transports.values():
            transport.close()


def ready_line(settings: Settings, parts: tuple[str, ...]) -> str:
    """The one line that ends start-up: ready, on which addresses, what to try next."""
    where = []
    if "worker" in parts:
        where.append("mail in on smtp://{}:{}".format(*settings.smtp_listen))
        if settings.imap_url is not None:
            where.append(f"IMAP {settings.imap_url.redacted()}")
    if "web" in parts:
        where.append(f"web face on {settings.public_url}")
    if "clock" in parts:
        where.append("clock running")
    line = "ticketbot is ready: " + ", ".join(where or ["nothing to run"])
    if "worker" in parts:
        line += ". Next, in a second terminal: .venv/bin/ticketbot send-test-mail"
    return line


def note_signals(signalled: list[int]) -> None:
    """This process's handlers for SIGTERM, SIGINT and SIGHUP: each only appends the
    signal's number to `signalled`, for the main thread to act on (wait_until_signalled).
    Python runs a handler in the main thread between two bytecodes, possibly inside
    stop.set() or hup.set() itself, whose lock a set() from the handler would then wait
    on forever: a second SIGTERM once hung the worker so. Appending takes no lock."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: signalled.append(number))


def wait_until_signalled(stop: threading.Event, signalled: list[int] | None = None,
                         act: Callable[[int], None] | None = None) -> None:
    """Block the main thread until `stop` is set: by `act`, which this calls (here, in
    the main thread, outside any handler) for each signal number the handlers appended to
    `signalled`, or by a handler itself.

    A plain `stop.wait()` can sleep through SIGTERM: the kernel may hand the signal to
    any thread, and then only a flag is set while the main thread (the one that runs
    Python's handlers) stays blocked on its lock. The wake-up fd is written by the C
    handler in whichever thread the signal lands, so the main thread wakes, runs the
    handler and looks again."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    old = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    try:
        while True:
            while signalled and act is not None:  # noted before the wait, or while waiting
                act(signalled.pop(0))
            if stop.is_set():
                break
            select.select([r], [], [])
            with contextlib.suppress(BlockingIOError):
                os.read(r, 512)
    finally:
        signal.set_wakeup_fd(old)
        os.close(r)
        os.close(w)


def settle_heap() -> None:
    """Once a long-running process has started: move what it built to start (modules,
    the rules, templates, the kind model: objects that live as long as the process) out
    of the cyclic garbage collector's passes (gc.freeze; reference counting still frees
    them), and turn the collector back on.

    Only when the entry point held the collector off for start-up (bot/cli.py main does
    for `run`, `worker`, `web` and `clock`): a test that serves in its own process keeps
    its collector as it is. Measured in one process, 1,000 mails stored on SQLite: the
    collector's time 0.47-0.53 s -> 0.12-0.17 s. (Rarer young collections as well, every
    5,000 new objects instead of 700, saved 0.07 ms a mail more but held 13 MB more at the
    peak over SMTP: left.)"""
    if gc.isenabled():
        return
    gc.freeze()
    gc.enable()
    log.info("started: %d objects kept out of the garbage collector's passes",
             gc.get_freeze_count())


# What a process runs besides the worker (bot/app.py: the web face, Slack, the clock):
# called with the desk, the stop event and the list of stoppers to append to.
More = Callable[[Desk, threading.Event, list], None]


def serve(settings: Settings, parts: tuple[str, ...], more: More | None = None) -> int:
    """Run the given Procfile parts in this process until SIGTERM or SIGINT: the worker
    when "worker" is among them, and whatever `more` starts."""
    early = None
    if "worker" in parts:
        start_parser_server(settings)  # beside the rules and the database check, not after
        if settings.imap_url is not None:  # so is the IMAP login
            early = EarlyLogin(settings)
    try:
        desk = open_desk(settings, rules=True)
    except BaseException:
        if early is not None:
            early.drop()
        raise
    stop = threading.Event()
    hup = threading.Event()
    stoppers: list = []

    signalled: list[int] = []  # noted by the handlers, acted on in wait_until_signalled

    def _act(signum: int) -> None:
        if signum == signal.SIGHUP:
            hup.set()
            return
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()
        hup.set()

    note_signals(signalled)
    watcher = threading.Thread(target=watch_rules, args=(desk, stop, hup), name="rules",
                               daemon=True)
    watcher.start()
    log.info("rules: %s (%d rules, %d people)", settings.rules_path,
             len(desk.ruleset.rules), len(desk.ruleset.people))
    try:
        if "worker" in parts:
            worker = Worker(settings, desk, stop=stop, imap_login=early)
            stoppers.append(worker.shutdown)
            worker.start()
        if more is not None:
            more(desk, stop, stoppers)
        settle_heap()
        print(ready_line(settings, parts), flush=True)
        wait_until_signalled(stop, signalled, _act)
    finally:
        stop.set()
        for fn in reversed(stoppers):
            try:
                fn()
            except Exception:
                log.exception("error while stopping")
    return 0
