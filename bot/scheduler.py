"""The `clock` process: APScheduler 3 drives the time-based work.

Jobs live in APScheduler's SQLAlchemy job store in the bot's own database, under fixed
ids, so restarting (or running a second clock by mistake) never duplicates them. Each
job is a *sweep*: it asks the desk for everything due as of now, so the cost does not
grow with the number of tickets and a missed run is caught up by the next one
(coalesce: one catch-up run, not one per missed interval).

The scheduled jobs of rules.yaml (`schedule:`, e.g. the weekly report on Monday 08:00 in
the business time zone) get cron jobs of their own (`ticketbot-open_complaints_report`,
...) so they run on the minute; they too call the sweep, which runs each job once per
cron time (bot/desk/jobs.py), so the cron job and the minute sweep never both send.
"""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.desk import clock_jump, jobs
from bot.desk.context import Desk

log = logging.getLogger("bot.clock")

JOBS_TABLE = "apscheduler_jobs"
SWEEP_JOB = "ticketbot-sweep"

# Jobs are stored as a textual reference to a module-level function; the live desk
# they act on is registered here when the scheduler starts (it cannot be pickled), with
# the guard that holds sweeps while the wall clock has jumped ahead (desk/clock_jump.py).
_desks: dict[str, Desk] = {}
_guards: dict[str, clock_jump.JumpGuard] = {}


def sweep_job(name: str = "default") -> None:
    desk = _desks.get(name)
    if desk is None:
        log.warning("sweep: no desk registered as %r; skipped", name)
        return
    now = desk.clock()
    guard = _guards.setdefault(name, clock_jump.JumpGuard())
    ahead = guard.ahead(now)
    if ahead is not None:
        if guard.held_since is None:
            guard.held_since = now
            log.error("the wall clock jumped %s ahead of the monotonic clock: sweeps are held "
                      "(nothing is sent early) until it comes back; if the new time is right, "
                      "restart the clock process to accept it", ahead)
            with desk.uow.write() as s:
                clock_jump.hold(s, now)
        return
    if guard.held_since is not None:
        log.warning("the wall clock is back (held since %s): sweeps go on", guard.held_since)
        guard.held_since = None
        with desk.uow.write() as s:
            clock_jump.release(s)
    done = jobs.sweep(desk, now)
    if any(done.values()):
        log.info("sweep: %s", ", ".join(f"{n} {k}" for k, n in sorted(done.items()) if n))


def build_scheduler(settings: Settings, desk: Desk, engine: Engine,
                    name: str = "default") -> BackgroundScheduler:
    _desks[name] = desk
    _guards[name] = clock_jump.JumpGuard()  # a new clock process trusts the wall clock
    with desk.uow.write() as s:
        clock_jump.release(s)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=UTC,
    )
    scheduler.add_job(sweep_job, "interval", seconds=settings.sweep_seconds, args=[name],
                      id=SWEEP_JOB, name="sweep due work", replace_existing=True)
    rs = desk.ruleset
    for job in jobs.JOBS:
        cron = (rs.schedule.get(job) or {}).get("cron")
        job_id = f"ticketbot-{job}"
        if cron:
            scheduler.add_job(sweep_job, CronTrigger.from_crontab(cron, timezone=rs.timezone),
                              args=[name], id=job_id, name=job, replace_existing=True,
                              misfire_grace_time=int(jobs.GRACE.total_seconds()))
        else:
            scheduler.add_job(sweep_job, "interval", days=3650, args=[name], id=job_id,
                              replace_existing=True)
            scheduler.remove_job(job_id)  # switched off in rules.yaml: no stale stored job
    return scheduler
