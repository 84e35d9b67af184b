"""The `ticketbot` command line. Scriptable: --json wherever it lists things."""

from __future__ import annotations

import argparse
import json
import logging
import mailbox
import sys
from pathlib import Path
from typing import Iterator

from bot.config import ConfigError, Settings

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
    from bot.app import open_service
    from bot.pipeline import Pipeline

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:  # before anything is stored: a typo must not leave half an import done
        raise UserError("; ".join(f"{p}: no such file or folder" for p in missing))
    service = open_service(settings)
    pipeline = Pipeline(service, workers=args.workers)
    counts: dict[str, int] = {}
    try:
        batch: list[tuple[str, bytes]] = []

        def flush() -> None:
            for r in pipeline.ingest(batch):
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
    from bot.app import open_service

    rows = open_service(settings).list_tickets(args.status)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        _print_table(rows, ["number", "status", "kind", "owner", "contact", "subject", "created"])
    return 0


def cmd_show(settings: Settings, args) -> int:
    from bot.app import open_service

    d = open_service(settings).ticket_detail(args.number)
    if d is None:
        raise UserError(f"no ticket {args.number}")
    if args.json:
        print(json.dumps(d, ensure_ascii=False, indent=1))
        return 0
    print(f"{d['tag']} {d['subject']}")
    for key in ("status", "kind", "owner", "priority", "contact", "language", "created",
                "first_action", "resolved", "linked_ticket", "bounced"):
        if d.get(key) not in (None, False):
            print(f"  {key}: {d[key]}")
    for m in d["messages"]:
        arrow = {"in": "<-", "out": "->", "note": "##"}.get(m["direction"], "  ")
        who = m["from"] if m["direction"] != "out" else f"to {m['to']}"
        extra = f" [{m['delivery']}]" if m["delivery"] else ""
        print(f"\n{arrow} {m['date']} {who}{extra}: {m['subject']}")
        for line in (m["text"] or "").strip().splitlines():
            print(f"   {line}")
        for a in m["attachments"]:
            print(f"   [attachment] {a['name']} ({a['type']}, {a['size']} bytes)")
    print("\nevents:")
    for e in d["events"]:
        reason = f" — {e['reason']}" if e["reason"] else ""
        print(f"  {e['at']} {e['actor']}: {e['action']}{reason}")
    return 0


def cmd_outbox(settings: Settings, args) -> int:
    from bot.app import open_service

    service = open_service(settings)
    if args.send:
        from datetime import datetime, timezone

        from bot.adapters.smtp_out import make_transport
        from bot.outbox import OutboxSender

        transport = make_transport(settings.smtp_url, settings.mail_dir)
        try:
            counts = OutboxSender(settings, service.sessions, {"mail": transport}).run_once(
                datetime.now(timezone.utc), limit=10_000)
        finally:
            transport.close()
        print(", ".join(f"{n} {k}" for k, n in counts.items()), file=sys.stderr)
    rows = service.list_outbox(args.status)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        _print_table(rows, ["id", "ticket", "channel", "to", "subject", "status", "attempts",
                            "last_error"])
    return 0


def cmd_db(settings: Settings, args) -> int:
    from bot.migrate import upgrade

    upgrade(settings.database_url)
    print("database is up to date", file=sys.stderr)
    return 0


def cmd_run(settings: Settings, args) -> int:
    from bot.app import PARTS, run_forever

    return run_forever(settings, PARTS if args.command == "run" else (args.command,))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ticketbot", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the whole bot in one process: worker, web and clock")
    sub.add_parser("worker", help="the Procfile's worker: IMAP and SMTP intake, outbox sender")
    sub.add_parser("web", help="the Procfile's web: health endpoint (and Slack's HTTP endpoint)")
    sub.add_parser("clock", help="the Procfile's clock: the scheduler")
    i = sub.add_parser("ingest", help="turn .eml files, Maildir folders or mbox files into tickets")
    i.add_argument("paths", nargs="+")
    i.add_argument("--json", action="store_true", help="one JSON object per message")
    i.add_argument("--workers", type=int, default=None, help="parser processes (default: cores)")
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
    d = sub.add_parser("db", help="database maintenance")
    d.add_argument("action", choices=["upgrade"])
    return p


COMMANDS = {"run": cmd_run, "worker": cmd_run, "web": cmd_run, "clock": cmd_run, "ingest": cmd_ingest, "tickets": cmd_tickets,
            "show": cmd_show, "outbox": cmd_outbox, "db": cmd_db}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        from bot.app import setup_logging

        level = settings.log_level
        if args.command not in ("run", "worker", "web", "clock") and level.upper() == "INFO":
            # One-shot commands: stdout is the result and stderr is for errors; the
            # INFO chatter (alembic's migration lines, one line per ticket) is noise there.
            level = "WARNING"
        setup_logging(level)
        return COMMANDS[args.command](settings, args)
    except (UserError, ConfigError) as exc:
        print(f"ticketbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ticketbot show 1 | head`: the reader has had enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # no stack trace for the user; the log has it at debug level
        log.debug("unexpected error", exc_info=True)
        print(f"ticketbot: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
