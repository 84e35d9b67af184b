"""The open-complaints report: which tickets, their age and SLA state, oldest first, in
every format; on SQLite and PostgreSQL through the real ingest path."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from bot.config import TEMPLATES_DIR
from bot.core import report
from bot.core.render import Renderer
from bot.desk import intake, queries
from bot.store.models import Ticket
from tests.conftest import OPERATOR

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def mail(n: int, subject: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"klant{n}@bedrijf{n}.nl"
    m["To"] = "support@desk.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<r{n}@bedrijf{n}.nl>"
    # the subject decides ("niet tevreden" in the body would make every mail a complaint)
    m.set_content("Goedendag,\n\nZie het onderwerp.\n")
    return bytes(m)


def test_open_complaints_oldest_first_with_age_and_sla(make_desk):
    svc = make_desk(start=T0)
    clock = svc.clock
    numbers = {}
    for n, (days, subject) in enumerate([(0, "Klacht over levering"),
                                         (3, "Klacht: <script>alert(1)</script>"),
                                         (5, "Vraag over openingstijden"),
                                         (6, "=HYPERLINK(\"x\") klacht"),
                                         (8, "Klacht over factuur")]):
        clock.now = T0 + timedelta(days=days)
        numbers[n] = intake.ingest_raw(svc, mail(n, subject), f"t{n}").ticket
    with svc.sessions() as s, s.begin():
        s.get(Ticket, numbers[4]).status = "resolved"
        s.get(Ticket, numbers[1]).first_action_at = T0 + timedelta(days=3, hours=2)
        s.get(Ticket, numbers[0]).action_due_at = T0 + timedelta(hours=24)
    now = T0 + timedelta(days=10, hours=1)
    rows = queries.open_complaints(svc, OPERATOR, now)
    assert [r["number"] for r in rows] == [numbers[0], numbers[1], numbers[3]]
    assert [r["age_days"] for r in rows] == [10, 7, 4]
    # rules.yaml sla complaint: first action 24h, resolution 10d (sales manager)
    assert rows[0]["sla"] == ("breached; first action overdue since 2026-11-03 09:00 UTC; "
                              "resolution overdue since 2026-11-12 09:00 UTC") and rows[0]["overdue"]
    assert rows[1]["sla"] == ("on time; first action done; resolution due 2026-11-15 09:00 UTC")
    assert not rows[1]["overdue"]
    assert rows[2]["sla"] == ("breached; first action overdue since 2026-11-09 09:00 UTC; "
                              "resolution due 2026-11-18 09:00 UTC") and rows[2]["overdue"]
    # a complaint with no more specific subject from an unknown company: the RSM (S 4.1, S 8.1)
    assert rows[0]["customer"] == "bedrijf0.nl" and rows[0]["owner"] == "rob"

    text = report.render(rows, "table", now)
    assert text.splitlines()[0].startswith("Ticket  Age (days)  Customer")
    assert len(text.splitlines()) == 4

    parsed = list(csv.reader(io.StringIO(report.render(rows, "csv", now))))
    assert parsed[0] == ["number", "tag", "age_days", "customer", "subject", "owner", "status",
                         "sla", "created"]
    assert parsed[3][4] == "'=HYPERLINK(\"x\") klacht"  # never a live formula

    html = report.render(rows, "html", now, svc.renderer)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Open complaints on 2026-11-12 10:00 UTC: 3" in html
    assert html.count("<tr>") == 4

    assert [r["number"] for r in json.loads(report.render(rows, "json", now))] == [
        numbers[0], numbers[1], numbers[3]]


def test_no_open_complaints():
    now = T0
    assert report.render([], "table", now) == "No open complaints.\n"
    assert "No open complaints." in report.render([], "html", now, Renderer(TEMPLATES_DIR))
    assert report.render([], "csv", now).count("\r\n") == 1
