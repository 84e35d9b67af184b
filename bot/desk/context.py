"""The desk's shared parts, handed to every desk function: settings, the unit of work,
the clock, the rules in force and the template renderer. It has no behaviour of its own:
what the desk does is in the modules beside it (intake, actions, queries, jobs, ...)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import sessionmaker

from bot.config import Settings
from bot.core import correlation
from bot.core.render import Renderer
from bot.core.rules.kind_model import KindModel, cache_key, from_loaded_bytes, load, loaded_bytes, loads
from bot.core.rules.schema import RuleSet
from bot.store.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)
_UNSET = object()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Desk:
    def __init__(self, settings: Settings, sessions: sessionmaker, clock: Clock = utcnow,
                 renderer: Renderer | None = None, rules: object | None = None):
        self.settings = settings
        self.sessions = sessions
        self.uow = UnitOfWork(sessions)
        self.clock = clock
        self.renderer = renderer or Renderer(settings.templates_dir, settings.default_language)
        # A RuleSet, or a holder (bot.adapters.rules_file.RulesHolder) whose `current`
        # rules can change while we run.
        if rules is None:
            rules = dataclasses.replace(RuleSet.fallback(settings.default_owner),
                                        timezone=settings.timezone)
        self.rules = rules
        self._kind_model: object = _UNSET
        self._kind_model_lock = threading.Lock()

    @property
    def kind_model(self) -> KindModel | None:
        """The kind model (settings.kind_model), read on first use, not at start-up: the
        CLI's --help and commands that do not route never pay for it. None when off or
        unreadable (logged once): routing is then by the rules alone."""
        if self._kind_model is _UNSET:
            with self._kind_model_lock:
                if self._kind_model is _UNSET:
                    self._kind_model = self._load_kind_model()
        return self._kind_model  # type: ignore[return-value]

    def _load_kind_model(self) -> KindModel | None:
        path = self.settings.kind_model
        if path is None:
            return None
        try:
            return load_cached(path, self.settings.cache_dir)
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.error("kind model %s unreadable (%s): routing by the rules alone", path, e)
            return None

    @property
    def ruleset(self) -> RuleSet:
        current = getattr(self.rules, "current", self.rules)
        assert isinstance(current, RuleSet)
        return current

    @property
    def tz(self) -> ZoneInfo:
        """The desk's time zone (rules.yaml `defaults: timezone`, else TICKETBOT_TIMEZONE)."""
        return ZoneInfo(self.ruleset.timezone)

    def dossier_url(self, number: int) -> str:
        """The ticket's page on the web face, for links in staff mail and Slack posts."""
        return f"{self.settings.public_url}/tickets/{number}"

    def tag(self, number: int) -> str:
        return correlation.format_tag(self.settings.tag_prefix, number)


def load_cached(path: Path, cache_dir: Path | None) -> KindModel:
    """The kind model from its weights file, through a cache of it as loaded in `cache_dir`
    (settings.cache_dir, TICKETBOT_CACHE_DIR; None: no cache): one file per weights file
    and loading code (kind_model.cache_key), so an edited, retrained or replaced model, or
    a new version of the bot, is read from its weights file once and cached anew. A cache
    that cannot be read is read past, one that cannot be written is done without: the
    weights file is what counts. Start-up to the first ticket: 0.15-0.2 s less."""
    if cache_dir is None:
        return load(path)
    raw = path.read_bytes()  # read once: the model parsed is the one the key names
    key = cache_key(raw)
    if key is None:
        return loads(raw.decode("utf-8"))
    cached = cache_dir / f"kind-model-{key}.marshal"
    try:
        return from_loaded_bytes(cached.read_bytes())
    except FileNotFoundError:
        pass
    except Exception as e:  # damaged, cut short, of another shape: read past it
        log.info("kind model cache %s unreadable (%s): reading %s", cached, e, path)
    model = loads(raw.decode("utf-8"))
    _store(cache_dir, cached, model)
    return model


def _store(cache_dir: Path, cached: Path, model: KindModel) -> None:
    """Write the cache entry whole or not at all (a file of its own, renamed into place:
    two processes at it each rename a whole one); never fatal, nothing left behind."""
    tmp: Path | None = None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=cache_dir, prefix="kind-model-", suffix=".tmp")
        tmp = Path(name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(loaded_bytes(model))
        os.replace(tmp, cached)
        tmp = None
    except Exception as e:
        log.info("kind model not cached in %s (%s)", cache_dir, e)
        return
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
    _prune(cache_dir, keep=cached)


def _prune(cache_dir: Path, keep: Path, days: int = 7) -> None:
    """Drop the cached models not written for `days` (older versions, other models, a
    write cut short): an entry still in use is then read from its weights file once more
    and written again. Ages are counted from the entry just written, on the file system's
    clock, not ours (which may differ: a shifted clock made every entry look a year old)."""
    try:
        old = keep.stat().st_mtime - days * 86400
    except OSError:
        return
    for entry in cache_dir.glob("kind-model-*"):
        try:
            if entry != keep and entry.stat().st_mtime < old:
                entry.unlink()
        except OSError:
            pass
