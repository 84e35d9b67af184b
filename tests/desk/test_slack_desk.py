"""The desk in Slack end to end (bot/desk/slack_desk.py): the real Bolt app fed signed Events
API requests, the real outbox sender posting to a fake Slack Web API (tests/support/fakeslack.py,
HTTP on 127.0.0.1) and writing mail to files, the real ingest path, SQLite and PostgreSQL.
Asserts the exact Slack calls: channel, thread_ts, text, blocks."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.adapters.slack_app import build_app, mount_http
from bot.adapters.slack_out import ChannelPacer, SlackTransport, make_client
from bot.adapters.smtp_out import make_transport
from bot.adapters.web import create_app
from bot.delivery.outbox import OutboxSender
from bot.desk import intake, queries
from bot.desk.slack_desk import SlackDesk
from bot.store.models import Outbox, Ticket
from tests.conftest import OPERATOR, RULES, START, make_settings, sweep_at
from tests.support.fakeslack import FakeSlack, FakeTime
from tests.support.slack_requests import (
    SECRET,
    block_actions_form,
    command_form,
    envelope,
    message_event,
    signed_headers,
    wsgi_post,
)

TEAM = "C0DESK0001"
SANNE = "U0SANNE01"
MARTA = "U0MARTA01"  # the advisor of Bakkerij Jansen: owns its complaints (S 4.1)


class SlackRig:
    """A desk from `make_desk` with Slack configured: the Bolt app in front of it (fed
    signed requests) and the outbox sender behind it (posting to the fake Slack, mail to
    files)."""

    def __init__(self, make_desk, db_url, tmp_path, slack: FakeSlack, rules_extra: str = "",
                 rules_text: str | None = None):
        self.slack = slack
        self.settings = make_settings(db_url, tmp_path, slack_bot_token=slack.bot_token,
                                      slack_signing_secret=SECRET, slack_api_url=slack.url,
                                      slack_channel=TEAM)
        self.svc = make_desk(settings=self.settings,
                             rules_text=(rules_text or RULES.read_text()) + rules_extra)
        self.clock = self.svc.clock
        self.ftime = FakeTime()
        self.mail_dir = Path(self.settings.mail_dir)
        self.sender = OutboxSender(self.settings, self.svc.uow, {
            "mail": make_transport(None, self.mail_dir),
            "slack": SlackTransport(make_client(slack.bot_token, slack.url, timeout=2),
                                    ChannelPacer(clock=self.ftime.clock, sleep=self.ftime.sleep))})
        # the web face, with Slack's endpoint mounted as `ticketbot web` mounts it
        self.events = create_app(self.svc)
        mount_http(self.events, build_app(self.settings, SlackDesk(self.svc)), self.settings)
        self.n = 0

    def send(self, after: timedelta = timedelta(0)) -> dict:
        return self.sender.run_once(self.clock() + after)

    def post(self, event: dict, headers: dict | None = None) -> int:
        self.n += 1
        body = json.dumps(envelope(event, f"Ev{self.n:08d}"))
        status, _, _ = wsgi_post(self.events, body,
                                 headers={**signed_headers(body), **(headers or {})})
        return status

    def command(self, text: str, user: str = SANNE) -> str:
        body = command_form(text, user=user, channel=TEAM)
        status, _, out = wsgi_post(self.events, body, "application/x-www-form-urlencoded")
        assert status == 200
        return out.decode()  # Bolt answers a text-only ack as plain text

    def outbox(self, **where) -> list[Outbox]:
        with self.svc.sessions() as s:
            q = select(Outbox).order_by(Outbox.id)
            for k, v in where.items():
                q = q.where(getattr(Outbox, k) == v)
            return s.scalars(q).all()

    def ticket(self, n: int) -> Ticket:
        with self.svc.sessions() as s:
            return s.get(Ticket, n)

    def mails_to(self, addr: str) -> list:
        out = []
        for p in sorted(self.mail_dir.glob("*.eml")):
            m = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            if m["To"] == addr:
                out.append(m)
        return out


@pytest.fixture
def desk(make_desk, db_url, tmp_path):
    with FakeSlack() as slack:
        slack.add_user(SANNE, "sanne", "Sanne Jansen", "sanne@desk.example")
        slack.add_user(MARTA, "marta", "Marta Kowalska", "marta@desk.example")
        slack.add_user("U0HENK001", "henk", "Henk Mulder", "henk@desk.example")
        slack.add_user(STRANGER, "bob", "Bob Vreemd", "bob@elders.example")
        yield SlackRig(make_desk, db_url, tmp_path, slack)


def customer_mail(subject: str, body: str, mid: str) -> bytes:
    m = EmailMessage()
    m["From"] = "Jan Jansen <jan@bakkerij-jansen.nl>"
    m["To"] = "support@desk.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<{mid}>"
    m.set_content(body)
    return bytes(m)


def open_complaint(desk) -> tuple[int, str]:
    """A complaint mail: its thread in the team channel and a DM to the owner."""
    n = intake.ingest_raw(desk.svc,
        customer_mail("Klacht over de bezorging",
                                          "De krant kwam weer niet. Ik ben ontevreden.\n", "k1@x"),
        "t").ticket
    assert desk.send() == {"sent": 3, "retry": 0, "failed": 0}  # ack, thread, DM
    root = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == TEAM)
    return n, root.response["ts"]


def test_a_new_ticket_is_a_thread_in_the_team_channel_and_a_dm_to_its_owner(desk):
    n, root_ts = open_complaint(desk)
    root = desk.slack.calls_to("chat.postMessage", lambda c: c.params["channel"] == TEAM)[0]
    # the channel reads the desk's language (rules.yaml defaults: language nl), like the DM
    assert root.params["text"] == f"[TB-{n}] Klacht: Klacht over de bezorging"
    blocks = root.params["blocks"]
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn",
                                                     "text": f"*[TB-{n}] Klacht: Klacht over de bezorging*"}}
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields[0] == "*Klant*\nBakkerij Jansen"
    assert fields[2] == f"*Eigenaar*\n<@{MARTA}>"
    assert fields[3] == "*Eerste actie uiterlijk*\ndi 24 november 2026 10:00"  # 24 h, Amsterdam time
    assert [e["text"]["text"] for e in blocks[2]["elements"]] == ["Oppakken", "Oplossen", "Tonen"]
    assert "Antwoord in deze thread" in blocks[3]["elements"][0]["text"]
    assert [(e["action_id"], e["value"]) for e in blocks[2]["elements"]] == [
        ("ticket_take", str(n)), ("ticket_resolve", str(n)), ("ticket_show", str(n))]
    t = desk.ticket(n)
    assert (t.slack_channel, t.slack_ts) == (TEAM, root_ts)
    [opened] = desk.slack.calls_to("conversations.open")
    assert opened.params["users"] == MARTA
    dm = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"].startswith("D"))
    assert dm.params["text"].startswith(f"*[TB-{n}] Nieuw: Klacht voor u: Klacht over de bezorging*")
    assert "De krant kwam weer niet." in dm.params["text"]


def test_a_staff_reply_is_mailed_after_the_undo_window_and_marked_sent(desk):
    n, root_ts = open_complaint(desk)
    msg_ts = "1800000000.000100"
    assert desk.post(message_event("Beste Jan, morgen komt de krant.", msg_ts, user=SANNE,
                                   channel=TEAM, thread_ts=root_ts)) == 200
    [reply] = desk.outbox(purpose="reply")
    assert reply.next_attempt_at == START + timedelta(seconds=60)  # the undo window
    assert desk.send(timedelta(seconds=30)) == {"sent": 0, "retry": 0, "failed": 0}
    # an edit within the window changes the mail
    edited = {"type": "message", "subtype": "message_changed", "channel": TEAM,
              "hidden": True, "ts": "1800000000.000200", "event_ts": "1800000000.000200",
              "message": {"type": "message", "user": SANNE, "text": "Beste Jan, vandaag nog.",
                          "ts": msg_ts, "thread_ts": root_ts,
                          "edited": {"user": SANNE, "ts": "1800000000.000200"}},
              "previous_message": {"type": "message", "user": SANNE, "ts": msg_ts,
                                   "thread_ts": root_ts,
                                   "text": "Beste Jan, morgen komt de krant."}}
    assert desk.post(edited) == 200
    assert desk.send(timedelta(seconds=61))["sent"] == 1
    [sent] = desk.mails_to("jan@bakkerij-jansen.nl")[1:]  # after the acknowledgement
    assert sent["Subject"] == f"Re: [TB-{n}] Klacht over de bezorging"
    body = sent.get_body(("plain",)).get_content()
    assert body.startswith("Beste Jan, vandaag nog.") and "Sanne Jansen" in body
    assert "morgen" not in body
    desk.send(timedelta(seconds=62))  # the mark: a reaction on the staff message
    react = desk.slack.wait_for("reactions.add")
    assert (react.params["channel"], react.params["timestamp"], react.params["name"]) == (
        TEAM, msg_ts, "email")
    assert desk.ticket(n).first_action_at == START  # the reply is the first action


def test_a_slack_reply_that_signs_itself_gets_no_second_sign_off(desk):
    """Issue 14: staff sign their Slack answers themselves ("Groet, Sanne"); the mail
    signed again under it (the reply template's closing). Signed once now: the staff's
    own, or else the template's."""
    n, root_ts = open_complaint(desk)
    assert desk.post(message_event("Beste Jan,\n\nmorgen komt de krant.\n\nGroet,\nSanne",
                                   "1800000000.000700", user=SANNE, channel=TEAM,
                                   thread_ts=root_ts)) == 200
    assert desk.post(message_event("En nog iets: de bezorger is gewaarschuwd.", "1800000000.000800",
                                   user=SANNE, channel=TEAM, thread_ts=root_ts)) == 200
    desk.send(timedelta(seconds=61))
    signed, unsigned = [m.get_body(("plain",)).get_content().replace("\r\n", "\n")
                        for m in desk.mails_to("jan@bakkerij-jansen.nl")[1:]]
    assert signed.rstrip().endswith("Groet,\nSanne")
    assert "Met vriendelijke groet" not in signed and signed.count("Sanne") == 1
    assert unsigned.rstrip().endswith("Met vriendelijke groet,\nSanne Jansen\nSales Support")


def test_deleting_within_the_window_cancels_the_mail_and_notes_are_never_mailed(desk):
    n, root_ts = open_complaint(desk)
    assert desk.post(message_event("Oeps, verkeerde klant", "1800000000.000300", user=SANNE,
                                   channel=TEAM, thread_ts=root_ts)) == 200
    deleted = {"type": "message", "subtype": "message_deleted", "channel": TEAM, "hidden": True,
               "deleted_ts": "1800000000.000300", "ts": "1800000000.000400",
               "event_ts": "1800000000.000400",
               "previous_message": {"type": "message", "user": SANNE, "ts": "1800000000.000300",
                                    "thread_ts": root_ts, "text": "Oeps, verkeerde klant"}}
    assert desk.post(deleted) == 200
    assert desk.post(message_event("note: klant belt vaak, geduld", "1800000000.000500",
                                   user=SANNE, channel=TEAM, thread_ts=root_ts)) == 200
    desk.send(timedelta(minutes=5))
    assert len(desk.mails_to("jan@bakkerij-jansen.nl")) == 1  # the acknowledgement only
    [cancelled] = desk.outbox(purpose="reply")
    assert cancelled.status == "cancelled"
    d = queries.ticket_detail(desk.svc, OPERATOR, n)
    assert [e["reason"] for e in d["events"] if e["action"] == "note"] == ["klant belt vaak, geduld"]
    assert [m["direction"] for m in d["messages"]] == ["in", "out"]  # no trace of the slip
    assert d["first_action"] is None


def test_slack_resending_an_event_changes_nothing(desk):
    n, root_ts = open_complaint(desk)
    event = message_event("Beste Jan, het is geregeld.", "1800000000.000600", user=SANNE,
                          channel=TEAM, thread_ts=root_ts)
    body = json.dumps(envelope(event, "EvSAME0001"))
    for retry in (None, "1", "2"):
        headers = {**signed_headers(body), **({"X-Slack-Retry-Num": retry,
                                               "X-Slack-Retry-Reason": "http_timeout"}
                                              if retry else {})}
        assert wsgi_post(desk.events, body, headers=headers)[0] == 200
    # the same message again under a new event id (another process, after a restart)
    assert desk.post(event) == 200
    assert len(desk.outbox(purpose="reply")) == 1


def test_the_customers_reply_is_posted_into_the_thread(desk):
    n, root_ts = open_complaint(desk)
    desk.clock.advance(hours=1)
    intake.ingest_raw(desk.svc,
        customer_mail(f"Re: [TB-{n}] Klacht over de bezorging",
                                      "En vandaag weer niets!\n", "k2@x"),
        "t")
    desk.send()
    post = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params.get("thread_ts"))
    assert (post.params["channel"], post.params["thread_ts"]) == (TEAM, root_ts)
    assert post.params["text"] == "*Jan Jansen* schreef:\n>>> En vandaag weer niets!"  # the desk's language


def test_a_thread_post_queued_with_its_root_goes_out_in_the_same_run(desk):
    """Issue 15: the outbox records a batch's outcomes together; a thread post whose root
    is in the same batch still finds the root's ts (no retry, no 30 s wait)."""
    n = intake.ingest_raw(desk.svc, customer_mail("Klacht over de bezorging",
                                                  "De krant kwam weer niet.\n", "k1@x"), "t").ticket
    intake.ingest_raw(desk.svc, customer_mail(f"Re: [TB-{n}] Klacht over de bezorging",
                                              "En vandaag weer niets!\n", "k2@x"), "t")
    counts = desk.send()
    assert counts["retry"] == 0 and counts["failed"] == 0, counts
    root = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == TEAM
                               and not c.params.get("thread_ts"))
    post = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params.get("thread_ts"))
    assert (post.params["channel"], post.params["thread_ts"]) == (TEAM, root.response["ts"])


def test_ticket_command_and_buttons(desk):
    n, root_ts = open_complaint(desk)
    # sanne has no `language:`: she reads the desk's (rules.yaml defaults: language nl)
    assert desk.command("help").startswith("`/ticket`-opdrachten:")
    shown = desk.command(str(n))
    assert shown.splitlines()[0] == f"*[TB-{n}] Klacht over de bezorging*"
    assert "eigenaar marta" in shown and "De krant kwam weer niet." in shown
    assert desk.command(f"assign {n} nobody").startswith(
        "Niet gedaan: ‘nobody’ is geen persoon en geen bezette rol; bekend: advisor, henk,")
    assert desk.command(f"assign {n} pieter vervangt marta") == f"[TB-{n}] is nu van pieter."
    assert desk.command(f"take {n}") == f"[TB-{n}] is nu van u."
    assert queries.ticket_detail(desk.svc, OPERATOR, n)["owner"] == "sanne"
    assert desk.command(f"note {n} gebeld") == f"Notitie toegevoegd aan [TB-{n}]."
    assert desk.command("search bezorging").startswith(f"[TB-{n}] nieuw · sanne")
    assert desk.command("take") .startswith("Welk ticket?")
    assert desk.command(f"take {n}", user="U0BOB00001").startswith(
        "Niet gedaan: u staat niet in rules.yaml")
    # a button in the thread's root message
    status, _, _ = wsgi_post(desk.events, block_actions_form(
        {"action_id": "ticket_resolve", "block_id": f"ticket-{n}", "value": str(n),
         "type": "button", "action_ts": "1800000000.000900",
         "text": {"type": "plain_text", "text": "Resolve"}}, message_ts=root_ts, user=SANNE),
        "application/x-www-form-urlencoded")
    assert status == 200
    d = queries.ticket_detail(desk.svc, OPERATOR, n)
    assert d["status"] == "resolved"
    assert ("resolved", "sanne") in [(e["action"], e["actor"]) for e in d["events"]]
    desk.send()
    said = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params.get("thread_ts")
                               and "opgelost" in c.params["text"])
    assert said.params["text"] == (f"<@{SANNE}>: [TB-{n}] opgelost; de klant is gevraagd te "
                                   "antwoorden als het dat niet is.")


STRANGER = "U0BOB00001"  # a Slack user of the workspace who is in nobody's list
REFUSED = "Niet gedaan: u staat niet in rules.yaml"  # the desk's language: nobody's own


def button(desk, action_id: str, n: int, root_ts: str, user: str) -> int:
    return wsgi_post(desk.events, block_actions_form(
        {"action_id": action_id, "block_id": f"ticket-{n}", "value": str(n), "type": "button",
         "action_ts": "1800000000.000900", "text": {"type": "plain_text", "text": "x"}},
        message_ts=root_ts, user=user), "application/x-www-form-urlencoded")[0]


def test_a_slack_user_not_in_rules_yaml_can_do_and_see_nothing(desk):
    n, root_ts = open_complaint(desk)
    before = queries.ticket_detail(desk.svc, OPERATOR, n)
    rows_before = len(desk.outbox())
    # every /ticket command: refused, and nothing of the ticket is shown
    for command in (str(n), f"show {n}", f"take {n}", f"assign {n} marta", f"resolve {n}",
                    f"reopen {n}", f"kind {n} question", f"note {n} hallo", "search bezorging",
                    f"search {n}"):
        answer = desk.command(command, user=STRANGER)
        assert answer.startswith(REFUSED), command
        assert "bezorging" not in answer.lower() and "jansen" not in answer.lower(), command
    # the thread's buttons: refused, told to the stranger alone
    for action_id in ("ticket_take", "ticket_resolve", "ticket_show"):
        assert button(desk, action_id, n, root_ts, STRANGER) == 200
    # messages in the ticket's thread: never mailed, never recorded
    for i, text in enumerate(("Beste Jan, u krijgt uw geld terug.", "reply: geld terug",
                              "note: intern")):
        assert desk.post(message_event(text, f"1800000001.00010{i}", user=STRANGER,
                                       channel=TEAM, thread_ts=root_ts)) == 200
    after = queries.ticket_detail(desk.svc, OPERATOR, n)
    assert after["events"] == before["events"] and after["messages"] == before["messages"]
    assert (after["status"], after["owner"]) == ("new", "marta")
    new_rows = desk.outbox()[rows_before:]
    assert {r.channel for r in new_rows} == {"slack"}  # no mail at all
    desk.send(timedelta(minutes=5))
    told = desk.slack.calls_to("chat.postEphemeral")
    assert len(told) == 6 and {c.params["user"] for c in told} == {STRANGER}
    assert all("niet in rules.yaml" in c.params["text"] for c in told)
    assert not desk.slack.calls_to("chat.postMessage", lambda c: STRANGER in c.params["text"])
    assert len(desk.mails_to("jan@bakkerij-jansen.nl")) == 1  # the acknowledgement only


def test_explicit_channel_mails_only_reply_messages(make_desk, db_url, tmp_path):
    with FakeSlack() as slack:
        slack.add_user(SANNE, "sanne", "Sanne Jansen", "sanne@desk.example")
        slack.add_user(MARTA, "marta", "Marta Kowalska", "marta@desk.example")
        desk = SlackRig(make_desk, db_url, tmp_path, slack, rules_extra=f"\nslack:\n  explicit: [{TEAM}]\n")
        n, root_ts = open_complaint(desk)
        desk.post(message_event("even overleggen met Wim", "1800000000.001000", user=SANNE,
                                channel=TEAM, thread_ts=root_ts))
        desk.post(message_event("reply: Beste Jan, het is opgelost.", "1800000000.001100",
                                user=SANNE, channel=TEAM, thread_ts=root_ts))
        [reply] = desk.outbox(purpose="reply")
        assert reply.body_text.startswith("Beste Jan, het is opgelost.")
        d = queries.ticket_detail(desk.svc, OPERATOR, n)
        assert [e["reason"] for e in d["events"] if e["action"] == "note"] == [
            "even overleggen met Wim"]


def test_a_dm_to_the_bot_opens_a_ticket_routed_by_the_rules(desk):
    dm = message_event("Website ligt eruit, inloggen lukt niet", "1800000000.002000",
                       user=SANNE, channel="D0SANNE01", channel_type="im")
    assert desk.post(dm) == 200
    assert desk.post(dm) == 200  # re-sent: still one ticket
    with desk.svc.sessions() as s:
        [t] = s.scalars(select(Ticket).where(Ticket.channel == "slack")).all()
        assert (t.kind, t.owner) == ("technical", "wim")  # routed by the same rules
        assert (t.slack_channel, t.slack_ts) == ("D0SANNE01", "1800000000.002000")
        assert t.contact_email == "sanne@desk.example"
    assert desk.outbox(purpose="ack") == [] and desk.outbox(purpose="slack-root") == []


def test_a_person_slack_does_not_know_gets_the_notice_by_mail(make_desk, db_url, tmp_path):
    with FakeSlack() as slack:  # the owner's (marta's) Slack account was deactivated
        slack.add_user(SANNE, "sanne", "Sanne Jansen", "sanne@desk.example")
        slack.add_user(MARTA, "marta", "Marta Kowalska", "marta@desk.example", deleted=True)
        desk = SlackRig(make_desk, db_url, tmp_path, slack)
        n = intake.ingest_raw(desk.svc, customer_mail("Klacht", "Ontevreden.\n", "k9@x"), "t").ticket
        assert desk.send() == {"sent": 2, "retry": 0, "failed": 1}  # ack, thread; DM fails
        [dm] = desk.outbox(purpose="new-ticket", channel="slack")
        assert dm.status == "failed" and "user_disabled" in dm.last_error
        desk.send()
        [mailed] = desk.mails_to("marta@desk.example")
        assert mailed["Subject"] == f"[TB-{n}] Nieuw: Klacht voor u: Klacht"
        assert "Ontevreden." in mailed.get_body(("plain",)).get_content()


def test_urgent_reaches_the_owner_by_dm_and_by_mail_phone_first(desk):
    n = intake.ingest_raw(desk.svc,
        customer_mail("SPOED: klacht, bel mij", "Ontevreden!\n", "u9@x"),
        "t").ticket
    desk.send()
    dm = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"].startswith("D"))
    assert dm.params["text"].startswith(f"*SPOED [TB-{n}]")
    assert "SPOED — bel Jan Jansen nu: +31 6 1234 5678." in dm.params["text"]
    [mailed] = desk.mails_to("marta@desk.example")
    assert mailed["Subject"].startswith(f"SPOED [TB-{n}]")
    root = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == TEAM)
    assert root.params["text"].startswith(":rotating_light: *SPOED* ")


def test_the_weekly_report_is_a_dm_and_a_mail_with_the_csv(desk):
    n, _ = open_complaint(desk)
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
    done = sweep_at(desk.svc, monday)  # (the complaint's first action is overdue too)
    assert done["open_complaints_report"] == 2
    desk.sender.run_once(monday)
    dm = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "D0HENK001"
                             and "Openstaande" in c.params["text"])
    # Dutch throughout: the weekday, the column titles, the SLA words; the table as a code
    # block; the CSV file it speaks of really uploaded into the DM
    assert dm.params["text"].startswith("*Openstaande klachten op ma 30 november 2026 08:00: 1")
    assert f"[TB-{n}]" in dm.params["text"]
    assert "Leeftijd (dagen)" in dm.params["text"] and "Age (days)" not in dm.params["text"]
    assert "eerste actie over tijd sinds" in dm.params["text"]
    assert "```" in dm.params["text"] and "(ook als CSV-bestand bijgevoegd)" in dm.params["text"]
    desk.sender.run_once(monday)
    assert [u["filename"] for u in desk.slack.uploads] == ["open-complaints-2026-11-30.csv"]
    [mailed] = [m for m in desk.mails_to("henk@desk.example") if "Openstaande" in m["Subject"]]
    [csv_part] = list(mailed.iter_attachments())
    assert csv_part.get_filename() == "open-complaints-2026-11-30.csv"
    assert "(ook als CSV-bestand bijgevoegd)" in mailed.get_body(("plain",)).get_content()


HOSTILE = ("<!channel>", "<!here>", "<http://evil.example|klik")


def test_customer_text_never_pings_or_links_in_slack(desk):
    """Issue 10.1: mrkdwn control sequences in a customer's subject, name and body reach
    the thread root, the owner's DM and the thread's posts as text, never as a mention, a
    broadcast or a disguised link."""
    m = EmailMessage()
    m["From"] = '"<!here> Jan" <jan@bakkerij-jansen.nl>'
    m["To"] = "support@desk.example"
    m["Subject"] = "Klacht <!channel> <@U0SANNE01> over de bezorging"
    m["Message-ID"] = "<evil1@x>"
    m.set_content("Ik ben ontevreden. <http://evil.example|klik hier> <!channel>\n")
    n = intake.ingest_raw(desk.svc, bytes(m), "t").ticket
    desk.send()
    root = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == TEAM)
    dm = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"].startswith("D"))
    # the customer writes again: their mail goes into the thread
    desk.clock.advance(hours=1)
    again = EmailMessage()
    again["From"] = '"<!here> Jan" <jan@bakkerij-jansen.nl>'
    again["To"] = "support@desk.example"
    again["Subject"] = f"Re: [TB-{n}] Klacht"
    again["Message-ID"] = "<evil2@x>"
    again["In-Reply-To"] = "<evil1@x>"
    again.set_content("<!channel> nog steeds niets <http://evil.example|klik>\n")
    intake.ingest_raw(desk.svc, bytes(again), "t")
    desk.send()
    posted = desk.slack.wait_for("chat.postMessage", where=lambda c: c.params.get("thread_ts"))
    for call in (root, dm, posted):
        every_text = json.dumps(call.params, ensure_ascii=False)
        for bad in HOSTILE:
            assert bad not in every_text, (bad, call.params)
    assert "&lt;!channel&gt; &lt;@U0SANNE01&gt;" in root.params["text"]
    assert "<@" not in root.params["text"] and "<@" not in dm.params["text"]
    assert "&lt;http://evil.example|klik hier&gt;" in dm.params["text"]
    assert "&lt;!channel&gt; nog steeds niets" in posted.params["text"]
    # the bot's own mention of the owner (from rules.yaml) is still a real mention
    fields = [f["text"] for f in root.params["blocks"][1]["fields"]]
    assert fields[2] == f"*Eigenaar*\n<@{MARTA}>"


def test_wildcards_and_huge_numbers_are_plain_input(desk):
    """Issue 10.15 and 10.17: `%` searches for a percent sign, not every ticket; a
    23-digit ticket number is no ticket (never a 500 that Slack retries)."""
    n, root_ts = open_complaint(desk)
    assert desk.command("search %") == "Niets gevonden voor “%”."
    assert desk.command("search _") == "Niets gevonden voor “_”."
    assert desk.command("search bezorging").startswith(f"[TB-{n}]")
    huge = "9" * 23
    assert desk.command(f"show {huge}") == f"Geen ticket {huge}."
    assert desk.command(f"resolve {huge}") == f"Niet gedaan: er is geen ticket {huge}."
    assert desk.command(f"search {huge}") == f"Niets gevonden voor “{huge}”."
    status = wsgi_post(desk.events, block_actions_form(
        {"action_id": "ticket_resolve", "block_id": f"ticket-{n}", "value": huge, "type": "button",
         "action_ts": "1800000000.000900", "text": {"type": "plain_text", "text": "Resolve"}},
        message_ts=root_ts, user=SANNE), "application/x-www-form-urlencoded")[0]
    assert status == 200
    assert queries.ticket_detail(desk.svc, OPERATOR, n)["status"] == "new"
