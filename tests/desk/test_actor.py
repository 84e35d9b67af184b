"""Who may do what (bot/desk/actor.py): `refusal` and `check` for every kind of actor and
every verb, Slack ids mapped to the people of rules.yaml, and the check in front of the
desk actions and views: a stranger is refused on a real ticket and nothing changes."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from bot.adapters.rules_file import load_rules
from bot.core.rules.schema import RuleSet
from bot.desk import actions, customer_csv, intake, queries
from bot.desk.actor import OPERATOR_ONLY, Actor, Verb, Via, check, refusal, slack_actor
from bot.desk.errors import NotAllowed, Refused
from tests.conftest import OPERATOR, RULES, who

EVERY_VERB = list(Verb)
ALL_BUT_TAKE = [v for v in Verb if v is not Verb.TAKE]
ALL_BUT_NOTE = [v for v in Verb if v is not Verb.NOTE]


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(RULES)


def may(actor: Actor, verb: Verb) -> bool:
    """`refusal` and `check` agree: None and no exception, or a reason and NotAllowed."""
    why = refusal(actor, verb)
    if why is None:
        check(actor, verb)
        return True
    with pytest.raises(NotAllowed) as refused:
        check(actor, verb)
    assert str(refused.value) == why
    return False


# ------------------------------------------------------------------------ the operator

@pytest.mark.parametrize("verb", EVERY_VERB)
def test_the_operator_acting_as_a_person_may_do_everything(rules, verb):
    assert may(Actor.operator("root", rules.people["sanne"]), verb)


@pytest.mark.parametrize("verb", ALL_BUT_TAKE)
def test_the_operator_may_do_everything(verb):
    assert may(Actor.operator("root"), verb)
    assert may(OPERATOR, verb)


def test_the_operator_alone_cannot_take_a_ticket_there_is_nobody_to_give_it_to():
    """Taking needs a person, even for the trusted command line (`--as PERSON`)."""
    assert not may(Actor.operator("root"), Verb.TAKE)
    assert "person in rules.yaml" in refusal(Actor.operator("root"), Verb.TAKE)


def test_the_operator_acts_under_the_persons_key(rules):
    assert Actor.operator("root").key == "root"
    actor = Actor.operator("root", rules.people["sanne"])
    assert (actor.key, actor.via, actor.person, actor.trusted) == (
        "sanne", Via.CLI, rules.people["sanne"], True)


# -------------------------------------------------------------------------- the system

@pytest.mark.parametrize("verb", ALL_BUT_TAKE)
def test_the_system_may_do_everything_but_take(verb):
    assert may(Actor.system(), verb)
    assert may(Actor.system("clock"), verb)


def test_the_system_cannot_take_a_ticket():
    with pytest.raises(NotAllowed, match="tickets can only be taken by a person in rules.yaml"):
        check(Actor.system(), Verb.TAKE)
    assert (Actor.system().key, Actor.system().via) == ("system", Via.SYSTEM)


# ---------------------------------------------------------------------------- a stranger

@pytest.mark.parametrize("via", [Via.SLACK, Via.MAIL, Via.WEB, Via.API])
@pytest.mark.parametrize("verb", EVERY_VERB)
def test_a_stranger_is_refused_everything_even_a_look(via, verb):
    stranger = Actor.stranger("slack:U0BOB00001", via)
    assert not may(stranger, verb)
    with pytest.raises(NotAllowed, match="rules.yaml") as refused:
        check(stranger, verb)
    assert isinstance(refused.value, Refused)  # every channel shows a Refused as it is


def test_the_stranger_is_told_why_and_whom_to_ask():
    why = refusal(Actor.stranger("mail:bob@elders.example", Via.MAIL), Verb.VIEW)
    assert why is not None
    assert "not in rules.yaml" in why and "administrator" in why
    assert issubclass(NotAllowed, Refused)


# ---------------------------------------------------------------------------- a person

@pytest.mark.parametrize("via", [Via.SLACK, Via.MAIL, Via.WEB, Via.API])
@pytest.mark.parametrize("verb", [v for v in EVERY_VERB if v not in OPERATOR_ONLY])
def test_a_verified_person_may_do_everything(rules, via, verb):
    assert may(Actor.of(rules.people["marta"], via), verb)


@pytest.mark.parametrize("via", [Via.SLACK, Via.MAIL, Via.WEB, Via.API])
def test_only_the_operator_decides_where_webhooks_go(rules, via):
    assert not may(Actor.of(rules.people["marta"], via), Verb.WEBHOOKS)
    assert may(Actor.operator("cli:root"), Verb.WEBHOOKS)
    assert may(Actor("api:erp", Via.API, trusted=True), Verb.WEBHOOKS)


@pytest.mark.parametrize("verb", ALL_BUT_NOTE)
def test_an_unverified_mail_may_only_leave_a_note(rules, verb):
    unverified = Actor.of(rules.people["ruud"], Via.MAIL, verified=False)
    assert may(unverified, Verb.NOTE)
    assert not may(unverified, verb)
    with pytest.raises(NotAllowed, match="does not answer a notification"):
        check(unverified, verb)


def test_a_persons_actor_carries_the_person(rules):
    actor = Actor.of(rules.people["ruud"], Via.MAIL, verified=False)
    assert (actor.key, actor.via, actor.person, actor.verified, actor.trusted) == (
        "ruud", Via.MAIL, rules.people["ruud"], False, False)


# ------------------------------------------------------------------------ slack_actor

@pytest.mark.parametrize("key", ["sanne", "wim", "rob", "marta", "henk"])
def test_a_slack_id_from_rules_yaml_is_that_person(rules, key):
    person = rules.people[key]
    actor = slack_actor(rules, person.slack)
    assert actor == Actor.of(person, Via.SLACK)
    assert (actor.key, actor.person, actor.verified, actor.trusted) == (key, person, True, False)
    assert all(may(actor, verb) for verb in Verb if verb not in OPERATOR_ONLY)


@pytest.mark.parametrize("user_id", ["U0BOB00001", "U0SANNE02", "u0sanne01", ""])
def test_any_other_slack_id_is_a_stranger(rules, user_id):
    actor = slack_actor(rules, user_id)
    assert actor == Actor.stranger(f"slack:{user_id}", Via.SLACK)
    assert (actor.key, actor.person, actor.trusted) == (f"slack:{user_id}", None, False)
    assert not any(may(actor, verb) for verb in Verb)


def test_people_without_a_slack_id_are_not_found_by_slack(rules):
    """ruud and pieter work from their mailbox: no Slack id can be theirs."""
    assert rules.people["ruud"].slack is None and rules.people["pieter"].slack is None
    assert {slack_actor(rules, p.slack).key for p in rules.people.values() if p.slack} == {
        k for k, p in rules.people.items() if p.slack}


# ----------------------------------------------------- through the desk actions and views

def customer_mail() -> bytes:
    m = EmailMessage()
    m["From"] = "Jan Jansen <jan@bakkerij-jansen.nl>"
    m["To"] = "support@desk.example"
    m["Subject"] = "Klacht over de bezorging"
    m["Message-ID"] = "<actor-1@bakkerij-jansen.nl>"
    m.set_content("Goedendag,\n\nDe krant kwam weer niet. Ik ben hier erg ontevreden over.\n")
    return bytes(m)


def state(desk, number: int) -> tuple[dict, list]:
    return queries.ticket_detail(desk, OPERATOR, number), queries.list_outbox(desk, OPERATOR)


def test_a_stranger_changes_and_sees_nothing_of_a_real_ticket(desk, tmp_path):
    n = intake.ingest_raw(desk, customer_mail(), "t1").ticket
    before = state(desk, n)
    assert before[0]["status"] == "new" and before[0]["owner"] == "marta"  # the advisor (S 4.1)
    stranger = Actor.stranger("slack:U0BOB00001", Via.SLACK)
    attempts = {
        "resolve": lambda: actions.resolve(desk, stranger, n, "opgelost"),
        "reply": lambda: actions.reply(desk, stranger, n, "Beste Jan, u krijgt uw geld terug."),
        "note": lambda: actions.add_note(desk, stranger, n, "intern"),
        "action": lambda: actions.log_action(desk, stranger, n, "call", "gebeld"),
        "assign": lambda: actions.assign(desk, stranger, n, "marta", "van mij"),
        "take": lambda: actions.take(desk, stranger, n),
        "wait": lambda: actions.set_waiting(desk, stranger, n, True),
        "kind": lambda: actions.set_kind(desk, stranger, n, "question"),
        "detail": lambda: queries.ticket_detail(desk, stranger, n),
        "list": lambda: queries.list_tickets(desk, stranger),
        "search": lambda: queries.search(desk, stranger, "bezorging"),
        "outbox": lambda: queries.list_outbox(desk, stranger),
        "complaints": lambda: queries.open_complaints(desk, stranger),
        "import": lambda: customer_csv.import_file(desk, stranger, "customers",
                                                   tmp_path / "never-read.csv"),
    }
    for name, attempt in attempts.items():
        with pytest.raises(NotAllowed, match="rules.yaml"):  # take: "taken by a person in rules.yaml"
            attempt()
        assert state(desk, n) == before, name
    # whether a ticket exists is not told either: the same refusal for a number never used
    with pytest.raises(NotAllowed, match="not in rules.yaml"):
        actions.resolve(desk, stranger, n + 1000)


def test_an_unverified_mail_leaves_a_note_and_nothing_else(desk):
    n = intake.ingest_raw(desk, customer_mail(), "t1").ticket
    ruud = Actor.of(desk.ruleset.people["ruud"], Via.MAIL, verified=False)
    with pytest.raises(NotAllowed, match="does not answer a notification"):
        actions.resolve(desk, ruud, n, "opgelost")
    with pytest.raises(NotAllowed):
        queries.ticket_detail(desk, ruud, n)
    actions.add_note(desk, ruud, n, "klant gebeld")
    after = queries.ticket_detail(desk, OPERATOR, n)
    assert after["status"] == "new"
    assert [(e["actor"], e["reason"]) for e in after["events"] if e["action"] == "note"] == [
        ("ruud", "klant gebeld")]


def test_a_person_in_rules_yaml_does_what_the_stranger_could_not(desk):
    n = intake.ingest_raw(desk, customer_mail(), "t1").ticket
    sanne = slack_actor(desk.ruleset, desk.ruleset.people["sanne"].slack)
    assert queries.ticket_detail(desk, sanne, n)["owner"] == "marta"  # the advisor (S 4.1)
    assert actions.take(desk, Actor.of(desk.ruleset.people["pieter"], Via.WEB), n) == "pieter"
    assert actions.resolve(desk, sanne, n, "opgelost")["status"] == "resolved"
    assert actions.reopen(desk, who(desk, "sanne"), n)["status"] == "open"
