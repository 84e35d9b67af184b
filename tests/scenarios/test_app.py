"""The real bot, `ticketbot run`, as a subprocess: SMTP in, IMAP in, acknowledgements
out as .eml files, a clean stop on SIGTERM, a clear error when it cannot listen."""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.models import RawMail, Spool, Ticket, make_engine
from tests.conftest import HANG, RULES
from tests.support.mailgen import customer_mail
from tests.support.servers import Dovecot, free_port, pause

ADDRESS = "support@desk.example"
SEEN = b"\\Seen"


def ticketbot_exe() -> str:
    exe = Path(sys.executable).parent / "ticketbot"
    assert exe.is_file(), f"console script not installed at {exe}"
    return str(exe)


def base_env() -> dict[str, str]:
    """This process's environment without any of the bot's settings."""
    return {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "IMAP_URL", "SMTP_URL") and not k.startswith("TICKETBOT_")}




def wait_until(condition, timeout: float, what: str, proc: Bot | None = None,
               interval: float = 0.05):
    """Poll for state another process makes (files, ports, rows): there is no event."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.proc.poll() is not None:
            pytest.fail(f"the bot exited ({proc.proc.returncode}) while waiting for {what}:\n"
                        f"{proc.stderr()[-3000:]}")
        if time.monotonic() > deadline:
            detail = f"\n{proc.stderr()[-3000:]}" if proc is not None else ""
            pytest.fail(f"timed out after {timeout} s waiting for {what}{detail}")
        pause(interval)


def wait_for_progress(measure, done, what: str, proc: Bot | None = None, stall: float = 180,
                      interval: float = 0.1):
    """Wait while the bot makes progress: `measure()` is polled until `done(value)`; the
    test fails only when the value has not changed for `stall` seconds (a hang), never
    because a loaded machine is slow."""
    last, since = object(), time.monotonic()
    while True:
        value = measure()
        if done(value):
            return value
        if value != last:
            last, since = value, time.monotonic()
        if proc is not None and proc.proc.poll() is not None:
            pytest.fail(f"the bot exited ({proc.proc.returncode}) while waiting for {what}:\n"
                        f"{proc.stderr()[-3000:]}")
        if time.monotonic() - since > stall:
            detail = f"\n{proc.stderr()[-3000:]}" if proc is not None else ""
            pytest.fail(f"no progress for {stall} s waiting for {what} (at {value!r}){detail}")
        pause(interval)


class Bot:
    """`ticketbot ARGS` in its own process group; output goes to files (no pipe can fill)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, name: str = "bot"):
        self.out_path = cwd / f"{name}.stdout"
        self.err_path = cwd / f"{name}.stderr"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([ticketbot_exe(), *args], env=env, cwd=cwd,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True)

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def terminate(self, timeout: float = HANG) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the bot did not stop within {timeout} s of SIGTERM:\n{self.stderr()[-3000:]}")

    def kill(self) -> None:
        """Hard stop of the whole group (also any parser processes); idempotent."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)


@contextlib.contextmanager
def bot_process(args: list[str], env: dict[str, str], cwd: Path, name: str = "bot"):
    bot = Bot(args, env, cwd, name)
    try:
        yield bot
    finally:
        bot.kill()


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def eml_files(folder: Path) -> list[Path]:
    # the file transport writes .NAME.tmp first, then renames: *.eml files are complete
    return sorted(folder.glob("*.eml")) if folder.is_dir() else []


def read_mail(path: Path):
    return BytesParser(policy=default_policy).parsebytes(path.read_bytes())


def count(url: str, model, *where) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        engine.dispose()


@pytest.fixture
def bot_env(tmp_path) -> dict[str, str]:
    return {
        **base_env(),
        "DATABASE_URL": f"sqlite:///{tmp_path}/ticketbot.sqlite3",
        "TICKETBOT_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
        "TICKETBOT_WEB_LISTEN": f"127.0.0.1:{free_port()}",
        "TICKETBOT_ADDRESS": ADDRESS,
        "TICKETBOT_RULES": str(RULES),
        "TICKETBOT_MAIL_DIR": str(tmp_path / "out"),
    }


def smtp_port(env: dict[str, str]) -> int:
    return int(env["TICKETBOT_SMTP_LISTEN"].rpartition(":")[2])


def assert_clean_stop(bot: Bot) -> None:
    assert bot.terminate(30) == 0, bot.stderr()[-3000:]
    err = bot.stderr()
    assert "Traceback" not in err, err[-3000:]
    assert "signal SIGTERM: stopping" in err
    assert " ERROR " not in err, err[-3000:]


def test_smtp_mail_becomes_ticket_and_acknowledgement_file(bot_env, tmp_path):
    port = smtp_port(bot_env)
    out = Path(bot_env["TICKETBOT_MAIL_DIR"])
    with bot_process(["run"], bot_env, tmp_path) as bot:
        wait_until(lambda: accepts_connections(port), HANG, "the SMTP port", bot)
        mail = customer_mail(1, lang="en", variant="plain", message_id="smtp-1@customer1.example")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            refused = client.sendmail("contact1@customer1.example", [ADDRESS], mail)
        assert refused == {}
        mails = wait_until(lambda: len(eml_files(out)) == 2 and eml_files(out), HANG,
                           "the acknowledgement and the owner's notice", bot)
        by_to = {read_mail(p)["To"]: read_mail(p) for p in mails}
        ack = by_to["contact1@customer1.example"]
        notice = by_to["debiteuren@desk.example"]  # receivables, who work by mail
        assert notice["Subject"] == "[TB-1] Nieuw: Factuur voor u: Question about invoice 1"
        assert "[TB-1]" in ack["Subject"]
        assert ack["Subject"] == "Re: [TB-1] Question about invoice 1"
        assert ack["Auto-Submitted"] == "auto-replied"
        assert ack["To"] == "contact1@customer1.example"
        assert ack["In-Reply-To"] == "<smtp-1@customer1.example>"
        assert_clean_stop(bot)
    assert bot.stdout().splitlines() == [ready_line(bot_env)]
    url = bot_env["DATABASE_URL"]
    assert count(url, Ticket) == 1
    assert count(url, RawMail, RawMail.source.like("smtp:%")) == 1
    assert count(url, Spool) == 0


def ready_line(env: dict[str, str]) -> str:
    return (f"ticketbot is ready: mail in on smtp://{env['TICKETBOT_SMTP_LISTEN']}, "
            f"web face on http://localhost:{web_port(env)}, clock running. "
            "Next, in a second terminal: .venv/bin/ticketbot send-test-mail")


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ticketbot_exe(), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=HANG)


def test_quick_start_ready_line_test_mail_and_its_reference(bot_env, tmp_path):
    """The README's quick start: `make run` says it is ready and what to try, without a
    warning; `send-test-mail` needs nothing installed; SMTP's `queued as` names the mail
    (a different reference per mail) and `ticketbot mail REF` tells what became of it."""
    with bot_process(["run"], bot_env, tmp_path) as bot:
        wait_until(lambda: "ticketbot is ready" in bot.stdout(), HANG, "the ready line", bot)
        assert bot.stdout().splitlines() == [ready_line(bot_env)]
        refs = []
        for sender in ("jan@klant.example", "piet@klant.example"):
            sent = run_cli(["send-test-mail", "--from", sender], bot_env, tmp_path)
            assert sent.returncode == 0, sent.stderr
            said = sent.stdout.splitlines()[0]
            assert said.startswith(f"sent: {sender} -> {ADDRESS} at smtp://")
            refs.append(said.rpartition("queued as ")[2])
            # it waits for the ticket, so the README's next command finds it
            assert sent.stdout.splitlines()[1].startswith(f"it became ticket [TB-{len(refs)}] (created)")
        assert all(len(r) == 12 and int(r, 16) >= 0 for r in refs) and refs[0] != refs[1]
        wait_until(lambda: count(bot_env["DATABASE_URL"], Ticket) == 2, HANG, "two tickets", bot)
        fate = run_cli(["mail", refs[1]], bot_env, tmp_path)
        assert fate.returncode == 0, fate.stderr
        row = fate.stdout.splitlines()[-1].split()
        assert row[:3] == [refs[1], "created", "[TB-2]"]
        missing = run_cli(["mail", "0" * 12], bot_env, tmp_path)
        assert (missing.returncode, missing.stderr) == (2, f"ticketbot: no mail with reference {'0' * 12}\n")
        assert_clean_stop(bot)
    # a normal start and stop warns of nothing (APScheduler's "Adding job tentatively",
    # bolt's "token will be unused" were such lines)
    assert [line for line in bot.stderr().splitlines() if "WARNING" in line or "arning" in line] == []


def test_send_test_mail_without_a_running_bot_is_a_one_line_error(bot_env, tmp_path):
    res = run_cli(["send-test-mail"], bot_env, tmp_path)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith(f"ticketbot: could not hand the test mail to smtp://{bot_env['TICKETBOT_SMTP_LISTEN']}")
    assert res.stderr.count("\n") == 1


def test_imap_mail_becomes_ticket(bot_env, tmp_path):
    out = Path(bot_env["TICKETBOT_MAIL_DIR"])
    with Dovecot(tmp_path / "imap") as dovecot:
        env = {**bot_env, "IMAP_URL": dovecot.url}
        with bot_process(["run"], env, tmp_path) as bot:
            wait_until(lambda: accepts_connections(smtp_port(env)), HANG, "the SMTP port", bot)
            dovecot.append([customer_mail(2, lang="nl", variant="plain",
                                          message_id="imap-2@customer2.example")])
            mails = wait_until(lambda: len(eml_files(out)) == 2 and eml_files(out), HANG,
                               "the acknowledgement and the owner's notice", bot)
            ack = {read_mail(p)["To"]: read_mail(p) for p in mails}["contact2@customer2.example"]
            assert ack["Subject"] == "Re: [TB-1] Vraag over factuur 2"
            assert ack["Auto-Submitted"] == "auto-replied"
            assert ack["In-Reply-To"] == "<imap-2@customer2.example>"
            # the mail is marked processed after its ticket is committed
            wait_until(lambda: [SEEN in flags for _, flags in dovecot.messages()] == [True],
                       HANG, "the mail to be marked \\Seen", bot, interval=0.1)
            assert_clean_stop(bot)
    url = bot_env["DATABASE_URL"]
    assert count(url, Ticket) == 1
    assert count(url, RawMail, RawMail.source == "imap:INBOX/1") == 1


def test_busy_smtp_port_is_a_one_line_error(bot_env, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**bot_env, "TICKETBOT_SMTP_LISTEN": f"127.0.0.1:{port}"}
        with bot_process(["run"], env, tmp_path) as bot:
            try:
                rc = bot.proc.wait(30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the bot kept running on a busy port:\n{bot.stderr()[-3000:]}")
    err = bot.stderr()
    assert rc != 0
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("ticketbot:")]
    assert len(errors) == 1, err
    assert f"127.0.0.1:{port}" in errors[0] or f"('127.0.0.1', {port})" in errors[0], errors[0]
    assert "in use" in errors[0]


def web_port(env: dict[str, str]) -> int:
    return int(env["TICKETBOT_WEB_LISTEN"].rpartition(":")[2])


def http_get(port: int, path: str) -> tuple[int, dict]:
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_procfile_web_and_clock_processes(bot_env, tmp_path):
    """`ticketbot web` answers the health check; `ticketbot clock` stores its one sweep
    job under a fixed id, and a second clock start does not add another."""
    from sqlalchemy import text

    port = web_port(bot_env)
    with bot_process(["web"], bot_env, tmp_path, name="web") as web:
        wait_until(lambda: accepts_connections(port), HANG, "the web port", web)
        status, body = http_get(port, "/healthz")
        assert status == 200
        assert body == {"status": "ok", "database": "ok", "spool": 0,
                        "outbox": {"queued": 0, "failed": 0, "oldest_queued_seconds": None,
                                   "due_for_seconds": 0}}
        # any other path is the web face's: without a session, its sign-in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing-here", timeout=10) as r:
            assert r.status == 200 and r.url.endswith("/login?next=/nothing-here")
            assert b'name="email"' in r.read()
        assert not accepts_connections(smtp_port(bot_env))  # web alone runs no intake
        assert_clean_stop(web)

    def jobs() -> list[str]:
        engine = make_engine(bot_env["DATABASE_URL"])
        try:
            with engine.connect() as conn:
                return [r[0] for r in conn.execute(text("SELECT id FROM apscheduler_jobs"))]
        except Exception:
            return []
        finally:
            engine.dispose()

    for run in range(2):
        with bot_process(["clock"], bot_env, tmp_path, name=f"clock{run}") as clock:
            wait_until(lambda: "clock started" in clock.stderr(), HANG, "the clock", clock)
            # fixed ids: a restart replaces the jobs, never adds a second copy
            assert sorted(jobs()) == ["ticketbot-contracts_ending",
                                      "ticketbot-invoice_holds_export",
                                      "ticketbot-monthly_report", "ticketbot-open_complaints_report",
                                      "ticketbot-sweep"]
            assert_clean_stop(clock)


def test_run_serves_health_with_outbox_backlog(bot_env, tmp_path):
    port = web_port(bot_env)
    env = {**bot_env, "SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}  # relay down
    with bot_process(["run"], env, tmp_path) as bot:
        wait_until(lambda: accepts_connections(smtp_port(env)), HANG, "the SMTP port", bot)
        wait_until(lambda: accepts_connections(port), HANG, "the web port", bot)
        with smtplib.SMTP("127.0.0.1", smtp_port(env), timeout=10) as client:
            client.sendmail("contact1@customer1.example", [ADDRESS], customer_mail(1))
        status, body = wait_until(
            lambda: (r := http_get(port, "/healthz"))[1]["outbox"]["queued"] == 2 and r,
            HANG, "the acknowledgement and the owner's notice queued", bot)
        assert status == 200 and body["spool"] == 0
        bot.terminate(30)


def owners(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(select(Ticket.owner).order_by(Ticket.id))]
    finally:
        engine.dispose()


def test_rules_edits_apply_to_the_next_message_and_bad_edits_are_refused(bot_env, tmp_path):
    rules = tmp_path / "rules.yaml"
    original = Path(bot_env["TICKETBOT_RULES"]).read_text()
    rules.write_text(original)
    env = {**bot_env, "TICKETBOT_RULES": str(rules)}
    url, port = env["DATABASE_URL"], smtp_port(env)

    def send(i: int, n: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(f"c{i}@example.org", [ADDRESS],
                            f"From: c{i}@example.org\r\nTo: {ADDRESS}\r\nSubject: Hello {i}\r\n"
                            f"Message-ID: <hello-{i}@example.org>\r\n\r\nJust saying hello.\r\n")
        wait_until(lambda: len(owners(url)) == n, HANG, f"ticket {n}", bot)

    with bot_process(["run"], env, tmp_path) as bot:
        wait_until(lambda: accepts_connections(port), HANG, "the SMTP port", bot)
        send(1, 1)
        # a valid edit, announced with SIGHUP
        rules.write_text(original.replace(
            "- name: anything-else\n    description: Anything else goes to sales support (S 3.3).\n"
            "    then: {assign: sales_support}",
            "- name: anything-else\n    then: {assign: rob}"))
        assert rules.read_text() != original
        bot.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded (" in bot.stderr(), HANG, "the reload", bot)
        send(2, 2)
        # an invalid edit, noticed from the file alone: logged, the last good rules stay
        rules.write_text(rules.read_text().replace("assign: rob}", "assign: robert}"))
        wait_until(lambda: "not reloaded" in bot.stderr(), HANG, "the refusal", bot)
        send(3, 3)
        assert_clean_stop_allowing_rule_errors(bot)
    assert owners(url) == ["sanne", "rob", "rob"]
    err = bot.stderr()
    assert "assign 'robert' is neither a person nor a role" in err
    assert f"{rules}:" in err


def assert_clean_stop_allowing_rule_errors(bot: Bot) -> None:
    assert bot.terminate(30) == 0, bot.stderr()[-3000:]
    err = bot.stderr()
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if " ERROR " in line]
    assert all("not reloaded" in line for line in errors), errors


def test_the_bot_refuses_to_start_on_invalid_rules(bot_env, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("people:\n  sanne: {email: sanne@desk.example, roles: [sales_support]}\nrules:\n"
                     "  - name: x\n    when: {subject_regex: '('}\n    then: {assign: sanne}\n")
    env = {**bot_env, "TICKETBOT_RULES": str(rules)}
    with bot_process(["run"], env, tmp_path) as bot:
        rc = bot.proc.wait(30)
    assert rc == 2
    err = bot.stderr()
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        f"ticketbot: {rules}:5:27: rule 'x': bad regular expression '(': "
        "missing ), unterminated subpattern at position 1"]
    assert not accepts_connections(smtp_port(env))


def test_web_serves_slack_events_in_http_mode(bot_env, tmp_path):
    """The real `ticketbot web` with Slack in HTTP mode: /slack/events is mounted, bad
    signatures get 401, Slack's URL check is answered, a DM to the bot opens a ticket."""
    import json

    from tests.support.fakeslack import BOT_TOKEN, FakeSlack
    from tests.support.slack_requests import (
        SECRET,
        envelope,
        http_post,
        message_event,
        signed_headers,
    )

    port = web_port(bot_env)
    with FakeSlack() as slack:
        env = {**bot_env, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.url, "SLACK_CHANNEL": "C0DESK0001"}
        with bot_process(["web"], env, tmp_path, name="web") as web:
            wait_until(lambda: accepts_connections(port), HANG, "the web port", web)
            body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
            assert http_post(port, body, headers={"X-Slack-Signature": "v0=bad",
                                                  "X-Slack-Request-Timestamp": "1"})[0] == 401
            status, answer = http_post(port, body)
            assert status == 200 and json.loads(answer) == {"challenge": "c-123"}
            dm = json.dumps(envelope(message_event("Factuur 2026-311 klopt niet",
                                                   "1800000000.000100", user="U0SANNE01",
                                                   channel="D0SANNE01", channel_type="im"),
                                     "EvAPP00001"))
            assert http_post(port, dm, headers=signed_headers(dm))[0] == 200
            assert_clean_stop(web)
        assert "Slack: events at /slack/events (HTTP mode)" in web.stderr()
        assert BOT_TOKEN not in web.stderr()
        # the one warning is the bad signature's (bolt's "`token` will be unused" is not said)
        warnings = [line.partition(" WARNING ")[2] for line in web.stderr().splitlines()
                    if " WARNING " in line]
        assert [w.split(":")[0] for w in warnings] == ["bot.slack"], warnings
    assert count(env["DATABASE_URL"], Ticket, Ticket.channel == "slack") == 1
