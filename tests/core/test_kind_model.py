"""The kind model (issue 16): a pure naive-Bayes classifier that proposes a kind where the
rules fall through to their catch-all; applied only at or above its threshold, never to
automatic mail, never where a rule decided the kind."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

from bot.adapters.rules_file import load_rules
from bot.config import KIND_MODEL
from bot.core.rules import kind_model as km
from bot.core.rules.engine import route
from bot.core.rules.facts import Facts
from bot.core.rules.schema import RulesError
from tests.conftest import RULES

REPO = Path(__file__).resolve().parents[2]


def rows() -> list[tuple[str, str, str]]:
    """A tiny labelled set with made-up words, so no rule of rules.yaml knows them."""
    out = []
    for i in range(4):
        out.append((*km.document(f"zorblax {i}", f"The zorblax amount blorp {i}."), "invoice"))
        out.append((*km.document(f"quuxit {i}", f"We quuxit the whole thing {i}."), "cancellation"))
        out.append((*km.document(f"frobnic {i}", f"Where is the frobnic {i}?"), "question"))
    return out


def model(threshold: float = 0.55, cancellation: float = 0.85, temperature: float = 1.0) -> km.KindModel:
    return km.from_data(km.train(rows(), min_df=1, temperature=temperature, threshold=threshold,
                                 thresholds={"cancellation": cancellation}))


RS = load_rules(RULES)
KNOWN = {"customer": "known", "company": "Bakkerij Jansen", "advisor": "marta"}


def routed(subject: str, body: str, m: km.KindModel, **facts):
    f = Facts(from_addr="jan@bakkerij-jansen.nl", subject=subject, body=body, **{**KNOWN, **facts})
    d = route(RS, f)
    km.apply(RS, f, d, m)
    return d


def test_the_build_is_deterministic_and_the_file_round_trips():
    a, b = km.dumps(km.train(rows(), min_df=1)), km.dumps(km.train(list(reversed(rows())), min_df=1))
    assert a == b
    m = km.loads(a)
    assert m.kinds == ("cancellation", "invoice", "question")
    assert m.score(km.featurize(*km.document("zorblax", "blorp"))).kind == "invoice"


def test_the_shipped_model_is_what_the_script_builds_from_the_labelled_sets():
    """Edit a label or a mail and this fails until scripts/train_kind_model.py is rerun."""
    spec = importlib.util.spec_from_file_location("train_kind_model", REPO / "scripts" / "train_kind_model.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    shipped = KIND_MODEL.read_text(encoding="utf-8")
    data = json.loads(shipped)
    assert km.dumps(script.build(script.labelled_rows(), temperature=data["temperature"])) == shipped
    assert KIND_MODEL.stat().st_size < 2_000_000
    assert (data["threshold"], data["thresholds"]) == (script.THRESHOLD, {"cancellation": 0.9})


def test_above_the_threshold_the_catch_all_takes_the_proposed_kind_and_its_owner():
    d = routed("zorblax", "The zorblax amount blorp.", model())
    assert d.rule == "anything-else"
    assert (d.kind, d.owner, d.owner_role) == ("invoice", "ruud", "receivables")
    assert d.model is not None and d.model["applied"] and d.model["confidence"] >= 0.55
    assert "kind model" in d.owner_reason
    assert "zorblax" in dict(d.model["features"])  # the words that drove it


def test_below_the_threshold_the_catch_all_stays():
    m = model()
    p = m.score(km.featurize(*km.document("zorblax", "blorp")))
    d = routed("zorblax", "blorp", dataclasses.replace(m, threshold=p.confidence + 0.01))
    assert (d.kind, d.owner, d.owner_role) == ("question", "sanne", "sales_support")
    assert d.model is not None and not d.model["applied"] and "below the threshold" in d.model["why"]
    exactly = routed("zorblax", "blorp", dataclasses.replace(m, threshold=p.confidence))
    assert exactly.kind == "invoice"  # at the threshold: applied


def test_a_proposed_cancellation_needs_its_own_higher_threshold_else_it_is_flagged():
    m = model(temperature=4.0)
    p = m.score(km.featurize(*km.document("quuxit", "We quuxit it.")))
    assert p.kind == "cancellation" and 0.55 <= p.confidence
    below = routed("quuxit", "We quuxit it.", dataclasses.replace(
        m, threshold=0.3, thresholds={"cancellation": p.confidence + 0.01}))
    assert (below.kind, below.owner) == ("question", "sanne")
    assert below.model is not None and below.model["review"] and not below.model["applied"]
    above = routed("quuxit", "We quuxit it.", dataclasses.replace(
        m, threshold=0.3, thresholds={"cancellation": p.confidence}))
    # as the written-cancellation rule would: the advisor, sales support watching, its ack
    assert (above.kind, above.owner, above.owner_role) == ("cancellation", "marta", "advisor")
    assert (above.watchers, above.ack) == (["sanne"], "ack-cancellation")


def test_an_unknown_company_gets_the_rsm_as_the_rules_would():
    d = routed("quuxit", "We quuxit it.", model(cancellation=0.0), customer="unknown", company=None,
               advisor=None)
    assert (d.kind, d.owner, d.owner_role) == ("cancellation", "rob", "rsm")


def test_a_rule_that_decided_the_kind_stands():
    d = routed("Factuur zorblax", "De factuur klopt niet, quuxit quuxit.", model(threshold=0.0, cancellation=0.0))
    assert d.rule != "anything-else" and d.kind in ("invoice", "complaint")
    assert d.model is not None and not d.model["applied"] and "the rules stand" in d.model["why"]


def test_an_auto_reply_is_never_reclassified():
    m = model(threshold=0.0, cancellation=0.0)
    d = routed("Out of office: zorblax", "I am away. zorblax blorp.", m, automatic="auto-reply")
    assert (d.rule, d.owner, d.urgent) == ("auto-reply", "sanne", False)
    assert d.model is not None and not d.model["applied"]
    # even where no rule catches it (rules with nothing but a catch-all)
    bare = dataclasses.replace(RS, rules=tuple(r for r in RS.rules if r.name == "anything-else"))
    f = Facts(subject="zorblax", body="zorblax blorp", automatic="auto-reply", **KNOWN)
    d2 = route(bare, f)
    km.apply(bare, f, d2, m)
    assert (d2.kind, d2.owner) == ("question", "sanne")
    assert d2.model is not None and d2.model["why"].startswith("automatic mail")


def test_corrections_add_to_the_counts():
    base = km.train(rows(), min_df=1)
    more = km.add_rows(base, [(*km.document("wibble", "wibble wibble"), "technical")], {"desk_rows": 1})
    assert more["kinds"] == ["cancellation", "invoice", "question", "technical"]
    assert more["docs"] == base["docs"] + [1] and more["meta"]["desk_rows"] == 1
    assert km.loads(km.dumps(more)).score(km.featurize(*km.document("wibble", ""))).kind == "technical"
    assert km.dumps(km.add_rows(base, [])) == km.dumps(base)


def test_a_kinds_assign_is_checked_like_a_rules():
    text = RULES.read_text(encoding="utf-8").replace("assign: receivables, fields: [invoice]",
                                                     "assign: nobody, fields: [invoice]")
    with pytest.raises(RulesError, match="kind 'invoice': assign 'nobody' is neither a person nor a role"):
        load_rules(RULES, text=text)


# --------------------------------------------------------------------------- complaint upgrade
def complaint_model(temperature: float = 1.0) -> km.KindModel:
    """The tiny set plus complaints in a made-up word no rule knows (`grumblex`)."""
    extra = [(*km.document(f"grumblex {i}", f"Grumblex grumblex, again {i}."), "complaint")
             for i in range(4)]
    return km.from_data(km.train(rows() + extra, min_df=1, temperature=temperature, threshold=0.55))


def test_a_rules_invoice_becomes_a_complaint_above_the_upgrade_threshold_and_stays_with_receivables():
    d = routed("Factuur grumblex", "De factuur grumblex grumblex.", complaint_model())
    assert d.rule == "invoice"
    assert (d.kind, d.owner, d.owner_role) == ("complaint", "ruud", "receivables")
    assert d.model is not None and d.model["applied"] and d.model["upgraded"]
    assert d.model["rules_kind"] == "invoice" and d.model["confidence"] >= km.UPGRADE_THRESHOLD
    assert d.model["why"].startswith("upgraded to complaint by the kind model, confidence ")


def test_an_upgraded_request_goes_to_the_advisor_as_the_complaint_kind_assigns():
    d = routed("Nieuw adres grumblex", "Ons nieuw adres: Dorpsstraat 1. Grumblex grumblex.",
               complaint_model())
    assert d.rule == "contact-details"
    assert (d.kind, d.owner, d.owner_role) == ("complaint", "marta", "advisor")
    assert "upgraded to complaint by the kind model" in d.owner_reason
    ad = routed("Advertentie grumblex", "Onze advertentie in de gids grumblex.", complaint_model())
    assert (ad.rule, ad.kind, ad.owner) == ("advertising", "complaint", "marta")


def test_below_the_upgrade_threshold_the_rules_kind_stands():
    m = complaint_model()
    feats = km.featurize(*km.document("Factuur grumblex", "De factuur grumblex grumblex."))
    p = m.score(feats)
    assert p.kind == "complaint"
    # a model far less sure of itself: the same mail stays an invoice
    soft = dataclasses.replace(m, temperature=m.temperature * 400)
    assert soft.score(feats).confidence < km.UPGRADE_THRESHOLD
    d = routed("Factuur grumblex", "De factuur grumblex grumblex.", soft)
    assert (d.kind, d.owner) == ("invoice", "ruud")
    assert d.model is not None and not d.model["applied"] and "the rules stand" in d.model["why"]


def test_never_a_cancellation_nor_an_auto_reply_is_upgraded():
    m = complaint_model()
    c = routed("Opzegging grumblex", "Hierbij zeggen wij ons contract op. Grumblex grumblex.", m)
    assert (c.rule, c.kind, c.owner) == ("written-cancellation", "cancellation", "marta")
    assert c.model is not None and not c.model["applied"]
    a = routed("Factuur grumblex", "De factuur grumblex grumblex.", m, automatic="auto-reply")
    assert a.kind != "complaint" and a.model is not None and not a.model["applied"]


def test_the_streamed_file_loads_the_same_model_as_the_parsed_json(tmp_path):
    """`load` reads the file one feature line at a time (no big temporary in the worker);
    any other JSON layout of the same content gives the same model."""
    data = km.train(rows(), min_df=1, temperature=1.0, thresholds={"cancellation": 0.85})
    path = tmp_path / "model.json"
    path.write_text(km.dumps(data), encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data, indent=2), encoding="utf-8")
    want = km.from_data(json.loads(km.dumps(data)))
    for m in (km.load(path), km.loads(km.dumps(data)), km.load(other)):
        assert (m.kinds, m.prior, m.weights, m.thresholds) == (want.kinds, want.prior, want.weights,
                                                               want.thresholds)
    # the shipped file too (its count vectors read once per distinct text)
    shipped, parsed = km.load(KIND_MODEL), km.from_data(json.loads(KIND_MODEL.read_text(encoding="utf-8")))
    assert (shipped.prior, shipped.weights) == (parsed.prior, parsed.weights) and len(shipped.weights) > 30_000


def test_an_unknown_format_is_refused_with_what_to_do(tmp_path):
    text = km.dumps({**km.train(rows(), min_df=1), "format": 99})
    for read in (lambda: km.loads(text), lambda: km.from_data(json.loads(text))):
        with pytest.raises(ValueError, match=r"format 99: this bot reads format 1 \(retrain it"):
            read()
    with pytest.raises(ValueError, match="unreadable line"):
        km.loads(km.dumps(km.train(rows(), min_df=1)).replace("\n}}", ",\n\"w:oops\" 1\n}}"))


def test_the_shipped_model_shares_one_weight_tuple_per_distinct_count_vector():
    """What keeps the loaded model small (docs/rules.md "The kind model": about 6 MB of
    the worker's memory instead of 18): equal count vectors give one tuple object."""
    m = km.load(KIND_MODEL)
    distinct = {id(w) for w in m.weights.values()}
    assert len(m.weights) > 20_000 and len(distinct) < len(m.weights) / 3
    assert m.weights == km.from_data(json.loads(KIND_MODEL.read_text(encoding="utf-8"))).weights


def test_present_features_are_featurize_s_on_every_labelled_mail(monkeypatch):
    """The intake's way to the model's features (a cache of each word's features) finds
    what featurize finds, with the same weights, on all labelled mails; also after the
    cache has rolled over to a new generation many times (a tiny cache here), and a
    word's features come from the cache, not made again."""
    from bot.core.mail.prepare import prepare
    from bot.core.rules.reading import message_facts

    model = km.load(KIND_MODEL)
    monkeypatch.setattr(km, "WORD_CACHE", 50)
    mails = sorted((REPO / "tests/fixtures/routing_eval/mails").iterdir()) + \
        sorted((REPO / "tests/fixtures/routing_holdout/mails").iterdir())
    for path in mails:
        facts = message_facts(prepare(path.read_bytes(), "file:x").message)
        doc = km.document(facts.subject, facts.body, facts.attachment_text)
        expected = {f: model.weights[f] for f in km.featurize(*doc) if f in model.weights}
        assert model.present(*doc) == expected, path.name
        assert len(model._words_now) <= 50
    # the same sums in another order: equal to the last bits or so
    got, want = model.propose(facts, explain=False), model.score(km.featurize(*doc))
    assert (got.kind, got.runner_up) == (want.kind, want.runner_up)
    assert got.confidence == pytest.approx(want.confidence, rel=1e-12)
    made = []
    monkeypatch.setattr(km, "_grams", lambda w: made.append(w) or [])
    model.present("", "factuur factuur")
    model.present("", "factuur")
    assert made.count("factuur") <= 1
