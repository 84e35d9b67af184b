"""The web face: the Flask app (`app.create_app`: health, Slack's events, sign-in and the
desk's pages) and the hardened WSGI server that serves it (`server.WebServer`)."""

from bot.adapters.web.app import create_app
from bot.adapters.web.server import WebServer

__all__ = ["WebServer", "create_app"]
