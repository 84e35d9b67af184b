"""Learning from corrections (issue 16): every reassignment and kind change a person
makes after the rules routed a ticket is an event; this reads them back, per rule, with
the words that made the rule match, and suggests edits to rules.yaml. It never changes
the rules itself: a desk's administrator decides."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.core.domain import Direction
from bot.core.mail.quotes import without_signature
from bot.core.rules import kind_model
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.store.models import Event, Message, Ticket

MACHINE_ACTORS = ("rules", "system")
_FOUND = re.compile(r"found '([^']+)'")


def report(desk: Desk, actor: Actor, since: datetime | None = None) -> list[dict[str, Any]]:
    """Per rule whose tickets people corrected: how many, from what to what, the words it
    matched on, example tickets and a suggestion; the most corrected rule first."""
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        q = select(Event).where(Event.action.in_(("routed", "reassigned", "kind"))).order_by(Event.id)
        if since is not None:
            q = q.where(Event.at >= since)
        routed: dict[int, dict] = {}
        corrected: dict[int, dict[str, Any]] = {}
        for e in s.scalars(q):
            if e.ticket_id is None:
                continue
            detail = e.detail or {}
            if e.action == "routed":
                routed[e.ticket_id] = detail
            elif e.actor not in MACHINE_ACTORS and e.ticket_id in routed:
                c = corrected.setdefault(e.ticket_id, {})
                if e.action == "kind":
                    c["kind"] = detail.get("to")
                else:
                    c["role"] = detail.get("role") or detail.get("to")
        subjects = dict(s.execute(select(Ticket.id, Ticket.subject).where(
            Ticket.id.in_(list(corrected)))).all()) if corrected else {}
    per_rule: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "tickets": [], "changes": Counter(), "words": Counter()})
    for number, change in corrected.items():
        r = routed[number]
        rule = r.get("rule") or "(defaults)"
        entry = per_rule[rule]
        entry["tickets"].append(number)
        if "kind" in change and change["kind"] != r.get("kind"):
            entry["changes"][f"kind {r.get('kind')} → {change['kind']}"] += 1
        if "role" in change and change["role"] != r.get("role"):
            entry["changes"][f"owner {r.get('role') or r.get('owner')} → {change['role']}"] += 1
        entry["words"].update(w for ev in r.get("evidence") or [] for w in _FOUND.findall(ev))
    out = []
    for rule, entry in per_rule.items():
        if not entry["changes"]:
            continue
        change, n = entry["changes"].most_common(1)[0]
        words = [w for w, _ in entry["words"].most_common(5)]
        out.append({
            "rule": rule, "corrected": len(entry["tickets"]),
            "changes": entry["changes"].most_common(), "words": words,
            "examples": [{"ticket": desk.tag(t), "subject": subjects.get(t, "")}
                         for t in sorted(entry["tickets"])[-5:]],
            "suggestion": _suggest(rule, change, n, words),
        })
    return sorted(out, key=lambda r: (-r["corrected"], r["rule"]))


def _suggest(rule: str, change: str, n: int, words: list[str]) -> str:
    what = change.split(" → ")[-1]
    if words:
        return (f"{n} ticket(s) routed by rule {rule!r} became {what} by hand; it matched on "
                f"{', '.join(repr(w) for w in words)}: narrow those words (a `not:` condition, a "
                f"`*_stated` test) or add a rule for {what} before {rule!r}")
    return (f"{n} ticket(s) that rule {rule!r} routed became {what} by hand: add a rule for "
            f"{what} before it, with the words those mails share")


def training_rows(desk: Desk, actor: Actor, since: datetime | None = None) -> list[tuple[str, str, str]]:
    """The kind model's training rows from the desk's own corrections: every ticket whose
    kind a person changed or that a person reassigned after the rules routed it, as
    (subject, text, kind) folded by kind_model.document, the kind being the ticket's kind
    now (what the person left it as). Automatic mail is left out."""
    check(actor, Verb.VIEW)
    with desk.uow.read() as s:
        q = select(Event.ticket_id).where(Event.action.in_(("reassigned", "kind")),
                                          Event.actor.not_in(MACHINE_ACTORS),
                                          Event.ticket_id.is_not(None))
        if since is not None:
            q = q.where(Event.at >= since)
        numbers = sorted({n for n in s.scalars(q) if n is not None})
        rows = []
        for number in numbers:
            t = s.get(Ticket, number)
            first = s.scalars(select(Message).where(Message.ticket_id == number,
                                                    Message.direction == Direction.IN)
                              .order_by(Message.id).limit(1)).first()
            if t is None or first is None or first.auto_reason:
                continue
            body = without_signature(first.visible_text or first.text or "")
            rows.append((*kind_model.document(first.subject or t.subject or "", body), t.kind))
    return rows
