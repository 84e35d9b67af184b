"""rules.yaml: validation (every problem with file, line, column, reason) and the
pure routing engine. The routes through the real ingest path: tests/desk/test_routing.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from bot.adapters.rules_file import RulesHolder, load_rules
from bot.core.rules.engine import route
from bot.core.rules.facts import Facts, polite_request, unwrap
from bot.core.rules.schema import RulesError
from tests.conftest import REPO

BASE = """\
people:
  sanne: {email: sanne@desk.example, roles: [sales_support]}
  ruud: {email: ruud@desk.example, roles: [receivables]}
  rob: {email: rob@desk.example, roles: [rsm]}
  marta: {email: marta@desk.example, slack: U0MARTA01, roles: [advisor]}
roles:
  sales_support: sanne
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as err:
        load_rules(path)
    return [f"{p.line}:{p.column}: {p.reason}" for p in err.value.problems]


def test_the_shipped_example_is_valid_and_covers_every_role():
    rs = load_rules(REPO / "rules.yaml")
    for role in ("receivables", "webmaster", "rsm", "sales_support", "sales_manager"):
        assert rs.resolve(role), role
    assert rs.roles["advisor"].members
    assert {"dispute", "remark", "work_order"} <= set(rs.kinds)
    assert rs.kinds["cancellation"].workflow == "cancellation"


@pytest.mark.parametrize("rules, expected", [
    ("rules:\n  - name: a\n    when: {subject: x}\n    then: {assign: nobody}\n",
     ["11:20: rule 'a': assign 'nobody' is neither a person nor a role"]),
    ("rules:\n  - name: a\n    when: {subject_regex: 'inv(oice'}\n    then: {assign: sanne}\n",
     ["10:27: rule 'a': bad regular expression 'inv(oice': missing ), unterminated subpattern at position 4"]),
    ("rules:\n  - name: a\n    when: {subjekt: x}\n    then: {assign: sanne}\n",
     ["10:12: rule 'a': unknown condition 'subjekt'; expected one of all, any, attachment_name, "
      "attachments, attachments_near, attachments_regex, attachments_stated, attachments_stated_near, "
      "attachments_stated_regex, attachments_unnegated, "
      "automatic, body, body_near, body_regex, body_stated, body_stated_near, body_stated_regex, "
      "body_unnegated, channel, customer, forwards_other, from, from_domain, has_advisor, has_attachment, language, "
      "not, reply, subject, subject_near, subject_regex, subject_stated, subject_stated_near, "
      "subject_stated_regex, subject_unnegated, text, text_near, text_regex, text_stated, "
      "text_stated_near, text_stated_regex, text_unnegated, to"]),
    ("rules:\n  - name: a\n    when: {subject: x}\n    then: {assign: sanne}\n"
     "  - name: a\n    when: {subject: y}\n    then: {assign: sanne}\n",
     ["12:11: rule 'a': duplicate rule name (also on line 9)"]),
    ("rules:\n  - name: all\n    then: {assign: sanne}\n  - name: later\n"
     "    when: {subject: y}\n    then: {assign: ruud}\n",
     ["11:5: rule 'later' can never match: rule 'all' on line 9 matches every message before it"]),
    ("rules:\n  - name: a\n    when: {subject: x}\n    then: {kind: complaintt, priority: hot}\n",
     ["11:18: rule 'a': unknown kind 'complaintt'; kinds are advertising, appointment, cancellation, "
      "complaint, invoice, question, request, technical",
      "11:40: rule 'a': priority must be one of low, normal, high, urgent"]),
    ("rules:\n  - name: a\n    when: {subject: x}\n    then: {assign: webmaster}\n",
     ["11:20: rule 'a': assign role 'webmaster' has no person (give it a default or members)"]),
    ("rules:\n  - name: a\n    when: {language: fr, channel: fax}\n    then: {assign: sanne}\n",
     ["10:22: rule 'a': language must be one of nl, en, pl, de",
      "10:35: rule 'a': channel must be one of mail, slack"]),
    ("rules:\n  - name: a\n    when: {subject: x}\n    then: {assign: sanne}\n    contineu: true\n",
     ["12:5: unknown key 'contineu' in rule 'a'; expected one of continue, description, name, then, when"]),
])
def test_every_validation_problem_is_reported_with_its_place(tmp_path, rules, expected):
    assert problems(tmp_path, BASE + rules) == expected


def test_people_and_roles_problems(tmp_path):
    text = """\
    people:
      sanne: {email: not-an-address, roles: [sales_support, boss]}
      wim: {email: wim@desk.example, access: slack}
      rsm: {email: x@desk.example}
    roles:
      sales_support: nobody
      treasurer: sanne
    defaults:
      owner: cashier
    """
    assert problems(tmp_path, text) == [
        "2:18: person 'sanne': needs a valid email",
        "2:57: person 'sanne': unknown role 'boss'; roles are receivables, advisor, webmaster, "
        "rsm, sales_support, sales_manager",
        "3:42: person 'wim': access slack needs a slack user id",
        "4:3: person 'rsm': that name is a role",
        "6:18: role 'sales_support': unknown person 'nobody'",
        "7:3: unknown role 'treasurer'; roles are receivables, advisor, webmaster, rsm, "
        "sales_support, sales_manager",
        "9:10: defaults: owner 'cashier' is neither a person nor a role",
    ]


def test_yaml_syntax_error_has_its_place(tmp_path):
    assert problems(tmp_path, "people:\n  sanne: {email: a@b.c\nrules: [\n") == [
        "3:6: YAML: expected ',' or '}', but got ':'"]


def test_missing_file(tmp_path):
    with pytest.raises(RulesError, match=r"nowhere.yaml: no such file \(the rules file is set by TICKETBOT_RULES\)"):
        load_rules(tmp_path / "nowhere.yaml")


def test_only_a_regular_file_of_at_most_a_megabyte_is_read(tmp_path):
    """Issue 10.13: a rules path pointing at a folder, a device or a huge file is refused
    before it is read."""
    with pytest.raises(RulesError, match="not a regular file"):
        load_rules(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text(BASE + "# " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(RulesError, match=r"big.yaml: 1,0\d\d,\d\d\d bytes: a rules file may be at most 1,048,576"):
        load_rules(big)
    link = tmp_path / "link.yaml"
    link.symlink_to("/dev/null")
    with pytest.raises(RulesError, match="not a regular file"):
        load_rules(link)


def test_lines_of_another_file_are_not_repeated_into_the_log(tmp_path):
    """Issue 10.13: pointed at a password-hash file by mistake, the validator says where
    the unknown keys are, never what they hold."""
    shadow = tmp_path / "shadow"
    shadow.write_text("root:$6$Xq2kz$S3cr3tHashValue0123456789:19700:0:99999:7:::\n"
                      "daemon:*:19700:0:99999:7:::\n")
    with pytest.raises(RulesError) as err:
        load_rules(shadow)
    text = str(err.value)
    assert "S3cr3tHash" not in text and "19700" not in text and "daemon:*" not in text
    assert "unknown key (not shown)" in text


def test_duplicate_yaml_key_is_a_problem(tmp_path):
    text = BASE + "rules:\n  - name: a\n    name: b\n    then: {assign: sanne}\n"
    assert problems(tmp_path, text) == ["10:5: duplicate key 'name'"]


# --------------------------------------------------------------------------- routing
RULES = BASE + """\
defaults: {owner: sales_support}
rules:
  - name: urgent
    when: {subject: [spoed, urgent]}
    then: {priority: urgent}
    continue: true
  - name: complaint
    when: {text: [klacht, complaint]}
    then: {kind: complaint, watchers: [sales_support]}
    continue: true
  - name: invoice
    when:
      any:
        - text: [factuur, invoice]
        - subject_regex: '\\bINV-\\d+'
    then: {kind: invoice, assign: receivables}
  - name: commercial
    when: {text: [afspraak, advertentie]}
    then: {kind: appointment, assign: advisor}
  - name: newsletter
    when: {all: [{from_domain: news.example}, {not: {has_attachment: true}}]}
    then: {ignore: true}
  - name: polish-unknown
    when: {language: pl, customer: unknown}
    then: {assign: rob}
"""


@pytest.fixture
def rs(tmp_path):
    return load_rules(write(tmp_path, RULES))


@pytest.mark.parametrize("facts, kind, owner, role, rule, extra", [
    (Facts(subject="Factuur 12"), "invoice", "ruud", "receivables", "invoice", {}),
    (Facts(subject="Ref INV-2041"), "invoice", "ruud", "receivables", "invoice", {}),
    (Facts(subject="Spoed: klacht over factuur"), "complaint", "ruud", "receivables", "invoice",
     {"priority": "urgent", "urgent": True, "watchers": ["sanne"]}),
    (Facts(subject="Afspraak", customer="known", company="Acme", advisor="marta"),
     "appointment", "marta", "advisor", "commercial", {}),
    (Facts(subject="Afspraak", customer="known", company="Acme", advisor=None),
     "appointment", "rob", "rsm", "commercial", {}),
    (Facts(subject="Afspraak", customer="unknown"), "appointment", "rob", "rsm", "commercial", {}),
    (Facts(subject="Nieuwsbrief", from_addr="x@mail.news.example"), "question", "sanne",
     "sales_support", "newsletter", {"ignore": True}),
    (Facts(subject="Pytanie", language="pl"), "question", "rob", None, "polish-unknown", {}),
    (Facts(subject="Hello"), "question", "sanne", "sales_support", None, {}),
])
def test_routes(rs, facts, kind, owner, role, rule, extra):
    d = route(rs, facts)
    assert (d.kind, d.owner, d.owner_role, d.rule) == (kind, owner, role, rule)
    for k, v in extra.items():
        assert getattr(d, k) == v, k


def test_keywords_match_word_starts_ignoring_case_and_accents(tmp_path):
    rs = load_rules(write(tmp_path, BASE + """\
rules:
  - name: cancel
    when: {text: [beeindig, cancel]}
    then: {kind: cancellation, assign: sanne}
"""))
    assert route(rs, Facts(body="Wij willen het contract BEËINDIGEN.")).rule == "cancel"
    assert route(rs, Facts(subject="Cancellation of contract")).rule == "cancel"
    assert route(rs, Facts(subject="Precancelled order")).rule is None  # not a word start


def test_explanation_lists_every_rule_tried(rs):
    d = route(rs, Facts(subject="Afspraak maken", customer="known", company="Acme", advisor="marta"))
    tried = [(t.rule, t.matched) for t in d.trace]
    assert tried == [("urgent", False), ("complaint", False), ("invoice", False), ("commercial", True)]
    assert d.trace[3].conditions[0].detail == "found 'afspraak'"
    assert d.owner_reason == "the advisor of Acme"


def test_holder_reloads_valid_edits_and_keeps_the_last_good_rules(tmp_path):
    path = write(tmp_path, RULES)
    holder = RulesHolder(path)
    assert holder.check() is False  # unchanged
    first = holder.current
    path.write_text(path.read_text() + "  - name: catch\n    then: {assign: ruud}\n")
    assert holder.check() is True
    assert holder.current.rules[-1].name == "catch"
    path.write_text(path.read_text().replace("assign: ruud", "assign: ghost"))
    assert holder.check() is False
    assert holder.rejected == 1 and holder.current.rules[-1].name == "catch"
    assert holder.current is not first


ODD = [
    "rules:\n  - name: a\n    then: {assign: [rsm]}\n",
    "rules:\n  - name: a\n    then: {kind: [invoice], assign: sanne}\n",
    "rules:\n  - name: a\n    then: {assign: sanne, watchers: [[x]]}\n",
    "rules:\n  - name: a\n    then: {assign: sanne, watchers: [{a: 1}]}\n",
    "rules:\n  - name: a\n    then: {assign: sanne, watchers: 5}\n",
    "roles:\n  rsm: {default: [a]}\n",
    "roles:\n  rsm: {manager: [a]}\n",
    "roles:\n  rsm: {members: zz}\n",
    "roles:\n  rsm: {members: 5}\n",
    "roles:\n  rsm: {members: {a: 1}}\n",
    "kinds:\n  dispute: {fields: 5}\n",
    "kinds:\n  dispute: {workflow: [x]}\n",
    "kinds:\n  dispute: {sla: [abc]}\n",
    "kinds:\n  dispute: {sla: 5}\n",
    "? [a]\n: 1\n",
    "rules: !!omap\n  - a: 1\n",
    "rules:\n  - name: [a]\n    then: {assign: sanne}\n",
    "rules:\n  - name: a\n    when: {text: ['']}\n    then: {assign: sanne}\n",
    "rules:\n  - name: a\n    when: []\n    then: {assign: sanne}\n",
    "rules:\n  - name: a\n    when: {not: [{subject: x}]}\n    then: {assign: sanne}\n",
    "rules:\n  - name: a\n    when: {any: {subject: x}}\n    then: {assign: sanne}\n",
    "rules:\n  - name: a\n    then: null\n",
    "rules: {}\n",
    "rules:\n  - 5\n",
    "version: 99\n",
    "defaults: {owner: [sanne]}\n",
    "defaults: {ack: no-such-template}\n",
    "rules:\n  - name: a\n    then: {assign: sanne, ack: ack-cancelation}\n",
]


@pytest.mark.parametrize("extra", ODD)
def test_odd_shapes_are_problems_never_crashes(tmp_path, extra):
    if extra.startswith("roles:"):  # one roles section: the base's role, then the odd one
        text = BASE + extra.removeprefix("roles:\n")
    else:
        text = BASE + extra
    problems_found = problems(tmp_path, text)
    assert problems_found, extra
    assert all(":" in p and "cannot check" not in p for p in problems_found), problems_found


def test_advisor_needs_someone_in_the_rsm_role(tmp_path):
    text = ("people:\n  sanne: {email: sanne@desk.example, roles: [sales_support]}\n"
            "rules:\n  - name: commercial\n    when: {subject: afspraak}\n"
            "    then: {assign: advisor}\n")
    assert problems(tmp_path, text) == [
        "4:5: assign: advisor falls back to the regional sales manager, but role 'rsm' has no person"]


def test_a_bad_live_edit_of_any_shape_keeps_the_last_good_rules(tmp_path):
    path = write(tmp_path, RULES)
    holder = RulesHolder(path)
    for bad in ODD[:6]:
        path.write_text(RULES + bad.replace("rules:\n", ""))
        holder.reload()
    assert holder.rejected == 6 and holder.current.rules[0].name == "urgent"


def test_limits_are_whole_numbers_of_at_least_one(tmp_path):
    found = problems(tmp_path, BASE + "limits:\n  new_tickets_per_sender_per_hour: 0\n  burst: 3\n")
    assert any("limits: new_tickets_per_sender_per_hour must be a whole number of at least 1" in p
               for p in found)
    assert any("unknown key 'burst' in limits" in p for p in found)
    assert load_rules(write(tmp_path, BASE + "limits:\n  new_tickets_per_sender_per_hour: 7\n")
                      ).limits == {"new_tickets_per_sender_per_hour": 7,  # the others: defaults
                                   "new_tickets_per_domain_per_hour": 60, "notices_per_person_per_hour": 30}
    found = problems(tmp_path, BASE + "limits:\n  notices_per_person_per_hour: -2\n")
    assert any("limits: notices_per_person_per_hour must be a whole number of at least 1" in p
               for p in found)


# --------------------------------------------------------------------------- issue 16
SHIPPED = load_rules(REPO / "rules.yaml")


def decide(subject: str, body: str, **kw):
    return route(SHIPPED, Facts(from_addr="jan@x.nl", subject=subject, body=body,
                                customer="known", company="X", advisor="marta", **kw))


@pytest.mark.parametrize("subject, body, why", [
    ("Geen opzegging", "Wij zeggen NIET op, integendeel.", "negated ('geen')"),
    ("Umowa", "NIE rezygnujemy z umowy.", "negated ('nie')"),
    ("Vertrag", "Wir kündigen nicht den Vertrag, nur die Zahlungsweise ändert sich.", "negated ('nicht')"),
    ("Nota", "Als de factuur niet gecorrigeerd wordt, zeggen we het contract op.", "conditional ('als')"),
    ("Faktura", "Jeśli faktura nie zostanie skorygowana, wypowiemy umowę.", "conditional ('jesli')"),
    ("Rechnung", "Sollte die Rechnung nicht korrigiert werden, kündigen wir den Vertrag.",
     "conditional ('sollte')"),
    ("Vraag", "Hoe snel kan ik opzeggen als we stoppen?", "a question"),
    ("Gerücht", "Es gibt das Gerücht, wir würden kündigen.", "hypothetical ('gerucht')"),
])
def test_a_negated_conditional_or_asked_cancellation_is_none_and_explain_says_why(subject, body, why):
    d = decide(subject, body)
    assert d.kind != "cancellation", d.matched
    trace = next(t for t in d.trace if t.rule == "written-cancellation")
    assert not trace.matched and why in trace.conditions[0].detail, trace.conditions[0].detail


@pytest.mark.parametrize("subject, body", [
    ("Vertragskündigung", "Hiermit sprechen wir die Vertragskündigung zum nächstmöglichen Termin aus."),
    ("Brief", "Hierbij bevestigen wij de contractopzegging van overeenkomst K-1."),
    ("Kündigung", "Kündige hiermit."),
    ("Not renewing", "We won't be renewing. Please take this as our written notice."),
    ("umowa", "Rezygnujemy. Proszę zakończyć umowę z końcem okresu."),
])
def test_compounds_and_plain_forms_are_cancellations(subject, body):
    assert decide(subject, body).kind == "cancellation"


def test_a_reply_never_cancels_by_its_subject_alone():
    thanks = "Dank voor de bevestiging, helder zo."
    assert decide("Opzegging ontvangen", thanks).kind == "cancellation"  # a new mail: its subject counts
    d = decide("Re: Opzegging ontvangen", thanks, reply=True)
    assert (d.kind, d.owner) == ("remark", "sanne")
    trace = next(t for t in d.trace if t.rule == "written-cancellation")
    assert "a reply to an earlier mail" in trace.conditions[0].detail


def test_an_auto_reply_is_never_urgent_nor_for_a_specialist():
    d = decide("Out of Office: RE: Invoice 12", "For anything urgent call the office.",
               automatic="auto-submitted: auto-replied")
    assert (d.kind, d.owner, d.urgent, d.ack) == ("remark", "sanne", False, False)
    d = decide("Automatische Antwort", "Rechnungen leiten wir weiter. Dringend: 0800")
    assert (d.kind, d.owner, d.urgent) == ("remark", "sanne", False)


def test_a_dissatisfied_cancellation_keeps_its_kind_and_is_marked_a_complaint():
    d = decide("Es reicht - Kündigung", "Es reicht mir. Hiermit kündige ich unseren Vertrag.")
    assert (d.kind, d.category, d.owner) == ("cancellation", "complaint", "marta")


def test_scopes_are_checked(tmp_path):
    assert problems(tmp_path, BASE + "scopes:\n  negation: {nl: [niet, '']}\n  before: 99\n"
                    "  typo: 1\n") == [
        "9:18: scopes: negation: nl has an empty word (it would match everything)",
        "10:11: scopes: before must be a number of words from 0 to 10",
        "11:3: unknown key 'typo' in scopes; expected one of after, before, condition, "
        "context, hypothetical, negation"]


# --------------------------------------------------------------------------- issue 13: words in context
def _trace(d, rule):
    return next(t for t in d.trace if t.rule == rule)


@pytest.mark.parametrize("subject, body", [
    ("This week only: Active Noise Cancellation headphones -40%",
     "Our headphones with Active Noise Cancellation are 40% off. Cancel out the noise."),
    ("Nieuw: headsets", "Draadloze headsets met actieve noise-cancellation, ideaal voor kantoor."),
    ("Kopfhörer", "Bluetooth-Kopfhörer mit Active Noise Cancellation zum Aktionspreis."),
    ("Booking", "Free cancellation up to 24 hours before arrival."),
])
def test_a_cancel_word_in_another_context_is_no_cancellation_and_explain_says_why(subject, body):
    d = decide(subject, body)
    assert d.kind != "cancellation", d.matched
    detail = _trace(d, "written-cancellation").conditions[0].detail
    assert "left out, in context" in detail, detail


def test_our_contract_cancelled_next_to_a_context_phrase_still_counts():
    d = decide("Opzegging", "Leuk, die noise cancelling koptelefoon. Maar hierbij zeggen wij ons contract op.")
    assert d.kind == "cancellation"


@pytest.mark.parametrize("subject, body, word", [
    ("Volgend jaar", "Geen klachten hoor, de vermelding loopt prima.", "geen"),
    ("Next year", "No complaints at all from our side, the listing works.", "no"),
    ("Rückmeldung", "Keine Beschwerden von unserer Seite, danke!", "keine"),
    ("Podsumowanie", "Nie mamy żadnych skarg, wszystko działa.", "zadnych"),
    ("Feedback", "This is not a complaint, just a note that the guide arrived.", "not"),
])
def test_a_negated_complaint_word_is_no_complaint_and_explain_says_why(subject, body, word):
    d = decide(subject, body)
    assert d.kind != "complaint" and d.category != "complaint", d.matched
    detail = _trace(d, "dissatisfied").conditions[0].detail
    assert f"negated ({word!r})" in detail, detail


@pytest.mark.parametrize("subject, body", [
    ("Phone call", "That is not how I expect to be treated by a supplier."),   # negation not on the word
    ("Terugbellen", "Waarom heeft niemand heeft teruggebeld? Ik ben ontevreden."),
    ("Advert", "What are you going to do about it?"),                         # a complaint may ask
    ("Fout", "Ik wil niet zeuren, maar ik ben echt ontevreden over de gids."),  # negation elsewhere
])
def test_a_complaint_stays_a_complaint(subject, body):
    assert decide(subject, body).kind == "complaint"


# --------------------------------------------------------------------------- issue 16, held-out round
def test_a_negation_after_the_whole_word_counts():
    """"kündigen wir nicht": the keyword "kündige" is a word start; the words after it
    count from the end of "kündigen"."""
    d = decide("Vertrag", "Den zweiten Vertrag kündigen wir nicht, der läuft weiter.")
    assert d.kind != "cancellation"
    assert "negated ('nicht')" in _trace(d, "written-cancellation").conditions[0].detail


@pytest.mark.parametrize("body", [
    "Please take this as our notice: we do not wish to renew the contract.",
    "I want out. Please end my contract at the end of the term.",
])
def test_more_english_cancellations(body):
    assert decide("Contract", body).kind == "cancellation"


def test_thanks_and_then_a_question_is_more_than_thanks():
    thanks = decide("Re: renewal", "Thanks for the reminder. Could Pieter send us the new rates?", reply=True)
    assert thanks.kind != "remark"
    assert decide("Re: fixed", "Got it, no problem at all. Thanks for the quick turnaround.",
                  reply=True).kind == "remark"


def test_a_change_for_the_customers_own_website_is_the_webmasters():
    d = decide("Nowy cennik", "W załączniku nowy cennik pokoi. Proszę o zamieszczenie go na naszej stronie.")
    assert (d.kind, d.owner) == ("technical", "wim")


def test_a_job_application_is_a_remark():
    d = decide("Job application", "I would like to apply for the sales advisor vacancy on your website.")
    assert (d.kind, d.owner) == ("remark", "sanne")


def test_a_complaint_with_no_more_specific_subject_is_the_advisors():
    d = decide("Phone call", "Your salesman was rude to our receptionist. Not acceptable.")
    assert (d.kind, d.owner) == ("complaint", "marta")


@pytest.mark.parametrize("subject, body, kind", [
    ("Vraag", "Zie de bijlage, deel 404 van de lijst.", "question"),        # a number is no "404"
    ("Question", "Thanks for the help. See you soon!", "question"),          # a closing is no appointment
    ("Visit", "Just confirming we'll see you Wednesday at 2pm.", "appointment"),
    ("Remittance", "For your records: we paid invoice 12 today.", "invoice"),
    ("Site", "The shop page gives a 404 since this morning.", "technical"),
])
def test_new_words_keep_to_their_meaning(subject, body, kind):
    assert decide(subject, body).kind == kind


# --------------------------------------------------------------------------- issue 16: generalising
@pytest.mark.parametrize("subject, body", [
    ("E-1", "We are terminating agreement E-1 with effect from its expiry."),
    ("E-1", "Please note the agreement is not to be renewed after October."),
    ("stoppen", "ik wil graag mijn abbonement stopzetten per eind deze maand."),
    ("K-1", "Wij hebben besloten de samenwerking na afloop niet voort te zetten."),
    ("Vertrag", "Wir werden die Zusammenarbeit zum Jahresende beenden."),
    ("umowa", "Postanowiliśmy nie kontynuować współpracy po zakończeniu umowy."),
    ("listing", "We've decided to let the listing go when this year is up."),
    ("next year", "We've decided not to continue with the directory next year."),
    ("Vertrag", "Wir möchten unseren Vertrag zum 31.12. auflösen."),  # a date's dots end no sentence
    ("contract", "We won't continue the contract after March."),
    ("umowa", "Nie będziemy przedłużać umowy na kolejny rok."),
])
def test_a_cancelling_verb_and_the_contract_in_one_sentence_cancel(subject, body):
    d = decide(subject, body)
    assert d.kind == "cancellation", d.matched


@pytest.mark.parametrize("subject, body", [
    ("Vraag", "Kunnen we het abonnement stopzetten als de zaak dichtgaat?"),  # asked
    ("Contract", "We will not terminate the agreement, we are happy."),  # negated
    ("Contract", "We stopped the van at the door. Our contract is fine."),  # two sentences
    ("Drukwerk", "Wij zetten de samenwerking met de drukker voort en breiden uit."),
])
def test_verb_and_object_apart_negated_or_asked_are_no_cancellation(subject, body):
    assert decide(subject, body).kind != "cancellation"


def test_a_cancellation_only_in_the_attached_letter_counts_and_explain_shows_it():
    letter = "[Schreiben.pdf]\nhiermit kuendigen wir den oben genannten Vertrag fristgerecht."
    d = decide("Schreiben", "Sehr geehrte Damen und Herren, anbei unser Schreiben.",
               attachment_text=letter)
    assert (d.kind, d.owner) == ("cancellation", "marta")
    detail = _trace(d, "written-cancellation").conditions[0].detail  # what --explain shows
    assert "kuendig" in detail, detail
    # the letter's words are its own part: the body alone does not cancel
    assert decide("Schreiben", "Sehr geehrte Damen und Herren, anbei unser Schreiben.").kind != "cancellation"
    # a letter that cancels nothing
    assert decide("Brief", "Zie bijlage.", attachment_text="[brief.pdf]\nNieuwe openingstijden.").kind \
        != "cancellation"


@pytest.mark.parametrize("subject, body", [
    ("Re: Your invoice 12", "Thank you for your email.\n\nOur office is closed from 24 December until "
     "2 January and emails are not monitored. For urgent matters call 0800 123."),
    ("Faktura 1", "Dzień dobry,\njestem na zwolnieniu lekarskim do 20 marca i nie mam dostępu do poczty. "
     "W pilnych sprawach proszę dzwonić do biura."),
    ("Re: factuur", "Ik ben tot en met 3 augustus afwezig. Voor dringende zaken: bel 020 555 0101."),
    ("Rechnung", "Ich bin bis 12.08. nicht im Büro und habe keinen Zugriff auf meine E-Mails. "
     "In dringenden Fällen wenden Sie sich an das Sekretariat."),
])
def test_an_auto_reply_known_only_by_its_text_is_never_urgent_nor_for_a_specialist(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.owner, d.urgent) == ("remark", "sanne", False), d.matched


def test_a_customer_who_says_they_are_away_and_asks_is_no_auto_reply():
    d = decide("Afspraak", "Ik ben volgende week afwezig. Kunnen we de afspraak verzetten?")
    assert d.kind == "appointment"
    d = decide("Listing", "I am away next week, so please call my colleague about the new listing.")
    assert d.kind != "remark"


@pytest.mark.parametrize("body", [
    "Vielen Dank für Ihre Nachricht. Ich bin bis zum 5. Januar im Urlaub. In dringenden Fällen: 0800.",
    "Thank you for your message. I am currently away and will respond when I return on 5 January.",
    "Dank u voor uw bericht. Ik ben op dit moment niet aanwezig en lees mijn mail na 5 januari.",
    "Dziękuję za wiadomość. Jestem poza biurem do 5 stycznia.",
])
def test_absence_notices_in_four_languages(body):
    d = decide("Re: Rechnung / invoice", body)
    assert (d.kind, d.owner, d.urgent) == ("remark", "sanne", False), d.matched


@pytest.mark.parametrize("subject, body", [
    ("advert", "Honestly, this is the worst service we've had from any supplier."),
    ("gids", "Wat een puinhoop met de nieuwe gids."),
    ("Eintrag", "Wir sind stinksauer über den Fehler im Eintrag."),
    ("wpis", "Jesteśmy zawiedzeni współpracą."),
    ("Umowa", "Dość tego. Płacimy co miesiąc za nic."),
    ("Listing", "Three months of the wrong address. Enough."),
])
def test_anger_in_other_words_is_a_complaint(subject, body):
    assert decide(subject, body).kind == "complaint"


@pytest.mark.parametrize("subject, body, kind, owner", [
    # "nota bene" is no bill; a complaint about an advert stays the advisor's
    ("foto", "Het is nota bene het pand van een collega. Ik baal hier behoorlijk van.", "complaint", "marta"),
    # applications the customer receives are no job application
    ("Vacaturepagina", "Nog steeds de oude vacature, we krijgen sollicitaties van monteurs die we niet "
     "zoeken. Slordig.", "complaint", "wim"),
    # copies received with something wrong in them: a complaint, not a request for copies
    ("Wydanie", "Otrzymaliśmy egzemplarze przewodnika i jestem rozczarowana zdjęciem.", "complaint", "marta"),
    # anger without a listed complaint word; the topic word does not decide the kind
    ("listing", "Not being funny but what exactly are we paying for? We're under the wrong heading.",
     "complaint", "marta"),
    ("Gastroführer", "Ich bin ehrlich gesagt ziemlich sauer über den falschen Ruhetag.", "complaint", "marta"),
    ("statement", "Your statement still has the banner on it. Please refund the £105.", "invoice", "ruud"),
    ("znowu", "Znowu ściągnęliście nam z konta dwa razy za ten sam miesiąc.", "invoice", "ruud"),
])
def test_strong_signals_outrank_topic_words(subject, body, kind, owner):
    d = decide(subject, body)
    assert (d.kind, d.owner) == (kind, owner), d.matched


def test_near_needs_two_word_groups(tmp_path):
    assert problems(tmp_path, BASE + "rules:\n  - name: a\n    when: {body_near: {verb: [x]}}\n"
                    "    then: {assign: sanne}\n") == [
        "10:23: rule 'a': body_near needs two or more word groups (e.g. verb: [...], object: [...])"]


@pytest.mark.parametrize("subject, body", [
    ("Banner", "We stopped the banner in March but the contract continues."),
    ("Vraag", "Volgens het contract is de opzegtermijn drie maanden."),
    ("Frist", "Die Kündigungsfrist unseres Vertrags ist uns bekannt."),
    ("Umowa", "Umowa kończy się w marcu, prosimy o ofertę na przedłużenie."),
    ("Banner", "We no longer need the banner on our listing."),
    ("Angebot", "Wir möchten nicht kündigen, sondern den Vertrag erweitern."),
    ("Pakket", "We zeggen het contract niet op, maar willen een kleiner pakket."),
])
def test_contract_words_near_terms_or_other_products_are_no_cancellation(subject, body):
    """The near-condition's verbs are forms that end something, not the contract's terms
    ("opzegtermijn", "Kündigungsfrist") nor stopping one product."""
    assert decide(subject, body).kind != "cancellation"


def test_disagreeing_with_an_invoice_is_a_complaint_for_receivables():
    d = decide("Factuur 12", "Ik ben het niet eens met de factuur, dit klopt niet.")
    assert (d.kind, d.owner) == ("complaint", "ruud")


# --------------------------------------------------------------------------- session routing5
# Classes of failure seen in held-out batch 5, each with new short examples (not the set's).
@pytest.mark.parametrize("subject, body", [
    # dissatisfaction about an invoice: kind complaint, owner receivables
    ("Factuur 88", "Op de factuur staat een post die nooit is afgesproken. Waar slaat dat op? "
                   "Wij houden het bedrag aan tot we uitleg hebben."),
    ("Invoice 4411", "Your invoice charges the large banner, which is not what we agreed. "
                     "We are withholding payment until a corrected invoice arrives."),
    ("Faktura 7/2026", "Po raz kolejny dostaliśmy fakturę za inny pakiet. Wstrzymujemy płatność do korekty."),
    ("Rechnung 55", "Der Betrag auf der Rechnung ist so nicht vereinbart. Bitte senden Sie eine Gutschrift."),
])
def test_a_complaint_about_an_invoice_is_a_complaint_for_receivables(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.category, d.owner) == ("complaint", "complaint", "ruud"), d.matched


@pytest.mark.parametrize("subject, body", [
    # repeated failure, a visit nobody came to, sarcasm with escalation, a person's conduct,
    # while a topic word (listing, advert, appointment) also matches
    ("Our listing", "Sending this again: the listing still has last year's photo and nobody has answered."),
    ("Advert results", "Two enquiries in a year from the half-page advert. Shall I take this up with "
                       "someone above you?"),
    ("Phone call", "Your salesman was rude to our receptionist and left her quite shaken."),
    ("Afspraak gisteren", "Om 10 uur zou de adviseur langskomen. Niemand gekomen, een uur gewacht."),
    ("Ogłoszenie", "Po raz kolejny nasze ogłoszenie stoi w złej kategorii."),
    ("Eintrag", "Unser Eintrag steht in der falschen Rubrik und ist unter unserer Branche nicht zu finden. "
                "Wie wollen Sie das wiedergutmachen?"),
])
def test_a_complaint_voiced_indirectly_beside_a_topic_word_is_a_complaint(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.category, d.owner) == ("complaint", "complaint", "marta"), d.matched


@pytest.mark.parametrize("subject, body, reply", [
    ("Enough", "We're done with you. Don't renew the listing next year.", False),
    ("Zaak", "We stoppen ermee, de winkel gaat in maart dicht.", False),
    ("Vertrag", "Wir steigen aus und lassen den Vertrag zum Jahresende auslaufen.", False),
    ("Umowa", "Umowa niech wygaśnie z końcem roku.", False),
    # in a reply to our renewal mail, "let it lapse" is the notice
    ("Re: Your listing renews on 1 May", "Thanks for the reminder. We will let it lapse this time.", True),
])
def test_indirect_leave_taking_is_a_written_cancellation(subject, body, reply):
    d = decide(subject, body, reply=reply)
    assert (d.kind, d.owner) == ("cancellation", "marta"), d.matched


def test_let_it_lapse_cancels_only_in_a_reply_about_the_contract():
    assert decide("Password link", "The reset link: just let it expire, I will ask again.").kind != "cancellation"
    assert decide("Re: password link", "Let it expire, thanks.", reply=True).kind != "cancellation"


@pytest.mark.parametrize("subject, body, kind", [
    ("Termin", "Sollte der Preis steigen, müssten wir über eine Kündigung nachdenken, entschieden ist "
               "aber nichts. Passt Ihnen Dienstag, der 3. März, um 10 Uhr?", "appointment"),
    ("Verlenging", "Als de prijs omhoog gaat, zeggen we misschien op, maar er is nog niets besloten. "
                   "Kunnen we een afspraak maken?", "appointment"),
    ("Spotkanie", "Jeśli cena wzrośnie, być może wypowiemy umowę, ale nic nie zostało postanowione. "
                  "Proszę o spotkanie.", "appointment"),
    # a contract-terms question that mentions a meeting in passing
    ("Renewal", "Before our board meeting: does the contract renew by itself, and if we stopped, how much "
                "notice would we give? Nothing has been decided.", "question"),
])
def test_an_undecided_conditional_notice_in_another_request_is_neither_complaint_nor_cancellation(
        subject, body, kind):
    d = decide(subject, body)
    assert (d.kind, d.category, d.owner) == (kind, None, "marta"), d.matched


def test_a_conditional_threat_still_complains():
    d = decide("Nota", "Als de factuur niet gecorrigeerd wordt, zeggen we het contract op.")
    assert (d.kind, d.owner) == ("complaint", "ruud")


@pytest.mark.parametrize("subject, body", [
    ("Odp: Faktura 12", "Dziękujemy za wiadomość. Biuro firmy Stolbud jest nieczynne do 2 stycznia. "
                        "W sprawach pilnych (reklamacje) prosimy dzwonić 600 000 000."),
    ("Re: Rechnung 9", "Unser Büro in Kassel ist vom 24.12. bis 2.1. geschlossen. Bei dringenden Fragen "
                       "zur Reklamation: 0170 000."),
    ("Re: factuur 3", "Ons kantoor in Delft is gesloten van 24 december tot 2 januari. Bij spoed: 06 000."),
    ("Re: invoice 3", "Our office in Leeds is closed from 24 December. For anything urgent call 0113 000."),
])
def test_an_absence_notice_naming_the_office_is_never_urgent_nor_a_complaint(subject, body):
    d = decide(subject, body, reply=True)
    assert (d.kind, d.category, d.owner, d.urgent) == ("remark", None, "sanne", False), d.matched


@pytest.mark.parametrize("body", ["For anything urgent call me on 0612 000. Could you send the media pack?",
                                  "Bij spoed kunt u mij bellen. Kunt u de tarieven sturen?",
                                  "Bei dringenden Fragen erreichen Sie mich mobil. Bitte senden Sie die Preise.",
                                  "W sprawach pilnych proszę dzwonić. Proszę o cennik."])
def test_a_pointer_for_urgent_matters_is_no_urgency(body):
    assert not decide("Prices", body).urgent
    assert decide("Prices", "Dringend: " + body).urgent  # said outright, it still is


@pytest.mark.parametrize("subject, body, kind", [
    ("Prices", "Please replace the price list on our web page with the attached one.", "technical"),
    ("Map", "The pin on the map still points at our old address, please move it.", "technical"),
    ("Map again", "Sending this again: your map pin puts us in the wrong street and nobody has answered.",
     "complaint"),
    ("Kaart", "Op de kaart bij onze vermelding staan we in de verkeerde straat.", "technical"),
    ("Karte", "Auf der Karte in unserem Eintrag stehen wir am falschen Ort.", "technical"),
    ("Mapa", "Na mapie przy naszym wpisie jesteśmy w złym miejscu.", "technical"),
])
def test_a_web_page_and_a_listing_map_are_the_webmasters(subject, body, kind):
    d = decide(subject, body)
    assert (d.kind, d.owner) == (kind, "wim"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Danke!", "Die neue Nummer in unserem Eintrag stimmt jetzt, das ging schnell."),
    ("Listing", "Just a quick thank you: the new photo in our listing looks great."),
    ("Advertentie", "Even een bedankje: de nieuwe advertentie staat er mooi in."),
    ("Wpis", "Krótkie podziękowanie: nowy wpis wygląda świetnie."),
])
def test_a_mail_that_only_thanks_is_a_remark(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.owner) == ("remark", "sanne"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Exemplare", "Könnten Sie uns bitte drei Exemplare für unsere Filialen schicken?"),
    ("Belegexemplar", "Wir haben kein Belegexemplar erhalten, bitte senden Sie uns eins."),
    ("Copies", "Could you post us two copies of the guide for reception?"),
    ("Gidsen", "Kunnen jullie ons twee exemplaren voor de wachtkamer sturen?"),
    ("Egzemplarze", "Prosimy o dwa egzemplarze dla recepcji."),
])
def test_a_number_of_free_copies_is_a_request_for_sales_support(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.owner) == ("request", "sanne"), d.matched


# --------------------------------------------------------------------------- session routing6
@pytest.mark.parametrize("subject, body", [
    ("Ihre Anfrage", "Danke für Ihre Mail. Unser Laden ist bis zum 5. Januar im Betriebsurlaub. "
                     "Beschwerden und Kündigungen bearbeiten wir danach. Dringend: 0170 000."),
    ("Uw bericht", "Bedankt voor uw bericht. Onze winkel is gesloten wegens vakantie tot 10 augustus. "
                   "Klachten en opzeggingen behandelen we daarna. Dit is een automatisch gegenereerd bericht."),
    ("Your message", "Thanks for writing. Our shop is closed for the holidays until 4 January; complaints "
                     "and cancellations are handled after that. This is an automated message."),
    ("Twoja wiadomość", "Dziękujemy. Sklep jest zamknięty z powodu urlopu firmowego do 6 stycznia. "
                        "Reklamacje i rezygnacje po tym terminie. To jest automatycznie wygenerowana wiadomość."),
])
def test_a_company_holiday_or_automatic_notice_by_text_is_never_urgent_nor_a_complaint(subject, body):
    d = decide(subject, body, reply=True)
    assert (d.kind, d.category, d.owner, d.urgent) == ("remark", None, "sanne", False), d.matched


# --------------------------------------------------------------------------- session routing7
# Classes of failure left in the whole held-out set after routing6, each with new short
# examples in the four languages (not the set's wording).
@pytest.mark.parametrize("subject, body", [
    ("Advertentie", 'Mijn zwager zegt steeds dat hij "het contract gaat opzeggen", maar dat meent hij niet. '
                    "Kan er een foto bij onze advertentie?"),
    ("Anzeige", "Unser Chef ruft jedes Jahr „Ich kündige den ganzen Vertrag“, das ist ein Scherz. "
                "Können wir ein zweites Foto in den Eintrag nehmen?"),
    ("Ogłoszenie", "Szef mówi, że „wypowiadamy umowę”, ale to żart. Czy można dodać zdjęcie do wpisu?"),
    ("Website", 'Please add this to the Terms page on our website: "Cancellation of an order within 7 days '
                'is free; we terminate the agreement after that." Thanks!'),
])
def test_words_in_quotation_marks_are_somebody_elses_not_a_cancellation(subject, body):
    d = decide(subject, body)
    assert d.kind != "cancellation", d.matched
    details = [x.detail for t in d.trace if t.rule == "written-cancellation" for x in t.conditions]
    assert any("quoted (somebody's words)" in (x or "") for x in details), details


def test_the_same_words_outside_quotation_marks_still_cancel():
    assert decide("Anzeige", "Ich kündige den ganzen Vertrag zum Jahresende.").kind == "cancellation"
    assert decide("Contract", 'We terminate the agreement for our "Premium" listing.').kind == "cancellation"


@pytest.mark.parametrize("subject, body", [
    ("Konto", "Pani Ewa, która prowadziła u nas stronę, złożyła wypowiedzenie. Proszę zablokować jej konto."),
    ("Zugang", "Herr Maier hat seine Kündigung eingereicht. Bitte sperren Sie seinen Zugang zum Portal."),
    ("Login", "Our office manager has handed in her notice; please close her login to the portal."),
    ("Account", "Onze marketingmedewerker heeft ontslag genomen, wilt u zijn account blokkeren?"),
])
def test_an_employee_who_resigned_is_no_cancellation(subject, body):
    assert decide(subject, body).kind != "cancellation"


@pytest.mark.parametrize("subject, body", [
    ("Zusammenarbeit", "Nach reiflicher Überlegung haben wir beschlossen, den Vertrag nach Ablauf der "
                       "Laufzeit nicht fortzusetzen."),
    ("Eintrag", "Wir haben entschieden, unseren Eintrag nicht mehr zu verlängern."),
    ("Vermelding", "Onze vermelding hoeft na de looptijd niet meer door te lopen."),
    ("Contract", "Graag het contract per einde looptijd laten stoppen."),
    ("stoppen", "Een jaar niks opgeleverd. Ik verleng NIET, bevestig dat maar."),
    ("Gids", "Dat contract verlengen we dus niet meer."),
])
def test_more_ways_of_not_continuing_are_a_written_cancellation(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.owner) == ("cancellation", "marta"), d.matched


def test_thinking_it_over_is_still_no_cancellation():
    assert decide("Vertrag", "Wir überlegen, den Vertrag nicht fortzusetzen.").kind != "cancellation"


@pytest.mark.parametrize("subject, body", [
    ("Re: Opzegging ontvangen", "Na het gesprek met de adviseur gaan we toch door. Wilt u onze brief als "
                                "ingetrokken beschouwen?"),
    ("Re: Cancellation received", "After the visit we are staying. Please consider our notice withdrawn."),
    ("AW: Kündigungsbestätigung", "Wir bleiben doch. Bitte betrachten Sie unser Schreiben als zurückgezogen."),
    ("Odp: Wypowiedzenie", "Zostajemy jednak. Prosimy uznać wypowiedzenie za niebyłe."),
])
def test_withdrawing_a_notice_is_a_request_for_the_advisor(subject, body):
    d = decide(subject, body, reply=True)
    assert (d.kind, d.owner) == ("request", "marta"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Faktura", "To już trzecia faktura z błędnym NIP-em, za każdym razem muszę dzwonić."),
    ("Sesja zdjęciowa", "Fotograf był wobec nas opryskliwy. Tak nie powinna wyglądać współpraca."),
    ("Eintrag", "Jetzt reicht's mir: die Nummer ist seit Monaten falsch und wir haben es mehrfach gemeldet."),
    ("Site", "Het huis staat nog op de site. We hebben het in mei en nog een keer in juni doorgegeven."),
    ("Listing", "This is not how a paid listing should look, and we have repeatedly reported the wrong photo."),
])
def test_a_fault_reported_again_or_conduct_is_a_complaint(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.category) == ("complaint", "complaint"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Halve site weg", "Na de verhuizing zijn de pagina's over onze behandelingen verdwenen."),
    ("Pages", "Since Monday our team page shows a white screen with Not Found."),
    ("strona www", "Proszę o podmianę cennika na naszej stronie, stary jest z 2024 roku."),
])
def test_pages_gone_or_a_price_list_on_the_customers_site_are_the_webmasters(subject, body):
    assert decide(subject, body).owner == "wim"


def test_the_price_of_a_map_feature_is_advertising():
    d = decide("Pakiety", "Ile kosztowałby sam internet z wyróżnieniem na mapie?")
    assert (d.kind, d.owner) == ("advertising", "marta"), d.matched


# --------------------------------------------------------------------------- session routing8
# Classes of failure seen in held-out batch 7 (then unseen), each with new short examples.
@pytest.mark.parametrize("subject, body, reply", [
    ("Re: Your contract renews on 1 May", "Thanks for the reminder. We'll let K-10455 run its course and stop there.",
     True),
    ("Renewal", "Please take this mail as us saying no to the renewal.", False),
    ("Contract", "Not one booking in a year. I am cancelling it.", False),
    ("Listing", "We're cancelling E-40012, effective at the end of the term.", False),
])
def test_more_leave_taking_is_a_written_cancellation(subject, body, reply):
    d = decide(subject, body, reply=reply)
    assert (d.kind, d.owner) == ("cancellation", "marta"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Re: Opzegging K-10001", "Vergeet u mijn mail hieronder maar, het contract loopt dus gewoon door."),
    ("Re: Cancellation of our listing", "Please disregard my earlier email: we're staying after all."),
    ("AW: Kündigung D-30001", "Bitte ignorieren Sie meine letzte Mail, der Vertrag läuft einfach weiter."),
    ("Odp: Wypowiedzenie umowy", "Proszę zignorować moją poprzednią wiadomość, umowa trwa dalej."),
])
def test_a_reply_that_takes_a_notice_back_is_a_request_for_the_advisor(subject, body):
    d = decide(subject, body, reply=True)
    assert (d.kind, d.owner) == ("request", "marta"), d.matched


def test_a_new_notice_that_says_the_contract_otherwise_continues_still_cancels():
    d = decide("Opzegging", "Hierbij zeg ik ons contract op, anders loopt het gewoon door.")
    assert d.kind == "cancellation", d.matched


@pytest.mark.parametrize("subject, body", [
    ("Statement", "I rang last week and was told it would be looked at. The fee is still on the statement."),
    ("Site", "Die melding had al weg gemoeten. Dat zou toch niet zo moeilijk moeten zijn."),
    ("Öffnungszeiten", "Die falschen Zeiten haben wir viermal gemeldet. Uns reicht es."),
    ("Godziny", "Trzy razy zgłaszaliśmy błędne godziny otwarcia, obiecano nam poprawkę."),
    ("Results", "Twelve months and not a single job came from the listing."),
])
def test_promises_not_kept_and_counted_reports_are_complaints(subject, body):
    d = decide(subject, body)
    assert d.category == "complaint", d.matched


def test_nothing_changing_to_the_contract_reassures_and_is_no_complaint():
    d = decide("Contactpersoon", "Onze assistente is vertrokken. Aan ons contract verandert niets; "
                                 "wilt u Jan als nieuwe contactpersoon noteren?")
    assert (d.kind, d.category, d.owner) == ("request", None, "sanne"), d.matched


def test_vat_is_a_word_not_the_start_of_vater():
    assert decide("Danke für den Bericht", "Mein Vater hat ihn eingerahmt. Herzlichen Dank!").kind == "remark"
    assert decide("VAT number", "Please put our VAT number on the next one.").owner == "ruud"


def test_cancellation_clauses_in_the_customers_own_terms_are_no_notice():
    terms = Facts(from_addr="jan@x.nl", subject="Regulamin na stronę", customer="known", company="X",
                  advisor="marta", body="Prosimy o podmianę regulaminu na naszej stronie (w załączniku).",
                  attachment_text="[warunki_rezerwacji.pdf]\nPóźniejsza rezygnacja: opłata za pierwszą noc.",
                  attachments=(("warunki_rezerwacji.pdf", "application/pdf"),))
    assert route(SHIPPED, terms).kind != "cancellation"
    letter = Facts(from_addr="jan@x.nl", subject="Umowa", customer="known", company="X", advisor="marta",
                   body="W załączniku pismo.", attachment_text="[pismo.pdf]\nNiniejszym wypowiadamy umowę.",
                   attachments=(("pismo.pdf", "application/pdf"),))
    assert route(SHIPPED, letter).kind == "cancellation"


# --------------------------------------------------------------------------- session routing9
# Classes of failure seen in held-out batch 8 (then unseen), each with new short examples.
@pytest.mark.parametrize("subject, body", [
    ("Re: Your contract renews on 1 June", "Thanks for the reminder. We will not be carrying the listing on "
                                           "past May; word of mouth does the job now."),
    ("Re: Uw contract wordt verlengd", "Dank voor het bericht. Wat ons betreft stopt het contract eind mei, "
                                       "verlengen is niet nodig."),
    ("AW: Ihr Vertrag verlängert sich", "Danke für die Erinnerung. Auf eine weitere Laufzeit verzichten wir."),
    ("Re: Renewal", "Thank you. There is no need to renew, we are retiring in June."),
])
def test_declining_the_next_term_in_a_reply_to_our_renewal_mail_is_a_written_cancellation(subject, body):
    d = decide(subject, body, reply=True)
    assert (d.kind, d.owner) == ("cancellation", "marta"), d.matched


def test_asking_whether_guests_can_cancel_a_booking_is_no_threat():
    d = decide("Advertising", "What would a half page cost? If we take a listing, could guests cancel a "
                              "booking through it?")
    assert (d.kind, d.category) == ("advertising", None), d.matched


@pytest.mark.parametrize("subject, body", [
    ("RE: Payment reminder", "This is the third of these for an invoice we paid early; each time it would be "
                             "looked into."),
    ("Rechnung 12", "Die Position Versand war nie die Rede und wird ohne Ankündigung berechnet."),
    ("Site", "We vroegen twee keer om de auto eraf te halen. Er is niets gebeurd."),
    ("Strona", "Prosiliśmy o zmianę w marcu i nic nie zostało zrobione."),
    ("Website", "We asked in March and April to take the car off. Nothing has happened."),
])
def test_chasing_an_unannounced_charge_or_nothing_happening_is_a_complaint(subject, body):
    assert decide(subject, body).category == "complaint"


def test_another_companys_contract_is_not_ours():
    d = decide("Ogłoszenie", "Umowę z nimi wypowiedzieliśmy w grudniu. U Państwa chcemy pół strony na Wielkanoc.")
    assert d.kind == "advertising", d.matched


@pytest.mark.parametrize("subject, body", [
    ("Re: Kündigung D-30001", "Nach dem Gespräch ziehe ich meine Kündigung zurück. Bitte die Kündigung nicht "
                              "bearbeiten."),
    ("Re: Cancellation", "After the call I withdraw my notice, we stay on the smaller package."),
])
def test_taking_a_notice_back_by_a_separable_verb(subject, body):
    d = decide(subject, body, reply=True)
    assert (d.kind, d.owner) == ("request", "marta"), d.matched


def test_blocking_a_former_employees_panel_login_is_the_webmasters():
    d = decide("Dostęp", "Pan Adam złożył wypowiedzenie. Proszę zablokować jego konto do panelu strony, "
                         "miał prawo do edycji cennika.")
    assert (d.kind, d.owner) == ("technical", "wim"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Logo", "Your guide is not carrying our new logo in the listing."),
    ("Verlenging", "Ons contract loopt eind mei af, graag een offerte voor de verlenging."),
    ("Rechnung", "Auf die Papierrechnung verzichten wir gern, bitte nur noch per PDF."),
])
def test_near_misses_of_declining_the_next_term_are_no_cancellation(subject, body):
    assert decide(subject, body).kind != "cancellation"


# --------------------------------------------------------------------------- session routing10
# Classes of failure seen in held-out batch 9 (then unseen), each with new short examples.
@pytest.mark.parametrize("subject, body", [
    ("Re: Your listing renews on 1 May", "Thanks. Please don't roll it over; this mail is our notice in writing."),
    ("RE: Uw overeenkomst", "Bedankt. De zaak gaat dicht, de overeenkomst hoeft dus niet meer verlengd te worden."),
])
def test_more_ways_of_declining_the_renewal(subject, body):
    d = decide(subject, body, reply=True)
    assert (d.kind, d.owner) == ("cancellation", "marta"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Photo", "We were promised the new photo. Promises are cheap, I suppose. What do you intend to do about it?"),
    ("Wydanie", "Dwie rezerwacje w dwa miesiące. Za co właściwie płacimy?"),
    ("Eintrag", "Der Besuch war zugesagt, es kam niemand. Im Mai das gleiche Spiel."),
    ("Suche", "Die Suche zeigt nur eine weiße Seite. So etwas nennt sich dann Verzeichnis."),
])
def test_disappointment_and_sarcasm_are_complaints(subject, body):
    assert decide(subject, body).category == "complaint"


@pytest.mark.parametrize("subject, body", [
    ("Knop", "Sinds gisteren gebeurt er niets meer als je op onze site op de knop klikt. Kunnen jullie kijken?"),
    ("Button", "Nothing happens when you click the booking button on our site. Could you look?"),
    ("Knopf", "Auf unserer Seite passiert nichts, wenn man auf Senden klickt. Bitte prüfen."),
])
def test_nothing_happening_on_a_click_is_a_fault_not_a_complaint(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.category, d.owner) == ("technical", None, "wim"), d.matched


@pytest.mark.parametrize("body", [
    "Jesteśmy biurem rachunkowym i chcielibyśmy się zareklamować. Ile kosztuje wpis?",
    "Wir möchten es nun bei Ihnen versuchen: was kostet ein Eintrag?",
])
def test_a_prospect_who_wants_to_advertise_is_advertising_whatever_its_trade(body):
    assert decide("Zapytanie", body).kind == "advertising"


# --------------------------------------------------------------------------- session routing11
# Classes of failure seen in held-out batch 10 (then unseen), each with new short examples.
@pytest.mark.parametrize("subject, body", [
    ("Vermelding", "De vermelding hebben we niet meer nodig. Wilt u ervoor zorgen dat het contract eind mei "
                   "niet wordt verlengd?"),
    ("Listing", "We are closing in June. Could you make sure the contract is not renewed?"),
    ("Umowa", "Zamykam gabinet. Prosze nie odnawiac umowy na nastepny rok."),
    ("P-20001", "Umowa P-20001 nie zostanie przedłużona, proszę to potraktować jako pisemne oświadczenie."),
    ("Re: Ihr Vertrag verlängert sich", "Den Vertrag bitte nicht weiterlaufen lassen, Ende Dezember ist Schluss."),
    ("RE: renewal", "We'll be stepping away from the guide once this term is up, so no need to roll it over."),
])
def test_more_ways_of_not_renewing_and_requests_put_as_questions_cancel(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.owner) == ("cancellation", "marta"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Vraag", "Kunt u mij vertellen hoe ik het contract kan opzeggen?"),
    ("Question", "Could you tell me when we would have to cancel the contract?"),
    ("Frage zur Kündigungsfrist", "Bis wann müsste eine Kündigung bei Ihnen sein?"),
    ("Kündigungsfrist", "Wie lang ist die Frist bei unserem Eintrag? Entschieden ist noch nichts."),
])
def test_asking_to_be_told_about_notice_is_still_a_question(subject, body):
    assert decide(subject, body).kind != "cancellation"


def test_a_request_put_as_a_question_is_told_apart_from_a_question():
    assert polite_request("wilt u ervoor zorgen dat het contract niet wordt verlengd")
    assert polite_request("could you stop the listing at the end of the term")
    assert not polite_request("kunt u mij vertellen hoe ik opzeg")
    assert not polite_request("how long is the notice period")


@pytest.mark.parametrize("subject, body", [
    ("Odp: wypowiedzenie umowy", "Zmieniliśmy zdanie. Umowa na stronę ma trwać dalej, proszę potraktować "
                                 "wypowiedzenie jako niebyłe."),
])
def test_a_notice_declared_void_in_a_reply_is_a_request(subject, body):
    d = decide(subject, body, reply=True)
    assert (d.kind, d.owner) == ("request", "marta"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Lastschrift", "Sie ziehen seit Januar mehr ein. Angekündigt wurde das nicht; so etwas erwarte ich vorher."),
    ("Wyszukiwarka", "Zgłaszałem to dwa razy telefonicznie i nadal nas nie ma."),
    ("listing", "Four enquiries in a year. I'm done. End the contract, don't renew it."),
])
def test_unannounced_rises_reports_and_a_curt_im_done_complain(subject, body):
    assert decide(subject, body).category == "complaint"


def test_a_directory_proof_from_an_unknown_company_is_a_remark_not_acknowledged():
    f = Facts(from_addr="service@verzeichnis.example", subject="Korrekturabzug Ihres Eintrags",
              body="Bitte senden Sie das Formular unterschrieben zurück. Reklamationen nach Rechnungsstellung "
                   "können nicht berücksichtigt werden.", customer="unknown")
    d = route(SHIPPED, f)
    assert (d.kind, d.owner, d.ack) == ("remark", "sanne", False), d.matched


# --------------------------------------------------------------------------- session routing12
# Classes of failure seen in held-out batch 12 (then unseen), each with new short examples.
@pytest.mark.parametrize("subject, body", [
    ("Website", "Sinds gisteren staan onze openingstijden fout online. Dit kost ons klanten."),
    ("Site", "The wrong phone number has been up for a week and it is costing us customers."),
    ("Eintrag", "Die falsche Adresse steht immer noch drin, das kostet uns Kunden."),
    ("Wpis", "Kazdy obiecuje, ze poprawi godziny, a wpis dalej zly."),
    ("Vermelding", "Ik heb het adres 2x doorgegeven en het staat er nog steeds verkeerd."),
    ("Wpis", "Wystarczy. Trzeci miesiac ten sam blad."),
    ("Platzierung", "Wofür wir eigentlich die \"Premium-Platzierung\" bezahlen, ist mir ein Rätsel."),
    ("Verlenging", "Hoe kan het dat we een ander bedrag krijgen dan in de offerte stond?"),
    ("Renewal", "Why is there a different price on the renewal than the quote we signed?"),
    ("Feature", "Is it usual to be promised an article and then hear nothing for four months?"),
])
def test_harm_to_trade_broken_promises_and_prices_other_than_quoted_are_complaints(subject, body):
    assert decide(subject, body).category == "complaint"


def test_an_unannounced_rise_with_a_conditional_threat_is_an_invoice_complaint():
    d = decide("Faktura", "Faktura jest wyższa o 40 zł, a nikt nas o tym nie informował. Jeśli tak "
                          "będzie dalej, zrezygnujemy z usług, ale na razie czekam na korektę.")
    assert (d.kind, d.owner, d.category) == ("complaint", "ruud", "complaint"), d.matched


@pytest.mark.parametrize("subject, body", [
    ("Tarieven", "Als de prijs echt zo stijgt, gaan we nadenken over opzeggen. Voordat we iets besluiten "
                 "wil ik graag dat u langskomt."),
    ("Prices", "If the price really goes up like that we may cancel, but before we decide I'd like a meeting."),
])
def test_a_threat_held_back_until_a_talk_is_an_appointment_not_a_complaint(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.category) == ("appointment", None), d.matched


@pytest.mark.parametrize("subject, body, reply", [
    ("Re: your renewal", "Thanks for the reminder. We are retiring, so I'd rather you didn't renew it.", True),
    ("Vertrag", "Wir haben genug: eine Verlängerung kommt für uns nicht in Frage.", False),
    ("Overeenkomst", "Wij laten u weten dat wij de overeenkomst niet willen laten doorlopen.", False),
    ("Umowa", "Przedłużenie nie wchodzi w grę, umowa kończy się w maju.", False),
])
def test_more_ways_of_declining_the_next_term(subject, body, reply):
    d = decide(subject, body, reply=reply)
    assert (d.kind, d.owner) == ("cancellation", "marta"), d.matched


def test_cancelling_another_companys_subscription_is_not_ours():
    d = decide("Advertising", "I've cancelled my subscription with Yellowbook and would like a listing with you.")
    assert d.kind != "cancellation", d.matched


@pytest.mark.parametrize("subject, body", [
    ("Re: visit", "Thursday at 9 at the office works for me."),
    ("AW: Termin", "Der 3. um 10 Uhr passt gut."),
    ("Re: afspraak", "Vrijdag om 14 uur past prima."),
])
def test_a_proposed_time_confirmed_is_an_appointment(subject, body):
    assert decide(subject, body, reply=True).kind == "appointment"


@pytest.mark.parametrize("body", [
    "The approval link in your mail says the link has expired.",
    "Der Link zur Freigabe ist abgelaufen, bitte neu senden.",
])
def test_a_link_of_ours_that_fails_is_technical(body):
    assert decide("Proof", body).kind == "technical"


def test_passing_on_thanks_is_a_remark_and_a_stand_in_is_a_contact_change():
    assert decide("Photos", "The photos came out well, please pass on our thanks to the photographer.").kind == "remark"
    assert decide("Change of contact", "From May please send anything for the firm to Ann Lee.").kind == "request"


@pytest.mark.parametrize("body", [
    "Thank you for contacting Seaview Lodge. We are busy this week and will reply within 72 hours.",
    "Bedankt voor uw bericht. Wij reageren normaal gesproken binnen 2 werkdagen.",
    "Vielen Dank für Ihre Nachricht. Wir melden uns innerhalb von 24 Stunden bei Ihnen.",
    "Dziękujemy za wiadomość. Odpowiemy najpóźniej w ciągu 48 godzin. Odwołanie rezerwacji tylko telefonicznie.",
])
def test_a_mailboxs_own_acknowledgement_is_an_auto_reply_whatever_desk_words_it_has(body):
    d = decide("Re: Your statement", body + " For cancellations of a booking please call us.", reply=True)
    assert (d.kind, d.owner, d.ack) == ("remark", "sanne", False), d.matched


def test_a_person_promising_an_answer_is_not_an_auto_reply():
    d = decide("Contract", "Thank you for your email. We cancel our contract as of May; I will reply "
                           "within 2 days to your other points. Is that OK?")
    assert d.kind == "cancellation", d.matched


# --------------------------------------------------------------------------- session routing16: wrapped lines
@pytest.mark.parametrize("subject, body", [
    ("Double debit", "Two direct debits of £212.40 left our account on the 1st, same reference. If the second\n"
                     "one is not back in our account by Friday we will be terminating the agreement with you,\n"
                     "simple as that."),
    ("Abbuchung", "Sie haben im Oktober beide Verträge doppelt abgebucht, 1.148 € zu viel. Sollte\n"
                  "das Geld nicht bis Monatsende auf unserem Konto sein, kündigen wir beide Verträge."),
    ("Website", "Auf Ihrer Seite stehen die Öffnungszeiten vom letzten Jahr. Wenn das bis Mittwoch nicht "
                "korrigiert ist,\nkündigen wir."),
    ("Factuur", "Op de factuur staat nog steeds het Premium-pakket terwijl we Basis hebben. Als het voor\n"
                "vrijdag niet gecorrigeerd is, zeggen we het contract op."),
])
def test_a_condition_wrapped_over_two_lines_is_still_a_condition(subject, body):
    """A mail program wraps plain text at ~72 characters (and an HTML <br> breaks a
    paragraph): the condition opening the sentence still governs its second line."""
    d = decide(subject, body)
    assert d.kind != "cancellation", d.matched
    assert "conditional" in _trace(d, "written-cancellation").conditions[0].detail


@pytest.mark.parametrize("body", [
    "Hallo,\nals de factuur niet gecorrigeerd wordt, zeggen we het contract op.",
    "Dear team,\nif the debit is not back by Friday we will terminate the agreement.",
])
def test_a_greeting_keeps_its_line_break(body):
    """A short line (a greeting) is not wrapped text: the condition opening the next line
    still opens its sentence."""
    d = decide("Contract", body)
    assert d.kind != "cancellation", d.matched


def test_unwrap_joins_only_soft_breaks_and_keeps_the_length():
    text = ("We are a small firm and the second debit should be back by Friday, otherwise\n"
            "we end it.\nThanks,\nJan\nLong line without a full stop at its end, name follows\nJan Smit")
    out = unwrap(text)
    assert len(out) == len(text)
    assert out.split("\n") == [
        "We are a small firm and the second debit should be back by Friday, otherwise we end it.",
        "Thanks,", "Jan", "Long line without a full stop at its end, name follows", "Jan Smit"]
    assert unwrap("Geen breuk hier.") == "Geen breuk hier."


@pytest.mark.parametrize("body", [
    "Verlengen?? Ik heb het hele jaar niks gemerkt. Stop er maar mee, per einddatum.",
    "We stoppen er dan mee, het levert niets op.",
])
def test_a_dutch_stop_split_by_particles_is_a_cancellation(body):
    assert decide("Re: Verlenging contract", body, reply=True).kind == "cancellation"


def test_a_dutch_stop_split_by_particles_negated_is_none():
    assert decide("Re: Verlenging", "We stoppen er niet mee, verlengen is prima.", reply=True).kind != "cancellation"


def test_a_contract_with_another_directory_cancelled_is_no_cancellation():
    for other in ("the other directory", "another publisher", "our old printer", "them"):
        d = decide("Budget", f"FYI we've cancelled our contract with {other} as of January, so that "
                             "budget is free. Can you call me?")
        assert d.kind != "cancellation", (other, d.matched)


@pytest.mark.parametrize("body", [
    "Namens de eigenaar: wij willen stoppen met beide abonnementen bij jullie zodra dat kan.",
    "Hoi! Ik wil graag stoppen met de advertentie bij jullie. Kan dat zo of moet ik iets invullen?",
])
def test_stopping_with_the_subscription_or_advert_is_a_cancellation(body):
    assert decide("Stoppen", body).kind == "cancellation"


@pytest.mark.parametrize("body", [
    "Voor de duidelijkheid wij willen NIET opzeggen, maar kunnen we over naar alleen de vermelding met logo?",
    "Wir kündigen nicht. Wir möchten aber ab dem nächsten Jahr ein kleineres Paket, nur den Eintrag.",
])
def test_a_smaller_package_is_a_contract_change(body):
    assert decide("Pakket", body).kind == "request"


@pytest.mark.parametrize("body", [
    "Reden: nauwelijks respons op de advertentie, dat is het geld niet waard.",
    "Das war so nicht abgesprochen, und wir haben die Platzierung extra bezahlt.",
    "I asked for this page to be updated four weeks ago and I have not even had a reply.",
    "Ik heb twee keer gebeld en beide keren zou er iemand terugbellen. Niets gehoord.",
])
def test_not_worth_the_money_not_as_agreed_and_nothing_heard_are_complaints(body):
    assert decide("Advertentie", body).category == "complaint"


@pytest.mark.parametrize("body", [
    "Opzeggen doe ik nog niet, eerst wil ik twee dingen weten.",
    "Kündigen werden wir vorerst nicht, aber wir möchten reden.",
])
def test_a_cancel_word_put_first_is_negated_at_the_end_of_its_clause(body):
    d = decide("Contract", body)
    assert d.kind != "cancellation", d.matched
    assert "negated" in _trace(d, "written-cancellation").conditions[0].detail


def test_a_cancel_word_put_first_without_a_negation_still_cancels():
    assert decide("Contract", "Opzeggen wil ik het contract per 1 januari, graag bevestiging.").kind == "cancellation"


@pytest.mark.parametrize("subject, body", [
    ("contract", "Mijn collega belde over opzeggen, maar dat was een misverstand. Het contract mag gewoon doorlopen."),
    ("FW: opzegging K-1", "Mijn mail van vorige week (hieronder) mag in de prullenbak. Wij zeggen ons contract "
                          "niet op en willen een kleiner pakket."),
    ("Kündigung", "Das war ein Missverständnis, der Vertrag kann einfach weiterlaufen."),
])
def test_the_contract_going_on_or_the_earlier_notice_binned_withdraws_it(subject, body):
    d = decide(subject, body)
    assert (d.kind, d.rule) == ("request", "cancellation-withdrawn"), d.matched


def _shipped_regexes() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(node, rule=""):
        if isinstance(node, dict):
            rule = node.get("name", rule) if isinstance(node.get("name"), str) else rule
            for k, v in node.items():
                if k.endswith("_regex") and isinstance(v, str):
                    found.append((rule, v))
                else:
                    walk(v, rule)
        elif isinstance(node, list):
            for v in node:
                walk(v, rule)

    walk(yaml.safe_load((REPO / "rules.yaml").read_text()))
    return found


def test_no_shipped_regex_scans_the_whole_text_from_every_position():
    """A pattern that opens with a lookahead over the rest of the text ("(?=[\\s\\S]*thank
    you ...)") is tried at every position: quadratic in the mail's length (it made routing
    3.5 times slower, 7 ms a mail). Such a pattern must be anchored at the start ("^")."""
    regexes = _shipped_regexes()
    assert len(regexes) > 40
    unanchored = [(rule, rx[:60]) for rule, rx in regexes
                  if ("(?=[\\s\\S]*" in rx or "(?=.*" in rx) and not rx.startswith("^")]
    assert unanchored == []


# --------------------------------------------------------------------------- review of routing16
@pytest.mark.parametrize("body", [
    "Wypowiadamy umowę bo nie ma efektów.",
    "Rezygnujemy z umowy bo nie przynosi klientów.",
    "Opzegging omdat we het niet meer nodig hebben.",
    "Cancel the contract as we no longer need it.",
    "Kündigung des Vertrags zum Jahresende und nicht früher.",
])
def test_a_negation_in_the_reason_after_a_cancel_word_put_first_does_not_negate_it(body):
    """The topic window (a keyword first in its clause) ends at a conjunction opening
    another clause: the "nie"/"niet"/"no" there is about the reason, not the notice."""
    assert decide("Umowa", body).kind == "cancellation"


@pytest.mark.parametrize("body", [
    "Two direct debits left our account on the 1st, same reference. If the second\r\n"
    "one is not back in our account by Friday we will be terminating the agreement with you.",
    "Two direct debits left our account on the 1st, same reference. If the second\xa0\n"
    "one is not back in our account by Friday we will be terminating the agreement with you.",
    "Two direct debits left our account, same reference. If the money is not back by Friday\n"
    "I will cancel the contract.",
])
def test_a_condition_wrapped_with_crlf_nbsp_or_before_english_i_is_still_a_condition(body):
    """A web form's textarea sends CRLF, HTML leaves a no-break space at a line's end, and
    English "I" goes on a wrapped sentence as a lower-case word does."""
    d = decide("Double debit", body)
    assert d.kind != "cancellation", d.matched
    assert "conditional" in _trace(d, "written-cancellation").conditions[0].detail


def test_unwrap_replaces_a_crlf_break_by_two_spaces():
    text = "A line long enough to be wrapped by a mail program, and\r\nit goes on.\r\nNext."
    out = unwrap(text)
    assert len(out) == len(text)
    assert out == "A line long enough to be wrapped by a mail program, and  it goes on.\r\nNext."


@pytest.mark.parametrize("subject, body", [
    ("Factuur 2024-11", "Mijn vorige mail over de factuur mag in de prullenbak, het bedrag is inmiddels betaald."),
    ("Storing", "De e-mail van gisteren over de storing mag in de prullenbak, het werkt weer."),
    ("Logo", "Het abonnement kan gewoon doorlopen, maar graag een nieuw logo op de pagina."),
])
def test_an_earlier_mail_binned_or_a_contract_going_on_withdraws_nothing_without_a_notice(subject, body):
    d = decide(subject, body)
    assert d.rule != "cancellation-withdrawn", d.matched


# --------------------------------------------------------------------------- session routing18-19
@pytest.mark.parametrize("body", [
    "Our bookkeeper sent you a cancellation letter yesterday by mistake. We are NOT cancelling, "
    "please withdraw that letter.",
    "Er gaan verhalen dat we bij jullie opzeggen. Dat is niet zo, we zeggen NIET op.",
    "Księgowa wysłała pismo z wypowiedzeniem bez mojej zgody. NIE wypowiadamy umowy P-1.",
    "Kurze Frage zur Kündigungsfrist: wir wollen nichts kündigen, nur die Fristen eintragen.",
])
def test_the_writers_own_denial_outweighs_a_letter_or_rumour_mentioned(body):
    assert decide("Umowa", body).kind != "cancellation"


def test_a_denial_with_a_but_is_still_a_partial_cancellation():
    d = decide("Vertrag", "Wir kündigen nicht den ganzen Vertrag, sondern nur den Online-Eintrag. "
                          "Hiermit kündige ich den Online-Eintrag.")
    assert d.kind == "cancellation", d.matched


@pytest.mark.parametrize("body", [
    "Informuję, że złożyłam wypowiedzenie umowy o pracę. Moje sprawy przejmuje Paulina.",
    "Przesyłam dla informacji: wypowiedzieliśmy umowę z innym katalogiem. Chcemy większy wpis u Państwa.",
    "Graag een banner in juni. (Los van de opzegging die Ruud stuurde, dit loopt nog.)",
])
def test_an_employees_notice_another_directorys_contract_or_an_earlier_notice_mentioned(body):
    assert decide("Sprawa", body).kind != "cancellation"


@pytest.mark.parametrize("body", [
    "Den Eintrag brauche ich nicht mehr. Bitte nicht mehr verlängern und keine Rechnung mehr schicken.",
    "Ik ben er klaar mee. Contract eruit, per einde looptijd.",
    "We don't want the advertising to carry on once the current term finishes in March.",
    "Please make sure the listing doesn't roll over after March.",
])
def test_more_ways_to_end_it(body):
    assert decide("Contract", body).kind == "cancellation"


@pytest.mark.parametrize("subject, body", [
    ("Listing", "We have heard nothing but praise about the new listing, thank you!"),
    ("Oferta", "Czy to nie jest warte rozważenia? Może dodamy zdjęcia do ogłoszenia."),
])
def test_praise_or_a_question_about_worth_is_no_complaint(subject, body):
    d = decide(subject, body)
    assert d.category != "complaint", d.matched


@pytest.mark.parametrize("body", [
    "Kan de advertentie in de gids volgend jaar in een kleiner formaat? Dan past het logo beter.",
    "Could the banner be a smaller format on mobile? The text is cut off.",
    "Können wir die Anzeige im Heft in einem kleineren Format bringen?",
])
def test_an_advert_in_a_smaller_format_is_an_advert_change_not_a_contract_change(body):
    d = decide("Advertentie", body)
    assert (d.kind, d.rule) == ("advertising", "advertising"), d.matched


def test_unwrap_joins_no_sentence_past_two_thousand_characters():
    """A text without a sentence mark is not made one sentence: each keyword's sentence
    is read per keyword, so an endless one made routing quadratic (64 KB: 66 s)."""
    line = "a wrapped line without any sentence mark at the end of it here\n"
    out = unwrap(line * 200)
    assert len(out) == len(line) * 200
    assert max(len(s) for s in out.split("\n")) <= 2000 + len(line)
    assert out.count("\n") < 20  # still joined in long runs


def test_a_word_too_long_to_search_for_is_refused_where_it_is_written(tmp_path):
    """A list's pattern nests a group per letter of its longest word: a list of ever longer
    words would be refused by the regex compiler only when the first mail is routed."""
    chain = ", ".join("a" * n for n in range(1, 602, 50))
    assert problems(tmp_path, BASE + "rules:\n  - name: long\n    when: {body: ["
                    + chain + "]}\n    then: {assign: rob}\n") == [
        "10:18: rule 'long': body has a word of 201 characters as searched "
        "('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'...); a word or phrase has at most 200"]
    # counted as searched: "ﬃ" folds to "ffi", 67 of them to 201 letters
    assert problems(tmp_path, BASE + "rules:\n  - name: long\n    when: {body: [x, "
                    + "ﬃ" * 67 + "]}\n    then: {assign: rob}\n") == [
        "10:18: rule 'long': body has a word of 201 characters as searched "
        f"({'ﬃ' * 30!r}...); a word or phrase has at most 200"]


def test_the_longest_words_allowed_compile_even_nested_in_each_other():
    from bot.core.rules.facts import keyword_pattern
    from bot.core.rules.load import MAX_WORD
    words = tuple("ß" * n for n in range(1, MAX_WORD // 2 + 1))  # folded: "ss", up to MAX_WORD
    words += tuple("a" * n for n in range(1, MAX_WORD + 1))
    assert keyword_pattern(words).search("x " + "ss" * (MAX_WORD // 2)).group(0) == "ss" * (MAX_WORD // 2)
    assert keyword_pattern(words).search("x " + "a" * MAX_WORD).group(0) == "a" * MAX_WORD
