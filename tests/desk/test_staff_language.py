"""Staff read the desk in their own language (rules.yaml `language:` per person, else
the desk's), the weekly report fits Slack's limits however many complaints are open,
and a person with `notify: digest` gets their notices once a day (issue 14). Real
ingest, sweep and outbox; SQLite and PostgreSQL; the clock injected."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core.rules.load import parse_rules
from bot.core.rules.schema import RulesError
from bot.desk import intake
from bot.store.models import DigestItem, Event, Outbox, Ticket
from tests.conftest import RULES, START, sweep_at
from tests.desk.test_slack_desk import SlackRig, customer_mail
from tests.support.fakeslack import FakeSlack

SANNE_IN = "  sanne:\n    name: Sanne Jansen\n    email: sanne@desk.example\n"
HENK_IN = "  henk:\n    name: Henk Mulder\n    email: henk@desk.example\n"
# The customer's advisor owns a complaint with no more specific subject (S 4.1), so the
# tests of notices configure her
MARTA_IN = "  marta:\n    name: Marta Kowalska\n    email: marta@desk.example\n"
MONDAY_8 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam


def rules_with(**people: str) -> str:
    """The shipped rules with lines added under a person (`sanne="language: pl"`)."""
    text = RULES.read_text()
    for key, extra in people.items():
        head = {"sanne": SANNE_IN, "henk": HENK_IN, "marta": MARTA_IN}[key]
        assert head in text
        text = text.replace(head, head + "".join(f"    {line}\n" for line in extra.split("; ")))
    return text


def outbox(desk, **where) -> list[Outbox]:
    with desk.sessions() as s:
        q = select(Outbox).order_by(Outbox.id)
        for k, v in where.items():
            q = q.where(getattr(Outbox, k) == v)
        return list(s.scalars(q))


def complaint(desk, subject: str = "Klacht over de bezorging", mid: str = "k1@x") -> int:
    return intake.ingest_raw(desk, customer_mail(subject, "De krant kwam weer niet. Ik ben "
                                                 "ontevreden.\n", mid), "t").ticket


# ------------------------------------------------------------------ rules.yaml
def test_person_language_and_digest_are_checked_with_their_place():
    text = rules_with(sanne="language: fr; notify: daily",
                      henk='notify: digest; digest_at: "8h30"')
    with pytest.raises(RulesError) as err:
        parse_rules(text, "rules.yaml")
    lines = text.splitlines()
    where = {p.reason: lines[p.line - 1].strip() for p in err.value.problems}
    assert where == {"person 'sanne': language must be one of nl, en, pl": "language: fr",
                     "person 'sanne': notify must be each or digest": "notify: daily",
                     "person 'henk': digest_at must be a time like \"08:30\"": 'digest_at: "8h30"'}
    with pytest.raises(RulesError, match=r"rules.yaml:\d+:\d+: person 'henk': notify: digest needs digest_at"):
        parse_rules(rules_with(henk="notify: digest"), "rules.yaml")
    rs = parse_rules(rules_with(sanne='language: pl; notify: digest; digest_at: "08:30"'), "rules.yaml")
    sanne, henk = rs.people["sanne"], rs.people["henk"]
    assert (sanne.language, sanne.notify, sanne.digest_at) == ("pl", "digest", "08:30")
    assert (henk.language, henk.notify, rs.language_of(henk)) == (None, "each", "nl")  # the desk's


# ------------------------------------------------------------------ languages
def test_each_person_is_told_in_their_own_language(make_desk):
    desk = make_desk(rules_text=rules_with(marta="language: pl", henk="language: en"))
    n = complaint(desk)
    [told] = outbox(desk, purpose="new-ticket")
    assert told.to_addr == "marta@desk.example" and told.language == "pl"
    assert told.subject == f"[TB-{n}] Nowe: Reklamacja dla Ciebie: Klacht over de bezorging"
    assert told.body_text.startswith("Dzień dobry Marta Kowalska,")
    assert "do 24 listopada 2026 10:00" in told.body_text  # the due time in Polish
    [ack] = outbox(desk, purpose="ack")
    assert ack.language == "nl"  # the customer keeps theirs
    # the Monday report: Henk reads English (column titles, weekday, SLA words)
    assert sweep_at(desk, MONDAY_8)["open_complaints_report"] == 1
    [report] = outbox(desk, purpose="report")
    assert report.language == "en"
    assert report.subject.startswith("Open complaints on Mon 30 November 2026 08:00: 1")
    assert "Age (days)" in report.body_text and "first action overdue since" in report.body_text
    assert "Age (days)" in report.body_html and "Leeftijd" not in report.body_html
    # and an SLA reminder or escalation to Marta is Polish
    reminders = [r for r in outbox(desk) if r.purpose.startswith("sla-") and r.to_addr == "marta@desk.example"]
    assert reminders and all(r.language == "pl" for r in reminders)


def test_the_desks_language_for_people_without_one(make_desk):
    desk = make_desk()
    n = complaint(desk)
    [told] = outbox(desk, purpose="new-ticket")
    assert told.language == "nl" and told.subject.startswith(f"[TB-{n}] Nieuw: Klacht voor u")
    sweep_at(desk, MONDAY_8)
    [report] = outbox(desk, purpose="report")
    assert report.subject.startswith("Openstaande klachten op ma 30 november 2026 08:00")
    assert "Leeftijd (dagen)" in report.body_text and "Age (days)" not in report.body_text


# ------------------------------------------------------------------ Slack's limits
def test_the_weekly_report_with_500_complaints_fits_slack(make_desk, db_url, tmp_path):
    with FakeSlack() as slack:
        slack.add_user("U0HENK001", "henk", "Henk Mulder", "henk@desk.example")
        rig = SlackRig(make_desk, db_url, tmp_path, slack)
        with rig.svc.uow.write() as s:
            for i in range(500):
                at = START - timedelta(days=20, minutes=i)
                s.add(Ticket(kind="complaint", status="open", owner="sanne", owner_role="sales_support",
                             subject=f"Klacht {i:03d}: " + "de krant kwam niet " * 3,
                             customer=f"Klant {i:03d} B.V.", contact_email=f"k{i}@klant.example",
                             created_at=at, updated_at=at))
        rig.clock.now = MONDAY_8
        sweep_at(rig.svc, MONDAY_8)
        rig.sender.run_once(MONDAY_8)
        posts = [c for c in slack.calls_to("chat.postMessage")
                 if c.params["channel"] == "D0HENK001"]
        texts = [c.params["text"] for c in posts]
        assert 1 < len(texts) < 20
        assert all(len(t) <= 40_000 for t in texts)  # Slack cuts a text past 40,000 characters
        assert all(t.count("```") % 2 == 0 for t in texts)  # each part's table a closed code block
        assert texts[0].startswith("*Openstaande klachten op ma 30 november 2026 08:00: 500")
        assert texts[1].startswith(f"(2/{len(texts)}) ```")
        whole = "\n".join(texts)
        assert all(f"Klant {i:03d} B.V." in whole for i in range(500))
        assert all("blocks" not in c.params or len(c.params["blocks"]) <= 50 for c in posts)
        rig.sender.run_once(MONDAY_8)  # the CSV the first part speaks of, uploaded into the DM
        assert "(ook als CSV-bestand bijgevoegd)" in texts[0]
        assert [u["filename"] for u in slack.uploads] == ["open-complaints-2026-11-30.csv"]
        [mailed] = [m for m in rig.mails_to("henk@desk.example") if "Openstaande" in m["Subject"]]
        assert [a.get_filename() for a in mailed.iter_attachments()] == ["open-complaints-2026-11-30.csv"]


# ------------------------------------------------------------------ the digest
def test_a_digest_person_gets_their_notices_once_a_day_at_their_time(make_desk):
    desk = make_desk(rules_text=rules_with(marta='language: en; notify: digest; digest_at: "08:30"'))
    n = complaint(desk)  # Monday 10:00
    assert outbox(desk, purpose="new-ticket") == []  # held, not sent
    with desk.sessions() as s:
        [held] = s.scalars(select(DigestItem)).all()
        assert (held.person, held.sent_at, held.language) == ("marta", None, "en")
        notified = [e.detail for e in s.scalars(select(Event).where(Event.action == "notified"))]
        assert {"to": "marta", "channel": "digest", "purpose": "new-ticket", "digest_at": "08:30"} in notified
    tuesday = datetime(2026, 12, 1, 7, 29, tzinfo=UTC)  # 08:29 in Amsterdam
    assert "digests" not in sweep_at(desk, tuesday)
    assert sweep_at(desk, tuesday + timedelta(minutes=1))["digests"] == 1  # 08:30
    [digest] = outbox(desk, purpose="digest")
    assert digest.to_addr == "marta@desk.example" and digest.language == "en"
    assert digest.subject.startswith("Digest 1 December 2026: ")
    assert f"[TB-{n}] New Complaint for you: Klacht over de bezorging" in digest.body_text
    assert "De krant kwam weer niet." in digest.body_text
    # once: the next sweeps, a second clock process, and a later notice wait for tomorrow
    n2 = complaint(desk, "Weer geen krant", "k2@x")
    for minutes in (1, 2, 90):
        assert "digests" not in sweep_at(desk, tuesday + timedelta(minutes=minutes))
    assert len(outbox(desk, purpose="digest")) == 1
    wednesday = tuesday + timedelta(days=1, minutes=1)
    assert sweep_at(desk, wednesday)["digests"] == 1
    second = outbox(desk, purpose="digest")[1]
    assert f"[TB-{n2}]" in second.body_text and f"[TB-{n}] New" not in second.body_text


def test_urgent_tickets_never_wait_for_the_digest(make_desk):
    desk = make_desk(rules_text=rules_with(sanne='notify: digest; digest_at: "08:30"'))
    n = complaint(desk, "SPOED: klacht, bel mij", "u1@x")
    [told] = outbox(desk, purpose="new-ticket")
    assert told.subject.startswith(f"SPOED [TB-{n}]")


def test_the_digest_waits_for_a_business_day(make_desk):
    desk = make_desk(rules_text=rules_with(marta='notify: digest; digest_at: "08:30"'),
                     start=datetime(2026, 11, 27, 15, 0, tzinfo=UTC))  # Friday 16:00
    complaint(desk)
    saturday = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert "digests" not in sweep_at(desk, saturday)
    assert "digests" not in sweep_at(desk, saturday + timedelta(days=1))
    assert sweep_at(desk, datetime(2026, 11, 30, 7, 30, tzinfo=UTC))["digests"] == 1  # Monday 08:30
    assert json.loads(json.dumps(outbox(desk, purpose="digest")[0].subject)).startswith("Samenvatting")


def test_without_defaults_language_the_desk_speaks_ticketbot_language():
    text = RULES.read_text().replace("  language: nl            # acknowledgements", "  # (no language)")
    assert "\n  language: nl" not in text.split("people:")[0]
    assert parse_rules(text, "rules.yaml").default_language == "en"
    rs = parse_rules(text, "rules.yaml", default_language="pl")
    assert rs.default_language == "pl" and rs.language_of(rs.people["henk"]) == "pl"
    assert parse_rules(RULES.read_text(), "rules.yaml", default_language="pl").default_language == "nl"
    with pytest.raises(RulesError, match="TICKETBOT_LANGUAGE 'fr'"):
        parse_rules(text, "rules.yaml", default_language="fr")


def test_the_sweep_holds_a_reminder_for_the_digest_and_sends_the_breach_at_once(make_desk):
    """The SLA sweep writes its notices in bulk (bot/desk/sla_state.py): a digest
    reader's reminder is a digest item (in that day's digest), the breach goes at once,
    each with its events."""
    desk = make_desk(rules_text=rules_with(marta='language: en; notify: digest; digest_at: "08:30"'))
    n = complaint(desk)  # the advisor's (S 4.1); Monday 10:00; first action due Tuesday 10:00, reminder at 75 %
    early = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # Tuesday 08:00: before the office opens
    assert sweep_at(desk, early)["reminders"] == 0
    done = sweep_at(desk, early + timedelta(minutes=30))  # 08:30: the reminder, then the digest
    assert (done["reminders"], done["escalations"], done["digests"]) == (1, 0, 1)
    assert outbox(desk, purpose="sla-remind") == []
    with desk.sessions() as s:
        items = [(d.person, d.purpose, d.ticket_id, d.language, d.sent_at is not None) for d in
                 s.scalars(select(DigestItem).where(DigestItem.purpose == "sla-remind"))]
        notified = [e.detail for e in s.scalars(select(Event).where(
            Event.action == "notified", Event.ticket_id == n).order_by(Event.id))]
        reminded = [e.detail["to"] for e in s.scalars(select(Event).where(
            Event.action == "sla-remind", Event.ticket_id == n))]
    assert items == [("marta", "sla-remind", n, "en", True)] and reminded == [["marta"]]
    assert {"to": "marta", "channel": "digest", "purpose": "sla-remind", "digest_at": "08:30"} in notified
    [digest] = outbox(desk, purpose="digest")
    assert digest.to_addr == "marta@desk.example" and f"[TB-{n}]" in digest.body_text
    breach = sweep_at(desk, datetime(2026, 11, 24, 9, 5, tzinfo=UTC))  # 10:05: overdue
    assert breach["escalations"] == 1
    sent = outbox(desk, purpose="sla-breach")
    assert sorted(o.to_addr for o in sent) == ["marta@desk.example", "rob@desk.example"]
    assert all(o.ticket_id == n and o.status == "queued" and f"[TB-{n}]" in o.subject for o in sent)
