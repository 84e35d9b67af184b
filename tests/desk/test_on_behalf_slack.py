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
    assert answer.startswith(f"[TB-{t.id}] opened for jan@bakkerij-jansen.nl")
    assert "acknowledged by mail" in answer
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
    assert t.kind == "complaint" and "not acknowledged" in answer
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
    ("new jan@bakkerij-jansen.nl", "Usage: `/ticket new"),
    ("new not-an-address De tekst", "Usage: `/ticket new"),
    ("new marta@desk.example Vraag", "the desk's own address"),
    ("new jan@bakkerij-jansen.nl complaint", "Usage"),  # a kind without the request
])
def test_ticket_new_refusals(rig, text, why):
    assert why in rig.command(text)
    assert tickets(rig) == []


def test_someone_outside_rules_yaml_cannot_open_a_ticket(rig):
    answer = rig.command("new jan@bakkerij-jansen.nl Iets", user=STRANGER)
    assert answer.startswith("Not done: you are not in rules.yaml")
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
