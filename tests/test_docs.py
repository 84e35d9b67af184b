"""Every `sh` example in README.md and docs/*.md is run, so the docs cannot drift from
the code.

Each file's examples run in order, as one bash script (`set -euo pipefail`: a variable
set in one block is there in the next), in a fresh folder beside a running bot, as a
reader would in their second terminal: `.venv` is the project's, `rules.yaml` and
`templates/` the shipped ones, the database and outgoing mail are the embedded defaults
(`var/`). The bot listens on free ports; the examples' `2525` and `8080` are rewritten to
them, and `$DESK` is the web face's address. `make run` is what started that bot (the
test checks the Makefile's recipe is exactly `ticketbot db upgrade` then `ticketbot
run`); `make test` is CI itself and `make bench` takes minutes: for those two lines the
test checks only that the targets exist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import HANG, REPO
from tests.scenarios.test_app import Bot, base_env, wait_until
from tests.support.servers import free_port

FENCE = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def examples(path: Path) -> list[str]:
    return FENCE.findall(path.read_text(encoding="utf-8"))


def make_targets() -> dict[str, list[str]]:
    """The Makefile's targets and their recipe lines."""
    targets: dict[str, list[str]] = {}
    current = None
    for line in (REPO / "Makefile").read_text().splitlines():
        if m := re.match(r"^([a-z][\w-]*):", line):
            current = m.group(1)
            targets[current] = []
        elif line.startswith("\t") and current:
            targets[current].append(line.strip())
    return targets


def test_make_run_is_the_two_commands_this_test_runs():
    assert make_targets()["run"] == ["$(BIN)/ticketbot db upgrade", "$(BIN)/ticketbot run"]


def test_every_doc_is_reached_from_the_readme():
    readme = (REPO / "README.md").read_text()
    assert [p.name for p in DOCS[1:] if f"(docs/{p.name})" not in readme] == []


@pytest.mark.parametrize("doc", [p for p in DOCS if examples(p)], ids=lambda p: p.name)
def test_shell_examples_run(doc: Path, tmp_path):
    smtp, web = free_port(), free_port()
    env = {k: v for k, v in base_env().items() if not k.startswith("SLACK_")}
    venv = Path(sys.executable).parent.parent
    env.update({
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "TICKETBOT_SMTP_LISTEN": f"127.0.0.1:{smtp}",
        "TICKETBOT_WEB_LISTEN": f"127.0.0.1:{web}",
        "DESK": f"http://localhost:{web}",
    })
    (tmp_path / ".venv").symlink_to(venv)
    (tmp_path / "templates").symlink_to(REPO / "templates")
    shutil.copy(REPO / "rules.yaml", tmp_path / "rules.yaml")

    targets = make_targets()
    script = ["set -euo pipefail"]
    for n, block in enumerate(examples(doc), 1):
        block = (block.replace("127.0.0.1:2525", f"127.0.0.1:{smtp}")
                 .replace("localhost:8080", f"localhost:{web}")
                 .replace("127.0.0.1:8080", f"127.0.0.1:{web}"))
        lines = []
        for line in block.splitlines():
            if m := re.match(r"\s*make (\S+)", line):
                assert m.group(1) in targets, f"{doc.name}: `make {m.group(1)}` is no target"
                line = f": {line}"  # see the module's docstring
            lines.append(line)
        script += [f"echo '--- example {n}' >&2", *lines]

    upgrade = subprocess.run([str(venv / "bin" / "ticketbot"), "db", "upgrade"], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=HANG)
    assert upgrade.returncode == 0, upgrade.stderr
    bot = Bot(["run"], env, tmp_path, "docs-bot")
    try:
        wait_until(lambda: "ticketbot is ready" in bot.stdout(), HANG, "the ready line", bot)
        res = subprocess.run(["bash", "-c", "\n".join(script)], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=HANG * 3)
        failed = res.stderr.rpartition("--- example ")[2].partition("\n")[0]
        assert res.returncode == 0, (
            f"{doc.name}: example {failed} failed ({res.returncode}):\n"
            f"{examples(doc)[int(failed or 1) - 1]}\n--- stdout:\n{res.stdout[-3000:]}\n"
            f"--- stderr:\n{res.stderr[-3000:]}")
    finally:
        assert bot.terminate() == 0, bot.stderr()[-3000:]
    assert "Traceback" not in bot.stderr(), bot.stderr()[-3000:]
