"""Issue 14 through the real entry points other than the command line, SQLite and
PostgreSQL: a colleague's mail commands (#time, #hold, #release, #done) through ingest;
Slack (signed requests into the real Bolt app, posts to the fake Slack Web API):
`/ticket time|hold|release|show`, `time:` in a ticket's thread, and the customer card in
the thread's root post."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from bot.desk import actions, intake, queries
from bot.desk.actor import Actor, Via
from bot.desk.errors import Refused
from bot.desk.holds import list_holds
from bot.store.models import Outbox, TimeEntry
from tests.conftest import OPERATOR, who
from tests.desk.test_slack_desk import SANNE, STRANGER, TEAM, SlackRig
from tests.support.fakeslack import FakeSlack
from tests.support.slack_requests import message_event


def mail(sender: str, subject: str, body: str, mid: str, in_reply_to: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "support@desk.example", subject
    m["Message-ID"] = f"<{mid}>"
    if in_reply_to:
        m["In-Reply-To"] = m["References"] = f"<{in_reply_to}>"
    m.set_content(body)
    return bytes(m)


def invoice_complaint(svc) -> int:
    return intake.ingest_raw(svc, mail(
        "Jan Jansen <jan@bakkerij-jansen.nl>", "Klacht: factuur 2026-114",
        "Ik ben ontevreden: factuur 2026-114 is dubbel gefactureerd. Rekening NL91ABNA0417164300.\n",
        "k1@x"), "t").ticket


def test_a_colleague_without_access_works_holds_and_time_by_mail(desk):
    n = invoice_complaint(desk)
    [note] = [o for o in _outbox(desk) if o.purpose == "new-ticket"]
    assert note.to_addr == "debiteuren@desk.example"
    assert "#time 15m" in note.body_text and "#hold" in note.body_text
    assert "ticketbot" not in note.body_text  # ruud has no system access: mail commands only
    assert [h["invoice"] for h in list_holds(desk, OPERATOR)] == ["2026-114"]

    def answer(body: str, mid: str):
        desk.clock.advance(minutes=5)
        return intake.ingest_raw(desk, mail("Ruud de Boer <debiteuren@desk.example>",
                                            f"Re: {note.subject}", body, mid,
                                            in_reply_to=note.message_id), "t")

    answer("#time 1h30 uitgezocht\nmet de bank gebeld\n", "r1@desk")
    answer("#hold 2026-120\n", "r2@desk")
    answer("#release 2026-114 gecrediteerd\n", "r3@desk")
    answer("#time lang\n", "r4@desk")  # refused: kept as a note, ruud is told why
    d = queries.ticket_detail(desk, OPERATOR, n)
    assert [(e["person"], e["minutes"], e["note"]) for e in d["time"]["entries"]] == [
        ("ruud", 90, "uitgezocht\nmet de bank gebeld")]
    assert [(h["invoice"], h["released_by"]) for h in d["holds"]] == [("2026-114", "ruud"),
                                                                      ("2026-120", None)]
    assert [h["invoice"] for h in list_holds(desk, OPERATOR)] == ["2026-120"]
    [refused] = [o for o in _outbox(desk) if o.purpose == "staff-refused"]
    assert "#time" in refused.subject + refused.body_text and "‘lang’ is geen duur" in refused.body_text


def test_done_by_mail_completes_the_revoke_task_the_mail_was_about(desk):
    n = intake.ingest_raw(desk, mail("Zeger Zee <zeger@hotelzee.nl>", "Opzegging",
                                     "Hierbij zeggen wij ons contract C-200 op.\n", "z1@x"), "t").ticket
    [copy] = [o for o in _outbox(desk) if o.purpose == "cancellation-copy"]
    assert "#lost REDEN" in copy.body_text and "ticketbot" not in copy.body_text
    intake.ingest_raw(desk, mail("pieter@desk.example", f"Re: {copy.subject}", "#lost te duur\n",
                                 "p1@desk", in_reply_to=copy.message_id), "t")
    [told] = [o for o in _outbox(desk) if o.purpose == "task"]
    assert "#done" in told.body_text and "ticketbot" not in told.body_text
    intake.ingest_raw(desk, mail("sanne@desk.example", f"Re: {told.subject}",
                                 "#done toegang verwijderd\n", "s1@desk",
                                 in_reply_to=told.message_id), "t")
    assert queries.list_tasks(desk, OPERATOR) == []
    d = queries.ticket_detail(desk, OPERATOR, n)
    assert ("task-done", "sanne", "toegang verwijderd") in [
        (e["action"], e["actor"], e["reason"]) for e in d["events"]]


def test_time_and_holds_need_a_person_of_the_desk(desk):
    n = invoice_complaint(desk)
    stranger = Actor.stranger("slack:U0NOBODY1", Via.SLACK)
    with pytest.raises(Refused, match="not in rules.yaml"):
        actions.log_time(desk, stranger, n, "15m")
    with pytest.raises(Refused, match="not in rules.yaml"):
        actions.hold_invoice(desk, stranger, n, "2026-1")
    assert actions.log_time(desk, who(desk, "marta"), n, "2h")["total"] == "2h"


def _outbox(svc) -> list[Outbox]:
    with svc.sessions() as s:
        return s.scalars(select(Outbox).order_by(Outbox.id)).all()


# ----------------------------------------------------------------------------- Slack
@pytest.fixture
def rig(make_desk, db_url, tmp_path):
    with FakeSlack() as slack:
        slack.add_user(SANNE, "sanne", "Sanne Jansen", "sanne@desk.example")
        slack.add_user(STRANGER, "bob", "Bob Vreemd", "bob@elders.example")
        yield SlackRig(make_desk, db_url, tmp_path, slack)


def test_slack_time_holds_and_the_customer_card(rig):
    n = invoice_complaint(rig.svc)
    rig.send()
    root = rig.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == TEAM)
    fields = [f["text"] for f in root.params["blocks"][1]["fields"]]
    # the card, in the desk's language (the channel is shared): Dutch here
    assert fields[4:] == ["*Contract*\nC-100: actief, loopt af 2026-12-31; opzeggen uiterlijk 2026-11-30",
                          "*Andere open tickets*\ngeen", "*Facturen on hold*\n2026-114"]
    root_ts = root.response["ts"]

    # sanne reads the desk's language (rules.yaml defaults: language nl)
    assert rig.command(f"time {n} 15m gebeld") == f"[TB-{n}]: 15m vastgelegd voor sanne; 15m in totaal."
    assert rig.command(f"time {n} soon").startswith("Niet gedaan: ‘soon’ is geen duur")
    assert rig.command(f"hold {n} INV-2026-0042") == (
        f"[TB-{n}]: factuur INV-2026-0042 on hold; nu on hold: 2026-114, INV-2026-0042.")
    assert rig.command(f"release {n} 2026-114 credited") == (
        f"[TB-{n}]: factuur 2026-114 vrijgegeven; nu on hold: INV-2026-0042.")
    assert rig.command(f"time {n} 15m", user=STRANGER).startswith(
        "Niet gedaan: u staat niet in rules.yaml")
    shown = rig.command(f"show {n}")
    assert "contract: C-100: actief, loopt af 2026-12-31; opzeggen uiterlijk 2026-11-30" in shown
    assert "facturen on hold: INV-2026-0042" in shown and "bestede tijd: 15m" in shown

    # `time:` in the ticket's thread logs time, is never mailed, and once per message
    event = message_event("time: 1h30 offerte nagerekend", "1800000000.000700", user=SANNE,
                          channel=TEAM, thread_ts=root_ts)
    assert rig.post(event) == 200
    assert rig.post(event) == 200  # the same message again (another event id)
    # not a duration after `time:`: an ordinary thread message (a reply to the customer)
    assert rig.post(message_event("Time: we need a week, sorry.", "1800000000.000800", user=SANNE,
                                  channel=TEAM, thread_ts=root_ts)) == 200
    with rig.svc.sessions() as s:
        assert sorted(s.scalars(select(TimeEntry.minutes)).all()) == [15, 90]
    replies = rig.outbox(purpose="reply")
    assert len(replies) == 1 and "we need a week" in replies[0].body_text
    rig.send()
    said = rig.slack.wait_for("chat.postMessage", where=lambda c: c.params.get("thread_ts") == root_ts
                              and "vastgelegd" in c.params["text"])
    assert said.params["text"] == ":stopwatch: 1h30 vastgelegd voor sanne; 1h45 in totaal."
