"""Who is at the browser: sign-in by one-time link, the session, CSRF, rate limits.

- The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure behind https),
  holding the person's key, a CSRF token and when they signed in (by the desk's clock):
  it ends with the browser, or after SESSION_HOURS, whichever comes first.
- Every POST carries the session's CSRF token (a hidden field); without it: 403.
- Asking for a link always gets the same answer, whoever asks (no user enumeration);
  asking, and redeeming, are rate-limited per client address and per address asked for.
- A link opens a page with one button: mail scanners that follow links cannot use it up.
- Who may see and do what is the desk's own check (bot/desk/actor.py): a signed-in
  person of rules.yaml acts as `Actor.of(person, Via.WEB)`.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.adapters.slack_out import make_client
from bot.desk import signin
from bot.desk.actor import Actor, Via
from bot.desk.context import Desk

SESSION_HOURS = 12
PUBLIC = {"auth.login", "auth.login_link", "auth.redeem_page", "auth.redeem", "auth.slack_login",
          "auth.slack_callback", "static", "health", "slack_events"}

bp = Blueprint("auth", __name__)
log = logging.getLogger("bot.web")


class RateLimit:
    """At most ``limit`` hits per key within ``window`` seconds (in this process)."""

    def __init__(self, limit: int, window: float, monotonic: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.monotonic = limit, window, monotonic
        self.hits: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.monotonic()
        with self.lock:
            q = self.hits.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            if len(self.hits) > 10_000:  # forget the quiet ones
                for k in [k for k, v in self.hits.items() if not v][:5000]:
                    del self.hits[k]
            return True

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may hit again (at least 1)."""
        now = self.monotonic()
        with self.lock:
            q = self.hits.get(key)
            if not q or len(q) < self.limit:
                return 1
            return max(1, int(q[0] + self.window - now + 0.999))


def desk() -> Desk:
    return current_app.config["DESK"]


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(403, "This form has expired or did not come from this desk (CSRF check). Reload "
                   "the page and try again.")


def load_person() -> None:
    """g.person and g.actor from the session, or None (a person removed from rules.yaml
    is signed out)."""
    g.person = g.actor = None
    key = session.get("person")
    if key:
        person = desk().ruleset.people.get(key)
        age = desk().clock().timestamp() - float(session.get("at", 0))
        if person is None or not 0 <= age <= SESSION_HOURS * 3600:
            session.clear()
        else:
            g.person, g.actor = person, Actor.of(person, Via.WEB)


def require_sign_in():
    """Before every request: signed in, or the sign-in page (or 403 for a form post).
    Not for the REST API (/api/): a Bearer token, never the cookie, is who calls it
    (bot/adapters/web/api.py), so it needs no CSRF token either."""
    if request.path.startswith("/api/"):
        g.person = g.actor = None
        return None
    load_person()
    if request.method == "POST" and request.endpoint != "slack_events":
        check_csrf()
    if request.endpoint in PUBLIC or g.person is not None:
        return None
    if request.method != "GET":
        abort(403, "Sign in first.")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no //host, no scheme): never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def _client() -> str:
    return request.remote_addr or "?"


def _start_session(person) -> None:
    """A fresh session for ``person``: nothing from before the sign-in carries over."""
    session.clear()
    session["person"] = person.key
    session["at"] = desk().clock().timestamp()
    csrf_token()


@bp.get("/login")
def login():
    csrf_token()
    return render_template("login.html", next=_safe_next(request.args.get("next")), sent=False)


@bp.post("/login")
def login_link():
    limits = current_app.config["LIMITS"]
    email = (request.form.get("email") or "").strip().lower()[:320]
    nxt = _safe_next(request.form.get("next"))
    if not limits["ask_client"].allow(_client()) or not limits["ask_address"].allow(email):
        return render_template("login.html", next=nxt, sent=False, limited=True), 429
    signin.request_link(desk(), email, nxt)
    # the same answer whether or not the address is someone's
    return render_template("login.html", next=nxt, sent=True, email=email)


@bp.get("/login/<token>")
def redeem_page(token: str):
    csrf_token()
    return render_template("login_confirm.html", token=token)


@bp.post("/login/<token>")
def redeem(token: str):
    if not current_app.config["LIMITS"]["redeem_client"].allow(_client()):
        return render_template("login_confirm.html", token=token, limited=True), 429
    person = signin.redeem(desk(), token)
    if person is None:
        return render_template("login_confirm.html", token=token, failed=True), 400
    _start_session(person)
    return redirect(url_for("pages.dashboard"))


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))


def configure(app, the_desk: Desk) -> None:
    secure = the_desk.settings.public_url.startswith("https://")
    app.config.update(
        SECRET_KEY=signin.secret_key(the_desk),
        SESSION_COOKIE_NAME="ticketbot_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        LIMITS={"ask_client": RateLimit(10, 900), "ask_address": RateLimit(5, 900),
                "redeem_client": RateLimit(20, 900)},
    )
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["slack_sign_in"] = the_desk.settings.slack_sign_in
    app.before_request(require_sign_in)
    app.register_blueprint(bp)


# ------------------------------------------------------------------ Sign in with Slack
# OpenID Connect: the browser goes to Slack, Slack sends it back with a code, the server
# trades the code for a token (with the app's secret) and asks Slack who it is. The Slack
# user id must be a person's `slack:` in rules.yaml. A `state` bound to the session stops
# a forged callback.
SLACK_AUTHORIZE = "https://slack.com/openid/connect/authorize"


def _slack_callback_url() -> str:
    return f"{desk().settings.public_url}/login/slack/callback"


@bp.get("/login/slack")
def slack_login():
    settings = desk().settings
    if not settings.slack_sign_in:
        abort(404, "Sign in with Slack is not set up here.")
    state = secrets.token_urlsafe(24)
    session["slack_state"] = state
    query = urlencode({"response_type": "code", "scope": "openid email profile",
                       "client_id": settings.slack_client_id, "state": state,
                       "nonce": secrets.token_urlsafe(16), "redirect_uri": _slack_callback_url()})
    return redirect(f"{SLACK_AUTHORIZE}?{query}")


@bp.get("/login/slack/callback")
def slack_callback():
    settings = desk().settings
    if not settings.slack_sign_in:
        abort(404, "Sign in with Slack is not set up here.")
    if not current_app.config["LIMITS"]["redeem_client"].allow(_client()):
        return render_template("login_confirm.html", limited=True, token=""), 429
    expected = session.pop("slack_state", "")
    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not expected or not hmac.compare_digest(state, expected) or not code or len(code) > 500:
        return render_template("login_confirm.html", failed=True, token=""), 400
    try:
        client = make_client(None, settings.slack_api_url)
        token = client.openid_connect_token(client_id=settings.slack_client_id or "",
                                            client_secret=settings.slack_client_secret or "",
                                            code=code, redirect_uri=_slack_callback_url())
        who = make_client(str(token["access_token"]), settings.slack_api_url).openid_connect_userInfo()
    except (SlackApiError, SlackClientError, KeyError, OSError) as exc:
        log.warning("web: Sign in with Slack failed: %s", type(exc).__name__)
        return render_template("login_confirm.html", failed=True, token=""), 400
    user_id = str(who.get("https://slack.com/user_id") or who.get("sub") or "")
    person = next((p for p in desk().ruleset.people.values() if p.slack and p.slack == user_id), None)
    if person is None:
        log.info("web: a Slack user who is in nobody's list tried to sign in")
        return render_template("login_confirm.html", failed=True, token="", stranger=True), 403
    _start_session(person)
    log.info("web: %s signed in with Slack", person.key)
    return redirect(url_for("pages.dashboard"))
