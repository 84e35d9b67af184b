"""The `ticketbot` command line: in-process through bot.cli.main, and the real console
script in a subprocess. Settings come from the environment, as in production."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text, update

from bot.cli import main
from bot.store.models import Ticket, make_engine
from tests.conftest import RULES, START
from tests.support.mailgen import customer_mail

ADDRESS = "support@desk.example"
RESULT_KEYS = {"source", "status", "ticket", "warnings"}
GARBAGE = b"\x00\x01\x02\xff\xfe binary junk \x00\x00\r\n" * 4
SETTINGS_VARS = ("DATABASE_URL", "IMAP_URL", "SMTP_URL")


def _clean_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items()
            if k not in SETTINGS_VARS and not k.startswith("TICKETBOT_")}


@pytest.fixture
def cli_env(tmp_path, monkeypatch) -> dict[str, str]:
    """The bot's settings as environment variables; returns them."""
    for var in list(os.environ):
        if var in SETTINGS_VARS or var.startswith("TICKETBOT_"):
            monkeypatch.delenv(var)
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/ticketbot.sqlite3",
        "TICKETBOT_MAIL_DIR": str(tmp_path / "outgoing"),
        "TICKETBOT_ADDRESS": ADDRESS,
        "TICKETBOT_RULES": str(RULES),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


class CLI:
    """Runs bot.cli.main in this process and returns (exit code, stdout, stderr). Every
    command runs at the injected time `now` (the global --now), never at today's date."""

    def __init__(self, capsys, now: datetime = START):
        self.capsys = capsys
        self.now = now

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()  # drop anything printed before
        rc = main(["--now", self.now.isoformat(), *argv])
        out, err = self.capsys.readouterr()
        return rc, out, err

    def json(self, *argv: str):
        rc, out, err = self(*argv, "--json")
        assert rc == 0, err
        return json.loads(out)

    def ingest(self, *paths) -> list[dict]:
        rc, out, err = self("ingest", "--json", *map(str, paths))
        assert rc == 0, err
        rows = [json.loads(line) for line in out.splitlines()]
        for row in rows:
            assert set(row) == RESULT_KEYS
        return rows


@pytest.fixture
def cli(cli_env, capsys) -> CLI:
    return CLI(capsys)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def ticketbot_exe() -> str:
    exe = Path(sys.executable).parent / "ticketbot"
    assert exe.is_file(), f"console script not installed at {exe}"
    return str(exe)


def run_script(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ticketbot_exe(), *args], env={**_clean_env(os.environ), **env},
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def subject_of(raw: bytes) -> str:
    return str(BytesParser(policy=default_policy).parsebytes(raw)["Subject"])


def attachment_sizes(raw: bytes) -> list[tuple[str, str, int]]:
    msg = BytesParser(policy=default_policy).parsebytes(raw)
    return [(a.get_filename(), a.get_content_type(), len(a.get_content()))
            for a in msg.iter_attachments()]


# --------------------------------------------------------------------------- ingest
def test_ingest_single_eml_then_again_is_duplicate(cli, tmp_path):
    path = write(tmp_path / "in" / "first.eml", customer_mail(1, message_id="first@customer.example"))
    [row] = cli.ingest(path)
    assert row == {"source": f"file:{path}", "status": "created", "ticket": 1, "warnings": []}
    [again] = cli.ingest(path)
    assert again == {"source": f"file:{path}", "status": "duplicate", "ticket": 1, "warnings": []}
    assert [t["number"] for t in cli.json("tickets")] == [1]


def test_ingest_an_archive_without_acknowledgements_then_search_it(cli, tmp_path):
    """Issue 14: `ingest --no-ack` mails no customer (each ticket says so); `search` is
    Slack's /ticket search on the command line."""
    a = write(tmp_path / "a.eml", customer_mail(2, message_id="a@customer.example", subject="Zeppelin-advertentie"))
    b = write(tmp_path / "b.eml", customer_mail(3, message_id="b@customer.example", subject="Quokka-vraag"))
    rc, out, err = cli("ingest", "--no-ack", str(a), str(b))
    assert rc == 0
    assert not [o for o in cli.json("outbox") if o["purpose"] == "ack"]
    events = [e for e in cli.json("show", "1")["events"] if e["action"] == "ack-skipped"]
    assert events and "--no-ack" in events[0]["reason"]
    rc, out, err = cli("search", "zeppelin")
    assert rc == 0 and out.splitlines() == [out.splitlines()[0]] and "Zeppelin-advertentie" in out
    assert [d["number"] for d in cli.json("search", "quokka")] == [2]
    rc, out, err = cli("search", "nothing-like-this")
    assert rc == 0 and out == "" and "nothing found" in err


def test_ingest_reply_is_appended_and_unreadable_files_are_quarantined(cli, tmp_path):
    folder = tmp_path / "mail"
    first = write(folder / "1-first.eml", customer_mail(0, message_id="q1@customer.example",
                                                         variant="plain"))
    reply = write(folder / "2-reply.eml", customer_mail(  # the same customer answers
        0, message_id="q2@customer.example", variant="plain", subject="Re: something else",
        in_reply_to="q1@customer.example"))
    empty = write(folder / "3-empty.eml", b"")
    junk = write(folder / "4-garbage.eml", GARBAGE)
    rows = cli.ingest(folder)
    assert [(r["source"], r["status"], r["ticket"]) for r in rows] == [
        (f"file:{first}", "created", 1),
        (f"file:{reply}", "appended", 1),
        (f"file:{empty}", "quarantined", None),
        (f"file:{junk}", "quarantined", None),
    ]
    assert rows[2]["warnings"] == ["unreadable: empty input"]
    assert rows[3]["warnings"] and rows[3]["warnings"][0].startswith("unreadable:")
    detail = cli.json("show", "1")
    inbound = [m for m in detail["messages"] if m["direction"] == "in"]
    assert [m["message_id"] for m in inbound] == ["q1@customer.example", "q2@customer.example"]
    assert [t["number"] for t in cli.json("tickets")] == [1]


def test_ingest_maildir(cli, tmp_path):
    md = mailbox.Maildir(tmp_path / "Maildir", create=True)
    mails = [customer_mail(i, variant="plain", message_id=f"md{i}@customer.example")
             for i in range(3)]
    for raw in mails:
        md.add(raw)
    keys = sorted(md.keys())
    rows = cli.ingest(tmp_path / "Maildir")
    assert [r["source"] for r in rows] == [f"maildir:{tmp_path / 'Maildir'}/{k}" for k in keys]
    assert [r["status"] for r in rows] == ["created"] * 3
    assert sorted(r["ticket"] for r in rows) == [1, 2, 3]
    subjects = {t["subject"] for t in cli.json("tickets")}
    assert subjects == {subject_of(m) for m in mails}


def test_ingest_mbox(cli, tmp_path):
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(path, create=True)
    mails = [customer_mail(i, message_id=f"mb{i}@customer.example", variant="plain")
             for i in (10, 11, 12)]
    for raw in mails:
        box.add(raw)
    box.flush()
    box.close()
    rows = cli.ingest(path)
    assert [(r["source"], r["status"], r["ticket"]) for r in rows] == [
        (f"mbox:{path}#1", "created", 1),
        (f"mbox:{path}#2", "created", 2),
        (f"mbox:{path}#3", "created", 3),
    ]
    for n, raw in enumerate(mails, start=1):
        [m] = cli.json("show", str(n))["messages"][:1]
        assert m["message_id"] == f"mb{n + 9}@customer.example"
        assert m["subject"] == subject_of(raw)


def test_ingest_folder_of_eml_files_with_nested_folder_and_parser_pool(cli, tmp_path):
    folder = tmp_path / "inbox"
    for i in range(10):  # >= 8 mails: parsed in the process pool
        write(folder / f"{i:02d}.eml", customer_mail(i, message_id=f"f{i}@customer.example"))
    write(folder / "sub" / "deep.eml", customer_mail(99, message_id="deep@customer.example"))
    write(folder / "notes.txt", b"not a mail, not picked up")
    rc, out, err = cli("ingest", "--json", "--workers", "2", str(folder))
    assert rc == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["source"] for r in rows] == (
        [f"file:{folder}/{i:02d}.eml" for i in range(10)] + [f"file:{folder}/sub/deep.eml"])
    assert [r["status"] for r in rows] == ["created"] * 11
    assert [r["ticket"] for r in rows] == list(range(1, 12))


def test_ingest_human_output_and_summary(cli, tmp_path):
    path = write(tmp_path / "a.eml", customer_mail(1, message_id="h1@customer.example",
                                                   variant="plain"))
    junk = write(tmp_path / "b.eml", GARBAGE)
    rc, out, err = cli("ingest", str(path), str(path), str(junk))
    assert rc == 0
    assert out.splitlines() == [
        f"file:{path}: created ticket 1",
        f"file:{path}: duplicate ticket 1",
        f"file:{junk}: quarantined (unreadable: binary data without mail headers)",
    ]
    assert err.strip().splitlines()[-1] == "1 created, 1 duplicate, 1 quarantined"


# --------------------------------------------------------------------------- queries
def test_tickets_json_and_status_filter(cli, cli_env, tmp_path):
    for i in range(3):
        write(tmp_path / "in" / f"{i}.eml", customer_mail(i, message_id=f"t{i}@customer.example"))
    assert [r["status"] for r in cli.ingest(tmp_path / "in")] == ["created"] * 3
    engine = make_engine(cli_env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(update(Ticket).where(Ticket.id == 2).values(status="open"))
    engine.dispose()

    everything = cli.json("tickets")
    assert [(t["number"], t["tag"], t["status"]) for t in everything] == [
        (1, "[TB-1]", "new"), (2, "[TB-2]", "open"), (3, "[TB-3]", "new")]
    assert everything[0]["contact"] == "contact0@customer0.example"
    assert everything[0]["subject"] == "Vraag over factuur 0"

    assert [t["number"] for t in cli.json("tickets", "--status", "new")] == [1, 3]
    assert [t["number"] for t in cli.json("tickets", "--status", "open")] == [2]
    assert cli.json("tickets", "--status", "resolved") == []

    rc, out, _ = cli("tickets", "--status", "new")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NUMBER", "STATUS", "KIND"]
    assert [line.split()[:2] for line in lines[1:]] == [["1", "new"], ["3", "new"]]
    rc, out, _ = cli("tickets", "--status", "closed")
    assert (rc, out.strip()) == (0, "(none)")


def test_show_json_has_messages_attachments_and_events(cli, tmp_path):
    raw = customer_mail(3, variant="attachment", lang="en", message_id="att@customer.example")
    [(name, ctype, size)] = attachment_sizes(raw)
    assert name == "factuur-3.pdf"
    cli.ingest(write(tmp_path / "att.eml", raw))
    d = cli.json("show", "1")
    assert (d["number"], d["tag"], d["status"]) == (1, "[TB-1]", "new")
    assert d["subject"] == "Question about invoice 3"
    inbound, ack = d["messages"]
    assert inbound["direction"] == "in"
    assert inbound["from"] == "contact3@customer3.example"
    assert inbound["subject"] == "Question about invoice 3"
    assert "question about this month's invoice" in inbound["text"]
    assert inbound["attachments"] == [
        {"name": name, "type": ctype, "size": size, "inline": False}]
    assert ack["direction"] == "out"
    assert ack["from"] == ADDRESS
    assert ack["to"] == "contact3@customer3.example"
    assert ack["subject"] == "Re: [TB-1] Question about invoice 3"
    assert "[TB-1]" in ack["text"]
    assert ack["attachments"] == []
    assert ack["delivery"] == "queued"
    assert [(e["action"], e["actor"]) for e in d["events"]] == [
        ("created", "customer:contact3@customer3.example"), ("routed", "rules"),
        ("notified", "system")]  # the owner was told (by mail: ruud has no system access)
    # "Question about invoice": the shipped rules.yaml gives it to receivables
    assert (d["kind"], d["owner"], d["owner_role"], d["rule"]) == (
        "invoice", "ruud", "receivables", "invoice")
    assert d["customer"] == "customer3.example"  # a prospect, named after its domain


def test_show_human_output(cli, tmp_path):
    raw = customer_mail(3, variant="attachment", lang="en", message_id="hum@customer.example")
    [(name, ctype, size)] = attachment_sizes(raw)
    cli.ingest(write(tmp_path / "att.eml", raw))
    rc, out, err = cli("show", "1")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "[TB-1] Question about invoice 3"
    assert "  status: new" in lines
    assert "  contact: contact3@customer3.example" in lines
    incoming = [line for line in lines if line.startswith("<- ")]
    outgoing = [line for line in lines if line.startswith("-> ")]
    assert len(incoming) == 1 and incoming[0].endswith(
        "contact3@customer3.example: Question about invoice 3")
    assert len(outgoing) == 1 and outgoing[0].endswith(
        "to contact3@customer3.example [queued]: Re: [TB-1] Question about invoice 3")
    assert f"   [attachment] {name} ({ctype}, {size} bytes)" in lines
    events = lines[lines.index("events:") + 1:]
    assert len(events) == 3 and events[0].endswith("customer:contact3@customer3.example: created")
    assert events[1].endswith("rules: routed — role receivables")
    assert events[2].endswith("system: notified")


# --------------------------------------------------------------------------- outbox
def test_outbox_lists_queued_then_send_writes_files(cli, cli_env, tmp_path):
    for i in range(2):
        write(tmp_path / "in" / f"{i}.eml", customer_mail(i, message_id=f"o{i}@customer.example",
                                                         variant="plain"))
    cli.ingest(tmp_path / "in")
    items = [o for o in cli.json("outbox") if o["purpose"] == "ack"]  # (and the owner's notices)
    assert [(o["ticket"], o["channel"], o["to"], o["status"]) for o in items] == [
        (1, "mail", "contact0@customer0.example", "queued"),
        (2, "mail", "contact1@customer1.example", "queued"),
    ]
    assert [o["subject"] for o in items] == ["Re: [TB-1] Vraag over factuur 0",
                                             "Re: [TB-2] Question about invoice 1"]
    assert cli.json("outbox", "--status", "sent") == []
    mail_dir = Path(cli_env["TICKETBOT_MAIL_DIR"])
    assert not mail_dir.exists()

    rc, out, err = cli("outbox", "--send", "--json")
    assert rc == 0, err
    assert err.strip().splitlines()[-1] == "4 sent, 0 retry, 0 failed"  # 2 acks, 2 notices
    assert [(o["ticket"], o["status"], o["attempts"]) for o in json.loads(out)
            if o["purpose"] == "ack"] == [(1, "sent", 1), (2, "sent", 1)]
    files = sorted(p.name for p in mail_dir.iterdir())
    assert files == sorted(f"{o['id']:08d}.eml" for o in json.loads(out))
    assert set(files) >= {f"{o['id']:08d}.eml" for o in items}
    for o in items:
        msg = BytesParser(policy=default_policy).parsebytes(
            (mail_dir / f"{o['id']:08d}.eml").read_bytes())
        assert msg["To"] == o["to"]
        assert msg["Subject"] == o["subject"]
        assert msg["Auto-Submitted"] == "auto-replied"
        assert msg["In-Reply-To"] == f"<o{o['ticket'] - 1}@customer.example>"
    # nothing is due any more: a second --send sends nothing and writes nothing
    rc, _, err = cli("outbox", "--send")
    assert rc == 0 and err.strip().splitlines()[-1] == "0 sent, 0 retry, 0 failed"
    assert sorted(p.name for p in mail_dir.iterdir()) == files


# --------------------------------------------------------------------------- db, errors
def test_db_upgrade_creates_the_schema_and_is_idempotent(cli, cli_env):
    said = []
    for _ in range(2):
        rc, out, err = cli("db", "upgrade")
        assert (rc, out) == (0, "")
        said.append(err.strip().splitlines()[-1].split(":")[0])
    assert said == ["database created", "database is up to date"]
    assert "password" not in err and cli_env["DATABASE_URL"].rpartition("/")[2] in err
    engine = create_engine(cli_env["DATABASE_URL"])
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"ticket", "raw_mail", "message", "outbox", "spool", "imap_state",
            "alembic_version"} <= tables


@pytest.mark.parametrize("argv, env, message", [
    (["show", "999"], {}, "ticketbot: no ticket 999"),
    (["ingest", "{tmp}/nowhere.eml"], {}, "ticketbot: {tmp}/nowhere.eml: no such file or folder"),
    (["tickets"], {"IMAP_URL": "ftp://x"},
     "ticketbot: IMAP_URL: unknown scheme 'ftp'; use one of imap, imap+starttls, imaps, smtp, "
     "smtp+starttls, smtps"),
    (["tickets"], {"TICKETBOT_IMAP_BATCH": "lots"},
     "ticketbot: TICKETBOT_IMAP_BATCH='lots': expected a number"),
])
def test_errors_are_one_line_without_traceback(cli, monkeypatch, tmp_path, argv, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    rc, out, err = cli(*(a.format(tmp=tmp_path) for a in argv))
    assert rc == 2
    assert out == ""
    assert err.splitlines() == [message.format(tmp=tmp_path)]


# --------------------------------------------------------------------------- console script
def test_console_script_end_to_end(cli_env, tmp_path):
    """The installed `ticketbot` script: ingest (parser pool), tickets, show, errors."""
    folder = tmp_path / "in"
    for i in range(9):
        write(folder / f"{i}.eml", customer_mail(i, message_id=f"s{i}@customer.example"))
    write(folder / "9.eml", customer_mail(1, message_id="s1@customer.example"))  # same id
    res = run_script(["db", "upgrade"], cli_env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert [line.split(":")[0] for line in res.stderr.splitlines()] == ["database created"]

    res = run_script(["ingest", "--json", "--workers", "2", str(folder)], cli_env, tmp_path)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert all(set(r) == RESULT_KEYS for r in rows)
    assert [(r["status"], r["ticket"]) for r in rows] == (
        [("created", n) for n in range(1, 10)] + [("duplicate", 2)])

    res = run_script(["tickets", "--json"], cli_env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert [t["number"] for t in json.loads(res.stdout)] == list(range(1, 10))

    res = run_script(["show", "2", "--json"], cli_env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["messages"][0]["message_id"] == "s1@customer.example"

    for args, env, message in [
        (["show", "999"], {}, "ticketbot: no ticket 999"),
        (["ingest", str(tmp_path / "missing")], {},
         f"ticketbot: {tmp_path / 'missing'}: no such file or folder"),
        (["tickets"], {"IMAP_URL": "ftp://x"}, "ticketbot: IMAP_URL: unknown scheme 'ftp'"),
    ]:
        res = run_script(args, {**cli_env, **env}, tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        assert res.stdout == ""
        assert "Traceback" not in res.stderr
        [line] = res.stderr.splitlines()
        assert line.startswith(message), (args, line)


def test_ingest_with_a_missing_path_stores_nothing(cli, cli_env, tmp_path):
    good = write(tmp_path / "good.eml", customer_mail(1))
    rc, out, err = cli("ingest", str(good), str(tmp_path / "typo.eml"))
    assert rc == 2
    assert err.splitlines() == [f"ticketbot: {tmp_path / 'typo.eml'}: no such file or folder"]
    assert cli.json("tickets") == []


def test_output_into_a_closed_pipe_is_not_an_error(cli_env, tmp_path):
    folder = tmp_path / "in"
    for i in range(300):
        write(folder / f"{i}.eml", customer_mail(i))
    env = {**_clean_env(os.environ), **cli_env}
    res = run_script(["ingest", str(folder)], cli_env, tmp_path)
    assert res.returncode == 0, res.stderr
    # `ticketbot tickets | head -1`: head exits after one line; ticketbot must not crash.
    proc = subprocess.run(f"'{ticketbot_exe()}' tickets | head -1; exit ${{PIPESTATUS[0]}}",
                          shell=True, executable="/bin/bash", env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("NUMBER")
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr


# --------------------------------------------------------------------------- rules, routing, directory
REPO_RULES = RULES


def test_check_rules_ok_and_every_problem_on_its_own_line(cli, tmp_path):
    rc, out, err = cli("check-rules", str(REPO_RULES))
    assert rc == 0, err
    assert out.startswith(f"{REPO_RULES}: OK (")
    bad = tmp_path / "bad.yaml"
    bad.write_text(REPO_RULES.read_text()
                   .replace("then: {kind: invoice, assign: receivables}",
                            "then: {kind: invoice, assign: treasurer}")
                   .replace("text_unnegated: [spoed,", "subjekt: [spoed,"))
    rc, out, err = cli("check-rules", str(bad))
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"ticketbot: {bad}:") and "unknown condition 'subjekt'" in lines[0]
    assert "assign 'treasurer' is neither a person nor a role" in lines[1]
    line_no = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "treasurer" in t)
    assert lines[1].startswith(f"ticketbot: {bad}:{line_no}:")


def test_bot_commands_refuse_an_invalid_rules_file(cli, monkeypatch, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("people: [\n")
    monkeypatch.setenv("TICKETBOT_RULES", str(bad))
    rc, out, err = cli("ingest", str(write(tmp_path / "m.eml", customer_mail(1))))
    assert rc == 2 and "Traceback" not in err
    assert err.startswith(f"ticketbot: {bad}:2:1: YAML:")


def test_route_explain_stores_nothing(cli, cli_env, tmp_path):
    raw = customer_mail(1, lang="nl", variant="plain", subject="Opzegging van ons contract")
    path = write(tmp_path / "cancel.eml", raw)
    rc, out, err = cli("route", str(path), "--explain")
    assert rc == 0, err
    assert "MATCH urgent" not in out and "MATCH written-cancellation" in out
    assert "  no    urgent (line" in out
    assert "found 'opzegging'" in out
    assert "kind:     cancellation" in out
    assert "owner:    rob (company unknown: the regional sales manager assigns one)" in out
    assert "cancellation: no contract found" in out
    d = cli.json("route", str(path))
    assert (d["kind"], d["owner"], d["rule"]) == ("cancellation", "rob", "written-cancellation")
    assert d["sender"]["how"] == "prospect"
    assert cli.json("tickets") == []


def test_import_export_assign_and_cancellation_outcome(cli, cli_env, tmp_path):
    customers = write(tmp_path / "customers.csv", (
        b"company,domains,advisor,website_access,contact_name,contact_email,contact_phone\n"
        b"Bakkerij Jansen,bakkerij-jansen.nl,marta,yes,Jan Jansen,jan@bakkerij-jansen.nl,\n"
        b"Ghost BV,ghost.nl,casper,no,Casper,casper@ghost.nl,\n"))
    rc, out, err = cli("import", "customers", str(customers))
    assert rc == 1  # a rejected row: non-zero, so scripts notice
    assert out.splitlines() == [f"{customers}: 1 added, 0 changed, 0 unchanged, 1 rejected",
                                "  line 3: unknown advisor 'casper'"]
    contracts = write(tmp_path / "contracts.csv", (
        b"contract,company,start,end,auto_renew,term_months,notice_months,status\n"
        b"C-1,Bakkerij Jansen,2026-01-01,2026-12-31,yes,12,1,active\n"))
    assert cli.json("import", "contracts", str(contracts)) == {
        "added": 1, "changed": 0, "unchanged": 0, "rejected": []}
    rc, out, err = cli("export", "contracts")
    assert rc == 0 and out.splitlines()[1].startswith("C-1,Bakkerij Jansen,2026-01-01,2026-12-31")

    mail = customer_mail(1, lang="nl", variant="plain", subject="Opzegging contract")
    mail = mail.replace(b"contact1@customer1.example", b"jan@bakkerij-jansen.nl")
    [row] = cli.ingest(write(tmp_path / "c.eml", mail))
    n = row["ticket"]
    t = cli.json("show", str(n))
    assert (t["owner"], t["cancellation"]["contract"]) == ("marta", "C-1")

    rc, out, err = cli("assign", str(n), "pieter", "--reason", "Marta is away", "--by", "sanne")
    assert rc == 0 and err.strip() == f"ticket {n}: now owned by pieter"
    # the correction shows in the routing report, with a suggestion
    rc, out, err = cli("routing", "report")
    assert rc == 0 and "1 corrected" in out and "owner advisor → " in out and "suggestion:" in out
    with pytest.raises(SystemExit) as exit_:  # argparse: usage and the missing option
        cli("assign", str(n), "pieter")
    assert exit_.value.code == 2 and "--reason" in cli.capsys.readouterr().err
    rc, out, err = cli("cancellation", str(n), "lost", "--by", "pieter")
    assert rc == 2 and err.strip() == "ticketbot: a lost customer needs a reason (--reason)"
    rc, out, err = cli("cancellation", str(n), "lost", "--reason", "price", "--by", "pieter")
    assert rc == 0 and out.strip() == f"ticket {n}: lost; the contract ends on 2026-12-31"
    rc, out, err = cli("export", "contracts")
    assert out.splitlines()[0].endswith(",status,ends_on")
    assert out.splitlines()[1].endswith(",cancelled,2026-12-31")
    [task] = cli.json("tasks")
    assert (task["kind"], task["assignee"]) == ("revoke-website-access", "sanne")
    rc, out, err = cli("tasks", "--done", str(task["id"]), "--by", "sanne", "--note", "removed")
    assert rc == 0 and err.startswith(f"task {task['id']} done: Revoke the website access")
    assert cli.json("tasks") == []
    rc, out, err = cli("tasks", "--done", "999")
    assert rc == 2 and err.strip() == "ticketbot: no task 999"
    events = [(e["action"], e["actor"]) for e in cli.json("show", str(n))["events"]]
    assert ("reassigned", "sanne") in events and ("cancellation-lost", "pieter") in events


def test_report_open_complaints_as_of_a_time(cli, cli_env, tmp_path):
    raw = customer_mail(1, lang="nl", variant="plain", subject="Klacht over de levering")
    cli.ingest(write(tmp_path / "k.eml", raw))
    rc, out, err = cli("report", "open-complaints", "--format", "json", "--now", "2026-12-31T09:00")
    assert rc == 0, err
    [row] = json.loads(out)
    assert row["number"] == 1 and row["age_days"] >= 30
    assert row["sla"].startswith("breached") and row["overdue"] is True
    assert "resolution overdue since 2026-12-03" in row["sla"]  # 10 days (rules.yaml sla: complaint)
    rc, out, err = cli("report", "open-complaints", "--now", "yesterday")
    assert rc == 2 and "use an ISO time" in err


def test_field_command(cli, cli_env, tmp_path):
    [row] = cli.ingest(write(tmp_path / "q.eml", customer_mail(1, lang="en", variant="plain",
                                                             subject="Hello there")))
    rc, out, err = cli("field", str(row["ticket"]), "amount", "10")
    assert rc == 2 and err.startswith("ticketbot: kind 'invoice' has no field 'amount'")


def test_sweep_now_runs_due_work_once_and_delivers(cli, cli_env, tmp_path):
    raw = customer_mail(1, lang="nl", variant="plain", subject="Klacht over de levering")
    [row] = cli.ingest(write(tmp_path / "k.eml", raw))
    n = row["ticket"]
    # a sweep far ahead of the clock would mark notices sent that are not due: refused,
    # and --force only rehearses (sends and records nothing)
    rc, out, err = cli("sweep", "--now", "2026-12-07T09:00")
    assert rc == 2 and "a sweep records what it sends" in err
    rc, out, err = cli("sweep", "--now", "2026-12-07T09:00", "--force", "--json")
    assert rc == 0, err
    rehearsed = json.loads(out)
    assert rehearsed["rehearsal"] is True and rehearsed["escalations"] == 2
    assert not [o for o in cli.json("outbox") if o["purpose"].startswith("sla-")]
    cli.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Amsterdam
    rc, out, err = cli("sweep", "--json")
    assert rc == 0, err
    done = json.loads(out)
    # first action (24 h) and resolution (10 days) both overdue: two escalations (their
    # reminders skipped as stale); the weekly report was due at 08:00 and goes now
    assert (done["escalations"], done["skipped"], done["open_complaints_report"]) == (2, 2, 1)
    assert done["outbox sent"] >= 5 and done["outbox failed"] == 0
    outbox = cli.json("outbox")
    notices = sorted((o["purpose"], o["to"]) for o in outbox
                     if o["purpose"] not in ("ack", "new-ticket"))
    # the mail is about a delivery invoice: receivables (ruud) owns it; their manager and
    # the sales manager are both henk
    assert notices == [("report", "henk@desk.example"),
                       ("sla-breach", "debiteuren@desk.example"),
                       ("sla-breach", "debiteuren@desk.example"),
                       ("sla-breach", "henk@desk.example"), ("sla-breach", "henk@desk.example")]
    rc, out, err = cli("sweep", "--now", "2026-12-07T09:05", "--json")  # 5 minutes later
    assert rc == 0 and json.loads(out)["escalations"] == 0  # nothing twice
    rc, out, err = cli("resolve", str(n), "--by", "sanne", "--no-mail")
    assert rc == 0 and json.loads(out)["status"] == "resolved"
    rc, out, err = cli("sweep", "--now", "tomorrow")
    assert rc == 2 and "use an ISO time" in err


# --------------------------------------------------------------------------- backup
def test_backup_copies_the_sqlite_database_and_refuses_what_it_cannot(cli, cli_env, tmp_path,
                                                                     monkeypatch):
    mails = tmp_path / "in"
    for i in range(3):
        write(mails / f"{i}.eml", customer_mail(i, message_id=f"b{i}@customer.example"))
    assert cli("ingest", str(mails))[0] == 0
    copy = tmp_path / "backups" / "copy.sqlite3"
    rc, out, err = cli("backup", str(copy))
    assert (rc, err) == (0, "")
    assert out.startswith(f"backed up {tmp_path}/ticketbot.sqlite3 to {copy} (")
    engine = create_engine(f"sqlite:///{copy}")
    with engine.connect() as conn:
        assert conn.scalar(text("select count(*) from ticket")) == 3
    engine.dispose()
    # never over an existing file, never a PostgreSQL database
    assert cli("backup", str(copy))[2] == f"ticketbot: {copy} exists already; name a new file\n"
    monkeypatch.setenv("DATABASE_URL", "postgresql://desk:secret@db.example/tickets")
    rc, out, err = cli("backup", str(tmp_path / "pg.dump"))
    assert rc == 2 and out == "" and "pg_dump" in err and "secret" not in err


def test_route_explain_shows_the_attached_letter_it_read(cli, cli_env, tmp_path):
    from tests.core.test_attachment_text import mail_with
    from tests.support.pdf import pdf_bytes

    letter = pdf_bytes(["Geachte heer/mevrouw,", "Hierbij zeggen wij de overeenkomst K-10590 op."])
    path = write(tmp_path / "brief.eml", mail_with(letter, name="brief.pdf"))
    rc, out, err = cli("route", str(path), "--explain")
    assert rc == 0, err
    assert "attached: brief.pdf (" in out and "zeggen wij de overeenkomst K-10590 op" in out
    assert "MATCH written-cancellation" in out and "kind:     cancellation" in out
    d = cli.json("route", str(path))
    assert d["attachments_read"][0]["name"] == "brief.pdf"
