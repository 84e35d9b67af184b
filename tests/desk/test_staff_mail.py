"""Colleagues without system access (procedure 000 S 7.1): the notification mail carries
what they need, and answering it works the ticket (bot/desk/staff_mail.py, bot/desk/notify.py).
Through the real ingest path, SQLite and PostgreSQL."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from bot.core.staff_commands import parse
from bot.desk import intake, queries
from bot.store.models import Outbox, Task
from tests.conftest import OPERATOR


def mail(sender: str, subject: str, body: str, mid: str, in_reply_to: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "support@desk.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<{mid}>"
    if in_reply_to:
        m["In-Reply-To"] = f"<{in_reply_to}>"
        m["References"] = f"<{in_reply_to}>"
    m.set_content(body)
    return bytes(m)


def outbox(svc, **where) -> list[Outbox]:
    with svc.sessions() as s:
        q = select(Outbox).order_by(Outbox.id)
        for k, v in where.items():
            q = q.where(getattr(Outbox, k) == v)
        return s.scalars(q).all()


def invoice_ticket(svc) -> tuple[int, Outbox]:
    n = intake.ingest_raw(svc,
        mail("Jan Jansen <jan@bakkerij-jansen.nl>", "Factuur 2026-311 klopt niet",
                            "Goedendag,\n\nHet bedrag op factuur 2026-311 klopt niet.\n", "c1@x"),
        "t").ticket
    [note] = outbox(svc, purpose="new-ticket")
    return n, note


def test_the_owner_is_mailed_everything_needed_to_act(desk):
    n, note = invoice_ticket(desk)
    assert note.to_addr == "debiteuren@desk.example"  # ruud: receivables, no system access
    assert note.subject == f"[TB-{n}] Nieuw: Factuur voor u: Factuur 2026-311 klopt niet"
    body = note.body_text
    for needed in ("Bakkerij Jansen (adviseur Marta Kowalska)", "jan@bakkerij-jansen.nl",
                   "+31 6 1234 5678", "Het bedrag op factuur 2026-311 klopt niet.",
                   "uiterlijk 24 november 2026 10:00", "#reply", "#resolve"):
        assert needed in body, needed


def test_a_colleague_answers_the_customer_by_mail(desk):
    n, note = invoice_ticket(desk)
    desk.clock.advance(hours=1)
    r = intake.ingest_raw(desk,
        mail("Ruud de Boer <debiteuren@desk.example>", f"Re: {note.subject}",
                             "#reply\nBeste Jan,\n\nU krijgt een creditnota.\n", "r1@desk",
                             in_reply_to=note.message_id),
        "t")
    assert r.status == "appended" and r.ticket == n
    [reply] = outbox(desk, purpose="reply")
    assert reply.to_addr == "jan@bakkerij-jansen.nl"
    assert reply.body_text.startswith("Beste Jan,\n\nU krijgt een creditnota.")
    assert "Ruud de Boer" in reply.body_text  # signed by the colleague
    t = queries.ticket_detail(desk, OPERATOR, n)
    assert t["first_action"] is not None and t["sla"]["first_action_due"] is None
    assert ("staff-mail", "ruud") in [(e["action"], e["actor"]) for e in t["events"]]
    assert [m["direction"] for m in t["messages"]] == ["in", "out", "note", "out"]  # ack, note, reply


def test_a_plain_answer_is_an_internal_note_and_never_mailed(desk):
    n, note = invoice_ticket(desk)
    before = len(outbox(desk))
    intake.ingest_raw(desk,
        mail("debiteuren@desk.example", f"Re: {note.subject}",
                         "Ik bel hem morgen even.\n", "r2@desk", in_reply_to=note.message_id),
        "t")
    assert len(outbox(desk)) == before
    t = queries.ticket_detail(desk, OPERATOR, n)
    assert [(e["action"], e["reason"]) for e in t["events"] if e["action"] == "note"] == [
        ("note", "Ik bel hem morgen even.")]
    assert t["first_action"] is None  # a note is not an action
    assert t["sla"]["next_action_due"] is None  # and not a customer waiting for an answer


def test_a_forged_staff_address_cannot_run_commands(desk):
    n, note = invoice_ticket(desk)
    # From line forged, tag in the subject, but not an answer to the mail sent to ruud
    intake.ingest_raw(desk,
        mail("debiteuren@desk.example", f"Re: [TB-{n}] Factuur",
                         "#resolve\nAll sorted.\n", "f1@evil"),
        "t")
    t = queries.ticket_detail(desk, OPERATOR, n)
    assert t["status"] == "new"
    assert outbox(desk, purpose="resolved") == []
    [staff] = [e for e in t["events"] if e["action"] == "staff-mail"]
    assert staff["detail"] == {"verified": False}
    # a customer (not staff) writing a command is a customer message like any other
    intake.ingest_raw(desk,
        mail("jan@bakkerij-jansen.nl", f"Re: [TB-{n}] Factuur",
                         "#resolve\n#assign marta\n", "c2@x", in_reply_to=note.message_id),
        "t")
    t = queries.ticket_detail(desk, OPERATOR, n)
    assert (t["status"], t["owner"]) == ("new", "ruud")


def test_assign_and_a_refused_command_by_mail(desk):
    n, note = invoice_ticket(desk)
    intake.ingest_raw(desk,
        mail("debiteuren@desk.example", f"Re: {note.subject}",
                         "#assign nobody\n", "a1@desk", in_reply_to=note.message_id),
        "t")
    [refused] = outbox(desk, purpose="staff-refused")
    assert refused.to_addr == "debiteuren@desk.example"
    # in the colleague's language (the desk's: Dutch)
    assert "#assign" in refused.subject and "‘nobody’ is geen persoon en geen bezette rol" in refused.body_text
    intake.ingest_raw(desk,
        mail("debiteuren@desk.example", f"Re: {note.subject}",
                         "#assign marta het gaat eigenlijk om het pakket\n", "a2@desk",
                         in_reply_to=note.message_id),
        "t")
    t = queries.ticket_detail(desk, OPERATOR, n)
    assert t["owner"] == "marta"
    assert [e["reason"] for e in t["events"] if e["action"] == "reassigned"] == [
        "het gaat eigenlijk om het pakket"]


def test_the_advisor_records_a_lost_cancellation_by_mail(desk):
    n = intake.ingest_raw(desk,
        mail("Zeger Zee <zeger@hotelzee.nl>", "Opzegging",
                             "Hierbij zeggen wij ons contract C-200 op.\n", "z1@x"),
        "t").ticket
    [copy] = outbox(desk, purpose="cancellation-copy")
    assert copy.to_addr == "pieter@desk.example"  # pieter has no system access: by mail
    assert outbox(desk, purpose="new-ticket") == []  # the copy is the notice (S 3.4)
    intake.ingest_raw(desk,
        mail("pieter@desk.example", f"Re: {copy.subject}",
                         "#lost te duur geworden\n", "p1@desk", in_reply_to=copy.message_id),
        "t")
    t = queries.ticket_detail(desk, OPERATOR, n)
    assert t["cancellation"]["outcome"] == "lost"
    assert t["cancellation"]["outcome_reason"] == "te duur geworden"
    with desk.sessions() as s:
        assert s.scalars(select(Task.kind)).all() == ["revoke-website-access"]


def test_urgent_tickets_put_the_phone_number_first(desk):
    intake.ingest_raw(desk,
        mail("Jan Jansen <jan@bakkerij-jansen.nl>", "SPOED: factuur dubbel afgeschreven",
                         "Bel me aub.\n", "u1@x"),
        "t")
    [note] = outbox(desk, purpose="new-ticket")
    assert note.subject.startswith("SPOED [TB-")
    assert note.body_text.splitlines()[2] == "SPOED — bel Jan Jansen nu: +31 6 1234 5678."


def test_the_advisor_also_hears_of_a_new_contact_at_their_customer(desk):
    intake.ingest_raw(desk,
        mail("Piet Nieuw <piet@bakkerij-jansen.nl>", "Factuur kwijt",
                         "Kunt u de factuur opnieuw sturen?\n", "n1@x"),
        "t")
    told = sorted((o.purpose, o.to_addr) for o in outbox(desk) if o.purpose != "ack")
    assert told == [("advisor-copy", "marta@desk.example"), ("new-ticket", "debiteuren@desk.example")]


@pytest.mark.parametrize("body, name, arg, text, problem", [
    ("#reply\nBeste Jan,\nKlaar.", "reply", "", "Beste Jan,\nKlaar.", None),
    ("#REPLY Beste Jan, klaar.", "reply", "", "Beste Jan, klaar.", None),
    ("#reply", "reply", "", "", "#reply with nothing to send"),
    ("Even gebeld.", "note", "", "Even gebeld.", None),
    ("#action call\nklant gebeld", "action", "call", "klant gebeld", None),
    ("#assign", "assign", "", "", "#assign needs a person or role: #assign marta"),
    ("#lost", "lost", "", "", "#lost needs a reason: #lost too expensive"),
    ("#snooze 2d", "note", "", "#snooze 2d", "unknown command #snooze; known: #reply, #note, "
     "#action, #resolve, #assign, #retained, #lost, #time, #hold, #release, #done (kept as a note)"),
    ("", "note", "", "", "the mail has no text of its own"),
])
def test_parse(body, name, arg, text, problem):
    c = parse(body)
    assert (c.name, c.arg, c.text, c.problem) == (name, arg, text, problem)


def test_forged_commands_name_the_command_and_mail_the_real_colleague_once(desk):
    """Issue 10.7: each refusal says which command was refused (not "#note"); a flood of
    forged mails in a colleague's name tells that colleague once per window, nobody else."""
    n, _ = invoice_ticket(desk)
    for i in range(5):
        intake.ingest_raw(desk, mail("debiteuren@desk.example", f"Re: [TB-{n}] Factuur",
                                     "#reply\nU krijgt uw geld terug.\n", f"forged{i}@evil"), "t")
    [told] = outbox(desk, purpose="staff-refused")
    assert told.to_addr == "debiteuren@desk.example"
    assert "#reply" in told.subject + told.body_text
    assert outbox(desk, purpose="reply") == []
    t = queries.ticket_detail(desk, OPERATOR, n)
    refusals = [e for e in t["events"] if e["action"] == "staff-mail-refused"]
    assert len(refusals) == 5 and all(e["detail"]["command"] == "#reply" for e in refusals)
    # an hour later the colleague may be told again
    desk.clock.advance(hours=1, minutes=1)
    intake.ingest_raw(desk, mail("debiteuren@desk.example", f"Re: [TB-{n}] Factuur",
                                 "#resolve\n", "forged9@evil"), "t")
    assert len(outbox(desk, purpose="staff-refused")) == 2
