"""The daily digest (rules.yaml per person `notify: digest`, `digest_at: "08:30"`): the
notices held for a person (bot/desk/notify.py `notice`: new tickets, advisor copies,
SLA reminders) go as one message a day, on the person's channel, in their language.

When: at `digest_at` in the desk's time zone, on the business days of the desk's
calendar (`defaults: calendar`; Monday to Friday without one); what is held over a
weekend or a holiday goes in the next business day's digest. The clock process's sweep
calls `run_due` every minute; the key "digest:PERSON@DATE" in `run_once`, claimed in the
same transaction as the digest it queues, makes it once per person per day whoever
sweeps (a second clock, a restart). A day missed while the clock was down is made up at
the next run: nothing held is ever dropped. Urgent tickets, escalations (SLA breaches),
sign-in links, refusals and the scheduled reports never wait for a digest."""

from __future__ import annotations

import logging
from datetime import datetime, time

from sqlalchemy import select

from bot.core.time.humanize import format_date, when
from bot.desk import notify
from bot.desk.context import Desk
from bot.desk.sla_state import insert_once
from bot.store.models import DigestItem, RunOnce

log = logging.getLogger("bot.jobs")


def _due_today(desk: Desk, at: str, now: datetime) -> bool:
    """Whether a digest at `at` (HH:MM, desk time) is due on the local day of `now`."""
    local = now.astimezone(desk.tz)
    hour, minute = map(int, at.split(":"))
    if local.time() < time(hour, minute):
        return False
    cal = desk.ruleset.calendars.get(desk.ruleset.default_calendar)
    return cal.is_business_day(local.date()) if cal is not None else local.weekday() < 5


def run_due(desk: Desk, now: datetime, rehearse: bool = False) -> int:
    """Send every digest due as of `now`; returns how many went (or would go)."""
    rs = desk.ruleset
    sent = 0
    for person in rs.people.values():
        if person.notify != "digest" or not person.digest_at or not _due_today(desk, person.digest_at, now):
            continue
        day = now.astimezone(desk.tz).date()
        key = f"digest:{person.key}@{day.isoformat()}"
        with (desk.uow.read() if rehearse else desk.uow.write()) as s:
            if s.get(RunOnce, key) is not None:
                continue
            items = s.scalars(select(DigestItem).where(DigestItem.person == person.key,
                                                       DigestItem.sent_at.is_(None))
                              .order_by(DigestItem.id)).all()
            if rehearse:
                sent += bool(items)
                continue
            if not insert_once(s, RunOnce.__table__, {"key": key, "at": now}):
                continue  # another clock sends it
            if not items:  # nothing held: the day's digest is done (later notices wait for tomorrow's)
                continue
            lang = rs.language_of(person)
            row = notify.tell(s, desk, person, now, purpose="digest", template="digest", context={
                "count": len(items), "date": format_date(day, lang),
                "items": [{"at": when(i.created_at, desk.tz, lang), "subject": i.subject,
                           "text": i.body_text.strip()} for i in items]})
            s.flush()
            for i in items:
                i.sent_at, i.outbox_id = now, row.id
            claimed = s.get(RunOnce, key)
            if claimed is not None:
                claimed.detail = {"sent": len(items), "outbox": row.id}
            sent += 1
            log.info("digest for %s on %s: %d notice(s)", person.key, day, len(items))
    return sent
