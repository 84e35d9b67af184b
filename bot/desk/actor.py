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
- An integration (a REST API token, `Actor.integration`) with scope `read` may only
  view; with scope `write` it may do what a person may (except take: it is no person).
- A customer in the portal (`Actor.for_contact`, Via.PORTAL) may only do the portal's
  verbs, and only on their own tickets (their company's when they are its portal admin):
  `customer_may_see` says which. Every other verb, every staff view, is refused.
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
    PORTAL = "portal"  # a customer in the customer portal
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
    # the customer portal: a customer on their own tickets
    PORTAL_VIEW = "portal-view"
    PORTAL_REPLY = "portal-reply"
    PORTAL_REQUEST = "portal-request"
    PORTAL_DECIDE = "portal-decide"  # "solved" / "not solved" on a resolved ticket
    OPEN = "open"  # open a ticket on behalf of a customer (a call, a forward, a Slack message)
    HOLD = "hold"  # put an invoice on hold from collection, or release it
    TIME = "time"  # log time spent on a ticket
    WEBHOOKS = "webhooks"  # add, remove, enable webhook subscriptions


UNVERIFIED_MAY = frozenset({Verb.NOTE})
# Where the desk's data goes is the operator's to decide (rules.yaml, the command line, a
# trusted integration): webhook subscriptions send tickets to another system.
OPERATOR_ONLY = frozenset({Verb.WEBHOOKS})
CUSTOMER_MAY = frozenset({Verb.PORTAL_VIEW, Verb.PORTAL_REPLY, Verb.PORTAL_REQUEST, Verb.PORTAL_DECIDE})


@dataclass(frozen=True)
class Customer:
    """Who a portal actor is: a contact of the directory, and what they may see."""

    contact_id: int
    email: str  # lower case
    name: str = ""
    company_id: int | None = None
    admin: bool = False  # sees all of the company's tickets


@dataclass(frozen=True)
class Actor:
    key: str  # as recorded on events: a person's key, "cli:USER", "slack:U…", "system"
    via: Via
    person: Person | None = None
    verified: bool = True  # mail: it answers a notification sent to that address
    trusted: bool = False  # the operator at the command line, or the bot itself
    scope: str | None = None  # an integration's token scope: "read" | "write"
    customer: Customer | None = None  # a customer in the portal

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
    def integration(cls, name: str, scope: str) -> Actor:
        """An integration calling the REST API with its token: recorded as "api:NAME"."""
        return cls(f"api:{name}", Via.API, scope=scope)

    @classmethod
    def stranger(cls, key: str, via: Via) -> Actor:
        """Someone who is not in rules.yaml: may do and see nothing."""
        return cls(key, via)

    @classmethod
    def customer_of(cls, contact_id: int, email: str, name: str = "", company_id: int | None = None,
                    admin: bool = False) -> Actor:
        """A customer in the portal: the contact's own tickets (the company's as its admin)."""
        c = Customer(contact_id, email.lower(), name, company_id if admin else None, admin and bool(company_id))
        return cls(f"customer:{c.email}", Via.PORTAL, customer=c)

    @classmethod
    def for_contact(cls, contact) -> Actor:  # a bot.store.models.Contact
        return cls.customer_of(contact.id, contact.email, contact.name or "", contact.company_id,
                               bool(contact.portal_admin))


def customer_may_see(actor: Actor, ticket) -> bool:
    """Whether a portal actor may see this ticket (a bot.store.models.Ticket): their own
    (by contact, or by address), or their company's when they are its portal admin."""
    c = actor.customer
    if c is None:
        return False
    if ticket.contact_id is not None and ticket.contact_id == c.contact_id:
        return True
    if ticket.contact_email and ticket.contact_email.lower() == c.email:
        return True
    return c.admin and c.company_id is not None and ticket.company_id == c.company_id


def slack_actor(rs: RuleSet, user_id: str) -> Actor:
    person = next((p for p in rs.people.values() if p.slack == user_id), None)
    return Actor.of(person, Via.SLACK) if person else Actor.stranger(f"slack:{user_id}", Via.SLACK)


def refusal(actor: Actor, verb: Verb) -> str | None:
    """Why `actor` may not do `verb` (the command line's words); None when they may."""
    exc = refused(actor, verb)
    return str(exc) if exc is not None else None


def refused(actor: Actor, verb: Verb) -> NotAllowed | None:
    """The refusal `check` would raise (with its code, so each channel says it in its own
    words: `exc.words(channel, language)`); None when `actor` may do `verb`."""
    if actor.customer is not None:
        return None if verb in CUSTOMER_MAY else NotAllowed(
            "customers act in the portal, on their own tickets only")
    if verb is Verb.TAKE and actor.person is None:
        return NotAllowed("tickets can only be taken by a person in rules.yaml (people: with their "
                          "slack id)", code="take-needs-person")
    if actor.trusted:
        return None
    if actor.scope is not None:  # an integration: its token's scope decides
        if actor.scope == "write" or verb is Verb.VIEW:
            return None
        return NotAllowed(f"this API token's scope is {actor.scope}: it may only read")
    if actor.person is None:
        return NotAllowed("you are not in rules.yaml (people:), so you can neither see nor change "
                          "tickets; ask the desk's administrator to add you", code="not-in-rules")
    if not actor.verified and verb not in UNVERIFIED_MAY:
        return NotAllowed("the mail does not answer a notification sent to this address, so its "
                          "command was not run (kept as a note)", code="unverified")
    if verb in OPERATOR_ONLY:
        return NotAllowed("webhook subscriptions are changed by the operator (rules.yaml, `ticketbot "
                          "webhooks`) or a trusted integration (the API)", code="operator-only")
    return None


def check_customer(actor: Actor, verb: Verb) -> None:
    """`check`, and the actor must be a customer: the portal's actions are a customer's own
    (staff answer through their own channels)."""
    check(actor, verb)
    if actor.customer is None:
        raise NotAllowed("the portal's actions are a customer's own")


def check(actor: Actor, verb: Verb) -> None:
    """Raise NotAllowed (a Refused) when `actor` may not do `verb`."""
    exc = refused(actor, verb)
    if exc is not None:
        raise exc
