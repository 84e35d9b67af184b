"""`ticketbot routing report`: the rules behind tickets people corrected, with the words
they matched on and a suggestion; never an edit of rules.yaml."""

from __future__ import annotations

from bot.desk import actions, corrections, intake, queries
from tests.conftest import OPERATOR, RULES, who


def mail(n: int, subject: str, body: str) -> bytes:
    return (f"From: Jan <jan{n}@bakkerij-jansen.nl>\r\nTo: support@desk.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <c{n}@bakkerij-jansen.nl>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n").encode()


def test_corrected_tickets_are_reported_per_rule_with_their_words(desk):
    before = RULES.read_text()
    n1 = intake.ingest_raw(desk, mail(1, "Factuur", "De factuur voor de banner klopt niet."), "t").ticket
    n2 = intake.ingest_raw(desk, mail(2, "Factuur", "Kunt u de factuur opnieuw sturen?"), "t").ticket
    intake.ingest_raw(desk, mail(3, "Vraag", "Wat kost een banner?"), "t")  # not corrected
    rule = queries.ticket_detail(desk, OPERATOR, n1)["rule"]
    assert queries.ticket_detail(desk, OPERATOR, n2)["rule"] == rule
    sanne = who(desk, "sanne")
    actions.set_kind(desk, sanne, n1, "complaint")
    actions.assign(desk, sanne, n1, "advisor", "de klant is ontevreden over de plaatsing")
    actions.set_kind(desk, sanne, n2, "complaint")
    [row] = corrections.report(desk, OPERATOR)
    assert (row["rule"], row["corrected"]) == (rule, 2)
    (change, n), *rest = row["changes"]
    assert change.startswith("kind ") and change.endswith(" → complaint") and n == 2
    assert [c for c, _ in rest] and all(c.startswith("owner ") for c, _ in rest)
    assert "factuur" in row["words"]
    assert [e["ticket"] for e in row["examples"]] == [desk.tag(n1), desk.tag(n2)]
    assert "complaint" in row["suggestion"] and rule in row["suggestion"]
    assert RULES.read_text() == before  # suggested, never applied


def test_nothing_corrected_nothing_reported(desk):
    intake.ingest_raw(desk, mail(4, "Factuur", "De factuur klopt niet."), "t")
    actions.add_note(desk, who(desk, "sanne"), 1, "gezien")
    assert corrections.report(desk, OPERATOR) == []
