"""Routing, the desk side: identify the sender, run the rules, and give a new ticket
its one owner, its watchers and its explanation; reassign with who, when and why.

The rules engine itself is pure (bot/core/rules/); this module brings it the facts from the
directory and writes the decision to the ticket, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session

from bot.core.domain import InboundMessage
from bot.core.rules.ahead import Ahead
from bot.core.rules.engine import Decision, resolve_target, route
from bot.core.rules.facts import Facts
from bot.core.rules.kind_model import KindModel
from bot.core.rules.kind_model import apply as apply_model
from bot.core.rules.reading import message_facts
from bot.core.rules.schema import ADVISOR, RuleSet
from bot.desk import directory
from bot.desk.errors import Refused
from bot.desk.events import record
from bot.store.models import Ticket, Watcher


def facts_for(msg: InboundMessage, ident: directory.Identity) -> Facts:
    """What the rules look at (reading.message_facts), with the sender's standing in the
    directory."""
    return message_facts(
        msg, customer="known" if ident.known_company else ("prospect" if ident.prospect else "unknown"),
        company=ident.company_name, advisor=ident.advisor)


def decide(s: Session, rs: RuleSet, msg: InboundMessage, now: datetime,
           create: bool = True, ours: Collection[str] = (),
           model: KindModel | None = None, explain: bool = False,
           ahead: Ahead | None = None) -> tuple[directory.Identity, Decision]:
    """`ours`: the desk's own domains (directory.desk_domains): never a prospect.
    `model`: the kind model (Desk.kind_model), asked where the rules fall through;
    `explain`: with the words that drove its proposal (route --explain); `ahead`: the
    mail's routing read ahead by a parser process (bot/core/rules/ahead.py), used where
    it was read under these very rules."""
    ident = directory.identify(s, msg.from_addr or "", msg.from_name or "", now, create=create,
                               flush=False,  # the batch flushes once, all tables together
                               ours=ours or directory.desk_domains(p.email for p in rs.people.values()))
    facts = facts_for(msg, ident)
    if ahead is not None and rs.digest and ahead.rules_digest == rs.digest:
        facts.remember(dict(ahead.memo))
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
    detail = {"rule": d.rule, "matched": d.matched, "kind": d.kind,
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
                 if d.model else {})}
    record(s, ticket, now, "rules", "routed", detail, d.owner_reason)


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
