"""Wiring that one-shot commands share with the long-running processes: the desk on the
configured database, the outbox sender. Kept apart from bot/app.py so that
`ticketbot show 1` does not import the servers (Flask, Slack Bolt, IMAP, aiosmtpd) that
only `ticketbot run` and its Procfile parts start."""

from __future__ import annotations

from bot.adapters.rules_file import RulesHolder
from bot.adapters.smtp_out import make_transport
from bot.config import Settings
from bot.delivery.outbox import OutboxSender
from bot.delivery.transport import Transport
from bot.desk import webhooks
from bot.desk.context import Clock, Desk, utcnow
from bot.store.migrate import upgrade
from bot.store.models import make_engine, make_sessionmaker


def open_desk(settings: Settings, migrate: bool = True, rules: bool = False,
              clock: Clock = utcnow) -> Desk:
    """The desk on the configured database; with rules=True also the rules file
    (raises RulesError, listing every problem, when it is not valid)."""
    holder = None
    if rules:
        holder = RulesHolder.from_settings(settings)
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    desk = Desk(settings, make_sessionmaker(engine), clock=clock, rules=holder)
    if holder is not None and migrate:
        webhooks.sync_configured(desk)  # rules.yaml's webhook subscriptions into the table
    return desk


def build_sender(settings: Settings, desk: Desk) -> OutboxSender:
    """The outbox sender with a transport per channel (mail: SMTP relay or files)."""
    # the transports' clients (slack_sdk) only where something is sent, not in every command
    from bot.adapters.slack_out import SlackTransport
    from bot.adapters.webhook_out import WebhookTransport
    transports: dict[str, Transport] = {"mail": make_transport(settings.smtp_url, settings.mail_dir)}
    fetch_file = None
    if settings.slack_enabled:
        slack = SlackTransport.from_settings(settings)
        transports["slack"], fetch_file = slack, slack.download
    transports["webhook"] = WebhookTransport(desk)
    return OutboxSender(settings, desk.uow, transports, fetch_file=fetch_file)


def close_sender(sender: OutboxSender) -> None:
    for transport in sender.transports.values():
        transport.close()
