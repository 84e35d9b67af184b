"""The `clock` process: APScheduler 3 drives the time-based work.

Jobs live in APScheduler's SQLAlchemy job store in the bot's own database, under fixed
ids, so restarting (or running a second clock by mistake) never duplicates them. Each
job is a *sweep*: it asks the service for everything due as of now, so the cost does not
grow with the number of tickets and a missed run is caught up by the next one
(coalesce: one catch-up run, not one per missed interval).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.config import Settings

log = logging.getLogger("bot.clock")

JOBS_TABLE = "apscheduler_jobs"
SWEEP_JOB = "ticketbot-sweep"

# Jobs are stored as a textual reference to a module-level function; the live service
# they act on is registered here when the scheduler starts (it cannot be pickled).
_services: dict[str, object] = {}


def sweep_job(name: str = "default") -> None:
    service = _services.get(name)
    if service is None:
        log.warning("sweep: no service registered as %r; skipped", name)
        return
    done = service.sweep(datetime.now(timezone.utc))
    if done:
        log.info("sweep: %s", ", ".join(f"{n} {k}" for k, n in sorted(done.items())))


def build_scheduler(settings: Settings, service, engine, name: str = "default") -> BackgroundScheduler:
    _services[name] = service
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=timezone.utc,
    )
    scheduler.add_job(sweep_job, "interval", seconds=settings.sweep_seconds, args=[name],
                      id=SWEEP_JOB, name="sweep due work", replace_existing=True)
    return scheduler
