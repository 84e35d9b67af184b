"""Scheduled jobs (rules.yaml `schedule:`): the weekly open-complaints report and the
contracts-ending lists. Service layer; `now` passed in.

Each job runs once per cron time: the run claims the key "JOB@TIME" in `run_once` in the
same transaction as the mail it queues, so the APScheduler cron job, the minute sweep
and a second clock process can all call `run_due` and only the first one sends. A run
missed by downtime is made up once when the clock comes back, within GRACE; older ones
are skipped (and logged) rather than sent days late.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.core import analysis, report
from bot.core.contracts import add_months
from bot.core.domain import Channel, ContractStatus, OutboxStatus
from bot.core.mail.compose import new_message_id
from bot.core.render import STAFF_LANGUAGES
from bot.core.time.humanize import format_date, short_when
from bot.desk import clock_jump, digest, holds, notify, queries, reports, sla_state, slack_posts
from bot.desk.actor import Actor
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.sla_state import insert_once
from bot.store.models import Company, Contact, Contract, Outbox, RunOnce

log = logging.getLogger("bot.jobs")

GRACE = timedelta(hours=24)
JOBS = ("open_complaints_report", "contracts_ending", "monthly_report", "invoice_holds_export")
# jobs that run every working day and usually have nothing to send: a sweep reports them
# only when they sent something
QUIET = frozenset({"invoice_holds_export"})


# (cron, tz) -> (a fire time, the next one after it): the clock asks every minute, and
# the answer changes only when the next fire time has come
_FIRES: dict[tuple[str, str], tuple[datetime, datetime | None]] = {}


def last_fire(cron: str, tz: str, now: datetime) -> datetime | None:
    """The latest time at or before `now` the crontab line fires (aware, in tz)."""
    known = _FIRES.get((cron, tz))
    if known is not None and known[0] <= now and (known[1] is None or now < known[1]):
        return known[0]
    trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(tz))
    last = _last_fire(trigger, now)
    if last is not None:
        _FIRES[(cron, tz)] = (last, trigger.get_next_fire_time(last, last + timedelta(seconds=1)))
    return last


def _last_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    for window in (timedelta(hours=2), timedelta(days=2), timedelta(days=9), timedelta(days=32),
                   timedelta(days=367)):
        t = trigger.get_next_fire_time(None, now - window)
        if t is None or t > now:
            continue
        last = t
        while True:
            nxt = trigger.get_next_fire_time(last, last + timedelta(seconds=1))
            if nxt is None or nxt > now:
                return last
            last = nxt
    return None


# how far past the clock a sweep may be asked to run: the same bound as a clock jump
AHEAD = clock_jump.AHEAD


def warm(desk: Desk) -> None:
    """The clock's start-up: do now the one-off work the first sweep with something due
    would otherwise do (a quarter of a second of the 1,000-escalation sweep:
    docs/performance.md): this year's holidays of the business calendars and the SLA
    notices' templates, compiled. Writes nothing; never fatal."""
    try:
        sla_state.warm_calendars(desk)
        for name in ("sla-remind", "sla-breach"):
            for language in STAFF_LANGUAGES:
                desk.renderer.mail_templates(name, language)
    except Exception as exc:  # e.g. a template missing: the sweep that needs it says so
        log.info("clock not warmed up ahead (%s: %s)", type(exc).__name__, exc)


def sweep(desk: Desk, now: datetime, rehearse: bool = False) -> dict[str, int]:
    """Everything time-based that is due as of `now` (the clock process calls this
    every minute; `ticketbot sweep --now` runs it by hand): SLA reminders and
    escalations, then the scheduled jobs (weekly report, contracts ending) whose
    time has come. Each notice and each job run happens exactly once.

    A sweep records what it sends, so one asked for a moment ahead of the clock would
    mark notices sent that are not due yet, and the real ones would never go: beyond
    AHEAD it is refused, unless it is a rehearsal (`rehearse`: counts what would go,
    records and queues nothing)."""
    if now - desk.clock() > AHEAD and not rehearse:
        raise Refused(f"{now:%Y-%m-%d %H:%M} UTC is {_span(now - desk.clock())} after now: a sweep "
                      "records what it sends, so the real notices would never go (--force "
                      "rehearses: it shows what would go and sends and records nothing)")
    if not rehearse:  # a clock that was ahead before: undo what it recorded too early
        with desk.uow.write() as s:
            clock_jump.undo_future(s, now)
    counts = sla_state.sweep(desk, now, rehearse=rehearse)
    counts.update(run_due(desk, now, rehearse=rehearse))
    # after the reminders: one due now is in today's digest (bot/desk/digest.py)
    digests = digest.run_due(desk, now, rehearse=rehearse)
    if digests:
        counts["digests"] = digests
    return counts


def _span(delta: timedelta) -> str:
    return f"{delta.days} days" if delta.days >= 2 else f"{int(delta.total_seconds() // 3600)} hours"


def run_due(desk: Desk, now: datetime, rehearse: bool = False) -> dict[str, int]:
    rs = desk.ruleset
    counts: dict[str, int] = {}
    for job in JOBS:
        cfg = rs.schedule.get(job) or {}
        cron = cfg.get("cron")
        if not cron:
            continue
        fire = last_fire(cron, rs.timezone, now)
        if fire is None:
            continue
        key = f"{job}@{fire.isoformat()}"
        if now - fire > GRACE:
            continue
        with (desk.uow.read() if rehearse else desk.uow.write()) as s:
            if s.get(RunOnce, key) is not None:
                continue
            if not insert_once(s, RunOnce.__table__, {"key": key, "at": now}):
                continue  # another clock is running it
            sent = RUNNERS[job](desk, s, cfg, now, fire)
            claimed = s.get(RunOnce, key)
            if claimed is not None:  # inserted just above, in this transaction
                claimed.detail = {"sent": sent}
            if sent or job not in QUIET:
                counts[job] = sent
            log.info("%s for %s: %d notice(s)", job, fire.isoformat(), sent)
    return counts


def open_complaints_report(desk: Desk, s: Session, cfg: dict[str, Any], now: datetime,
                           fire: datetime) -> int:
    """To the sales manager (`to`): a DM or a mail with an HTML table and a CSV file."""
    rs = desk.ruleset
    rows = queries.open_complaint_rows(s, desk, now)
    people = notify.resolve_people(rs, None, [cfg.get("to") or "sales_manager"])
    tz = ZoneInfo(rs.timezone)
    as_of = now.astimezone(tz)
    csv_bytes = report.render(rows, "csv", now).encode("utf-8-sig")  # Excel reads the BOM
    name = f"open-complaints-{as_of:%Y-%m-%d}.csv"
    sent = 0
    for person in people:
        lang = rs.language_of(person)  # titles, weekday and SLA words in the reader's language
        context = {"rows": report.translate_sla(rows, lang), "count": len(rows),
                   "as_of": short_when(now, tz, lang), "columns": report.columns(lang),
                   "subject": "open complaints",
                   "table": report.render(rows, "table", now, language=lang),
                   "overdue": sum(1 for r in rows if r["overdue"])}
        if notify.channel_for(person, desk.settings) == Channel.SLACK and person.slack:
            context["attached"] = True  # the DM may say so: the CSV is uploaded into it (below)
        row = notify.tell(s, desk, person, now, purpose="report",
                          template="report-open-complaints", context=context,
                          attachments=((name, "text/csv", csv_bytes),))
        sent += 1
        if row.channel != Channel.MAIL:  # a DM, and the mail with the table and the CSV file
            notify.tell(s, desk, person, now, purpose="report",
                        template="report-open-complaints", context=context,
                        attachments=((name, "text/csv", csv_bytes),), by_mail=True)
            sent += 1
            if person.slack:  # the CSV the DM speaks of, uploaded into that DM
                slack_posts.upload(s, None, person.slack, name, csv_bytes, now)
    return sent


def contracts_ending(desk: Desk, s: Session, cfg: dict[str, Any], now: datetime,
                     fire: datetime) -> int:
    """Each advisor gets their customers' contracts that end within `within` days: the
    ones that renew unless cancelled (with the notice deadline) and the cancelled ones
    that really end. Optionally each customer is told once (002 steps 8-9)."""
    rs = desk.ruleset
    tz = desk.tz
    today = now.astimezone(tz).date()
    until = today + timedelta(days=int(cfg.get("within") or 60))
    q = (select(Contract, Company).join(Company, Contract.company_id == Company.id)
         .where(or_(Contract.status == ContractStatus.ACTIVE,
                    Contract.status == ContractStatus.CANCELLED))
         .order_by(Contract.end, Contract.id))
    by_advisor: dict[str, list[dict]] = defaultdict(list)
    sent = 0
    for contract, company in s.execute(q):
        ends = contract.ends_on if contract.status == ContractStatus.CANCELLED else contract.end
        if ends is None or not (today <= ends <= until):
            continue
        renews = contract.status == ContractStatus.ACTIVE and contract.auto_renew
        deadline = add_months(ends, -contract.notice_months) if renews else None
        advisor = company.advisor if company.advisor in rs.people else rs.resolve("rsm")
        row = {"company": company.name, "reference": contract.reference,
               "ends_on": ends, "ends_iso": ends.isoformat(),
               "renews": renews, "term_months": contract.term_months, "deadline": deadline,
               "status": contract.status, "days_left": (ends - today).days}
        if advisor:
            by_advisor[advisor].append(row)
        if cfg.get("notify_customer") and renews and deadline and deadline >= today:
            sent += _tell_customer(desk, s, cfg, contract, company, ends, deadline, now)
    for key, rows in sorted(by_advisor.items()):
        person = rs.people[key]
        plang = rs.language_of(person)
        said = [{**r, "ends": format_date(r["ends_on"], plang),
                 "notice_by": format_date(r["deadline"], plang) if r["deadline"] else ""} for r in rows]
        notify.tell(s, desk, person, now, purpose="contracts-ending", template="contracts-ending",
                    context={"rows": said, "count": len(rows), "within": int(cfg.get("within") or 60),
                             "as_of": format_date(today, plang)})
        sent += 1
    return sent


def _tell_customer(desk: Desk, s: Session, cfg: dict[str, Any], contract: Contract,
                   company: Company, ends: date, deadline: date, now: datetime) -> int:
    key = f"contract-ending-notice:{contract.id}:{ends.isoformat()}"
    contact = s.scalars(select(Contact).where(Contact.company_id == company.id)
                        .order_by(Contact.id)).first()
    if contact is None or not insert_once(s, RunOnce.__table__, {"key": key, "at": now}):
        return 0
    lang = desk.ruleset.default_language
    rendered = desk.renderer.render_mail(cfg.get("customer_template") or "contract-ending", lang, {
        "name": contact.name, "company": company.name, "reference": contract.reference,
        "ends": format_date(ends, lang), "notice_by": format_date(deadline, lang),
        "renewal_end": format_date(add_months(ends, contract.term_months), lang),
        "term_months": contract.term_months, "desk": desk.settings.address_name})
    s.add(Outbox(ticket_id=None, channel=Channel.MAIL, purpose="contract-ending", automatic=False,
                 to_addr=contact.email, subject=rendered.subject,
                 message_id=new_message_id(desk.settings.mail_domain, None),
                 template=cfg.get("customer_template"), language=rendered.language,
                 body_text=rendered.text, body_html=rendered.html,
                 headers={"automatic": False, "language": rendered.language},
                 status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=now, created_at=now))
    return 1


def monthly_report(desk: Desk, s: Session, cfg: dict[str, Any], now: datetime,
                   fire: datetime) -> int:
    """On the month's first working day: last month's report (complaint analysis and SLA
    performance) to the sales manager by mail, charts shown in the mail, the tables as CSV;
    a Slack user also gets a DM with the link to the report page."""
    rs = desk.ruleset
    today = now.astimezone(desk.tz).date()
    cal = rs.calendars.get(cfg.get("calendar") or "office")
    first = cal.first_business_day(today.year, today.month) if cal is not None else None
    if first is not None and today != first or first is None and today.weekday() >= 5:
        return 0
    month = analysis.previous_month(today)
    data = reports.monthly(desk, Actor.system(), month)
    files = tuple((f"{table}-{month}.csv", "text/csv", ("\ufeff" + reports.csv_table(data, table)).encode())
                  for table in ("complaints-summary", "complaints-customer", "sla-owner", "sla-kind"))
    context = {"month": month, "c": data["complaints"], "sla": data["sla"], "subject": f"report {month}",
               "link": f"{desk.settings.public_url}/reports?month={month}"}
    sent = 0
    charts_in: dict[str, tuple] = {}  # the charts' titles in each reader's language
    for person in notify.resolve_people(rs, None, [cfg.get("to") or "sales_manager"]):
        lang = rs.language_of(person)
        if lang not in charts_in:
            charts_in[lang] = tuple((name, "image/png", reports.chart(data, name, lang))
                                    for name in reports.CHARTS)
        inline = charts_in[lang]
        row = notify.tell(s, desk, person, now, purpose="report", template="report-monthly",
                          context=context, attachments=files, inline=inline, by_mail=True)
        sent += 1
        if notify.channel_for(person, desk.settings) != row.channel:  # and a DM with the link
            notify.tell(s, desk, person, now, purpose="report", template="report-monthly",
                        context=context)
            sent += 1
    return sent


def invoice_holds_export(desk: Desk, s: Session, cfg: dict[str, Any], now: datetime,
                        fire: datetime) -> int:
    """To receivables (`to`), by mail: the invoices on hold, listed and as a CSV file, so
    none goes to collection while its complaint is open. Nothing on hold: no mail."""
    rows = holds.open_rows(s, desk)
    if not rows:
        return 0
    as_of = now.astimezone(desk.tz)
    lang = desk.ruleset.default_language
    for r in rows:
        r["held_since_text"] = format_date(datetime.fromisoformat(r["held_since"]).date(), lang)
    csv_bytes = holds.to_csv(rows).encode("utf-8-sig")  # Excel reads the BOM
    name = f"invoice-holds-{as_of:%Y-%m-%d}.csv"
    sent = 0
    for person in notify.resolve_people(desk.ruleset, None, [cfg.get("to") or "receivables"]):
        notify.tell(s, desk, person, now, purpose="invoice-holds", template="invoice-holds",
                    context={"rows": rows, "count": len(rows), "as_of": format_date(as_of.date(), lang)},
                    attachments=((name, "text/csv", csv_bytes),), by_mail=True)
        sent += 1
    return sent


RUNNERS = {"open_complaints_report": open_complaints_report, "contracts_ending": contracts_ending,
           "monthly_report": monthly_report, "invoice_holds_export": invoice_holds_export}
