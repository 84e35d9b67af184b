"""Wiring: builds the desk and its adapters from Settings, and runs them.

`ticketbot run` runs every part in one process (the embedded default); the Procfile's
`worker` runs the intake (IMAP, SMTP, spool) and the outbox sender (bot/worker.py, which
`ticketbot worker` runs alone unless Slack is in Socket Mode: its listeners run in the
worker), `web` the web face and Slack's HTTP endpoint, `clock` the scheduler.
"""

from __future__ import annotations

import logging
import threading

from bot.adapters.slack_app import build_app, mount_http, start_socket_mode
from bot.adapters.web import WebServer, create_app
from bot.config import Settings
from bot.desk import jobs
from bot.desk.context import Desk
from bot.desk.slack_desk import SlackDesk
from bot.scheduler import SWEEP_JOB, build_scheduler
from bot.worker import (
    OUTBOX_MIN_WAIT,
    OUTBOX_POLL,
    Worker,
    ready_line,
    serve,
    wait_until_signalled,
    watch_rules,
)

log = logging.getLogger("bot.app")

__all__ = ["OUTBOX_MIN_WAIT", "OUTBOX_POLL", "PARTS", "Worker", "ready_line", "run_forever",
           "wait_until_signalled", "watch_rules"]

PARTS = ("worker", "web", "clock")


def _socket_mode(slack_app, settings: Settings, stop: threading.Event, holder: list) -> None:
    """Connect Socket Mode, retrying with backoff while Slack cannot be reached: mail
    intake and delivery go on meanwhile (Slack posts wait in the outbox)."""
    token = settings.slack_app_token or ""
    delay = 5.0
    while not stop.is_set():
        try:
            holder.append(start_socket_mode(slack_app, token))
            return
        except Exception as exc:
            log.error("Slack Socket Mode: cannot connect (%s); next try in %.0f s",
                      type(exc).__name__, delay)
            stop.wait(delay)
            delay = min(300.0, delay * 2)


def run_forever(settings: Settings, parts: tuple[str, ...] = PARTS) -> int:
    """Run the given Procfile parts in this process until SIGTERM or SIGINT."""

    def more(desk: Desk, stop: threading.Event, stoppers: list) -> None:
        slack_app = None
        if settings.slack_enabled:
            slack_app = build_app(settings, SlackDesk(desk))
        if "web" in parts:
            webapp = create_app(desk)
            if slack_app is not None and settings.slack_mode == "http":
                mount_http(webapp, slack_app, settings)
                log.info("Slack: events at /slack/events (HTTP mode)")
            web = WebServer(webapp, *settings.web_listen)
            stoppers.append(web.stop)
            web.start()
            log.info("web face at %s (sign in with the address rules.yaml has for you)",
                     settings.public_url)
        if "worker" in parts and slack_app is not None and settings.slack_mode == "socket":
            holder: list = []
            threading.Thread(target=_socket_mode, args=(slack_app, settings, stop, holder),
                             name="slack-socket", daemon=True).start()
            stoppers.append(lambda: [h.close() for h in holder])
        if "clock" in parts:
            scheduler = build_scheduler(settings, desk, desk.sessions.kw["bind"])
            # the first busy sweep's one-off work, beside the scheduler's start
            threading.Thread(target=jobs.warm, args=(desk,), name="clock-warm", daemon=True).start()
            scheduler.start()
            stoppers.append(lambda: scheduler.shutdown(wait=True))
            log.info("clock started: sweep every %s s; %s", settings.sweep_seconds,
                     "; ".join(f"{job.name} next at {job.next_run_time.astimezone(desk.tz):%Y-%m-%d %H:%M %Z}"
                               for job in scheduler.get_jobs() if job.id != SWEEP_JOB)
                     or "no scheduled reports")

    return serve(settings, parts, more)
