"""Who may add to a ticket (issue 10.2: a tag or a References hit joins a ticket only when
the sender belongs to it; anyone else's mail becomes a new ticket linked to the old one),
and how many tickets one sender may open (issue 10.6: past the cap, one flood ticket)."""

from __future__ import annotations

import re
from email.message import EmailMessage

from sqlalchemy import func, select

from bot.desk import actions, intake, queries
from bot.store.models import Message, Outbox
from tests.conftest import OPERATOR, RULES


def mail(sender: str, subject: str, mid: str, in_reply_to: str | None = None,
         body: str = "Goedendag,\n\nZie onderwerp.\n") -> bytes:
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


def inbound(desk, n: int) -> list[str]:
    with desk.sessions() as s:
        return list(s.scalars(select(Message.from_addr).where(
            Message.ticket_id == n, Message.direction == "in").order_by(Message.id)))


def test_a_strangers_tag_or_reference_makes_a_linked_ticket_not_a_message(desk):
    first = intake.ingest_raw(desk, mail("Jan Jansen <jan@bakkerij-jansen.nl>",
                                         "Factuur klopt niet", "jan1@x"), "t").ticket
    with desk.sessions() as s:
        ack_id = s.scalar(select(Outbox.message_id).where(Outbox.ticket_id == first,
                                                          Outbox.purpose == "ack"))
    # Mallory copies the tag, then answers the acknowledgement she somehow got
    by_tag = intake.ingest_raw(desk, mail("mallory@evil.nl", f"Re: [TB-{first}] Factuur",
                                          "mal1@evil.nl"), "t")
    by_ref = intake.ingest_raw(desk, mail("mallory@evil.nl", "Re: Factuur", "mal2@evil.nl",
                                          in_reply_to=ack_id), "t")
    for r in (by_tag, by_ref):
        assert r.status == "created" and r.ticket not in (None, first)
        d = queries.ticket_detail(desk, OPERATOR, r.ticket)
        assert d["linked_ticket"] == first and d["contact"] == "mallory@evil.nl"
        created = next(e for e in d["events"] if e["action"] == "created")
        assert "is not that ticket's customer" in created["reason"]
    assert inbound(desk, first) == ["jan@bakkerij-jansen.nl"]
    # the customer and a colleague at the same company still join it
    assert intake.ingest_raw(desk, mail("jan@bakkerij-jansen.nl", f"Re: [TB-{first}] Factuur",
                                        "jan2@x"), "t").ticket == first
    assert intake.ingest_raw(desk, mail("Piet <piet@bakkerij-jansen.nl>", "Re: Factuur",
                                        "piet1@x", in_reply_to=ack_id), "t").ticket == first
    assert inbound(desk, first) == ["jan@bakkerij-jansen.nl", "jan@bakkerij-jansen.nl",
                                    "piet@bakkerij-jansen.nl"]


def test_a_stranger_cannot_reopen_a_resolved_ticket(desk):
    first = intake.ingest_raw(desk, mail("jan@bakkerij-jansen.nl", "Vraag", "jan3@x"), "t").ticket
    actions.resolve(desk, OPERATOR, first, tell_customer=False)
    r = intake.ingest_raw(desk, mail("mallory@evil.nl", f"Re: [TB-{first}] Vraag", "mal3@x"), "t")
    assert r.ticket != first
    assert queries.ticket_detail(desk, OPERATOR, first)["status"] == "resolved"


def test_a_flood_from_one_sender_joins_one_ticket_and_tells_the_owner_once(make_desk):
    """Issue 10.6: past the cap (rules.yaml limits) a sender's mails still become messages,
    nothing lost, but on one flood ticket, with one notice; other senders are untouched."""
    rules = RULES.read_text().replace("new_tickets_per_sender_per_hour: 20",
                                      "new_tickets_per_sender_per_hour: 3")
    desk = make_desk(rules_text=rules)
    results = [intake.ingest_raw(desk, mail("mallory@evil.nl", f"Vraag {i}", f"fl{i}@evil.nl"), "t")
               for i in range(10)]
    tickets = [r.ticket for r in results]
    assert [r.status for r in results] == ["created"] * 4 + ["appended"] * 6
    assert len(set(tickets[:4])) == 4 and set(tickets[4:]) == {tickets[3]}
    flood = queries.ticket_detail(desk, OPERATOR, tickets[3])
    assert flood["category"] == "flood" and len(inbound(desk, tickets[3])) == 7
    assert any(e["action"] == "flood" for e in flood["events"])
    with desk.sessions() as s:
        notices = s.scalars(select(Outbox).where(Outbox.purpose == "new-ticket")).all()
    assert len(notices) == 4  # the three tickets within the cap and the flood ticket
    # a batch counts too, and another customer is not held up
    from bot.core.mail.prepare import prepare
    batch = [prepare(mail("spam@evil.org", f"X {i}", f"sp{i}@evil.org"), "b") for i in range(6)]
    batch.append(prepare(mail("jan@bakkerij-jansen.nl", "Vraag", "jan9@x"), "b"))
    out = intake.ingest_prepared(desk, batch)
    assert [r.status for r in out] == ["created"] * 4 + ["appended"] * 2 + ["created"]
    # an hour later the sender is a sender like any other again
    desk.clock.advance(hours=1, minutes=1)
    assert intake.ingest_raw(desk, mail("mallory@evil.nl", "Nieuw", "fl99@evil.nl"), "t").status == "created"


def _limits(**caps) -> str:
    rules = RULES.read_text()
    for key, value in caps.items():
        rules, n = re.subn(rf"{key}: \d+", f"{key}: {value}", rules)
        assert n == 1, key
    return rules


def test_a_flood_from_one_domain_joins_one_ticket_free_mail_is_not_a_domain(make_desk):
    """Issue 10.6: many senders at one domain are capped like one sender; senders at a
    free-mail domain are strangers to each other and are not."""
    desk = make_desk(rules_text=_limits(new_tickets_per_domain_per_hour=3))
    results = [intake.ingest_raw(desk, mail(f"bot{i}@evil.nl", f"Vraag {i}", f"d{i}@evil.nl"), "t")
               for i in range(7)]
    assert [r.status for r in results] == ["created"] * 4 + ["appended"] * 3
    flood = results[3].ticket
    assert {r.ticket for r in results[3:]} == {flood}
    detail = queries.ticket_detail(desk, OPERATOR, flood)
    assert detail["category"] == "flood" and len(inbound(desk, flood)) == 4
    [event] = [e for e in detail["events"] if e["action"] == "flood"]
    assert event["detail"] == {"cap": 3, "by": "domain"}
    free = [intake.ingest_raw(desk, mail(f"klant{i}@gmail.com", f"Vraag {i}", f"g{i}@gmail.com"), "t")
            for i in range(6)]
    assert [r.status for r in free] == ["created"] * 6


def test_past_a_persons_notice_cap_they_are_told_once_that_more_is_waiting(make_desk):
    """Issue 10.6: new-ticket notices to one person are capped per hour; past the cap the
    tickets are made and owned as usual, each held notice is an event, and the person
    gets one notice that more is waiting; an hour later notices flow again."""
    desk = make_desk(rules_text=_limits(notices_per_person_per_hour=3))
    results = [intake.ingest_raw(desk, mail(f"info@firma{i}.nl", f"Vraag {i}", f"n{i}@firma{i}.nl"), "t")
               for i in range(6)]
    assert [r.status for r in results] == ["created"] * 6
    owners = {queries.ticket_detail(desk, OPERATOR, r.ticket)["owner"] for r in results}
    assert len(owners) == 1
    with desk.sessions() as s:
        purposes = [o.purpose for o in s.scalars(select(Outbox).order_by(Outbox.id))
                    if o.purpose in ("new-ticket", "notices-held")]
    assert purposes == ["new-ticket"] * 3 + ["notices-held"]
    held = [r.ticket for r in results
            if any(e["action"] == "notice-held"
                   for e in queries.ticket_detail(desk, OPERATOR, r.ticket)["events"])]
    assert held == [r.ticket for r in results[3:]]
    desk.clock.advance(hours=1, minutes=1)
    intake.ingest_raw(desk, mail("info@firma9.nl", "Nog een vraag", "n9@firma9.nl"), "t")
    with desk.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Outbox)
                        .where(Outbox.purpose == "new-ticket")) == 4
