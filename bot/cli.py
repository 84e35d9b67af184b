"""The `ticketbot` command line. Scriptable: --json wherever it lists things."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import mailbox
import os
import re
import smtplib
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.adapters.rules_file import load_rules
from bot.app import (
    PARTS,
    build_sender,
    close_sender,
    open_desk,
    run_forever,
    setup_logging,
)
from bot.config import ConfigError, Settings
from bot.core import report
from bot.core.domain import Direction
from bot.core.rules.schema import RulesError
from bot.core.worktime import format_minutes
from bot.desk import (
    actions,
    api_tokens,
    corrections,
    customer_csv,
    fulltext,
    holds,
    jobs,
    portal,
    queries,
    timesheet,
    webhooks,
)
from bot.desk.actor import Actor
from bot.desk.context import Desk, utcnow
from bot.desk.errors import Refused
from bot.desk.pipeline import Pipeline
from bot.store.backup import BackupError, backup
from bot.store.migrate import upgrade

log = logging.getLogger("bot.cli")


class UserError(Exception):
    """An error for the person at the terminal: printed as one line, exit code 2."""


def iter_mail_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(source, bytes) for every mail under PATH: .eml files, Maildir folders, mbox files."""
    if path.is_dir():
        if all((path / d).is_dir() for d in ("cur", "new")):
            md = mailbox.Maildir(path, factory=None, create=False)
            for key in sorted(md.keys()):
                with md.get_file(key) as f:
                    yield f"maildir:{path}/{key}", f.read()
            return
        for child in sorted(path.iterdir()):
            if child.is_dir() or child.suffix.lower() in {".eml", ".msg", ".mbox"} or _is_mbox(child):
                yield from iter_mail_files(child)
        return
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if _is_mbox(path):
        box = mailbox.mbox(path, factory=None, create=False)
        for i, key in enumerate(box.keys()):
            with box.get_file(key) as f:
                yield f"mbox:{path}#{i + 1}", f.read()
        return
    yield f"file:{path}", path.read_bytes()


def _is_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(5) == b"From "
    except OSError:
        return False


def _print_table(rows: list[dict], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c) or "")) for r in rows)) for c in columns}
    widths = {c: min(w, 60) for c, w in widths.items()}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c) if r.get(c) is not None else "")[:60].ljust(widths[c])
                        for c in columns))


def cmd_ingest(settings: Settings, args) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:  # before anything is stored: a typo must not leave half an import done
        raise UserError("; ".join(f"{p}: no such file or folder" for p in missing))
    desk = _open(settings, args, rules=True)
    pipeline = Pipeline(desk, workers=args.workers)
    counts: dict[str, int] = {}
    try:
        batch: list[tuple[str, bytes]] = []

        def flush() -> None:
            for r in pipeline.ingest(batch, acknowledge=not args.no_ack):
                counts[r.status] = counts.get(r.status, 0) + 1
                if args.json:
                    print(json.dumps(r.as_dict(), ensure_ascii=False))
                else:
                    ticket = f" ticket {r.ticket}" if r.ticket else ""
                    warn = f" ({'; '.join(r.warnings)})" if r.warnings else ""
                    print(f"{r.source}: {r.status}{ticket}{warn}")
            batch.clear()

        for path in args.paths:
            for item in iter_mail_files(Path(path)):
                batch.append(item)
                if len(batch) >= 200:
                    flush()
        flush()
    finally:
        pipeline.close()
    if not args.json:
        print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no mail found",
              file=sys.stderr)
    return 0


def cmd_tickets(settings: Settings, args) -> int:
    desk = _open(settings, args)
    rows = queries.list_tickets(desk, _actor(args, desk), args.status)
    if args.json:
        print(_dumps(desk, rows))
    else:
        for r in rows:
            r["created"] = _local(desk, r["created"])
        _print_table(rows, ["number", "status", "kind", "owner", "contact", "subject", "created"])
    return 0


def cmd_show(settings: Settings, args) -> int:
    desk = _open(settings, args)
    d = queries.ticket_detail(desk, _actor(args, desk), args.number)
    if d is None:
        raise UserError(f"no ticket {args.number}")
    if args.json:
        print(_dumps(desk, d))
        return 0
    print(f"{d['tag']} {d['subject']}")
    for key in ("status", "kind", "owner", "priority", "contact", "language", "created",
                "first_action", "resolved", "linked_ticket", "bounced"):
        if d.get(key) not in (None, False):
            value = _local(desk, d[key]) if key in ("created", "first_action", "resolved") else d[key]
            print(f"  {key}: {value}")
    if d.get("watchers"):
        print(f"  watchers: {', '.join(d['watchers'])}")
    for name, value in (d.get("fields") or {}).items():
        print(f"  field {name}: {value}")
    if d.get("holds"):
        print("  invoices on hold: " + ", ".join(
            f"{h['invoice']} (since {_local(desk, h['held_since'])})" for h in d["holds"]
            if not h["released"]) or "none")
    if d.get("time", {}).get("entries"):
        print(f"  time: {d['time']['total']}")
    for m in d["messages"]:
        arrow = {Direction.IN: "<-", Direction.OUT: "->", Direction.NOTE: "##"}.get(m["direction"], "  ")
        who = m["from"] if m["direction"] != Direction.OUT else f"to {m['to']}"
        extra = f" [{m['delivery']}]" if m["delivery"] else ""
        print(f"\n{arrow} {_local(desk, m['date'])} {who}{extra}: {m['subject']}")
        for line in (m["text"] or "").strip().splitlines():
            print(f"   {line}")
        for a in m["attachments"]:
            print(f"   [attachment] {a['name']} ({a['type']}, {a['size']} bytes)")
    if d.get("time", {}).get("entries"):
        print("\ntime:")
        for e in d["time"]["entries"]:
            note = f" — {e['note']}" if e["note"] else ""
            print(f"  {_local(desk, e['at'])} {e['person']}: {e['duration']}{note}")
    print("\nevents:")
    for e in d["events"]:
        reason = f" — {e['reason']}" if e["reason"] else ""
        print(f"  {_local(desk, e['at'])} {e['actor']}: {e['action']}{_event_detail(e)}{reason}")
    return 0


def _event_detail(e: dict) -> str:
    """What changed, for the events whose detail a person needs: fields, kind, owner,
    status, holds, time."""
    d = e.get("detail") or {}
    a = e["action"]
    if a == "field":
        return f" {d.get('field')}: {d.get('from') or '(empty)'} -> {d.get('to')}"
    if a in ("kind", "status", "reassigned") and "to" in d:
        return f" {d.get('from')} -> {d.get('to')}"
    if a in ("invoice-hold", "invoice-released"):
        return f" {d.get('invoice')}"
    if a == "time" and "minutes" in d:
        return f" {format_minutes(d['minutes'])} ({d.get('person')})"
    return ""


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _in_desk_time(desk: Desk, value):
    """Every ISO time in a JSON answer in the desk's time zone, with its offset, to the
    second (2026-11-23T10:00:00+01:00)."""
    if isinstance(value, dict):
        return {k: _in_desk_time(desk, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_desk_time(desk, v) for v in value]
    if isinstance(value, str) and _ISO_TIME.match(value):
        t = datetime.fromisoformat(value)
        return t.astimezone(desk.tz).replace(microsecond=0).isoformat()
    return value


def _dumps(desk: Desk, value, indent: int | None = 1) -> str:
    return json.dumps(_in_desk_time(desk, value), ensure_ascii=False, indent=indent, default=str)


def cmd_outbox(settings: Settings, args) -> int:
    desk = _open(settings, args)
    if args.send:
        sender = build_sender(settings, desk)
        try:
            counts = sender.run_once(desk.clock(), limit=10_000)
        finally:
            close_sender(sender)
        print(", ".join(f"{n} {k}" for k, n in counts.items()), file=sys.stderr)
    rows = queries.list_outbox(desk, _actor(args, desk), args.status)
    if args.json:
        print(_dumps(desk, rows))
    else:
        _print_table(rows, ["id", "ticket", "channel", "to", "subject", "status", "attempts",
                            "last_error"])
    return 0


def cmd_webhooks(settings: Settings, args) -> int:
    """Webhook subscriptions with their state, and the recent deliveries."""
    desk = _open(settings, args, rules=True)  # rules.yaml's subscriptions, synced
    actor = _actor(args, desk)
    if args.enable:
        webhooks.enable(desk, actor, args.enable)
        print(f"webhook {args.enable}: enabled", file=sys.stderr)
    subs = webhooks.list_subscriptions(desk, actor)
    recent = webhooks.recent_deliveries(desk, actor, args.limit, args.name)
    if args.json:
        print(json.dumps({"subscriptions": subs, "deliveries": recent}, ensure_ascii=False,
                         indent=1))
        return 0
    rows = [{**d, "events": ",".join(d["events"]),
             "secret": "set" if d["secret_set"] else f"{d['secret_env']} NOT SET",
             "queued/sent/failed": "/".join(str(d["deliveries"].get(k, 0))
                                            for k in ("queued", "sent", "failed"))}
            for d in subs]
    _print_table(rows, ["name", "source", "state", "url", "events", "secret", "queued/sent/failed",
                        "last_error"])
    print()
    _print_table(recent, ["id", "subscription", "event", "ticket", "status", "attempts",
                          "created_at", "last_error"])
    return 0


def cmd_db(settings: Settings, args) -> int:
    before, after = upgrade(settings.database_url)
    where = _database_name(settings.database_url)
    if before is None:
        print(f"database created: {where} (schema {after})", file=sys.stderr)
    elif before != after:
        print(f"database upgraded: {where} (schema {before} -> {after})", file=sys.stderr)
    else:
        print(f"database is up to date: {where} (schema {after})", file=sys.stderr)
    return 0


def _database_name(url: str) -> str:
    """The database as a person names it: the SQLite file, or the server and database
    without the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def _actor(args, desk: Desk) -> Actor:
    """The operator at the command line (trusted); `--by WHO` records the action as that
    person's (a key from rules.yaml) or that name's."""
    by = getattr(args, "by", None)
    if by:
        return Actor.operator(by, desk.ruleset.people.get(by))
    try:
        return Actor.operator(f"cli:{getpass.getuser()}")
    except Exception:  # no user name (a container without /etc/passwd entry)
        return Actor.operator("cli")


def _open(settings: Settings, args, rules: bool = False) -> Desk:
    """The desk for one command; `ticketbot --now TIME` runs it as if it were then."""
    desk = open_desk(settings, rules=rules)
    fixed = _now_arg(desk, args.global_now)
    if fixed is not None:
        desk.clock = lambda: fixed
    return desk


def cmd_check_rules(settings: Settings, args) -> int:
    path = Path(args.file) if args.file else settings.rules_path
    # RulesError: printed by main, one line per problem
    rs = load_rules(path, templates=settings.templates_dir, default_timezone=settings.timezone,
                    default_language=settings.default_language)
    print(f"{path}: OK ({len(rs.rules)} rules, {len(rs.people)} people, "
          f"{len(rs.kinds)} kinds)")
    return 0


def cmd_route(settings: Settings, args) -> int:
    path = Path(args.mail)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    desk = _open(settings, args, rules=True)
    out = queries.explain(desk, _actor(args, desk), path.read_bytes(), f"file:{path}")
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    s = out["sender"]
    who = f"{s['name']} <{s['email']}>" if s["name"] else s["email"]
    company = s["company"] or "-"
    print(f"sender:   {who}")
    print(f"customer: {company} ({s['how']}; advisor: {s['advisor'] or 'none'})")
    print(f"subject:  {out['subject']}")
    print(f"language: {out['language'] or '?'}")
    if args.explain:
        for a in out.get("attachments_read", []):  # the text part `attachments` of the rules
            print(f"attached: {a['name']} ({a['chars']} characters read): {a['text'][:200]!r}")
        print(f"rules:    {out['rules']}")
        for t in out["trace"]:
            mark = "MATCH" if t["matched"] else "no"
            print(f"  {mark:5} {t['rule']} (line {t['line']})")
            for c in t["conditions"]:
                res = "yes" if c["result"] else "no"
                print(f"          {res:3} {c['condition'][:100]}" + (f"  [{c['detail']}]" if c["detail"] else ""))
    print(f"kind:     {out['kind']}" + (f" / {out['category']}" if out["category"] else ""))
    print(f"priority: {out['priority']}" + (" (urgent)" if out["urgent"] else ""))
    print(f"owner:    {out['owner']} ({out['owner_reason']})")
    print(f"watchers: {', '.join(out['watchers']) or '-'}")
    print(f"rule:     {out['rule'] or '(none matched: defaults)'}")
    if out["ignore"]:
        print("action:   ignored (no ticket)")
    if "cancellation" in out:
        c = out["cancellation"]
        print(f"cancellation: {c.get('explanation') or 'no contract found for this sender'}")
    return 0


def cmd_assign(settings: Settings, args) -> int:
    desk = _open(settings, args, rules=True)
    person = actions.assign(desk, _actor(args, desk), args.number, args.to, args.reason)
    print(f"ticket {args.number}: now owned by {person}", file=sys.stderr)
    return 0


def cmd_cancellation(settings: Settings, args) -> int:
    desk = _open(settings, args, rules=True)
    out = actions.cancellation_outcome(desk, _actor(args, desk), args.number, args.outcome,
                                       args.reason)
    if args.json:
        print(_dumps(desk, out))
    else:
        ends = f"; the contract ends on {out['contract_ends_on']}" if out["contract_ends_on"] else ""
        print(f"ticket {args.number}: {out['outcome']}{ends}")
    return 0


def cmd_field(settings: Settings, args) -> int:
    desk = _open(settings, args, rules=True)
    fields = actions.set_field(desk, _actor(args, desk), args.number, args.name, args.value)
    print(json.dumps(fields, ensure_ascii=False))
    return 0


def cmd_tasks(settings: Settings, args) -> int:
    desk = _open(settings, args)
    if args.done is not None:
        t = actions.complete_task(desk, _actor(args, desk), args.done, args.note)
        print(f"task {t['id']} done: {t['title']}", file=sys.stderr)
        return 0
    rows = queries.list_tasks(desk, _actor(args, desk), open_only=not args.all)
    if args.json:
        print(_dumps(desk, rows))
    else:
        for r in rows:
            r["due"] = _local(desk, r["due"])
        _print_table(rows, ["id", "ticket", "kind", "assignee", "due", "title"])
    return 0


def cmd_import(settings: Settings, args) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    # with the rules, so advisors are checked against rules.yaml's people
    desk = _open(settings, args, rules=True)
    report = customer_csv.import_file(desk, _actor(args, desk), args.what, path)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    else:
        print(f"{path}: {report.added} added, {report.changed} changed, "
              f"{report.unchanged} unchanged, {len(report.rejected)} rejected")
        for line, reason in report.rejected:
            print(f"  line {line}: {reason}")
    return 1 if report.rejected else 0


def cmd_export(settings: Settings, args) -> int:
    desk = _open(settings, args)
    actor = _actor(args, desk)
    if args.file:
        with open(args.file, "w", encoding="utf-8", newline="") as f:
            customer_csv.export_file(desk, actor, args.what, f)
    else:
        customer_csv.export_file(desk, actor, args.what, sys.stdout)
    return 0


def cmd_portal(settings: Settings, args) -> int:
    """The customer portal's links and admins (bot/desk/portal.py)."""
    desk = _open(settings, args)
    actor = _actor(args, desk)
    if args.portal_command == "revoke":
        if portal.revoke(desk, actor, args.contact):
            print(f"{args.contact}: portal links revoked; the next mail to them carries a new one")
        else:
            print(f"{args.contact}: had no active portal link")
        return 0
    if args.portal_command == "admin":
        out = portal.set_admin(desk, actor, args.contact, args.value == "yes")
        print(f"{out['email']}: portal admin of {out['company']}: {'yes' if out['portal_admin'] else 'no'}")
        return 0
    rows = portal.contacts(desk, actor)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        _print_table(rows, ["email", "name", "company", "portal_admin", "link", "link_sent"])
    return 0


TEST_MAIL = """\
From: Jan de Vries <jan@klant.example>
To: {to}
Subject: {subject}
Date: {date}
Message-ID: <{mid}@klant.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{body}
"""
TEST_SUBJECT = "Factuur 2026-114 klopt niet"
TEST_BODY = """\
Goedendag,

Op factuur 2026-114 staat een advertentie die wij niet besteld hebben.
Kunt u dit corrigeren?

Met vriendelijke groet,
Jan de Vries"""


def cmd_send_test_mail(settings: Settings, args) -> int:
    """A customer's mail to the running bot's SMTP intake: the quick start's first step,
    with nothing to install."""
    host, port = settings.smtp_listen
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    now = utcnow()
    to = args.to or settings.address
    raw = TEST_MAIL.format(to=to, date=format_datetime(now), mid=f"test-{now:%Y%m%d%H%M%S%f}",
                           subject=" ".join(args.subject.split()), body=args.body)
    if args.sender != "jan@klant.example":  # another sender: no name to go with it
        raw = raw.replace("Jan de Vries <jan@klant.example>", args.sender, 1)
    try:
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail(args.sender)
            code, said = smtp.rcpt(to)
            if code != 250:
                raise UserError(f"smtp://{host}:{port} refused {to}: {code} {said.decode()}")
            code, said = smtp.data(raw.encode("utf-8"))
    except (OSError, smtplib.SMTPException) as exc:
        raise UserError(f"could not hand the test mail to smtp://{host}:{port} ({exc}); "
                        "is the bot running (make run)?") from exc
    if code != 250:
        raise UserError(f"smtp://{host}:{port} answered {code} {said.decode()}")
    print(f"sent: {args.sender} -> {to} at smtp://{host}:{port}, {said.decode()}")
    ref = said.decode().rpartition("queued as ")[2].strip()
    if args.no_wait or not ref:
        return 0
    # Wait until the bot has made it a ticket (it is quick), so the next command finds it.
    desk = _open(settings, args, rules=True)
    actor = _actor(args, desk)
    deadline = time.monotonic() + args.wait
    while True:
        fate = [f for f in queries.mail_fate(desk, actor, ref) if f["status"] != "spooled"]
        if fate:
            print(f"it became ticket {fate[0]['ticket']} ({fate[0]['status']}). "
                  f"Next: .venv/bin/ticketbot tickets" if fate[0]["ticket"] else
                  f"the bot {fate[0]['status']} it: .venv/bin/ticketbot mail {ref}")
            return 0
        if time.monotonic() > deadline:
            print(f"not yet a ticket after {args.wait:g} s: is the bot's worker running on "
                  f"this database? (.venv/bin/ticketbot mail {ref} tells later)", file=sys.stderr)
            return 1
        time.sleep(0.2)


def cmd_backup(settings: Settings, args) -> int:
    try:
        size = backup(settings.database_url, Path(args.file))
    except BackupError as exc:
        raise UserError(str(exc)) from exc
    print(f"backed up {_database_name(settings.database_url)} to {args.file} ({size:,} bytes)")
    return 0


def cmd_mail(settings: Settings, args) -> int:
    """What became of a mail, by the reference the SMTP server answered with."""
    desk = _open(settings, args, rules=True)
    found = queries.mail_fate(desk, _actor(args, desk), args.ref)
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=1))
    elif not found:
        raise UserError(f"no mail with reference {args.ref}")
    else:
        _print_table(found, ["ref", "status", "ticket", "received_at", "source", "error"])
    return 0


def cmd_search(settings: Settings, args) -> int:
    """The same search as Slack's `/ticket search`: a number, or words in the subject,
    the customer, the contact or any message."""
    desk = _open(settings, args, rules=True)
    words = " ".join(args.words)
    found = queries.search(desk, _actor(args, desk), words, limit=args.limit)
    if args.json:
        print(_dumps(desk, found))
        return 0
    for d in found:
        print(f"{d['tag']}  {d['status']:<8} {d['owner']:<10} {d['subject']}")
    if not found:
        print(f"nothing found for {words!r}", file=sys.stderr)
    return 0


def cmd_reindex(settings: Settings, args) -> int:
    """`ticketbot reindex`: the full-text search index rebuilt from every ticket."""
    desk = _open(settings, args)
    n = fulltext.reindex(desk, _actor(args, desk))
    print(f"search index rebuilt: {n} tickets", file=sys.stderr)
    return 0


def cmd_routing(settings: Settings, args) -> int:
    """`ticketbot routing report`: the rules behind tickets people corrected (reassigned,
    kind changed), the words they matched on, and suggested edits (never applied)."""
    desk = _open(settings, args, rules=True)
    since = _now_arg(desk, args.since) if args.since else None
    rows = corrections.report(desk, _actor(args, desk), since)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("no routed ticket was corrected by hand" + (f" since {args.since}" if args.since else ""))
        return 0
    for r in rows:
        print(f"rule {r['rule']}: {r['corrected']} corrected")
        for change, n in r["changes"]:
            print(f"  {n} x {change}")
        if r["words"]:
            print(f"  matched on: {', '.join(r['words'])}")
        for ex in r["examples"]:
            print(f"  e.g. {ex['ticket']} {ex['subject']}")
        print(f"  suggestion: {r['suggestion']}")
    return 0


def cmd_report(settings: Settings, args) -> int:
    desk = _open(settings, args, rules=True)
    now = _now_arg(desk, args.now) or desk.clock()
    rows = queries.open_complaints(desk, _actor(args, desk), now)
    sys.stdout.write(report.render(rows, args.format, now, desk.renderer))
    return 0


def _now_arg(desk: Desk, value: str | None) -> datetime | None:
    """--now 2026-12-01T09:00 (the desk's time zone unless one is given)."""
    if not value:
        return None
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--now {value!r}: use an ISO time such as 2026-12-01T09:00") from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=desk.tz)
    return now.astimezone(UTC)


def cmd_sweep(settings: Settings, args) -> int:
    """All due time-based work as of --now (default: now): reminders, escalations, jobs.
    Then delivers the outbox, unless --no-send."""
    desk = _open(settings, args, rules=True)
    now = _now_arg(desk, args.now) or desk.clock()
    rehearse = args.force and now - desk.clock() > jobs.AHEAD
    done: dict[str, int | bool] = {**jobs.sweep(desk, now, rehearse=rehearse)}
    if rehearse:
        done["rehearsal"] = True
    elif not args.no_send:
        sender = build_sender(settings, desk)
        try:
            sent = sender.run_once(now, limit=10_000)
        finally:
            close_sender(sender)
        done.update({f"outbox {k}": v for k, v in sent.items()})
    if args.json:
        print(json.dumps(done))
    else:
        print(", ".join(f"{k}: {v}" for k, v in done.items()) or "nothing due")
    return 0


def cmd_work(settings: Settings, args) -> int:
    """reply / action / note / resolve / reopen / wait / kind on one ticket."""
    desk = _open(settings, args, rules=True)
    actor = _actor(args, desk)
    c, n = args.command, args.number
    if c == "reply":
        text = sys.stdin.read() if args.text == "-" else args.text
        result = actions.reply(desk, actor, n, text)
    elif c == "action":
        result = actions.log_action(desk, actor, n, args.how, args.note)
    elif c == "note":
        result = actions.add_note(desk, actor, n, args.text, action=args.action)
    elif c == "resolve":
        result = actions.resolve(desk, actor, n, args.note, tell_customer=not args.no_mail)
    elif c == "reopen":
        result = actions.reopen(desk, actor, n, args.reason)
    elif c == "wait":
        result = actions.set_waiting(desk, actor, n, not args.off)
    else:
        result = actions.set_kind(desk, actor, n, args.kind)
    print(_dumps(desk, result, indent=None))
    return 0


def cmd_new(settings: Settings, args) -> int:
    """A ticket for a customer who phoned, or asked a colleague (actions.open_on_behalf)."""
    desk = _open(settings, args, rules=True)
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    result = actions.open_on_behalf(desk, _actor(args, desk), args.customer, args.kind, text,
                                    ack=not args.no_ack, source="cli", name=args.name or "")
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0


def cmd_holds(settings: Settings, args) -> int:
    """The invoices on hold from collection (a complaint about them is open)."""
    desk = _open(settings, args)
    rows = holds.list_holds(desk, _actor(args, desk), open_only=not args.all)
    if args.csv:
        sys.stdout.write(holds.to_csv(rows))
    elif args.json:
        print(_dumps(desk, rows))
    else:
        for r in rows:
            r["held_since"] = _local(desk, r["held_since"])
        _print_table(rows, ["invoice", "tag", "customer", "status", "owner", "held_since", "source"]
                     + (["released"] if args.all else []))
    return 0


def cmd_hold(settings: Settings, args) -> int:
    """Put an invoice on hold for a ticket by hand, or (--release) take it off hold."""
    desk = _open(settings, args, rules=True)
    rows = actions.hold_invoice(desk, _actor(args, desk), args.number, args.invoice,
                                release=args.release, reason=args.reason)
    held = ", ".join(r["invoice"] for r in rows) or "none"
    print(f"ticket {args.number}: invoice {args.invoice} "
          f"{'released' if args.release else 'on hold'}; on hold now: {held}")
    return 0


def cmd_time(settings: Settings, args) -> int:
    """Log time spent on a ticket: `ticketbot time 4 15m called the customer`."""
    desk = _open(settings, args, rules=True)
    out = actions.log_time(desk, _actor(args, desk), args.number, args.duration,
                           " ".join(args.note) or None)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print(f"{out['tag']}: {out['duration']} logged for {out['person']}; "
              f"{out['total']} on this ticket in all")
    return 0


def cmd_time_report(settings: Settings, args) -> int:
    """Time logged in a month per person, customer and kind."""
    desk = _open(settings, args, rules=True)
    month = args.month or desk.clock().astimezone(desk.tz).strftime("%Y-%m")
    rep = timesheet.time_report(desk, _actor(args, desk), month)
    if args.csv:
        sys.stdout.write(timesheet.to_csv(rep))
    elif args.json:
        print(json.dumps(rep, ensure_ascii=False, indent=1))
    else:
        print(f"time logged in {month}: {rep['total']}")
        _print_table(rep["rows"], ["person", "customer", "kind", "entries", "duration"])
        for key in ("person", "customer", "kind"):
            totals = rep[f"per_{key}"]
            if totals:
                print(f"\nper {key}: " + ", ".join(f"{t[key]} {t['duration']}" for t in totals))
    return 0


def _local(desk: Desk, value: str | None) -> str:
    """An ISO time as a person reads it at the terminal: the desk's time zone, to the
    minute, with the zone's abbreviation (CET, CEST)."""
    if not value:
        return ""
    t = datetime.fromisoformat(value)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(desk.tz).strftime("%Y-%m-%d %H:%M %Z")


def cmd_run(settings: Settings, args) -> int:
    return run_forever(settings, PARTS if args.command == "run" else (args.command,))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ticketbot", description=__doc__)
    p.add_argument("--now", dest="global_now", metavar="TIME",
                   help="act as if it were TIME (ISO, the desk's time zone unless given): "
                        "for replays and tests")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the whole bot in one process: worker, web and clock")
    sub.add_parser("worker", help="the Procfile's worker: IMAP and SMTP intake, outbox sender")
    sub.add_parser("web", help="the Procfile's web: health endpoint (and Slack's HTTP endpoint)")
    sub.add_parser("clock", help="the Procfile's clock: the scheduler")
    i = sub.add_parser("ingest", help="turn .eml files, Maildir folders or mbox files into tickets")
    i.add_argument("paths", nargs="+")
    i.add_argument("--json", action="store_true", help="one JSON object per message")
    i.add_argument("--workers", type=int, default=None, help="parser processes (default: cores)")
    i.add_argument("--no-ack", action="store_true",
                   help="mail no customer (an old archive): tickets only, each saying so")
    t = sub.add_parser("tickets", help="list tickets")
    t.add_argument("--status")
    t.add_argument("--json", action="store_true")
    s = sub.add_parser("show", help="one ticket with its messages and events")
    s.add_argument("number", type=int)
    s.add_argument("--json", action="store_true")
    o = sub.add_parser("outbox", help="outgoing mail and posts, queued, sent or failed")
    o.add_argument("--status")
    o.add_argument("--json", action="store_true")
    o.add_argument("--send", action="store_true", help="deliver what is due now, then list")
    wh = sub.add_parser("webhooks", help="webhook subscriptions with their state, and recent "
                                         "deliveries (status, attempts, last error)")
    wh.add_argument("--json", action="store_true")
    wh.add_argument("--limit", type=int, default=20, help="recent deliveries shown (default 20)")
    wh.add_argument("--name", help="deliveries of this subscription only")
    wh.add_argument("--enable", metavar="NAME", help="deliver to a disabled subscription again")
    d = sub.add_parser("db", help="database maintenance")
    d.add_argument("action", choices=["upgrade"])
    c = sub.add_parser("check-rules", help="validate rules.yaml: every problem with file, line, column")
    c.add_argument("file", nargs="?", help="default: TICKETBOT_RULES")
    r = sub.add_parser("route", help="how a mail would be routed, without storing anything")
    r.add_argument("mail", help="an .eml file")
    r.add_argument("--explain", action="store_true", help="every rule tried, and why")
    r.add_argument("--json", action="store_true")
    a = sub.add_parser("assign", help="give a ticket to another person or role")
    a.add_argument("number", type=int)
    a.add_argument("to", help="a person or a role from rules.yaml")
    a.add_argument("--reason", required=True)
    a.add_argument("--by", help="who does it (default: cli:$USER)")
    cn = sub.add_parser("cancellation", help="record a cancellation's outcome")
    cn.add_argument("number", type=int)
    cn.add_argument("outcome", choices=["retained", "lost"])
    cn.add_argument("--reason")
    cn.add_argument("--by", help="who does it (default: cli:$USER)")
    cn.add_argument("--json", action="store_true")
    fd = sub.add_parser("field", help="set one of a ticket's extra fields (per kind, rules.yaml)")
    fd.add_argument("number", type=int)
    fd.add_argument("name")
    fd.add_argument("value")
    fd.add_argument("--by", help="who does it (default: cli:$USER)")
    tk = sub.add_parser("tasks", help="open tasks (e.g. revoke website access)")
    tk.add_argument("--all", action="store_true", help="done ones too")
    tk.add_argument("--json", action="store_true")
    tk.add_argument("--done", type=int, metavar="ID", help="mark task ID done")
    tk.add_argument("--note", help="with --done: what was done")
    tk.add_argument("--by", help="with --done: who did it (default: cli:$USER)")
    se = sub.add_parser("search", help="tickets by number or by words (as /ticket search in Slack)")
    se.add_argument("words", nargs="+")
    se.add_argument("--limit", type=int, default=20)
    se.add_argument("--json", action="store_true")
    sub.add_parser("reindex", help="rebuild the full-text search index from every ticket")
    ro = sub.add_parser("routing", help="routing report: the rules behind tickets people corrected, "
                                        "with suggested edits (never applied)")
    ro.add_argument("what", choices=["report"])
    ro.add_argument("--since", help="corrections from this time on (ISO; the desk's time zone)")
    ro.add_argument("--json", action="store_true")
    rp = sub.add_parser("report", help="reports; open-complaints: every open complaint with its age")
    rp.add_argument("name", choices=["open-complaints"])
    rp.add_argument("--format", choices=["table", "csv", "html", "json"], default="table")
    rp.add_argument("--now", help="as of this time (ISO; the desk's time zone when none given)")
    sw = sub.add_parser("sweep", help="run all due time-based work (reminders, escalations, "
                                      "weekly report) as of --now, then send the outbox")
    sw.add_argument("--now", help="as of this time, e.g. 2026-12-01T09:00 (desk's time zone)")
    sw.add_argument("--no-send", action="store_true", help="queue only; do not deliver")
    sw.add_argument("--force", action="store_true",
                    help="a --now more than an hour ahead: rehearse (show what would go; "
                         "send and record nothing)")
    sw.add_argument("--json", action="store_true")
    w = sub.add_parser("new", help="a ticket for a customer who phoned or asked a colleague "
                                   "(they get the acknowledgement)")
    w.add_argument("customer", help="the customer's mail address")
    w.add_argument("text", nargs="+", help="what they asked; - reads it from standard input")
    w.add_argument("--kind", help="a kind from rules.yaml (default: as the rules route it), or "
                                  "call: a phone call, logged as the first action")
    w.add_argument("--no-ack", action="store_true", help="do not acknowledge the customer")
    w.add_argument("--name", help="the customer's name, if the directory does not know it")
    w.add_argument("--by", help="who took the request: a person from rules.yaml")
    w = sub.add_parser("reply", help="answer the customer by mail (counts as an action)")
    w.add_argument("number", type=int)
    w.add_argument("text", help="the reply; - reads it from standard input")
    w.add_argument("--by", help="who answers: a person from rules.yaml (default: cli:$USER)")
    w = sub.add_parser("action", help="log a call, meeting or visit (counts as an action)")
    w.add_argument("number", type=int)
    w.add_argument("how", choices=["call", "meeting", "visit", "action"])
    w.add_argument("--note")
    w.add_argument("--by")
    w = sub.add_parser("note", help="an internal note (never mailed to the customer)")
    w.add_argument("number", type=int)
    w.add_argument("text")
    w.add_argument("--action", action="store_true", help="the note records an action")
    w.add_argument("--by")
    w = sub.add_parser("resolve", help="resolve; the customer is mailed 'reply if it is not'")
    w.add_argument("number", type=int)
    w.add_argument("--note", help="told to the customer too")
    w.add_argument("--no-mail", action="store_true", help="do not mail the customer")
    w.add_argument("--by")
    w = sub.add_parser("reopen", help="reopen a resolved ticket")
    w.add_argument("number", type=int)
    w.add_argument("--reason")
    w.add_argument("--by")
    w = sub.add_parser("wait", help="waiting on the customer (pauses the resolution clock)")
    w.add_argument("number", type=int)
    w.add_argument("--off", action="store_true", help="no longer waiting")
    w.add_argument("--by")
    w = sub.add_parser("kind", help="change a ticket's kind (and so its SLA policy)")
    w.add_argument("number", type=int)
    w.add_argument("kind")
    w.add_argument("--by")
    tm = sub.add_parser("send-test-mail", help="mail the running bot as a customer would (SMTP)")
    tm.add_argument("--from", dest="sender", default="jan@klant.example")
    tm.add_argument("--to", help="default: the desk's address (TICKETBOT_ADDRESS)")
    tm.add_argument("--subject", default=TEST_SUBJECT)
    tm.add_argument("--body", default=TEST_BODY)
    tm.add_argument("--wait", type=float, default=30.0, metavar="SECONDS",
                    help="how long to wait for the ticket (default 30)")
    tm.add_argument("--no-wait", action="store_true", help="do not wait for the ticket")
    bk = sub.add_parser("backup", help="a consistent copy of the SQLite database, while it runs")
    bk.add_argument("file", help="the new file")
    ml = sub.add_parser("mail", help="what became of a mail: the reference in SMTP's 'queued as'")
    ml.add_argument("ref")
    ml.add_argument("--json", action="store_true")
    im = sub.add_parser("import", help="upsert customers or contracts from CSV")
    im.add_argument("what", choices=["customers", "contracts"])
    im.add_argument("file")
    im.add_argument("--json", action="store_true")
    hl = sub.add_parser("holds", help="invoices on hold from collection (a complaint about them is open)")
    hl.add_argument("--csv", action="store_true", help="as CSV (what receivables is mailed)")
    hl.add_argument("--json", action="store_true")
    hl.add_argument("--all", action="store_true", help="released holds too")
    ho = sub.add_parser("hold", help="put an invoice on hold for a ticket, or --release it")
    ho.add_argument("number", type=int)
    ho.add_argument("invoice", help="the invoice number, e.g. 2026-114")
    ho.add_argument("--release", action="store_true", help="take it off hold")
    ho.add_argument("--reason")
    ho.add_argument("--by", help="who does it (default: cli:$USER)")
    tm = sub.add_parser("time", help="log time spent on a ticket: ticketbot time 4 15m [note]")
    tm.add_argument("number", type=int)
    tm.add_argument("duration", help="15m, 1h30, 1.5h or 90 (minutes)")
    tm.add_argument("note", nargs="*")
    tm.add_argument("--by", help="whose time: a person from rules.yaml (default: cli:$USER)")
    tm.add_argument("--json", action="store_true")
    tr = sub.add_parser("time-report", help="time logged in a month per person, customer and kind")
    tr.add_argument("--month", help="YYYY-MM (default: this month)")
    tr.add_argument("--csv", action="store_true")
    tr.add_argument("--json", action="store_true")
    ex = sub.add_parser("export", help="customers or contracts as CSV (the import format)")
    ex.add_argument("what", choices=["customers", "contracts"])
    ex.add_argument("file", nargs="?", help="default: standard output")
    at = sub.add_parser("api-token", help="REST API tokens, one per integration")
    at_sub = at.add_subparsers(dest="action", required=True)
    atc = at_sub.add_parser("create", help="a new token, printed once (kept hashed)")
    atc.add_argument("name")
    atc.add_argument("--scope", choices=list(api_tokens.SCOPES), required=True)
    atl = at_sub.add_parser("list", help="the tokens: name, scope, made, revoked")
    atl.add_argument("--json", action="store_true")
    atr = at_sub.add_parser("revoke", help="end a token at once")
    atr.add_argument("name")
    po = sub.add_parser("portal", help="the customer portal: revoke a contact's links, portal admins")
    pos = po.add_subparsers(dest="portal_command", required=True)
    pr = pos.add_parser("revoke", help="end every portal link of a contact (address or id) at once")
    pr.add_argument("contact")
    pa = pos.add_parser("admin", help="a contact sees all of their company's tickets in the portal (yes|no)")
    pa.add_argument("contact")
    pa.add_argument("value", choices=["yes", "no"])
    pl = pos.add_parser("list", help="contacts with a portal link or portal admin rights")
    pl.add_argument("--json", action="store_true")
    return p


COMMANDS = {"run": cmd_run, "worker": cmd_run, "web": cmd_run, "clock": cmd_run, "ingest": cmd_ingest,
            "tickets": cmd_tickets,
            "show": cmd_show, "outbox": cmd_outbox, "db": cmd_db, "check-rules": cmd_check_rules,
            "route": cmd_route, "assign": cmd_assign, "cancellation": cmd_cancellation,
            "tasks": cmd_tasks, "import": cmd_import, "export": cmd_export, "report": cmd_report,
            "routing": cmd_routing, "search": cmd_search, "reindex": cmd_reindex, "send-test-mail": cmd_send_test_mail,
            "mail": cmd_mail, "backup": cmd_backup, "portal": cmd_portal,
            "field": cmd_field, "sweep": cmd_sweep, "reply": cmd_work, "action": cmd_work,
            "note": cmd_work, "resolve": cmd_work, "reopen": cmd_work, "wait": cmd_work,
            "kind": cmd_work, "new": cmd_new, "holds": cmd_holds, "hold": cmd_hold, "time": cmd_time,
            "time-report": cmd_time_report, "webhooks": cmd_webhooks}


def cmd_api_token(settings: Settings, args) -> int:
    """REST API tokens: create (printed once, only its hash is kept), list, revoke."""
    desk = _open(settings, args)
    if args.action == "create":
        token = api_tokens.create(desk, args.name, args.scope)
        print(token)
        print(f"API token for {args.name} (scope {args.scope}): shown this once; keep it as a "
              "secret. Send it as Authorization: Bearer <token>.", file=sys.stderr)
    elif args.action == "revoke":
        api_tokens.revoke(desk, args.name)
        print(f"API token of {args.name} revoked", file=sys.stderr)
    else:
        rows = api_tokens.list_tokens(desk)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=1))
        else:
            _print_table(rows, ["name", "scope", "created", "revoked"])
    return 0


COMMANDS["api-token"] = cmd_api_token


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        level = settings.log_level
        if args.command not in ("run", "worker", "web", "clock") and level.upper() == "INFO":
            # One-shot commands: stdout is the result and stderr is for errors; the
            # INFO chatter (alembic's migration lines, one line per ticket) is noise there.
            level = "WARNING"
        setup_logging(level)
        return COMMANDS[args.command](settings, args)
    except (UserError, ConfigError, Refused) as exc:
        print(f"ticketbot: {exc}", file=sys.stderr)
        return 2
    except RulesError as exc:  # one line per problem: file:line:column: reason
        for problem in exc.problems:
            print(f"ticketbot: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ticketbot show 1 | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # no stack trace for the user; the log has it at debug level
        log.debug("unexpected error", exc_info=True)
        print(f"ticketbot: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
