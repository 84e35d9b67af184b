"""Reading rules.yaml text into a RuleSet, checking every part: each problem
with file, line, column and reason. Pure: the caller reads the file."""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import re
from collections.abc import Callable, Collection
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml

from bot.core.rules.facts import Facts, Miss, Scopes, _keyword_test, _regex_test, fold, near_test
from bot.core.rules.schema import (
    ACTION_KEYS,
    ADVISOR,
    BASE_KINDS,
    BOOL_CONDS,
    COMBINATORS,
    COND_KEYS,
    DEFAULT_KEYS,
    DEFAULT_LIMITS,
    DEFAULT_SCHEDULE,
    DEFAULT_SLACK,
    DIGEST_AT,
    DIRECTORY_CONDS,
    EMAIL,
    ENUM_CONDS,
    JOB_KEYS,
    KIND_KEYS,
    LANGUAGES,
    LIMIT_KEYS,
    NAME,
    NEAR_CONDS,
    NOTIFY_MODES,
    PERSON_KEYS,
    PRIORITIES,
    REGEX_CONDS,
    ROLE_KEYS,
    ROLES,
    RULE_KEYS,
    SCHEDULE_KEYS,
    SCOPE_KEYS,
    SCOPE_LISTS,
    SLACK_CHANNEL,
    SLACK_ID,
    SLACK_KEYS,
    STAFF_LANGUAGES,
    TOP_KEYS,
    WEBHOOK_KEYS,
    WEBHOOK_SECRET_ENV,
    WEBHOOK_SETTINGS,
    WORKFLOWS,
    Condition,
    Kind,
    Person,
    Problem,
    Role,
    Rule,
    RulesError,
    RuleSet,
    Webhook,
)
from bot.core.webhooks import EVENTS as WEBHOOK_EVENTS

CondTest = Callable[[Facts], bool | str]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_ -]{0,40}$")
MAX_WORD = 200  # characters of one word or phrase in a word list


# --------------------------------------------------------------------------- loading
class Located(dict):
    """A YAML mapping that remembers where its keys and values are."""

    mark: tuple[int, int] = (1, 1)

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.key_marks: dict = {}
        self.value_marks: dict = {}


class LocatedList(list):
    mark: tuple[int, int] = (1, 1)
    item_marks: list


def _pos(node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Loader(yaml.SafeLoader):
    pass


# libyaml's parser (in PyYAML's wheels) reads the shipped rules.yaml ~5x faster than
# PyYAML's pure-Python one, with the same marks; a file it refuses is read again by the
# pure-Python one, whose messages say more ("expected ',' or '}', but got ':'").
class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    out = Located()
    out.mark = _pos(node)
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            loader.problems.append((*_pos(key_node), "a key must be a plain word"))
            continue
        if key in out:
            loader.problems.append((*_pos(key_node), f"duplicate key {key!r}"))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_marks[key] = _pos(key_node)
        out.value_marks[key] = _pos(value_node)
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    out = LocatedList(loader.construct_object(n, deep=True) for n in node.value)
    out.mark, out.item_marks = _pos(node), [_pos(n) for n in node.value]
    return out


for _cls in (_Loader, _FastLoader):
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _read_yaml(text: str, loader_class) -> tuple[object, list]:
    """The document and the problems the constructors noted (duplicate keys, ...)."""
    loader = loader_class(text)
    loader.problems = []
    try:
        return loader.get_single_data(), loader.problems
    finally:
        loader.dispose()


# --------------------------------------------------------------------------- validation
class _Checker:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.scopes = Scopes()  # read before the rules: the *_stated conditions use them
        self.leaves: list[Condition] = []  # RuleSet.message_leaves, as they are read
        self.leaf_of: dict[tuple[str, str], Condition] = {}  # (key, repr(value)) -> its leaf

    def add(self, where: tuple[int, int], reason: str) -> None:
        self.problems.append(Problem(self.file, where[0], where[1], reason))

    def mapping(self, value, where, what: str) -> Located | None:
        if value is None:
            return Located()
        if not isinstance(value, dict):
            self.add(where, f"{what} must be a mapping, not {_shape(value)}")
            return None
        if not isinstance(value, Located):  # _Loader builds every mapping as a Located
            raise TypeError(f"{what}: a mapping without line marks ({type(value).__name__})")
        return value

    def keys(self, m: Located, allowed: set[str], what: str) -> None:
        for k in m:
            if k not in allowed:
                # a key that is not even a name (a line of some other file, a secret) is
                # not repeated into the log
                shown = repr(k) if isinstance(k, str) and _PLAIN_KEY.match(k) else "(not shown)"
                self.add(m.key_marks[k], f"unknown key {shown} in {what}; expected one of "
                                         f"{', '.join(sorted(allowed))}")

    def name(self, value, where, what: str) -> str | None:
        """A single word (a person, role, kind or template name)."""
        if isinstance(value, str) and value.strip():
            return value
        self.add(where, f"{what} must be a single name, not {_shape(value)}")
        return None

    def names(self, value, where, what: str) -> list[str]:
        """A name or a list of names; problems for anything else."""
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            self.add(where, f"{what} must be a name or a list of names, not {_shape(value)}")
            return []
        marks = getattr(value, "item_marks", None) or [where] * len(value)
        return [n for v, at in zip(value, marks, strict=False) if (n := self.name(v, at, what)) is not None]

    def string_list(self, m: Located, key: str, what: str) -> list[str] | None:
        v = m.get(key)
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            return [str(v)]
        if isinstance(v, list) and any(isinstance(x, list) for x in v):
            # lists of lists: shared word lists by YAML alias, e.g. [*complaint_words, ...]
            v = [y for x in v for y in (x if isinstance(x, list) else [x])]
        if isinstance(v, list) and v and all(isinstance(x, (str, int)) and not isinstance(x, bool)
                                             for x in v):
            words = [str(x) for x in v]
            if any(not w.strip() for w in words):
                self.add(m.value_marks[key], f"{what}: {key} has an empty word (it would match everything)")
                return None
            # a list's pattern nests a group per letter of its longest word as searched,
            # folded (facts.keyword_pattern: "ﬃ" is "ffi"): past ~500 it cannot be
            # compiled, and that would show at the first mail routed, not here
            long = next(((w, n) for w in words if (n := len(fold(w))) > MAX_WORD), None)
            if long is not None:
                self.add(m.value_marks[key], f"{what}: {key} has a word of {long[1]} characters "
                         f"as searched ({long[0][:30]!r}...); a word or phrase has at most {MAX_WORD}")
                return None
            return words
        self.add(m.value_marks[key], f"{what}: {key} must be a word or a list of words")
        return None


def _mark(seq, i: int, default: tuple[int, int]) -> tuple[int, int]:
    marks = getattr(seq, "item_marks", None)
    return marks[i] if marks and i < len(marks) else default


def _shape(value) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def parse_rules(text: str, file: str, templates: Collection[str] | None = None,
                default_timezone: str = "Europe/Amsterdam", default_language: str = "en",
                routing_only: bool = False) -> RuleSet:
    """Check the text of a rules file; raises RulesError listing every problem.
    `file` names it in the problems; `templates`: the mail template names that exist
    (None: not checked); `default_timezone`, `default_language` (TICKETBOT_LANGUAGE): when
    the file sets none. `routing_only`: people, roles, kinds, scopes and rules, what
    routing a mail needs (a parser process reading routing ahead: rules/ahead.py); the
    calendars, SLA, schedule, Slack, limits and webhooks are neither read nor checked."""
    try:
        doc, problems = _read_yaml(text, _FastLoader)
    except yaml.MarkedYAMLError:
        try:
            doc, problems = _read_yaml(text, _Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            raise RulesError([Problem(file, line, col, f"YAML: {exc.problem or exc.context}")]) from None
    c = _Checker(file)
    for line, col, reason in problems:
        c.add((line, col), reason)
    try:
        return _check(c, doc, file, templates, default_timezone, default_language, text,
                      routing_only)
    except RulesError:
        raise
    except Exception as exc:  # a shape the checks did not foresee: still a clear answer
        c.add((0, 0), f"cannot check this file ({type(exc).__name__}: {exc}); "
                      "please report this as a bug, with the file")
        raise RulesError(c.problems) from None


def _check(c: _Checker, doc, file: str, templates: Collection[str] | None,
           default_timezone: str, default_language: str = "en", text: str = "",
           routing_only: bool = False) -> RuleSet:
    top = c.mapping(doc, (1, 1), "the file")
    if top is None:
        raise RulesError(c.problems)
    c.keys(top, TOP_KEYS, "the file")
    people = _people(c, top)
    roles = _roles(c, top, people)
    kinds = _kinds(c, top)
    defaults = c.mapping(top.get("defaults"), top.value_marks.get("defaults", (1, 1)), "defaults") or Located()
    c.keys(defaults, DEFAULT_KEYS, "defaults")
    default_owner = c.name(defaults.get("owner", "sales_support"),
                           defaults.value_marks.get("owner", top.mark), "defaults: owner") or "sales_support"
    if default_owner not in people and default_owner not in roles:
        c.add(defaults.value_marks.get("owner", top.mark),
              f"defaults: owner {default_owner!r} is neither a person nor a role")
    elif default_owner in roles and roles[default_owner].person is None:
        c.add(defaults.value_marks.get("owner", top.mark),
              f"defaults: owner role {default_owner!r} has no person")
    language = str(defaults.get("language", default_language))
    if language not in LANGUAGES:
        c.add(defaults.value_marks.get("language", top.mark),
              f"defaults: language must be one of {', '.join(LANGUAGES)}" if "language" in defaults
              else f"TICKETBOT_LANGUAGE {language!r} (the desk's language when rules.yaml sets "
                   f"none) must be one of {', '.join(LANGUAGES)}")
    version = top.get("version", 1)
    if version != 1:
        c.add(top.value_marks.get("version", top.mark), f"version {version!r}: this bot reads version 1")
    default_ack = defaults.get("ack", "ack")
    c.scopes = _scopes(c, top)
    rules = _rules(c, top, people, roles, kinds)
    for k in kinds.values():  # who owns a kind the kind model proposes
        if k.assign is not None:
            _check_target(c, _kind_mark(top, k.name), f"kind {k.name!r}", k.assign, people, roles,
                          "assign")
    # Templates named by the rules must exist, or every such mail would fail.
    acks = [(default_ack, defaults.value_marks.get("ack", top.mark), "defaults: ack")]
    acks += [(r.actions["ack"], (r.line, r.column), f"rule {r.name!r}: ack") for r in rules
             if isinstance(r.actions.get("ack"), str)]
    for name, at, what in acks:
        if isinstance(name, str) and templates is not None and name not in templates:
            c.add(at, f"{what}: no template {name!r} (templates/mail/{name}.LANG.txt)")
    # `assign: advisor` falls back to the RSM: someone must fill that role.
    uses_advisor = any(r.actions.get("assign") == ADVISOR or ADVISOR in r.actions.get("watchers", [])
                       for r in rules) or default_owner == ADVISOR
    if uses_advisor and roles["rsm"].person is None:
        where = next(((r.line, r.column) for r in rules if r.actions.get("assign") == ADVISOR),
                     top.mark)
        c.add(where, "assign: advisor falls back to the regional sales manager, but role 'rsm' "
                     "has no person")
    if c.problems:
        raise RulesError(c.problems)
    # what routing a mail needs; the full rules add the timing, Slack, limits and webhooks
    routing = RuleSet(people=people, roles=roles, kinds=kinds, rules=tuple(rules),
                      default_owner=default_owner, default_language=language,
                      default_ack=default_ack if isinstance(default_ack, str) else "ack",
                      source=file, scopes=c.scopes, digest=hashlib.sha256(text.encode()).hexdigest(),
                      message_leaves=tuple(c.leaves))
    if routing_only:
        return routing
    tz, calendars, policies, schedule = _timing(c, top, defaults, kinds, people, roles, templates,
                                                 default_timezone)
    slack = _slack(c, top, kinds, roles)
    limits = _limits(c, top)
    webhooks = _webhooks(c, top)
    if c.problems:
        raise RulesError(c.problems)
    return dataclasses.replace(routing, timezone=tz, calendars=calendars, policies=policies,
                               schedule=schedule,
                               default_calendar=str(defaults.get("calendar", "office")),
                               slack=slack, limits=limits, webhooks=webhooks)


def _scopes(c: _Checker, top: Located) -> Scopes:
    """`scopes:` word lists, each a list or a mapping of language -> list."""
    if "scopes" not in top:
        return Scopes()
    m = c.mapping(top["scopes"], top.value_marks["scopes"], "scopes")
    if m is None:
        return Scopes()
    c.keys(m, SCOPE_KEYS, "scopes")
    lists: dict[str, tuple[str, ...]] = {}
    for key in SCOPE_LISTS:
        if key not in m:
            continue
        got: list[str] = []
        if isinstance(m[key], dict):  # per language: {nl: [...], en: [...]}
            langs = c.mapping(m[key], m.value_marks[key], f"scopes: {key}") or Located()
            for lang in langs:
                got += c.string_list(langs, lang, f"scopes: {key}") or []
        else:
            got = c.string_list(m, key, "scopes") or []
        lists[key] = tuple(dict.fromkeys(fold(w).replace("’", "'") for w in got))
    reach = {}
    for key in ("before", "after"):
        v = m.get(key, getattr(Scopes(), key))
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 10:
            c.add(m.value_marks.get(key, top.value_marks["scopes"]),
                  f"scopes: {key} must be a number of words from 0 to 10")
            v = getattr(Scopes(), key)
        reach[key] = v
    return Scopes(negation=lists.get("negation", ()), condition=lists.get("condition", ()),
                  hypothetical=lists.get("hypothetical", ()), context=lists.get("context", ()),
                  **reach)


def _limits(c: _Checker, top: Located) -> dict[str, int]:
    """`limits:` caps per sender; each a positive whole number."""
    out = dict(DEFAULT_LIMITS)
    raw = top.get("limits")
    if raw is None:
        return out
    m = c.mapping(raw, top.value_marks.get("limits", top.mark), "limits")
    if m is None:
        return out
    c.keys(m, LIMIT_KEYS, "limits")
    for key in LIMIT_KEYS & set(m):
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            c.add(m.value_marks.get(key, m.mark), f"limits: {key} must be a whole number of at least 1")
        else:
            out[key] = value
    return out


def _webhooks(c: _Checker, top: Located) -> tuple[Webhook, ...]:
    """`webhooks:` a list of {name, url, events, secret_env}: an http(s) URL, known
    events, and the name of the environment variable holding the signing secret (the
    secret itself never goes into this file)."""
    raw = top.get("webhooks")
    if raw is None:
        return ()
    where = top.value_marks.get("webhooks", top.mark)
    if not isinstance(raw, list):
        c.add(where, f"webhooks must be a list of subscriptions, not {_shape(raw)}")
        return ()
    out: list[Webhook] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        at = _mark(raw, i, where)
        m = c.mapping(item, at, f"webhooks: item {i + 1}")
        if m is None:
            continue
        c.keys(m, WEBHOOK_KEYS, "a webhook")
        marks = m.value_marks
        name = m.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            c.add(marks.get("name", at), "webhooks: name must be a lower-case word like 'crm' "
                                         "(letters, digits, _ . -)")
            name = None
        elif name in seen:
            c.add(marks["name"], f"webhooks: name {name!r} is used twice")
        else:
            seen.add(name)
        what = f"webhook {name!r}" if name else "webhooks"
        url = m.get("url")
        if url is None:
            c.add(at, f"{what}: url is missing")
        elif problem := webhook_url_problem(url):
            c.add(marks["url"], f"{what}: url {problem}")
        events: list[str] = []
        if "events" not in m:
            c.add(at, f"{what}: events is missing (a list such as [ticket.created])")
        else:
            value = m["events"]
            items = value if isinstance(value, list) else [value]
            for j, ev in enumerate(items):
                ev_at = _mark(value, j, marks["events"])
                if ev not in WEBHOOK_EVENTS:
                    shown = repr(ev) if isinstance(ev, str) and _PLAIN_KEY.match(ev.replace(".", "_")) \
                        else _shape(ev)
                    c.add(ev_at, f"{what}: unknown event {shown}; events: {', '.join(WEBHOOK_EVENTS)}")
                elif ev not in events:
                    events.append(ev)
            if not items:
                c.add(marks["events"], f"{what}: events is empty")
        env = m.get("secret_env")
        if env is None:
            c.add(at, f"{what}: secret_env is missing (the name of the environment variable "
                      "that holds the signing secret, e.g. TICKETBOT_WEBHOOK_CRM)")
        elif not isinstance(env, str) or not WEBHOOK_SECRET_ENV.match(env) or env in WEBHOOK_SETTINGS:
            c.add(marks["secret_env"], f"{what}: secret_env must name an environment variable "
                                       "TICKETBOT_WEBHOOK_<NAME> (capitals, digits, _); the secret "
                                       "itself stays out of this file")
        if name and isinstance(url, str) and isinstance(env, str) and events:
            out.append(Webhook(name=name, url=url, events=tuple(events), secret_env=env,
                               line=at[0]))
    return tuple(out)


def webhook_url_problem(url) -> str | None:
    """Why `url` cannot be a webhook's address, or None: http(s) with a host, no
    credentials in it, no fragment."""
    if not isinstance(url, str) or not url.strip():
        return f"must be an http(s) address, not {_shape(url)}"
    if len(url) > 1000:
        return "is longer than 1000 characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"cannot be read ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"has scheme {parts.scheme!r}: only http and https are delivered to"
    if not parts.hostname:
        return "has no host"
    if parts.username or parts.password:
        return "must not carry a user or password (the signature is the credential)"
    if parts.fragment:
        return "must not have a #fragment"
    return None


def _slack(c: _Checker, top: Located, kinds, roles) -> dict:
    """rules.yaml `slack:` (bot/slackdesk.py): channels per kind or role, intake and
    explicit channels, the note/reply prefixes and the undo window."""
    out = dict(DEFAULT_SLACK)
    sec = c.mapping(top.get("slack"), top.value_marks.get("slack", top.mark), "slack") or Located()
    c.keys(sec, SLACK_KEYS, "slack")
    marks = sec.value_marks

    def channel_ok(value, where, what) -> bool:
        if isinstance(value, str) and SLACK_CHANNEL.match(value):
            return True
        c.add(where, f"slack: {what}: {value!r} is not a Slack channel id like C0123ABCD")
        return False

    chans = c.mapping(sec.get("channels"), marks.get("channels", top.mark), "slack: channels")
    if chans:
        for key, value in chans.items():
            if key not in kinds and key not in roles:
                c.add(chans.key_marks[key], f"slack: channels: {key!r} is neither a kind nor a role")
            elif channel_ok(value, chans.value_marks[key], f"channels: {key}"):
                out["channels"] = {**out["channels"], key: value}
    for key in ("intake", "explicit"):
        if key in sec:
            value = sec[key]
            items = value if isinstance(value, list) else [value]
            where = marks[key]
            if all(channel_ok(v, where, key) for v in items):
                out[key] = tuple(items)
    for key in ("note_prefix", "reply_prefix"):
        if key in sec:
            if isinstance(sec[key], str) and sec[key].strip():
                out[key] = sec[key].strip().lower()
            else:
                c.add(marks[key], f"slack: {key} must be a word like 'note:'")
    if "undo_seconds" in sec:
        v = sec["undo_seconds"]
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 3600:
            out["undo_seconds"] = v
        else:
            c.add(marks["undo_seconds"], "slack: undo_seconds must be a number of seconds, 0 to 3600")
    if "intake_reaction" in sec:
        v = sec["intake_reaction"]
        name = v.strip().strip(":").lower() if isinstance(v, str) else ""
        if re.fullmatch(r"[a-z0-9_+'-]{1,100}", name):
            out["intake_reaction"] = name
        else:
            c.add(marks["intake_reaction"], "slack: intake_reaction must be an emoji name like "
                                            "ticket (the reaction :ticket:)")
    return out


def _timing(c: _Checker, top: Located, defaults: Located, kinds, people, roles,
            templates: Collection[str] | None, default_timezone: str):
    """Business calendars, SLA policies and the schedule (bot/core/time/sla_policy.py has the semantics)."""
    # imported here: a parser process reads only the routing part of the file (its
    # `routing_only` parse), and is spared the scheduler and the holiday calendars
    from apscheduler.triggers.cron import CronTrigger

    from bot.core.time import sla_policy
    tz = defaults.get("timezone") or default_timezone
    try:
        ZoneInfo(str(tz))
    except Exception:
        c.add(defaults.value_marks.get("timezone", top.mark),
              f"defaults: timezone {tz!r} is not an IANA time zone (like Europe/Amsterdam)")
        tz = "Europe/Amsterdam"
    tz = str(tz)
    calendars = sla_policy.parse_calendars(top.get("calendars"), tz, c.add)
    default_cal = str(defaults.get("calendar", "office"))
    if default_cal not in calendars:
        c.add(defaults.value_marks.get("calendar", top.mark),
              f"defaults: calendar {default_cal!r} is not defined under calendars")
        default_cal = "office"
    policies = sla_policy.parse_policies(top.get("sla"), calendars, c.add, default_cal)
    raw_sla = top.get("sla")
    section = raw_sla if isinstance(raw_sla, dict) else {}
    for pname, raw in section.items():
        if not isinstance(raw, dict):
            continue
        places = [raw] + [raw[t] for t in sla_policy.TARGETS if isinstance(raw.get(t), dict)]
        for place in places:
            value = place.get("escalate_to")
            for who in ([value] if isinstance(value, str) else value if isinstance(value, list) else []):
                if who not in ("owner", "manager") and who not in people and who not in roles:
                    c.add(getattr(place, "value_marks", {}).get("escalate_to", top.mark),
                          f"sla {pname!r}: escalate_to {who!r} is not owner, manager, a role or a person")
    raw_kinds = top.get("kinds")
    ksec = raw_kinds if isinstance(raw_kinds, dict) else {}
    for kind in kinds.values():
        if kind.sla and kind.sla not in policies:
            raw = ksec.get(kind.name)
            where = getattr(raw, "value_marks", {}).get("sla", top.mark) if raw is not None else top.mark
            c.add(where, f"kind {kind.name!r}: sla {kind.sla!r} is not a policy under sla "
                         f"(policies: {', '.join(sorted(policies)) or 'none'})")
    schedule = {k: dict(v) for k, v in DEFAULT_SCHEDULE.items()}
    sec = c.mapping(top.get("schedule"), top.value_marks.get("schedule", top.mark), "schedule") or Located()
    c.keys(sec, SCHEDULE_KEYS, "schedule")
    for job, raw in sec.items():
        if job not in SCHEDULE_KEYS:
            continue
        m = c.mapping(raw, sec.value_marks[job], f"schedule: {job}")
        if m is None:
            continue
        c.keys(m, JOB_KEYS[job], f"schedule: {job}")
        at = m.value_marks
        if "cron" in m:
            cron = m["cron"]
            if cron is False or cron is None:
                schedule[job]["cron"] = None  # switched off
            else:
                try:
                    CronTrigger.from_crontab(str(cron), timezone=tz)
                    schedule[job]["cron"] = str(cron)
                except ValueError as exc:
                    c.add(at["cron"], f"schedule: {job}: cron {cron!r}: {exc} (five fields: "
                                      f"minute hour day month weekday, e.g. '0 8 * * mon')")
        if "to" in m:
            who = m["to"]
            if not isinstance(who, str) or (who not in people and who not in roles):
                c.add(at["to"], f"schedule: {job}: to {who!r} is neither a person nor a role")
            else:
                schedule[job]["to"] = who
        if "within" in m:
            try:
                d, business = sla_policy.parse_duration(m["within"], timedelta(days=1))
                if business:
                    raise ValueError("use calendar days")
                schedule[job]["within"] = max(1, d.days)
            except ValueError as exc:
                c.add(at["within"], f"schedule: {job}: within: {exc}")
        if "notify_customer" in m:
            if not isinstance(m["notify_customer"], bool):
                c.add(at["notify_customer"], f"schedule: {job}: notify_customer must be true or false")
            else:
                schedule[job]["notify_customer"] = m["notify_customer"]
        if "customer_template" in m:
            schedule[job]["customer_template"] = str(m["customer_template"])
        if "calendar" in m:
            if m["calendar"] not in calendars:
                c.add(at["calendar"], f"schedule: {job}: calendar {m['calendar']!r} is not one "
                                      f"of calendars: ({', '.join(sorted(calendars)) or 'none'})")
            else:
                schedule[job]["calendar"] = m["calendar"]
    ce = schedule["contracts_ending"]
    if ce.get("notify_customer") and templates is not None and ce['customer_template'] not in templates:
        c.add(sec.value_marks.get("contracts_ending", top.mark),
              f"schedule: contracts_ending: no template {ce['customer_template']!r} "
              f"(templates/mail/NAME.LANG.txt)")
    return tz, calendars, policies, schedule


def _people(c: _Checker, top: Located) -> dict[str, Person]:
    people: dict[str, Person] = {}
    section = c.mapping(top.get("people"), top.value_marks.get("people", top.mark), "people")
    if not section:
        c.add(top.key_marks.get("people", top.mark), "people: at least one person is needed")
        return people
    emails: dict[str, str] = {}
    for key, raw in section.items():
        where = section.key_marks[key]
        if not isinstance(key, str) or not NAME.match(key):
            c.add(where, f"person {key!r}: use a short lower-case name (letters, digits, _ . -)")
            continue
        if key in ROLES or key == ADVISOR:
            c.add(where, f"person {key!r}: that name is a role")
        p = c.mapping(raw, section.value_marks[key], f"person {key!r}")
        if p is None:
            continue
        c.keys(p, PERSON_KEYS, f"person {key!r}")
        raw_email = p.get("email")
        email = raw_email if isinstance(raw_email, str) else ""
        if not EMAIL.match(email):
            c.add(p.value_marks.get("email", where), f"person {key!r}: needs a valid email")
        elif email.lower() in emails:
            c.add(p.value_marks["email"], f"person {key!r}: email {email} is also {emails[email.lower()]!r}'s")
        emails[email.lower()] = key
        slack = p.get("slack")
        if slack is not None and not SLACK_ID.match(str(slack)):
            c.add(p.value_marks["slack"], f"person {key!r}: slack must be a Slack user id like U012AB3CD")
        access = str(p.get("access", "slack" if slack else "email"))
        if access not in ("slack", "email"):
            c.add(p.value_marks["access"], f"person {key!r}: access must be slack or email")
        elif access == "slack" and not slack:
            c.add(p.value_marks["access"], f"person {key!r}: access slack needs a slack user id")
        raw_roles = p.get("roles") or []
        roles = c.names(raw_roles, p.value_marks.get("roles", where), f"person {key!r}: roles")
        marks = getattr(raw_roles, "item_marks", None)
        for i, r in enumerate(roles):
            if r not in ROLES:
                c.add(marks[i] if marks and i < len(marks) else p.value_marks["roles"],
                      f"person {key!r}: unknown role {r!r}; roles are {', '.join(ROLES)}")
        roles = [r for r in roles if r in ROLES]
        language, notify, digest_at = _person_notices(c, p, key)
        people[key] = Person(key, str(p.get("name") or key), email, str(slack) if slack else None,
                             access, tuple(roles), str(p["phone"]) if p.get("phone") else None,
                             language, notify, digest_at)
    return people


def _person_notices(c: _Checker, p: Located, key: str) -> tuple[str | None, str, str | None]:
    """A person's `language:` (nl, en, pl; none: the desk's) and `notify:` each | digest
    with `digest_at: "HH:MM"` (desk time) for a digest."""
    language = p.get("language")
    if language is not None and str(language) not in STAFF_LANGUAGES:
        c.add(p.value_marks["language"],
              f"person {key!r}: language must be one of {', '.join(STAFF_LANGUAGES)}")
        language = None
    notify = str(p.get("notify", "each"))
    if notify not in NOTIFY_MODES:
        c.add(p.value_marks["notify"], f"person {key!r}: notify must be each or digest")
        notify = "each"
    digest_at = p.get("digest_at")
    if isinstance(digest_at, int) and not isinstance(digest_at, bool):  # YAML 1.1: 08:30 is 510
        digest_at = f"{digest_at // 60:02d}:{digest_at % 60:02d}"
    if digest_at is not None and not DIGEST_AT.match(str(digest_at)):
        c.add(p.value_marks["digest_at"], f"person {key!r}: digest_at must be a time like \"08:30\"")
        digest_at = None
    if notify == "digest" and digest_at is None and "digest_at" not in p:
        c.add(p.value_marks["notify"], f"person {key!r}: notify: digest needs digest_at, "
                                       "e.g. digest_at: \"08:30\"")
    if digest_at is not None and notify != "digest":
        c.add(p.value_marks["digest_at"], f"person {key!r}: digest_at needs notify: digest")
    return (str(language) if language is not None else None), notify, \
        (str(digest_at) if digest_at is not None else None)


def _roles(c: _Checker, top: Located, people: dict[str, Person]) -> dict[str, Role]:
    section = c.mapping(top.get("roles"), top.value_marks.get("roles", top.mark), "roles") or Located()
    roles: dict[str, Role] = {}
    for name in ROLES:  # people who list a role fill it
        roles[name] = Role(name, None, tuple(k for k, p in people.items() if name in p.roles))
    for name, raw in section.items():
        where = section.key_marks[name]
        if name not in ROLES:
            c.add(where, f"unknown role {name!r}; roles are {', '.join(ROLES)}")
            continue
        if isinstance(raw, str):
            raw_m = Located({"default": raw})
            raw_m.key_marks = raw_m.value_marks = {"default": section.value_marks[name]}
            raw = raw_m
        m = c.mapping(raw, section.value_marks[name], f"role {name!r}")
        if m is None:
            continue
        c.keys(m, ROLE_KEYS, f"role {name!r}")
        default = m.get("default")
        if default is not None:
            default = c.name(default, m.value_marks["default"], f"role {name!r}: default")
        if default is not None and default not in people:
            c.add(m.value_marks["default"], f"role {name!r}: unknown person {default!r}")
            default = None
        members = list(roles[name].members)
        raw_members = m.get("members") or []
        marks = getattr(raw_members, "item_marks", None)
        for i, who in enumerate(c.names(raw_members, m.value_marks.get("members", where),
                                        f"role {name!r}: members")):
            if who not in people:
                c.add(marks[i] if marks and i < len(marks) else m.value_marks["members"],
                      f"role {name!r}: unknown person {who!r}")
            elif who not in members:
                members.append(who)
        manager = m.get("manager")
        if manager is not None:
            manager = c.name(manager, m.value_marks["manager"], f"role {name!r}: manager")
        if manager is not None and manager not in people and manager not in ROLES:
            c.add(m.value_marks["manager"], f"role {name!r}: manager {manager!r} is neither a person nor a role")
        roles[name] = Role(name, default, tuple(members), manager)
    return roles


def _kind_mark(top: Located, name: str) -> tuple[int, int]:
    section = top.get("kinds")
    if isinstance(section, Located) and name in section.value_marks:
        m = section[name]
        if isinstance(m, Located) and "assign" in m.value_marks:
            return m.value_marks["assign"]
    return top.mark


def _kinds(c: _Checker, top: Located) -> dict[str, Kind]:
    kinds = {k: Kind(k, workflow="cancellation" if k == "cancellation" else None) for k in BASE_KINDS}
    section = c.mapping(top.get("kinds"), top.value_marks.get("kinds", top.mark), "kinds") or Located()
    for name, raw in section.items():
        where = section.key_marks[name]
        if not isinstance(name, str) or not NAME.match(name):
            c.add(where, f"kind {name!r}: use a short lower-case name")
            continue
        m = c.mapping(raw, section.value_marks[name], f"kind {name!r}")
        if m is None:
            continue
        c.keys(m, KIND_KEYS, f"kind {name!r}")
        workflow = m.get("workflow", kinds[name].workflow if name in kinds else None)
        if workflow is not None and not isinstance(workflow, str):
            c.add(m.value_marks["workflow"], f"kind {name!r}: workflow must be a name")
            workflow = None
        if workflow is not None and workflow not in WORKFLOWS:
            c.add(m.value_marks["workflow"], f"kind {name!r}: unknown workflow {workflow!r}")
        fields = c.names(m.get("fields") or [], m.value_marks.get("fields", where),
                         f"kind {name!r}: fields")
        sla = m.get("sla")
        if sla is not None and not (isinstance(sla, str) and NAME.match(sla)):
            c.add(m.value_marks["sla"], f"kind {name!r}: sla must be a policy name")
            sla = None
        label = m.get("label") or {}
        if not isinstance(label, dict):
            c.add(m.value_marks["label"], f"kind {name!r}: label must map languages to names")
            label = {}
        assign = m.get("assign")
        if assign is not None and not isinstance(assign, str):
            c.add(m.value_marks["assign"], f"kind {name!r}: assign must be a role or a person")
            assign = None
        kinds[name] = Kind(name, sla,
                           tuple(map(str, fields)), dict(label), workflow, assign)
    return kinds


def _rules(c: _Checker, top: Located, people, roles, kinds) -> list[Rule]:
    raw_rules = top.get("rules")
    if raw_rules is None:
        return []
    if not isinstance(raw_rules, list):
        c.add(top.value_marks["rules"], "rules must be a list")
        return []
    out: list[Rule] = []
    names: dict[str, int] = {}
    catch_all: Rule | None = None
    for i, raw in enumerate(raw_rules):
        where = _mark(raw_rules, i, top.value_marks["rules"])
        m = c.mapping(raw, where, f"rule {i + 1}")
        if m is None:
            continue
        name = m.get("name") or ""
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            c.add(m.value_marks["name"], f"rule {i + 1}: name must be a word, not {_shape(name)}")
            name = ""
        name = str(name)
        label = f"rule {name!r}" if name else f"rule {i + 1}"
        c.keys(m, RULE_KEYS, label)
        if not name:
            c.add(where, f"{label}: needs a name")
        elif name in names:
            c.add(m.value_marks["name"], f"{label}: duplicate rule name (also on line {names[name]})")
        else:
            names[name] = where[0]
        conds = _conditions(c, m["when"], m.value_marks["when"], label) if "when" in m else []
        actions = _actions(c, m.get("then"), m.value_marks.get("then", where), label,
                           people, roles, kinds)
        cont = m.get("continue", False)
        if not isinstance(cont, bool):
            c.add(m.value_marks["continue"], f"{label}: continue must be true or false")
            cont = False
        if catch_all is not None:
            c.add(where, f"{label} can never match: rule {catch_all.name!r} on line "
                         f"{catch_all.line} matches every message before it")
        rule = Rule(name or f"rule-{i + 1}", tuple(conds), actions, cont, where[0], where[1])
        if not conds and not cont and "when" not in m:
            catch_all = catch_all or rule
        out.append(rule)
    return out


def _conditions(c: _Checker, raw, where, label: str) -> list[Condition]:
    m = c.mapping(raw, where, f"{label}: when")
    if m is None:
        return []
    if not m:
        c.add(where, f"{label}: when is empty; leave it out for a rule that matches everything")
    out = []
    for key in m:
        cond = _condition(c, m, key, label)
        if cond is not None:
            out.append(cond)
    return out


def _all_detail(conds: tuple[Condition, ...], f: Facts) -> str | bool:
    """True when every condition holds, told as what matched (for --explain)."""
    details = []
    for cond in conds:
        r = cond.test(f)
        if not r:
            return r if isinstance(r, Miss) else False
        if isinstance(r, str):
            details.append(r)
    return "; ".join(details) or True


# The tests a condition runs; each binds its own values (no late-bound loop variables).
def _all_test(conds: tuple[Condition, ...]) -> CondTest:
    return lambda f: _all_detail(conds, f)


def _any_detail(conds: tuple[Condition, ...], f: Facts) -> str | bool:
    """The first condition that holds; else why keywords were left out, if any were."""
    misses = []
    for x in conds:
        r = x.test(f)
        if r:
            return r
        if isinstance(r, Miss):
            misses.append(r)
    return Miss("; ".join(misses)) if misses else False


def _any_test(conds: tuple[Condition, ...]) -> CondTest:
    return lambda f: _any_detail(conds, f)


def _not_all_test(conds: tuple[Condition, ...]) -> CondTest:
    return lambda f: not all(x.test(f) for x in conds)


def _has_attachment_test(want: bool) -> CondTest:
    return lambda f: bool(f.attachments) == want


def _has_advisor_test(want: bool) -> CondTest:
    return lambda f: bool(f.advisor) == want


def _automatic_test(want: bool) -> CondTest:
    return lambda f: (f"automatic: {f.automatic}" if f.automatic else False) if want \
        else not f.automatic


def _reply_test(want: bool) -> CondTest:
    def test(f: Facts) -> str | bool:
        if f.reply == want:
            return True
        # shown by --explain: why the subject of a reply was not read
        return Miss("a reply to an earlier mail") if f.reply else False

    return test


def _forwards_other_test(want: bool) -> CondTest:
    def test(f: Facts) -> str | bool:
        if bool(f.forwards_other) == want:
            return f"forwards a mail from {f.forwards_other}" if want else True
        # shown by --explain: why the subject of such a forward was not read
        return Miss(f"forwards a mail from {f.forwards_other}") if f.forwards_other else False

    return test


def _one_of_test(attr: str, values: tuple[str, ...]) -> CondTest:
    return lambda f: getattr(f, attr) in values


def _from_test(pats: list[str]) -> CondTest:
    return lambda f: any(fnmatch.fnmatchcase(f.from_addr.lower(), p) for p in pats)


def _to_test(pats: list[str]) -> CondTest:
    return lambda f: any(fnmatch.fnmatchcase(t.lower(), p) for t in f.to for p in pats)


def _from_domain_test(doms: list[str]) -> CondTest:
    return lambda f: any(f.from_domain == d or f.from_domain.endswith("." + d) for d in doms)


def _attachment_name_test(pats: list[str]) -> CondTest:
    return lambda f: any(fnmatch.fnmatchcase(name.lower(), p) for name, _ in f.attachments for p in pats)


def _condition(c: _Checker, m: Located, key: str, label: str) -> Condition | None:
    cond = _read_condition(c, m, key, label)
    if cond is None or key in COMBINATORS or key in DIRECTORY_CONDS:
        return cond
    # a condition the message alone answers: its answer may come from a Facts' memo (read
    # ahead in a parser process, rules/ahead.py), and goes into it. The same condition
    # written again (a YAML alias: `*anger` in three rules) is the same leaf, asked once
    # per message.
    same = (cond.key, repr(cond.value))
    if same in c.leaf_of:
        return c.leaf_of[same]
    leaf = Condition(cond.key, cond.value, _remembered(len(c.leaves), cond.test))
    c.leaves.append(leaf)
    c.leaf_of[same] = leaf
    return leaf


def _remembered(slot: int, test: CondTest) -> CondTest:
    def remembered(f: Facts) -> bool | str:
        memo = f.memo
        if memo is None:
            return test(f)
        if slot not in memo:
            memo[slot] = test(f)
        return memo[slot]

    return remembered


def _read_condition(c: _Checker, m: Located, key: str, label: str) -> Condition | None:
    where = m.value_marks[key]
    value = m[key]
    if key not in COND_KEYS:
        c.add(m.key_marks[key], f"{label}: unknown condition {key!r}; expected one of "
                                f"{', '.join(sorted(COND_KEYS))}")
        return None
    if key in ("all", "any"):
        items = value if isinstance(value, list) else None
        if not items:
            c.add(where, f"{label}: {key} needs a list of conditions")
            return None
        children = []
        for j, item in enumerate(items):
            sub = _conditions(c, item, _mark(items, j, where), label)
            if sub:
                children.append(sub[0] if len(sub) == 1 else
                                Condition("all", None, _all_test(tuple(sub)), tuple(sub)))
        if key == "all":
            return Condition(key, None, _all_test(tuple(children)), tuple(children))
        return Condition(key, None, _any_test(tuple(children)), tuple(children))
    if key == "not":
        sub = _conditions(c, value, where, label)
        if not sub:
            return None
        return Condition(key, None, _not_all_test(tuple(sub)), tuple(sub))
    if key in REGEX_CONDS:
        if not isinstance(value, str):
            c.add(where, f"{label}: {key} must be a regular expression in quotes")
            return None
        try:
            rx = re.compile(value, re.IGNORECASE)
        except re.error as exc:
            at = f" at position {exc.pos + 1}" if exc.pos is not None else ""
            c.add(where, f"{label}: bad regular expression {value!r}: {exc.msg}{at}")
            return None
        part = key.removesuffix("_regex").removesuffix("_stated")
        scopes = c.scopes if key.endswith("_stated_regex") else None
        return Condition(key, value, _regex_test(part, rx, scopes))
    if key in NEAR_CONDS:
        return _near_condition(c, m, key, label)
    if key in BOOL_CONDS:
        if not isinstance(value, bool):
            c.add(where, f"{label}: {key} must be true or false")
            return None
        bool_test = {"has_attachment": _has_attachment_test, "has_advisor": _has_advisor_test,
                     "automatic": _automatic_test, "reply": _reply_test,
                     "forwards_other": _forwards_other_test}[key]
        return Condition(key, value, bool_test(value))
    if key in ENUM_CONDS:
        allowed = ENUM_CONDS[key]
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or any(v not in allowed for v in values):
            c.add(where, f"{label}: {key} must be one of {', '.join(allowed)}")
            return None
        attr = {"channel": "channel", "language": "language", "customer": "customer"}[key]
        return Condition(key, tuple(values), _one_of_test(attr, tuple(values)))
    words = c.string_list(m, key, label)
    if words is None:
        return None
    if key in ("from", "to"):
        pats = [w.lower() for w in words]
        if key == "from":
            return Condition(key, words, _from_test(pats))
        return Condition(key, words, _to_test(pats))
    if key == "from_domain":
        doms = [w.lower().lstrip("@") for w in words]
        return Condition(key, words, _from_domain_test(doms))
    if key == "attachment_name":
        return Condition(key, words, _attachment_name_test([w.lower() for w in words]))
    if key.endswith("_stated"):
        return Condition(key, words, _keyword_test(key.removesuffix("_stated"), words, c.scopes))
    if key.endswith("_unnegated"):
        return Condition(key, words, _keyword_test(key.removesuffix("_unnegated"), words, c.scopes,
                                                   unnegated=True))
    return Condition(key, words, _keyword_test(key, words))


def _near_condition(c: _Checker, m: Located, key: str, label: str) -> Condition | None:
    """`body_stated_near: {verb: [...], object: [...]}`: two or more named word groups."""
    groups = c.mapping(m[key], m.value_marks[key], f"{label}: {key}")
    if groups is None:
        return None
    if len(groups) < 2:
        c.add(m.value_marks[key], f"{label}: {key} needs two or more word groups "
                                  "(e.g. verb: [...], object: [...])")
        return None
    out = []
    for name in groups:
        words = c.string_list(groups, name, f"{label}: {key}")
        if words is None:
            return None
        out.append((str(name), words))
    part = key.removesuffix("_near").removesuffix("_stated")
    scopes = c.scopes if key.endswith("_stated_near") else None
    shown = " + ".join(f"{n} [{', '.join(w[:4])}{', …' if len(w) > 4 else ''}]" for n, w in out)
    return Condition(key, shown, near_test(part, out, scopes))


def _actions(c: _Checker, raw, where, label: str, people, roles, kinds) -> dict:
    m = c.mapping(raw, where, f"{label}: then")
    if m is None:
        return {}
    if not m:
        c.add(where, f"{label}: then is empty")
    c.keys(m, ACTION_KEYS, f"{label}: then")
    out: dict = {}
    for key, value in m.items():
        at = m.value_marks[key]
        if key in ("kind", "assign", "priority") and not isinstance(value, str):
            c.add(at, f"{label}: {key} must be a single name, not {_shape(value)}")
            continue
        if key == "kind":
            if value not in kinds:
                c.add(at, f"{label}: unknown kind {value!r}; kinds are {', '.join(sorted(kinds))}")
            out[key] = value
        elif key == "priority":
            if value not in PRIORITIES:
                c.add(at, f"{label}: priority must be one of {', '.join(PRIORITIES)}")
            out[key] = value
        elif key in ("urgent", "ignore"):
            if not isinstance(value, bool):
                c.add(at, f"{label}: {key} must be true or false")
            out[key] = bool(value)
        elif key == "assign":
            _check_target(c, at, label, value, people, roles, "assign")
            out[key] = value
        elif key == "watchers":
            marks = getattr(value, "item_marks", None)
            items = c.names(value, at, f"{label}: watchers")
            for j, w in enumerate(items):
                _check_target(c, marks[j] if marks and j < len(marks) else at, label, w,
                              people, roles, "watcher")
            out[key] = list(items)
        elif key == "ack":
            if value is not False and not (isinstance(value, str) and NAME.match(value)):
                c.add(at, f"{label}: ack must be a template name or false")
            out[key] = value
        elif key == "category":
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                c.add(at, f"{label}: category must be a word, not {_shape(value)}")
            out[key] = str(value)
    return out


def _check_target(c, at, label, value, people, roles, what) -> None:
    if value == ADVISOR:
        return
    if value in roles:
        if roles[value].person is None:
            c.add(at, f"{label}: {what} role {value!r} has no person (give it a default or members)")
        return
    if value not in people:
        c.add(at, f"{label}: {what} {value!r} is neither a person nor a role")
