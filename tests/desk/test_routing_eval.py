"""The routing score on the labelled evaluation set (issue 16) has a floor.

tests/fixtures/routing_eval/ holds 324 desk mails in nl/en/pl/de, labelled by the
procedure by someone who never saw the rules. Every mail goes through the real routing
(`queries.explain`, the path of `ticketbot route --explain`, with the directory
imported from the set's CSV files) and the figures per language must not fall below
the floors here. The floors were set at the measured start and are raised as routing
improves; never lower one to let a rule change through, and never edit a label to fit
the rules. `python -m bench --only routing --misroutes` lists every misroute with its
explain trace.
"""

from __future__ import annotations

import pytest

from bench import routing

# Per language: owner, kind, cancellation recall, cancellation precision, complaint
# recall (percent). Start, shipped rules before issue 16 (nl/en/pl/de): owner 67.7 / 53.9 /
# 69.7 / 18.4, kind 40.6 / 40.8 / 51.3 / 7.9, cancellation recall 87.5 / 58.3 / 100 / 0,
# precision 63.6 / 70.0 / 63.2 / -, complaint recall 8.0 / 16.7 / 36.8 / 0.0, and 11 of 12
# auto-replies urgent or with a specialist. The floors below are the figures after the
# rule work (the word lists were written with these mails' misroutes in view, so they are
# figures on a tuning set, not on held-out mail).
FLOORS = {
    "nl": {"owner": 98.9, "kind": 98.9, "cancel_recall": 100.0, "cancel_precision": 100.0,
           "complaint_recall": 100.0},
    "en": {"owner": 100.0, "kind": 100.0, "cancel_recall": 100.0, "cancel_precision": 100.0,
           "complaint_recall": 100.0},
    "pl": {"owner": 100.0, "kind": 100.0, "cancel_recall": 100.0, "cancel_precision": 100.0,
           "complaint_recall": 100.0},
    "de": {"owner": 100.0, "kind": 100.0, "cancel_recall": 100.0, "cancel_precision": 100.0,
           "complaint_recall": 100.0},
}
# (issue 13/16, the held-out round: nl owner 96.9 -> 97.9 and en 92.1 -> 94.7 when a
# complaint with no more specific subject went to the customer's advisor (S 4.1), pl
# 98.7 -> 100 with the website-change rule; see tests/desk/test_routing_holdout.py)
# (routing3 round, general word lists and rules for classes of phrasing in every language,
# see docs/measured.md: owner nl 97.9 -> 99.0, en 94.7 -> 100, de 98.7 -> 100; kind nl
# 95.8 -> 99.0, en 93.4 -> 100, pl 98.7 -> 100, de 97.4 -> 100; complaint recall en 94.4
# -> 100, pl 94.7 -> 100. The one miss left: a guest's restaurant "rekening" on a mail about
# the menu on the customer's website, read as an invoice matter.)
MAX_AUTOREPLY_WRONG = 0  # auto-replies made urgent or given to anyone but sales support


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return routing.evaluate(work=tmp_path_factory.mktemp("routing-eval"))


def test_the_set_is_complete(cases):
    assert len(cases) == 324
    assert {c.lang for c in cases} == set(FLOORS)
    # every expected owner is a person of rules.yaml (an advisor label names a company
    # with an advisor in customers.csv)
    assert all(not c.expected_owner.startswith("?") for c in cases), \
        [(c.file, c.expected_owner) for c in cases if c.expected_owner.startswith("?")]


@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_score_per_language_is_not_below_the_floor(cases, lang):
    print("\n" + routing.table(cases))
    why = routing.below_floor(cases, lang, FLOORS[lang])
    assert not why, why


def test_auto_replies_are_never_urgent_nor_for_a_specialist(cases):
    wrong = [c for c in cases if c.autoreply_wrong]
    assert len(wrong) <= MAX_AUTOREPLY_WRONG, routing.misroutes(wrong)
