"""SLA clocks on tickets (desk layer): keeps a ticket's due columns and `sla_next_at`
in step with what happens to it, and the sweep that sends reminders and escalations.

The rules are in bot/core/time/sla_policy.py (pure). Here: what each event does to the clock state, and
exactly-once delivery. The sweep reads only tickets whose `sla_next_at` has come
(an index range scan), and every notice is claimed by inserting its row in `sla_notice`
(unique per ticket, target, cycle and stage) in the same transaction as its outbox rows:
a second clock process, a restart or a re-run finds the row and sends nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from bot.core.domain import Status
from bot.core.rules.schema import Person, RuleSet
from bot.core.time import sla_policy as sla
from bot.core.time.humanize import when
from bot.desk import events, notify
from bot.desk.context import Desk
from bot.desk.events import insert_many, record
from bot.store.bulk import column_arrays, insert_on_conflict, insert_rows
from bot.store.models import DigestItem, Message, Outbox, SlaNotice, Ticket

log = logging.getLogger("bot.clocks")

TARGET_LABELS = {"first_action": "first action", "next_action": "next action",
                 "resolution": "resolution"}
FIRST_ACTIONS = ("reply", "call", "meeting", "visit", "action")  # what counts as an action


def clock_state(t: Ticket) -> sla.ClockState:
    return sla.ClockState(created_at=t.created_at, status=t.status,
                          first_action_at=t.first_action_at, awaiting_since=t.awaiting_since,
                          next_action_cycle=t.next_action_cycle or 0,
                          waiting_since=t.waiting_since, paused_seconds=t.paused_seconds or 0)


def policy_of(rs: RuleSet, t: Ticket) -> sla.Policy | None:
    return rs.policies.get(t.sla_policy) if t.sla_policy else None


def warm_calendars(desk: Desk) -> None:
    """This year's public holidays of every business calendar, worked out now (the
    holidays library imports its ~200 countries on first use, 0.1-0.2 s): the start-up
    of the worker and of the clock, ahead of the first ticket or sweep that needs them."""
    now = desk.clock()
    rs = desk.ruleset
    for calendar in {*rs.calendars.values(), *(p.calendar for p in rs.policies.values()),
                     *(p.notify for p in rs.policies.values())}:
        calendar.add(now, timedelta(hours=1))


def fired_keys(s: Session, ticket_ids) -> dict[int, set[tuple[str, int, str]]]:
    out: dict[int, set] = defaultdict(set)
    ids = [i for i in ticket_ids if i is not None]
    found: Iterable[Any]
    if ids and _postgres(s):  # the ids as one array: a short statement, not 900 parameters
        found = s.execute(_PG_FIRED, {"ids": ids})
    else:
        found = (row for i in range(0, len(ids), 900) for row in s.execute(
            select(SlaNotice.ticket_id, SlaNotice.target, SlaNotice.cycle, SlaNotice.stage)
            .where(SlaNotice.ticket_id.in_(ids[i:i + 900]))))
    for tid, target, cycle, stage in found:
        out[tid].add((target, cycle, stage))
    return out


# PostgreSQL: a batch's rows as arrays, one per column, in one short statement (unnest)
# rather than a statement of thousands of parameters, which the driver parses again for
# every batch (its cache keeps only short statements): the sweep's ledger claim, its
# tickets' next look and their ledger reads (docs/performance.md).
_PG_FIRED = text("SELECT ticket_id, target, cycle, stage FROM sla_notice "
                 "WHERE ticket_id = ANY(CAST(:ids AS BIGINT[]))")
_PG_CLAIM = text(
    "INSERT INTO sla_notice (ticket_id, target, cycle, stage, due_at, fired_at, outcome, recipients) "
    "SELECT * FROM unnest(CAST(:ticket_id AS BIGINT[]), CAST(:target AS VARCHAR[]), "
    "CAST(:cycle AS INTEGER[]), CAST(:stage AS VARCHAR[]), CAST(:due_at AS TIMESTAMP[]), "
    "CAST(:fired_at AS TIMESTAMP[]), CAST(:outcome AS VARCHAR[]), CAST(:recipients AS JSON[])) "
    "ON CONFLICT DO NOTHING RETURNING ticket_id, target, cycle, stage")
_PG_NEXT = text("UPDATE ticket SET sla_next_at = v.at FROM unnest(CAST(:ids AS BIGINT[]), "
                "CAST(:ats AS TIMESTAMP[])) AS v(id, at) WHERE ticket.id = v.id")


def _postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def refresh(s: Session, rs: RuleSet, t: Ticket, fired: set | None = None) -> None:
    """Recompute the due columns and when the sweep must next look at the ticket."""
    policy = policy_of(rs, t)
    st = clock_state(t)
    dues = sla.due_dates(policy, st)
    t.first_action_due_at = dues["first_action"]
    t.next_action_due_at = dues["next_action"]
    t.resolution_due_at = dues["resolution"]
    if policy is None:  # not timed: action_due_at stays as a workflow set it
        t.sla_next_at = None
        return
    t.action_due_at = dues["first_action"] or dues["next_action"]
    if fired is None:
        fired = fired_keys(s, [t.id]).get(t.id, set()) if t.id is not None else set()
    pending = [x for x in sla.timers(policy, st) if x.key not in fired]
    t.sla_next_at = sla.next_fire(pending)


def start(s: Session, rs: RuleSet, t: Ticket) -> None:
    """A new ticket: its kind's policy starts timing it."""
    kind = rs.kinds.get(t.kind)
    t.sla_policy = kind.sla if kind and kind.sla in rs.policies else None
    refresh(s, rs, t, fired=set())


def kind_changed(s: Session, rs: RuleSet, t: Ticket) -> None:
    kind = rs.kinds.get(t.kind)
    t.sla_policy = kind.sla if kind and kind.sla in rs.policies else None
    refresh(s, rs, t)


def customer_wrote(s: Session, rs: RuleSet, t: Ticket, now: datetime, *,
                   was_status: str, was_resolved_at: datetime | None) -> None:
    """A customer message on an existing ticket (after any reopen/unwait was applied)."""
    policy = policy_of(rs, t)
    if was_status == Status.WAITING and t.waiting_since is not None:
        t.paused_seconds = (t.paused_seconds or 0) + sla.pause_for(policy, t.waiting_since, now)
    if was_status in sla.CLOSED_STATUSES and was_resolved_at is not None:
        t.paused_seconds = (t.paused_seconds or 0) + sla.pause_for(policy, was_resolved_at, now)
    t.waiting_since = None
    if t.first_action_at is not None and t.awaiting_since is None:
        t.awaiting_since = now
        t.next_action_cycle = (t.next_action_cycle or 0) + 1
    refresh(s, rs, t)


def acted(s: Session, rs: RuleSet, t: Ticket, now: datetime) -> bool:
    """Staff did something for the customer (a reply, a call, a meeting, a note marked
    as action): the first action if there was none, and the answer to any waiting
    customer message. Returns whether this was the first action."""
    first = t.first_action_at is None
    met = satisfied(t, first=True, answered=True)
    if first:
        t.first_action_at = now
    t.awaiting_since = None
    refresh(s, rs, t)
    record_met(s, t, now, met)
    return first


def satisfied(t: Ticket, *, first: bool = False, answered: bool = False,
              resolved: bool = False) -> list[tuple[str, datetime]]:
    """The timed targets a change is about to meet, read before it is applied:
    (target, due) of the first action, the answer to a waiting message, the resolution."""
    out = []
    if first and t.first_action_at is None and t.first_action_due_at is not None:
        out.append(("first_action", t.first_action_due_at))
    if answered and t.awaiting_since is not None and t.next_action_due_at is not None:
        out.append(("next_action", t.next_action_due_at))
    if resolved and t.resolution_due_at is not None:
        out.append(("resolution", t.resolution_due_at))
    return out


def record_met(s: Session, t: Ticket, now: datetime, met: list[tuple[str, datetime]]) -> None:
    """An "sla-met" history event (and sla.met webhook) for each target met in time."""
    for target, due in met:
        if now <= due:
            record(s, t, now, "system", "sla-met", {"target": target, "due": due.isoformat()})


def set_waiting(s: Session, rs: RuleSet, t: Ticket, now: datetime, waiting: bool) -> None:
    if waiting and t.waiting_since is None:
        t.waiting_since = now
    elif not waiting and t.waiting_since is not None:
        t.paused_seconds = (t.paused_seconds or 0) + sla.pause_for(policy_of(rs, t), t.waiting_since, now)
        t.waiting_since = None
    refresh(s, rs, t)


def reopened(s: Session, rs: RuleSet, t: Ticket, now: datetime, resolved_at: datetime | None) -> None:
    if resolved_at is not None:
        t.paused_seconds = (t.paused_seconds or 0) + sla.pause_for(policy_of(rs, t), resolved_at, now)
    refresh(s, rs, t)


def insert_new(s: Session, table, rows: list[dict], returning) -> list[tuple]:
    """INSERT that skips rows hitting a unique key; returns `returning` of the rows this
    call inserted (rowcount is not reliable here on every driver)."""
    stmt = insert_on_conflict(s, table).on_conflict_do_nothing().returning(*returning)
    if len(rows) == 1:
        return [tuple(r) for r in s.execute(stmt.values(rows))]
    # many rows: one cached statement that SQLAlchemy sends in multi-row batches
    # ("insertmanyvalues"), not a new statement to compile for every batch size
    return [tuple(r) for r in s.execute(stmt, rows)]


def insert_once(s: Session, table, values: dict) -> bool:
    """One row, unless its unique key exists; True when this call inserted it."""
    return bool(insert_new(s, table, [values], list(table.primary_key.columns)[:1]))


def sweep(desk: Desk, now: datetime, batch: int = 500, rehearse: bool = False) -> dict[str, int]:
    """Send every reminder and escalation due as of `now`, each exactly once.
    `rehearse`: count what would go, in one pass, and record and queue nothing."""
    counts = {"reminders": 0, "escalations": 0, "skipped": 0, "tickets": 0}
    unit = desk.uow.read if rehearse else desk.uow.write
    if rehearse:
        batch = 10**9  # one pass: nothing is recorded, so a second would find the same
    while True:
        with unit() as s, s.no_autoflush:
            q = (select(Ticket).where(Ticket.sla_next_at <= now)
                 .order_by(Ticket.sla_next_at, Ticket.id).limit(batch)
                 .options(selectinload(Ticket.contact)))
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)  # a second clock takes other rows
            tickets = s.scalars(q).all()
            if not tickets:
                break
            _sweep_batch(s, desk, tickets, now, counts)
        if len(tickets) < batch:
            break
    return counts


def _sweep_batch(s: Session, desk: Desk, tickets: Sequence[Ticket], now: datetime,
                 counts: dict[str, int]) -> None:
    """One transaction: claim the batch's due notices in the ledger with one statement,
    then queue what this process claimed."""
    rs = desk.ruleset
    fired = fired_keys(s, [t.id for t in tickets])
    wanted: list[dict] = []
    plan: list[tuple[Ticket, sla.Policy, sla.Timer, list[Person] | None]] = []
    next_at: dict[int, datetime | None] = {}  # the tickets' new sla_next_at
    for t in tickets:
        counts["tickets"] += 1
        policy = policy_of(rs, t)
        if policy is None:
            next_at[t.id] = None
            continue
        send, skip, later = sla.to_fire(sla.timers(policy, clock_state(t)),
                                        fired.get(t.id, set()), now)
        for timer in skip + send:
            to_send = timer in send
            people = _recipients(rs, policy, t, timer) if to_send else []
            wanted.append({"ticket_id": t.id, "target": timer.target, "cycle": timer.cycle,
                           "stage": timer.stage, "due_at": timer.due, "fired_at": now,
                           "outcome": "sent" if to_send else "skipped",
                           "recipients": [p.key for p in people]})
            plan.append((t, policy, timer, people if to_send else None))
        next_at[t.id] = sla.next_fire(later)
    _set_next(s, tickets, next_at)
    claimed = claim(s, wanted)  # the keys another clock did not get first
    sending = [(t, p, timer, people) for t, p, timer, people in plan
               if (t.id, timer.target, timer.cycle, timer.stage) in claimed]
    histories = _histories(s, {t.id for t, _, _, people in sending if people is not None},
                           ZoneInfo(rs.timezone))
    rows = notify.Rows()  # the batch's notices and events, written below in one go each
    for t, policy, timer, people in sending:
        if people is None:
            counts["skipped"] += 1
            continue
        _send(rows, desk, t, policy, timer, people, now, histories.get(t.id, []))
        counts["reminders" if timer.stage == "remind" else "escalations"] += 1
    _write(s, rows)


def _set_next(s: Session, tickets: Sequence[Ticket], next_at: dict[int, datetime | None]) -> None:
    """The batch's new `sla_next_at`s with one UPDATE statement (sent for many rows),
    rather than a thousand changed objects for the ORM to flush; the objects are told
    the new values as the database's."""
    moved = [t.id for t in tickets if next_at[t.id] != t.sla_next_at]
    for t in tickets:
        set_committed_value(t, "sla_next_at", next_at[t.id])
    if moved and _postgres(s):
        arrays = column_arrays(s, Ticket, [{"id": i, "sla_next_at": next_at[i]} for i in moved],
                               ("id", "sla_next_at"))
        s.execute(_PG_NEXT, {"ids": arrays["id"], "ats": arrays["sla_next_at"]})
    elif moved:
        s.execute(update(Ticket), [{"id": i, "sla_next_at": next_at[i]} for i in moved])


def _write(s: Session, rows: notify.Rows) -> None:
    """The batch's notices (outbox rows, digest items) and history events, each table
    with one multi-row INSERT rather than an object a row flushed by the ORM, in the
    order they were made (the outbox delivers in id order)."""
    insert_rows(s, Outbox, rows.outbox)
    insert_rows(s, DigestItem, rows.digest)
    insert_many(s, rows.events)  # and their webhooks


def claim(s: Session, rows: list[dict], chunk: int = 300) -> set[tuple[int, str, int, str]]:
    """Insert ledger rows, skipping any that exist; returns the keys this call inserted."""
    table = SlaNotice.__table__
    key = (table.c.ticket_id, table.c.target, table.c.cycle, table.c.stage)
    out: set = set()
    if rows and _postgres(s):
        return {tuple(r) for r in s.execute(_PG_CLAIM, column_arrays(s, SlaNotice, rows, (
            "ticket_id", "target", "cycle", "stage", "due_at", "fired_at", "outcome", "recipients")))}
    for i in range(0, len(rows), chunk):
        out.update(insert_new(s, table, rows[i:i + chunk], key))
    return out


def _recipients(rs: RuleSet, policy: sla.Policy, t: Ticket, timer: sla.Timer):
    if timer.stage == "remind":
        return notify.resolve_people(rs, t, ["owner"])
    return notify.resolve_people(rs, t, policy.targets[timer.target].escalate_to)


def _send(rows: notify.Rows, desk: Desk, t: Ticket, policy: sla.Policy, timer: sla.Timer,
          people: list[Person], now: datetime, history: list[dict[str, Any]]) -> None:
    rs = desk.ruleset
    tz = desk.tz
    target = policy.targets[timer.target]
    owner = rs.people.get(t.owner)
    age = now - t.created_at
    base = {
        "tag": desk.tag(t.id), "ticket": t.id,
        "subject": t.subject, "kind": t.kind, "status": t.status,
        "customer": t.customer or "", "contact_name": t.contact_name or "",
        "contact_email": t.contact_email or "", "phone": (t.contact.phone or "") if t.contact is not None else "",
        "owner_name": owner.name if owner else t.owner, "owner": t.owner,
        "target": TARGET_LABELS[timer.target], "target_text": target.text,
        "business": target.business, "overdue": timer.stage == "breach",
        "age_days": age.days, "age_hours": int(age.total_seconds() // 3600) % 24,
        "history": history, "policy": policy.name,
    }
    template = "sla-remind" if timer.stage == "remind" else "sla-breach"
    dates: dict[str, dict[str, str]] = {}  # the dates in each recipient's language, once
    for person in people:
        role = "owner" if person.key == t.owner else "escalation"
        lang = rs.language_of(person)
        said = dates.get(lang)
        if said is None:
            said = dates[lang] = {"due": when(timer.due, tz, lang), "created": when(t.created_at, tz, lang)}
        notify.notice_rows(rows, desk, person, now, purpose=f"sla-{timer.stage}", template=template,
                           context={**base, "role": role, **said}, ticket=t)
    rows.events.append(events.row(t, now, "system", f"sla-{timer.stage}",
                                  {"target": timer.target, "cycle": timer.cycle,
                                   "due": timer.due.isoformat(), "to": [p.key for p in people]}))
    log.info("ticket %s: %s %s (due %s) -> %s", t.id, timer.target, timer.stage,
             timer.due.isoformat(), ", ".join(p.key for p in people) or "nobody")


def _histories(s: Session, ticket_ids: set[int], tz: ZoneInfo, limit: int = 12) -> dict[int, list[dict]]:
    """The last messages of each ticket, oldest first, for people who cannot open the
    ticket: one query for the whole batch (a window function keeps `limit` per ticket)."""
    out: dict[int, list[dict]] = defaultdict(list)
    if not ticket_ids:
        return out
    rank = func.row_number().over(partition_by=Message.ticket_id,
                                  order_by=Message.id.desc()).label("rank")
    inner = (select(Message.ticket_id, Message.id, Message.created_at, Message.direction,
                    Message.from_name, Message.from_addr, Message.visible_text, Message.text, rank)
             .where(Message.ticket_id.in_(sorted(ticket_ids))).subquery())
    rows = s.execute(select(inner).where(inner.c.rank <= limit)
                     .order_by(inner.c.ticket_id, inner.c.id)).all()
    for r in rows:
        text = (r.visible_text or r.text or "").strip()
        out[r.ticket_id].append({
            "at": r.created_at.astimezone(tz).strftime("%d %b %H:%M"), "direction": r.direction,
            "from": r.from_name or r.from_addr or "",
            "text": text[:600] + ("…" if len(text) > 600 else "")})
    return out
