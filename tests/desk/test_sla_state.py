"""SLA clocks and scheduled jobs through the real service (bot/desk/sla_state.py,
bot/desk/jobs.py), on SQLite and PostgreSQL, with an injected clock: a complaint walked
through a simulated fortnight, exactly-once under missed runs, restarts and two clocks
sweeping at once.

November/December 2026 in Amsterdam is UTC+1. 2026-11-23 is a Monday.
"""

from __future__ import annotations

import email
import email.policy
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.desk import actions, intake, jobs, queries
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.store.models import Outbox, SlaNotice, Ticket
from tests.conftest import OPERATOR, RULES, START, sweep_at, who

AMS = ZoneInfo("Europe/Amsterdam")
UTC = UTC
NOTICES = ("sla-remind", "sla-breach", "report", "contracts-ending")


def mail(subject: str, body: str, n: int, sender: str = "jan@bakkerij-jansen.nl") -> bytes:
    m = EmailMessage()
    m["From"] = f"Jan Jansen <{sender}>"
    m["To"] = "support@desk.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<m{n}@bakkerij-jansen.nl>"
    m.set_content(body)
    return bytes(m)


def notices(svc: Desk, since_id: int = 0) -> list[tuple[str, str, str]]:
    with svc.sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.purpose.in_(NOTICES), Outbox.id > since_id)
                         .order_by(Outbox.id)).all()
        return [(r.created_at.astimezone(AMS).strftime("%a %d %b %H:%M"), r.purpose,
                 r.to_addr.split("@")[0]) for r in rows]


def test_a_complaint_walked_through_a_fortnight(desk):
    svc, clock = desk, desk.clock
    n = intake.ingest_raw(svc,
        mail("Klacht over de bezorging", "Goedendag,\n\nDe krant kwam weer niet. "
                            "Ik ben hier erg ontevreden over.\n", 1),
        "t1").ticket
    t = queries.ticket_detail(svc, OPERATOR, n)
    # a complaint with no more specific subject: the customer's advisor (S 4.1)
    assert (t["kind"], t["owner"], t["sla"]["policy"]) == ("complaint", "marta", "complaint")
    assert t["sla"]["first_action_due"] == "2026-11-24T09:00:00+00:00"  # 24 h
    assert t["sla"]["resolution_due"] == "2026-12-03T09:00:00+00:00"  # 10 days
    tag = f"[TB-{n}]"

    steps = {  # what people do, and when (UTC)
        datetime(2026, 11, 24, 11, 0, tzinfo=UTC): lambda: actions.reply(svc, who(svc, "sanne"), n,
                                                                         "We zoeken het uit."),
        datetime(2026, 11, 25, 10, 0, tzinfo=UTC): lambda: intake.ingest_raw(svc,
        mail(f"Re: {tag} Klacht over de bezorging", "Nog steeds niets ontvangen.\n", 2),
        "t2"),
        datetime(2026, 11, 26, 13, 0, tzinfo=UTC): lambda: actions.log_action(svc,
        who(svc, "sanne"),
        n,
        "call",
        "bezorger gebeld"),
        datetime(2026, 11, 27, 9, 0, tzinfo=UTC): lambda: actions.set_waiting(svc, who(svc, "sanne"), n, True),
        datetime(2026, 12, 1, 9, 0, tzinfo=UTC): lambda: intake.ingest_raw(svc,
        mail(f"Re: {tag} Klacht over de bezorging", "Vandaag weer niets.\n", 3),
        "t3"),
        datetime(2026, 12, 1, 12, 0, tzinfo=UTC): lambda: actions.reply(svc,
        who(svc, "sanne"),
        n,
        "Morgen komt er een koerier."),
    }
    end = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    while clock.now <= end:  # the clock process: a sweep every 15 minutes
        if clock.now in steps:
            steps.pop(clock.now)()
        sweep_at(svc, clock.now)
        clock.advance(minutes=15)
    assert not steps

    assert notices(svc) == [
        # a fresh start on Monday 10:00 makes up the 08:00 runs it just missed, once
        ("Mon 23 Nov 10:00", "report", "henk"),
        ("Mon 23 Nov 10:00", "contracts-ending", "marta"),  # C-100 ends 31 Dec
        # first action 24 h: the 75 % reminder fell at 04:00, so it waits for opening time
        ("Tue 24 Nov 08:30", "sla-remind", "marta"),
        ("Tue 24 Nov 10:00", "sla-breach", "marta"),
        ("Tue 24 Nov 10:00", "sla-breach", "rob"),  # manager of the advisors: the RSM
        # the customer wrote Wednesday 11:00; next action within 1 business day (8.5 h)
        ("Thu 26 Nov 09:00", "sla-remind", "marta"),  # due 08:52:30, next sweep
        ("Thu 26 Nov 11:00", "sla-breach", "marta"),
        ("Thu 26 Nov 11:00", "sla-breach", "rob"),
        ("Mon 30 Nov 08:00", "report", "henk"),
        ("Mon 30 Nov 08:00", "contracts-ending", "marta"),
        ("Tue 01 Dec 08:00", "report", "henk"),  # November's report, on December's first working day
        # 10 days + 4 days waiting on the customer (paused): due Monday 7 Dec 10:00; the
        # 75 % reminder (Friday 22:00) waited for Monday's opening
        ("Mon 07 Dec 08:00", "report", "henk"),
        ("Mon 07 Dec 08:00", "contracts-ending", "marta"),
        ("Mon 07 Dec 08:30", "sla-remind", "marta"),
        ("Mon 07 Dec 10:00", "sla-breach", "marta"),
        ("Mon 07 Dec 10:00", "sla-breach", "henk"),  # the sales manager steps in (S 4.1)
    ]
    t = queries.ticket_detail(svc, OPERATOR, n)
    assert t["first_action"] == "2026-11-24T11:00:00+00:00"  # the first reply; never reset
    assert t["sla"]["resolution_due"] == "2026-12-07T09:00:00+00:00"
    assert t["sla"]["next_check"] is None  # nothing left to send for this ticket
    # sweeping again, or as of an earlier time, sends nothing twice
    before = len(notices(svc))
    assert sweep_at(svc, end)["escalations"] == 0 and sweep_at(svc, START)["reminders"] == 0
    assert len(notices(svc)) == before

    with svc.sessions() as s:
        breach = s.scalars(select(Outbox).where(Outbox.purpose == "sla-breach",
                                                Outbox.to_addr == "henk@desk.example")
                           .order_by(Outbox.id.desc())).first()
        report = s.scalars(select(Outbox).where(Outbox.purpose == "report")
                           .order_by(Outbox.id.desc())).first()
    # the escalation carries the history and the age, for someone without the ticket open
    assert breach.subject == f"{tag} Unresolved after 10d — Klacht over de bezorging" or \
        breach.subject == f"{tag} Niet opgelost na 10d — Klacht over de bezorging"
    assert "Vandaag weer niets." in breach.body_text and "Morgen komt er een koerier." in breach.body_text
    assert "14 dagen" in breach.body_text or "14 days" in breach.body_text
    assert "+31 6 1234 5678" in breach.body_text
    # the weekly report: an HTML table and a CSV attachment, the complaint 13 days old
    parsed = email.message_from_bytes(report.payload, policy=email.policy.default)
    html = parsed.get_body(("html",)).get_content()
    assert f"<td>{tag}</td><td align=\"right\">13</td>" in html
    [csv_part] = list(parsed.iter_attachments())
    assert csv_part.get_filename() == "open-complaints-2026-12-07.csv"
    rows = csv_part.get_content().splitlines()
    assert rows[0].lstrip("\ufeff").startswith("number,tag,age_days") and rows[1].startswith(f"{n},{tag},13,")


def test_missed_runs_send_the_breach_once_and_skip_the_stale_reminder(desk, make_desk):
    svc, _clock = desk, desk.clock
    n = intake.ingest_raw(svc, mail("Klacht", "Ik ben ontevreden.\n", 1), "t1").ticket
    later = START + timedelta(days=3)  # the clock process was down for three days
    done = sweep_at(svc, later)
    assert (done["reminders"], done["escalations"], done["skipped"]) == (0, 1, 1)
    with svc.sessions() as s:
        ledger = sorted((x.target, x.stage, x.outcome) for x in s.scalars(select(SlaNotice)))
    assert ledger == [("first_action", "breach", "sent"), ("first_action", "remind", "skipped")]
    # a restarted service (new engine, new process state) finds the ledger
    svc2 = make_desk(start=later, customers=None, contracts=None)  # same database
    assert sweep_at(svc2, later + timedelta(minutes=1))["escalations"] == 0
    assert [p for _, p, _ in notices(svc) if p.startswith("sla")] == ["sla-breach", "sla-breach"]
    assert queries.ticket_detail(svc, OPERATOR, n)["sla"]["next_check"] is not None  # resolution still pending


def test_two_clocks_sweeping_at_once_send_each_notice_once(desk, make_desk):
    svc = desk
    # thirty colleagues at one customer (one sender's thirty would be a flood: one ticket)
    numbers = [intake.ingest_raw(svc, mail(f"Klacht {i}", "Ontevreden.\n", i,
                                           sender=f"medewerker{i}@bakkerij-jansen.nl"), f"t{i}").ticket
               for i in range(30)]
    at = START + timedelta(days=1, hours=2)  # every first action overdue
    services = [make_desk(start=at, customers=None, contracts=None) for _ in range(2)]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run(s2):
        try:
            barrier.wait(10)
            results.append(sweep_at(s2, at))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s2,)) for s2 in services]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    assert sum(r["escalations"] for r in results) == 30
    with svc.sessions() as s:
        breaches = s.scalars(select(Outbox.to_addr).where(Outbox.purpose == "sla-breach")).all()
        assert len(breaches) == 60  # owner and manager, once each, for 30 tickets
        ledger = s.scalars(select(SlaNotice)).all()
        assert len(ledger) == 60  # 30 breaches + 30 skipped reminders
        # as written (on PostgreSQL: arrays, one per column): times in UTC, the people told
        assert {(n.stage, n.outcome, n.fired_at) for n in ledger} == {("breach", "sent", at),
                                                                      ("remind", "skipped", at)}
        assert all(n.due_at < at and n.due_at.tzinfo is not None for n in ledger)
        assert {tuple(n.recipients) for n in ledger if n.outcome == "sent"} == {("marta", "rob")}
        assert all(n.recipients == [] for n in ledger if n.outcome == "skipped")
        assert sorted(t.id for t in s.scalars(select(Ticket).where(Ticket.sla_next_at <= at))) == []
    assert len(numbers) == 30


def test_resolving_stops_the_clocks_and_a_customer_reply_reopens_them(desk):
    svc, clock = desk, desk.clock
    n = intake.ingest_raw(svc, mail("Klacht", "Ontevreden.\n", 1), "t1").ticket
    clock.advance(hours=2)
    t = actions.resolve(svc, who(svc, "sanne"), n, "De krant wordt weer bezorgd.")
    assert t["status"] == "resolved" and t["sla"]["next_check"] is None
    assert t["first_action"] is not None  # resolving is an action
    with svc.sessions() as s:
        resolved = s.scalars(select(Outbox).where(Outbox.purpose == "resolved")).one()
        assert resolved.to_addr == "jan@bakkerij-jansen.nl"
        assert "gewoon op deze" in resolved.body_text  # the customer decides (in Dutch: "Klacht. Ontevreden.")
    # a month on, nothing would be due (a rehearsal: the clock itself stays where it is)
    assert jobs.sweep(svc, START + timedelta(days=30), rehearse=True) == {
        "reminders": 0, "escalations": 0, "skipped": 0, "tickets": 0}
    clock.advance(days=2)  # the customer is not happy after all
    intake.ingest_raw(svc, mail(f"Re: [TB-{n}] Klacht", "Nee, nog steeds niet.\n", 2), "t2")
    t = queries.ticket_detail(svc, OPERATOR, n)
    assert t["status"] == "open"
    # 2 h open + 2 days resolved (not counted): resolution due 10 days + 2 days after creation
    assert t["sla"]["resolution_due"] == (START + timedelta(days=12)).isoformat()
    assert t["sla"]["next_action_due"] is not None  # the customer is waiting for an answer


def test_staff_actions_refuse_what_makes_no_sense(desk):
    from bot.desk.errors import Refused

    svc = desk
    n = intake.ingest_raw(svc, mail("Vraag", "Hoe laat gaan jullie open?\n", 1), "t1").ticket
    with pytest.raises(Refused, match="unknown action 'lunch'"):
        actions.log_action(svc, who(svc, "sanne"), n, "lunch")
    with pytest.raises(Refused, match="no ticket 999"):
        actions.resolve(svc, who(svc, "sanne"), 999)
    with pytest.raises(Refused, match="the reply is empty"):
        actions.reply(svc, who(svc, "sanne"), n, "  ")
    with pytest.raises(Refused, match="unknown kind 'gossip'"):
        actions.set_kind(svc, who(svc, "sanne"), n, "gossip")
    actions.resolve(svc, who(svc, "sanne"), n, tell_customer=False)
    with pytest.raises(Refused, match="already resolved"):
        actions.resolve(svc, who(svc, "sanne"), n)
    with pytest.raises(Refused, match="reopen it first"):
        actions.set_waiting(svc, who(svc, "sanne"), n, True)
    assert actions.reopen(svc, who(svc, "sanne"), n)["status"] == "open"


def test_a_note_is_not_an_action_unless_marked(desk):
    svc = desk
    n = intake.ingest_raw(svc, mail("Vraag", "Hoe laat gaan jullie open?\n", 1), "t1").ticket
    assert actions.add_note(svc, who(svc, "sanne"), n, "klant belt vaker")["first_action"] is None
    assert actions.add_note(svc, who(svc, "sanne"), n, "teruggebeld, opgelost", action=True)["first_action"] is not None
    with svc.sessions() as s:
        assert s.scalars(select(Outbox).where(Outbox.purpose.in_(("reply", "note")))).all() == []


def test_changing_the_kind_changes_the_policy(desk):
    svc = desk
    n = intake.ingest_raw(svc, mail("Vraag", "Hoe laat gaan jullie open?\n", 1), "t1").ticket
    t = queries.ticket_detail(svc, OPERATOR, n)
    assert t["sla"]["policy"] == "standard" and t["sla"]["resolution_due"] is None
    t = actions.set_kind(svc, who(svc, "sanne"), n, "complaint")
    assert t["sla"]["policy"] == "complaint"
    assert t["sla"]["resolution_due"] == (START + timedelta(days=10)).isoformat()


def test_the_weekly_report_can_be_switched_off_and_moved(make_desk):
    text = RULES.read_text().replace(
        'open_complaints_report:       # open complaints with age, owner and SLA state\n'
        '    cron: "0 8 * * mon"',
        'open_complaints_report:\n    cron: "30 7 * * fri"').replace(
        'contracts_ending:             # each advisor gets the contracts ending within `within`\n'
        '    cron: "0 8 * * mon"',
        'contracts_ending:\n    cron: false')
    assert 'cron: "30 7 * * fri"' in text and "cron: false" in text
    svc = make_desk(start=datetime(2026, 11, 27, 6, 0, tzinfo=UTC),  # Friday 07:00 local
                    rules_text=text)
    assert "report" not in notices_purposes(svc, sweep_at(svc, svc.clock.now))
    assert sweep_at(svc, datetime(2026, 11, 27, 6, 30, tzinfo=UTC)) == {
        "reminders": 0, "escalations": 0, "skipped": 0, "tickets": 0,
        "open_complaints_report": 1}
    assert notices(svc) == [("Fri 27 Nov 07:30", "report", "henk")]


def notices_purposes(svc, _done) -> set[str]:
    return {p for _, p, _ in notices(svc)}


def test_contract_ending_notice_to_the_customer_is_sent_once(make_desk):
    text = RULES.read_text().replace("notify_customer: false", "notify_customer: true")
    svc = make_desk(rules_text=text)
    sweep_at(svc, START)
    sweep_at(svc, START + timedelta(days=7))  # the next Monday: the customer is not told again
    with svc.sessions() as s:
        told = s.scalars(select(Outbox).where(Outbox.purpose == "contract-ending")).all()
    assert [(o.to_addr, o.subject) for o in told] == [
        ("jan@bakkerij-jansen.nl", "Uw contract C-100 loopt af op 31 december 2026")]
    assert "uiterlijk\n30 november 2026" in told[0].body_text or \
        "uiterlijk 30 november 2026" in told[0].body_text


def test_a_sweep_ahead_of_the_clock_is_refused_and_a_rehearsal_strands_nothing(desk):
    """Issue 10.12: a sweep asked for a moment well ahead of the clock would record the
    notices due by then as sent, and the real ones would never go: it is refused; a
    rehearsal counts them and records nothing, so they go when they are due."""
    n = intake.ingest_raw(desk, mail("Klacht", "Ontevreden.\n", 1), "t1").ticket
    later = START + timedelta(days=3)
    with pytest.raises(Refused, match="a sweep records what it sends"):
        jobs.sweep(desk, later)
    rehearsed = jobs.sweep(desk, later, rehearse=True)
    assert rehearsed["escalations"] >= 1
    with desk.sessions() as s:
        assert s.scalars(select(SlaNotice)).all() == []
        assert not s.scalars(select(Outbox).where(Outbox.purpose.like("sla-%"))).all()
    # when the time really comes, the escalations go
    assert sweep_at(desk, later)["escalations"] == rehearsed["escalations"]
    assert queries.ticket_detail(desk, OPERATOR, n)["sla"]["first_action_due"] is not None


class _Monotonic:
    """The monotonic clock, moved by hand (it never jumps)."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_a_wall_clock_that_jumps_ahead_holds_the_sweeps_until_it_is_back(desk):
    """Issue 10.12 (an NTP step): the clock process sees the wall clock run ahead of the
    monotonic clock and holds its sweeps, so nothing is sent early; /healthz says why;
    when the wall clock is back, the notices go at their real time."""
    from bot import scheduler
    from bot.desk.clock_jump import JumpGuard

    n = intake.ingest_raw(desk, mail("Klacht", "Ontevreden.\n", 1), "t1").ticket
    mono = _Monotonic()
    scheduler._desks["jump"] = desk
    scheduler._guards["jump"] = JumpGuard(monotonic=mono)
    try:
        scheduler.sweep_job("jump")  # the first reading is trusted
        assert queries.health(desk)["status"] == "ok"
        mono.t += 60
        desk.clock.now = START + timedelta(days=1500)  # a minute later the clock says 2030
        scheduler.sweep_job("jump")
        with desk.sessions() as s:
            assert s.scalars(select(SlaNotice)).all() == []
        health = queries.health(desk)
        assert health["status"] == "clock-held" and "jumped ahead" in health["reason"]
        mono.t += 60
        desk.clock.now = START + timedelta(minutes=2)  # NTP puts it back
        scheduler.sweep_job("jump")
        assert queries.health(desk)["status"] == "ok"
        # three days on, for real: the escalations go, once
        mono.t += 3 * 86400
        desk.clock.now = START + timedelta(days=3)
        scheduler.sweep_job("jump")
        with desk.sessions() as s:
            fired = s.scalars(select(SlaNotice).where(SlaNotice.ticket_id == n)).all()
        assert fired and all(f.fired_at.replace(tzinfo=UTC) == desk.clock.now for f in fired)
    finally:
        scheduler._desks.pop("jump", None)
        scheduler._guards.pop("jump", None)


def test_what_a_clock_jump_recorded_is_undone_when_the_clock_is_back(desk):
    """Issue 10.12: a jump the guard did not see (the clock process started while the
    clock was wrong) marked notices sent for a time that has not come: once the clock is
    back, the next sweep undoes that and the real notices go when they are due."""
    n = intake.ingest_raw(desk, mail("Klacht", "Ontevreden.\n", 1), "t1").ticket
    wrong = START + timedelta(days=1500)
    desk.clock.now = wrong
    jumped = jobs.sweep(desk, wrong)
    assert jumped["escalations"] >= 1
    intake.ingest_raw(desk, mail("Vraag", "Nog een vraag.\n", 2, sender="piet@bakkerij-jansen.nl"), "t2")
    desk.clock.now = START + timedelta(minutes=5)  # back
    jobs.sweep(desk, desk.clock.now)
    with desk.sessions() as s:
        assert s.scalars(select(SlaNotice).where(SlaNotice.ticket_id == n)).all() == []
        made_then = s.scalars(select(Outbox).where(Outbox.created_at > START + timedelta(days=1))).all()
        assert made_then and all(o.next_attempt_at.replace(tzinfo=UTC) <= desk.clock.now
                                 for o in made_then if o.status == "queued")
    due_then = jobs.sweep(desk, START + timedelta(days=3), rehearse=True)
    assert 1 <= due_then["escalations"] < jumped["escalations"]  # (2030 had them all)
    assert sweep_at(desk, START + timedelta(days=3))["escalations"] == due_then["escalations"]


def test_the_monthly_report_goes_on_the_first_working_day_with_its_charts(desk):
    """Issue 11: last month's report to the sales manager on the month's first working
    day (public holidays count), once, the charts inside the mail, the tables as CSV."""
    intake.ingest_raw(desk, mail("Klacht", "Zeer ontevreden over de plaatsing.\n", 1), "t1")
    ams = ZoneInfo("Europe/Amsterdam")

    def reports_sent() -> list[Outbox]:
        with desk.sessions() as s:
            return list(s.scalars(select(Outbox).where(Outbox.template == "report-monthly")))

    sweep_at(desk, datetime(2026, 12, 1, 8, 0, 30, tzinfo=ams).astimezone(UTC))  # Tuesday 1 Dec
    [row] = reports_sent()
    assert row.to_addr == "henk@desk.example" and row.subject.startswith("Maandrapport 2026-11: 1 klacht")
    msg = email.message_from_bytes(row.payload, policy=email.policy.default)
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    images = {p["Content-ID"]: p.get_content() for p in related.iter_parts() if p.get_content_maintype() == "image"}
    assert set(images) == {"<complaints-trend>", "<complaints-category>", "<sla-trend>"}
    assert all(data[:4] == b"\x89PNG" for data in images.values())
    assert 'src="cid:sla-trend"' in msg.get_body(("html",)).get_content()
    names = sorted(p.get_filename() for p in msg.iter_attachments())
    assert names == ["complaints-customer-2026-11.csv", "complaints-summary-2026-11.csv",
                     "sla-kind-2026-11.csv", "sla-owner-2026-11.csv"]
    sweep_at(desk, datetime(2026, 12, 2, 8, 0, 30, tzinfo=ams).astimezone(UTC))  # not again
    assert len(reports_sent()) == 1
    # 1 January is a public holiday: the report for December goes on Monday 4 January
    sweep_at(desk, datetime(2027, 1, 1, 8, 0, 30, tzinfo=ams).astimezone(UTC))
    assert len(reports_sent()) == 1
    sweep_at(desk, datetime(2027, 1, 4, 8, 0, 30, tzinfo=ams).astimezone(UTC))
    assert [r.subject[:19] for r in reports_sent()] == ["Maandrapport 2026-1", "Maandrapport 2026-1"]
    assert reports_sent()[1].subject.startswith("Maandrapport 2026-12")


@pytest.mark.parametrize("cron", ["0 8 * * mon", "0 8 1-7 * mon-fri", "30 2 * * *", "*/20 * * * *"])
def test_the_last_fire_time_kept_between_sweeps_is_the_one_worked_out_afresh(cron):
    """The clock asks for each job's last fire time every minute; the answer is kept until
    the next fire time comes (jobs._FIRES). Forwards in steps across a daylight-saving
    change, and back again (a wall clock that jumped): the same as worked out from scratch."""
    from apscheduler.triggers.cron import CronTrigger

    jobs._FIRES.clear()
    trigger = CronTrigger.from_crontab(cron, timezone=AMS)
    t = datetime(2027, 3, 20, 0, 7, tzinfo=UTC)  # the clocks go forward on 28 March
    seen = []
    for step in range(1200):
        t += timedelta(minutes=97)
        if step % 300 == 299:
            t -= timedelta(days=9)
        got = jobs.last_fire(cron, "Europe/Amsterdam", t)
        assert got == jobs._last_fire(trigger, t), (cron, t)
        seen.append(got)
    assert len(set(seen)) > 3  # it did move on


def test_the_clock_warms_up_what_its_first_busy_sweep_would_wait_for(desk, monkeypatch, caplog):
    """jobs.warm (the clock's start-up, bot/app.py): the calendars' holidays of this year
    and the SLA notices' templates in every staff language, compiled ahead; a failure is
    logged, never raised."""
    from bot.core.render import STAFF_LANGUAGES
    from bot.core.time import businesstime

    compiled = []
    real = desk.renderer.mail_templates
    monkeypatch.setattr(desk.renderer, "mail_templates",
                        lambda name, language: compiled.append((name, language)) or real(name, language))
    businesstime._public_holidays.cache_clear()
    jobs.warm(desk)
    assert sorted(compiled) == sorted((name, lang) for name in ("sla-remind", "sla-breach")
                                      for lang in STAFF_LANGUAGES)
    assert businesstime._public_holidays.cache_info().currsize >= 1

    def broken(name, language):
        raise LookupError(f"no template {name}")

    monkeypatch.setattr(desk.renderer, "mail_templates", broken)
    with caplog.at_level("INFO"):
        jobs.warm(desk)
    assert "clock not warmed up ahead (LookupError: no template sla-remind)" in caplog.text
