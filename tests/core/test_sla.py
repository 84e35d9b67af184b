"""SLA policies and timers (bot/sla.py): pure, on an injected `now`.

November 2026 in Amsterdam is UTC+1; 2026-11-20 is a Friday, 2026-11-23 a Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.rules_file import load_rules
from bot.core.rules.schema import RulesError
from bot.core.time import sla_policy as sla
from bot.core.time.businesstime import BusinessCalendar
from tests.conftest import RULES

AMS = ZoneInfo("Europe/Amsterdam")
UTC = UTC
OFFICE = BusinessCalendar()
H24 = BusinessCalendar.from_config({"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                    "hours": "24h", "holidays": []})


def ams(*a) -> datetime:
    return datetime(*a, tzinfo=AMS)


def policy(**targets) -> sla.Policy:
    calendars = {"office": OFFICE, "always": sla.ALWAYS, "h24": H24}
    problems = []
    out = sla.parse_policies({"p": targets}, calendars, lambda at, why: problems.append(why))
    assert not problems, problems
    return out["p"]


def local(t: datetime) -> str:
    return t.astimezone(AMS).strftime("%a %Y-%m-%d %H:%M")


def test_a_complaint_on_friday_afternoon_in_calendar_time_is_told_on_monday_morning():
    p = policy(first_action="24h", notify_during="office")
    [remind, breach] = sla.timers(p, sla.ClockState(created_at=ams(2026, 11, 20, 16, 0)))
    assert local(remind.at) == "Sat 2026-11-21 10:00"  # 18 h = 75 %
    assert local(breach.at) == "Sat 2026-11-21 16:00"
    # nobody is reminded or escalated at the weekend: both wait for Monday's opening
    assert local(remind.fire_at) == local(breach.fire_at) == "Mon 2026-11-23 08:30"
    send, skip, later = sla.to_fire([remind, breach], set(), ams(2026, 11, 23, 8, 30))
    assert send == [breach] and skip == [remind] and later == []  # not both at once


def test_business_time_counts_only_working_hours():
    p = policy(first_action="1 business day", calendar="office")
    [remind, breach] = sla.timers(p, sla.ClockState(created_at=ams(2026, 11, 20, 16, 0)))
    # Friday 16:00-17:00 is 1 h; Monday 08:30 + 7.5 h
    assert local(breach.due) == "Mon 2026-11-23 16:00"
    assert local(remind.at) == "Mon 2026-11-23 13:52"  # 6 h 22.5 min of 8.5 h
    assert breach.fire_at == breach.at  # inside hours: told at once


def test_a_ticket_created_at_night_starts_counting_at_opening():
    p = policy(first_action="8 business hours")
    [_, breach] = sla.timers(p, sla.ClockState(created_at=ams(2026, 11, 24, 2, 0)))
    assert local(breach.due) == "Tue 2026-11-24 16:30"


def test_a_24_7_calendar_has_no_gap_at_midnight():
    p = policy(first_action="2 business hours", calendar="h24", notify_during="h24")
    [_, breach] = sla.timers(p, sla.ClockState(created_at=ams(2026, 11, 24, 23, 0)))
    assert local(breach.due) == "Wed 2026-11-25 01:00"
    assert breach.fire_at == breach.at  # a 24/7 desk is told at 01:00


def test_daylight_saving_end_in_calendar_and_business_time():
    # 25 October 2026: clocks go back at 03:00; 24 real hours from Saturday 12:00 is
    # Sunday 11:00 on the wall clock.
    p = policy(first_action="24h", notify_during="always")
    [_, breach] = sla.timers(p, sla.ClockState(created_at=ams(2026, 10, 24, 12, 0)))
    assert local(breach.due) == "Sun 2026-10-25 11:00"
    p = policy(first_action="1 business day")  # office hours are wall-clock hours
    [_, breach] = sla.timers(p, sla.ClockState(created_at=ams(2026, 10, 23, 12, 0)))
    assert local(breach.due) == "Mon 2026-10-26 12:00"


def test_first_action_stops_its_clock_and_is_never_reset():
    p = policy(first_action="24h", next_action="24h", notify_during="always")
    created = ams(2026, 11, 23, 10, 0)
    done = sla.ClockState(created_at=created, first_action_at=created + timedelta(hours=2))
    assert sla.timers(p, done) == []
    # a later customer message starts the next-action clock, not the first-action one
    waiting = sla.ClockState(created_at=created, first_action_at=created + timedelta(hours=2),
                             awaiting_since=created + timedelta(days=1), next_action_cycle=1)
    assert [(t.target, t.cycle, t.stage) for t in sla.timers(p, waiting)] == [
        ("next_action", 1, "remind"), ("next_action", 1, "breach")]


def test_waiting_on_the_customer_pauses_the_resolution_clock():
    p = policy(resolution="10d", notify_during="always")
    created = ams(2026, 11, 23, 10, 0)
    assert sla.timers(p, sla.ClockState(created_at=created, status="waiting",
                                        waiting_since=created + timedelta(days=1))) == []
    assert sla.state(p, sla.ClockState(created_at=created, status="waiting",
                                       waiting_since=created), created) == "paused"
    paused = sla.pause_for(p, created + timedelta(days=1), created + timedelta(days=4))
    assert paused == 3 * 86400
    [_, breach] = sla.timers(p, sla.ClockState(created_at=created, paused_seconds=paused))
    assert breach.due == created + timedelta(days=13)
    off = policy(resolution="10d", pause_when_waiting=False, notify_during="always")
    assert len(sla.timers(off, sla.ClockState(created_at=created, status="waiting",
                                              waiting_since=created))) == 2


def test_resolved_tickets_have_no_timers_and_states_read_well():
    p = policy(first_action="24h", notify_during="always")
    created = ams(2026, 11, 23, 10, 0)
    assert sla.timers(p, sla.ClockState(created_at=created, status="resolved")) == []
    st = sla.ClockState(created_at=created)
    assert sla.state(p, st, created) == "on time"
    assert sla.state(p, st, created + timedelta(hours=19)) == "at risk"
    assert sla.state(p, st, created + timedelta(hours=24)) == "breached"
    assert sla.state(None, st, created) == "none"


def test_reminder_share_and_escalation_per_target():
    p = policy(first_action={"after": "10h", "remind_at": "50%", "escalate_to": ["sales_manager"]},
               resolution={"after": "10d", "remind_at": False}, notify_during="always")
    assert p.targets["first_action"].remind_at == 0.5
    assert p.targets["first_action"].escalate_to == ("sales_manager",)
    assert p.targets["resolution"].remind_at is None
    assert p.targets["resolution"].escalate_to == ("owner", "manager")
    created = ams(2026, 11, 23, 10, 0)
    stages = [(t.target, t.stage, local(t.at)) for t in sla.timers(p, sla.ClockState(created_at=created))]
    assert stages == [("first_action", "remind", "Mon 2026-11-23 15:00"),
                      ("first_action", "breach", "Mon 2026-11-23 20:00"),
                      ("resolution", "breach", "Thu 2026-12-03 10:00")]


@pytest.mark.parametrize("value, expected", [
    ("24h", (timedelta(hours=24), False)), ("10d", (timedelta(days=10), False)),
    ("30 min", (timedelta(minutes=30), False)), ("2w", (timedelta(weeks=2), False)),
    ("8 business hours", (timedelta(hours=8), True)),
    ("1 business day", (timedelta(hours=8, minutes=30), True)),
    ("1.5 Business Days", (timedelta(hours=12, minutes=45), True)),
])
def test_durations(value, expected):
    assert sla.parse_duration(value, timedelta(hours=8, minutes=30)) == expected


@pytest.mark.parametrize("value", ["soon", "0h", "-1d", "", None, True, "2 business weeks", "3 fortnights"])
def test_bad_durations(value):
    with pytest.raises(ValueError):
        sla.parse_duration(value, timedelta(hours=8))


RULES_HEAD = """\
people:
  sanne: {name: Sanne, email: sanne@desk.example, roles: [sales_support, rsm]}
  henk: {name: Henk, email: henk@desk.example, roles: [sales_manager]}
roles:
  sales_support: {default: sanne, manager: sales_manager}
  sales_manager: henk
"""


@pytest.mark.parametrize("tail, expected", [
    ("kinds:\n  complaint: {sla: fast}\n",
     "rules.yaml:8:20: kind 'complaint': sla 'fast' is not a policy under sla (policies: none)"),
    ("sla:\n  fast: {first_action: soon}\n",
     "rules.yaml:8:24: sla 'fast': first_action: expected a duration like 24h, 10d or "
     "'1 business day', got 'soon'"),
    ("sla:\n  fast: {first_action: 1h, calendar: weekdays}\n",
     "rules.yaml:8:38: sla 'fast': calendar: no calendar 'weekdays'; calendars: always, office"),
    ("sla:\n  fast: {first_action: 1h, escalate_to: [boss]}\n",
     "rules.yaml:8:41: sla 'fast': escalate_to 'boss' is not owner, manager, a role or a person"),
    ("sla:\n  fast: {first_action: 1h, remind_at: 150%}\n",
     "rules.yaml:8:39: sla 'fast': remind_at: expected a percentage below 100% like 75%, or "
     "false, got '150%'"),
    ("sla:\n  fast: {first_action: 1h, deadline: 2h}\n",
     "rules.yaml:8:28: sla 'fast': unknown key 'deadline'; expected one of calendar, escalate_to, "
     "first_action, next_action, notify_during, pause_when_waiting, remind_at, resolution"),
    ("calendars:\n  office: {hours: '9-5'}\n",
     "rules.yaml:8:11: calendar 'office': hours: expected 'HH:MM-HH:MM' (e.g. 08:30-17:00) or "
     "'24h', got '9-5'"),
    ("calendars:\n  office: {holidays: [XX]}\n",
     "rules.yaml:8:11: calendar 'office': holidays: unknown country code(s) XX"),
    ("calendars:\n  office: {timezone: Mars/Olympus}\n",
     "rules.yaml:8:11: calendar 'office': timezone: unknown time zone 'Mars/Olympus'"),
    ("schedule:\n  open_complaints_report: {cron: 'every monday'}\n",
     "rules.yaml:8:34: schedule: open_complaints_report: cron 'every monday': Wrong number of "
     "fields; got 2, expected 5 (five fields: minute hour day month weekday, e.g. '0 8 * * mon')"),
    ("schedule:\n  open_complaints_report: {to: nobody}\n",
     "rules.yaml:8:32: schedule: open_complaints_report: to 'nobody' is neither a person nor a role"),
    ("schedule:\n  weekly_lunch: {cron: '0 12 * * fri'}\n",
     "rules.yaml:8:3: unknown key 'weekly_lunch' in schedule; expected one of contracts_ending, "
     "invoice_holds_export, monthly_report, open_complaints_report"),
])
def test_timing_sections_are_validated_with_line_and_reason(tail, expected):
    with pytest.raises(RulesError) as err:
        load_rules("rules.yaml", text=RULES_HEAD + tail)
    assert [str(p) for p in err.value.problems] == [expected]


def test_shipped_rules_time_every_kind():
    rs = load_rules(RULES)
    assert set(rs.policies) == {"complaint", "commercial", "standard"}
    assert all(rs.policy_for(k) is not None for k in rs.kinds), \
        [k for k in rs.kinds if rs.policy_for(k) is None]
    complaint = rs.policies["complaint"]
    assert complaint.targets["first_action"].duration == timedelta(hours=24)
    assert complaint.targets["resolution"].duration == timedelta(days=10)
    assert complaint.targets["resolution"].escalate_to == ("owner", "sales_manager")
    assert rs.schedule["open_complaints_report"] == {"cron": "0 8 * * mon", "to": "sales_manager"}
    assert rs.manager_of("sanne") == "henk"
