"""Routing through the real ingest path with the shipped rules.yaml and a customer
directory: every route of the procedure, one owner per ticket, reassignment, and the
written-cancellation workflow (procedure S 3.4). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.desk import actions, directory, intake, queries
from bot.desk.errors import Refused
from bot.store.models import Outbox, Ticket
from tests.conftest import OPERATOR, who


def mail(sender: str, subject: str, body: str = "Goedendag,\n\nZie onderwerp.\n",
         attachment: tuple[str, bytes] | None = None, mid: str | None = None,
         date: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "support@desk.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<{mid or abs(hash((sender, subject, body)))}@test.example>"
    if date:  # without one, the notice is dated by when the bot handles the mail
        m["Date"] = date
    m.set_content(body)
    if attachment:
        m.add_attachment(attachment[1], maintype="application", subtype="pdf",
                         filename=attachment[0])
    return bytes(m)


def ingest(desk, raw: bytes) -> dict:
    r = intake.ingest_raw(desk, raw, "test")
    assert r.status == "created", r
    return queries.ticket_detail(desk, OPERATOR, r.ticket)


@pytest.mark.parametrize("sender, subject, body, kind, owner, role, rule", [
    # invoice -> receivables
    ("jan@bakkerij-jansen.nl", "Factuur 2026-311 klopt niet", None,
     "invoice", "ruud", "receivables", "invoice"),
    ("someone@gmail.com", "Question about my invoice", None,
     "invoice", "ruud", "receivables", "invoice"),
    ("biuro@firma.pl", "Faktura nr 12/2026", None, "invoice", "ruud", "receivables", "invoice"),
    # appointment / advertising -> the customer's advisor ...
    ("jan@bakkerij-jansen.nl", "Afspraak verzetten", None,
     "appointment", "marta", "advisor", "appointment"),
    ("zeger@hotelzee.nl", "Advertentie in de zomergids", None,
     "advertising", "pieter", "advisor", "advertising"),
    # ... a new contact at a known company still gets the company's advisor
    ("receptie@hotelzee.nl", "Wij willen adverteren", None,
     "advertising", "pieter", "advisor", "wants-to-advertise"),
    # ... or the RSM when the company is unassigned or unknown
    ("olga@drukkerij-oost.nl", "Afspraak maken", None, "appointment", "rob", "rsm", "appointment"),
    ("info@nieuwbedrijf.nl", "Wij willen adverteren", None, "advertising", "rob", "rsm",
     "wants-to-advertise"),  # an explicit wish to advertise is decided early (issue 16)
    ("piet@gmail.com", "Meeting next week?", None, "appointment", "rob", "rsm", "appointment"),
    # website or technical -> webmaster (issue 16: a problem, before the commercial rules;
    # website content after them)
    ("jan@bakkerij-jansen.nl", "Website geeft foutmelding", None,
     "technical", "wim", "webmaster", "technical-problem"),
    ("anna@firma.pl", "Nie działa logowanie", "Dzień dobry,\n\nnie mogę się zalogować.\n",
     "technical", "wim", "webmaster", "technical-problem"),
    # a complaint keeps its kind and goes where its subject belongs
    ("jan@bakkerij-jansen.nl", "Klacht over factuur", None,
     "complaint", "ruud", "receivables", "invoice"),
    # ... and with no more specific subject, the customer's advisor (S 4.1: the responsible
    # person acts within 24 h; S 3: the advisor owns the customer's commercial matters),
    # or the RSM for a company without one
    ("jan@bakkerij-jansen.nl", "Klacht", "Ik ben ontevreden over de bezorging.\n",
     "complaint", "marta", "advisor", "complaint-owner"),
    ("info@nieuwbedrijf.nl", "Klacht", "Ik ben ontevreden over de bezorging.\n",
     "complaint", "rob", "rsm", "complaint-owner"),
    # anything else -> sales support
    ("jan@bakkerij-jansen.nl", "Vraag over openingstijden", None,
     "question", "sanne", "sales_support", "anything-else"),
])
def test_each_route_of_the_procedure(desk, sender, subject, body, kind, owner, role, rule):
    t = ingest(desk, mail(sender, subject, body or "Goedendag,\n\nZie onderwerp.\n"))
    assert (t["kind"], t["owner"], t["owner_role"], t["rule"]) == (kind, owner, role, rule)
    routed = [e for e in t["events"] if e["action"] == "routed"]
    assert len(routed) == 1 and routed[0]["detail"]["rule"] == rule


def test_urgent_mail_is_flagged(desk):
    t = ingest(desk, mail("jan@bakkerij-jansen.nl", "SPOED: factuur dubbel afgeschreven"))
    assert (t["priority"], t["urgent"], t["owner"]) == ("urgent", True, "ruud")


def test_sender_identification_updates_the_directory(desk):
    ingest(desk, mail("receptie@hotelzee.nl", "Vraag"))
    ingest(desk, mail("nieuw@onbekend-bedrijf.nl", "Vraag"))
    ingest(desk, mail("klant@ziggo.nl", "Vraag"))
    with desk.sessions() as s:
        contact = s.scalar(select(directory.Contact).where(
            directory.Contact.email == "receptie@hotelzee.nl"))
        assert contact.company.name == "Hotel Zee"
        prospect = s.scalar(select(directory.Company).where(
            directory.Company.name == "onbekend-bedrijf.nl"))
        assert prospect.prospect
        free = s.scalar(select(directory.Contact).where(directory.Contact.email == "klant@ziggo.nl"))
        assert free.company_id is None  # never a company named after a free-mail domain


def test_a_ticket_always_has_exactly_one_owner_in_the_database(desk):
    t = ingest(desk, mail("jan@bakkerij-jansen.nl", "Vraag"))
    for bad in ("",):
        with pytest.raises(IntegrityError):
            with desk.sessions() as s, s.begin():
                s.get(Ticket, t["number"]).owner = bad
    with pytest.raises(IntegrityError):
        with desk.sessions() as s, s.begin():
            s.get(Ticket, t["number"]).owner = None
    assert queries.ticket_detail(desk, OPERATOR, t["number"])["owner"] == "sanne"


def test_reassign_records_who_when_and_why(desk):
    t = ingest(desk, mail("jan@bakkerij-jansen.nl", "Vraag"))
    desk.clock.advance(hours=2)
    assert actions.assign(desk, who(desk, "slack:U0SANNE01"), t["number"], "webmaster", "it is about the site") == "wim"
    d = queries.ticket_detail(desk, OPERATOR, t["number"])
    assert (d["owner"], d["owner_role"]) == ("wim", "webmaster")
    e = d["events"][-1]
    assert (e["action"], e["actor"], e["reason"]) == ("reassigned", "slack:U0SANNE01", "it is about the site")
    assert e["detail"] == {"from": "sanne", "to": "wim", "role": "webmaster"}
    assert e["at"] == "2026-11-23T11:00:00+00:00"
    with pytest.raises(Refused, match="neither a person nor a filled role"):
        actions.assign(desk, who(desk, "cli"), t["number"], "nobody", "why not")
    # "advisor" means this customer's advisor (Bakkerij Jansen: marta), not any advisor
    assert actions.assign(desk, who(desk, "cli"), t["number"], "advisor", "commercial after all") == "marta"
    assert queries.ticket_detail(desk, OPERATOR, t["number"])["owner_role"] == "advisor"
    other = ingest(desk, mail("olga@drukkerij-oost.nl", "Vraag"))  # no advisor: the RSM
    assert actions.assign(desk, who(desk, "cli"), other["number"], "advisor", "commercial") == "rob"
    with pytest.raises(Refused, match="say why"):
        actions.assign(desk, who(desk, "cli"), t["number"], "sanne", " ")
    with pytest.raises(Refused, match="no ticket 99"):
        actions.assign(desk, who(desk, "cli"), 99, "sanne", "x")


# --------------------------------------------------------------------------- cancellations
CANCEL_NL = ("Geachte heer, mevrouw,\n\nHierbij zeg ik ons contract op. De reden is dat wij "
             "onze winkel sluiten per 1 januari.\n\nMet vriendelijke groet,\nJan Jansen\n")


def queued(desk, purpose: str) -> list[Outbox]:
    with desk.sessions() as s:
        return list(s.scalars(select(Outbox).where(Outbox.purpose == purpose).order_by(Outbox.id)))


@pytest.mark.parametrize("now, in_time, effective_end, phrase", [
    # C-100 ends 2026-12-31: notice must arrive by 2026-11-30 (one month before the end)
    (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), True, "2026-12-31", "eindigt op 31 december 2026"),
    (datetime(2026, 11, 30, 22, 59, tzinfo=UTC), True, "2026-12-31", "eindigt op 31 december 2026"),
    # 23:30 UTC on 30 November is 1 December in Amsterdam: one day late
    (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), False, "2027-12-31", "eindigt het op 31 december 2027"),
    (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), False, "2027-12-31", "na de opzegtermijn (uiterlijk 30 november 2026)"),
])
def test_written_cancellation_notice_and_acknowledgement(desk, now, in_time, effective_end, phrase):
    desk.clock.now = now
    t = ingest(desk, mail("jan@bakkerij-jansen.nl", "Opzegging contract", CANCEL_NL))
    assert (t["kind"], t["owner"], t["owner_role"]) == ("cancellation", "marta", "advisor")
    assert t["watchers"] == ["sanne"]
    c = t["cancellation"]
    assert (c["contract"], c["in_time"], c["effective_end"]) == ("C-100", in_time, effective_end)
    assert c["reason"] == "De reden is dat wij onze winkel sluiten per 1 januari."
    assert c["outcome"] == "pending"
    assert t["action_due"] == datetime.fromtimestamp(now.timestamp() + 86400, UTC).isoformat()
    [ack] = queued(desk, "ack")
    assert ack.template == "ack-cancellation" and ack.to_addr == "jan@bakkerij-jansen.nl"
    assert phrase in ack.body_text
    assert "adviseur neemt binnen 24 uur contact" in ack.body_text
    # the advisor gets a copy with what they need to call
    [copy] = queued(desk, "cancellation-copy")
    assert copy.to_addr == "marta@desk.example" and not copy.automatic
    assert "Bakkerij Jansen" in copy.subject and f"[TB-{t['number']}]" in copy.subject
    assert "+31 6 1234 5678" in copy.body_text
    assert "winkel sluiten" in copy.body_text


def test_cancellation_by_signed_letter_in_english_and_leap_year_contract(desk):
    desk.clock.now = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)
    t = ingest(desk, mail("zeger@hotelzee.nl", "Our contract", "Hello,\n\nPlease see the attached letter.\n",
                          attachment=("signed-cancellation-letter.pdf", b"%PDF-1.4 fake")))
    c = t["cancellation"]
    # C-200 ends 2027-02-28: deadline 2027-01-31, in time
    assert (t["kind"], t["owner"], c["contract"], c["in_time"], c["deadline"], c["effective_end"]) == (
        "cancellation", "pieter", "C-200", True, "2027-01-31", "2027-02-28")
    desk.clock.now = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
    late = ingest(desk, mail("zeger@hotelzee.nl", "Termination", "We terminate the contract.\n", mid="late"))
    # one day late: renewed to the end of February in the leap year 2028
    assert late["cancellation"]["effective_end"] == "2028-02-29"


def test_cancellation_from_unknown_sender_goes_to_the_rsm_without_a_contract(desk):
    t = ingest(desk, mail("iemand@onbekend.nl", "Opzeggen", "Ik wil opzeggen.\n"))
    assert (t["owner"], t["owner_role"]) == ("rob", "rsm")
    assert t["cancellation"]["contract"] is None and t["cancellation"]["effective_end"] is None
    [ack] = queued(desk, "ack")
    assert "bevestigen u de einddatum" in ack.body_text
    [copy] = queued(desk, "cancellation-copy")
    assert copy.to_addr == "rob@desk.example" and "niet gevonden" in copy.body_text


def test_retained_and_lost_outcomes(desk):
    kept = ingest(desk, mail("jan@bakkerij-jansen.nl", "Opzegging", CANCEL_NL, mid="k"))
    out = actions.cancellation_outcome(desk, who(desk, "marta"), kept["number"], "retained", None)
    assert out["outcome"] == "retained" and out["contract_status"] == "active"
    with pytest.raises(Refused, match="already recorded as retained by marta"):
        actions.cancellation_outcome(desk, who(desk, "marta"), kept["number"], "lost", "x")
    assert queries.list_tasks(desk, OPERATOR) == []

    lost = ingest(desk, mail("zeger@hotelzee.nl", "Cancel", "We cancel, too expensive.\n", mid="l"))
    with pytest.raises(Refused, match="needs a reason"):
        actions.cancellation_outcome(desk, who(desk, "pieter"), lost["number"], "lost", "")
    desk.clock.advance(hours=5)
    out = actions.cancellation_outcome(desk, who(desk, "pieter"), lost["number"], "lost", "moved to a competitor")
    assert (out["contract_status"], out["contract_ends_on"]) == ("cancelled", "2027-02-28")
    [task] = queries.list_tasks(desk, OPERATOR)
    assert (task["kind"], task["assignee"], task["ticket"]) == (
        "revoke-website-access", "sanne", lost["number"])
    [told] = queued(desk, "task")  # sales support is told (procedure S 3.4)
    assert told.to_addr == "sanne@desk.example" and not told.automatic
    assert "Hotel Zee" in told.subject and "1 maart 2027 00:00" in told.subject
    assert "moved to a competitor" in told.body_text
    assert "#done" in told.body_text and "ticketbot" not in told.body_text  # what works by mail
    # due when the contract has run out: the start of 1 March 2027 in Amsterdam
    assert task["due"] == "2027-02-28T23:00:00+00:00"
    done = actions.complete_task(desk, who(desk, "sanne"), task["id"], "access removed in the CMS")
    assert done["done"] == "2026-11-23T14:00:00+00:00" and queries.list_tasks(desk, OPERATOR) == []
    with pytest.raises(Refused, match="already done"):
        actions.complete_task(desk, who(desk, "sanne"), task["id"])
    with desk.sessions() as s:
        assert s.scalar(select(directory.Company).where(
            directory.Company.name == "Hotel Zee")).website_access is False
    d = queries.ticket_detail(desk, OPERATOR, lost["number"])
    assert d["first_action"] == "2026-11-23T14:00:00+00:00"
    assert [e["action"] for e in d["events"]][-2:] == ["cancellation-lost", "task-done"]
    e = d["events"][-2]
    assert (e["action"], e["actor"], e["reason"]) == ("cancellation-lost", "pieter", "moved to a competitor")
    with pytest.raises(Refused, match="not a written cancellation"):
        question = ingest(desk, mail("a@b.nl", "Vraag"))["number"]
        actions.cancellation_outcome(desk, who(desk, "x"), question, "retained", None)


def test_explain_stores_nothing(desk):
    raw = mail("nieuw@prospect-bv.nl", "Opzegging", "Wij zeggen op.\n")
    out = queries.explain(desk, OPERATOR, raw)
    assert out["sender"]["how"] == "prospect" and out["owner"] == "rob"
    rules = [t["rule"] for t in out["trace"]]  # every rule looked at, up to the one that decided
    assert rules[-1] == "written-cancellation" and rules.index("urgent") < len(rules) - 1
    assert out["cancellation"]["contract"] is None
    with desk.sessions() as s:
        assert s.scalar(select(directory.Company).where(
            directory.Company.name == "prospect-bv.nl")) is None
        assert s.scalar(select(Ticket)) is None


def test_one_batch_identifies_like_one_by_one(desk):
    """The batch intake looks the senders up once (directory.prefetch) and keeps that
    view current while it stages: same answers as mail by mail."""
    from bot.core.mail.prepare import prepare

    raws = [mail("a@nieuw-bv.nl", "Vraag 1", mid="b1"), mail("b@nieuw-bv.nl", "Vraag 2", mid="b2"),
            mail("a@nieuw-bv.nl", "Afspraak", mid="b3"), mail("jan@bakkerij-jansen.nl", "Afspraak", mid="b4"),
            mail("x@pl.nieuw-bv.nl", "Vraag 3", mid="b5"), mail("y@gmail.com", "Vraag", mid="b6")]
    results = intake.ingest_prepared(desk, [prepare(r, f"batch:{i}") for i, r in enumerate(raws)])
    assert [r.status for r in results] == ["created"] * 6
    tickets = [queries.ticket_detail(desk, OPERATOR, r.ticket) for r in results]
    assert [t["customer"] for t in tickets] == [
        "nieuw-bv.nl", "nieuw-bv.nl", "nieuw-bv.nl", "Bakkerij Jansen", "nieuw-bv.nl", None]
    assert tickets[3]["owner"] == "marta" and tickets[2]["owner"] == "rob"
    with desk.sessions() as s:
        from sqlalchemy import func

        assert s.scalar(select(func.count()).select_from(directory.Company)
                        .where(directory.Company.name == "nieuw-bv.nl")) == 1
        assert s.scalar(select(func.count()).select_from(directory.Contact)
                        .where(directory.Contact.email == "a@nieuw-bv.nl")) == 1


def test_ignore_no_ack_and_watchers_from_a_custom_rule_table(make_desk):
    rules = """\
people:
  sanne: {email: sanne@desk.example, roles: [sales_support]}
  henk: {email: henk@desk.example, roles: [sales_manager]}
rules:
  - name: newsletters
    when: {from_domain: mailing.example}
    then: {ignore: true}
  - name: internal-forms
    when: {all: [{subject: formulier}, {not: {language: pl}}]}
    then: {kind: request, category: webform, ack: false, watchers: [sales_manager, sanne]}
"""
    # no directory: its advisors are not people of this rule table
    svc = make_desk(rules_text=rules, customers=None, contracts=None)
    r = intake.ingest_raw(svc, mail("news@mailing.example", "Nieuws"), "t1")
    assert (r.status, r.ticket, r.reason) == ("ignored", None, "rule newsletters")
    r = intake.ingest_raw(svc, mail("klant@bedrijf.nl", "Formulier ingevuld"), "t2")
    t = queries.ticket_detail(svc, OPERATOR, r.ticket)
    assert (t["kind"], t["category"], t["owner"], t["watchers"]) == (
        "request", "webform", "sanne", ["henk"])  # the owner is not also a watcher
    [skipped] = [e for e in t["events"] if e["action"] == "ack-skipped"]
    assert skipped["reason"] == "the rule that routed it sends none"
    with svc.sessions() as s:
        assert s.scalars(select(Outbox.purpose)).all() == ["new-ticket"]  # only sanne's notice


SIGNATURE = "\n\nMet vriendelijke groet,\nJan Jansen\nBakkerij Jansen\nFactuuradres: Dorpsstraat 1\n"
DISCLAIMER = ("\n\nKind regards,\nJan\n\nIf you have received this e-mail in error, "
              "please notify the sender.\n")


@pytest.mark.parametrize("subject, body, attachment, kind, priority", [
    # not cancellations, though the words are near
    ("Question", "We do not want to cancel, but can we pause our advertising?", None, "advertising", "normal"),
    # a question about the contract's terms is a question (issue 16: it was a request)
    ("Contract", "Wat is de opzegtermijn van ons contract?", None, "question", "normal"),
    ("Thursday", "Can we cancel our meeting on Thursday?", None, "appointment", "normal"),
    ("Termination fee", "Is there a termination fee if we leave early?", None, "question", "normal"),
    # a change to an advert is advertising (issue 16: "banner" is an advertising word now)
    ("Order", "Please cancel the extra banner I ordered.", None, "advertising", "normal"),
    ("Planning", "Hello, see the attached schedule.", ("terminarz_2027.pdf", b"%PDF"), "question", "normal"),
    # cancellations in the words customers use
    ("Umowa", "Niniejszym wypowiadam umowę.", None, "cancellation", "normal"),
    ("Abonnement", "Wij zeggen hierbij ons abonnement op per het einde van de looptijd.", None,
     "cancellation", "normal"),
    ("Our contract", "We will not renew our contract next year.", None, "cancellation", "normal"),
    ("Advertenties", "Wij willen stoppen met adverteren.", None, "cancellation", "normal"),
    ("Contract", "Please find our signed letter attached.", ("opzegging-getekend.pdf", b"%PDF"),
     "cancellation", "normal"),
    # signatures, disclaimers and idioms do not decide what a mail is about
    ("Monteur", "Wanneer komt de monteur?" + SIGNATURE, None, "question", "normal"),
    ("Meeting", "When can we meet?" + DISCLAIMER, None, "appointment", "normal"),
    ("Levering", "Daar moet u rekening mee houden bij de levering.", None, "question", "normal"),
    ("Vraag", "De rekening van oktober klopt niet.", None, "invoice", "normal"),
    ("Help", "I can't log in since this morning.", None, "technical", "normal"),
    ("Vraag", "URGENT: onze webshop ligt eruit!", None, "technical", "urgent"),
])
def test_realistic_wording(desk, subject, body, attachment, kind, priority):
    out = queries.explain(desk,
        OPERATOR,
        mail("jan@bakkerij-jansen.nl", subject, "Goedendag,\n\n" + body + "\n",
                            attachment=attachment))
    assert (out["kind"], out["priority"]) == (kind, priority), out["matched"]


def test_notice_is_dated_by_arrival_not_by_processing(desk, tmp_path):
    """Spooled at 23:50 on the last day (Amsterdam), processed after midnight: in time.
    A mail from a backlog carries its Date header: dated by that."""
    from bot.desk.pipeline import Pipeline

    desk.clock.now = datetime(2026, 11, 30, 22, 50, tzinfo=UTC)  # 23:50 local
    intake.spool(desk, mail("jan@bakkerij-jansen.nl", "Opzegging", CANCEL_NL, mid="sp"), "smtp:test")
    desk.clock.now = datetime(2026, 11, 30, 23, 5, tzinfo=UTC)  # 00:05 local, 1 Dec
    [r] = Pipeline(desk, workers=1).process_spool()
    c = queries.ticket_detail(desk, OPERATOR, r.ticket)["cancellation"]
    assert (c["received"], c["in_time"], c["effective_end"]) == ("2026-11-30", True, "2026-12-31")

    desk.clock.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    t = ingest(desk, mail("zeger@hotelzee.nl", "Opzegging", CANCEL_NL, mid="bl",
                          date="Mon, 30 Nov 2026 16:00:00 +0100"))
    assert t["cancellation"]["received"] == "2026-11-30"
    t = ingest(desk, mail("zeger@hotelzee.nl", "Opzegging", CANCEL_NL, mid="fut",
                          date="Fri, 1 Jan 2027 16:00:00 +0100"))  # in the future: not believed
    assert t["cancellation"]["received"] == "2026-12-02"


def test_kind_fields_are_recorded(desk):
    t = ingest(desk, mail("jan@bakkerij-jansen.nl", "Vraag"))
    with pytest.raises(Refused, match="kind 'question' has no field 'amount'"):
        actions.set_field(desk, who(desk, "sanne"), t["number"], "amount", "12")
    with desk.sessions() as s, s.begin():
        s.get(Ticket, t["number"]).kind = "dispute"  # rules.yaml: fields [invoice_number, amount]
    assert actions.set_field(desk, who(desk, "ruud"), t["number"], "amount", "1250.00") == {"amount": "1250.00"}
    assert actions.set_field(desk, who(desk, "ruud"), t["number"], "invoice_number", "F-311") == {
        "amount": "1250.00", "invoice_number": "F-311"}
    d = queries.ticket_detail(desk, OPERATOR, t["number"])
    assert d["fields"] == {"amount": "1250.00", "invoice_number": "F-311"}
    assert d["events"][-2]["detail"] == {"field": "invoice_number", "from": None, "to": "F-311"}
    # the invoice in dispute is held from collection (issue 14)
    assert (d["events"][-1]["action"], d["events"][-1]["detail"]) == (
        "invoice-hold", {"invoice": "F-311", "source": "field"})


def test_a_cancellation_sent_as_a_reply_gets_its_own_linked_ticket(desk):
    first = ingest(desk, mail("jan@bakkerij-jansen.nl", "Vraag over openingstijden", mid="q1"))
    [ack] = queued(desk, "ack")
    reply = EmailMessage()
    reply["From"] = "jan@bakkerij-jansen.nl"
    reply["To"] = "support@desk.example"
    reply["Subject"] = f"Re: {ack.subject}"
    reply["Message-ID"] = "<r1@test.example>"
    reply["In-Reply-To"] = f"<{ack.message_id}>"
    reply.set_content("Dank u. Tevens zeggen wij hierbij ons contract op.\n")
    r = intake.ingest_raw(desk, bytes(reply), "reply")
    assert r.status == "created" and r.ticket != first["number"]
    t = queries.ticket_detail(desk, OPERATOR, r.ticket)
    assert (t["kind"], t["owner"], t["linked_ticket"]) == ("cancellation", "marta", first["number"])
    assert t["cancellation"]["contract"] == "C-100"
    assert t["events"][0]["reason"] == (
        f"a written cancellation, sent as a reply to ticket {first['number']}")
    # an ordinary reply still joins its ticket
    reply2 = EmailMessage()
    reply2["From"] = "jan@bakkerij-jansen.nl"
    reply2["Subject"] = f"Re: {ack.subject}"
    reply2["Message-ID"] = "<r2@test.example>"
    reply2["In-Reply-To"] = f"<{ack.message_id}>"
    reply2.set_content("Dank u wel!\n")
    assert intake.ingest_raw(desk, bytes(reply2), "reply2").status == "appended"


def test_invisible_characters_neither_hide_a_keyword_nor_reach_staff(desk):
    """Issue 10.14: zero-width characters cannot hide a cancellation from routing; a
    right-to-left override cannot disguise an attachment's name in what staff read."""
    raw = mail("jan@bakkerij-jansen.nl", "Op\u200bzeg\u200bging contract",
               "Goedendag,\n\nHierbij zeg ik het contract op.\n",
               attachment=("factuur\u202efdp.exe", b"MZ"))
    assert queries.explain(desk, OPERATOR, raw)["kind"] == "cancellation"
    t = ingest(desk, raw)
    assert t["subject"] == "Opzegging contract" and t["kind"] == "cancellation"
    [name] = [a["name"] for m in t["messages"] for a in m["attachments"]]
    assert name == "factuurfdp.exe"


FORWARD = ("Przepraszam, to poszło do Państwa przez pomyłkę. Proszę zignorować.\n\nT. Kowalczyk\n\n"
           "Od: Tartak Borowy <handel@{domain}>\nWysłano: 19.07.2026 o 15:20\n"
           "Do: tomasz@stolarnia.pl\nTemat: Wypowiedzenie umowy dostawy\n\n"
           "Szanowni Państwo,\n\nwypowiadamy umowę na dostawy tarcicy nr 14/2024.\n")


@pytest.mark.parametrize("domain, cancellation", [
    ("tartakborowy.pl", False),  # a supplier's notice forwarded by mistake: its subject is theirs
    ("stolarnia.pl", True),      # the customer forwarding their own letter: the subject counts
    ("biuro.stolarnia.pl", True),
])
def test_a_forwards_subject_counts_only_when_the_forwarded_letter_is_the_senders_own(desk, domain, cancellation):
    raw = mail("tomasz@stolarnia.pl", "PD: Wypowiedzenie umowy dostawy", FORWARD.format(domain=domain))
    out = queries.explain(desk, OPERATOR, raw)
    assert (out["kind"] == "cancellation") is cancellation, out["trace"][-1]
    if not cancellation:
        trace = next(t for t in out["trace"] if t["rule"] == "written-cancellation")
        assert any("forwards a mail from handel@tartakborowy.pl" in c["detail"]
                   for c in trace["conditions"]), trace


@pytest.mark.parametrize("sender, forwarded, cancellation", [
    ("ania@gmail.com", "sasiad@gmail.com", False),  # a neighbour's letter from the same free-mail service
    ("ania@gmail.com", "ania@gmail.com", True),     # her own earlier letter
])
def test_a_free_mail_forward_is_the_senders_own_only_from_the_same_mailbox(desk, sender, forwarded, cancellation):
    body = FORWARD.replace("Tartak Borowy <handel@{domain}>", f"Sąsiad <{forwarded}>")
    raw = mail(sender, "PD: Wypowiedzenie umowy dostawy", body)
    out = queries.explain(desk, OPERATOR, raw)
    assert (out["kind"] == "cancellation") is cancellation, out["trace"][-1]
