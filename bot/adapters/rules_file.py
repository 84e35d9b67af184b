"""The rules file on disk: read it (with the mail templates it may name), and reload it
when it changes. Checking the text is pure and lives in bot/core/rules/load.py."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from bot.config import TEMPLATES_DIR
from bot.core.rules.load import parse_rules
from bot.core.rules.schema import Problem, RulesError, RuleSet

MAX_BYTES = 1024 * 1024  # the shipped rules.yaml is about 20 KB


def template_names(directory: Path | str) -> frozenset[str]:
    """The mail templates in `directory`/mail: NAME of every NAME.LANG.txt."""
    return frozenset(p.name.split(".")[0] for p in (Path(directory) / "mail").glob("*.*.txt"))


def load_rules(path: Path | str, text: str | None = None,
               templates: Path | str | None = None,
               default_timezone: str = "Europe/Amsterdam", default_language: str = "en") -> RuleSet:
    """Read and check a rules file; raises RulesError listing every problem. `text`:
    check this instead of the file's contents (named after `path`)."""
    path = Path(path)
    file = str(path)
    if text is None:
        try:
            st = path.stat()  # of what a symlink points at
            if not stat.S_ISREG(st.st_mode):
                raise RulesError([Problem(file, 0, 0, "not a regular file")])
            if st.st_size > MAX_BYTES:
                raise RulesError([Problem(file, 0, 0, f"{st.st_size:,} bytes: a rules file may be "
                                                      f"at most {MAX_BYTES:,}")])
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RulesError([Problem(file, 0, 0, "no such file (the rules file is set by "
                                                  "TICKETBOT_RULES)")]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesError([Problem(file, 0, 0, f"cannot read: {exc}")]) from None
    return parse_rules(text, file, template_names(templates or TEMPLATES_DIR), default_timezone,
                       default_language)


class RulesHolder:
    """The rules in force, reloaded when the file changes (or on demand, e.g. SIGHUP).
    An invalid edit is logged with its problems and the last good rules stay."""

    def __init__(self, path: Path | str, templates: Path | str | None = None,
                 default_timezone: str = "Europe/Amsterdam", log: logging.Logger | None = None,
                 default_language: str = "en"):
        self.path = Path(path)
        self.templates = templates
        self.default_timezone = default_timezone
        self.default_language = default_language  # TICKETBOT_LANGUAGE: when rules.yaml sets none
        self.log = log or logging.getLogger("bot.rules")
        self.current: RuleSet = self._load()  # raises: refuse to start
        self._stamp = self._file_stamp()
        self.reloads = 0
        self.rejected = 0

    @classmethod
    def from_settings(cls, settings) -> RulesHolder:
        return cls(settings.rules_path, settings.templates_dir, settings.timezone,
                   default_language=settings.default_language)

    def _load(self) -> RuleSet:
        return load_rules(self.path, templates=self.templates,
                          default_timezone=self.default_timezone, default_language=self.default_language)

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
            return (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            return None

    def check(self) -> bool:
        """Reload if the file changed since last looked at; True if new rules apply."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return self.reload()

    def reload(self) -> bool:
        try:
            rules = self._load()
        except Exception as exc:  # RulesError, and anything unforeseen: keep the good rules
            self.rejected += 1
            self.log.error("%s: not reloaded, the last good rules stay in force:\n%s",
                           self.path, exc)
            return False
        self.current = rules
        self.reloads += 1
        self.log.info("%s: reloaded (%d rules, %d people)", self.path, len(rules.rules),
                      len(rules.people))
        return True
