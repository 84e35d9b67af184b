"""The rules table's model: people, roles, kinds, rules, the rule set, and
the error that lists every problem of a bad file. Pure values."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.rules.facts import Facts, Scopes

ROLES = ("receivables", "advisor", "webmaster", "rsm", "sales_support", "sales_manager")
BASE_KINDS = ("complaint", "question", "request", "appointment", "advertising",
              "cancellation", "technical", "invoice")
PRIORITIES = ("low", "normal", "high", "urgent")
LANGUAGES = ("nl", "en", "pl", "de")
CHANNELS = ("mail", "slack")
ADVISOR = "advisor"  # assign target: the customer's advisor, else the RSM
SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

TOP_KEYS = {"version", "defaults", "people", "roles", "kinds", "rules", "sla", "calendars", "schedule",
            "slack", "limits", "scopes", "webhooks"}
# scopes: words that take a keyword out of what the customer states (`*_stated` conditions),
# each a list per language (or one list): negation, condition, hypothetical; and how far a
# negation reaches (words before and after the keyword, in its clause).
# `context`: phrases in which a keyword is about something else ("noise cancellation",
# "cancellation fee"): the keyword inside one does not count, in `*_stated` and
# `*_unnegated` conditions alike.
SCOPE_LISTS = ("negation", "condition", "hypothetical", "context")
SCOPE_KEYS = set(SCOPE_LISTS) | {"before", "after"}
# Flood caps (issue 10.6), each within a sliding hour. Past a sender's or a domain's cap,
# new mails join one "flood" ticket; past a person's notice cap, they get one notice that
# more is waiting instead of one per ticket. Free-mail domains have no domain cap.
DEFAULT_LIMITS = {"new_tickets_per_sender_per_hour": 20,
                  "new_tickets_per_domain_per_hour": 60,
                  "notices_per_person_per_hour": 30}
LIMIT_KEYS = set(DEFAULT_LIMITS)
SLACK_KEYS = {"channels", "intake", "explicit", "note_prefix", "reply_prefix", "undo_seconds",
              "intake_reaction"}
SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
DEFAULT_SLACK: dict[str, Any] = {"channels": {}, "intake": (), "explicit": (), "note_prefix": "note:",
                                 "reply_prefix": "reply:", "undo_seconds": 60,
                                 # a reaction (e.g. ticket) that makes any message a ticket
                                 "intake_reaction": None}
DEFAULT_KEYS = {"owner", "language", "ack", "timezone", "calendar"}
SCHEDULE_KEYS = {"open_complaints_report", "contracts_ending", "monthly_report", "invoice_holds_export"}
JOB_KEYS = {"open_complaints_report": {"cron", "to"},
            "contracts_ending": {"cron", "within", "notify_customer", "customer_template"},
            "monthly_report": {"cron", "to", "calendar"},
            "invoice_holds_export": {"cron", "to"}}
DEFAULT_SCHEDULE: dict[str, dict[str, Any]] = {
    "open_complaints_report": {"cron": "0 8 * * mon", "to": "sales_manager"},
    # tried at 08:00 on the weekdays of the month's first week; sent on its first working
    # day by `calendar` (holidays included), about the month before
    "monthly_report": {"cron": "0 8 1-7 * mon-fri", "to": "sales_manager", "calendar": "office"},
    "contracts_ending": {"cron": "0 8 * * mon", "within": 60, "notify_customer": False,
                         "customer_template": "contract-ending"},
    # the invoices on hold, as CSV, to receivables (off unless rules.yaml sets a cron)
    "invoice_holds_export": {"cron": None, "to": "receivables"}}
# `webhooks:` subscriptions (bot/desk/webhooks.py): each posts the named events, signed
# with the secret in the environment variable `secret_env` (TICKETBOT_WEBHOOK_...).
WEBHOOK_KEYS = {"name", "url", "events", "secret_env", "description"}
WEBHOOK_SECRET_ENV = re.compile(r"^TICKETBOT_WEBHOOK_[A-Z0-9_]+$")
WEBHOOK_SETTINGS = {"TICKETBOT_WEBHOOK_DISABLE_DAYS", "TICKETBOT_WEBHOOK_TIMEOUT"}  # not secrets
PERSON_KEYS = {"name", "email", "slack", "access", "roles", "phone", "language", "notify", "digest_at"}
# the languages staff read (notices, reports, the web face); customers' mail has de too
STAFF_LANGUAGES = ("nl", "en", "pl")
NOTIFY_MODES = ("each", "digest")  # one message per event, or one a day at `digest_at`
DIGEST_AT = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
ROLE_KEYS = {"default", "members", "manager"}
# assign: who owns a ticket of this kind when the kind model (bot/core/rules/kind_model.py)
# proposes it for a mail no rule decided (the same targets as a rule's `assign`)
KIND_KEYS = {"sla", "fields", "label", "workflow", "assign"}
WORKFLOWS = {"cancellation"}
RULE_KEYS = {"name", "when", "then", "continue", "description"}
ACTION_KEYS = {"kind", "category", "priority", "urgent", "assign", "watchers", "ack", "ignore"}
TEXT_PARTS = ("subject", "body", "text", "attachments")  # attachments: attached letters' text
# `body_stated` etc.: keywords that count only where the customer states them (see scopes)
STATED_CONDS = {f"{p}_stated" for p in TEXT_PARTS}
# `text_unnegated` etc.: keywords that count unless negated or in a context phrase (a
# complaint may be a question or a condition - "Why has nobody called?" - but "Geen
# klachten hoor" is no complaint)
UNNEGATED_CONDS = {f"{p}_unnegated" for p in TEXT_PARTS}
LIST_CONDS = {"from", "from_domain", "to", "attachment_name"} | set(TEXT_PARTS) | STATED_CONDS | UNNEGATED_CONDS
REGEX_CONDS = {f"{p}_regex" for p in TEXT_PARTS} | {f"{p}_stated_regex" for p in TEXT_PARTS}
# `body_near` etc.: a mapping of word groups (e.g. verb: [...], object: [...]), a word of
# each in one sentence; `*_stated_near`: and the first group's word stated (scopes)
NEAR_CONDS = {f"{p}_near" for p in TEXT_PARTS} | {f"{p}_stated_near" for p in TEXT_PARTS}
BOOL_CONDS = {"has_attachment", "has_advisor", "automatic", "reply", "forwards_other"}
ENUM_CONDS = {"channel": CHANNELS, "language": LANGUAGES, "customer": ("known", "unknown", "prospect")}
COMBINATORS = {"all", "any", "not"}
# the conditions on the sender's standing in the directory: the only ones a message alone
# cannot answer (every other one can be read ahead, in a parser process: rules/ahead.py)
DIRECTORY_CONDS = {"customer", "has_advisor"}
COND_KEYS = LIST_CONDS | REGEX_CONDS | NEAR_CONDS | BOOL_CONDS | set(ENUM_CONDS) | COMBINATORS


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    reason: str

    def __str__(self) -> str:
        if not self.line:  # about the whole file
            return f"{self.file}: {self.reason}"
        return f"{self.file}:{self.line}:{self.column}: {self.reason}"


class RulesError(Exception):
    """rules.yaml cannot be used; `problems` lists every reason, each with its place."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        super().__init__("\n".join(map(str, self.problems)))


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class Person:
    key: str
    name: str
    email: str
    slack: str | None = None
    access: str = "email"  # slack | email
    roles: tuple[str, ...] = ()
    phone: str | None = None
    language: str | None = None  # None: the desk's (RuleSet.language_of)
    notify: str = "each"  # each | digest (NOTIFY_MODES)
    digest_at: str | None = None  # "HH:MM" desk time, with notify: digest


@dataclass(frozen=True)
class Role:
    name: str
    default: str | None
    members: tuple[str, ...] = ()
    manager: str | None = None  # a role or a person

    @property
    def person(self) -> str | None:
        return self.default or (self.members[0] if self.members else None)


@dataclass(frozen=True)
class Kind:
    name: str
    sla: str | None = None
    fields: tuple[str, ...] = ()
    label: dict = field(default_factory=dict)
    workflow: str | None = None
    assign: str | None = None  # owner of a model-proposed ticket of this kind


@dataclass(frozen=True)
class Condition:
    """One test on the facts; `describe` is what --explain prints."""

    key: str
    value: Any
    test: Callable[[Facts], bool | str] = field(compare=False, repr=False)
    children: tuple[Condition, ...] = ()

    def describe(self) -> str:
        if self.key in COMBINATORS:
            return self.key
        v = self.value
        if isinstance(v, (list, tuple)):
            v = ", ".join(map(str, v))
        return f"{self.key}: {v}"


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]  # all must hold; empty: always
    actions: dict
    continue_: bool = False
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Webhook:
    """A subscription configured in rules.yaml (read-only for the desk and the API)."""

    name: str
    url: str
    events: tuple[str, ...]
    secret_env: str
    line: int = 0


@dataclass(frozen=True)
class RuleSet:
    people: dict[str, Person]
    roles: dict[str, Role]
    kinds: dict[str, Kind]
    rules: tuple[Rule, ...]
    default_owner: str = "sales_support"  # a role or a person
    default_language: str = "en"
    default_ack: str = "ack"
    source: str = "(built in)"
    timezone: str = "Europe/Amsterdam"
    calendars: dict = field(default_factory=dict)  # name -> BusinessCalendar
    default_calendar: str = "office"  # defaults: calendar (digests go on its business days)
    policies: dict = field(default_factory=dict)  # name -> sla.Policy
    schedule: dict = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_SCHEDULE.items()})
    notify_staff: bool = True  # False only for the built-in fallback (nobody real to tell)
    slack: dict = field(default_factory=lambda: dict(DEFAULT_SLACK))
    # flood caps (DEFAULT_LIMITS): nothing is lost past them, staff are told once
    limits: dict = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    scopes: Scopes = field(default_factory=Scopes)  # negation, condition, hypothetical words
    webhooks: tuple[Webhook, ...] = ()  # `webhooks:` subscriptions
    # the SHA-256 of the rules file's text ("" when built otherwise): what a parser process
    # checks before it reads a mail ahead with its own copy of the rules (rules/ahead.py)
    digest: str = ""
    # every condition a message alone answers (not DIRECTORY_CONDS, not a combinator), in
    # the file's order: condition i remembers its answer under i in a Facts' memo
    message_leaves: tuple[Condition, ...] = field(default=(), repr=False, compare=False)

    def language_of(self, person: Person | None) -> str:
        """The language a person reads the desk in: their own, else the desk's."""
        return (person.language if person is not None else None) or self.default_language

    def slack_channel_for(self, kind: str, role: str | None, default: str | None) -> str | None:
        """The team channel a ticket's thread goes to: by kind, then role, then default."""
        channels = self.slack.get("channels") or {}
        return channels.get(kind) or (channels.get(role) if role else None) or default

    def policy_for(self, kind: str):
        """The SLA policy that times tickets of this kind, or None."""
        k = self.kinds.get(kind)
        return self.policies.get(k.sla) if k and k.sla else None

    def manager_of(self, person_key: str, role: str | None = None) -> str | None:
        """The person who is the manager of `role` (else of the person's first role)."""
        person = self.people.get(person_key)
        roles = [role] if role else list(person.roles if person else ())
        for r in roles:
            rl = self.roles.get(r)
            if rl and rl.manager:
                return self.resolve(rl.manager)
        return None

    def resolve(self, target: str) -> str | None:
        """A role or person name -> a person key."""
        if target in self.people:
            return target
        role = self.roles.get(target)
        return role.person if role else None

    def person_for_email(self, email: str) -> Person | None:
        email = email.lower()
        return next((p for p in self.people.values() if p.email.lower() == email), None)

    @classmethod
    def fallback(cls, owner: str = "sales_support") -> RuleSet:
        """No rules file: everything goes to one person (tests, first start)."""
        person = Person(owner, owner.replace("_", " ").title(), f"{owner}@ticketbot.invalid",
                        roles=("sales_support",))
        return cls(people={owner: person},
                   roles={r: Role(r, owner) for r in ROLES if r != ADVISOR},
                   kinds={k: Kind(k, workflow="cancellation" if k == "cancellation" else None)
                          for k in BASE_KINDS},
                   rules=(), default_owner=owner, notify_staff=False)
