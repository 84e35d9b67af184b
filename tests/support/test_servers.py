"""Prove that the private test servers in tests/support/servers.py really work."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import imapclient
import psycopg
import pytest
import sqlalchemy as sa
from imapclient.exceptions import LoginError

try:
    from tests.support.servers import Dovecot, Postgres, free_port, pause
except ImportError:  # tests/ is not a package
    from servers import Dovecot, Postgres, free_port, pause

HERE = os.path.dirname(os.path.abspath(__file__))


def mail(i: int, tag: str = "t") -> bytes:
    return (
        f"From: Customer {i} <c{i}@example.com>\r\n"
        f"To: support@example.com\r\n"
        f"Subject: {tag} message {i}\r\n"
        f"Message-ID: <{tag}-{i}@example.com>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        f"\r\n"
        f"Hello, this is {tag} mail number {i}.\r\n"
    ).encode()


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def unique_folder(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory):
    with Dovecot(tmp_path_factory.mktemp("dovecot")) as server:
        yield server


@pytest.fixture(scope="module")
def scratch_dovecot(tmp_path_factory):
    """A second instance for tests that stop/restart the server."""
    with Dovecot(tmp_path_factory.mktemp("dovecot-scratch")) as server:
        yield server


# --------------------------------------------------------------------------- #
# Dovecot
# --------------------------------------------------------------------------- #
def test_dovecot_listens_on_loopback_and_logs_in(dovecot):
    assert dovecot.host == "127.0.0.1"
    assert dovecot.port not in (143, 993) and dovecot.port > 1024
    assert dovecot.url == f"imap://ticketbot:secret@127.0.0.1:{dovecot.port}/INBOX"
    client = imapclient.IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10)
    try:
        assert client.welcome.startswith(b"* OK")
        client.login(dovecot.user, dovecot.password)
        caps = client.capabilities()
        for cap in (b"IDLE", b"MULTIAPPEND", b"UIDPLUS"):
            assert cap in caps
        info = client.select_folder("INBOX")
        assert b"UIDVALIDITY" in info
    finally:
        client.logout()
    # mail lives as Maildir under the given root
    assert (dovecot.maildir / "cur").is_dir() and (dovecot.maildir / "new").is_dir()
    assert (dovecot.root / "Maildir").resolve() == dovecot.maildir.resolve()


def listening_ports(pid: int) -> set[int]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def test_only_plain_imap_port_is_listening(dovecot):
    # IMAPS (and everything else) is off: the master listens on our port only
    assert listening_ports(dovecot._proc.pid) == {dovecot.port}


def test_multiappend_50_and_fetch_back(dovecot):
    folder = unique_folder("Multi")
    msgs = [mail(i, "multi") for i in range(50)]
    uids = dovecot.append(msgs, folder=folder)  # folder created by append
    assert uids == list(range(1, 51))

    client = dovecot.connect()
    try:
        info = client.select_folder(folder, readonly=True)
        assert info[b"EXISTS"] == 50
        data = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"])
        assert [data[u][b"BODY[]"] for u in uids] == msgs
        assert all(b"\\Seen" not in data[u][b"FLAGS"] for u in uids)
    finally:
        client.logout()
    assert [uid for uid, _ in dovecot.messages(folder)] == uids


def test_append_in_chunks(dovecot, monkeypatch):
    monkeypatch.setattr(Dovecot, "APPEND_CHUNK", 7)
    folder = unique_folder("Chunks")
    dovecot.create_folder(folder)
    assert dovecot.append([mail(i, "chunk") for i in range(30)], folder=folder) == list(range(1, 31))
    assert len(dovecot.messages(folder)) == 30


def test_deliver_files_200_seen_by_select(dovecot):
    folder = unique_folder("Files")
    paths = dovecot.deliver_files([mail(i, "file") for i in range(100)], folder=folder)
    assert len(paths) == 100 and all(p.parent.name == "new" for p in paths)

    client = dovecot.connect()
    try:
        assert folder in [name for _, _, name in client.list_folders()]
        assert client.select_folder(folder, readonly=True)[b"EXISTS"] == 100
        client.unselect_folder()
        # more files in the same second, after Dovecot has indexed the folder
        dovecot.deliver_files([mail(i, "file") for i in range(100, 200)], folder=folder)
        assert client.select_folder(folder, readonly=True)[b"EXISTS"] == 200
        uids = client.search(["SUBJECT", "file message 199"])
        assert len(uids) == 1
        body = client.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"]
        assert body == mail(199, "file")
    finally:
        client.logout()


def test_deliver_files_into_inbox(dovecot):
    before = len(dovecot.messages("INBOX"))
    dovecot.deliver_files([mail(i, "inbox") for i in range(5)])
    assert len(dovecot.messages("INBOX")) == before + 5


def _wait_for_exists(client, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        responses = client.idle_check(timeout=max(0.1, deadline - time.monotonic()))
        seen.extend(responses)
        if any(len(r) >= 2 and r[1] == b"EXISTS" for r in responses):
            return seen
    return seen


@pytest.mark.parametrize("how", ["imap-append", "maildir-file"])
def test_idle_wakes_up_on_new_mail(dovecot, how):
    folder = unique_folder("Idle")
    dovecot.create_folder(folder)
    watcher = dovecot.connect()
    try:
        watcher.select_folder(folder)
        watcher.idle()
        started = time.monotonic()
        if how == "imap-append":
            other = dovecot.connect()  # a second connection
            try:
                other.append(folder, mail(1, "idle"))
            finally:
                other.logout()
        else:
            dovecot.deliver_files([mail(1, "idle")], folder=folder)
        responses = _wait_for_exists(watcher, timeout=5)
        elapsed = time.monotonic() - started
        watcher.idle_done()
        assert (1, b"EXISTS") in [tuple(r[:2]) for r in responses], responses
        assert elapsed < 5
    finally:
        watcher.logout()


def test_wrong_password_fails(dovecot):
    client = dovecot.connect(login=False)
    try:
        with pytest.raises(LoginError):
            client.login(dovecot.user, "not-the-password")
    finally:
        client.shutdown()
    # the right one still works
    dovecot.connect().logout()


@pytest.mark.parametrize("name", ["bob", "root", "dovecot", "ticketbot2", ""])
def test_wrong_user_fails(dovecot, name):
    client = dovecot.connect(login=False)
    try:
        with pytest.raises(LoginError):
            client.login(name, dovecot.password)
    finally:
        client.shutdown()


def _libfaketime() -> str | None:
    found = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True)
    libs = [p for p in found.stdout.split() if p.endswith("/libfaketime.so.1")]
    return libs[0] if libs else None


def test_every_dovecot_process_keeps_a_shifted_clock(tmp_path, monkeypatch):
    """Dovecot's master empties its environment: without import_environment its
    children (imap, imap-login) ran on the real clock under libfaketime and the master
    itself fell back to it after libfaketime's cache, stopping logins for 180 s. A mail
    appended without a date gets the imap process's own time as INTERNALDATE."""
    lib = _libfaketime()
    assert lib, "libfaketime is installed with the test dependencies"
    monkeypatch.setenv("LD_PRELOAD", lib)
    monkeypatch.setenv("FAKETIME", "@2031-01-15 12:00:00")
    monkeypatch.setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1")
    with Dovecot(tmp_path / "shifted") as d:
        client = d.connect()
        try:
            client.append("INBOX", mail(1, "clock"))
            client.select_folder("INBOX", readonly=True)
            dates = client.fetch(client.search("ALL"), ["INTERNALDATE"])
        finally:
            client.logout()
    (internal,) = [v[b"INTERNALDATE"] for v in dates.values()]
    assert internal.date().isoformat() in ("2031-01-15", "2031-01-16")


def test_restart_keeps_port_and_mails(scratch_dovecot):
    d = scratch_dovecot
    folder = unique_folder("Restart")
    d.create_folder(folder)
    d.append([mail(i, "restart") for i in range(10)], folder=folder)
    before = d.messages(folder)
    port, url = d.port, d.url

    d.restart()
    assert d.running
    assert (d.port, d.url) == (port, url)
    assert d.messages(folder) == before
    client = imapclient.IMAPClient("127.0.0.1", port, ssl=False, timeout=10)
    client.login(d.user, d.password)
    client.logout()


def test_reset_uidvalidity_keeps_mails(scratch_dovecot):
    d = scratch_dovecot
    folder = unique_folder("Reset")
    d.create_folder(folder)
    d.append([mail(i, "reset") for i in range(5)], folder=folder)
    client = d.connect()
    client.select_folder(folder)
    client.add_flags([2], [imapclient.SEEN])
    client.logout()
    inbox_before = d.uidvalidity("INBOX")
    old = d.uidvalidity(folder)

    new = d.reset_uidvalidity(folder)

    assert new != old
    assert d.uidvalidity(folder) == new
    assert d.uidvalidity("INBOX") == inbox_before  # only that folder changed
    after = d.messages(folder)
    assert len(after) == 5
    assert sum(1 for _, flags in after if imapclient.SEEN in flags) == 1
    client = d.connect()
    try:
        info = client.select_folder(folder, readonly=True)
        assert info[b"UIDVALIDITY"] == new
        subjects = sorted(
            v[b"ENVELOPE"].subject for v in client.fetch(client.search("ALL"), ["ENVELOPE"]).values()
        )
        assert subjects == sorted(f"reset message {i}".encode() for i in range(5))
    finally:
        client.logout()


def test_stop_on_exception_leaves_nothing_running(tmp_path):
    with pytest.raises(RuntimeError):
        with Dovecot(tmp_path / "d") as d:
            port, pid = d.port, d._proc.pid
            assert port_open(port)
            raise RuntimeError("test crashed")
    assert not d.running
    assert not port_open(port)
    assert not d.private_dir.exists()
    assert not os.path.exists(f"/proc/{pid}")
    leftovers = subprocess.run(
        ["pgrep", "-f", f"ticketbot-test-{port}/"], capture_output=True, text=True
    ).stdout.split()
    assert leftovers == []
    d.stop()  # idempotent


def test_forgotten_servers_are_stopped_at_exit(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {HERE!r})
        from pathlib import Path
        from servers import Dovecot, Postgres
        d = Dovecot(Path({str(tmp_path)!r}) / "d"); d.start()
        p = Postgres(Path({str(tmp_path)!r}) / "p"); p.start()
        print(d.port, p.port, d.private_dir, p.private_dir, flush=True)
        # exits without stop()
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    dport, pport, ddir, pdir = out.stdout.split()
    assert not port_open(int(dport))
    assert not port_open(int(pport))
    assert not os.path.exists(ddir) and not os.path.exists(pdir)


def test_dovecot_dies_with_a_killed_test_process(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {HERE!r})
        from pathlib import Path
        from servers import Dovecot
        d = Dovecot(Path({str(tmp_path)!r}) / "d"); d.start()
        print(d.port, d.private_dir, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no finally
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == -9, out.stderr
    port, private_dir = out.stdout.split()
    port = int(port)
    shutil.rmtree(private_dir, ignore_errors=True)  # only atexit would remove it
    deadline = time.monotonic() + 10
    while port_open(port) and time.monotonic() < deadline:
        pause(0.05)
    assert not port_open(port)


def test_forked_child_exiting_does_not_stop_parents_server(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, socket, sys
        sys.path.insert(0, {HERE!r})
        from pathlib import Path
        from servers import Dovecot
        with Dovecot(Path({str(tmp_path)!r}) / "d") as d:
            pid = os.fork()
            if pid == 0:
                sys.exit(0)  # unwinds the with block and runs atexit in the child
            os.waitpid(pid, 0)
            d.connect().logout()  # still serving
            print("ok", flush=True)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_free_port_is_bindable():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


# --------------------------------------------------------------------------- #
# PostgreSQL
# --------------------------------------------------------------------------- #
def test_postgres_start_databases_and_stop(tmp_path):
    pg = Postgres(tmp_path / "pg")
    pg.start()
    try:
        assert pg.url == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/ticketbot"
        url1 = pg.create_database("first_db")
        url2 = pg.create_database()
        assert url1 != url2 and url1.endswith("/first_db")
        for url in (pg.url, url1, url2):
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                assert conn.execute(sa.text("select 1")).scalar() == 1
            engine.dispose()
        # the databases are really separate
        e1, e2 = sa.create_engine(url1), sa.create_engine(url2)
        with e1.begin() as conn:
            conn.execute(sa.text("create table t (x int)"))
            conn.execute(sa.text("insert into t values (42)"))
        with e1.connect() as conn:
            assert conn.execute(sa.text("select x from t")).scalar() == 42
        with e2.connect() as conn:
            assert conn.execute(sa.text("select to_regclass('t')")).scalar() is None
            assert conn.execute(sa.text("show fsync")).scalar() == "off"
            assert conn.execute(sa.text("show listen_addresses")).scalar() == "127.0.0.1"
        e1.dispose()
        e2.dispose()
        with pytest.raises(psycopg.errors.DuplicateDatabase):
            pg.create_database("first_db")
    finally:
        pg.stop()
    assert not port_open(pg.port)
    with pytest.raises(sa.exc.OperationalError):
        sa.create_engine(url1, connect_args={"connect_timeout": 2}).connect()
