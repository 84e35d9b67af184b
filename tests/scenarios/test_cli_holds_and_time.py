"""Issue 14 on the command line (bot.cli.main, in process, settings from the environment),
SQLite and PostgreSQL: invoice holds from a receivables mail, by hand, released on
resolve, listed as CSV and mailed to receivables by the scheduled export; time
registration and its monthly report; `show` with watchers, field changes and times in the
desk's time zone."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import CONTRACTS, CUSTOMERS, RULES, START

SETTINGS_VARS = ("DATABASE_URL", "IMAP_URL", "SMTP_URL")


class CLI:
    def __init__(self, capsys, now: datetime = START):
        self.capsys, self.now = capsys, now

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        rc = main(["--now", self.now.isoformat(), *argv])
        out, err = self.capsys.readouterr()
        return rc, out, err

    def ok(self, *argv: str) -> str:
        rc, out, err = self(*argv)
        assert rc == 0, err
        return out

    def json(self, *argv: str):
        return json.loads(self.ok(*argv, "--json"))


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch, capsys) -> CLI:
    for var in list(os.environ):
        if var in SETTINGS_VARS or var.startswith("TICKETBOT_"):
            monkeypatch.delenv(var)
    for k, v in {"DATABASE_URL": db_url, "TICKETBOT_MAIL_DIR": str(tmp_path / "outgoing"),
                 "TICKETBOT_ADDRESS": "support@desk.example", "TICKETBOT_RULES": str(RULES),
                 "TICKETBOT_DOMAINS": "desk.example"}.items():
        monkeypatch.setenv(k, v)
    c = CLI(capsys)
    for what, text in (("customers", CUSTOMERS), ("contracts", CONTRACTS)):
        path = tmp_path / f"{what}.csv"
        path.write_text(text, encoding="utf-8")
        c.ok("import", what, str(path))
    return c


def mail(tmp_path: Path, name: str, sender: str, subject: str, body: str) -> str:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "support@desk.example", subject
    m["Message-ID"] = f"<{name}@x>"
    m.set_content(body)
    path = tmp_path / f"{name}.eml"
    path.write_bytes(bytes(m))
    return str(path)


def sent_mails(tmp_path: Path, to: str) -> list:
    out = []
    for p in sorted((tmp_path / "outgoing").glob("*.eml")):
        m = message_from_bytes(p.read_bytes(), policy=default_policy)
        if m["To"] == to:
            out.append(m)
    return out


def test_invoice_holds_from_mail_by_hand_released_on_resolve_and_exported(cli, tmp_path):
    path = mail(tmp_path, "f1", "Jan Jansen <jan@bakkerij-jansen.nl>", "Factuur 2026-114 klopt niet",
                "Goedendag,\n\nFactuur 2026-114 en 2026-115 kloppen niet; ons IBAN is "
                "NL91ABNA0417164300, bel 06-12345678.\nHet bedrag van € 250,00 is te hoog.\n")
    [row] = [json.loads(line) for line in cli.ok("ingest", "--json", path).splitlines()]
    n = row["ticket"]
    held = cli.json("holds")
    assert [(h["invoice"], h["ticket"], h["customer"], h["source"]) for h in held] == [
        ("2026-114", n, "Bakkerij Jansen", "text"), ("2026-115", n, "Bakkerij Jansen", "text")]
    assert held[0]["held_since"] == "2026-11-23T10:00:00+01:00"  # the desk's time, to the second
    # by hand: one more, a duplicate refused, one released
    assert "on hold now: 2026-114, 2026-115, FV/2026/11/3" in cli.ok("hold", str(n), "FV/2026/11/3", "--by", "ruud")
    rc, _, err = cli("hold", str(n), "2026-114")
    assert rc == 2 and "already on hold" in err
    cli.ok("hold", str(n), "2026-115", "--release", "--reason", "credited", "--by", "ruud")
    rc, _, err = cli("hold", str(n), "9999", "--release")
    assert rc == 2 and "not on hold" in err
    table = list(csv.reader(io.StringIO(cli.ok("holds", "--csv"))))
    assert table[0] == ["invoice", "ticket", "customer", "contact", "subject", "owner", "status",
                        "held_since", "held_by", "source"]
    assert [(r[0], r[8], r[9]) for r in table[1:]] == [("2026-114", "rules", "text"),
                                                        ("FV/2026/11/3", "ruud", "hand")]
    # the scheduled export (rules.yaml: 07:00 on working days) mails receivables the CSV
    cli.now = datetime(2026, 11, 24, 6, 5, tzinfo=UTC)  # Tuesday 07:05 in Amsterdam
    done = json.loads(cli.ok("sweep", "--json"))
    assert done["invoice_holds_export"] == 1
    assert json.loads(cli.ok("sweep", "--json")).get("invoice_holds_export") is None  # once
    [export] = [m for m in sent_mails(tmp_path, "debiteuren@desk.example")
                if "on hold" in str(m["Subject"])]
    body = export.get_body(("plain",)).get_content()
    assert "2026-114" in body and "FV/2026/11/3" in body and "2026-115" not in body
    [attached] = list(export.iter_attachments())
    assert attached.get_filename() == "invoice-holds-2026-11-24.csv"
    rows = list(csv.reader(io.StringIO(attached.get_content().decode("utf-8-sig")
                                       if isinstance(attached.get_content(), bytes)
                                       else attached.get_content().lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == ["2026-114", "FV/2026/11/3"]
    # resolving releases every hold, each an event
    cli.ok("resolve", str(n), "--no-mail", "--by", "ruud")
    assert cli.json("holds") == []
    released = [e for e in cli.json("show", str(n))["events"] if e["action"] == "invoice-released"]
    assert sorted(e["detail"]["invoice"] for e in released) == ["2026-114", "2026-115", "FV/2026/11/3"]
    assert len(cli.json("holds", "--all")) == 3
    rc, _, err = cli("hold", str(n), "2026-200")
    assert rc == 2 and "reopen it first" in err


def test_time_is_logged_reported_per_month_and_shown(cli, tmp_path):
    path = mail(tmp_path, "q1", "Jan Jansen <jan@bakkerij-jansen.nl>", "Klacht over de bezorging",
                "De krant kwam weer niet. Ik ben ontevreden.\n")
    n = json.loads(cli.ok("ingest", "--json", path))["ticket"]
    assert cli.ok("time", str(n), "15m", "called", "the", "customer", "--by", "sanne").strip() == (
        f"[TB-{n}]: 15m logged for sanne; 15m on this ticket in all")
    assert cli.json("time", str(n), "1h30", "--by", "marta")["total"] == "1h45"
    cli.ok("time", str(n), "1.5h", "--by", "sanne")
    rc, _, err = cli("time", str(n), "lots")
    assert rc == 2 and "not a duration" in err
    cli.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # December: another month
    cli.ok("time", str(n), "90", "--by", "sanne")
    rep = cli.json("time-report", "--month", "2026-11")
    assert [(r["person"], r["customer"], r["kind"], r["entries"], r["minutes"]) for r in rep["rows"]] == [
        ("marta", "Bakkerij Jansen", "complaint", 1, 90), ("sanne", "Bakkerij Jansen", "complaint", 2, 105)]
    assert rep["total"] == "3h15"
    table = list(csv.reader(io.StringIO(cli.ok("time-report", "--month", "2026-11", "--csv"))))
    assert table == [["month", "person", "name", "customer", "kind", "entries", "minutes", "hours"],
                     ["2026-11", "marta", "Marta Kowalska", "Bakkerij Jansen", "complaint", "1", "90", "1.5"],
                     ["2026-11", "sanne", "Sanne Jansen", "Bakkerij Jansen", "complaint", "2", "105", "1.75"]]
    assert cli.json("time-report", "--month", "2026-12")["total"] == "1h30"
    rc, _, err = cli("time-report", "--month", "november")
    assert rc == 2 and "YYYY-MM" in err
    shown = cli.ok("show", str(n))
    assert "  time: 4h45" in shown
    assert "  2026-11-23 10:00 CET sanne: 15m — called the customer" in shown


def test_show_prints_watchers_field_changes_and_local_times(cli, tmp_path):
    path = mail(tmp_path, "c1", "Jan Jansen <jan@bakkerij-jansen.nl>", "Opzegging",
                "Hierbij zeggen wij ons contract C-100 op.\n")
    n = json.loads(cli.ok("ingest", "--json", path))["ticket"]
    cli.ok("kind", str(n), "dispute")
    cli.ok("field", str(n), "amount", "1250.00")
    cli.ok("field", str(n), "amount", "1300.00")
    out = cli.ok("show", str(n))
    assert "  watchers: sanne" in out  # the cancellation rule adds sales support
    assert "  field amount: 1300.00" in out
    assert ": field amount: 1250.00 -> 1300.00" in out
    assert ": kind cancellation -> dispute" in out
    assert "  created: 2026-11-23 10:00 CET" in out and "+00:00" not in out
    d = cli.json("show", str(n))
    assert d["created"] == "2026-11-23T10:00:00+01:00"
    assert all("." not in e["at"] and e["at"].endswith("+01:00") for e in d["events"])
    assert cli.json("tickets")[0]["created"] == "2026-11-23T10:00:00+01:00"
