"""Benchmark of webhook fan-out (issue #12): 1,000 desk events, each subscribed by 3
local receivers (real HTTP servers on 127.0.0.1, tests/support/webhook_receiver.py), on
SQLite and PostgreSQL.

The events are made the way the desk makes them: 100 mails become tickets
(ticket.created), then 900 staff actions resolve and reopen them in turn. The webhook
lane delivers meanwhile, as in the worker (woken after every commit, each outbox row
claimed, signed, POSTed, recorded). Figures: events fully fanned out per second (the
first event's commit to the last of the 3,000 deliveries) and the delivery latency
(event recorded -> request at the receiver), p50 and p95: in the burst (the desk makes
events faster than one lane delivers them, so it is mostly time in the queue), and then
in a steady flow of 100 more events at 10 a second. The receivers run in this process,
so they share its interpreter with the bot: a conservative figure.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from datetime import datetime
from pathlib import Path

from bot.adapters.webhook_out import WebhookTransport
from bot.core.webhooks import EVENTS
from bot.delivery.outbox import OutboxSender
from bot.desk import actions, intake, webhooks
from bot.desk.actor import Actor
from bot.desk.context import Desk
from bot.store.migrate import upgrade
from bot.store.models import make_engine, make_sessionmaker
from tests.conftest import RULES, make_settings
from tests.support.mailgen import customer_mail
from tests.support.webhook_receiver import Receiver

RECEIVERS = 3
# the ticket's own events: 1,000 actions are 1,000 events (sla.met would add some)
TICKET_EVENTS = [e for e in EVENTS if e.startswith("ticket.")]
TICKETS = 100
PACED = 100
OPERATOR = Actor.operator("bench")


def _rules(urls: list[str]) -> str:
    lines = ["", "webhooks:"]
    for i, url in enumerate(urls):
        lines += [f"  - name: r{i}", f"    url: {url}", f"    events: [{', '.join(TICKET_EVENTS)}]",
                  f"    secret_env: TICKETBOT_WEBHOOK_R{i}"]
    return RULES.read_text(encoding="utf-8") + "\n".join(lines) + "\n"


def _lane(sender: OutboxSender, desk: Desk, ready: threading.Event, stop: threading.Event) -> None:
    """bot/app.py Worker.outbox_loop for the webhook lane."""
    while not stop.is_set():
        now = desk.clock()
        if sum(sender.run_once(now, lane="webhook").values()):
            continue
        nxt = sender.next_due_at("webhook")
        ready.wait(5.0 if nxt is None else max(0.05, min(5.0, (nxt - now).total_seconds())))
        ready.clear()


def bench_fanout(tmp: Path, db: str, pg, events: int = 1000) -> dict:
    from bot.adapters.rules_file import load_rules

    url = pg.create_database() if db == "postgres" else f"sqlite:///{tmp}/webhooks-{db}.sqlite3"
    upgrade(url)
    receivers = [Receiver().__enter__() for _ in range(RECEIVERS)]
    try:
        settings = make_settings(url, tmp, webhook_secrets={
            f"TICKETBOT_WEBHOOK_R{i}": f"bench-secret-{i}-0123456789" for i in range(RECEIVERS)},
            mail_dir=tmp / f"out-{db}")
        engine = make_engine(url)
        desk = Desk(settings, make_sessionmaker(engine),
                    rules=load_rules(RULES, text=_rules([r.url for r in receivers])))
        webhooks.sync_configured(desk)
        sender = OutboxSender(settings, desk.uow, {"webhook": WebhookTransport(desk)})
        ready, stop = threading.Event(), threading.Event()
        desk.uow.on_commit = ready.set
        lane = threading.Thread(target=_lane, args=(sender, desk, ready, stop), daemon=True)
        lane.start()
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        numbers = []
        for i in range(TICKETS):
            r = intake.ingest_raw(desk, customer_mail(i, variant="plain",
                                                      domain=f"bench{i}.example"), f"b{i}")
            numbers.append(r.ticket)
        for j in range(events - TICKETS):  # resolve, reopen, resolve, ... round the tickets
            n = numbers[j % TICKETS]
            if (j // TICKETS) % 2 == 0:
                actions.resolve(desk, OPERATOR, n, tell_customer=False)
            else:
                actions.reopen(desk, OPERATOR, n, "bench")
        produced = time.perf_counter() - t0
        expected = events * RECEIVERS
        # the SLA clocks may add sla.met events: wait for all queued deliveries
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            got = sum(len(r.accepted) for r in receivers)
            if got >= expected and sender.next_due_at("webhook") is None:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        # then a steady flow the lane keeps up with (one event each 100 ms): the latency of
        # a delivery that waits behind no backlog
        burst = {req.json["id"] for req in receivers[0].accepted}
        for j in range(PACED):
            n = numbers[j % TICKETS]
            if ((events - TICKETS) // TICKETS + j // TICKETS) % 2 == 0:
                actions.resolve(desk, OPERATOR, n, tell_customer=False)
            else:
                actions.reopen(desk, OPERATOR, n, "bench")
            time.sleep(0.1)
        while time.monotonic() < deadline and sum(len(r.accepted) for r in receivers) < (
                events + PACED) * RECEIVERS:
            time.sleep(0.05)
        stop.set()
        ready.set()
        lane.join(timeout=30)
        latencies, steady = [], []
        for r in receivers:
            for req in r.accepted:
                created = datetime.fromisoformat(req.json["created_at"]).timestamp()
                (latencies if req.json["id"] in burst else steady).append(req.wall - created)
        ids = [req.json["id"] for req in receivers[0].accepted]
        assert len(ids) == len(set(ids)), "an event arrived twice"
        delivered_events = len(burst)
        assert delivered_events == events, (delivered_events, events)
        assert len(steady) == PACED * RECEIVERS, len(steady)
        engine.dispose()
        return {"events": delivered_events, "deliveries": sum(len(r.accepted) for r in receivers),
                "elapsed": elapsed, "produced": produced, "latencies": sorted(latencies),
                "steady": sorted(steady),
                "cpu": cpu, "load": os.getloadavg()[0]}
    finally:
        for r in receivers:
            r.__exit__(None, None, None)


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def rows_for(db: str, r: dict) -> list[tuple[str, str, str]]:
    lat = r["latencies"]
    return [
        (f"webhooks: {r['events']:,} events x {RECEIVERS} receivers ({db})",
         f"{r['events'] / r['elapsed']:,.0f} events/s", ""),
        ("  deliveries (signed POSTs)", f"{r['deliveries'] / r['elapsed']:,.0f} /s", ""),
        ("  the desk making the events alone", f"{r['events'] / r['produced']:,.0f} events/s", ""),
        ("  burst: delivery latency, event -> receiver, p50", f"{_pct(lat, 50) * 1000:,.0f} ms", ""),
        ("  burst: delivery latency, event -> receiver, p95", f"{_pct(lat, 95) * 1000:,.0f} ms", ""),
        (f"  steady flow ({PACED} events at 10/s), latency p50",
         f"{_pct(r['steady'], 50) * 1000:,.0f} ms", ""),
        (f"  steady flow ({PACED} events at 10/s), latency p95",
         f"{_pct(r['steady'], 95) * 1000:,.0f} ms", ""),
        ("  CPU, whole process (desk, lane, receivers; the burst)", f"{r['cpu']:,.1f} s", ""),
        ("  machine load average during the run", f"{r['load']:.1f}", "(2 cores)"),
    ]
