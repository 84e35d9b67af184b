"""Routing: run the ordered rules over the facts, explain each decision."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.rules.facts import Facts
from bot.core.rules.schema import ADVISOR, Condition, RuleSet


# --------------------------------------------------------------------------- routing
@dataclass
class ConditionTrace:
    condition: str
    result: bool
    detail: str = ""


@dataclass
class RuleTrace:
    rule: str
    line: int
    matched: bool
    conditions: list[ConditionTrace]


@dataclass
class Decision:
    kind: str = "question"
    category: str | None = None
    priority: str = "normal"
    urgent: bool = False
    owner: str = ""  # person key
    owner_role: str | None = None
    owner_reason: str = ""
    watchers: list[str] = field(default_factory=list)  # person keys, owner excluded
    ack: str | bool = "ack"
    ignore: bool = False
    rule: str | None = None  # the rule that decided (the last that matched)
    matched: list[str] = field(default_factory=list)
    trace: list[RuleTrace] = field(default_factory=list)
    # the kind model's proposal where the rules fell through (bot/core/rules/kind_model.py)
    model: dict | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "category": self.category, "priority": self.priority,
                "urgent": self.urgent, "owner": self.owner, "owner_role": self.owner_role,
                "owner_reason": self.owner_reason, "watchers": self.watchers, "ack": self.ack,
                "ignore": self.ignore, "rule": self.rule, "matched": self.matched,
                "trace": [{"rule": t.rule, "line": t.line, "matched": t.matched,
                           "conditions": [{"condition": x.condition, "result": x.result,
                                           "detail": x.detail} for x in t.conditions]}
                          for t in self.trace],
                "model": self.model}


def _evaluate(cond: Condition, facts: Facts) -> ConditionTrace:
    r = cond.test(facts)
    # str(): a Miss (a reason why not, e.g. a negated keyword) is shown as plain text
    return ConditionTrace(cond.describe(), bool(r), str(r) if isinstance(r, str) else "")


def resolve_target(rs: RuleSet, target: str, facts: Facts) -> tuple[str | None, str | None, str]:
    """(person key, role, why) for an assign target; the person is None for a role nobody fills."""
    if target == ADVISOR:
        if facts.advisor and facts.advisor in rs.people:
            return facts.advisor, ADVISOR, f"the advisor of {facts.company}"
        if facts.customer != "known" or not facts.company:
            why = "company unknown"
        elif facts.advisor:
            why = f"{facts.company}'s advisor {facts.advisor!r} is not in rules.yaml"
        else:
            why = f"{facts.company} has no advisor yet"
        person = rs.resolve("rsm")
        return person, "rsm", f"{why}: the regional sales manager assigns one"
    if target in rs.people:
        return target, None, f"person {target}"
    return rs.resolve(target), target, f"role {target}"


def route(rs: RuleSet, facts: Facts) -> Decision:
    d = Decision(ack=rs.default_ack)
    assign: str | None = None
    decided: set[str] = set()
    for rule in rs.rules:
        results = [_evaluate(cond, facts) for cond in rule.conditions]
        matched = all(r.result for r in results)
        d.trace.append(RuleTrace(rule.name, rule.line, matched, results))
        if not matched:
            continue
        d.matched.append(rule.name)
        d.rule = rule.name
        a = rule.actions
        # First match wins, setting by setting: what an earlier (continue) rule decided
        # stands; later rules fill in what is still open.
        for key in ("kind", "category", "priority", "urgent", "ack", "ignore"):
            if key in a and key not in decided:
                setattr(d, key, a[key])
                decided.add(key)
        if "assign" in a and assign is None:
            assign = a["assign"]
        for w in a.get("watchers", []):
            if w not in d.watchers:
                d.watchers.append(w)
        if not rule.continue_:
            break
    if d.priority == "urgent":
        d.urgent = True
    target = assign or rs.default_owner
    owner, d.owner_role, d.owner_reason = resolve_target(rs, target, facts)
    # A role nobody fills (parse_rules refuses such a file): no owner, "" as in Decision();
    # the ticket table refuses a blank owner, so such a mail is quarantined, not lost.
    d.owner = owner or ""
    if not assign:
        d.owner_reason += " (no rule assigned an owner: the default)"
    watchers = []
    for w in d.watchers:
        person = resolve_target(rs, w, facts)[0]
        if person and person != d.owner and person not in watchers:
            watchers.append(person)
    d.watchers = watchers
    return d
