"""Who acts on a ticket, through which channel, and what they may do.

Every desk action and every view takes an `Actor` and asks `check` first, so a new
channel (a web form, the API) cannot forget the permission: it only has to say who is
acting. The rules of this desk:

- The operator at the server's command line (`ticketbot ...`) is trusted: everything.
- The bot itself (`system`: rules, clocks, the customer's own mail) does what the
  procedures say.
- A person must be in rules.yaml to see or change a ticket. Anyone else (a Slack user
  who is in nobody's list, a stranger's mail) is refused every action and every view.
- A colleague's mail that does not answer a notification the bot sent to that very
  address (a From line is easily forged) may only leave a note, marked unverified.
- Taking a ticket needs a person to give it to.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.core.rules.schema import Person, RuleSet
from bot.desk.errors import NotAllowed


class Via(enum.StrEnum):
    CLI = "cli"
    SLACK = "slack"
    MAIL = "mail"
    WEB = "web"
    API = "api"
    SYSTEM = "system"


class Verb(enum.StrEnum):
    """What can be asked of the desk; `check` decides per actor."""

    VIEW = "view"
    REPLY = "reply"
    NOTE = "note"
    ACTION = "action"
    ASSIGN = "assign"
    TAKE = "take"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    WAIT = "wait"
    KIND = "kind"
    FIELD = "field"
    CANCELLATION = "cancellation"
    TASK = "task"
    EDIT_REPLY = "edit-reply"
    DIRECTORY = "directory"  # import customers and contracts
    WEBHOOKS = "webhooks"  # add, remove, enable webhook subscriptions


UNVERIFIED_MAY = frozenset({Verb.NOTE})
# Where the desk's data goes is the operator's to decide (rules.yaml, the command line, a
# trusted integration): webhook subscriptions send tickets to another system.
OPERATOR_ONLY = frozenset({Verb.WEBHOOKS})


@dataclass(frozen=True)
class Actor:
    key: str  # as recorded on events: a person's key, "cli:USER", "slack:U…", "system"
    via: Via
    person: Person | None = None
    verified: bool = True  # mail: it answers a notification sent to that address
    trusted: bool = False  # the operator at the command line, or the bot itself

    @classmethod
    def operator(cls, name: str, person: Person | None = None) -> Actor:
        """The command line: trusted; `person` when the operator acts for someone."""
        return cls(person.key if person else name, Via.CLI, person, trusted=True)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(name, Via.SYSTEM, trusted=True)

    @classmethod
    def of(cls, person: Person, via: Via, verified: bool = True) -> Actor:
        return cls(person.key, via, person, verified=verified)

    @classmethod
    def stranger(cls, key: str, via: Via) -> Actor:
        """Someone who is not in rules.yaml: may do and see nothing."""
        return cls(key, via)


def slack_actor(rs: RuleSet, user_id: str) -> Actor:
    person = next((p for p in rs.people.values() if p.slack == user_id), None)
    return Actor.of(person, Via.SLACK) if person else Actor.stranger(f"slack:{user_id}", Via.SLACK)


def refusal(actor: Actor, verb: Verb) -> str | None:
    """Why `actor` may not do `verb`; None when they may."""
    if verb is Verb.TAKE and actor.person is None:
        return ("tickets can only be taken by a person in rules.yaml (people: with their "
                "slack id)")
    if actor.trusted:
        return None
    if actor.person is None:
        return ("you are not in rules.yaml (people:), so you can neither see nor change "
                "tickets; ask the desk's administrator to add you")
    if not actor.verified and verb not in UNVERIFIED_MAY:
        return ("the mail does not answer a notification sent to this address, so its "
                "command was not run (kept as a note)")
    if verb in OPERATOR_ONLY:
        return ("webhook subscriptions are changed by the operator (rules.yaml, `ticketbot "
                "webhooks`) or a trusted integration (the API)")
    return None


def check(actor: Actor, verb: Verb) -> None:
    """Raise NotAllowed (a Refused) when `actor` may not do `verb`."""
    why = refusal(actor, verb)
    if why is not None:
        raise NotAllowed(why)
