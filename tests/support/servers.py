"""Private, throw-away Dovecot (IMAP) and PostgreSQL servers for tests.

Both servers listen on 127.0.0.1 on a free port, are stopped by ``stop()``,
by leaving the ``with`` block, or at interpreter exit if the caller forgets,
and keep their files under the directory the caller gives - except:

* unix sockets go to a short private dir under /tmp (socket paths must stay
  below ~107 bytes; pytest's tmp_path can be longer), and
* when running as root, the data the unprivileged server processes touch
  (Dovecot's Maildir as user ``dovecot``, PostgreSQL's cluster as user
  ``postgres``) lives in that private dir too, with a symlink from ``root``.
  Reason: pytest's /tmp/pytest-of-root is 0700, and every pytest session that
  starts resets it to 0700, so other users cannot rely on traversing it.

``close()`` (also done by ``__exit__`` and at exit) stops the server and
removes the private dir.  Works as root and as an ordinary user.

No pytest dependency: usable from benchmarks and scripts as well::

    with Dovecot(tmp / "imap") as imap, Postgres(tmp / "pg") as pg:
        imap.deliver_files([b"Subject: hi\\r\\n\\r\\nbody\\r\\n"] * 10_000)
        run_bot(imap.url, pg.url)
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

__all__ = ["free_port", "Dovecot", "Postgres", "ServerError"]

LOCALHOST = "127.0.0.1"


# Servers still running and private dirs still present; cleaned up at exit.
_LIVE: set = set()
_PRIVATE_DIRS: dict[str, int] = {}  # path -> pid of the creating process
_LIVE_LOCK = threading.RLock()


class ServerError(RuntimeError):
    """A test server failed to start/stop; the message includes its log tail."""


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (ephemeral range)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]


def _is_root() -> bool:
    return os.geteuid() == 0


def _private_dir(prefix: str) -> Path:
    """A short-pathed private temp dir, removed by close() or at exit."""
    base = tempfile.gettempdir()
    if len(base) > 40 and os.path.isdir("/tmp"):
        base = "/tmp"
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    with _LIVE_LOCK:
        _PRIVATE_DIRS[str(path)] = os.getpid()
    return path


def _remove_private_dir(path: Path | None) -> None:
    if path is None:
        return
    shutil.rmtree(path, ignore_errors=True)
    with _LIVE_LOCK:
        _PRIVATE_DIRS.pop(str(path), None)


def _symlink(link: Path, target: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if link.is_symlink() or link.exists():
            if link.is_symlink() or link.is_file():
                link.unlink()
            else:
                shutil.rmtree(link)
    link.symlink_to(target, target_is_directory=True)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def _tail(path: Path, n: int = 30) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")[-4000:]
    except OSError:
        return "(no log)"


def _group_alive(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    alive = []
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat_path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        # fields: state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != b"Z":
            alive.append(int(stat_path.split("/")[2]))
    return alive


def pause(seconds: float) -> None:
    """Wait `seconds` (between polls of state another process makes). An Event wait, not
    time.sleep: under libfaketime with the real monotonic clock (the shifted run of `make
    test`), time.sleep's absolute clock_nanosleep is refused with EINVAL."""
    threading.Event().wait(seconds)


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        pause(0.01)
    return True


_PR_SET_PDEATHSIG = 1
try:  # resolved here, not in the forked child
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)




def _register(server) -> None:
    with _LIVE_LOCK:
        _LIVE.add(server)


def _unregister(server) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(server)


@atexit.register
def _stop_all() -> None:
    # Only in the process that started them: a forked child (e.g. a worker
    # process) that exits normally must not stop its parent's servers.
    me = os.getpid()
    with _LIVE_LOCK:
        live = [s for s in _LIVE if s._owner_pid == me]
    for server in live:
        with contextlib.suppress(Exception):
            server.close()
    with _LIVE_LOCK:
        dirs = [d for d, pid in _PRIVATE_DIRS.items() if pid == me]
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------- #
# Dovecot
# --------------------------------------------------------------------------- #
def _find_exe(name: str, *candidates: str) -> str:
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    found = shutil.which(name)
    if found:
        return found
    raise ServerError(
        f"{name} not found; run `bash scripts/install-test-deps.sh` first"
    )


def _parse_uid_set(text: str) -> list[int]:
    uids: list[int] = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            uids.extend(range(min(a, b), max(a, b) + 1))
        elif part:
            uids.append(int(part))
    return uids


_maildir_counter = 0
_maildir_lock = threading.Lock()


class Dovecot:
    """A private Dovecot IMAP server on 127.0.0.1 with one Maildir user.

    Under ``root``: ``dovecot.conf``, ``dovecot.log`` and ``Maildir`` (INBOX;
    folder ``X`` is ``Maildir/.X``) - as root, ``root/Maildir`` is a symlink to
    ``self.maildir`` in the private dir, owned by the ``dovecot`` user.
    """

    START_TIMEOUT = 15.0
    STOP_TIMEOUT = 15.0
    APPEND_CHUNK = 500

    def __init__(self, root: Path, user: str = "ticketbot", password: str = "secret"):
        if not re.fullmatch(r"[A-Za-z0-9._@+-]+", user):
            raise ValueError(f"unsupported user name {user!r}")
        if any(c in password for c in ":\r\n\0"):
            raise ValueError("password must not contain ':' or line breaks")
        self.root = Path(root).absolute()
        self.user = user
        self.password = password
        self.host = LOCALHOST
        self.port = free_port()
        self.conf = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self._proc: subprocess.Popen | None = None
        self._started_once = False
        self._owner_pid = os.getpid()
        self._lock = threading.RLock()
        self.dovecot_bin = _find_exe("dovecot", "/usr/sbin/dovecot")
        self.doveadm_bin = _find_exe("doveadm", "/usr/bin/doveadm")
        self.root.mkdir(parents=True, exist_ok=True)
        self.private_dir = _private_dir("tb-dovecot-")
        self.run_dir = self.private_dir / "run"  # base_dir (sockets)
        if _is_root():
            os.chmod(self.private_dir, 0o711)
            data = self.private_dir
        else:
            data = self.root
        self.maildir = data / "Maildir"
        self.home = data / "home"
        if _is_root():
            # Dovecot refuses uid 0 for mail processes: use its system user.
            try:
                pw = pwd.getpwnam("dovecot")
            except KeyError:
                pw = pwd.getpwnam("nobody")
            self.mail_uid, self.mail_gid = pw.pw_uid, pw.pw_gid
        else:
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()

    # ---- public properties ------------------------------------------------ #
    @property
    def url(self) -> str:
        return (
            f"imap://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/INBOX"
        )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Dovecot {self.host}:{self.port} {state} root={self.root}>"

    # ---- lifecycle -------------------------------------------------------- #
    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> Dovecot:
        """Write the config, start ``dovecot -F -c CONF``, wait for the greeting."""
        with self._lock:
            if self.running:
                return self
            for attempt in range(3):
                try:
                    self._start_once()
                    self._started_once = True
                    return self
                except _PortInUse:
                    # a free_port() race: pick another port, but never on a
                    # restart (callers rely on the port staying the same)
                    if self._started_once or attempt == 2:
                        raise ServerError(
                            f"port {self.port} is in use; log:\n{_tail(self.log_path)}"
                        ) from None
                    self.port = free_port()
            raise AssertionError("unreachable")

    def close(self) -> None:
        """stop() and remove the private dir (as root: including the Maildir)."""
        if os.getpid() != self._owner_pid:
            return  # a forked child: the server belongs to the parent
        with self._lock:
            self.stop()
            _remove_private_dir(self.private_dir)

    def stop(self) -> None:
        """Stop the server and wait until the master and all its children are
        gone (idempotent).

        SIGTERM to the master (what ``doveadm stop`` sends), then, once it is
        shutting down, SIGTERM to its remaining children: alone, the master
        needs ~1 s (its log child lingers), imap processes of still-connected
        clients linger ~10 s, and ``doveadm stop`` takes ~2.8 s here.
        Signalling the whole group at once can make the master wait 6 s.
        Typical stop time this way: 0.1 s (sometimes 1 s).
        A no-op in a forked child: the server belongs to the parent."""
        if os.getpid() != self._owner_pid:
            return
        with self._lock:
            proc, self._proc = self._proc, None
            _unregister(self)
            if proc is None:
                return
            pgid = proc.pid  # start_new_session: the master leads its group
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(0.02)
                for pid in _group_alive(pgid):
                    if pid != pgid:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGTERM)
            try:
                proc.wait(self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                proc.wait()
            if not _wait_group_gone(pgid, self.STOP_TIMEOUT):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                _wait_group_gone(pgid, 5)

    def restart(self) -> Dovecot:
        """Stop and start again on the same port; mails are kept."""
        with self._lock:
            self.stop()
            return self.start()

    # ---- IMAP helpers ----------------------------------------------------- #
    def connect(self, login: bool = True, timeout: float = 30.0):
        """A new ``imapclient.IMAPClient`` (logged in unless ``login=False``)."""
        import imapclient

        client = imapclient.IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        if login:
            client.login(self.user, self.password)
        return client

    def append(self, messages: Sequence[bytes], folder: str = "INBOX") -> list[int]:
        """Append via IMAP MULTIAPPEND in chunks; returns the new UIDs in order."""
        uids: list[int] = []
        client = self.connect()
        try:
            if folder.upper() != "INBOX" and not client.folder_exists(folder):
                client.create_folder(folder)
            msgs = [m.encode() if isinstance(m, str) else m for m in messages]
            for i in range(0, len(msgs), self.APPEND_CHUNK):
                resp = client.multiappend(folder, msgs[i : i + self.APPEND_CHUNK])
                text = resp.decode(errors="replace") if isinstance(resp, bytes) else str(resp)
                m = re.search(r"APPENDUID \d+ ([0-9:,]+)", text)
                if m:
                    uids.extend(_parse_uid_set(m.group(1)))
        finally:
            with contextlib.suppress(Exception):
                client.logout()
        return uids

    def deliver_files(self, messages: Iterable[bytes], folder: str = "INBOX") -> list[Path]:
        """Write messages as Maildir files straight into ``new/`` (fast path, no
        IMAP).  Dovecot picks them up at the next SELECT/NOOP/IDLE check.
        Returns the file paths."""
        global _maildir_counter
        box = self._folder_dir(folder)
        self._ensure_maildir(box, folder != "INBOX")
        tmp, new = box / "tmp", box / "new"
        host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
        chown = _is_root() and self.mail_uid != 0
        paths: list[Path] = []
        now = time.time()
        secs, usecs = int(now), int((now % 1) * 1_000_000)
        pid = os.getpid()
        for msg in messages:
            if isinstance(msg, str):
                msg = msg.encode()
            with _maildir_lock:
                _maildir_counter += 1
                q = _maildir_counter
            name = f"{secs}.M{usecs}P{pid}Q{q}.{host},S={len(msg)}"
            tmp_path = tmp / name
            with open(tmp_path, "wb") as f:
                f.write(msg)
            if chown:
                os.chown(tmp_path, self.mail_uid, self.mail_gid)
            os.rename(tmp_path, new / name)
            paths.append(new / name)
        return paths

    def create_folder(self, name: str) -> None:
        client = self.connect()
        try:
            if not client.folder_exists(name):
                client.create_folder(name)
            client.subscribe_folder(name)
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        client = self.connect()
        try:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def reset_uidvalidity(self, folder: str = "INBOX") -> int:
        """Make the server report a NEW UIDVALIDITY for ``folder``, keeping its
        mails (and their flags): stop, delete the folder's ``dovecot-uidlist``
        and index files plus the mailbox list index, start on the same port.
        Dovecot then renumbers the mails from UID 1 with a fresh UIDVALIDITY.
        Open client connections are dropped.  Returns the new UIDVALIDITY."""
        with self._lock:
            was_running = self.running
            if not was_running:
                self.start()
            old = self.uidvalidity(folder)
            for _ in range(5):
                self.stop()
                box = self._folder_dir(folder)
                for pattern in ("dovecot-uidlist", "dovecot-uidlist.lock", "dovecot.index*"):
                    for p in glob.glob(str(box / pattern)):
                        os.unlink(p)
                for p in glob.glob(str(self.maildir / "dovecot.list.index*")):
                    os.unlink(p)
                self.start()
                new = self.uidvalidity(folder)
                if new != old:
                    break
            else:
                raise ServerError(f"UIDVALIDITY of {folder} stayed {old}")
            if not was_running:
                self.stop()
            return new

    def messages(self, folder: str = "INBOX") -> list[tuple[int, tuple[bytes, ...]]]:
        """``[(uid, flags), ...]`` sorted by UID, read-only (EXAMINE); the
        session flag ``\\Recent`` is left out."""
        client = self.connect()
        try:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            data = client.fetch(uids, ["FLAGS"]) if uids else {}
            return sorted(
                (uid, tuple(f for f in d[b"FLAGS"] if f != b"\\Recent"))
                for uid, d in data.items()
            )
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def doveadm(self, *args: str, timeout: float = 30) -> str:
        """Run ``doveadm -c CONF ARGS...``; returns stdout."""
        return self._doveadm(*args, timeout=timeout).stdout

    # ---- internals -------------------------------------------------------- #
    def _folder_dir(self, folder: str) -> Path:
        if folder.upper() == "INBOX":
            return self.maildir
        from imapclient import imap_utf7

        return self.maildir / ("." + imap_utf7.encode(folder).decode("ascii"))

    def _ensure_maildir(self, box: Path, is_subfolder: bool = False) -> None:
        chown = _is_root() and self.mail_uid != 0
        for d in (box, box / "cur", box / "new", box / "tmp"):
            if not d.is_dir():
                d.mkdir(mode=0o700, parents=True, exist_ok=True)
                if chown:
                    os.chown(d, self.mail_uid, self.mail_gid)
        if is_subfolder and not (box / "maildirfolder").exists():
            (box / "maildirfolder").touch()
            if chown:
                os.chown(box / "maildirfolder", self.mail_uid, self.mail_gid)

    def _doveadm(self, *args: str, check: bool = True, timeout: float = 30):
        res = subprocess.run(
            [self.doveadm_bin, "-c", str(self.conf), *args],
            capture_output=True, text=True, timeout=timeout,
        )
        if check and res.returncode != 0:
            raise ServerError(f"doveadm {' '.join(args)} failed: {res.stderr.strip()}")
        return res

    def _prepare_dirs(self) -> None:
        if not self.private_dir.is_dir():
            raise ServerError(f"{self!r} was closed")
        self.root.mkdir(parents=True, exist_ok=True)
        for d in (self.home, self.maildir):
            d.mkdir(mode=0o700, exist_ok=True)
        self._ensure_maildir(self.maildir)
        if _is_root() and self.mail_uid != 0:
            for d in (self.home, self.maildir):
                _chown_tree(d, self.mail_uid, self.mail_gid)
            link = self.root / "Maildir"
            if not (link.is_symlink() and link.resolve() == self.maildir.resolve()):
                _symlink(link, self.maildir)
        # base_dir: short path (unix sockets), traversable by the login user;
        # fresh for every start (no stale sockets / pid file)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(mode=0o755)
        os.chmod(self.run_dir, 0o755)

    def _write_config(self) -> None:
        run = self.run_dir
        passwd = run / "users.passwd"
        # passwd-file: only this user exists; any other name fails with
        # AUTHENTICATIONFAILED (a static passdb would accept every name)
        passwd.write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        os.chmod(passwd, 0o644)
        lines = [
            f"base_dir = {run}",
            f"state_dir = {run}/state",
            f"instance_name = ticketbot-test-{self.port}",
            f"log_path = {self.log_path}",
            "protocols = imap",
            f"listen = {self.host}",
            "ssl = no",
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            "auth_failure_delay = 0",
            f"first_valid_uid = {self.mail_uid}",
            f"first_valid_gid = {self.mail_gid}",
            f"mail_location = maildir:{self.maildir}",
            "mail_fsync = never",
            "mailbox_idle_check_interval = 1 secs",
            *self._clock_environment(),
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN {passwd}",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={self.mail_uid} gid={self.mail_gid} home={self.home}",
            "}",
            "protocol imap {",
            "  mail_max_userip_connections = 200",
            "}",
            "service imap-login {",
            "  inet_listener imap {",
            f"    address = {self.host}",
            f"    port = {self.port}",
            "  }",
            "  inet_listener imaps {",
            "    port = 0",
            "  }",
        ]
        if not _is_root():
            lines += ["  chroot ="]
        lines += ["}"]
        # No auth penalty: otherwise anvil delays EVERY login from 127.0.0.1
        # by 2, 4, 8, 15 s after failed ones (documented way to disable it).
        lines += [
            "service anvil {",
            "  unix_listener anvil-auth-penalty {",
            "    mode = 0",
            "  }",
        ]
        if not _is_root():
            lines += ["  chroot ="]
        lines += ["}"]
        if not _is_root():
            me = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            lines = [
                f"default_internal_user = {me}",
                f"default_internal_group = {group}",
                f"default_login_user = {me}",
                *lines,
            ]
        self.conf.write_text("\n".join(lines) + "\n")

    # Dovecot's master empties its environment after start-up, keeping only
    # import_environment, and its children inherit that. Under libfaketime (the shifted
    # run of `make test`) the master then re-read FAKETIME after libfaketime's 10 s cache,
    # found none and saw its clock fall back 400 days: "Time moved backwards ... waiting
    # for 180 seconds until new services are launched again", and every login in that
    # time hung (the test's own login timed out twice, 2026-11-30 and 2026-12-01). Its
    # children (imap-login, imap, log) ran on the real clock all along. Importing the
    # preload and its settings keeps the whole server on the one shifted clock.
    _DEFAULT_IMPORT = "TZ CORE_OUTOFMEM CORE_ERROR LISTEN_PID LISTEN_FDS NOTIFY_SOCKET"
    _CLOCK_VARIABLES = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC")

    def _clock_environment(self) -> list[str]:
        """The import_environment line that keeps a shifted clock in every Dovecot
        process, or nothing when the clock is real."""
        if "FAKETIME" not in os.environ:
            return []
        kept = " ".join(v for v in self._CLOCK_VARIABLES if v in os.environ)
        return [f"import_environment = {self._DEFAULT_IMPORT} {kept}"]

    def _start_once(self) -> None:
        self._prepare_dirs()
        self._write_config()
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        err_path = self.root / "dovecot.stderr"
        err_start = err_path.stat().st_size if err_path.exists() else 0
        main_thread = threading.current_thread() is threading.main_thread()
        with open(err_path, "ab") as err:
            self._proc = subprocess.Popen(
                [self.dovecot_bin, "-F", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
                # if this Python process dies hard, the master gets SIGTERM
                preexec_fn=_die_with_parent if main_thread and _prctl else None,
            )
        _register(self)
        deadline = time.monotonic() + self.START_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                log = _read_from(self.log_path, log_start) + _read_from(err_path, err_start)
                rc = self._proc.returncode
                self._proc = None
                _unregister(self)
                if "Address already in use" in log:
                    raise _PortInUse()
                raise ServerError(f"dovecot exited with status {rc}; log:\n{log}")
            if self._greeting_ok():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"no IMAP greeting on port {self.port}; log:\n{_tail(self.log_path)}")
            pause(0.01)

    def _greeting_ok(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as s:
                s.settimeout(2)
                data = s.recv(256)
                return data.startswith(b"* OK")
        except OSError:
            return False


class _PortInUse(Exception):
    pass


# --------------------------------------------------------------------------- #
# PostgreSQL
# --------------------------------------------------------------------------- #
def _pg_bindir() -> Path:
    best: tuple[int, Path] | None = None
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        p = Path(d)
        try:
            ver = int(p.parent.name.split(".")[0])
        except ValueError:
            continue
        if (p / "initdb").exists() and (p / "pg_ctl").exists():
            if best is None or ver > best[0]:
                best = (ver, p)
    if best is None:
        exe = shutil.which("pg_ctl")
        if exe and shutil.which("initdb"):
            return Path(exe).parent
        raise ServerError(
            "PostgreSQL server binaries not found; run `bash scripts/install-test-deps.sh`"
        )
    return best[1]


class Postgres:
    """A private PostgreSQL cluster on 127.0.0.1 (trust auth, fsync off).

    Under ``root``: ``pg/data`` (cluster) and ``pg/server.log``; as root,
    ``root/pg`` is a symlink to the private dir owned by ``postgres``.
    ``url`` is a SQLAlchemy URL of the database ``dbname`` (``ticketbot``).
    """

    START_TIMEOUT = 60
    superuser = "postgres"

    def __init__(self, root: Path, dbname: str = "ticketbot"):
        self.root = Path(root).absolute()
        self.host = LOCALHOST
        self.port = free_port()
        self.dbname = dbname
        self.bindir = _pg_bindir()
        self._started = False
        self._owner_pid = os.getpid()
        self._lock = threading.RLock()
        self._as_postgres = _is_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.private_dir = _private_dir("tb-pg-")  # socket dir (-k), short path
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            self._uid, self._gid = pw.pw_uid, pw.pw_gid
            os.chown(self.private_dir, self._uid, self._gid)
            self.pgdir = self.private_dir
            _symlink(self.root / "pg", self.pgdir)
        else:
            self.pgdir = self.root / "pg"
            self.pgdir.mkdir(exist_ok=True)
        self.datadir = self.pgdir / "data"
        self.log_path = self.pgdir / "server.log"

    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.superuser}@{self.host}:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        return self.url_for(self.dbname)

    @property
    def running(self) -> bool:
        return self._started

    def __repr__(self) -> str:
        return f"<Postgres {self.host}:{self.port} {'running' if self._started else 'stopped'}>"

    def __enter__(self) -> Postgres:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- lifecycle -------------------------------------------------------- #
    def start(self) -> Postgres:
        """initdb (first time), ``pg_ctl start -w``, create ``dbname``."""
        with self._lock:
            if self._started:
                return self
            if not self.private_dir.is_dir():
                raise ServerError(f"{self!r} was closed")
            first_start = not (self.datadir / "PG_VERSION").exists()
            if first_start:
                self._run(
                    "initdb", "-D", str(self.datadir), "-U", self.superuser,
                    "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync",
                    "--no-instructions",
                )
                (self.datadir / "pg_hba.conf").write_text(
                    "local all all trust\nhost all all 127.0.0.1/32 trust\n"
                )
            for attempt in range(3):
                log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
                opts = (
                    f"-p {self.port} -k {self.private_dir} -c listen_addresses={self.host}"
                    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                    " -c max_connections=200"
                )
                res = self._run(
                    "pg_ctl", "-D", str(self.datadir), "-l", str(self.log_path),
                    "-o", opts, "-w", "-t", str(self.START_TIMEOUT), "start", check=False,
                )
                if res.returncode == 0:
                    break
                log = _read_from(self.log_path, log_start)
                if first_start and attempt < 2 and "already in use" in log:
                    self.port = free_port()
                    continue
                raise ServerError(f"pg_ctl start failed: {res.stderr.strip()}\nlog:\n{log}")
            self._started = True
            _register(self)
            self._ensure_db(self.dbname)
            return self

    def stop(self) -> None:
        """``pg_ctl stop -m fast -w``; the cluster is kept (start() again works).
        A no-op in a forked child: the server belongs to the parent."""
        if os.getpid() != self._owner_pid:
            return
        with self._lock:
            _unregister(self)
            if self._started:
                self._started = False
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop", check=False)

    def close(self) -> None:
        """stop() and remove the private dir (as root: including the cluster)."""
        if os.getpid() != self._owner_pid:
            return
        with self._lock:
            self.stop()
            _remove_private_dir(self.private_dir)

    # ---- databases -------------------------------------------------------- #
    def connect(self, dbname: str = "postgres"):
        """A raw psycopg connection (autocommit) to ``dbname``."""
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.superuser, dbname=dbname,
            autocommit=True, connect_timeout=10,
        )

    def create_database(self, name: str | None = None, template: str = "template0") -> str:
        """Create a fresh database (unique name if ``name`` is None), empty or a copy of
        ``template`` (which no one may be connected to); returns its SQLAlchemy URL."""
        from psycopg import sql

        if name is None:
            name = f"test_{uuid.uuid4().hex[:12]}"
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _ensure_db(self, name: str) -> None:
        with self.connect() as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            self.create_database(name)

    def _run(self, prog: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / prog), *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
            # Under the shifted clock (scripts/shifted-clock.sh) the server, run as another
            # user, could neither read the preload built in root's temporary directory nor
            # open libfaketime's per-process files that root's processes left in /dev/shm
            # (initdb failed so, 2026-12-01): it runs on the real clock. The bot's clock is
            # its own (Python's), and the suites on PostgreSQL are not in the shifted run.
            env = {k: v for k, v in env.items()
                   if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
        env.setdefault("LC_ALL", "C")
        res = subprocess.run(
            cmd, cwd=self.pgdir, env=env, capture_output=True, text=True,
            stdin=subprocess.DEVNULL, timeout=self.START_TIMEOUT + 30,
        )
        if check and res.returncode != 0:
            raise ServerError(
                f"{prog} failed ({res.returncode}): {res.stderr.strip()}\n"
                f"log:\n{_tail(self.log_path)}"
            )
        return res
