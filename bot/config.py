"""Settings from the environment (12-factor). The one place that reads os.environ."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.rules.schema import WEBHOOK_SETTINGS

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"  # shipped beside bot/
# the kind model's weights, shipped in the package (scripts/train_kind_model.py makes it)
KIND_MODEL = Path(__file__).resolve().parent / "core" / "rules" / "kind_model.json"


class ConfigError(ValueError):
    """A setting is present but cannot be used; the message names the variable."""


def _path_or_off(value: str) -> Path | None:
    """A path setting that can be switched off: TICKETBOT_KIND_MODEL (off: routing by the
    rules alone), TICKETBOT_CACHE_DIR (off: no cache); off/none/0/false/no give None."""
    return None if value.lower() in ("off", "none", "0", "false", "no") else Path(value)


def _cache_dir(env: dict[str, str]) -> Path | None:
    """TICKETBOT_CACHE_DIR, off/none/0 for none; else the user's cache folder (XDG)."""
    value = (env.get("TICKETBOT_CACHE_DIR") or "").strip()
    if value:
        return _path_or_off(value)
    if xdg := (env.get("XDG_CACHE_HOME") or "").strip():
        return Path(xdg) / "ticketbot"
    home = (env.get("HOME") or "").strip()
    return Path(home) / ".cache" / "ticketbot" if home else None


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _hostport(name: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"{name}={value!r}: expected HOST:PORT, e.g. 127.0.0.1:2525")
    return host or "127.0.0.1", int(port)


@dataclass(frozen=True)
class MailServerURL:
    """imap://, imaps://, smtp://, smtps:// or smtp+starttls:// URLs, parsed."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)  # never shown in a repr or a log line
    path: str  # folder for IMAP

    @property
    def tls(self) -> bool:
        return self.scheme in {"imaps", "smtps"}

    @property
    def starttls(self) -> bool:
        return self.scheme.endswith("+starttls")

    def redacted(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}/{self.path}".rstrip("/")

    @classmethod
    def parse(cls, name: str, url: str) -> MailServerURL:
        parts = urlsplit(url)
        defaults = {
            "imap": 143, "imap+starttls": 143, "imaps": 993,
            "smtp": 25, "smtp+starttls": 587, "smtps": 465,
        }
        if parts.scheme not in defaults:
            raise ConfigError(
                f"{name}: unknown scheme {parts.scheme!r}; use one of {', '.join(sorted(defaults))}"
            )
        if not parts.hostname:
            raise ConfigError(f"{name}: no host in the URL")
        try:
            port = parts.port or defaults[parts.scheme]
        except ValueError as exc:
            raise ConfigError(f"{name}: bad port ({exc})") from None
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            path=unquote(parts.path.lstrip("/")),
        )


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/ticketbot.sqlite3"
    imap_url: MailServerURL | None = None
    imap_processed_folder: str | None = None  # None: mark \Seen and leave in place
    imap_quarantine_folder: str = "Quarantine"
    imap_batch: int = 100
    imap_poll_seconds: float = 30.0
    imap_idle: bool = True  # use IDLE when the server offers it
    imap_timeout: float = 30.0
    # several workers on one mailbox: how long a claimed range of UIDs stays a worker's
    # before another takes it over (bot/desk/mailbox_claims.py)
    imap_claim_seconds: float = 300.0
    smtp_url: MailServerURL | None = None
    mail_dir: Path = Path("var/outgoing")  # outgoing mail as .eml files when no relay
    address: str = "support@ticketbot.example"
    address_name: str = "Sales Support"
    own_addresses: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()  # recipient domains accepted by the SMTP server
    smtp_listen: tuple[str, int] = ("127.0.0.1", 2525)
    web_listen: tuple[str, int] = ("127.0.0.1", 8080)
    web_url: str | None = None  # the web face's public address, for links (TICKETBOT_WEB_URL)
    # signs the web face's session cookies; unset: one is made and kept in the database
    secret_key: str | None = field(default=None, repr=False)
    sweep_seconds: float = 60.0  # how often the clock sweeps for due work
    api_rate_per_minute: int = 600  # REST API requests per token per minute (TICKETBOT_API_RATE)
    smtp_max_size: int = 25 * 1024 * 1024
    rules_path: Path = Path("rules.yaml")
    # the kind model's weights (docs/rules.md "The kind model"); None: the rules alone.
    # From the environment: the packaged file (KIND_MODEL) unless TICKETBOT_KIND_MODEL
    # names another (`ticketbot routing train` writes one) or is "off"
    kind_model: Path | None = None
    # where the kind model is kept as loaded (bot/desk/context.py load_cached); None: not.
    # From the environment: TICKETBOT_CACHE_DIR ("off": none), else $XDG_CACHE_HOME/ticketbot
    # or ~/.cache/ticketbot
    cache_dir: Path | None = None
    templates_dir: Path = TEMPLATES_DIR  # the mail templates (TICKETBOT_TEMPLATES)
    tag_prefix: str = "TB"
    default_language: str = "en"
    default_owner: str = "sales_support"
    timezone: str = "Europe/Amsterdam"  # the desk's business time zone (IANA)
    auto_reply_limit: int = 5  # automatic mails per sender per 24 h
    reopen_days: int = 14
    parse_workers: int = 0  # 0: one per core but one (bot/desk/pipeline.py parser_count); 1: none
    outbox_max_attempts: int = 12
    outbox_retry_base: float = 30.0  # seconds, doubled each attempt
    outbox_retry_max: float = 3600.0
    # a customer's attachments on the owner's notice mail, in total; above it a link to the
    # dossier (TICKETBOT_NOTICE_ATTACHMENTS_MAX, bytes)
    notice_attachments_max: int = 10 * 1024 * 1024
    # one file uploaded into a ticket's Slack thread at most (Slack takes up to 1 GB);
    # larger ones are linked (TICKETBOT_SLACK_FILE_MAX, bytes)
    slack_file_max: int = 100 * 1024 * 1024
    log_level: str = "INFO"
    # Slack (issue #4). Tokens and the signing secret never appear in a repr or a log line.
    slack_bot_token: str | None = field(default=None, repr=False)  # xoxb-…
    slack_app_token: str | None = field(default=None, repr=False)  # xapp-…: Socket Mode
    slack_signing_secret: str | None = field(default=None, repr=False)  # HTTP mode
    slack_channel: str | None = None  # team channel when rules.yaml names none
    # "Sign in with Slack" on the web face (OpenID Connect): the app's client id and secret
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"  # Web API base URL (proxies, tests)
    # Webhooks (docs/webhooks.md). The signing secrets: every TICKETBOT_WEBHOOK_* variable
    # (rules.yaml names one per subscription in `secret_env`); never in a repr or a log line.
    webhook_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    webhook_disable_days: float = 3.0  # a subscription failing that long is disabled
    webhook_timeout: float = 10.0  # seconds for one POST
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def mail_domain(self) -> str:
        return self.address.rpartition("@")[2] or "ticketbot.example"

    @property
    def all_own_addresses(self) -> frozenset[str]:
        return frozenset(a.lower() for a in (self.address, *self.own_addresses) if a)

    @property
    def accepted_domains(self) -> frozenset[str]:
        return frozenset(d.lower() for d in (self.domains or (self.mail_domain,)))

    @property
    def public_url(self) -> str:
        """Where people reach the web face (links in mails and Slack posts), no trailing /."""
        if self.web_url:
            return self.web_url.rstrip("/")
        host, port = self.web_listen
        return f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0', '') else host}:{port}"

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)

    @property
    def slack_sign_in(self) -> bool:
        """Whether the web face offers "Sign in with Slack" (OpenID Connect)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_mode(self) -> str | None:
        """"socket" (SLACK_APP_TOKEN set), "http" (events at /slack/events), or None."""
        if not self.slack_enabled:
            return None
        return "socket" if self.slack_app_token else "http"

    def webhook_secret(self, env_name: str) -> str | None:
        """The signing secret in the environment variable `env_name` (a TICKETBOT_WEBHOOK_*
        variable, read with the other settings), or None when it is not set."""
        return self.webhook_secrets.get(env_name) or None

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def get(k: str) -> str | None:
            return (env.get(k) or "").strip() or None

        kw: dict[str, Any] = {"kind_model": KIND_MODEL, "cache_dir": _cache_dir(env)}
        if url := get("DATABASE_URL"):
            if url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url[len("postgres://"):]
            elif url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://"):]
            kw["database_url"] = url
        if imap_url := get("IMAP_URL"):
            kw["imap_url"] = MailServerURL.parse("IMAP_URL", imap_url)
        if smtp_url := get("SMTP_URL"):
            kw["smtp_url"] = MailServerURL.parse("SMTP_URL", smtp_url)
        simple: dict[str, tuple[str, Callable[[str], object]]] = {
            "TICKETBOT_ADDRESS": ("address", str),
            "TICKETBOT_ADDRESS_NAME": ("address_name", str),
            "TICKETBOT_MAIL_DIR": ("mail_dir", Path),
            "TICKETBOT_RULES": ("rules_path", Path),
            "TICKETBOT_KIND_MODEL": ("kind_model", _path_or_off),
            "TICKETBOT_TEMPLATES": ("templates_dir", Path),
            "TICKETBOT_TAG": ("tag_prefix", str),
            "TICKETBOT_LANGUAGE": ("default_language", str),
            "TICKETBOT_TIMEZONE": ("timezone", str),
            "TICKETBOT_DEFAULT_OWNER": ("default_owner", str),
            "TICKETBOT_IMAP_PROCESSED_FOLDER": ("imap_processed_folder", str),
            "TICKETBOT_IMAP_QUARANTINE_FOLDER": ("imap_quarantine_folder", str),
            "TICKETBOT_LOG_LEVEL": ("log_level", str),
        }
        for var, (attr, convert) in simple.items():
            if value := get(var):
                kw[attr] = convert(value)
        numbers: dict[str, tuple[str, Callable[[str], float]]] = {
            "TICKETBOT_IMAP_BATCH": ("imap_batch", int),
            "TICKETBOT_IMAP_POLL_SECONDS": ("imap_poll_seconds", float),
            "TICKETBOT_IMAP_TIMEOUT": ("imap_timeout", float),
            "TICKETBOT_IMAP_CLAIM_SECONDS": ("imap_claim_seconds", float),
            "TICKETBOT_SMTP_MAX_SIZE": ("smtp_max_size", int),
            "TICKETBOT_AUTO_REPLY_LIMIT": ("auto_reply_limit", int),
            "TICKETBOT_REOPEN_DAYS": ("reopen_days", int),
            "TICKETBOT_PARSE_WORKERS": ("parse_workers", int),
            "TICKETBOT_OUTBOX_MAX_ATTEMPTS": ("outbox_max_attempts", int),
            "TICKETBOT_OUTBOX_RETRY_BASE": ("outbox_retry_base", float),
            "TICKETBOT_SWEEP_SECONDS": ("sweep_seconds", float),
            "TICKETBOT_WEBHOOK_DISABLE_DAYS": ("webhook_disable_days", float),
            "TICKETBOT_WEBHOOK_TIMEOUT": ("webhook_timeout", float),
            "TICKETBOT_API_RATE": ("api_rate_per_minute", int),
            "TICKETBOT_NOTICE_ATTACHMENTS_MAX": ("notice_attachments_max", int),
            "TICKETBOT_SLACK_FILE_MAX": ("slack_file_max", int),
        }
        for var, (attr, number) in numbers.items():
            if value := get(var):
                try:
                    kw[attr] = number(value)
                except ValueError:
                    raise ConfigError(f"{var}={value!r}: expected a number") from None
        kw["imap_idle"] = _bool(get("TICKETBOT_IMAP_IDLE"), True)
        if own := get("TICKETBOT_OWN_ADDRESSES"):
            kw["own_addresses"] = tuple(a.strip().lower() for a in own.split(",") if a.strip())
        if domains := get("TICKETBOT_DOMAINS"):
            kw["domains"] = tuple(d.strip().lower() for d in domains.split(",") if d.strip())
        if smtp_listen := get("TICKETBOT_SMTP_LISTEN"):
            kw["smtp_listen"] = _hostport("TICKETBOT_SMTP_LISTEN", smtp_listen)
        if web_listen := get("TICKETBOT_WEB_LISTEN"):
            kw["web_listen"] = _hostport("TICKETBOT_WEB_LISTEN", web_listen)
        if web_url := get("TICKETBOT_WEB_URL"):
            parts = urlsplit(web_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ConfigError(f"TICKETBOT_WEB_URL={web_url!r}: expected the web face's address, "
                                  "such as https://desk.example.com")
            kw["web_url"] = web_url
        if secret_key := get("TICKETBOT_SECRET_KEY"):
            if len(secret_key) < 32:
                raise ConfigError("TICKETBOT_SECRET_KEY: too short; use at least 32 random "
                                  "characters (e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
            kw["secret_key"] = secret_key
        kw.update(_slack_settings(get))
        kw["webhook_secrets"] = {k: v.strip() for k, v in env.items()
                                 if k.startswith("TICKETBOT_WEBHOOK_") and v.strip()
                                 and k not in WEBHOOK_SETTINGS}
        if "timezone" in kw:
            try:
                ZoneInfo(kw["timezone"])
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(f"TICKETBOT_TIMEZONE={kw['timezone']!r}: not an IANA time zone "
                                  "such as Europe/Amsterdam") from None
        return cls(**kw)


def _slack_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """SLACK_* variables. Messages name the variable, never its value (they are secrets)."""
    kw: dict[str, Any] = {}
    bot, app, secret = get("SLACK_BOT_TOKEN"), get("SLACK_APP_TOKEN"), get("SLACK_SIGNING_SECRET")
    if bot is not None:
        if not bot.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN: expected a bot token (it starts with xoxb-); "
                              "find it under OAuth & Permissions")
        kw["slack_bot_token"] = bot
    if app is not None:
        if not app.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN: expected an app-level token (it starts with xapp-) "
                              "with the connections:write scope; find it under Basic Information")
        kw["slack_app_token"] = app
    if secret is not None:
        kw["slack_signing_secret"] = secret
    if (app or secret) and not bot:
        raise ConfigError("SLACK_BOT_TOKEN is not set; SLACK_APP_TOKEN and SLACK_SIGNING_SECRET "
                          "need it")
    if bot and not app and not secret:
        raise ConfigError("SLACK_BOT_TOKEN is set but Slack cannot reach the bot: set "
                          "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode, "
                          "events at /slack/events)")
    if channel := get("SLACK_CHANNEL"):
        kw["slack_channel"] = channel
    client_id, client_secret = get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET")
    if bool(client_id) != bool(client_secret):
        raise ConfigError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (Sign in with Slack); "
                          "find both under Basic Information")
    if client_id:
        kw["slack_client_id"], kw["slack_client_secret"] = client_id, client_secret
    if url := get("SLACK_API_URL"):
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"SLACK_API_URL={url!r}: expected an http(s) URL such as "
                              "https://slack.com/api/")
        kw["slack_api_url"] = url if url.endswith("/") else url + "/"
    return kw


def setup_logging(level: str = "INFO") -> None:
    """Logging at TICKETBOT_LOG_LEVEL (Settings.log_level), one format for every process."""
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiosmtpd logs every connection at INFO (including its own start-up probe);
    # the bot logs what matters about each mail itself.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # Alembic names each migration step, APScheduler each job it adds ("Adding job
    # tentatively"): the bot says in one line each what the database and the clock are.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)
