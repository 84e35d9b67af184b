"""The main thread of `ticketbot run` wakes for a stop signal whichever thread the kernel
hands it to (a signal landing on a worker thread once left the bot deaf to SIGTERM)."""

from __future__ import annotations

import signal
import sys
import threading

from bot.app import wait_until_signalled
from tests.conftest import HANG


def test_a_signal_landing_on_another_thread_wakes_the_main_thread():
    stop = threading.Event()
    gave_up = threading.Event()
    old = signal.signal(signal.SIGUSR1, lambda *_: stop.set())

    def main_is_waiting() -> bool:
        frame = sys._current_frames().get(threading.main_thread().ident)
        return frame is not None and frame.f_code.co_name in ("wait", "wait_until_signalled")

    def on_another_thread():
        # signal only once the main thread is blocked, or the main thread would run the
        # handler before it waits and the test would prove nothing
        # (seen waiting five times with the GIL let go between looks: it has blocked)
        seen = 0
        while seen < 5:
            seen = seen + 1 if main_is_waiting() else 0
            stop.wait(0.005)
        # the C handler runs here, in this thread; Python's handler must still run
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
        if not stop.wait(HANG):  # a watchdog, so a failure is a failure and not a hang
            gave_up.set()
            stop.set()
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)

    sender = threading.Thread(target=on_another_thread)
    try:
        sender.start()
        wait_until_signalled(stop)
    finally:
        sender.join()
        signal.signal(signal.SIGUSR1, old)
    assert stop.is_set() and not gave_up.is_set()


def test_a_stop_already_set_returns_at_once():
    stop = threading.Event()
    stop.set()
    wait_until_signalled(stop)
    assert signal.set_wakeup_fd(-1) == -1  # the wake-up fd was handed back
