"""Issue 10.2: a tag or a References hit joins a ticket only when the sender belongs to
it (its contact, a colleague at the same company, or staff); anyone else's mail becomes
a new ticket linked to the old one."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from bot.desk import actions, intake, queries
from bot.store.models import Message, Outbox
from tests.conftest import OPERATOR


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
