"""The web face as one Flask application: `/healthz`, Slack's `/slack/events` (HTTP
mode, through slack-bolt's Flask adapter), the sign-in, and the desk's pages.

Flask because slack-bolt has an adapter for it, it renders with Jinja2 (the project's
templates engine), it is WSGI (served by `server.WebServer`, which times out slow
clients and caps connections per client), and it is small and well kept.

Pages are rendered on the server from `templates/web/`, work without JavaScript, and
load nothing from outside (static files are served by the app: desks run it on closed
networks). Every response carries a strict Content-Security-Policy. Errors are a short
page (or JSON for the API-like endpoints), never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from bot.adapters.web import api, auth, pages, portal
from bot.desk import queries
from bot.desk.context import Desk

log = logging.getLogger("bot.web")

MAX_FORM = 2 * 1024 * 1024  # a form post (a reply, a note) is never near this
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                "script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                "base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_app(desk: Desk, health: Callable[[], dict[str, Any]] | None = None) -> Flask:
    templates = desk.settings.templates_dir / "web"
    app = Flask("ticketbot", template_folder=str(templates), static_folder=str(templates / "static"),
                static_url_path="/static")
    app.config["DESK"] = desk
    app.config["MAX_CONTENT_LENGTH"] = MAX_FORM
    health_fn = health or (lambda: queries.health(desk))
    auth.configure(app, desk)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)  # /api/v1: the REST API, by Bearer token (api.py)
    app.context_processor(pages.template_globals)
    portal.register(app, desk)  # the customer portal, /portal (bot/adapters/web/portal.py)

    def health_endpoint():
        try:
            body = health_fn()
        except Exception as exc:
            log.warning("health check failed: %s: %s", type(exc).__name__, exc)
            return jsonify({"status": "unavailable", "database": "unreachable"}), 503
        # not "ok" (stuck, unwritable, clock-held): the load balancer should know
        return jsonify(body), (200 if body.get("status", "ok") == "ok" else 503)

    app.add_url_rule("/healthz", "health", health_endpoint)
    app.add_url_rule("/health", "health_alias", health_endpoint)
    auth.PUBLIC.add("health_alias")

    @app.after_request
    def headers(resp):
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        return resp

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return api.http_error(exc)
        if _wants_json():
            return jsonify({"error": exc.description or exc.name}), exc.code
        return render_template("error.html", code=exc.code, title=exc.name,
                               message=exc.description), exc.code

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        log.exception("error handling %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return api.internal_error()
        if _wants_json():
            return jsonify({"error": "internal error; see the server log"}), 500
        return render_template("error.html", code=500, title="Something went wrong",
                               message="The desk could not show this page. The error is in the "
                                       "server log."), 500

    return app


def _wants_json() -> bool:
    return request.path.startswith(("/healthz", "/health", "/slack/", "/api/"))
