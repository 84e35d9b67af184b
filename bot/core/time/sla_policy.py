"""SLA policies and the timers they set on a ticket. Pure: no database, `now` passed in.

A policy (rules.yaml `sla:`) has up to three targets:

- ``first_action``: from the ticket's creation until the first action (a reply to the
  customer, or a logged action: call, meeting, a note marked as action). A later update
  never resets it.
- ``next_action``: from a customer message that arrives *after* the first action until
  the next action. Every such wait is a new cycle with its own reminder and breach.
- ``resolution``: from creation until resolved. Time spent waiting on the customer is not
  counted when the policy says ``pause_when_waiting`` (the default), nor is the time a
  ticket spent resolved before it was reopened.

Each target counts calendar time ("24h", "10d") or business time ("8 business hours",
"1 business day") on the policy's business calendar. Each sets two timers: a reminder
to the owner at ``remind_at`` (default 75 %) of the target, and a breach at 100 %, which
goes to ``escalate_to`` (default: the owner and the manager of the owner's role).
Notices are delivered only while the ``notify_during`` calendar is open (default: the
default business calendar), so nobody is escalated at midnight or on a Sunday; a notice
that falls outside it waits for the next opening.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.domain import CLOSED, Status
from bot.core.time.businesstime import BusinessCalendar

TARGETS = ("first_action", "next_action", "resolution")
POLICY_KEYS = {"calendar", "notify_during", "remind_at", "pause_when_waiting", "escalate_to",
               *TARGETS}
TARGET_KEYS = {"after", "remind_at", "escalate_to"}
ALWAYS = BusinessCalendar(always_open=True)
ALWAYS_NAME = "always"  # the built-in 24/7 calendar: real elapsed time
DEFAULT_ESCALATE = ("owner", "manager")
DEFAULT_REMIND = 0.75
CLOSED_STATUSES = CLOSED

_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(business\s+)?(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|weeks?)\s*$",
    re.IGNORECASE)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True)
class Target:
    name: str
    duration: timedelta
    business: bool  # counted on the policy's calendar, else in real time
    remind_at: float | None  # fraction of the target, or None for no reminder
    escalate_to: tuple[str, ...]
    text: str = ""  # as written in rules.yaml, for people

    def clock(self, policy: Policy) -> BusinessCalendar:
        return policy.calendar if self.business else ALWAYS


@dataclass(frozen=True)
class Policy:
    name: str
    calendar: BusinessCalendar
    notify: BusinessCalendar
    targets: dict[str, Target] = field(default_factory=dict)
    pause_when_waiting: bool = True


@dataclass(frozen=True)
class ClockState:
    """What the SLA needs to know about one ticket (columns of the ticket)."""

    created_at: datetime
    status: str = Status.NEW
    first_action_at: datetime | None = None
    awaiting_since: datetime | None = None  # customer wrote after the first action, unanswered
    next_action_cycle: int = 0
    waiting_since: datetime | None = None  # status waiting on the customer since
    paused_seconds: int = 0  # resolution time not counted (waiting, resolved before reopening)


@dataclass(frozen=True)
class Timer:
    target: str
    stage: str  # remind | breach
    cycle: int
    at: datetime  # when it is due by the policy's clock (UTC)
    fire_at: datetime  # when to tell people: `at`, or the next opening of notify_during
    due: datetime  # the target's deadline

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.target, self.cycle, self.stage)


def timers(policy: Policy, st: ClockState) -> list[Timer]:
    """Every reminder and breach the ticket's current state implies, fired or not."""
    if st.status in CLOSED_STATUSES:
        return []
    out: list[Timer] = []

    def add(target: Target, start: datetime, cycle: int, extra: timedelta = timedelta(0)) -> None:
        clock = target.clock(policy)
        due = clock.add(start, target.duration + extra)
        if target.remind_at is not None:
            at = clock.add(start, target.duration * target.remind_at + extra)
            if at < due:
                out.append(Timer(target.name, "remind", cycle, at, policy.notify.next_open(at), due))
        out.append(Timer(target.name, "breach", cycle, due, policy.notify.next_open(due), due))

    fa = policy.targets.get("first_action")
    if fa is not None and st.first_action_at is None:
        add(fa, st.created_at, 0)
    na = policy.targets.get("next_action")
    if na is not None and st.first_action_at is not None and st.awaiting_since is not None:
        add(na, st.awaiting_since, st.next_action_cycle)
    res = policy.targets.get("resolution")
    if res is not None and not (policy.pause_when_waiting and st.waiting_since is not None):
        add(res, st.created_at, 0, timedelta(seconds=st.paused_seconds))
    return out


def due_dates(policy: Policy | None, st: ClockState) -> dict[str, datetime | None]:
    """The deadline of each running target (None: not running or no such target)."""
    out: dict[str, datetime | None] = dict.fromkeys(TARGETS)
    if policy is None:
        return out
    for t in timers(policy, st):
        if t.stage == "breach":
            out[t.target] = t.due
    return out


def next_fire(pending: list[Timer]) -> datetime | None:
    return min((t.fire_at for t in pending), default=None)


def to_fire(all_timers: list[Timer], fired: set[tuple[str, int, str]],
            now: datetime) -> tuple[list[Timer], list[Timer], list[Timer]]:
    """Split the timers not yet fired into (send now, skip now, later). A reminder whose
    breach is also due is skipped: after downtime the owner gets the breach, not both."""
    open_ = [t for t in all_timers if t.key not in fired]
    due = [t for t in open_ if t.fire_at <= now]
    breached = {(t.target, t.cycle) for t in due if t.stage == "breach"}
    send = [t for t in due if not (t.stage == "remind" and (t.target, t.cycle) in breached)]
    skip = [t for t in due if t.stage == "remind" and (t.target, t.cycle) in breached]
    later = [t for t in open_ if t.fire_at > now]
    return send, skip, later


def pause_for(policy: Policy | None, since: datetime, until: datetime) -> int:
    """Seconds of resolution time between two moments (added to paused_seconds)."""
    if policy is None or "resolution" not in policy.targets:
        return 0
    clock = policy.targets["resolution"].clock(policy)
    return int(clock.elapsed(since, until).total_seconds())


def state(policy: Policy | None, st: ClockState, now: datetime) -> str:
    """For people and reports: on time | at risk (past a reminder) | breached | paused | none."""
    if policy is None or not policy.targets:
        return "none"
    if st.status in CLOSED_STATUSES:
        return "done"
    ts = timers(policy, st)
    if any(t.stage == "breach" and t.at <= now for t in ts):
        return "breached"
    if any(t.stage == "remind" and t.at <= now for t in ts):
        return "at risk"
    if policy.pause_when_waiting and st.waiting_since is not None and "resolution" in policy.targets:
        return "paused"
    return "on time"


def parse_duration(value, business_day: timedelta) -> tuple[timedelta, bool]:
    """'24h', '10d', '30m', '2w', '8 business hours', '1 business day' -> (duration,
    business). A business day is one working day of the calendar."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected a duration like 24h, 10d or '1 business day', got {value!r}")
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"expected a duration like 24h, 10d or '1 business day', got {value!r}")
    amount, business, unit = float(m.group(1)), bool(m.group(2)), m.group(3).lower()
    if unit.startswith("m"):
        d = timedelta(minutes=amount)
    elif unit.startswith("h"):
        d = timedelta(hours=amount)
    elif unit.startswith("w"):
        if business:
            raise ValueError(f"{value!r}: say business days, not business weeks")
        d = timedelta(weeks=amount)
    else:
        d = business_day * amount if business else timedelta(days=amount)
    if d <= timedelta(0):
        raise ValueError(f"{value!r}: a target must be longer than zero")
    return d, business


def parse_fraction(value) -> float | None:
    """'75%' or 0.75 -> 0.75; false/none -> no reminder."""
    if value is False or value is None or (isinstance(value, str) and value.lower() in ("none", "off")):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1:
        return float(value)
    m = _PERCENT.match(str(value))
    if m and 0 < float(m.group(1)) < 100:
        return float(m.group(1)) / 100
    raise ValueError(f"remind_at: expected a percentage below 100% like 75%, or false, got {value!r}")


def business_day_length(cal: BusinessCalendar) -> timedelta:
    if cal.always_open:
        return timedelta(days=1)
    start = timedelta(hours=cal.start.hour, minutes=cal.start.minute)
    end = (timedelta(days=1) if cal.end.hour == 0 and cal.end.minute == 0
           else timedelta(hours=cal.end.hour, minutes=cal.end.minute))
    return end - start


Report = Callable[[tuple[int, int], str], None]


def _mark(m, key, which="value_marks"):
    marks = getattr(m, which, None) or {}
    return marks.get(key, getattr(m, "mark", (1, 1)))


def parse_calendars(section, default_tz: str, report: Report) -> dict[str, BusinessCalendar]:
    """rules.yaml `calendars:` -> name -> calendar. `always` (24/7) always exists; when
    no calendar is named `office`, one is made: Monday-Friday 08:30-17:00, Dutch holidays,
    in the bot's time zone."""
    out: dict[str, BusinessCalendar] = {ALWAYS_NAME: ALWAYS}
    if section is not None and not isinstance(section, Mapping):
        report(getattr(section, "mark", (1, 1)), "calendars must be a mapping of names to calendars")
        section = None
    for name, cfg in (section or {}).items():
        where = _mark(section, name)
        if name == ALWAYS_NAME:
            report(_mark(section, name, "key_marks"), "calendar 'always' is built in (24/7)")
            continue
        cfg = dict(cfg) if isinstance(cfg, Mapping) else cfg
        if isinstance(cfg, dict):
            cfg.setdefault("timezone", default_tz)
        try:
            out[str(name)] = BusinessCalendar.from_config(cfg)
        except ValueError as exc:
            report(where, f"calendar {name!r}: {exc}")
    if "office" not in out:
        out["office"] = BusinessCalendar(tz=default_tz)
    return out


def _policy_calendar(raw: Mapping, name: object, key: str, default: str,
                     calendars: dict[str, BusinessCalendar], report: Report) -> BusinessCalendar:
    """The calendar a policy names under `key` (else `default`); reported when unknown."""
    cname = raw.get(key, default)
    if cname in calendars:
        return calendars[cname]
    report(_mark(raw, key), f"sla {name!r}: {key}: no calendar {cname!r}; calendars: "
                            f"{', '.join(sorted(calendars))}")
    return calendars.get(default) or ALWAYS


def parse_policies(section, calendars: dict[str, BusinessCalendar], report: Report,
                   default_calendar: str = "office") -> dict[str, Policy]:
    out: dict[str, Policy] = {}
    if section is None:
        return out
    if not isinstance(section, Mapping):
        report(getattr(section, "mark", (1, 1)), "sla must be a mapping of policy names to policies")
        return out
    for name, raw in section.items():
        where = _mark(section, name)
        if not isinstance(raw, Mapping):
            report(where, f"sla {name!r}: expected a mapping with first_action, next_action, "
                          f"resolution, calendar ...")
            continue
        for k in raw:
            if k not in POLICY_KEYS:
                report(_mark(raw, k, "key_marks"), f"sla {name!r}: unknown key {k!r}; expected one "
                                                   f"of {', '.join(sorted(POLICY_KEYS))}")
        calendar = _policy_calendar(raw, name, "calendar", default_calendar, calendars, report)
        notify = _policy_calendar(raw, name, "notify_during", default_calendar, calendars, report)
        try:
            remind = parse_fraction(raw.get("remind_at", DEFAULT_REMIND))
        except ValueError as exc:
            report(_mark(raw, "remind_at"), f"sla {name!r}: {exc}")
            remind = DEFAULT_REMIND
        escalate = _escalate(raw.get("escalate_to", list(DEFAULT_ESCALATE)), _mark(raw, "escalate_to"),
                             f"sla {name!r}: escalate_to", report)
        pause = raw.get("pause_when_waiting", True)
        if not isinstance(pause, bool):
            report(_mark(raw, "pause_when_waiting"), f"sla {name!r}: pause_when_waiting must be true or false")
            pause = True
        targets: dict[str, Target] = {}
        for tname in TARGETS:
            if tname not in raw or raw[tname] is None:
                continue
            spec = raw[tname]
            at = _mark(raw, tname)
            t_remind, t_escalate = remind, escalate
            if isinstance(spec, Mapping):
                for k in spec:
                    if k not in TARGET_KEYS:
                        report(_mark(spec, k, "key_marks"),
                               f"sla {name!r}: {tname}: unknown key {k!r}; expected one of "
                               f"{', '.join(sorted(TARGET_KEYS))}")
                if "remind_at" in spec:
                    try:
                        t_remind = parse_fraction(spec["remind_at"])
                    except ValueError as exc:
                        report(_mark(spec, "remind_at"), f"sla {name!r}: {tname}: {exc}")
                if "escalate_to" in spec:
                    t_escalate = _escalate(spec["escalate_to"], _mark(spec, "escalate_to"),
                                           f"sla {name!r}: {tname}: escalate_to", report)
                at = _mark(spec, "after")
                spec = spec.get("after")
            try:
                duration, business = parse_duration(spec, business_day_length(calendar))
            except ValueError as exc:
                report(at, f"sla {name!r}: {tname}: {exc}")
                continue
            targets[tname] = Target(tname, duration, business, t_remind, t_escalate, str(spec))
        out[str(name)] = Policy(str(name), calendar, notify, targets, pause)
    return out


def _escalate(value, where, what: str, report: Report) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        report(where, f"{what}: expected a list of owner, manager, roles or people")
        return DEFAULT_ESCALATE
    return tuple(items)
