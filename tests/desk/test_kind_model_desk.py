"""The kind model at the desk (issue 16), SQLite and PostgreSQL: a mail the rules leave
to the catch-all gets the model's kind and that kind's owner above the threshold (a
cancellation its workflow), the routing event says the kind came from the model,
`route --explain` shows the proposal, automatic mail is never reclassified, and
`ticketbot routing train` learns from the desk's corrections into a file of its own."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.core.rules import kind_model as km
from bot.desk import actions, corrections, intake, queries
from bot.store.models import Cancellation, Event, Outbox
from tests.conftest import OPERATOR, RULES, START, make_settings, who
from tests.desk.test_routing import mail


def write_model(path, threshold: float = 0.55, cancellation: float = 0.85, temperature: float = 1.0,
                complaints: bool = False):
    """A tiny model over made-up words no rule of rules.yaml knows (`complaints`: and
    complaints that say `grumblex`)."""
    rows = []
    for i in range(4):
        if complaints:
            rows.append((*km.document(f"grumblex {i}", f"Grumblex grumblex, again {i}."), "complaint"))
        rows.append((*km.document(f"zorblax {i}", f"The zorblax amount blorp {i}."), "invoice"))
        rows.append((*km.document(f"quuxit {i}", f"We quuxit the whole thing {i}."), "cancellation"))
        rows.append((*km.document(f"frobnic {i}", f"Where is the frobnic {i}?"), "question"))
    path.write_text(km.dumps(km.train(rows, min_df=1, temperature=temperature, threshold=threshold,
                                      thresholds={"cancellation": cancellation})))
    return path


@pytest.fixture
def model_desk(make_desk, db_url, tmp_path):
    def make(**kw):
        settings = make_settings(db_url, tmp_path, kind_model=write_model(tmp_path / "model.json", **kw))
        return make_desk(settings=settings)
    return make


def ingest(desk, raw: bytes) -> dict:
    r = intake.ingest_raw(desk, raw, "test")
    assert r.status == "created", r
    return {**queries.ticket_detail(desk, OPERATOR, r.ticket), "number": r.ticket}


def routed_event(desk, number: int) -> dict:
    with desk.uow.read() as s:
        return s.scalars(select(Event.detail).where(Event.ticket_id == number,
                                                    Event.action == "routed")).one()


def test_the_catch_all_takes_the_models_kind_and_owner_and_the_event_says_so(model_desk):
    desk = model_desk()
    t = ingest(desk, mail("jan@bakkerij-jansen.nl", "zorblax", "Goedendag,\n\nThe zorblax amount blorp.\n"))
    assert (t["kind"], t["owner"], t["owner_role"], t["rule"]) == ("invoice", "ruud", "receivables",
                                                                    "anything-else")
    e = routed_event(desk, t["number"])
    assert e["kind_from"] == "model" and e["kind"] == "invoice"
    assert e["model"]["kind"] == "invoice" and e["model"]["applied"] and e["model"]["confidence"] >= 0.55


def test_below_the_threshold_the_catch_all_stays_and_without_a_model_too(model_desk, desk):
    strict = model_desk(threshold=0.9999999)
    t = ingest(strict, mail("jan@bakkerij-jansen.nl", "zorblax blorp frobnic", "quuxit?\n"))
    assert (t["kind"], t["owner"]) == ("question", "sanne")
    e = routed_event(strict, t["number"])
    assert e["kind_from"] == "rules" and not e["model"]["applied"]
    # the desk fixture's settings (same database) name no model: the rules alone
    plain = ingest(desk, mail("jan@bakkerij-jansen.nl", "zorblax", "The zorblax amount blorp.\n", mid="p"))
    assert (plain["kind"], plain["owner"]) == ("question", "sanne")
    assert "kind_from" not in routed_event(desk, plain["number"])


def test_a_proposed_cancellation_goes_through_the_cancellation_workflow(model_desk):
    desk = model_desk(cancellation=0.5)
    t = ingest(desk, mail("jan@bakkerij-jansen.nl", "quuxit", "We quuxit the whole thing.\n"))
    assert (t["kind"], t["owner"], t["owner_role"], t["watchers"]) == ("cancellation", "marta", "advisor",
                                                                        ["sanne"])
    assert t["cancellation"]["contract"] == "C-100" and t["cancellation"]["outcome"] == "pending"
    with desk.uow.read() as s:
        assert s.scalars(select(Cancellation)).one()
        templates = sorted(o.template for o in s.scalars(select(Outbox)))
    assert "ack-cancellation" in templates and "cancellation-copy" in templates


def test_a_cancellation_below_its_threshold_is_flagged_not_applied(model_desk):
    desk = model_desk(threshold=0.3, cancellation=1.0, temperature=5.0)
    t = ingest(desk, mail("jan@bakkerij-jansen.nl", "quuxit", "We quuxit the whole thing.\n"))
    assert (t["kind"], t["owner"]) == ("question", "sanne") and t.get("cancellation") is None
    e = routed_event(desk, t["number"])
    assert e["model"]["kind"] == "cancellation" and e["model"]["review"] and not e["model"]["applied"]
    with desk.uow.read() as s:
        assert s.scalars(select(Cancellation)).first() is None


def test_an_auto_reply_is_never_reclassified(model_desk):
    desk = model_desk(threshold=0.0, cancellation=0.0)
    raw = mail("jan@bakkerij-jansen.nl", "Automatic reply: zorblax",
               "I am out of the office. zorblax blorp quuxit.\n").replace(
        b"To: ", b"Auto-Submitted: auto-replied\r\nTo: ", 1)
    t = ingest(desk, raw)
    assert (t["owner"], t["urgent"]) == ("sanne", False) and t["kind"] not in ("invoice", "cancellation")
    assert routed_event(desk, t["number"]).get("kind_from") in (None, "rules")


def test_route_explain_shows_the_proposal_its_confidence_and_words(model_desk, db_url, tmp_path,
                                                                  monkeypatch, capsys):
    model_desk()  # migrates the database, writes model.json
    eml = tmp_path / "m.eml"
    eml.write_bytes(mail("jan@bakkerij-jansen.nl", "zorblax", "The zorblax amount blorp.\n"))
    for k, v in {"DATABASE_URL": db_url, "TICKETBOT_RULES": str(RULES),
                 "TICKETBOT_KIND_MODEL": str(tmp_path / "model.json")}.items():
        monkeypatch.setenv(k, v)
    assert main(["--now", START.isoformat(), "route", str(eml), "--explain"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("model:"))
    assert line.startswith("model:    invoice (") and "threshold 55%" in line and "APPLIED" in line
    assert "zorblax (+" in out
    assert "kind:     invoice (proposed by the kind model)" in out
    assert "owner:    ruud" in out
    monkeypatch.setenv("TICKETBOT_KIND_MODEL", "off")
    assert main(["--now", START.isoformat(), "route", str(eml), "--explain"]) == 0
    out = capsys.readouterr().out
    assert "model:" not in out and "kind:     question" in out


def test_routing_train_learns_from_corrections_into_a_file_never_in_force_by_itself(
        model_desk, db_url, tmp_path, monkeypatch, capsys):
    desk = model_desk(threshold=0.99)
    t = ingest(desk, mail("jan@bakkerij-jansen.nl", "wibble", "Our wibble wobbles.\n"))
    assert t["kind"] == "question"
    actions.set_kind(desk, who(desk, "sanne"), t["number"], "technical")
    [row] = corrections.training_rows(desk, OPERATOR)
    assert row[2] == "technical" and "wibble" in row[1]
    out = tmp_path / "trained.json"
    for k, v in {"DATABASE_URL": db_url, "TICKETBOT_RULES": str(RULES),
                 "TICKETBOT_KIND_MODEL": str(tmp_path / "model.json")}.items():
        monkeypatch.setenv(k, v)
    before = (tmp_path / "model.json").read_text()
    assert main(["routing", "train", "--out", str(out)]) == 0
    assert "1 corrected ticket(s) (technical 1)" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert "technical" in data["kinds"] and data["meta"]["desk_rows"] == 1
    assert (tmp_path / "model.json").read_text() == before  # the model in force is untouched
    trained = km.loads(out.read_text())
    assert trained.score(km.featurize(*km.document("wibble", "wibble"))).kind == "technical"


def test_a_rules_invoice_the_model_is_sure_is_a_complaint_is_upgraded_and_explained(
        model_desk, db_url, tmp_path, monkeypatch, capsys):
    """The one way the model overrules a rule: invoice (advertising, appointment, question,
    request) to complaint at kind_model.UPGRADE_THRESHOLD; an invoice complaint stays with
    receivables; the complaint clock runs; the event and `route --explain` say so."""
    desk = model_desk(complaints=True)
    raw = mail("jan@bakkerij-jansen.nl", "Factuur grumblex", "De factuur grumblex grumblex.\n")
    t = ingest(desk, raw)
    assert (t["kind"], t["owner"], t["owner_role"], t["rule"]) == ("complaint", "ruud", "receivables",
                                                                    "invoice")
    e = routed_event(desk, t["number"])
    assert e["kind_from"] == "model" and e["kind"] == "complaint"
    assert e["model"]["upgraded"] and e["model"]["rules_kind"] == "invoice"
    assert e["model"]["confidence"] >= km.UPGRADE_THRESHOLD == e["model"]["threshold"]
    assert t["sla"]["policy"] == "complaint", t["sla"]  # the complaint clock (24 h first action, 10 days)
    eml = tmp_path / "m.eml"
    eml.write_bytes(raw)
    for k, v in {"DATABASE_URL": db_url, "TICKETBOT_RULES": str(RULES),
                 "TICKETBOT_KIND_MODEL": str(tmp_path / "model.json")}.items():
        monkeypatch.setenv(k, v)
    assert main(["--now", START.isoformat(), "route", str(eml), "--explain"]) == 0
    out = capsys.readouterr().out
    assert "kind:     complaint (upgraded to complaint by the kind model, confidence " in out
    assert "the rule said invoice)" in out and "owner:    ruud" in out
    line = next(x for x in out.splitlines() if x.startswith("model:"))
    assert "APPLIED: upgraded to complaint by the kind model, confidence" in line
