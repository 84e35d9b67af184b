"""On behalf of a customer from Slack and the command line (issue 14): `/ticket new
customer@… [kind] text` and `/ticket call customer@… text` as signed slash-command
requests through the real Bolt app, the outbox sender posting to the fake Slack and
mailing the acknowledgement; `ticketbot new` through bot.cli.main."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.store.models import Event, Ticket, make_engine, make_sessionmaker
from tests.conftest import RULES, START
from tests.desk.test_slack_desk import SANNE, STRANGER, TEAM, SlackRig
from tests.support.fakeslack import FakeSlack
from tests.support.slack_requests import (
    message_event,
    message_shortcut_form,
    reaction_event,
    view_submission_form,
    wsgi_post,
)


@pytest.fixture
def rig(make_desk, db_url, tmp_path):
    with FakeSlack() as slack:
        slack.add_user(SANNE, "sanne", "Sanne Jansen", "sanne@desk.example")
        slack.add_user(STRANGER, "bob", "Bob Vreemd", "bob@elders.example")
        yield SlackRig(make_desk, db_url, tmp_path, slack)


def tickets(rig) -> list[Ticket]:
    with rig.svc.sessions() as s:
        out = list(s.scalars(select(Ticket).order_by(Ticket.id)))
        for t in out:
            t.watchers, t.events  # noqa: B018 - loaded while the session is open
        return out


def test_ticket_new_in_slack_is_the_customers_ticket_and_they_are_acknowledged(rig):
    answer = rig.command("new <mailto:jan@bakkerij-jansen.nl|jan@bakkerij-jansen.nl> "
                         "De bezorging van vanochtend is niet gekomen, graag terugbellen.")
    [t] = tickets(rig)
    # sanne reads the desk's language (defaults: language nl)
    assert answer.startswith(f"[TB-{t.id}] geopend voor jan@bakkerij-jansen.nl")
    assert "de klant krijgt een ontvangstbevestiging per mail" in answer
    assert (t.contact_email, t.customer, t.channel) == ("jan@bakkerij-jansen.nl", "Bakkerij Jansen", "mail")
    assert t.subject.startswith("De bezorging van vanochtend")
    behalf = [e for e in t.events if e.action == "on-behalf"]
    assert [(e.actor, e.detail["source"]) for e in behalf] == [("sanne", "slack-command")]
    assert t.owner == "sanne" or "sanne" in [w.person for w in t.watchers]
    rig.send()
    acks = rig.mails_to("jan@bakkerij-jansen.nl")
    assert len(acks) == 1 and f"[TB-{t.id}]" in acks[0]["Subject"]
    # the ticket's thread in the team channel, as for the customer's own mail
    root = rig.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == TEAM)
    assert f"[TB-{t.id}]" in root.params["text"]


def test_ticket_new_with_a_kind_and_noack(rig):
    answer = rig.command("new olga@drukkerij-oost.nl complaint #noack De drukproef was te laat.")
    [t] = tickets(rig)
    assert t.kind == "complaint" and "krijgt geen ontvangstbevestiging (#noack)" in answer
    assert [e.reason for e in t.events if e.action == "ack-skipped"] == [
        "sanne asked that the customer gets no acknowledgement"]
    rig.send()
    assert rig.mails_to("olga@drukkerij-oost.nl") == []


def test_a_phone_call_is_logged_as_the_first_action(rig):
    rig.command("call zeger@hotelzee.nl Belde over de nieuwe leverdagen, wil teruggebeld worden.")
    [t] = tickets(rig)
    assert t.contact_email == "zeger@hotelzee.nl" and t.first_action_at == START
    calls = [e for e in t.events if e.action == "action"]
    assert [(e.actor, e.detail["how"]) for e in calls] == [("sanne", "call")]
    assert [e.detail["how"] for e in t.events if e.action == "on-behalf"] == ["call"]


@pytest.mark.parametrize("text, why", [
    ("new jan@bakkerij-jansen.nl", "Zo gebruikt u het: `/ticket new"),
    ("new not-an-address De tekst", "Zo gebruikt u het: `/ticket new"),
    ("new marta@desk.example Vraag", "is een adres van de balie zelf"),
    ("new jan@bakkerij-jansen.nl complaint", "Zo gebruikt u het"),  # a kind without the request
])
def test_ticket_new_refusals(rig, text, why):
    assert why in rig.command(text)
    assert tickets(rig) == []


def test_someone_outside_rules_yaml_cannot_open_a_ticket(rig):
    answer = rig.command("new jan@bakkerij-jansen.nl Iets", user=STRANGER)
    assert answer.startswith("Niet gedaan: u staat niet in rules.yaml")
    assert tickets(rig) == []


def test_ticketbot_new_on_the_command_line(tmp_path, monkeypatch, capsys):
    db = tmp_path / "t.sqlite3"
    for k, v in {"DATABASE_URL": f"sqlite:///{db}", "TICKETBOT_MAIL_DIR": str(tmp_path / "out"),
                 "TICKETBOT_ADDRESS": "support@desk.example", "TICKETBOT_RULES": str(RULES)}.items():
        monkeypatch.setenv(k, v)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    rc = main(["--now", START.isoformat(), "new", "piet@klant-bv.nl", "--kind", "call", "--by",
               "marta", "Belde:", "factuur", "klopt", "niet"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    d = json.loads(out)
    assert (d["contact"], d["subject"], d["duplicate"]) == ("piet@klant-bv.nl", "Belde: factuur klopt niet", False)
    assert d["first_action"] is not None
    rc = main(["--now", START.isoformat(), "new", "piet@klant-bv.nl", "--no-ack", "Nog een vraag"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    engine = make_engine(f"sqlite:///{db}")
    with make_sessionmaker(engine)() as s:
        acks = [e.ticket_id for e in s.scalars(select(Event).where(Event.action == "ack-skipped"))]
        assert acks == [json.loads(out)["number"]]
    engine.dispose()
    rc = main(["new", "sanne@desk.example", "Vraag"])
    assert rc == 2 and "desk's own address" in capsys.readouterr().err


# ------------------------------------------------------------------ the message shortcut
def shortcut(rig, message: dict, user: str = SANNE) -> tuple[int, dict | None]:
    body = message_shortcut_form(message, user=user, channel=TEAM)
    status, _, _ = wsgi_post(rig.events, body, "application/x-www-form-urlencoded")
    opened = rig.slack.calls_to("views.open")
    return status, opened[-1].params["view"] if opened else None


def submit(rig, view: dict, customer: str, text: str, kind: str | None = None,
           ack: bool = True, user: str = SANNE) -> tuple[int, bytes]:
    values = {"customer": {"customer": {"type": "plain_text_input", "value": customer}},
              "kind": {"kind": {"type": "static_select", "selected_option":
                                {"text": {"type": "plain_text", "text": kind}, "value": kind}
                                if kind else None}},
              "text": {"text": {"type": "plain_text_input", "value": text}},
              "ack": {"ack": {"type": "checkboxes", "selected_options":
                              [{"text": {"type": "plain_text", "text": "ack"}, "value": "ack"}]
                              if ack else []}}}
    body = view_submission_form(view, values, user=user)
    status, _, out = wsgi_post(rig.events, body, "application/x-www-form-urlencoded")
    return status, out


def test_the_create_ticket_shortcut_opens_a_modal_and_its_submission_a_ticket(rig):
    message = {"type": "message", "user": SANNE, "ts": "1700000050.000100", "team": "T0FAKE0001",
               "text": "Klant <mailto:olga@drukkerij-oost.nl|olga@drukkerij-oost.nl> belde: "
                       "de drukproef is kwijt."}
    status, view = shortcut(rig, message)
    assert status == 200 and view is not None
    assert view["callback_id"] == "ticket_from_message"
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["customer"]["element"]["initial_value"] == "olga@drukkerij-oost.nl"
    assert blocks["text"]["element"]["initial_value"].startswith("Klant olga@drukkerij-oost.nl belde")
    status, out = submit(rig, view, "olga@drukkerij-oost.nl", "De drukproef is kwijt.",
                         kind="complaint")
    assert status == 200 and out == b""
    [t] = tickets(rig)
    assert (t.contact_email, t.customer, t.kind) == ("olga@drukkerij-oost.nl", "Drukkerij Oost", "complaint")
    assert [e.detail["source"] for e in t.events if e.action == "on-behalf"] == ["slack-shortcut"]
    # the same message submitted again: still one ticket
    submit(rig, view, "olga@drukkerij-oost.nl", "De drukproef is kwijt.")
    assert len(tickets(rig)) == 1
    rig.send()
    assert len(rig.mails_to("olga@drukkerij-oost.nl")) == 1
    told = rig.slack.calls_to("chat.postEphemeral")
    assert [c.params["text"] for c in told] == [
        f"[TB-{t.id}] geopend voor olga@drukkerij-oost.nl (complaint, eigenaar {t.owner}).",
        f"[TB-{t.id}] is al voor dit bericht geopend."]


def test_a_bad_address_in_the_modal_is_shown_at_its_field(rig):
    _, view = shortcut(rig, {"type": "message", "user": SANNE, "ts": "1700000051.000100",
                             "text": "iets zonder adres"})
    assert view is not None
    status, out = submit(rig, view, "geen adres", "Vraag")
    assert status == 200
    assert json.loads(out) == {"response_action": "errors",
                               "errors": {"customer": "Een mailadres, zoals klant@example.com"}}
    assert tickets(rig) == []


# ------------------------------------------------------------------ the intake reaction
@pytest.fixture
def reaction_rig(make_desk, db_url, tmp_path):
    with FakeSlack() as slack:
        slack.add_user(SANNE, "sanne", "Sanne Jansen", "sanne@desk.example")
        slack.add_user("U0JAN00001", "jan", "Jan Jansen", "jan@bakkerij-jansen.nl")  # Slack Connect
        yield SlackRig(make_desk, db_url, tmp_path, slack,
                       rules_extra="\nslack:\n  intake_reaction: ':ticket:'\n")


def test_the_intake_reaction_makes_any_message_a_ticket_once(reaction_rig):
    rig = reaction_rig
    rig.slack.add_message("C0OTHER001", "1700000060.000100", "U0JAN00001",
                          "Onze bestelling 5521 is nog niet geleverd.")
    assert rig.post(reaction_event("ticket", "1700000060.000100", user=SANNE,
                                   channel="C0OTHER001", item_user="U0JAN00001")) == 200
    [t] = tickets(rig)
    assert (t.contact_email, t.contact_name, t.customer) == (
        "jan@bakkerij-jansen.nl", "Jan Jansen", "Bakkerij Jansen")
    assert t.subject == "Onze bestelling 5521 is nog niet geleverd."
    assert [e.detail["source"] for e in t.events if e.action == "on-behalf"] == ["slack-reaction"]
    # another person's same reaction, and another reaction: nothing more
    rig.post(reaction_event("ticket", "1700000060.000100", user="U0HENK001", channel="C0OTHER001"))
    rig.post(reaction_event("eyes", "1700000060.000100", user=SANNE, channel="C0OTHER001"))
    assert len(tickets(rig)) == 1
    rig.send()
    assert len(rig.mails_to("jan@bakkerij-jansen.nl")) == 1


def test_a_reaction_on_a_colleagues_message_without_a_customer_says_what_to_do(reaction_rig):
    rig = reaction_rig
    rig.slack.add_message("C0DESK0001", "1700000061.000100", SANNE, "Iemand belde over een factuur")
    rig.post(reaction_event("ticket", "1700000061.000100", user=SANNE, channel=TEAM))
    assert tickets(rig) == []
    rig.send()
    [told] = rig.slack.calls_to("chat.postEphemeral")
    assert "Ticket maken voor…" in told.params["text"]


# ------------------------------------------------------------------ the intake channel
@pytest.fixture
def intake_rig(make_desk, db_url, tmp_path):
    with FakeSlack() as slack:
        slack.add_user(SANNE, "sanne", "Sanne Jansen", "sanne@desk.example")
        yield SlackRig(make_desk, db_url, tmp_path, slack,
                       rules_extra="\nslack:\n  intake: [C0SALES001]\n")


def test_a_colleagues_post_in_the_intake_channel_naming_a_customer_is_the_customers(intake_rig):
    rig = intake_rig
    event = message_event("Jan (<mailto:jan@bakkerij-jansen.nl|jan@bakkerij-jansen.nl>) belde: "
                          "de bezorging is niet gekomen.", "1700000070.000100", user=SANNE,
                          channel="C0SALES001")
    assert rig.post(event) == 200
    assert rig.post(event) == 200  # Slack sends it again: still one ticket
    [t] = tickets(rig)
    assert (t.contact_email, t.customer) == ("jan@bakkerij-jansen.nl", "Bakkerij Jansen")
    assert [e.detail["source"] for e in t.events if e.action == "on-behalf"] == ["slack-intake"]
    rig.send()
    assert len(rig.mails_to("jan@bakkerij-jansen.nl")) == 1


def test_a_colleagues_own_question_in_the_intake_channel_stays_theirs(intake_rig):
    rig = intake_rig
    rig.post(message_event("De printer is weer stuk.", "1700000071.000100", user=SANNE,
                           channel="C0SALES001"))
    [t] = tickets(rig)
    assert t.contact_email == "sanne@desk.example" and t.channel == "slack"
    assert t.customer is None  # the desk's own domain is no prospect company
