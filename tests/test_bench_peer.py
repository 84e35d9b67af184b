"""The glue of the peer bench (bench/peer.py): the Django settings it writes, how it
counts django-helpdesk's tickets, the ratio table, and that a peer which cannot be
installed (here: pip with no index at all, as without a network) costs one line, not the
bench. django-helpdesk itself is never installed here."""

from __future__ import annotations

import ast
import sys

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench import intake, peer
from bench.e2e import Result


def settings_of(path) -> dict:
    """The settings module's assignments, evaluated as Python literals (no Django)."""
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: ast.literal_eval(node.value)
            for node in tree.body if isinstance(node, ast.Assign)}


def test_the_settings_module_for_sqlite(tmp_path):
    manage = peer.write_project(tmp_path / "project", f"sqlite:///{tmp_path}/h.sqlite3", 2525)
    s = settings_of(tmp_path / "project" / "peer_settings.py")
    db = s["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == f"{tmp_path}/h.sqlite3"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]  # as the bot's SQLite
    assert "helpdesk" in s["INSTALLED_APPS"] and "django.contrib.admin" in s["INSTALLED_APPS"]
    assert "django.contrib.sessions.middleware.SessionMiddleware" in s["MIDDLEWARE"]
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"]) == ("127.0.0.1", 2525)
    assert s["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert s["MEDIA_ROOT"] == str(tmp_path / "project" / "media")
    assert s["HELPDESK_TEAMS_MODE_ENABLED"] is False  # no pinax-teams needed
    assert manage.name == "manage.py" and '"peer_settings"' in manage.read_text()
    compile(manage.read_text(), str(manage), "exec")


def test_the_settings_module_for_postgresql(tmp_path):
    peer.write_project(tmp_path, "postgresql+psycopg://bench:pw@127.0.0.1:54321/test_abc", 25)
    db = settings_of(tmp_path / "peer_settings.py")["DATABASES"]["default"]
    assert db == {"ENGINE": "django.db.backends.postgresql", "NAME": "test_abc",
                  "USER": "bench", "PASSWORD": "pw", "HOST": "127.0.0.1", "PORT": "54321"}
    with pytest.raises(ValueError):
        peer.django_databases("mysql://x@y/z")


def test_the_queue_points_at_the_mailbox():
    code = peer.queue_script("127.0.0.1", 14300, "ticketbot", "secret")
    fields = ast.literal_eval(code.split("create(**", 1)[1][:-1])
    assert fields["email_box_type"] == "imap" and fields["allow_email_submission"] is True
    assert (fields["email_box_host"], fields["email_box_port"]) == ("127.0.0.1", 14300)
    assert (fields["email_box_user"], fields["email_box_pass"]) == ("ticketbot", "secret")
    assert fields["email_box_interval"] == 0  # due at once
    assert fields["new_ticket_cc"] == peer.STAFF_ADDRESS  # the staff notice


def test_tickets_are_counted_in_helpdesks_table(db_url):
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        assert peer.count_tickets(engine) == 0  # before its migrations: no table yet
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE helpdesk_ticket (id INTEGER PRIMARY KEY)"))
            conn.execute(text("INSERT INTO helpdesk_ticket (id) VALUES (1), (2), (3)"))
        assert peer.count_tickets(engine) == 3
    finally:
        engine.dispose()


def test_the_table_gives_both_rates_and_the_ratio():
    ours = Result(db="sqlite", mails=500, committed=5.0, delivered=10.0, first_ticket=1.5,
                  peak_rss=210, mail_sent=530, load_before="1.0", load_after="1.2")
    theirs = peer.PeerResult(db="sqlite", mails=500, committed=25.0, exited=25.5,
                             first_ticket=1.0, tickets=500, mail_sent=1000, peak_rss=75,
                             load_before="1.2", load_after="1.4", notes=["a note"])
    rows = peer.rows_for([(ours, theirs)])
    table = {name.strip(): (value, target) for name, value, target in rows}
    assert table["peer, 500 mails, SQLite: `ticketbot worker` tickets committed"] == \
        ("100.0 mails/s", "")
    assert table["django-helpdesk 2.6.1 `get_email` tickets committed"] == ("20.0 mails/s", "")
    assert table["ratio ours / theirs"] == ("5.0x", ">= 20x")
    assert ("50.0 / 19.6 mails/s", "") in table.values()  # all mail delivered / process exit
    assert "NOTE theirs: a note" in table
    assert peer.ratio(100.0, 0.0) == "n/a"


def test_a_peer_that_cannot_be_installed_costs_one_line(tmp_path, monkeypatch, capsys):
    # pip with no index and an empty wheel directory: what it meets without a network
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-wheels"))
    monkeypatch.setattr(peer, "VENV_ROOT", tmp_path / "peer-venv")
    (tmp_path / "no-wheels").mkdir()
    assert intake.main(["--only", "peer", "--peer-mails", "3"]) == 0
    out = capsys.readouterr()
    assert "django-helpdesk could not be installed, skipped" in out.err
    assert "peer: django-helpdesk 2.6.1 not run (could not be installed: " in out.out
    assert "per mail, theirs (django-helpdesk 2.6.1 `get_email`)" in out.out
    assert not peer.venv_dir(tmp_path / "peer-venv").exists()  # no half-built venv kept


def test_an_installed_peer_venv_is_reused_without_pip(tmp_path):
    venv = peer.venv_dir(tmp_path)
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / peer.STAMP).write_text("\n".join(peer.PINS))
    assert peer.ensure_peer(tmp_path) == venv / "bin" / "python"
    assert peer.venv_dir(tmp_path) == venv  # keyed by the pins and the Python version
    assert "2.6.1" in venv.name and f"py{sys.version_info[0]}.{sys.version_info[1]}" in venv.name
