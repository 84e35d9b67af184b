"""The kind model at the desk (issue 16), SQLite and PostgreSQL: a mail the rules leave
to the catch-all gets the model's kind and that kind's owner above the threshold (a
cancellation its workflow), the routing event says the kind came from the model,
`route --explain` shows the proposal, automatic mail is never reclassified, and
`ticketbot routing train` learns from the desk's corrections into a file of its own."""

from __future__ import annotations

import json
import logging
import marshal
import os

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.core.rules import kind_model as km
from bot.core.rules.facts import Facts
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


# ------------------------------------------------------------------ the model, cached as loaded
def test_the_kind_model_is_cached_as_loaded_and_read_back_alike(tmp_path, monkeypatch):
    """The first load reads the weights file and keeps the model as loaded in the cache
    folder; the next reads only that (the weights file's reader is not called) and gives
    the same model, its shared weight tuples still shared, and the same proposals."""
    from bot.config import KIND_MODEL
    from bot.desk import context
    cache = tmp_path / "cache"
    first = context.load_cached(KIND_MODEL, cache)
    assert [p.name.endswith(".marshal") for p in cache.iterdir()] == [True]
    for reader in ("load", "loads"):
        monkeypatch.setattr(context, reader, lambda *_: pytest.fail("read the weights file again"))
    again = context.load_cached(KIND_MODEL, cache)
    assert again == first and again is not first
    assert len({id(w) for w in again.weights.values()}) == len({id(w) for w in first.weights.values()}) \
        < len(again.weights) // 3
    for subject, body in (("Factuur klopt niet", "Het bedrag op de factuur is te hoog."),
                          ("Opzegging", "Hierbij zeg ik ons contract op."), ("hallo", "")):
        facts = Facts(subject=subject, body=body)
        assert again.propose(facts) == first.propose(facts)


def test_a_changed_model_or_a_broken_cache_is_read_from_the_weights_file(tmp_path, caplog):
    """Another weights file is another cache entry (never the old model); a cache file cut
    short or of another shape is read past and written anew; a cache folder that cannot
    be made costs only the cache. Without a folder nothing is written."""
    from bot.desk import context
    cache = tmp_path / "cache"
    a = context.load_cached(write_model(tmp_path / "a.json"), cache)
    b = context.load_cached(write_model(tmp_path / "b.json", threshold=0.7), cache)
    assert (a.threshold, b.threshold) == (0.55, 0.7) and len(list(cache.iterdir())) == 2
    assert context.load_cached(tmp_path / "b.json", cache) == b
    entry = cache / f"kind-model-{km.cache_key((tmp_path / 'b.json').read_bytes())}.marshal"
    whole = entry.read_bytes()
    flipped = bytearray(whole)
    flipped[len(whole) // 2] ^= 0x10  # inside the payload: marshal alone would not notice
    for broken in (whole[:50], whole[:-1], bytes(flipped), b"\x00junk", marshal.dumps((1, 2)),
                   whole.replace(b"ticketbot", b"TICKETBOT", 1)):
        entry.write_bytes(broken)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="bot.desk.context"):
            assert context.load_cached(tmp_path / "b.json", cache) == b
        assert "unreadable" in caplog.text
        assert km.from_loaded_bytes(entry.read_bytes()) == b  # written anew
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert context.load_cached(tmp_path / "a.json", blocked / "cache") == a
    assert context.load_cached(tmp_path / "a.json", None) == a
    # entries not written for a week go when another is written; a fresher one stays
    # (ages on the file system's clock, which the shifted test run does not shift)
    probe = cache / "probe"
    probe.write_bytes(b"")
    now = probe.stat().st_mtime
    probe.unlink()
    stale = [cache / "kind-model-0.marshal", cache / "kind-model-1.marshal"]
    for age, p in zip((8, 6), stale, strict=True):
        p.write_bytes(b"x")
        os.utime(p, (now - age * 86400,) * 2)
    a_entry = cache / f"kind-model-{km.cache_key((tmp_path / 'a.json').read_bytes())}.marshal"
    a_entry.unlink()  # written again below, and the stale entry goes
    assert context.load_cached(tmp_path / "a.json", cache) == a
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [a_entry.name, entry.name, stale[1].name])
    assert not (tmp_path / "a.json.marshal").exists() and blocked.read_text() == "not a folder"


def test_a_cache_write_that_fails_leaves_nothing_and_an_unreadable_source_caches_nothing(
        tmp_path, monkeypatch, caplog):
    """Writing the entry fails (here: making its bytes): the model loaded is used and no
    temporary file is left; one left by a write cut short goes after a week, as entries
    do. Where the loading module's own source cannot be read (an archive), nothing is
    cached at all."""
    from bot.desk import context
    cache = tmp_path / "cache"
    model = write_model(tmp_path / "m.json")
    with monkeypatch.context() as m:
        m.setattr(context, "loaded_bytes", lambda _: (_ for _ in ()).throw(ValueError("unmarshallable")))
        with caplog.at_level(logging.INFO, logger="bot.desk.context"):
            assert context.load_cached(model, cache).threshold == 0.55
    assert "not cached" in caplog.text and list(cache.iterdir()) == []
    leftover = cache / "kind-model-abc.tmp"
    leftover.write_bytes(b"half")
    os.utime(leftover, (leftover.stat().st_mtime - 8 * 86400,) * 2)
    assert context.load_cached(model, cache).threshold == 0.55
    assert [p.suffix for p in cache.iterdir()] == [".marshal"]
    monkeypatch.setattr(km, "_SOURCE", None)
    assert km.cache_key(b"x") is None
    other = tmp_path / "none"
    assert context.load_cached(model, other).threshold == 0.55 and not other.exists()


def test_the_cache_folder_from_the_environment():
    from pathlib import Path

    from bot.config import Settings
    assert Settings().cache_dir is None
    assert Settings.from_env({"HOME": "/home/desk"}).cache_dir == Path("/home/desk/.cache/ticketbot")
    assert Settings.from_env({"HOME": "/h", "XDG_CACHE_HOME": "/c"}).cache_dir == Path("/c/ticketbot")
    assert Settings.from_env({"HOME": "/h", "TICKETBOT_CACHE_DIR": "/srv/tb"}).cache_dir == Path("/srv/tb")
    assert Settings.from_env({"HOME": "/h", "TICKETBOT_CACHE_DIR": "off"}).cache_dir is None
    assert Settings.from_env({}).cache_dir is None
