"""The main thread of `ticketbot run` wakes for a stop signal whichever thread the kernel
hands it to (a signal landing on a worker thread once left the bot deaf to SIGTERM)."""

from __future__ import annotations

import signal
import subprocess
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


# Run in a process of its own: with a handler that set the event, the raise below would
# wait forever on the lock the test holds (as a second SIGTERM inside stop.set() did).
_DURING_SET = """
import signal, threading
from bot.worker import note_signals, wait_until_signalled
stop, signalled = threading.Event(), []
note_signals(signalled)
with stop._cond:  # what stop.set() holds while it runs
    signal.raise_signal(signal.SIGTERM)  # the handler runs here, in this thread
    signal.raise_signal(signal.SIGHUP)
assert signalled == [signal.SIGTERM, signal.SIGHUP] and not stop.is_set(), signalled
acted = []
wait_until_signalled(stop, signalled, lambda n: acted.append(n) or stop.set())
assert stop.is_set() and signalled == [] and acted == [signal.SIGTERM, signal.SIGHUP], acted
print("ok")
"""


def test_a_signal_while_the_main_thread_sets_stop_is_noted_and_acted_on_after():
    """bot/worker.py note_signals: the handlers only append; the main thread then acts on
    each signal in turn (wait_until_signalled), outside any handler."""
    res = subprocess.run([sys.executable, "-c", _DURING_SET], capture_output=True, text=True,
                         timeout=HANG)
    assert res.returncode == 0 and res.stdout == "ok\n", res.stderr[-2000:]
