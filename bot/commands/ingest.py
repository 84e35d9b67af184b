"""`ticketbot ingest`: .eml files, Maildir folders or mbox files into tickets."""

from __future__ import annotations

import argparse
import json
import mailbox
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.commands import UserError
from bot.commands.common import open_for
from bot.config import Settings
from bot.desk.pipeline import Pipeline


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


def cmd_ingest(settings: Settings, args) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:  # before anything is stored: a typo must not leave half an import done
        raise UserError("; ".join(f"{p}: no such file or folder" for p in missing))
    desk = open_for(settings, args, rules=True)
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


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.add_argument("--workers", type=int, default=None,
                   help="parser processes (default: one per core but one; 1: none, parse in this process)")
    p.add_argument("--no-ack", action="store_true",
                   help="mail no customer (an old archive): tickets only, each saying so")


handle = cmd_ingest
