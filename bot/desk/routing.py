"""Routing, the desk side: identify the sender, run the rules, and give a new ticket
its one owner, its watchers and its explanation; reassign with who, when and why.

The rules engine itself is pure (bot/core/rules/); this module brings it the facts from the
directory and writes the decision to the ticket, inside the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session

from bot.core.domain import READ_LIMIT, InboundMessage
from bot.core.mail.forwarded import FORWARD_SUBJECT, find_in_text
from bot.core.mail.invisible import strip_invisible
from bot.core.mail.quotes import without_signature
from bot.core.rules.engine import Decision, resolve_target, route
from bot.core.rules.facts import Facts
from bot.core.rules.kind_model import KindModel
from bot.core.rules.kind_model import apply as apply_model
from bot.core.rules.schema import ADVISOR, RuleSet
from bot.desk import directory
from bot.desk.errors import Refused
from bot.desk.events import record
from bot.store.models import Event, Ticket, Watcher

# Re:, RE:, AW:, Antw:, Odp:, SV:, Vs: (one or more, as mail programs stack them)
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|antw|odp|sv|vs|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


SUBJECT_LIMIT = 2000  # characters of a subject routing reads (staff are shown as much)


ATTACHMENT_TEXT_LIMIT = 20_000  # characters of attached letters routing reads


def attachment_text(msg: InboundMessage) -> str:
    """The text of the attached letters (read by the parser), each after its name."""
    parts = [f"[{a.filename or 'attachment'}]\n{strip_invisible(a.text)}"
             for a in msg.attachments if a.text and not a.inline]
    return "\n\n".join(parts)[:ATTACHMENT_TEXT_LIMIT]


def facts_for(msg: InboundMessage, ident: directory.Identity) -> Facts:
    """What the rules look at: the customer's own words, the first READ_LIMIT of them
    (and of the subject, SUBJECT_LIMIT), without characters nobody sees (a zero-width
    space must not hide a keyword)."""
    body = (msg.visible_text or msg.text or "")[:READ_LIMIT]
    return Facts(
        from_addr=msg.from_addr or "", to=tuple(msg.to) + tuple(msg.cc),
        subject=strip_invisible((msg.subject or "")[:SUBJECT_LIMIT]),
        body=strip_invisible(without_signature(body)),
        attachments=tuple((a.filename or "", a.content_type) for a in msg.attachments
                          if not a.inline),
        attachment_text=attachment_text(msg),
        channel=msg.channel.value, language=msg.language,
        customer="known" if ident.known_company else ("prospect" if ident.prospect else "unknown"),
        company=ident.company_name, advisor=ident.advisor,
        automatic=msg.auto_reason or "",
        reply=bool(msg.in_reply_to) or bool(REPLY_PREFIX.match(msg.subject or "")),
        forwards_other=forwards_other(msg),
    )


def forwards_other(msg: InboundMessage) -> str:
    """The sender of the message a forward (FW:/Fwd:/PD:/WG: subject) carries, when that is
    somebody at another domain than the sender's: its subject is that writer's, not the
    customer's (a supplier's notice forwarded by mistake). "" for any other mail, and for
    the customer forwarding their own earlier letter."""
    if not FORWARD_SUBJECT.match(msg.subject or ""):
        return ""
    found = find_in_text((msg.text or "")[:READ_LIMIT], msg.subject or "")
    if found is None:
        return ""
    sender = (msg.from_addr or "").rpartition("@")[2].lower()
    theirs = found.from_addr.rpartition("@")[2].lower()
    if not theirs:
        return ""
    if directory.is_free_mail(theirs):
        # a free-mail domain is no organisation: only the same mailbox is the sender's own
        # (a neighbour's gmail letter forwarded from the customer's gmail is somebody else's)
        same = found.from_addr.lower() == (msg.from_addr or "").lower()
    else:
        same = directory.same_organisation(sender, theirs)
    return "" if same else found.from_addr.lower()


def decide(s: Session, rs: RuleSet, msg: InboundMessage, now: datetime,
           create: bool = True, ours: Collection[str] = (),
           model: KindModel | None = None, explain: bool = False) -> tuple[directory.Identity, Decision]:
    """`ours`: the desk's own domains (directory.desk_domains): never a prospect.
    `model`: the kind model (Desk.kind_model), asked where the rules fall through;
    `explain`: with the words that drove its proposal (route --explain)."""
    ident = directory.identify(s, msg.from_addr or "", msg.from_name or "", now, create=create,
                               flush=False,  # the batch flushes once, all tables together
                               ours=ours or directory.desk_domains(p.email for p in rs.people.values()))
    facts = facts_for(msg, ident)
    d = route(rs, facts)
    if model is not None:
        apply_model(rs, facts, d, model, explain)
    return ident, d


def apply_decision(s: Session, ticket: Ticket, ident: directory.Identity, d: Decision,
                   now: datetime) -> None:
    ticket.kind = d.kind
    ticket.category = d.category
    ticket.priority = d.priority
    ticket.urgent = d.urgent
    ticket.owner = d.owner
    ticket.owner_role = d.owner_role
    ticket.rule = d.rule
    ticket.company = ident.company
    ticket.contact = ident.contact
    ticket.customer = ident.company_name
    for person in d.watchers:
        ticket.watchers.append(Watcher(person=person))
    s.add(Event(ticket=ticket, at=now, actor="rules", action="routed",
                detail={"rule": d.rule, "matched": d.matched, "kind": d.kind,
                        # what made the matching rules match (e.g. "found 'factuur'"), for
                        # `ticketbot routing report`
                        "evidence": [c.detail[:200] for t in d.trace if t.matched
                                     for c in t.conditions if c.result and c.detail][:10],
                        "owner": d.owner, "role": d.owner_role, "watchers": d.watchers,
                        "priority": d.priority, "sender": ident.how,
                        # the kind model's proposal (kind, confidence, applied): `kind_from`
                        # says whether the kind is the rules' or the model's; `upgraded`: the
                        # model made a rule's kind (`rules_kind`) a complaint
                        **({"kind_from": "model" if d.model["applied"] else "rules",
                            "model": {k: d.model[k] for k in ("kind", "confidence", "threshold",
                                                              "applied", "review", "upgraded", "rules_kind")
                                      if k in d.model}}
                           if d.model else {})},
                reason=d.owner_reason))


def reassign(s: Session, rs: RuleSet, ticket: Ticket, target: str, by: str, reason: str,
             now: datetime) -> str:
    """Give the ticket to a person or a role's person; returns the new owner's key."""
    if not reason or not reason.strip():
        raise Refused("say why (--reason): reassignments are recorded with their reason",
                      code="reason-needed", ticket=ticket.id)
    role = target if target in rs.roles else None
    person: str | None
    if target == ADVISOR:  # the customer's own advisor, else the RSM, as when routing
        company = ticket.company
        facts = Facts(customer="known" if company is not None and not company.prospect else "unknown",
                      company=company.name if company is not None else None,
                      advisor=company.advisor if company is not None else None)
        person, role, _ = resolve_target(rs, ADVISOR, facts)
    else:
        person = rs.resolve(target)
    if person is None:
        known = ", ".join(sorted(set(rs.people) | {r for r, v in rs.roles.items() if v.person}))
        raise Refused(f"{target!r} is neither a person nor a filled role; known: {known}",
                      code="unknown-target", target=target, known=known)
    if person == ticket.owner:
        raise Refused(f"ticket {ticket.id} is already {person}'s", code="already-owner",
                      ticket=ticket.id, person=person)
    old = ticket.owner
    ticket.owner = person
    ticket.owner_role = role
    ticket.updated_at = now
    record(s, ticket, now, by, "reassigned", {"from": old, "to": person, "role": ticket.owner_role},
           reason.strip())
    return person
