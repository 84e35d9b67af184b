"""Webhooks (docs/webhooks.md): events become signed POSTs through the outbox's own lane,
to a real HTTP receiver on 127.0.0.1 (tests/support/webhook_receiver.py), on SQLite and
PostgreSQL. Time is the desk's injected clock."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from bot.adapters.rules_file import load_rules
from bot.adapters.smtp_out import SMTPTransport
from bot.adapters.webhook_out import WebhookTransport
from bot.config import MailServerURL, Settings
from bot.core.domain import Channel, OutboxStatus
from bot.core.webhooks import verify
from bot.delivery.outbox import LANES, OutboxSender
from bot.desk import actions, events, intake, webhooks
from bot.desk.actor import Actor, Via
from bot.desk.errors import Refused
from bot.store.models import Event, Outbox, WebhookSubscription
from tests.conftest import OPERATOR, RULES, make_settings, sweep_at, who
from tests.support.sink import Sink
from tests.support.webhook_receiver import Receiver

ALL = ("ticket.created", "ticket.assigned", "ticket.replied", "ticket.resolved", "ticket.reopened",
       "sla.reminder_due", "sla.breached", "sla.met", "cancellation.outcome", "task.created",
       "task.done", "invoice.held", "invoice.released")
CANCEL_NL = ("Geachte heer, mevrouw,\n\nHierbij zeg ik ons contract op. De reden is dat wij "
             "onze winkel sluiten per 1 januari.\n\nMet vriendelijke groet,\nJan Jansen\n")


def secret_of(name: str) -> str:
    return f"test-secret-{name}-0123456789"


def hook_rules(subs) -> str:
    """The shipped rules with a `webhooks:` section: (name, url, events) each."""
    lines = ["", "webhooks:"]
    for name, url, evs in subs:
        lines += [f"  - name: {name}", f"    url: {url}", f"    events: [{', '.join(evs)}]",
                  f"    secret_env: TICKETBOT_WEBHOOK_{name.upper()}"]
    return RULES.read_text(encoding="utf-8") + "\n".join(lines) + "\n"


@pytest.fixture
def hooked(make_desk, db_url, tmp_path):
    """hooked((name, url, events), ...) -> a desk whose rules.yaml has these subscriptions
    (synced into the table as at start-up) and whose environment has their secrets."""
    def make(*subs, **kw):
        settings = make_settings(db_url, tmp_path, webhook_secrets={
            f"TICKETBOT_WEBHOOK_{name.upper()}": secret_of(name) for name, _, _ in subs}, **kw)
        desk = make_desk(rules_text=hook_rules(subs), settings=settings)
        webhooks.sync_configured(desk)
        return desk
    return make


def sender(desk) -> OutboxSender:
    return OutboxSender(desk.settings, desk.uow, {"webhook": WebhookTransport(desk)})


def deliver_all(desk, rounds: int = 50) -> dict[str, int]:
    """Run the webhook lane until nothing is due now (each round as the lane's loop would)."""
    out = {"sent": 0, "retry": 0, "failed": 0}
    snd = sender(desk)
    for _ in range(rounds):
        counts = snd.run_once(desk.clock(), lane="webhook")
        for k, v in counts.items():
            out[k] += v
        if not sum(counts.values()):
            return out
    raise AssertionError("the lane never ran dry")


def mail(subject: str, body: str, n: int, sender: str = "jan@bakkerij-jansen.nl") -> bytes:
    m = EmailMessage()
    m["From"] = f"Jan Jansen <{sender}>"
    m["To"] = "support@desk.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<wh{n}@{sender.split('@')[1]}>"
    m.set_content(body)
    return bytes(m)


def new_ticket(desk, n: int, sender: str = "jan@bakkerij-jansen.nl") -> int:
    r = intake.ingest_raw(desk, mail(f"Vraag {n}", "Goedendag,\n\nIk heb een vraag.\n", n, sender),
                          f"t{n}")
    assert r.status == "created", r
    return r.ticket


def webhook_rows(desk) -> list[Outbox]:
    with desk.sessions() as s:
        return list(s.scalars(select(Outbox).where(Outbox.channel == Channel.WEBHOOK)
                              .order_by(Outbox.id)))


def test_the_lane_and_the_events_list():
    assert LANES["webhook"] == (Channel.WEBHOOK,)
    assert Channel.WEBHOOK not in LANES["mail"] + LANES["slack"]
    from bot.core.webhooks import EVENTS
    assert EVENTS == ALL


def test_a_signed_delivery_the_receiver_verifies(hooked):
    with Receiver() as rx:
        desk = hooked(("crm", rx.url, ["ticket.created"]))
        n = new_ticket(desk, 1)
        [row] = webhook_rows(desk)
        assert (row.to_addr, row.purpose, row.ticket_id, row.status) == ("crm", "ticket.created", n,
                                                                         "queued")
        assert deliver_all(desk) == {"sent": 1, "retry": 0, "failed": 0}
        [req] = rx.requests
    h = {k.lower(): v for k, v in req.headers.items()}
    stamp = h["x-ticketbot-timestamp"]
    assert stamp == str(int(desk.clock().timestamp()))
    # the scheme, computed here independently: sha256=HMAC(secret, timestamp "." body)
    mac = hmac.new(secret_of("crm").encode(), stamp.encode() + b"." + req.body, hashlib.sha256)
    assert h["x-ticketbot-signature"] == "sha256=" + mac.hexdigest()
    assert verify(secret_of("crm"), stamp, req.body, h["x-ticketbot-signature"], now=int(stamp))
    assert not verify("another secret", stamp, req.body, h["x-ticketbot-signature"], now=int(stamp))
    assert not verify(secret_of("crm"), stamp, req.body + b" ", h["x-ticketbot-signature"],
                      now=int(stamp))
    assert h["x-ticketbot-event"] == "ticket.created"
    assert h["content-type"].startswith("application/json")
    body = req.json
    assert body["id"] == h["x-ticketbot-delivery"] == row.message_id
    assert body["type"] == "ticket.created"
    t = body["ticket"]
    # the ticket as it was after routing, in the same transaction
    assert (t["number"], t["subject"], t["owner"], t["customer"]) == (
        n, "Vraag 1", "sanne", "Bakkerij Jansen")
    assert body["data"]["actor"] == "customer:jan@bakkerij-jansen.nl"
    [row] = webhook_rows(desk)
    assert row.status == "sent" and row.attempts == 1 and row.result["status"] == 200


def test_500_then_200_delivers_once_with_the_same_delivery_id(hooked):
    with Receiver(fail=[500]) as rx:
        desk = hooked(("crm", rx.url, ["ticket.created"]))
        new_ticket(desk, 1)
        assert deliver_all(desk) == {"sent": 0, "retry": 1, "failed": 0}
        [row] = webhook_rows(desk)
        assert row.status == "queued" and "500" in row.last_error
        assert row.next_attempt_at == desk.clock() + timedelta(seconds=30)  # the outbox's backoff
        [sub] = webhooks.list_subscriptions(desk, OPERATOR)
        assert sub["state"] == "failing" and sub["failing_since"] is not None
        desk.clock.advance(seconds=29)
        assert deliver_all(desk) == {"sent": 0, "retry": 0, "failed": 0}  # not due yet
        desk.clock.advance(seconds=1)
        assert deliver_all(desk) == {"sent": 1, "retry": 0, "failed": 0}
        desk.clock.advance(hours=2)
        assert deliver_all(desk) == {"sent": 0, "retry": 0, "failed": 0}
    assert [r.status for r in rx.requests] == [500, 200]
    first, second = rx.requests
    assert first.headers["X-Ticketbot-Delivery"] == second.headers["X-Ticketbot-Delivery"]
    assert first.body == second.body
    assert len(rx.accepted) == 1
    [row] = webhook_rows(desk)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    [sub] = webhooks.list_subscriptions(desk, OPERATOR)
    assert sub["state"] == "active" and sub["last_success_at"] is not None


def test_408_429_timeouts_are_retried_other_4xx_are_permanent(hooked):
    with Receiver(fail=[429, 408], status=404) as rx:
        desk = hooked(("crm", rx.url, ["ticket.created"]))
        new_ticket(desk, 1)
        assert deliver_all(desk)["retry"] == 1
        desk.clock.advance(minutes=1)
        assert deliver_all(desk)["retry"] == 1
        desk.clock.advance(minutes=5)
        assert deliver_all(desk)["failed"] == 1
    assert [r.status for r in rx.requests] == [429, 408, 404]
    [row] = webhook_rows(desk)
    assert row.status == "failed" and "404" in row.last_error


def test_a_timeout_is_retried(hooked):
    gate = threading.Event()
    with Receiver(hold=gate) as rx:
        desk = hooked(("crm", rx.url, ["ticket.created"]), webhook_timeout=0.5)
        new_ticket(desk, 1)
        assert deliver_all(desk) == {"sent": 0, "retry": 1, "failed": 0}
        assert "timed out" in webhook_rows(desk)[0].last_error
        gate.set()  # the receiver is quick again
        desk.clock.advance(seconds=30)
        assert deliver_all(desk) == {"sent": 1, "retry": 0, "failed": 0}
        first, second = rx.wait_for(2)
    assert first.headers["X-Ticketbot-Delivery"] == second.headers["X-Ticketbot-Delivery"]


def test_connection_refused_is_retried(hooked):
    with Receiver() as rx:
        url = rx.url
    # the receiver is gone: its port refuses
    desk = hooked(("crm", url, ["ticket.created"]))
    new_ticket(desk, 1)
    assert deliver_all(desk) == {"sent": 0, "retry": 1, "failed": 0}
    [row] = webhook_rows(desk)
    assert row.status == "queued" and "refused" in row.last_error.lower()


def test_https_is_tls_with_the_systems_certificates_made_at_the_first_https_post(hooked):
    """An https address is spoken to over TLS, verified against the system's certificates:
    a receiver that speaks plain HTTP there fails the handshake, is retried, and hears no
    request. The TLS context (50 ms of start-up) is made for the first https POST only."""
    with Receiver() as rx:
        desk = hooked(("crm", rx.url, ["ticket.created"]),
                      ("erp", rx.url.replace("http://", "https://"), ["ticket.created"]))
        new_ticket(desk, 1)
        transport = WebhookTransport(desk)
        assert transport._tls is None
        snd = OutboxSender(desk.settings, desk.uow, {"webhook": transport})
        counts = snd.run_once(desk.clock(), lane="webhook")
        assert transport._tls is not None and transport._tls.verify_mode.name == "CERT_REQUIRED"
        assert (counts["sent"], counts["retry"]) == (1, 1)
        assert len(rx.requests) == 1  # the plain one
        errors = [r.last_error for r in webhook_rows(desk) if r.status == "queued"]
        assert len(errors) == 1 and "ssl" in errors[0].lower()
    plain = WebhookTransport(hooked(("crm", "http://127.0.0.1:9/x", ["ticket.created"])))
    assert plain._tls is None


def test_event_ids_are_unique_and_every_event_arrives_once(hooked):
    with Receiver() as a, Receiver() as b:
        desk = hooked(("crm", a.url, list(ALL)), ("bi", b.url, ["ticket.created", "ticket.resolved"]))
        numbers = [new_ticket(desk, i, f"klant{i}@example.org") for i in range(1, 6)]
        for n in numbers[:3]:
            actions.resolve(desk, OPERATOR, n, "klaar", tell_customer=False)
        actions.reopen(desk, OPERATOR, numbers[0], "toch niet")
        assert deliver_all(desk)["failed"] == 0
    ids_a = [r.headers["X-Ticketbot-Delivery"] for r in a.requests]
    ids_b = [r.headers["X-Ticketbot-Delivery"] for r in b.requests]
    assert len(ids_a) == len(set(ids_a)) and len(ids_b) == len(set(ids_b))
    assert [r.json["type"] for r in b.requests].count("ticket.created") == 5
    assert [r.json["type"] for r in b.requests].count("ticket.resolved") == 3
    types_a = [r.json["type"] for r in a.requests]
    assert types_a.count("ticket.created") == 5 and types_a.count("ticket.reopened") == 1
    # one event, two subscribers: the same event id (the receivers' dedupe key)
    created_a = {r.json["ticket"]["number"]: r.json["id"] for r in a.requests
                 if r.json["type"] == "ticket.created"}
    created_b = {r.json["ticket"]["number"]: r.json["id"] for r in b.requests
                 if r.json["type"] == "ticket.created"}
    assert created_a == created_b
    assert len(set(ids_a) | set(ids_b)) == len(ids_a) + len(ids_b) - len(created_b) - 3


def test_order_per_ticket_is_kept_behind_a_failing_first_delivery(hooked):
    events_ = ["ticket.created", "ticket.resolved", "ticket.reopened"]
    with Receiver(fail=[500]) as rx:
        desk = hooked(("crm", rx.url, events_))
        one = new_ticket(desk, 1)
        actions.resolve(desk, OPERATOR, one, "klaar", tell_customer=False)
        actions.reopen(desk, OPERATOR, one, "toch niet")
        two = new_ticket(desk, 2, "olga@drukkerij-oost.nl")
        # ticket 1's first delivery fails: its later ones wait; ticket 2 is not held up
        assert deliver_all(desk) == {"sent": 1, "retry": 1, "failed": 0}
        assert [(r.json["ticket"]["number"], r.json["type"], r.status) for r in rx.requests] == [
            (one, "ticket.created", 500), (two, "ticket.created", 200)]
        # the lane does not spin on the held-back rows: the next due is the retry
        assert sender(desk).next_due_at("webhook") == desk.clock() + timedelta(seconds=30)
        desk.clock.advance(seconds=30)
        rx.fail = [500]  # and its retry fails too
        assert deliver_all(desk) == {"sent": 0, "retry": 1, "failed": 0}
        desk.clock.advance(seconds=60)
        assert deliver_all(desk) == {"sent": 3, "retry": 0, "failed": 0}
    got = [(r.json["ticket"]["number"], r.json["type"]) for r in rx.accepted]
    assert [t for n, t in got if n == one] == events_
    assert [(r.json["ticket"]["number"], r.status) for r in rx.requests][:3] == [
        (one, 500), (two, 200), (one, 500)]


def test_disabled_after_n_days_of_failure_with_a_mail_to_the_operator(hooked, tmp_path):
    with Receiver(status=503) as rx:
        desk = hooked(("crm", rx.url, ["ticket.created"]), webhook_disable_days=3)
        new_ticket(desk, 1)
        start = desk.clock()
        assert deliver_all(desk)["retry"] == 1
        desk.clock.advance(days=1)
        assert deliver_all(desk)["retry"] == 1
        new_ticket(desk, 2, "olga@drukkerij-oost.nl")
        desk.clock.advance(days=1, hours=23)
        assert deliver_all(desk)["retry"] >= 1  # 2 days 23 h: still trying
        assert webhooks.list_subscriptions(desk, OPERATOR)[0]["state"] == "failing"
        desk.clock.advance(hours=1)  # 3 days of continuous failure
        assert deliver_all(desk)["failed"] == 1
        tried = len(rx.requests)
        [sub] = webhooks.list_subscriptions(desk, OPERATOR)
        assert sub["state"] == "disabled" and sub["failing_since"] == start.isoformat()
        rows = webhook_rows(desk)
        assert {r.status for r in rows} == {"failed", "cancelled"}
        # new events are not queued for it, and nothing more is sent
        new_ticket(desk, 3, "zeger@hotelzee.nl")
        assert len(webhook_rows(desk)) == 2
        desk.clock.advance(days=1)
        deliver_all(desk)
        assert len(rx.requests) == tried
        with desk.sessions() as s:
            [ev] = s.scalars(select(Event).where(Event.action == "webhook-disabled")).all()
            assert ev.ticket_id is None and ev.detail["name"] == "crm" and "503" in ev.reason
            [notice] = s.scalars(select(Outbox).where(Outbox.purpose == "webhook-disabled")).all()
        # the operator: rules.yaml `defaults: owner` (sales_support: sanne), by mail
        assert (notice.channel, notice.to_addr) == ("mail", "sanne@desk.example")
        assert "crm" in notice.subject and "ticketbot webhooks --enable crm" in notice.body_text
        with Sink() as sink:  # it goes out through the outbox like every mail
            mail_sender = OutboxSender(desk.settings, desk.uow, {"mail": SMTPTransport(
                MailServerURL.parse("SMTP_URL", sink.url), timeout=5)})
            mail_sender.run_once(desk.clock(), limit=1000, lane="mail")
            got = [m for m in sink.handler.wait_for(1) if "sanne@desk.example" in m.rcpt_tos
                   and b"crm" in m.data]
            assert got
        # enabled again by the operator: new events flow
        webhooks.enable(desk, OPERATOR, "crm")
        rx.status = 200
        new_ticket(desk, 4, "iemand@example.org")
        assert deliver_all(desk) == {"sent": 1, "retry": 0, "failed": 0}


def test_unconfigured_addresses_are_never_contacted(hooked):
    with Receiver() as configured, Receiver() as stranger:
        desk = hooked(("crm", configured.url, ["ticket.created"]))
        now = desk.clock()
        with desk.uow.write() as s:
            for to in (stranger.url, "ghost"):  # a row naming an address, or no subscription
                s.add(Outbox(channel=Channel.WEBHOOK, purpose="ticket.created", to_addr=to,
                             payload=b"{}", message_id="x", status=OutboxStatus.QUEUED,
                             attempts=0, next_attempt_at=now, created_at=now))
        assert deliver_all(desk) == {"sent": 0, "retry": 0, "failed": 2}
        assert all("no webhook subscription named" in r.last_error for r in webhook_rows(desk))
        # a redirect to another address is not followed
        configured.status = 302
        configured.extra_headers = {"Location": stranger.url}
        new_ticket(desk, 1)
        assert deliver_all(desk)["failed"] == 1
        assert "redirects are not followed" in webhook_rows(desk)[-1].last_error
        # a subscription removed from rules.yaml: its queued deliveries are cancelled
        configured.status = 200
        new_ticket(desk, 2, "olga@drukkerij-oost.nl")
        desk.rules = load_rules(RULES)  # the file without webhooks
        assert webhooks.sync_configured(desk)["removed"] == 1
        assert deliver_all(desk) == {"sent": 0, "retry": 0, "failed": 0}
        new_ticket(desk, 3, "zeger@hotelzee.nl")
        assert webhook_rows(desk)[-1].status == "cancelled"
        assert len(configured.requests) == 1  # only the redirect answer
    assert stranger.requests == []


def test_a_missing_secret_never_sends_unsigned(make_desk, db_url, tmp_path):
    with Receiver() as rx:
        settings = make_settings(db_url, tmp_path)  # TICKETBOT_WEBHOOK_CRM not set
        desk = make_desk(rules_text=hook_rules([("crm", rx.url, ["ticket.created"])]),
                         settings=settings)
        webhooks.sync_configured(desk)
        new_ticket(desk, 1)
        assert deliver_all(desk) == {"sent": 0, "retry": 1, "failed": 0}
        assert "TICKETBOT_WEBHOOK_CRM is not set" in webhook_rows(desk)[0].last_error
    assert rx.requests == []


def test_every_event_kind_from_where_the_desk_records_it(hooked):
    desk = hooked(("all", "http://127.0.0.1:9/never-sent", list(ALL)))
    jan = intake.ingest_raw(desk, mail("Klacht over de bezorging", "Goedendag,\n\nDe krant kwam "
                                       "weer niet. Ik ben hier erg ontevreden over.\n", 1), "t1").ticket
    actions.assign(desk, OPERATOR, jan, "rob", "he knows the route")
    actions.hold_invoice(desk, OPERATOR, jan, "2026-114")  # released when it is resolved
    desk.clock.advance(hours=1)
    actions.reply(desk, who(desk, "rob"), jan, "We zoeken het uit.")  # in time: sla.met
    tag = desk.tag(jan)
    intake.ingest_raw(desk, mail(f"Re: {tag} Klacht", "Nog steeds niets.\n", 2), "t2")
    actions.resolve(desk, OPERATOR, jan, "bezorgd", tell_customer=False)
    actions.reopen(desk, OPERATOR, jan, "toch niet")
    start = desk.clock()
    for hours in range(0, 24 * 20, 2):  # the clock process: reminders and breaches
        sweep_at(desk, start + timedelta(hours=hours))
    lost = intake.ingest_raw(desk, mail("Opzegging", CANCEL_NL, 3, "zeger@hotelzee.nl"), "t3").ticket
    actions.cancellation_outcome(desk, who(desk, "pieter"), lost, "lost", "too expensive")
    rows = webhook_rows(desk)
    [task] = [json.loads(r.payload) for r in rows if r.purpose == "task.created"]
    actions.complete_task(desk, OPERATOR, task["data"]["task"]["id"], "done")
    kinds = [r.purpose for r in webhook_rows(desk)]
    assert set(kinds) == set(ALL), set(ALL) - set(kinds)
    bodies = {r.purpose: json.loads(r.payload) for r in webhook_rows(desk)}
    assert bodies["ticket.assigned"]["data"]["to"] == "rob"
    replied = [json.loads(r.payload)["data"]["direction"] for r in webhook_rows(desk)
               if r.purpose == "ticket.replied"]
    assert replied == ["out", "in"]
    met = [json.loads(r.payload)["data"]["target"] for r in webhook_rows(desk)
           if r.purpose == "sla.met"]
    assert met == ["first_action", "next_action", "resolution"]
    assert bodies["cancellation.outcome"]["data"]["outcome"] == "lost"
    for kind in ("sla.reminder_due", "sla.breached"):  # the sweep writes its events in bulk
        assert bodies[kind]["ticket"]["number"] == jan and bodies[kind]["data"]["to"], bodies[kind]
        assert bodies[kind]["data"]["target"] in ("first_action", "next_action", "resolution")
    assert bodies["task.done"]["data"]["task"] == task["data"]["task"]["id"]
    assert "2026-114" in json.dumps(bodies["invoice.held"]) and "2026-114" in json.dumps(bodies["invoice.released"])
    assert all("slack_ref" not in json.dumps(b) for b in bodies.values())


def test_no_webhook_for_a_change_that_was_rolled_back(hooked):
    desk = hooked(("crm", "http://127.0.0.1:9/x", list(ALL)))
    n = new_ticket(desk, 1)
    before = len(webhook_rows(desk))
    with pytest.raises(Refused):
        with desk.uow.write() as s:
            from bot.store.models import Ticket
            events.record(s, s.get(Ticket, n), desk.clock(), "test", "resolved", {})
            s.flush()
            raise Refused("changed my mind")
    assert len(webhook_rows(desk)) == before


def test_a_cancelled_reply_cancels_its_webhook(hooked):
    desk = hooked(("crm", "http://127.0.0.1:9/x", ["ticket.replied"]))
    n = new_ticket(desk, 1)
    actions.reply(desk, who(desk, "sanne"), n, "Antwoord", delay_seconds=60, slack_ref="C1:1.2")
    [row] = webhook_rows(desk)
    assert row.next_attempt_at == desk.clock() + timedelta(seconds=60)  # waits with the mail
    assert actions.cancel_reply(desk, who(desk, "sanne"), n, "C1:1.2")
    assert webhook_rows(desk)[0].status == "cancelled"


def test_desk_subscriptions_subscribe_list_unsubscribe(hooked):
    with Receiver() as rx:
        desk = hooked(("crm", "http://127.0.0.1:9/x", ["ticket.created"]))
        api = Actor("api:erp", Via.API, trusted=True)
        with pytest.raises(Refused, match="not set"):
            webhooks.subscribe(desk, api, "erp", rx.url, ["ticket.resolved"], "TICKETBOT_WEBHOOK_ERP")
        desk.settings = desk.settings.with_(webhook_secrets={
            **desk.settings.webhook_secrets, "TICKETBOT_WEBHOOK_ERP": "erp-secret-0123456789"})
        for bad, match in ((("ftp://x/", ["ticket.created"]), "scheme"),
                           ((rx.url, ["ticket.nope"]), "unknown"),
                           ((rx.url, []), "unknown or no events")):
            with pytest.raises(Refused, match=match):
                webhooks.subscribe(desk, api, "erp", *bad, "TICKETBOT_WEBHOOK_ERP")
        with pytest.raises(Refused, match="TICKETBOT_WEBHOOK_"):
            webhooks.subscribe(desk, api, "erp", rx.url, ["ticket.created"], "DATABASE_URL")
        with pytest.raises(Refused, match="operator"):  # a person on Slack may not
            webhooks.subscribe(desk, Actor.of(desk.ruleset.people["sanne"], Via.SLACK), "erp",
                               rx.url, ["ticket.created"], "TICKETBOT_WEBHOOK_ERP")
        made = webhooks.subscribe(desk, api, "erp", rx.url, ["ticket.resolved"],
                                  "TICKETBOT_WEBHOOK_ERP")
        assert (made["source"], made["state"]) == ("desk", "active")
        with pytest.raises(Refused, match="already"):
            webhooks.subscribe(desk, api, "erp", rx.url, ["ticket.resolved"], "TICKETBOT_WEBHOOK_ERP")
        with pytest.raises(Refused, match="rules.yaml"):
            webhooks.unsubscribe(desk, api, "crm")  # configured ones are read-only
        n = new_ticket(desk, 1)
        actions.resolve(desk, OPERATOR, n, tell_customer=False)
        assert [(r.to_addr, r.purpose) for r in webhook_rows(desk)] == [
            ("crm", "ticket.created"), ("erp", "ticket.resolved")]
        # a re-sync of rules.yaml leaves the desk's subscriptions alone
        webhooks.sync_configured(desk)
        listed = {d["name"]: d for d in webhooks.list_subscriptions(desk, OPERATOR)}
        assert set(listed) == {"crm", "erp"} and listed["erp"]["secret_set"]
        assert listed["crm"]["deliveries"] == {"queued": 1}
        snd = OutboxSender(desk.settings, desk.uow, {"webhook": WebhookTransport(desk)})
        snd.run_once(desk.clock(), lane="webhook")
        [req] = rx.wait_for(1)
        assert verify("erp-secret-0123456789", req.headers["X-Ticketbot-Timestamp"], req.body,
                      req.headers["X-Ticketbot-Signature"], now=desk.clock().timestamp())
        webhooks.unsubscribe(desk, api, "erp")
        assert [d["name"] for d in webhooks.list_subscriptions(desk, OPERATOR)] == ["crm"]
        recent = webhooks.recent_deliveries(desk, OPERATOR, name="erp")
        assert recent[0]["status"] == "sent" and recent[0]["attempts"] == 1


def test_settings_read_webhook_secrets_from_the_environment():
    s = Settings.from_env({"TICKETBOT_WEBHOOK_CRM": " abc ", "TICKETBOT_WEBHOOK_DISABLE_DAYS": "2",
                           "DATABASE_URL": "sqlite:///x.db"})
    assert s.webhook_secret("TICKETBOT_WEBHOOK_CRM") == "abc"
    assert s.webhook_secret("TICKETBOT_WEBHOOK_DISABLE_DAYS") is None  # a setting, not a secret
    assert s.webhook_secret("DATABASE_URL") is None
    assert s.webhook_disable_days == 2.0
    assert "abc" not in repr(s)


def test_configured_subscriptions_follow_the_file(hooked):
    desk = hooked(("crm", "http://127.0.0.1:9/a", ["ticket.created"]))
    with desk.sessions() as s:
        row = s.scalar(select(WebhookSubscription))
        assert (row.name, row.source, row.events) == ("crm", "rules", ["ticket.created"])
    desk.rules = load_rules(RULES, text=hook_rules([("crm", "http://127.0.0.1:9/b",
                                                     ["ticket.created", "task.done"])]))
    assert webhooks.sync_configured(desk) == {"added": 0, "changed": 1, "removed": 0}
    [d] = webhooks.list_subscriptions(desk, OPERATOR)
    assert d["url"] == "http://127.0.0.1:9/b" and d["events"] == ["ticket.created", "task.done"]
    assert webhooks.sync_configured(desk) == {"added": 0, "changed": 0, "removed": 0}


def test_the_command_line_shows_subscriptions_and_deliveries(tmp_path, monkeypatch, capsys):
    """`ticketbot webhooks`: settings and secrets from the environment, the subscriptions
    from rules.yaml, deliveries sent by `ticketbot outbox --send`."""
    from bot.cli import main
    from tests.conftest import START

    with Receiver(fail=[500]) as rx:
        rules = tmp_path / "rules.yaml"
        rules.write_text(hook_rules([("crm", rx.url, ["ticket.created"])]), encoding="utf-8")
        for var in ("DATABASE_URL", "IMAP_URL", "SMTP_URL"):
            monkeypatch.delenv(var, raising=False)
        env = {"DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3", "TICKETBOT_RULES": str(rules),
               "TICKETBOT_MAIL_DIR": str(tmp_path / "out"), "TICKETBOT_ADDRESS": "support@desk.example",
               "TICKETBOT_WEBHOOK_CRM": secret_of("crm")}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        eml = tmp_path / "in.eml"
        eml.write_bytes(mail("Vraag", "Goedendag,\n\nEen vraag.\n", 1))

        def run(*argv: str) -> tuple[int, str, str]:
            capsys.readouterr()
            rc = main(["--now", START.isoformat(), *argv])
            out, err = capsys.readouterr()
            return rc, out, err

        assert run("ingest", str(eml))[0] == 0
        assert run("outbox", "--send")[0] == 0  # the 500: a retry
        rc, out, err = run("webhooks", "--json")
        assert rc == 0, err
        got = json.loads(out)
        [sub] = got["subscriptions"]
        assert (sub["name"], sub["source"], sub["state"], sub["secret_set"]) == (
            "crm", "rules", "failing", True)
        [d] = got["deliveries"]
        assert (d["event"], d["status"], d["attempts"]) == ("ticket.created", "queued", 1)
        assert "500" in d["last_error"]
        rc, out, _ = run("--now", (START + timedelta(minutes=1)).isoformat(), "outbox", "--send")
        rc, out, err = run("webhooks")
        assert rc == 0, err
        assert "crm" in out and "active" in out and "0/1/0" in out and "ticket.created" in out
        assert len(rx.accepted) == 1
        assert run("webhooks", "--enable", "nope")[0] == 2
