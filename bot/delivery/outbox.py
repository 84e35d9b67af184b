"""Delivers the outbox: claims due rows, assembles them, hands them to a transport,
records the outcome. Retries temporary failures with exponential backoff."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, bindparam, case, exists, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from bot.config import Settings
from bot.core.domain import Channel, OutboxStatus
from bot.core.mail.compose import build_mail, new_message_id
from bot.delivery.transport import PermanentFailure, TemporaryFailure, Transport
from bot.store.models import Attachment, Event, Outbox, Ticket
from bot.store.unit_of_work import UnitOfWork, outbox_untouched

log = logging.getLogger("bot.outbox")

CLAIM_SECONDS = 300
CLAIM_BATCH = 100  # rows one sender claims at a time (a crash leaves at most these claimed)
RECORD_ATTEMPTS = 5  # tries to record a delivery's outcome while the database is locked
RECORD_EVERY = 0.5  # seconds: a batch still sending records what it has sent so far


# Lanes: each delivers its own channels, in its own thread, so mail never waits behind
# Slack's pacing (one post per second per channel, Retry-After) or a Slack outage.
LANES: dict[str, tuple[str, ...]] = {"mail": (Channel.MAIL,), "slack": (Channel.SLACK,),
                                     "webhook": (Channel.WEBHOOK,)}


def backoff(attempts: int, base: float, cap: float) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: base, 2·base, 4·base, … cap."""
    return timedelta(seconds=min(cap, base * (2 ** max(0, attempts - 1))))


class OutboxSender:
    def __init__(self, settings: Settings, uow: UnitOfWork, transports: dict[str, Transport],
                 fetch_file: Callable[[str], bytes] | None = None):
        self.settings = settings
        self.uow = uow
        self.transports = transports  # channel -> transport
        # a file a mail carries from elsewhere (a Slack file, by its url_private): its bytes
        self.fetch_file = fetch_file

    def due(self, now: datetime, limit: int = 100, lane: str | None = None) -> list[int]:
        """Due rows, oldest first; of one lane's channels, or of all."""
        with self.uow.read() as s:
            q = select(Outbox.id).where(
                Outbox.status == OutboxStatus.QUEUED, Outbox.next_attempt_at <= now,
                or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now))
            if lane is not None:
                q = q.where(Outbox.channel.in_(LANES[lane]))
            if lane is None or Channel.WEBHOOK in LANES[lane]:
                q = q.where(_in_order())
            return list(s.scalars(q.order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)))

    def next_due_at(self, lane: str | None = None, now: datetime | None = None) -> datetime | None:
        """When the next queued row (of one lane, or of all) comes due. With `now`, a row
        claimed by a sender (this one in another thread, another process, or one that
        crashed) counts from when its claim runs out, so a lane waits for it instead of
        trying to claim it again and again."""
        with self.uow.read() as s:
            due: ColumnElement[datetime] | Any = Outbox.next_attempt_at
            if now is not None:
                due = case((Outbox.claimed_until > now, Outbox.claimed_until), else_=Outbox.next_attempt_at)
            q = select(func.min(due)).where(Outbox.status == OutboxStatus.QUEUED)
            if lane is not None:
                q = q.where(Outbox.channel.in_(LANES[lane]))
            if lane is None or Channel.WEBHOOK in LANES[lane]:
                q = q.where(_in_order())
            found = s.scalar(q)
            if isinstance(found, str):  # SQLite: min() over a CASE comes back as text
                found = datetime.fromisoformat(found)
            return found

    def run_once(self, now: datetime, limit: int = CLAIM_BATCH, lane: str | None = None) -> dict[str, int]:
        """Try every due item (of one lane, or all) once. Returns counts by outcome.

        One transaction claims the batch and one records its outcomes (more often when
        sending takes long, and before a Slack thread post whose root went out in this
        batch): not two per item."""
        counts = {"sent": 0, "retry": 0, "failed": 0}
        for outcome in self._deliver_claimed(self._claim_due(now, limit, lane), now):
            if outcome:
                counts[outcome] += 1
        return counts

    def _claim_due(self, now: datetime, limit: int, lane: str | None) -> list[int]:
        """Claim up to ``limit`` due rows in one transaction; a second sender running at
        once claims others (PostgreSQL: SKIP LOCKED) or none of these."""
        free = (Outbox.status == OutboxStatus.QUEUED,
                or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now))
        q = select(Outbox.id).where(Outbox.next_attempt_at <= now, *free)
        if lane is not None:
            q = q.where(Outbox.channel.in_(LANES[lane]))
        if lane is None or Channel.WEBHOOK in LANES[lane]:
            q = q.where(_in_order())  # one webhook per ticket and receiver at a time, in order
        q = q.order_by(Outbox.next_attempt_at, Outbox.id).limit(limit) \
            .with_for_update(skip_locked=True)
        with self.uow.write() as s:
            claimed = list(s.scalars(update(Outbox).where(Outbox.id.in_(q.scalar_subquery()), *free)
                                     .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
                                     .returning(Outbox.id)))
            outbox_untouched(s)  # a claim makes nothing due: no lane is woken by it
            return claimed

    def _claim(self, oid: int, now: datetime) -> bool:
        """Take the row for this sender; a second sender running at once skips it."""
        with self.uow.write() as s:
            # an UPDATE gives a CursorResult (it has rowcount); Session.execute is typed as Result
            res = cast(CursorResult[Any], s.execute(update(Outbox).where(
                Outbox.id == oid, Outbox.status == OutboxStatus.QUEUED,
                or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now))
                .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))))
            return res.rowcount == 1

    def _deliver(self, oid: int, now: datetime) -> str | None:
        """Claim and deliver one row; None when another sender holds it."""
        if not self._claim(oid, now):
            return None
        return self._deliver_claimed([oid], now)[0]

    def _files(self, headers: dict) -> tuple[tuple[str, str, bytes], ...]:
        """The files a mail carries from elsewhere ({"files": [{name, mimetype, url}]})."""
        wanted = headers.get("files") or []
        if not wanted:
            return ()
        if self.fetch_file is None:
            raise TemporaryFailure("the mail carries Slack files and Slack is not set up here")
        return tuple((f.get("name") or "file", f.get("mimetype") or "application/octet-stream",
                      self.fetch_file(f["url"])) for f in wanted if f.get("url"))

    def _prepare(self, s: Session, row: Outbox, now: datetime) -> tuple[bytes | None, tuple[Any, ...]]:
        """The bytes to keep and the transport's arguments for one row (for a mail whose
        Slack files cannot be fetched now: no bytes, and the failure to report)."""
        if row.channel == Channel.MAIL:
            try:
                files = () if row.payload else self._files(row.headers or {})
            except (TemporaryFailure, PermanentFailure) as exc:
                return None, (exc,)  # assembled again, with the files, on the next try
            data = row.payload or build_mail(
                subject=row.subject, text=row.body_text, html=row.body_html,
                language=row.language, from_addr=self.settings.address,
                from_name=self.settings.address_name, to_addr=row.to_addr,
                # every mail row is queued with a Message-ID; never send "<None>"
                message_id=row.message_id or new_message_id(self.settings.mail_domain, row.ticket_id),
                headers=row.headers or {}, now=now, attachments=files)
            return data, (self.settings.address, [row.to_addr], data, f"{row.id:08d}")
        return row.payload, (_with_file(s, _in_thread(s, row)),)

    def _deliver_claimed(self, ids: list[int], now: datetime) -> list[str | None]:
        """Deliver rows this sender has claimed, oldest first; outcomes in ``ids`` order."""
        if not ids:
            return []
        with self.uow.read() as s:
            rows = list(s.scalars(select(Outbox).where(Outbox.id.in_(ids))
                                  .order_by(Outbox.next_attempt_at, Outbox.id)))
            prepared = {row.id: self._prepare(s, row, now) for row in rows}
        outcomes: dict[int, str | None] = {}
        pending: list[tuple] = []
        started = time.monotonic()
        sent_rows = {row.id: row for row in rows}  # as read: what recording "sent" needs
        for row in rows:
            data, args = prepared[row.id]
            if row.channel != Channel.MAIL and args[0] is None and (pending or outcomes):
                # its thread's root may have gone out in this batch: record, look again
                if pending:
                    self._record_all(pending, now, outcomes, sent_rows)
                    pending = []
                with self.uow.read() as s:
                    fresh = s.get(Outbox, row.id)
                    if fresh is not None:
                        data, args = self._prepare(s, fresh, now)
                        sent_rows[row.id] = fresh
            pending.append((row.id, *self._send(row, data, args)))
            if time.monotonic() - started > RECORD_EVERY:
                self._record_all(pending, now, outcomes, sent_rows)
                pending, started = [], time.monotonic()
        if pending:
            self._record_all(pending, now, outcomes, sent_rows)
        for oid in ids:
            if oid not in outcomes:  # claimed a moment ago, deleted since: nothing to deliver
                log.warning("outbox %s: row vanished after it was claimed", oid)
        return [outcomes.get(oid) for oid in ids]

    def _send(self, row: Outbox, data: bytes | None, args: tuple[Any, ...]) -> tuple:
        """Hand one row to its transport: (outcome, error, data, result, retry_after)."""
        transport = self.transports.get(row.channel)
        error = None
        outcome = "sent"
        result = None
        retry_after = None
        try:
            if transport is None:
                raise PermanentFailure(f"no transport for channel {row.channel!r}")
            if args[0] is None:
                raise TemporaryFailure("the ticket's Slack thread is not posted yet")
            if isinstance(args[0], (TemporaryFailure, PermanentFailure)):
                raise args[0]  # the mail's files could not be fetched
            result = transport.send(*args)
        except TemporaryFailure as exc:
            error, outcome = str(exc), "retry"
            retry_after = getattr(exc, "retry_after", None)
        except PermanentFailure as exc:
            error, outcome = str(exc), "failed"
        except Exception as exc:  # a transport bug: retry, never lose the item
            log.exception("outbox %s: unexpected error", row.id)
            error, outcome = f"{type(exc).__name__}: {exc}", "retry"
        return outcome, error, data, result, retry_after

    def _record_all(self, pending: list[tuple], now: datetime, outcomes: dict[int, str | None],
                    read: dict[int, Outbox]) -> None:
        """Record the outcomes of a batch in one transaction. They must be recorded: a
        mail marked neither sent nor failed would be sent again when its claim runs
        out. A locked database (SQLite under a long write) is waited out, a few times,
        before giving up. `read`: the rows as read to send them (by id)."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                with self.uow.write() as s:
                    sent = [p for p in pending if p[1] == "sent"]  # every pending row was read
                    done = self._record_sent(s, [(read[p[0]], p[3], p[4]) for p in sent], now)
                    rest = [p for p in pending if p[0] not in done]
                    # the other rows in one query, held here: the session's identity map
                    # keeps objects only weakly, so without this each row was read again
                    rows = {r.id: r for r in s.scalars(
                        select(Outbox).where(Outbox.id.in_([p[0] for p in rest])))} if rest else {}
                    done.update({oid: self._record(s, rows.get(oid), oid, outcome, error, data,
                                                   result, retry_after, now)
                                 for oid, outcome, error, data, result, retry_after in rest})
                outcomes.update(done)
                return
            except OperationalError as exc:
                if attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("outbox: cannot record %d outcomes yet (%s); trying again",
                            len(pending), str(exc).splitlines()[0])
                threading.Event().wait(min(5.0, 0.5 * 2 ** (attempt - 1)))

    def _record_sent(self, s: Session, sent: list[tuple[Outbox, bytes | None, object]],
                     now: datetime) -> dict[int, str | None]:
        """Mark delivered rows sent (what _record does for "sent") with one UPDATE a
        shape of row (executemany), not through the ORM's unit of work: in a flood that
        was a third of the sender's time. Returns the rows recorded; a row deleted while
        it was on its way is left out (_record then says so)."""
        if not sent:
            return {}
        shapes: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
        for row, data, result in sent:
            one: dict[str, Any] = {"b_id": row.id}
            if row.channel == Channel.MAIL:
                one["b_payload"] = data
            if isinstance(result, dict):
                one["b_result"] = result  # e.g. Slack's channel and ts, for later updates
            shapes.setdefault(("b_payload" in one, "b_result" in one), []).append(one)
        conn = s.connection()  # Core: a claim's end makes nothing due (no lane is woken)
        changed = 0
        for (payload, result), params in shapes.items():
            stmt = update(Outbox).where(Outbox.id == bindparam("b_id")).values(
                attempts=Outbox.attempts + 1, claimed_until=None, status=OutboxStatus.SENT,
                sent_at=now, last_error=None,
                **({"payload": bindparam("b_payload")} if payload else {}),
                **({"result": bindparam("b_result")} if result else {}))
            changed += cast(CursorResult[Any], conn.execute(stmt, params)).rowcount
        ids = [row.id for row, _, _ in sent]
        present = set(ids) if changed == len(ids) and conn.dialect.supports_sane_multi_rowcount \
            else set(s.scalars(select(Outbox.id).where(Outbox.id.in_(ids))))
        roots = []
        for row, _, result in sent:
            if row.id not in present:
                continue
            log.info("outbox %s: sent %s to %s (ticket %s)", row.id, row.purpose, row.to_addr,
                     row.ticket_id)
            if row.channel == Channel.SLACK and row.purpose == "slack-root" and row.ticket_id \
                    and isinstance(result, dict):
                roots.append({"b_id": row.ticket_id, "b_channel": result.get("channel"),
                              "b_ts": result.get("ts")})
            _sent_mark(s, row, now)
        if roots:  # the ticket learns its Slack thread
            conn.execute(update(Ticket).where(
                Ticket.id == bindparam("b_id"), or_(Ticket.slack_ts.is_(None), Ticket.slack_ts == ""))
                .values(slack_channel=bindparam("b_channel"), slack_ts=bindparam("b_ts")), roots)
        return {oid: "sent" for oid in ids if oid in present}

    def _record(self, s: Session, row: Outbox | None, oid: int, outcome: str, error: str | None,
                data: bytes | None, result: object, retry_after: float | None,
                now: datetime) -> str | None:
        """Write what became of one delivery: sent (_record_sent), a retry time, or
        failed. None: the row was cancelled while it was on its way (a webhook
        subscription disabled by an earlier row of the batch) and did not go: it stays
        cancelled."""
        if row is None:  # deleted while it was being sent: nothing left to record
            log.warning("outbox %s: row vanished during delivery (%s)", oid, outcome)
            return outcome
        if row.status == OutboxStatus.CANCELLED and outcome != "sent":
            row.claimed_until = None
            log.info("outbox %s: cancelled while on its way (%s)", oid, error)
            return None
        if outcome == "sent":
            return self._record_sent(s, [(row, data, result)], now).get(oid, outcome)
        row.attempts += 1
        row.claimed_until = None
        if row.channel == Channel.MAIL:
            row.payload = data
        if outcome == "retry" and (row.attempts < self.settings.outbox_max_attempts
                                     # a webhook's transport gives up itself, after days
                                     or row.channel == Channel.WEBHOOK):
            row.last_error = error
            delay = backoff(row.attempts, self.settings.outbox_retry_base,
                            self.settings.outbox_retry_max)
            if retry_after:  # the other side said when (a 429's Retry-After)
                delay = max(delay, timedelta(seconds=retry_after))
            row.next_attempt_at = now + delay
            log.warning("outbox %s: attempt %d failed (%s); next try %s", oid, row.attempts,
                        error, row.next_attempt_at.isoformat())
        else:
            outcome = "failed"
            row.status = OutboxStatus.FAILED
            row.last_error = error
            _mail_instead(s, row, now, self.settings.mail_domain)
            if row.ticket_id is not None:
                s.add(Event(ticket_id=row.ticket_id, at=now, actor="system",
                            action="delivery-failed",
                            detail={"outbox": row.id, "to": row.to_addr,
                                    "purpose": row.purpose, "attempts": row.attempts},
                            reason=error))
                ticket = s.get(Ticket, row.ticket_id)
                if ticket is not None and row.channel == Channel.MAIL:
                    ticket.bounced = True
            log.error("outbox %s: gave up after %d attempts: %s (ticket %s)", oid,
                      row.attempts, error, row.ticket_id)
        return outcome


def _in_order() -> ColumnElement[bool]:
    """A webhook delivery waits while an earlier one to the same subscription about the
    same ticket is still queued (retrying): receivers get each ticket's events in order."""
    earlier = aliased(Outbox)
    return or_(Outbox.channel != Channel.WEBHOOK, Outbox.ticket_id.is_(None), ~exists().where(
        earlier.channel == Channel.WEBHOOK, earlier.ticket_id == Outbox.ticket_id,
        earlier.to_addr == Outbox.to_addr, earlier.status == OutboxStatus.QUEUED,
        earlier.id < Outbox.id))


def _in_thread(s: Session, row: Outbox) -> Outbox | SimpleNamespace | None:
    """A Slack post into a ticket's thread ({"thread_of": ticket} in its payload) goes to
    the thread's channel with its ts; None while the thread's root is not posted yet."""
    try:
        payload = json.loads(row.payload or b"{}")
    except ValueError:
        return row  # the transport refuses it, permanently
    ticket_id = payload.pop("thread_of", None) if isinstance(payload, dict) else None
    if ticket_id is None:
        return row
    ticket = s.get(Ticket, ticket_id)
    if ticket is None or not ticket.slack_ts:
        return None
    payload.setdefault("args", {})["thread_ts"] = ticket.slack_ts
    return SimpleNamespace(to_addr=ticket.slack_channel, payload=json.dumps(payload).encode(),
                           id=row.id, purpose=row.purpose, ticket_id=row.ticket_id)


def _sent_mark(s: Session, row: Outbox, now: datetime) -> None:
    """A reply that came from a Slack message gets a reaction there once it is sent."""
    ref = (row.headers or {}).get("slack_ref") if row.channel == Channel.MAIL else None
    if ref:
        channel, _, ts = ref.partition(":")
        s.add(Outbox(ticket_id=row.ticket_id, channel=Channel.SLACK, purpose="slack-sent-mark",
                     automatic=True, to_addr=channel, subject="", status=OutboxStatus.QUEUED, attempts=0,
                     payload=json.dumps({"method": "reactions.add",
                                         "args": {"timestamp": ts, "name": "email"}}).encode(),
                     next_attempt_at=now, created_at=now))


def _mail_instead(s: Session, row: Outbox, now: datetime, domain: str) -> None:
    """A notice Slack could not deliver for good (the person is deactivated or unknown
    there) goes by mail: nobody misses a notice because of Slack."""
    fallback = (row.headers or {}).get("fallback_email") if row.channel == Channel.SLACK else None
    if not fallback:
        return
    s.add(Outbox(ticket_id=row.ticket_id, channel=Channel.MAIL, purpose=row.purpose, automatic=False,
                 to_addr=fallback, subject=row.subject, body_text=row.body_text,
                 body_html=row.body_html, template=row.template, language=row.language,
                 message_id=new_message_id(domain, row.ticket_id),
                 headers={"automatic": True, "language": row.language, "thread_topic": row.subject},
                 status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=now, created_at=now))
    log.warning("outbox %s: Slack could not deliver it; mailed to %s instead", row.id, fallback)


def _with_file(s: Session, target: Outbox | SimpleNamespace | None
               ) -> Outbox | SimpleNamespace | None:
    """A Slack file upload ({"attachment": id} in its payload) carries the stored
    attachment's bytes to the transport as ``file``."""
    if target is None:
        return None
    try:
        payload = json.loads(target.payload or b"{}")
    except ValueError:
        return target
    attachment_id = payload.get("attachment") if isinstance(payload, dict) else None
    if attachment_id is None:
        return target
    content = s.scalar(select(Attachment.content).where(Attachment.id == attachment_id))
    if content is None:
        return target  # gone (the ticket was deleted): the transport refuses the empty upload
    payload.pop("attachment")
    return SimpleNamespace(to_addr=target.to_addr, payload=json.dumps(payload).encode(),
                           id=target.id, purpose=target.purpose, ticket_id=target.ticket_id,
                           file=content)

