"""The intake with the routing read ahead (bot/core/rules/ahead.py): what a parser process
read ahead is used for the mail as parsed and for nothing the desk makes of it. A
colleague's forward is stored as the customer's mail (bot/desk/intake.py `_as_customer`):
read ahead, it is a forward of somebody else's letter; as the customer's mail, it is their
written cancellation."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.mail.prepare import prepare
from bot.core.rules import ahead
from bot.desk import intake, notify
from bot.store.models import Event, Ticket
from tests.conftest import MAIL_FIXTURES, RULES

# a colleague forwards the customer's (Jan's) written cancellation
FORWARD = ((MAIL_FIXTURES / "forwarded" / "outlook_nl.eml").read_bytes()
           .replace(b"Factuur 2026-114 klopt niet", b"Opzegging contract")
           .replace(b"De factuur 2026-114 klopt niet: er staan twee leveringen op die wij niet hebben=\n"
                    b" ontvangen. Kunnen jullie een creditnota sturen?",
                    b"Hierbij zeggen wij ons contract op per 31 december 2026."))


def read_ahead(desk, raw: bytes):
    item = prepare(raw, "forward", desk.settings.all_own_addresses)
    item.ahead = ahead.read_ahead(item.message, ahead.Sources(str(RULES), desk.ruleset.digest))
    # read ahead as what it is, a forward of another's letter
    assert item.ahead is not None and item.ahead.rules_digest == desk.ruleset.digest
    assert any(str(v).startswith("forwards a mail from jan@") for v in item.ahead.memo.values())
    return item


def stored(desk, ticket_id: int) -> tuple[str, str, list[str]]:
    with desk.uow.read() as s:
        t = s.get(Ticket, ticket_id)
        actions = list(s.scalars(select(Event.action).where(Event.ticket_id == ticket_id)))
        return t.kind, t.rule, actions


def test_a_colleagues_forward_is_routed_as_the_customers_own_mail(desk):
    assert FORWARD.count(b"Hierbij zeggen wij ons contract op") == 1
    [r] = intake.ingest_prepared(desk, [read_ahead(desk, FORWARD)])
    kind, rule, actions = stored(desk, r.ticket)
    assert (kind, rule) == ("cancellation", "written-cancellation")
    assert "on-behalf" in actions


def test_a_retried_batch_starts_again_from_the_mail_as_parsed(desk, monkeypatch):
    """The batch fails after the forward was made the customer's mail; the retry, mail by
    mail, must again see a colleague's forward (who forwarded it, and that it is the
    customer's cancellation), not reuse the read-ahead on the rewritten mail."""
    real, calls = notify.new_ticket, []

    def fail_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a transient failure after routing")
        return real(*args, **kwargs)

    monkeypatch.setattr(notify, "new_ticket", fail_once)
    [r] = intake.ingest_prepared(desk, [read_ahead(desk, FORWARD)])
    assert len(calls) == 2 and r.status == "created"
    kind, rule, actions = stored(desk, r.ticket)
    assert (kind, rule) == ("cancellation", "written-cancellation")
    assert "on-behalf" in actions
