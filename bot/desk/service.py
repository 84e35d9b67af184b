"""The service layer: the only place that composes parsing, correlation and storage.

One inbound message -> one call -> one transaction; the outgoing mail it causes is
written to the outbox in that same transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.core import correlation
from bot.core.domain import InboundMessage
from bot.core.mail import threadindex
from bot.core.mail.compose import new_message_id
from bot.core.mail.prepare import IngestResult, Prepared, prepare
from bot.core.render import Renderer
from bot.core.rules.schema import RuleSet
from bot.core.time import sla_policy as sla
from bot.desk import cancellation_workflow as cancellations
from bot.desk import directory, notify, routing
from bot.desk import sla_state as clocks
from bot.desk import slack_desk as slackdesk
from bot.desk import staff_mail as staffmail
from bot.desk.errors import Refused
from bot.store.models import (
    Attachment,
    Event,
    Message,
    Outbox,
    RawMail,
    Spool,
    Task,
    Ticket,
)

log = logging.getLogger("bot.ingest")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Service:
    def __init__(self, settings: Settings, sessions: sessionmaker, clock: Clock = utcnow,
                 renderer: Renderer | None = None, rules=None):
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.renderer = renderer or Renderer(settings.templates_dir, settings.default_language)
        self.on_commit: Callable[[], None] | None = None  # e.g. wake the outbox sender
        # A RuleSet, or a RulesHolder whose rules can change while we run.
        self.rules = rules if rules is not None else RuleSet.fallback(settings.default_owner)

    @property
    def ruleset(self) -> RuleSet:
        return getattr(self.rules, "current", self.rules)

    # ------------------------------------------------------------------ intake
    def ingest_raw(self, raw: bytes, source: str) -> IngestResult:
        return self.ingest_prepared([prepare(raw, source, self.settings.all_own_addresses)])[0]

    def ingest_prepared(self, items: Sequence[Prepared]) -> list[IngestResult]:
        """Store a batch in one transaction; on any failure redo them one by one, so one
        bad mail is quarantined and the others still land. Raises only when the database
        itself cannot be written (callers must then not mark the mails processed)."""
        if not items:
            return []
        now = self.clock()
        try:
            with self.sessions() as s, s.begin():
                results = self._ingest_many(s, items, now)
            self._committed()
            return results
        except SQLAlchemyError as exc:
            if len(items) == 1 and not isinstance(exc, IntegrityError):
                raise
            log.warning("batch of %d failed (%s); retrying one by one", len(items), exc)
        except Exception:
            log.exception("batch of %d failed; retrying one by one", len(items))
        results = [self._ingest_one_safely(item, now) for item in items]
        self._committed()
        return results

    def _committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()

    def _ingest_one_safely(self, item: Prepared, now: datetime) -> IngestResult:
        try:
            with self.sessions() as s, s.begin():
                return self._ingest_many(s, [item], now)[0]
        except IntegrityError as exc:
            if self._is_stored(item):
                # Stored meanwhile by another intake (IMAP and SMTP at once): a duplicate.
                if item.spool_id is not None:
                    with self.sessions() as s, s.begin():
                        s.execute(delete(Spool).where(Spool.id == item.spool_id))
                return IngestResult(item.source, "duplicate", self._ticket_of_key(item))
            error = exc  # another constraint: a bug or bad data; keep the mail, quarantined
        except SQLAlchemyError:
            raise
        except Exception as exc:
            error = exc
        return self._quarantine(item, now, error)

    def _is_stored(self, item: Prepared) -> bool:
        key = correlation.dedupe_key(item.message.message_id if item.message else None, item.sha256)
        with self.sessions() as s:
            return s.scalar(select(RawMail.id).where(RawMail.dedupe_key == key)) is not None

    def _quarantine(self, item: Prepared, now: datetime, exc: Exception) -> IngestResult:
        """Keep the raw bytes with the reason, so nothing is lost and an operator can
        re-ingest after a fix."""
        log.error("could not process %s (%s: %s); quarantined", item.source,
                  type(exc).__name__, exc, exc_info=exc)
        with self.sessions() as s, s.begin():
            if item.spool_id is not None:
                s.execute(delete(Spool).where(Spool.id == item.spool_id))
            s.add(self._raw(item, now, "quarantined", f"{type(exc).__name__}: {exc}"[:2000]))
        return IngestResult(item.source, "quarantined", None,
                            ["processing failed: " + f"{type(exc).__name__}: {exc}"[:500]],
                            reason="processing failed")

    def _ticket_of_key(self, item: Prepared) -> int | None:
        key = correlation.dedupe_key(item.message.message_id if item.message else None, item.sha256)
        with self.sessions() as s:
            return s.scalar(select(RawMail.ticket_id).where(RawMail.dedupe_key == key))

    def _raw(self, item: Prepared, now: datetime, status: str, error: str | None = None,
             ticket: Ticket | None = None) -> RawMail:
        key = correlation.dedupe_key(item.message.message_id if item.message else None, item.sha256)
        return RawMail(dedupe_key=key, sha256=item.sha256, size=len(item.raw), content=item.raw,
                       source=item.source[:200], status=status, error=error,
                       ticket=ticket, received_at=now)

    def _ingest_many(self, s: Session, items: Sequence[Prepared], now: datetime) -> list[IngestResult]:
        keys = [correlation.dedupe_key(i.message.message_id if i.message else None, i.sha256)
                for i in items]
        known = dict(s.execute(select(RawMail.dedupe_key, RawMail.ticket_id)
                               .where(RawMail.dedupe_key.in_(set(keys)))).all())
        # Automatic mails already sent to each sender in the last 24 h, read once per
        # batch (not once per mail); queue_mail keeps the counts current.
        senders = {i.message.from_addr for i in items if i.message and i.message.from_addr}
        s.info["auto_sent"] = self._auto_sent(s, senders, now)
        directory.prefetch(s, senders)
        spooled = [i.spool_id for i in items if i.spool_id is not None]
        if spooled:
            s.execute(delete(Spool).where(Spool.id.in_(spooled)))
        # Phase 1: decide and stage every mail without touching the database, so the
        # ORM can write each table's rows in one batched INSERT at the flush below.
        s.info["pending_ids"] = {}  # Message-ID -> Ticket, for replies within the batch
        s.info["acks"] = []
        s.info["after_flush"] = []
        results = []
        for item, key in zip(items, keys):
            if key in known:
                results.append(IngestResult(item.source, "duplicate", None,
                                            item.message.warnings if item.message else [],
                                            _ticket_obj=known[key]))
                continue
            with s.no_autoflush:
                result = self._ingest(s, item, now)
            known[key] = result._ticket_obj
            results.append(result)
        s.flush()
        # Phase 2: now that tickets have numbers, write the acknowledgements.
        for ticket, msg, template, extra in s.info.pop("acks"):
            self._acknowledge(s, ticket, msg, now, template, extra)
            log.info("ticket %s: created from %s, %s for %s", ticket.id, msg.from_addr or "?",
                     ticket.kind, ticket.owner)
        for fn in s.info.pop("after_flush"):
            fn()
        for r in results:
            t = r._ticket_obj
            r.ticket = t if isinstance(t, int) or t is None else t.id
            r._ticket_obj = None  # results outlive the session: don't keep its objects alive
        return results

    def _ingest(self, s: Session, item: Prepared, now: datetime) -> IngestResult:
        msg = item.message
        if msg is None:
            s.add(self._raw(item, now, "quarantined", item.error))
            log.warning("quarantined %s: %s", item.source, item.error)
            return IngestResult(item.source, "quarantined", None, [item.error or "unreadable"],
                                reason=item.error)
        own = self.settings.all_own_addresses
        loop = msg.headers.get("x-loop", "").strip().lower()
        if msg.from_addr in own or (loop and loop in own):
            s.add(self._raw(item, now, "ignored", "sent by ourselves"))
            log.info("ignored %s: sent by ourselves (%s)", item.source, msg.from_addr)
            return IngestResult(item.source, "ignored", None, msg.warnings, reason="own address")

        match = correlation.correlate(
            msg, self.settings.tag_prefix,
            lambda ids: self._ticket_by_message_ids(s, ids),
            lambda n: s.get(Ticket, n),
        )
        if msg.is_bounce:
            if match.ticket is None:
                s.add(self._raw(item, now, "ignored", "delivery report for no known mail"))
                return IngestResult(item.source, "ignored", None, msg.warnings,
                                    reason="bounce for unknown mail")
            ticket = match.ticket
            self._add_message(s, ticket, item, now)
            ticket.bounced = True
            ticket.updated_at = now
            self._event(s, ticket, now, "system", "bounce",
                        {"reported": msg.bounced_message_ids}, "a mail we sent was not delivered")
            s.add(self._raw(item, now, "appended", ticket=ticket))
            log.warning("ticket %s: delivery failure reported for %s", ticket.id,
                        msg.bounced_message_ids)
            return IngestResult(item.source, "appended", None, msg.warnings, _ticket_obj=ticket)

        linked: Ticket | None = None
        why_linked: str | None = None
        if match.ticket is not None:
            ticket = match.ticket
            person, verified = staffmail.author(s, self, msg)
            if person is not None:  # a colleague answering by mail: a note or a command
                summary = staffmail.handle(s, self, ticket, msg, person, verified, now)
                self._event(s, ticket, now, person.key, "staff-mail", {"verified": verified},
                            summary)
                s.add(self._raw(item, now, "appended", ticket=ticket))
                log.info("ticket %s: staff mail, %s", ticket.id, summary)
                return IngestResult(item.source, "appended", None, msg.warnings,
                                    _ticket_obj=ticket)
            decision = correlation.reopen_decision(ticket.status, ticket.resolved_at, now,
                                                   self.settings.reopen_days)
            if decision == "new-linked":
                why_linked = (f"reply to ticket {ticket.id}, resolved more than "
                              f"{self.settings.reopen_days} days ago")
            elif self._cancellation_in_reply(s, ticket, msg, now):
                # Procedure S 3.4 must run (contract, notice, advisor): its own ticket,
                # linked to the conversation it arrived in.
                decision = "new-linked"
                why_linked = f"a written cancellation, sent as a reply to ticket {ticket.id}"
            if decision != "new-linked":
                was_status, was_resolved_at = ticket.status, ticket.resolved_at
                self._add_message(s, ticket, item, now)
                ticket.updated_at = now
                if decision == "reopen":
                    old = ticket.status
                    ticket.status = "open"
                    ticket.resolved_at = None
                    self._event(s, ticket, now, f"customer:{msg.from_addr}", "reopened",
                                {"from": old, "to": "open"}, "the customer replied")
                elif ticket.status == "waiting":
                    ticket.status = "open"
                    self._event(s, ticket, now, f"customer:{msg.from_addr}", "status",
                                {"from": "waiting", "to": "open"}, "the customer replied")
                clocks.customer_wrote(s, self.ruleset, ticket, now, was_status=was_status,
                                      was_resolved_at=was_resolved_at)
                slackdesk.customer_wrote(s, self, ticket, msg.visible_text or msg.text,
                                         msg.from_name or msg.from_addr or "The customer", now)
                self._event(s, ticket, now, f"customer:{msg.from_addr}", "message",
                            {"how": match.how, "message_id": msg.message_id})
                s.add(self._raw(item, now, "appended", ticket=ticket))
                log.info("ticket %s: message appended (%s)", ticket.id, match.how)
                return IngestResult(item.source, "appended", None, msg.warnings,
                                    _ticket_obj=ticket)
            linked = ticket

        rs = self.ruleset
        ident, decision = routing.decide(s, rs, msg, now)
        if decision.ignore:
            s.add(self._raw(item, now, "ignored", f"rule {decision.rule}: ignore"))
            log.info("ignored %s: rule %s", item.source, decision.rule)
            return IngestResult(item.source, "ignored", None, msg.warnings,
                                reason=f"rule {decision.rule}")
        ticket = self._new_ticket(s, msg, now, linked)
        self._add_message(s, ticket, item, now)
        self._event(s, ticket, now, f"customer:{msg.from_addr}" if msg.from_addr else "system",
                    "created", {"channel": msg.channel.value, "source": item.source.split(":")[0],
                                "linked_to": linked.id if linked else None},
                    why_linked)
        routing.apply_decision(s, ticket, ident, decision, now)
        clocks.start(s, rs, ticket)
        s.add(self._raw(item, now, "created", ticket=ticket))
        extra: dict = {}
        if rs.kinds.get(decision.kind) and rs.kinds[decision.kind].workflow == "cancellation":
            c = cancellations.open_cancellation(s, ticket, msg, now, self.settings.timezone,
                                                received_at=_received_at(item, now))
            extra = cancellations.ack_context(c, ticket.language)
            s.info["after_flush"].append(lambda: self._cancellation_copy(s, ticket, c, msg, now))
        s.info["acks"].append((ticket, msg, decision.ack, extra))
        s.info["after_flush"].append(lambda: notify.new_ticket(s, self, ticket, msg, ident, now))
        return IngestResult(item.source, "created", None, msg.warnings, _ticket_obj=ticket)

    def _cancellation_in_reply(self, s: Session, ticket: Ticket, msg: InboundMessage,
                               now: datetime) -> bool:
        rs = self.ruleset
        kind = rs.kinds.get(ticket.kind)
        if kind is not None and kind.workflow == "cancellation":
            return False  # a reply in a cancellation's own conversation
        _, d = routing.decide(s, rs, msg, now)
        new_kind = rs.kinds.get(d.kind)
        return not d.ignore and new_kind is not None and new_kind.workflow == "cancellation"

    def _ticket_by_message_ids(self, s: Session, ids: list[str]) -> Ticket | None:
        pending = s.info.get("pending_ids", {})
        rows = s.execute(select(Message.message_id, Message.ticket_id)
                         .where(Message.message_id.in_(ids))).all()
        by_id = {mid: t for mid, t in rows}
        for mid in ids:  # most specific first
            if mid in pending:
                return pending[mid]
            if mid in by_id:
                return s.get(Ticket, by_id[mid])
        return None

    def _new_ticket(self, s: Session, msg: InboundMessage, now: datetime,
                    linked: Ticket | None) -> Ticket:
        subject = correlation.clean_subject(msg.subject, self.settings.tag_prefix)
        thread_index = msg.headers.get("thread-index", "").strip()
        if not threadindex.is_valid(thread_index) or len(thread_index) > 200:
            thread_index = threadindex.new_thread_index(now)
        ticket = Ticket(
            kind="question", status="new", subject=subject[:2000] or "(no subject)",
            contact_email=msg.from_addr or None, contact_name=msg.from_name or None,
            owner=self.settings.default_owner, priority="normal", channel=msg.channel.value,
            language=msg.language or self.settings.default_language,
            linked_ticket_id=linked.id if linked else None, thread_index=thread_index,
            created_at=now, updated_at=now,
            slack_channel=msg.slack_channel, slack_ts=msg.slack_ts,  # opened in Slack: its thread
        )
        s.add(ticket)
        return ticket

    def _add_message(self, s: Session, ticket: Ticket, item: Prepared, now: datetime) -> Message:
        msg = item.message
        m = Message(
            ticket=ticket, direction="in", channel=msg.channel.value,
            message_id=(msg.message_id or None) and msg.message_id[:400],
            in_reply_to=" ".join(msg.in_reply_to) or None,
            references=" ".join(msg.references) or None,
            from_addr=msg.from_addr[:320], from_name=msg.from_name[:200],
            to_addrs=", ".join(msg.to), cc_addrs=", ".join(msg.cc), subject=msg.subject,
            text=msg.text, visible_text=msg.visible_text, html=msg.html,
            auto_reason=msg.auto_reason, is_bounce=msg.is_bounce,
            warnings="\n".join(msg.warnings) or None, sent_date=msg.date, created_at=now,
        )
        for a in msg.attachments:
            m.attachments.append(Attachment(
                filename=a.filename, content_type=a.content_type, size=a.size,
                sha256=hashlib.sha256(a.content).hexdigest(), inline=a.inline,
                content_id=a.content_id, content=a.content))
        s.add(m)
        if msg.message_id:
            s.info.setdefault("pending_ids", {})[msg.message_id] = ticket
        return m

    def _event(self, s: Session, ticket: Ticket | None, now: datetime, actor: str, action: str,
               detail: dict | None = None, reason: str | None = None) -> None:
        s.add(Event(ticket=ticket, at=now, actor=actor[:200],
                    action=action, detail=detail, reason=reason))

    # ------------------------------------------------------------------ spool
    def ingest_slack(self, *, channel: str, ts: str, user: str, text: str, email: str = "",
                     name: str = "") -> IngestResult:
        """A Slack message that opens a ticket (an intake channel, or a DM to the bot):
        routed by the same rules; its thread is the ticket's thread. Re-sent events are
        duplicates by their (channel, ts)."""
        from bot.core.domain import Channel

        raw = json.dumps({"channel": channel, "ts": ts, "user": user, "text": text},
                         ensure_ascii=False).encode()
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "(no text)")
        msg = InboundMessage(channel=Channel.SLACK, raw=raw, message_id=f"slack.{channel}.{ts}@slack",
                             from_addr=email, from_name=name, subject=first[:120], text=text,
                             visible_text=text, slack_channel=channel, slack_ts=ts)
        item = Prepared(f"slack:{channel}/{ts}", raw, hashlib.sha256(raw).hexdigest(), msg)
        return self.ingest_prepared([item])[0]

    def spool(self, raw: bytes, source: str) -> int:
        """Commit the bytes of a mail accepted over SMTP; a ticket is made from it later."""
        with self.sessions() as s, s.begin():
            row = Spool(source=source[:200], content=raw, received_at=self.clock())
            s.add(row)
            s.flush()
            return row.id

    def pending_spool(self, limit: int) -> list[tuple[int, str, bytes, datetime]]:
        with self.sessions() as s:
            return [tuple(r) for r in s.execute(
                select(Spool.id, Spool.source, Spool.content, Spool.received_at)
                .order_by(Spool.id).limit(limit))]

    # ------------------------------------------------------------------ outgoing
    def _acknowledge(self, s: Session, ticket: Ticket, msg: InboundMessage, now: datetime,
                     template: str | bool = "ack", extra: dict | None = None) -> None:
        why_not = ("the rule that routed it sends none" if template is False
                   else "opened in Slack: answered in its thread" if msg.channel.value == "slack"
                   else self._no_auto_mail_reason(s, msg, now))
        if why_not:
            self._event(s, ticket, now, "system", "ack-skipped", None, why_not)
            log.info("ticket %s: no acknowledgement (%s)", ticket.id, why_not)
            return
        tag = correlation.format_tag(self.settings.tag_prefix, ticket.id)
        self.queue_mail(
            s, ticket, now, purpose="ack", template=template if isinstance(template, str) else "ack",
            to_addr=msg.from_addr, automatic=True, reply_to=msg,
            context={"tag": tag, "subject": ticket.subject, "name": msg.from_name,
                     "desk": self.settings.address_name, "ticket": ticket.id, **(extra or {})},
        )

    def _cancellation_copy(self, s: Session, ticket: Ticket, c, msg: InboundMessage,
                           now: datetime) -> None:
        """Procedure S 3.4: a copy of the cancellation goes to the advisor."""
        rs = self.ruleset
        person = rs.people.get(ticket.owner)
        if person is None:
            return
        lang = rs.default_language
        self.queue_mail(
            s, ticket, now, purpose="cancellation-copy", template="cancellation-copy",
            to_addr=person.email, automatic=False, reply_to=msg, language=lang,
            context={"tag": correlation.format_tag(self.settings.tag_prefix, ticket.id),
                     "subject": ticket.subject,
                     **cancellations.copy_context(c, ticket, rs, msg, lang, self.settings.timezone)})

    def _no_auto_mail_reason(self, s: Session, msg: InboundMessage, now: datetime) -> str | None:
        if msg.auto_reason:
            return f"automatic mail ({msg.auto_reason})"
        if not msg.from_addr:
            return "no sender address"
        limit = self.settings.auto_reply_limit
        counts = s.info.get("auto_sent")
        if counts is None or msg.from_addr not in counts:
            counts = s.info.setdefault("auto_sent", {})
            counts.update(self._auto_sent(s, {msg.from_addr}, now))
        sent = counts[msg.from_addr]
        if sent >= limit:
            return f"rate limit: {sent} automatic mails to {msg.from_addr} in 24 h"
        return None

    def _auto_sent(self, s: Session, addrs: set[str], now: datetime) -> dict[str, int]:
        if not addrs:
            return {}
        with s.no_autoflush:
            rows = s.execute(select(Outbox.to_addr, func.count(Outbox.id)).where(
                Outbox.to_addr.in_(addrs), Outbox.automatic.is_(True),
                Outbox.created_at > now - timedelta(hours=24)).group_by(Outbox.to_addr)).all()
        counts = dict.fromkeys(addrs, 0)
        counts.update({a: n for a, n in rows})
        return counts

    def queue_mail(self, s: Session, ticket: Ticket, now: datetime, *, purpose: str,
                   template: str, to_addr: str, context: dict, automatic: bool,
                   reply_to: InboundMessage | None = None, language: str | None = None) -> Outbox:
        """Write an outgoing mail to the outbox and record it on the ticket, threaded."""
        mid = new_message_id(self.settings.mail_domain, ticket.id)
        refs: list[str] = []
        in_reply_to = None
        parent_index = None
        if reply_to is not None:
            refs = [*reply_to.references, *([reply_to.message_id] if reply_to.message_id else [])]
            in_reply_to = reply_to.message_id
            parent_index = reply_to.headers.get("thread-index")
        if parent_index and threadindex.is_valid(parent_index):
            index = threadindex.child_thread_index(parent_index, now)
        else:
            index = threadindex.child_thread_index(ticket.thread_index, now)
        headers = {"in_reply_to": in_reply_to, "references": refs, "thread_index": index,
                   "thread_topic": ticket.subject, "automatic": automatic,
                   "language": language or ticket.language}
        rendered = self.renderer.render_mail(template, language or ticket.language, context)
        row = Outbox(ticket_id=ticket.id, channel="mail", purpose=purpose, automatic=automatic,
                     to_addr=to_addr, subject=rendered.subject, message_id=mid,
                     template=template, language=rendered.language, body_text=rendered.text,
                     body_html=rendered.html, headers=headers, status="queued", attempts=0,
                     next_attempt_at=now, created_at=now)
        s.add(row)
        if automatic and "auto_sent" in s.info:
            counts = s.info["auto_sent"]
            counts[to_addr] = counts.get(to_addr, 0) + 1
        s.add(Message(ticket_id=ticket.id, direction="out", channel="mail", message_id=mid,
                      in_reply_to=in_reply_to, references=" ".join(refs) or None,
                      from_addr=self.settings.address, from_name=self.settings.address_name,
                      to_addrs=to_addr, cc_addrs="", subject=rendered.subject,
                      text=rendered.text, visible_text=rendered.text, html=rendered.html,
                      outbox=row, created_at=now))
        return row

    # ------------------------------------------------------------------ queries
    def list_tickets(self, status: str | None = None, limit: int = 1000) -> list[dict]:
        with self.sessions() as s:
            q = select(Ticket).order_by(Ticket.id)
            if status:
                q = q.where(Ticket.status == status)
            return [_ticket_dict(t, self.settings.tag_prefix) for t in s.scalars(q.limit(limit))]

    def ticket_detail(self, number: int) -> dict | None:
        with self.sessions() as s:
            t = s.get(Ticket, number)
            if t is None:
                return None
            d = _ticket_dict(t, self.settings.tag_prefix)
            outbox = {o.id: o for o in s.scalars(select(Outbox).where(Outbox.ticket_id == t.id))}
            d["messages"] = [{
                "id": m.id, "direction": m.direction, "channel": m.channel,
                "message_id": m.message_id, "from": m.from_addr, "from_name": m.from_name,
                "to": m.to_addrs, "cc": m.cc_addrs, "subject": m.subject,
                "text": m.visible_text or m.text, "full_text": m.text,
                "date": _iso(m.sent_date or m.created_at), "bounce": m.is_bounce,
                "automatic": m.auto_reason, "warnings": m.warnings.split("\n") if m.warnings else [],
                "delivery": outbox[m.outbox_id].status if m.outbox_id in outbox else None,
                "attachments": [{"name": a.filename, "type": a.content_type, "size": a.size,
                                 "inline": a.inline} for a in m.attachments],
            } for m in t.messages]
            d["watchers"] = [w.person for w in t.watchers]
            d["cancellation"] = _cancellation_dict(t.cancellation) if t.cancellation else None
            d["tasks"] = [_task_dict(x) for x in s.scalars(
                select(Task).where(Task.ticket_id == t.id).order_by(Task.id))]
            d["events"] = [{"at": _iso(e.at), "actor": e.actor, "action": e.action,
                            "detail": e.detail, "reason": e.reason} for e in t.events]
            return d

    # ------------------------------------------------------------------ staff actions
    def _ticket_or_refuse(self, s: Session, number: int) -> Ticket:
        ticket = s.get(Ticket, number)
        if ticket is None:
            raise Refused(f"no ticket {number}")
        return ticket

    def reassign(self, number: int, target: str, by: str, reason: str) -> str:
        with self.sessions() as s, s.begin():
            ticket = self._ticket_or_refuse(s, number)
            person = routing.reassign(s, self.ruleset, ticket, target, by, reason, self.clock())
        self._committed()
        return person

    def cancellation_outcome(self, number: int, outcome: str, reason: str | None, by: str) -> dict:
        with self.sessions() as s, s.begin():
            ticket = self._ticket_or_refuse(s, number)
            now = self.clock()
            c = cancellations.record_outcome(s, self.ruleset, ticket, outcome, reason, by,
                                             now, self.settings.timezone)
            s.flush()
            if outcome == "lost":
                self._tell_revoke(s, ticket, c, now)
            result = _cancellation_dict(c)
        self._committed()
        return result

    def explain(self, raw: bytes, source: str = "file") -> dict:
        """How a mail would be routed, without storing anything."""
        item = prepare(raw, source, self.settings.all_own_addresses)
        if item.message is None:
            raise Refused(f"{source}: {item.error}")
        msg = item.message
        now = self.clock()
        with self.sessions() as s:
            ident, decision = routing.decide(s, self.ruleset, msg, now, create=False)
            out = {"sender": {"email": ident.email, "name": ident.name, "company": ident.company_name,
                              "advisor": ident.advisor, "known_contact": ident.known_contact,
                              "known_company": ident.known_company, "prospect": ident.prospect,
                              "how": ident.how},
                   "subject": msg.subject, "language": msg.language,
                   "rules": self.ruleset.source, **decision.as_dict()}
            kind = self.ruleset.kinds.get(decision.kind)
            if kind is not None and kind.workflow == "cancellation":
                from bot.core import contracts
                from bot.desk import directory

                received = cancellations.local_date(now, self.settings.timezone)
                contract = (directory.find_contract(s, ident.company_id, received)
                            if ident.company_id else None)
                if contract is None:
                    out["cancellation"] = {"contract": None, "received": received.isoformat()}
                else:
                    o = contracts.notice_outcome(received, contract.end,
                                                 auto_renew=contract.auto_renew,
                                                 term_months=contract.term_months,
                                                 notice_months=contract.notice_months)
                    out["cancellation"] = {
                        "contract": contract.reference, "received": received.isoformat(),
                        "in_time": o.in_time, "deadline": _iso_date(o.deadline),
                        "effective_end": _iso_date(o.effective_end), "explanation": o.explanation}
            s.rollback()
        return out

    def complaint_kinds(self) -> set[str]:
        """Kinds timed as complaints: `complaint` and any kind with `sla: complaint`."""
        return {"complaint"} | {k.name for k in self.ruleset.kinds.values() if k.sla == "complaint"}

    def open_complaints(self, now: datetime | None = None) -> list[dict]:
        """Rows of the open-complaints report, oldest first (bot/report.py)."""
        from bot.core import report

        now = now or self.clock()
        with self.sessions() as s:
            tickets = s.scalars(select(Ticket).where(
                Ticket.kind.in_(self.complaint_kinds()),
                Ticket.status.not_in(("resolved", "closed")), Ticket.created_at <= now))
            rs = self.ruleset
            data = [{"number": t.id, "tag": correlation.format_tag(self.settings.tag_prefix, t.id),
                     "subject": t.subject, "customer": t.customer, "contact": t.contact_email,
                     "owner": t.owner, "status": t.status, "created": t.created_at,
                     "first_action": t.first_action_at, "action_due": t.action_due_at,
                     "sla_state": sla.state(clocks.policy_of(rs, t), clocks.clock_state(t), now),
                     "resolution_due": t.resolution_due_at}
                    for t in tickets]
        return report.build_rows(data, now)

    def _tell_revoke(self, s: Session, ticket: Ticket, c, now: datetime) -> None:
        """Procedure S 3.4: sales support is told, so the website access is revoked."""
        from zoneinfo import ZoneInfo

        from bot.core.cancellation_text import format_date

        rs = self.ruleset
        task = s.scalars(select(Task).where(Task.ticket_id == ticket.id,
                                            Task.kind == "revoke-website-access")
                         .order_by(Task.id.desc())).first()
        person = rs.people.get(task.assignee) if task else None
        if person is None:
            return
        lang = rs.default_language
        due = task.due_at.astimezone(ZoneInfo(self.settings.timezone))
        self.queue_mail(
            s, ticket, now, purpose="task", template="revoke-access", to_addr=person.email,
            automatic=False, language=lang,
            context={"tag": correlation.format_tag(self.settings.tag_prefix, ticket.id),
                     "assignee_name": person.name, "customer": ticket.customer or ticket.contact_email,
                     "decided_by": c.decided_by, "reason": c.outcome_reason or "",
                     "contract": c.contract.reference if c.contract else None,
                     "effective_end": format_date(c.effective_end, lang),
                     "due": f"{format_date(due.date(), lang)} {due:%H:%M}", "task": task.id})

    def set_field(self, number: int, name: str, value: str, by: str) -> dict:
        """Record one of the ticket kind's extra fields (rules.yaml `kinds: ... fields`)."""
        now = self.clock()
        with self.sessions() as s, s.begin():
            ticket = self._ticket_or_refuse(s, number)
            kind = self.ruleset.kinds.get(ticket.kind)
            allowed = kind.fields if kind else ()
            if name not in allowed:
                raise Refused(f"kind {ticket.kind!r} has no field {name!r}; its fields: "
                              f"{', '.join(allowed) or 'none (add them in rules.yaml)'}")
            fields = dict(ticket.fields or {})
            old = fields.get(name)
            fields[name] = value
            ticket.fields = fields  # a new dict: JSON columns see assignment, not mutation
            ticket.updated_at = now
            s.add(Event(ticket=ticket, at=now, actor=by, action="field",
                        detail={"field": name, "from": old, "to": value}))
            return dict(fields)

    def complete_task(self, task_id: int, by: str, note: str | None = None) -> dict:
        """Mark a task done; revoking website access also records it on the company."""
        from bot.store.models import Company

        now = self.clock()
        with self.sessions() as s, s.begin():
            task = s.get(Task, task_id)
            if task is None:
                raise Refused(f"no task {task_id}")
            if task.done_at is not None:
                raise Refused(f"task {task_id} was already done on {task.done_at:%Y-%m-%d %H:%M} UTC")
            task.done_at = now
            ticket = s.get(Ticket, task.ticket_id) if task.ticket_id else None
            detail: dict = {"task": task.id, "kind": task.kind}
            if task.kind == "revoke-website-access" and ticket is not None and ticket.company_id:
                company = s.get(Company, ticket.company_id)
                company.website_access = False
                company.updated_at = now
                detail["company"] = company.name
                detail["website_access"] = False
            if ticket is not None:
                s.add(Event(ticket=ticket, at=now, actor=by, action="task-done", detail=detail,
                            reason=note))
            s.flush()
            result = _task_dict(task)
        return result

    def list_tasks(self, open_only: bool = True) -> list[dict]:
        with self.sessions() as s:
            q = select(Task).order_by(Task.due_at, Task.id)
            if open_only:
                q = q.where(Task.done_at.is_(None))
            return [_task_dict(t) for t in s.scalars(q)]

    def sweep(self, now: datetime) -> dict[str, int]:
        """Everything time-based that is due as of `now` (the clock process calls this
        every minute; `ticketbot sweep --now` runs it by hand): SLA reminders and
        escalations, then the scheduled jobs (weekly report, contracts ending) whose
        time has come. Each notice and each job run happens exactly once."""
        from bot.desk import jobs

        counts = clocks.sweep(self, now)
        counts.update(jobs.run_due(self, now))
        if any(v for k, v in counts.items() if k != "tickets"):
            self._committed()
        return counts

    # ------------------------------------------------------------------ working a ticket
    def reply(self, number: int, text: str, by: str, delay_seconds: float = 0) -> dict:
        """Staff answer the customer by mail, threaded with their last mail. Counts as
        an action. `delay_seconds`: the mail waits that long in the outbox (undo window)."""
        now = self.clock()
        with self.sessions() as s, s.begin():
            t = self._ticket_or_refuse(s, number)
            row = self._reply(s, t, now, text, by, delay_seconds)
            s.flush()
            result = {"outbox": row.id, "message_id": row.message_id,
                      "send_at": _iso(row.next_attempt_at)}
        self._committed()
        return result

    def _reply(self, s: Session, t: Ticket, now: datetime, text: str, by: str,
               delay_seconds: float = 0) -> Outbox:
        if not t.contact_email:
            raise Refused(f"ticket {t.id} has no customer address to reply to")
        if not text.strip():
            raise Refused("the reply is empty")
        row = self.queue_mail(
            s, t, now, purpose="reply", template="reply", to_addr=t.contact_email,
            automatic=False, reply_to=self._last_inbound(s, t),
            context=self.reply_context(t, text, by))
        row.next_attempt_at = now + timedelta(seconds=delay_seconds)
        self._acted(s, t, now, by, "reply")
        return row

    def reply_context(self, t: Ticket, text: str, by: str) -> dict:
        """What templates/mail/reply.* needs: the staff member's words and name."""
        person = self.ruleset.people.get(by)
        return {"tag": correlation.format_tag(self.settings.tag_prefix, t.id),
                "subject": t.subject, "text": text.strip(),
                "staff_name": person.name if person else by,
                "desk": self.settings.address_name, "name": t.contact_name or ""}

    def _last_inbound(self, s: Session, t: Ticket) -> "_Thread | None":
        """The customer's last message, for threading what we send them."""
        last_in = s.scalars(select(Message).where(Message.ticket_id == t.id,
                                                  Message.direction == "in")
                            .order_by(Message.id.desc())).first()
        return _Thread(last_in) if last_in is not None else None

    def _acted(self, s: Session, t: Ticket, now: datetime, by: str, how: str) -> None:
        first = clocks.acted(s, self.ruleset, t, now)
        if t.status == "new":
            t.status = "open"
        t.updated_at = now
        if first:
            self._event(s, t, now, by, "first-action", {"how": how})

    def log_action(self, number: int, how: str, by: str, note: str | None = None) -> dict:
        """A call, meeting or visit with the customer, or a note marked as action: counts
        as the first action (and answers a waiting customer message)."""
        if how not in clocks.FIRST_ACTIONS:
            raise Refused(f"unknown action {how!r}; one of {', '.join(clocks.FIRST_ACTIONS)}")
        now = self.clock()
        with self.sessions() as s, s.begin():
            t = self._ticket_or_refuse(s, number)
            self._event(s, t, now, by, "action", {"how": how}, note)
            self._acted(s, t, now, by, how)
            result = _ticket_dict(t, self.settings.tag_prefix)
        self._committed()
        return result

    def add_note(self, number: int, text: str, by: str, action: bool = False) -> dict:
        """An internal note: never mailed to the customer. `action`: it records an action."""
        now = self.clock()
        with self.sessions() as s, s.begin():
            t = self._ticket_or_refuse(s, number)
            self._event(s, t, now, by, "note", {"action": action}, text)
            if action:
                self._acted(s, t, now, by, "note")
            t.updated_at = now
            result = _ticket_dict(t, self.settings.tag_prefix)
        return result

    def set_waiting(self, number: int, waiting: bool, by: str) -> dict:
        """Waiting on the customer (pauses the resolution clock if the policy says so)."""
        now = self.clock()
        with self.sessions() as s, s.begin():
            t = self._ticket_or_refuse(s, number)
            if t.status in ("resolved", "closed"):
                raise Refused(f"ticket {number} is {t.status}; reopen it first")
            old = t.status
            t.status = "waiting" if waiting else "open"
            clocks.set_waiting(s, self.ruleset, t, now, waiting)
            t.updated_at = now
            self._event(s, t, now, by, "status", {"from": old, "to": t.status})
            result = _ticket_dict(t, self.settings.tag_prefix)
        return result

    def resolve(self, number: int, by: str, note: str | None = None,
                tell_customer: bool = True) -> dict:
        """Resolved; the customer is told "reply if it is not" (the customer decides,
        procedure 003) and their reply reopens the ticket."""
        now = self.clock()
        with self.sessions() as s, s.begin():
            t = self._ticket_or_refuse(s, number)
            self._resolve(s, t, now, by, note, tell_customer)
            result = _ticket_dict(t, self.settings.tag_prefix)
        self._committed()
        return result

    def _resolve(self, s: Session, t: Ticket, now: datetime, by: str, note: str | None,
                 tell_customer: bool) -> None:
        if t.status in ("resolved", "closed"):
            raise Refused(f"ticket {t.id} is already {t.status}")
        old = t.status
        if t.first_action_at is None:
            t.first_action_at = now
        t.status, t.resolved_at, t.waiting_since, t.awaiting_since = "resolved", now, None, None
        clocks.refresh(s, self.ruleset, t)
        t.updated_at = now
        self._event(s, t, now, by, "resolved", {"from": old}, note)
        if tell_customer and t.contact_email and t.channel == "mail":
            self.queue_mail(
                s, t, now, purpose="resolved", template="resolved", to_addr=t.contact_email,
                automatic=False, reply_to=self._last_inbound(s, t),
                context={"tag": correlation.format_tag(self.settings.tag_prefix, t.id),
                         "subject": t.subject, "name": t.contact_name or "",
                         "desk": self.settings.address_name, "note": note or "",
                         "reopen_days": self.settings.reopen_days})

    def reopen(self, number: int, by: str, reason: str | None = None) -> dict:
        now = self.clock()
        with self.sessions() as s, s.begin():
            t = self._ticket_or_refuse(s, number)
            if t.status not in ("resolved", "closed"):
                raise Refused(f"ticket {number} is {t.status}, not resolved")
            old, resolved_at = t.status, t.resolved_at
            t.status, t.resolved_at = "open", None
            clocks.reopened(s, self.ruleset, t, now, resolved_at)
            t.updated_at = now
            self._event(s, t, now, by, "reopened", {"from": old, "to": "open"}, reason)
            result = _ticket_dict(t, self.settings.tag_prefix)
        return result

    def set_kind(self, number: int, kind: str, by: str) -> dict:
        """A different kind; its SLA policy takes over (already sent notices stay sent)."""
        now = self.clock()
        with self.sessions() as s, s.begin():
            t = self._ticket_or_refuse(s, number)
            if kind not in self.ruleset.kinds:
                raise Refused(f"unknown kind {kind!r}; kinds: {', '.join(sorted(self.ruleset.kinds))}")
            old = t.kind
            t.kind = kind
            clocks.kind_changed(s, self.ruleset, t)
            t.updated_at = now
            self._event(s, t, now, by, "kind", {"from": old, "to": kind})
            result = _ticket_dict(t, self.settings.tag_prefix)
        return result

    def health(self) -> dict:
        """What an operator or a load balancer needs to know: can we reach the database,
        is mail piling up. Raises when the database cannot be read."""
        now = self.clock()
        with self.sessions() as s:
            queued, oldest = s.execute(select(func.count(), func.min(Outbox.created_at))
                                       .where(Outbox.status == "queued")).one()
            failed = s.scalar(select(func.count()).where(Outbox.status == "failed"))
            spooled = s.scalar(select(func.count()).select_from(Spool))
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
        return {"status": "ok", "database": "ok",
                "outbox": {"queued": queued, "failed": failed,
                           "oldest_queued_seconds": round((now - oldest).total_seconds())
                           if oldest else None},
                "spool": spooled}

    def list_outbox(self, status: str | None = None, limit: int = 1000) -> list[dict]:
        with self.sessions() as s:
            q = select(Outbox).order_by(Outbox.id)
            if status:
                q = q.where(Outbox.status == status)
            return [{"id": o.id, "ticket": o.ticket_id, "channel": o.channel, "to": o.to_addr,
                     "subject": o.subject, "purpose": o.purpose, "status": o.status,
                     "attempts": o.attempts, "next_attempt": _iso(o.next_attempt_at),
                     "sent": _iso(o.sent_at), "last_error": o.last_error}
                    for o in s.scalars(q.limit(limit))]


class _Thread:
    """A stored inbound message, shaped like the parsed one queue_mail threads to."""

    def __init__(self, m: Message):
        self.message_id = m.message_id
        self.references = (m.references or "").split()
        self.headers: dict = {}


def _received_at(item: Prepared, now: datetime) -> datetime:
    """When the mail reached us: the SMTP spool knows; otherwise its Date header when
    that is plausible (not in the future, not older than 30 days: an IMAP backlog or an
    old .eml ingested later), else now. A written notice is dated by this."""
    if item.received_at is not None:
        return item.received_at
    date = item.message.date if item.message else None
    if date is not None and date.tzinfo is not None and now - timedelta(days=30) <= date <= now:
        return date
    return now


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _iso_date(value) -> str | None:
    return value.isoformat() if value else None


def _cancellation_dict(c) -> dict:
    return {"contract": c.contract.reference if c.contract else None,
            "received": _iso_date(c.received_on), "in_time": c.in_time,
            "deadline": _iso_date(c.deadline), "effective_end": _iso_date(c.effective_end),
            "reason": c.reason, "outcome": c.outcome, "outcome_reason": c.outcome_reason,
            "decided_by": c.decided_by, "decided_at": _iso(c.decided_at),
            "contract_status": c.contract.status if c.contract else None,
            "contract_ends_on": _iso_date(c.contract.ends_on) if c.contract else None}


def _task_dict(t: Task) -> dict:
    return {"id": t.id, "ticket": t.ticket_id, "kind": t.kind, "title": t.title,
            "assignee": t.assignee, "due": _iso(t.due_at), "done": _iso(t.done_at)}


def _ticket_dict(t: Ticket, prefix: str) -> dict:
    return {
        "number": t.id, "tag": correlation.format_tag(prefix, t.id), "kind": t.kind,
        "status": t.status, "subject": t.subject, "customer": t.customer,
        "contact": t.contact_email, "contact_name": t.contact_name, "owner": t.owner,
        "owner_role": t.owner_role, "rule": t.rule, "category": t.category,
        "priority": t.priority, "urgent": t.urgent, "channel": t.channel, "language": t.language,
        "action_due": _iso(t.action_due_at), "fields": dict(t.fields or {}),
        "bounced": t.bounced, "linked_ticket": t.linked_ticket_id,
        "created": _iso(t.created_at), "updated": _iso(t.updated_at),
        "first_action": _iso(t.first_action_at), "resolved": _iso(t.resolved_at),
        "sla": {"policy": t.sla_policy, "first_action_due": _iso(t.first_action_due_at),
                "next_action_due": _iso(t.next_action_due_at),
                "resolution_due": _iso(t.resolution_due_at),
                "waiting_since": _iso(t.waiting_since), "next_check": _iso(t.sla_next_at)},
    }
