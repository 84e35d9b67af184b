"""Full-text search (issue 11) on SQLite FTS5 and PostgreSQL: stems in Dutch, English and
Polish, notes, diacritics, phrases and prefixes, relevance, the permission check, and a
query that is only ever text (no SQL, no FTS operators)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import text

from bot.core import search_text
from bot.desk import actions, board, fulltext, intake, queries
from bot.desk.actor import Actor, Via
from bot.desk.errors import Refused
from tests.conftest import OPERATOR, who


def mail(n: int, sender: str, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@desk.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<fts{n}@klant.example>"
    msg["Date"] = "Mon, 23 Nov 2026 09:00:00 +0000"
    msg.set_content(body)
    return msg.as_bytes()


@pytest.fixture
def tickets(desk):
    """Four tickets in three languages; returns their numbers by name."""
    made = {}
    for n, (name, sender, subject, body) in enumerate([
            ("nl", "jan@bakkerij-jansen.nl", "Vraag over de rekening",
             "Goedemorgen, de factuur van oktober klopt niet. Wij betalen pas als het is "
             "gecorrigeerd. Met vriendelijke groet, Jan"),
            ("en", "zeger@hotelzee.nl", "Question about billing",
             "Hello, the invoice for October is wrong, we were charged twice for the banner. "
             "Kind regards"),
            ("pl", "kasia@kowalski.pl", "Problem z kontem",
             "Dzień dobry, nie mogę się zalogować do panelu, a faktura jest błędna. Pozdrawiam"),
            ("other", "olga@drukkerij-oost.nl", "Advertentie in de krant",
             "Wij willen graag een advertentie plaatsen in het café-katern van zaterdag.")]):
        made[name] = intake.ingest_raw(desk, mail(n, sender, subject, body), "t").ticket
    return made


def index_rows(desk) -> list:
    """The search index's rows: (ticket, head, body), by ticket."""
    with desk.uow.read() as s:
        return s.execute(text("SELECT ticket_id, head, body FROM ticket_search ORDER BY ticket_id")).all()


def found(desk, words: str, actor=OPERATOR) -> list[int]:
    return [t["number"] for t in board.find_tickets(desk, actor, board.Filters(q=words))["tickets"]]


def test_stems_find_other_forms_in_each_language(desk, tickets):
    assert found(desk, "facturen") == [tickets["nl"]]          # nl: factuur
    assert found(desk, "invoices") == [tickets["en"]]          # en: invoice
    assert found(desk, "charging") == [tickets["en"]]          # en: charged
    assert found(desk, "faktury") == [tickets["pl"]]           # pl: faktura
    assert found(desk, "advertenties") == [tickets["other"]]   # nl, in subject and body
    assert found(desk, "zeppelin") == []
    # every word must be there
    assert found(desk, "factuur oktober") == [tickets["nl"]]
    assert found(desk, "factuur banner") == []
    # the same search from the command line and Slack
    assert [d["number"] for d in queries.search(desk, OPERATOR, "facturen")] == [tickets["nl"]]


def test_diacritics_either_way(desk, tickets):
    assert found(desk, "cafe") == [tickets["other"]]
    assert found(desk, "CAFÉ") == [tickets["other"]]
    assert found(desk, "blędna") == [tickets["pl"]]   # ł for ę typed wrongly: still the word
    assert found(desk, "dzien") == [tickets["pl"]]


def test_a_word_only_in_a_note_or_a_reply_is_found_by_staff(desk, tickets):
    sanne = who(desk, "sanne")
    actions.add_note(desk, sanne, tickets["en"], "Intern: klant belt terug over de kwijtschelding")
    actions.reply(desk, sanne, tickets["nl"], "Wij hebben de creditnota verstuurd.")
    assert found(desk, "kwijtschelding", sanne) == [tickets["en"]]
    assert found(desk, "creditnota", sanne) == [tickets["nl"]]
    stranger = Actor.stranger("slack:U0NOBODY", Via.SLACK)
    with pytest.raises(Refused):
        board.find_tickets(desk, stranger, board.Filters(q="kwijtschelding"))
    with pytest.raises(Refused):
        queries.search(desk, stranger, "kwijtschelding")


def test_phrases_prefixes_and_relevance(desk, tickets):
    assert found(desk, '"kind regards"') == [tickets["en"]]
    assert found(desk, '"regards kind"') == []
    assert found(desk, "advert*") == [tickets["other"]]
    assert found(desk, "zalog*") == [tickets["pl"]]
    # a word in the subject weighs more than one in the body; ties: the latest first
    extra = intake.ingest_raw(desk, mail(9, "jan@bakkerij-jansen.nl", "Factuur",
                                         "Zie bijlage, groet"), "t").ticket
    assert found(desk, "factuur") == [extra, tickets["nl"]]
    listed = board.find_tickets(desk, OPERATOR, board.Filters(q="factuur", sort="oldest"))
    assert [t["number"] for t in listed["tickets"]] == [tickets["nl"], extra]


@pytest.mark.parametrize("typed", [
    "'", '"', "''; DROP TABLE ticket; --", "NEAR(factuur oktober)", "factuur NOT oktober",
    "factuur OR banner", "-factuur", "^factuur", "head:factuur", "factuur*:*", "(factuur",
    "factuur & !oktober", "factuur | banner", "factuur <-> oktober", "\\", "*", "%", "_", "***",
    "factuur\x00oktober", "{factuur}", "factuur +oktober",
])
def test_the_query_is_only_text(desk, tickets, typed):
    """Quotes and the operators of FTS5 and tsquery are text: never an error, never a
    different query; whatever words are in it must all be there."""
    got = found(desk, typed)
    words = set(search_text.words(typed))
    if not words:
        assert got == []
    for n in got:  # what was found has all of the words (stemmed) somewhere
        assert n in found(desk, " ".join(words))
    assert "NOT" not in typed or got == []  # "not" is a word here, and no ticket has it
    assert found(desk, "factuur") == [tickets["nl"]]  # the table is still there


def test_reindex_rebuilds_what_the_writes_kept(desk, tickets):
    before = index_rows(desk)
    with desk.uow.write() as s:
        s.execute(text("DELETE FROM ticket_search"))
    assert found(desk, "facturen") == []
    assert fulltext.reindex(desk, OPERATOR) == len(tickets)
    after = index_rows(desk)
    assert after == before
    assert found(desk, "facturen") == [tickets["nl"]]
    with pytest.raises(Refused):
        fulltext.reindex(desk, who(desk, "sanne").__class__.of(desk.ruleset.people["sanne"], Via.WEB))


def test_a_common_word_is_counted_up_to_a_bound_then_listed_newest_first(desk, tickets, monkeypatch):
    """More matches than board.SEARCH_RANKED: "more than N", newest first (ranking every
    match of a common word would cost seconds on a big desk); fewer: best match first."""
    extra = intake.ingest_raw(desk, mail(9, "jan@bakkerij-jansen.nl", "Factuur", "Zie bijlage"), "t").ticket
    ranked = board.find_tickets(desk, OPERATOR, board.Filters(q="factuur"))
    assert not ranked["more"] and ranked["total"] == 2
    assert [t["number"] for t in ranked["tickets"]] == [extra, tickets["nl"]]  # subject first
    monkeypatch.setattr(board, "SEARCH_RANKED", 1)
    many = board.find_tickets(desk, OPERATOR, board.Filters(q="factuur"))
    assert many["more"] and many["total"] == 1
    assert [t["number"] for t in many["tickets"]] == [extra, tickets["nl"]]  # newest first
    oldest = board.find_tickets(desk, OPERATOR, board.Filters(q="factuur", sort="oldest"))
    assert [t["number"] for t in oldest["tickets"]] == [tickets["nl"], extra]


def test_the_dashboard_counts_open_tickets_and_weeks(desk, tickets):
    sanne = who(desk, "sanne")
    actions.resolve(desk, sanne, tickets["en"], "done")
    d = board.dashboard(desk, OPERATOR)
    assert sum(d["totals"].values()) == 3 and sum(d["by_kind"].values()) == 3
    this_week = d["weeks"][-1]
    assert this_week == {"week": "2026-11-23", "opened": 4, "resolved": 1}
    assert all(w["opened"] == 0 and w["resolved"] == 0 for w in d["weeks"][:-1])


def test_a_reopen_by_mail_is_searchable_as_a_rebuilt_index_has_it(desk, tickets):
    """The intake writes a batch's events in one INSERT, not as ORM objects: their notes
    (here the reason a customer's reply reopened a ticket: "the customer replied") still
    reach the index as the flush hook puts an Event object's, and the live index has the
    words a rebuild gives."""
    actions.resolve(desk, who(desk, "sanne"), tickets["en"], "refund sent")
    reply = mail(20, "zeger@hotelzee.nl", f"Re: [TB-{tickets['en']}] Question about billing",
                 "It is still wrong, we see two charges on the statement.")
    result = intake.ingest_raw(desk, reply, "t")
    assert (result.status, result.ticket) == ("appended", tickets["en"])
    live = index_rows(desk)
    fulltext.reindex(desk, OPERATOR)
    rebuilt = index_rows(desk)
    # the same words (a rebuild puts a ticket's notes after all its messages; the writes
    # append each in its turn)
    assert [(t, h, sorted(b.split())) for t, h, b in live] == \
        [(t, h, sorted(b.split())) for t, h, b in rebuilt]
