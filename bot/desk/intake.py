"""Intake: one message in, one transaction: a new ticket, or a message on the ticket it
answers, or a colleague's mail on a ticket (bot/desk/staff_mail.py), with everything it
causes (routing, SLA clock, acknowledgement, notices) written to the outbox in that same
transaction. A batch is stored in one transaction; when that fails, one by one, so one
bad mail is quarantined with its raw bytes and the others still land."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core import correlation
from bot.core.domain import CLOSED, READ_LIMIT, Channel, Direction, InboundMessage, Status
from bot.core.mail import forwarded, threadindex
from bot.core.mail.addresses import reply_address, vouched
from bot.core.mail.language import FOREIGN_ANSWER, detect_language_explained, other_language
from bot.core.mail.parse import parse_mail
from bot.core.mail.prepare import IngestResult, Prepared, mail_ref, prepare
from bot.core.mail.quotes import visible_text
from bot.core.mail_domains import is_free_mail
from bot.core.pleasantries import only_thanks
from bot.core.render import CUSTOMER_LANGUAGES, STAFF_LANGUAGES
from bot.core.rules.schema import Person
from bot.desk import cancellation_workflow as cancellations
from bot.desk import (
    card,
    directory,
    events,
    holds,
    notify,
    outgoing,
    routing,
    sla_state,
    slack_posts,
    staff_mail,
)
from bot.desk.context import Desk
from bot.desk.events import record
from bot.desk.views import like_escape
from bot.store.bulk import insert_rows, staging
from bot.store.models import Attachment, Message, RawMail, Spool, Ticket, Watcher

log = logging.getLogger("bot.ingest")


def ingest_raw(desk: Desk, raw: bytes, source: str) -> IngestResult:
    return ingest_prepared(desk, [prepare(raw, source, desk.settings.all_own_addresses)])[0]


def ingest_prepared(desk: Desk, items: Sequence[Prepared], *, acknowledge: bool = True) -> list[IngestResult]:
    """Store a batch in one transaction; on any failure redo them one by one, so one
    bad mail is quarantined and the others still land. Raises only when the database
    itself cannot be written (callers must then not mark the mails processed)."""
    if not items:
        return []
    now = desk.clock()
    try:
        with desk.uow.write() as s:
            return _ingest_many(s, desk, items, now, acknowledge)
    except SQLAlchemyError as exc:
        if len(items) == 1 and not isinstance(exc, IntegrityError | DataError):
            raise
        log.warning("batch of %d failed (%s); retrying one by one", len(items), exc)
    except Exception:
        log.exception("batch of %d failed; retrying one by one", len(items))
    return [_ingest_one_safely(desk, item, now, acknowledge) for item in items]


def warm(desk: Desk) -> None:
    """Do now, ahead of the first mail, the one-off work every new ticket would otherwise
    wait for (the worker runs this at start-up, beside the IMAP login and the parser
    processes' start): this year's public holidays of the business calendars (the
    holidays library imports its ~200 countries on first use, about 0.1 s) and the
    templates of the acknowledgement and the owner's notice, compiled (about 5 ms each).
    Writes nothing; the results are what the first mail would have computed."""
    sla_state.warm_calendars(desk)
    for name, languages in (("ack", CUSTOMER_LANGUAGES), ("new-ticket", STAFF_LANGUAGES)):
        for language in languages:
            desk.renderer.mail_templates(name, language)


def ingest_in(s: Session, desk: Desk, items: Sequence[Prepared], now: datetime, *,
              acknowledge: bool = True) -> list[IngestResult]:
    """Ingest within the caller's unit of work (a desk action that opens a ticket on a
    customer's behalf, a customer's message from the portal): no retry one by one, a
    failure fails the action, nothing is quarantined."""
    return _ingest_many(s, desk, items, now, acknowledge)


def _ingest_one_safely(desk: Desk, item: Prepared, now: datetime, acknowledge: bool = True) -> IngestResult:
    error: Exception
    try:
        with desk.uow.write() as s:
            return _ingest_many(s, desk, [item], now, acknowledge)[0]
    except IntegrityError as exc:
        stored = _stored_ticket(desk, item)
        if stored is not False:
            # Stored meanwhile by another intake (IMAP and SMTP at once): a duplicate.
            if item.spool_id is not None:
                with desk.uow.write() as s:
                    s.execute(delete(Spool).where(Spool.id == item.spool_id))
            return IngestResult(item.source, "duplicate", stored or None)
        error = exc  # another constraint: a bug or bad data; keep the mail, quarantined
    except DataError as exc:  # a value the database refuses: this mail's, not an outage
        error = exc
    except SQLAlchemyError:
        raise
    except Exception as exc:
        error = exc
    return _quarantine(desk, item, now, error)


def _key(item: Prepared) -> str:
    if item.clash:
        return f"clash:{item.sha256}"
    return correlation.dedupe_key(item.message.message_id if item.message else None, item.sha256)


def _same_mail(s: Session, item: Prepared, earlier: InboundMessage | None,
               desk: Desk | None = None) -> bool:
    """Whether a mail whose dedupe key is known is that same mail again (a redelivery,
    perhaps with other transport headers): same sender and same text. A mail that
    merely reuses a Message-ID (by accident or on purpose) is not. A colleague's forward
    is compared as the customer's mail it was stored as."""
    msg = item.message
    if msg is None or not msg.message_id:
        return True  # keyed by its bytes: the same bytes
    mid = msg.message_id
    found = _staff_forward(desk, msg) if desk is not None else None
    if found is not None:
        msg = _as_customer(msg, found[1])
    if earlier is not None:
        return earlier.from_addr == msg.from_addr and earlier.text == msg.text
    row = s.execute(select(Message.from_addr, Message.text).where(
        Message.message_id == correlation.stored_id(mid), Message.direction == Direction.IN)
        .order_by(Message.id).limit(1)).first()
    if row is None:
        return True  # stored without a message (ignored, quarantined): keep it so
    return row.from_addr == msg.from_addr[:320] and (row.text or "") == (msg.text or "")


def _stored_ticket(desk: Desk, item: Prepared) -> int | None | bool:
    """The ticket a mail with this key was stored on (None: stored without one);
    False when it is not stored."""
    with desk.uow.read() as s:
        row = s.execute(select(RawMail.id, RawMail.ticket_id)
                        .where(RawMail.dedupe_key == _key(item))).first()
    return False if row is None else row.ticket_id


def _quarantine(desk: Desk, item: Prepared, now: datetime, exc: Exception) -> IngestResult:
    """Keep the raw bytes with the reason, so nothing is lost and an operator can
    re-ingest after a fix."""
    log.error("could not process %s (%s: %s); quarantined", item.source,
              type(exc).__name__, exc, exc_info=exc)
    with desk.uow.write() as s:
        if item.spool_id is not None:
            s.execute(delete(Spool).where(Spool.id == item.spool_id))
        s.add(RawMail(**_raw(item, now, "quarantined", f"{type(exc).__name__}: {exc}"[:2000])))
    return IngestResult(item.source, "quarantined", None,
                        ["processing failed: " + f"{type(exc).__name__}: {exc}"[:500]],
                        reason="processing failed")


def _raw(item: Prepared, now: datetime, status: str, error: str | None = None) -> dict[str, Any]:
    """The raw mail's row (its ticket's number is filled in when it is written)."""
    return {"dedupe_key": _key(item), "sha256": item.sha256, "size": len(item.raw),
            "content": item.raw, "source": item.source[:200], "status": status, "error": error,
            "ticket_id": None, "received_at": now}


# Session.info key: the batch's raw mails as (ticket, row), written at its end with one
# INSERT (nothing in the batch reads them back: duplicates within it are known from
# `known`, and a clash with a stored mail is read before the batch writes anything)
RAW_ROWS = "raw_rows"


def _keep_raw(s: Session, item: Prepared, now: datetime, status: str, error: str | None = None,
              ticket: Ticket | None = None) -> None:
    s.info[RAW_ROWS].append((ticket, _raw(item, now, status, error)))


def _ingest_many(s: Session, desk: Desk, items: Sequence[Prepared],
                 now: datetime, acknowledge: bool = True) -> list[IngestResult]:
    """`acknowledge=False` (`ticketbot ingest --no-ack`, an archive): no customer is
    mailed; each ticket says so. The batch's events and raw mails are written at its
    end, one INSERT each (events.deferred, bulk.staging); within another batch's unit
    (a desk action), that one writes them."""
    with events.deferred(s), \
            staging(s, RAW_ROWS, "ticket_id", lambda rows: insert_rows(s, RawMail, rows)):
        return _ingest_batch(s, desk, items, now, acknowledge)


def _ingest_batch(s: Session, desk: Desk, items: Sequence[Prepared],
                  now: datetime, acknowledge: bool) -> list[IngestResult]:
    keys = [_key(i) for i in items]
    known: dict[str, object] = dict(s.execute(select(RawMail.dedupe_key, RawMail.ticket_id)
                                              .where(RawMail.dedupe_key.in_(set(keys)))).all())
    # Automatic mails already sent to each sender in the last 24 h, read once per
    # batch (not once per mail); queue_mail keeps the counts current.
    senders = {i.message.from_addr for i in items if i.message and i.message.from_addr}
    # (and the Reply-To a web form's acknowledgement would go to: the limit counts that)
    answered_at = {i.message.reply_to[0].lower() for i in items if i.message and len(i.message.reply_to) == 1}
    s.info["auto_sent"] = outgoing.auto_sent(s, senders | answered_at, now)
    directory.prefetch(s, senders)
    # Phase 1: decide and stage every mail without writing to the database (so the
    # routing of a long mail runs before the write lock is taken, and the ORM writes
    # each table's rows in one batched INSERT at the flush below).
    s.info["pending_ids"] = {}  # Message-ID -> Ticket, for replies within the batch
    s.info["acks"] = []
    s.info["after_flush"] = []
    results = []
    in_batch: dict[str, InboundMessage | None] = {}
    for item, key in zip(items, keys, strict=True):
        if key in known and not _same_mail(s, item, in_batch.get(key), desk):
            item.clash = True  # same Message-ID, another mail: keep it, keyed by its bytes
            key = _key(item)
            if key not in known:
                known.update(s.execute(select(RawMail.dedupe_key, RawMail.ticket_id)
                                       .where(RawMail.dedupe_key == key)).all())
            if item.message is not None and key not in known:
                item.message.warnings.append(
                    "another mail with this Message-ID arrived before; this one is kept "
                    "as a message of its own (Message-ID clash)")
        if key in known:
            results.append(IngestResult(item.source, "duplicate", None,
                                        item.message.warnings if item.message else [],
                                        _ticket_obj=known[key]))
            continue
        with s.no_autoflush:
            result = _ingest(s, desk, item, now)
        known[key] = result._ticket_obj
        in_batch[key] = item.message
        results.append(result)
    spooled = [i.spool_id for i in items if i.spool_id is not None]
    if spooled:  # each spooled mail leaves the spool in the transaction storing it
        s.execute(delete(Spool).where(Spool.id.in_(spooled)))
    s.flush()
    # Phase 2: now that tickets have numbers, write the acknowledgements.
    no_ack = s.info.pop("no_ack", {})
    acks = s.info.pop("acks")
    # what the new tickets' cards and invoice holds read, once for the batch
    card.prefetch(s, [ticket for ticket, *_ in acks])
    for ticket, msg, template, extra in acks:
        if id(ticket) in no_ack:
            record(s, ticket, now, "system", "ack-skipped", None, no_ack[id(ticket)])
        elif acknowledge:
            outgoing.acknowledge(s, desk, ticket, msg, now, template, extra)
        else:
            record(s, ticket, now, "system", "ack-skipped", None, "ingested without acknowledgements (--no-ack)")
        log.info("ticket %s: created from %s, %s for %s", ticket.id, msg.from_addr or "?",
                 ticket.kind, ticket.owner)
    try:
        for fn in s.info.pop("after_flush"):
            fn()
    finally:
        s.info.pop(card.PREFETCHED, None)  # read for this batch only, also when it fails
    for r in results:
        t = r._ticket_obj  # a Ticket of this batch, or the number of a stored one
        r.ticket = t.id if isinstance(t, Ticket) else t if isinstance(t, int) else None
        r._ticket_obj = None  # results outlive the session: don't keep its objects alive
    return results


def _ingest(s: Session, desk: Desk, item: Prepared, now: datetime) -> IngestResult:
    if item.as_parsed is not None:  # a retry of its batch: start from the mail as parsed
        item.message, item.as_parsed = item.as_parsed, None
    msg = parsed = item.message
    if msg is None:
        _keep_raw(s, item, now, "quarantined", item.error)
        log.warning("quarantined %s: %s", item.source, item.error)
        return IngestResult(item.source, "quarantined", None, [item.error or "unreadable"],
                            reason=item.error)
    settings = desk.settings
    own = settings.all_own_addresses
    loop = msg.headers.get("x-loop", "").strip().lower()
    if msg.from_addr in own or (loop and loop in own):
        _keep_raw(s, item, now, "ignored", "sent by ourselves")
        log.info("ignored %s: sent by ourselves (%s)", item.source, msg.from_addr)
        return IngestResult(item.source, "ignored", None, msg.warnings, reason="own address")

    match = correlation.correlate(
        msg, settings.tag_prefix,
        lambda ids: _ticket_by_message_ids(s, ids),
        lambda n: s.get(Ticket, n),
        functools.partial(_in_conversation_of, s, msg, now),
    )
    if msg.is_bounce:
        if match.ticket is None:
            _keep_raw(s, item, now, "ignored", "delivery report for no known mail")
            return IngestResult(item.source, "ignored", None, msg.warnings,
                                reason="bounce for unknown mail")
        ticket = match.ticket
        _add_message(s, ticket, item, now)
        ticket.bounced = True
        ticket.updated_at = now
        record(s, ticket, now, "system", "bounce", {"reported": msg.bounced_message_ids},
               "a mail we sent was not delivered")
        _keep_raw(s, item, now, "appended", ticket=ticket)
        log.warning("ticket %s: delivery failure reported for %s", ticket.id,
                    msg.bounced_message_ids)
        return IngestResult(item.source, "appended", None, msg.warnings, _ticket_obj=ticket)
    if msg.is_delivery_report:  # delayed, delivered, relayed: news about our mail, not a request
        if match.ticket is not None:
            record(s, match.ticket, now, "system", "delivery-report", {"source": item.source},
                   "a mail server reported on a mail we sent (not a failure)")
        _keep_raw(s, item, now, "ignored", "delivery-status report, not a failure")
        log.info("ignored %s: a delivery-status report", item.source)
        return IngestResult(item.source, "ignored", None, msg.warnings,
                            reason="delivery-status report")

    linked: Ticket | None = None
    why_linked: str | None = None
    if match.ticket is not None:
        ticket = match.ticket
        actor = staff_mail.author(s, desk, msg)
        if actor is not None:  # a colleague answering by mail: a note or a command
            summary = staff_mail.handle(s, desk, ticket, msg, actor, now)
            record(s, ticket, now, actor.key, "staff-mail", {"verified": actor.verified},
                   summary)
            _keep_raw(s, item, now, "appended", ticket=ticket)
            log.info("ticket %s: staff mail, %s", ticket.id, summary)
            return IngestResult(item.source, "appended", None, msg.warnings, _ticket_obj=ticket)
        decision = correlation.reopen_decision(ticket.status, ticket.resolved_at, now,
                                               settings.reopen_days)
        if not _belongs(s, ticket, msg, now):
            # A tag or a References hit alone proves nothing (anyone can write "[TB-1]"):
            # a stranger's mail never joins, reopens or reads another customer's ticket.
            decision = "new-linked"
            why_linked = (f"it names ticket {ticket.id} ({match.how}), but "
                          f"{msg.from_addr or 'the sender'} is not that ticket's customer")
        elif decision == "new-linked":
            why_linked = (f"reply to ticket {ticket.id}, resolved more than "
                          f"{settings.reopen_days} days ago")
        elif _cancellation_in_reply(s, desk, ticket, msg, now):
            # Procedure S 3.4 must run (contract, notice, advisor): its own ticket,
            # linked to the conversation it arrived in.
            decision = "new-linked"
            why_linked = f"a written cancellation, sent as a reply to ticket {ticket.id}"
        if decision != "new-linked":
            _customer_wrote(s, desk, ticket, item, msg, now, decision, match.how)
            return IngestResult(item.source, "appended", None, msg.warnings, _ticket_obj=ticket)
        linked = ticket

    behalf: OnBehalf | None = s.info.get("on_behalf", {}).get(id(item))  # open_on_behalf
    if behalf is None and linked is None:
        found = _staff_forward(desk, msg)
        if found is not None:  # a colleague forwarded the customer's mail: it is theirs
            person, fwd = found
            item.as_parsed = msg
            msg = item.message = _as_customer(msg, fwd)
            behalf = OnBehalf(by=person.key, source=f"forward:{fwd.style}", note=fwd.note,
                              ack=not fwd.no_ack)
    rs = desk.ruleset
    ours = s.info.get("desk_domains")
    if ours is None:
        ours = s.info["desk_domains"] = directory.desk_domains(
            (p.email for p in rs.people.values()), desk.settings.accepted_domains)
    # the kind model only where nobody said the kind (a colleague's forward may name it)
    ident, d = routing.decide(s, rs, msg, now, ours=ours,
                              model=None if behalf is not None and behalf.kind else desk.kind_model,
                              # read ahead for the mail as parsed (not for a forward's customer)
                              ahead=item.ahead if msg is parsed else None)
    if behalf is not None and behalf.kind:
        d.kind = behalf.kind
    if d.ignore and behalf is None:  # a colleague's request is never ignored by a rule
        _keep_raw(s, item, now, "ignored", f"rule {d.rule}: ignore")
        log.info("ignored %s: rule %s", item.source, d.rule)
        return IngestResult(item.source, "ignored", None, msg.warnings, reason=f"rule {d.rule}")
    flooding = _over_cap(s, desk, msg, now)
    if flooding:
        flood = _flood_ticket(s, msg.from_addr, flooding, now)
        if flood is not None:  # past the cap: one more message on the flood ticket
            _add_message(s, flood, item, now)
            flood.updated_at = now
            record(s, flood, now, f"customer:{msg.from_addr}", "message",
                   {"how": "flood", "message_id": msg.message_id})
            _keep_raw(s, item, now, "appended", ticket=flood)
            log.warning("ticket %s: flood from %s, one more message", flood.id, msg.from_addr)
            return IngestResult(item.source, "appended", None, msg.warnings, _ticket_obj=flood)
    ticket = _new_ticket(s, desk, msg, now, linked, ident)
    _count_new(s, msg.from_addr)
    first = _add_message(s, ticket, item, now)
    s.info.setdefault(notify.FIRST_MESSAGES, {})[id(ticket)] = (ticket, first)
    record(s, ticket, now, f"customer:{msg.from_addr}" if msg.from_addr else "system",
           "created", {"channel": msg.channel.value, "source": item.source.split(":")[0],
                       "linked_to": linked.id if linked else None},
           why_linked)
    routing.apply_decision(s, ticket, ident, d, now)
    if behalf is not None:
        _on_behalf(s, desk, ticket, behalf, now)
    if flooding:  # the first mail past the cap: the ticket the rest of the flood joins
        ticket.category = FLOOD
        by, key, limit = flooding
        s.info.setdefault("flood_tickets", {})[key] = ticket
        record(s, ticket, now, "system", "flood", {"cap": desk.ruleset.limits[limit], "by": by},
               f"more new tickets from {key} within an hour than the cap "
               f"(rules.yaml limits: {limit}): further mails from {key} join this ticket")
    sla_state.start(s, rs, ticket)
    _keep_raw(s, item, now, "created", ticket=ticket)
    extra: dict = {}
    if rs.kinds.get(d.kind) and rs.kinds[d.kind].workflow == "cancellation":
        c = cancellations.open_cancellation(s, ticket, msg, now, rs.timezone,
                                            received_at=_received_at(item, now))
        extra = cancellations.ack_context(c, ticket.language)
        s.info["after_flush"].append(
            lambda: outgoing.cancellation_copy(s, desk, ticket, c, msg, now))
    s.info["acks"].append((ticket, msg, d.ack, extra))
    s.info["after_flush"].append(lambda: holds.on_routed(s, ticket, msg, now))
    s.info["after_flush"].append(lambda: notify.new_ticket(s, desk, ticket, msg, ident, now))
    return IngestResult(item.source, "created", None, msg.warnings, _ticket_obj=ticket)


# ------------------------------------------------------------------ on behalf of a customer
@dataclass
class OnBehalf:
    """A request that reached a colleague first (a forward, a call, a Slack message): the
    ticket is the customer's, the colleague is recorded and watches it."""

    by: str  # the colleague's person key (or the operator's name)
    source: str  # forward:outlook, slack, slack-reaction, cli, ...
    note: str = ""  # what the colleague wrote besides the customer's words
    ack: bool = True  # the customer is acknowledged
    kind: str | None = None  # the kind the colleague chose (else the rules decide)
    how: str | None = None  # "call": the request was a phone call


def _staff_forward(desk: Desk, msg: InboundMessage) -> tuple[Person, forwarded.Forwarded] | None:
    """(the colleague, the customer's forwarded mail) when a person in rules.yaml
    forwarded a customer's mail to the desk; None otherwise."""
    rs = desk.ruleset
    person = rs.person_for_email(msg.from_addr) if msg.from_addr and rs.notify_staff else None
    if person is None:
        return None
    own = desk.settings.all_own_addresses

    def ours(addr: str) -> bool:
        return addr in own or rs.person_for_email(addr) is not None

    fwd = forwarded.find(msg, parse_mail, ours)
    if fwd is None or ours(fwd.from_addr):
        return None
    return person, fwd


def _as_customer(msg: InboundMessage, fwd: forwarded.Forwarded) -> InboundMessage:
    """The forwarded mail as the customer's own: their address, subject, text and
    attachments; none of the colleague's threading (the ticket starts its own)."""
    attachments = list(msg.attachments)
    if fwd.style == "attached":
        attachments = [*fwd.attachments, *(a for a in msg.attachments if a.content_type.lower()
                                           not in ("message/rfc822", "message/global"))]
    text = fwd.text
    own_words = visible_text(text)  # the customer's language is in their words, not their quotes
    language, how = detect_language_explained(fwd.subject + "\n" + own_words[:READ_LIMIT])
    other = other_language(how) if language is None else None  # an Italian customer: English
    return dataclasses.replace(
        msg, from_addr=fwd.from_addr, from_name=fwd.from_name, subject=fwd.subject or msg.subject,
        text=text, visible_text=own_words, html=fwd.html, to=list(fwd.to),
        cc=list(fwd.cc), reply_to=[], in_reply_to=[], references=[], auto_reason=None,
        headers={k: v for k, v in msg.headers.items()
                 if k not in ("thread-index", "thread-topic", "reply-to", "in-reply-to")},
        attachments=attachments, warnings=list(msg.warnings),
        language=language or (None if other else msg.language), other_language=other)


def _on_behalf(s: Session, desk: Desk, ticket: Ticket, behalf: OnBehalf, now: datetime) -> None:
    record(s, ticket, now, behalf.by, "on-behalf",
           {"by": behalf.by, "source": behalf.source, "ack": behalf.ack, "how": behalf.how},
           behalf.note or None)
    if behalf.note.strip():
        s.add(Message(ticket=ticket, direction=Direction.NOTE, channel=Channel.MAIL,
                      from_addr="", from_name=behalf.by, subject="", text=behalf.note,
                      visible_text=behalf.note, created_at=now))
    if behalf.by in desk.ruleset.people and behalf.by != ticket.owner \
            and all(w.person != behalf.by for w in ticket.watchers):
        ticket.watchers.append(Watcher(person=behalf.by))
    if not behalf.ack:
        s.info.setdefault("no_ack", {})[id(ticket)] = (
            f"{behalf.by} asked that the customer gets no acknowledgement")


FLOOD = "flood"  # the category of a sender's flood ticket
FLOOD_WINDOW = timedelta(hours=1)


def _domain_of(addr: str) -> str | None:
    """The domain a domain cap counts, or None (no address, or free mail)."""
    domain = addr.rpartition("@")[2]
    return domain if domain and not is_free_mail(domain) else None


def _recent_counts(s: Session, now: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """New tickets within the flood window, per sender and per domain: read once per
    batch (one grouped query on the indexed creation time), then counted along."""
    counts = s.info.get("recent_counts")
    if counts is None:
        by_sender: dict[str, int] = {}
        by_domain: dict[str, int] = {}
        for addr, n in s.execute(select(Ticket.contact_email, func.count()).where(
                Ticket.created_at > now - FLOOD_WINDOW, Ticket.contact_email.is_not(None))
                .group_by(Ticket.contact_email)):
            if addr is None:
                continue
            by_sender[addr] = n
            domain = _domain_of(addr)
            if domain:
                by_domain[domain] = by_domain.get(domain, 0) + n
        counts = s.info["recent_counts"] = (by_sender, by_domain)
    return counts


def _over_cap(s: Session, desk: Desk, msg: InboundMessage,
              now: datetime) -> tuple[str, str, str] | None:
    """Whether this sender, or their domain, has opened as many tickets within the window
    as rules.yaml `limits` allow: ("sender" | "domain", the address or "@domain", the
    limit's name), or None."""
    addr = msg.from_addr
    if not addr:
        return None
    limits = desk.ruleset.limits
    by_sender, by_domain = _recent_counts(s, now)
    if by_sender.get(addr, 0) >= limits["new_tickets_per_sender_per_hour"]:
        return "sender", addr, "new_tickets_per_sender_per_hour"
    domain = _domain_of(addr)
    if domain and by_domain.get(domain, 0) >= limits["new_tickets_per_domain_per_hour"]:
        return "domain", "@" + domain, "new_tickets_per_domain_per_hour"
    return None


def _count_new(s: Session, addr: str) -> None:
    counts = s.info.get("recent_counts")
    if not addr or counts is None:
        return
    by_sender, by_domain = counts
    by_sender[addr] = by_sender.get(addr, 0) + 1
    domain = _domain_of(addr)
    if domain:
        by_domain[domain] = by_domain.get(domain, 0) + 1


def _flood_ticket(s: Session, addr: str, flooding: tuple[str, str, str],
                  now: datetime) -> Ticket | None:
    """The open flood ticket of this window that the mail joins: the sender's own, or,
    when it is their domain that floods, any of the domain's."""
    staged = s.info.get("flood_tickets", {})
    by, key, _ = flooding
    if addr in staged:
        return staged[addr]
    if by == "domain" and key in staged:
        return staged[key]
    q = select(Ticket).where(Ticket.category == FLOOD, Ticket.status.not_in(CLOSED),
                             Ticket.created_at > now - FLOOD_WINDOW)
    own = s.scalars(q.where(Ticket.contact_email == addr).order_by(Ticket.id.desc())).first()
    if own is not None or by != "domain":
        return own
    return s.scalars(q.where(Ticket.contact_email.like("%" + like_escape(key), escape="\\"))
                     .order_by(Ticket.id.desc())).first()


def _customer_wrote(s: Session, desk: Desk, ticket: Ticket, item: Prepared,
                    msg: InboundMessage, now: datetime, decision: str, how: str) -> None:
    """The customer's message on their ticket: it reopens a resolved one, ends waiting,
    restarts the next-action clock, and goes into the ticket's Slack thread."""
    was_status, was_resolved_at = ticket.status, ticket.resolved_at
    stored = _add_message(s, ticket, item, now)
    ticket.updated_at = now
    customer = f"customer:{msg.from_addr}"
    # thanks with a file attached is more than thanks (an inline picture, a signature's
    # logo, is not a file sent)
    sent_files = any(not a.inline for a in msg.attachments)
    if decision == "reopen" and not sent_files and only_thanks(msg.visible_text or msg.text, msg.from_name):
        decision = "thanks"
        record(s, ticket, now, customer, "thanks", None,
               "the customer said thanks on a resolved ticket: it stays resolved")
    if decision == "reopen":
        old = ticket.status
        ticket.status = Status.OPEN
        ticket.resolved_at = None
        record(s, ticket, now, customer, "reopened", {"from": old, "to": Status.OPEN},
               "the customer replied")
    elif ticket.status == Status.WAITING:
        ticket.status = Status.OPEN
        record(s, ticket, now, customer, "status", {"from": Status.WAITING, "to": Status.OPEN},
               "the customer replied")
    if decision != "thanks":  # a thanks leaves the resolved ticket and its clocks alone
        sla_state.customer_wrote(s, desk.ruleset, ticket, now, was_status=was_status,
                                 was_resolved_at=was_resolved_at)
    # after the batch's new tickets have their thread roots (a reply in the same batch as
    # the mail that opened its ticket goes into that thread too)
    s.info["after_flush"].append(lambda: slack_posts.customer_wrote(
        s, desk, ticket, msg.visible_text or msg.text, msg.from_name or msg.from_addr or "The customer",
        now))
    if any(not a.inline for a in msg.attachments):  # their files, after the words
        s.info["after_flush"].append(lambda: slack_posts.files(s, desk, ticket, stored.attachments, now))
    record(s, ticket, now, customer, "message", {"how": how, "message_id": msg.message_id})
    _keep_raw(s, item, now, "appended", ticket=ticket)
    log.info("ticket %s: message appended (%s)", ticket.id, how)


def _belongs(s: Session, ticket: Ticket, msg: InboundMessage, now: datetime) -> bool:
    """Whether the sender may write on this ticket: its contact, someone the customer
    wrote to or copied on it, or someone at the same company (a colleague of the
    customer). Staff are recognised before this."""
    addr = (msg.from_addr or "").lower()
    if not addr:
        return False
    if ticket.contact_email and addr == ticket.contact_email.lower():
        return True
    if ticket.reply_to and addr == ticket.reply_to.lower():  # the customer behind a web form
        return True
    if ticket.company is not None:
        ident = directory.identify(s, addr, msg.from_name or "", now, create=False, flush=False)
        if (ident.company is not None and ident.company is ticket.company) or (
                ident.company_id is not None and ident.company_id == ticket.company_id):
            return True
    return any(addr in _addresses(m.to_addrs) | _addresses(m.cc_addrs)
               for m in ticket.messages if m.direction == Direction.IN)


# Tickets of one Outlook conversation (Thread-Index) looked at for the sender's own.
CONVERSATION_LOOK = 20


def _in_conversation_of(s: Session, msg: InboundMessage, now: datetime, key: str) -> Ticket | None:
    """The newest ticket of the conversation that the sender belongs to (``_belongs``),
    else the newest: a stranger's mail in the conversation (its own ticket, linked) must
    not take the customer's next Thread-Index-only reply away from the customer's ticket."""
    tickets = list(s.scalars(select(Ticket).where(Ticket.conversation == key)
                             .order_by(Ticket.id.desc()).limit(CONVERSATION_LOOK)))
    return next((t for t in tickets if _belongs(s, t, msg, now)), tickets[0] if tickets else None)


def _addresses(header: str | None) -> set[str]:
    return {a.strip().lower() for a in (header or "").split(",") if a.strip()}


def _cancellation_in_reply(s: Session, desk: Desk, ticket: Ticket, msg: InboundMessage,
                           now: datetime) -> bool:
    rs = desk.ruleset
    kind = rs.kinds.get(ticket.kind)
    if kind is not None and kind.workflow == "cancellation":
        return False  # a reply in a cancellation's own conversation
    _, d = routing.decide(s, rs, msg, now)  # the rules alone: no model-made cancellation here
    new_kind = rs.kinds.get(d.kind)
    return not d.ignore and new_kind is not None and new_kind.workflow == "cancellation"


def _ticket_by_message_ids(s: Session, ids: list[str]) -> Ticket | None:
    pending = s.info.get("pending_ids", {})
    keys = [correlation.stored_id(mid) for mid in ids]
    rows = s.execute(select(Message.message_id, Message.ticket_id)
                     .where(Message.message_id.in_(keys))).all()
    by_id = dict(rows)
    for key in keys:  # most specific first
        if key in pending:
            return pending[key]
        if key in by_id:
            return s.get(Ticket, by_id[key])
    return None


def _new_ticket(s: Session, desk: Desk, msg: InboundMessage, now: datetime,
                linked: Ticket | None, ident: directory.Identity) -> Ticket:
    settings = desk.settings
    subject = correlation.clean_subject(msg.subject, settings.tag_prefix)
    thread_index = msg.headers.get("thread-index", "").strip()
    if not threadindex.is_valid(thread_index) or len(thread_index) > 200:
        thread_index = threadindex.new_thread_index(now)
    ticket = Ticket(
        kind="question", status=Status.NEW, subject=subject[:2000] or "(no subject)",
        contact_email=msg.from_addr or None, contact_name=msg.from_name or None,
        reply_to=_answer_address(s, desk, msg, ident, now),
        owner=settings.default_owner, priority="normal", channel=msg.channel.value,
        language=msg.language or (FOREIGN_ANSWER if msg.other_language and FOREIGN_ANSWER in CUSTOMER_LANGUAGES
                                  else settings.default_language),
        linked_ticket_id=linked.id if linked else None, thread_index=thread_index,
        conversation=threadindex.conversation_key(thread_index),
        created_at=now, updated_at=now,
        slack_channel=msg.slack_channel, slack_ts=msg.slack_ts,  # opened in Slack: its thread
    )
    s.add(ticket)
    return ticket


def _answer_address(s: Session, desk: Desk, msg: InboundMessage, ident: directory.Identity,
                    now: datetime) -> str | None:
    """Where acknowledgements and replies go instead of From: the single person's Reply-To
    of addresses.reply_address, never one of ours (the desk's domains and their subdomains,
    a colleague's address). A robot sending for someone (noreply@ of a web form, a shop)
    or a Reply-To at the sender's own domain is followed. A Reply-To at another domain
    brings the answers to whoever wrote it, so it is followed only between strangers:
    not when From is a customer the directory knows (a forged From would send their
    answers to the forger) and not when the Reply-To is one (the known customer's answer
    would join the stranger's ticket); then the mail is answered at From, with a warning."""
    addr = reply_address(msg.reply_to, msg.from_addr, msg.headers, desk.settings.all_own_addresses)
    if addr is None:
        return None
    domain = addr.rpartition("@")[2]
    ours = s.info.get("desk_domains") or desk.settings.accepted_domains
    if any(domain == d or domain.endswith("." + d) for d in ours) or desk.ruleset.person_for_email(addr):
        return None
    if vouched(msg.from_addr, addr):
        return addr
    known = "the sender" if ident.known_contact or ident.known_company else ""
    if not known:
        other = directory.identify(s, addr, "", now, create=False, flush=False)
        known = "the Reply-To" if other.known_contact or other.known_company else ""
    if known:
        msg.warnings.append(f"Reply-To {addr} not followed: {known} is a customer the directory "
                            f"knows, and a Reply-To at another domain is not vouched for")
        return None
    return addr


def _add_message(s: Session, ticket: Ticket, item: Prepared, now: datetime) -> Message:
    msg = item.message
    assert msg is not None
    m = Message(
        ticket=ticket, direction=Direction.IN, channel=msg.channel.value,
        # a clashing mail reuses another mail's Message-ID: never a key to thread by
        message_id=correlation.stored_id(msg.message_id) if msg.message_id and not item.clash else None,
        in_reply_to=" ".join(msg.in_reply_to) or None,
        references=" ".join(msg.references) or None,
        from_addr=msg.from_addr[:320], from_name=msg.from_name[:200],
        to_addrs=", ".join(msg.to), cc_addrs=", ".join(msg.cc), subject=msg.subject,
        text=msg.text, visible_text=msg.visible_text, html=msg.html,
        auto_reason=msg.auto_reason, is_bounce=msg.is_bounce,
        warnings="\n".join(msg.warnings) or None, sent_date=msg.date, created_at=now,
    )
    m.attachments = []  # set, even when empty: read after the flush without a lazy load
    for a in msg.attachments:
        m.attachments.append(Attachment(
            filename=a.filename, content_type=a.content_type, size=a.size,
            sha256=hashlib.sha256(a.content).hexdigest(), inline=a.inline,
            content_id=a.content_id, content=a.content))
    s.add(m)
    if msg.message_id and not item.clash:
        s.info.setdefault("pending_ids", {})[correlation.stored_id(msg.message_id)] = ticket
    return m


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


# ------------------------------------------------------------------ Slack intake
def ingest_slack(desk: Desk, *, channel: str, ts: str, user: str, text: str, email: str = "",
                 name: str = "") -> IngestResult:
    """A Slack message that opens a ticket (an intake channel, or a DM to the bot):
    routed by the same rules; its thread is the ticket's thread. Re-sent events are
    duplicates by their (channel, ts)."""
    raw = json.dumps({"channel": channel, "ts": ts, "user": user, "text": text},
                     ensure_ascii=False).encode()
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "(no text)")
    msg = InboundMessage(channel=Channel.SLACK, raw=raw, message_id=f"slack.{channel}.{ts}@slack",
                         from_addr=email, from_name=name, subject=first[:120], text=text,
                         visible_text=text, slack_channel=channel, slack_ts=ts)
    item = Prepared(f"slack:{channel}/{ts}", raw, hashlib.sha256(raw).hexdigest(), msg)
    return ingest_prepared(desk, [item])[0]


# ------------------------------------------------------------------ SMTP spool
def spool(desk: Desk, raw: bytes, source: str) -> str:
    """Commit the bytes of a mail accepted over SMTP; a ticket is made from it later.

    Returns the mail's reference for the SMTP answer (`queued as 3fa9c2d1e0b7`): the start
    of its SHA-256, which the kept raw mail carries too, so `ticketbot mail REF` tells what
    became of it (a spool row's id would not do: SQLite gives an emptied table's next row
    id 1 again)."""
    return spool_many(desk, [(raw, source)])[0]


def spool_many(desk: Desk, mails: Sequence[tuple[bytes, str]]) -> list[str]:
    """Commit several mails accepted over SMTP in one transaction (the listener's group
    commit); their references, in order."""
    now = desk.clock()
    with desk.uow.write() as s:
        s.add_all([Spool(source=source[:200], content=raw, received_at=now) for raw, source in mails])
    return [mail_ref(raw) for raw, _ in mails]


def pending_spool(desk: Desk, limit: int, skip: Collection[int] = ()
                  ) -> list[tuple[int, str, bytes, datetime]]:
    """The oldest spooled mails, up to `limit`, but for those with the ids in `skip` (a
    batch being parsed: its rows stay until the transaction that stores them)."""
    q = select(Spool.id, Spool.source, Spool.content, Spool.received_at)
    if skip:
        q = q.where(Spool.id.not_in(list(skip)))
    with desk.uow.read() as s:
        return [(r[0], r[1], r[2], r[3]) for r in s.execute(q.order_by(Spool.id).limit(limit))]


# ------------------------------------------------------------------ IMAP bookkeeping
def stored_keys(desk: Desk, keys: set[str]) -> set[str]:
    """Which of these dedupe keys are stored already."""
    with desk.uow.read() as s:
        return set(s.scalars(select(RawMail.dedupe_key).where(RawMail.dedupe_key.in_(keys))))
