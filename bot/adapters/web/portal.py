"""The customer portal (`/portal`): a customer follows, answers and closes their requests
from the personal link in our mails, and files new ones. No JavaScript, works on a phone.

- The link (`/portal/k/<token>`, bot/desk/portal.py) starts a portal session: its own
  signed cookie (`ticketbot_portal`: HttpOnly, SameSite=Lax, Secure behind https), apart
  from the staff session, holding only the contact and the link's generation, so
  revoking the link ends the session at the next click. It lasts SESSION_HOURS.
- Every form carries the web face's CSRF token (bot/adapters/web/auth.py checks it for
  every POST: without it, 403).
- Every page reads through a portal view and every form calls one desk action
  (`actions.portal_reply`, `portal_request`, `portal_decide`) as `Actor.for_contact`:
  a ticket that is not the customer's is "not found", exactly like one that does not exist.
- The start page mails a link to whoever asks, with the same answer whether or not the
  address is a contact's, rate-limited per client and per address.
- Words: bot/adapters/web/portal_texts.py, in the customer's language (their latest
  ticket's), or the browser's on the start page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.exceptions import HTTPException

from bot.adapters.web import auth
from bot.adapters.web.pages import ACTIVE_TYPES
from bot.adapters.web.portal_texts import LANGUAGES, NAMES, SUBJECT_LABELS, translator
from bot.desk import actions, portal
from bot.desk.context import Desk
from bot.desk.errors import NotAllowed, Refused

bp = Blueprint("portal", __name__, url_prefix="/portal")

COOKIE = "ticketbot_portal"
SESSION_HOURS = 24
MAX_BODY = portal.MAX_FILES_BYTES + 512 * 1024  # the files, the text and the form around them
CTYPE = re.compile(r"[a-z0-9.+-]+/[a-z0-9.+-]+")


def desk() -> Desk:
    return current_app.config["DESK"]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="ticketbot-portal")


def _lang() -> str:
    chosen = request.args.get("lang", "")
    if chosen in LANGUAGES:
        return chosen
    default = (desk().ruleset.default_language or "en")[:2]
    return request.accept_languages.best_match(LANGUAGES) or (default if default in LANGUAGES else "en")


def _client() -> str:
    return request.remote_addr or "?"


# ------------------------------------------------------------------ who is at the browser
def body_limit():
    """Before everything else (the CSRF check reads the form): a portal post may carry
    the files, nothing else may."""
    if request.method == "POST" and request.path.startswith("/portal/"):
        request.max_content_length = MAX_BODY


@bp.before_request
def load_customer():
    g.customer = None
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = _serializer().loads(raw, max_age=SESSION_HOURS * 3600)
            g.customer = portal.session_actor(desk(), int(data["c"]), int(data["g"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            g.customer = None
    g.lang = portal.language(desk(), g.customer) if g.customer is not None else _lang()
    g._ = translator(g.lang)


def _customer():
    if g.customer is None:
        abort(403, "Your session has ended. Open the link in one of our mails again.")
    return g.customer


def _page(name: str, status: int = 200, **context):
    resp = make_response(render_template(f"portal/{name}", _=g._, lang=g.lang, customer=g.customer,
                                         csrf=auth.csrf_token(), names=NAMES, languages=LANGUAGES,
                                         local=_local, reflow=reflow, **context), status)
    return resp


def reflow(text: str) -> list[str]:
    """Paragraphs of a plain-text mail, with the line breaks a mail program put in to wrap
    (a line of WRAPPED characters or more runs on) taken out; short lines (a signature, an
    address) keep theirs. Shown with white-space: pre-wrap."""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        lines = para.split("\n")
        joined = lines[0]
        for prev, line in zip(lines, lines[1:], strict=False):
            joined += (" " if len(prev.rstrip()) >= WRAPPED and line.strip() else "\n") + line
        out.append(joined)
    return out


WRAPPED = 60


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(desk().tz).strftime("%d-%m-%Y %H:%M")


@bp.errorhandler(HTTPException)
def portal_error(exc: HTTPException):
    g.setdefault("lang", "en")
    g.setdefault("customer", None)
    if "_" not in g:
        g._ = translator(g.lang)
    messages = {403: "This form has expired. Reload the page and try again.",
                404: "There is no such request.",
                413: "The files are larger than 10 MB together."}
    message = exc.description if exc.code == 403 and g.customer is None and exc.description and \
        exc.description.startswith("Your session") else messages.get(exc.code or 500, "Something went wrong")
    return _page("error.html", exc.code or 500, code=exc.code, message=message)


# ------------------------------------------------------------------ start, link, sign out
@bp.get("/")
def home():
    if g.customer is None:
        return _page("start.html", sent=False)
    tickets = portal.my_tickets(desk(), g.customer)
    return _page("home.html", tickets=tickets, messages=get_flashed_messages(with_categories=True))


@bp.post("/link")
def ask_link():
    email = (request.form.get("email") or "").strip().lower()[:320]
    limits = current_app.config["PORTAL_LIMITS"]
    if not limits["ask_client"].allow(_client()) or not limits["ask_address"].allow(email):
        return _page("start.html", 429, sent=False, limited=True)
    portal.request_link(desk(), email, g.lang)
    return _page("start.html", sent=True)  # the same answer, whoever asks


@bp.get("/k/<token>")
def open_link(token: str):
    if not current_app.config["PORTAL_LIMITS"]["redeem_client"].allow(_client()):
        return _page("start.html", 429, sent=False, limited=True)
    found = portal.redeem(desk(), token)
    if found is None:
        return _page("start.html", 403, sent=False, failed=True)
    resp = redirect(url_for("portal.home"))
    settings = desk().settings
    resp.set_cookie(COOKIE, _serializer().dumps({"c": found[0], "g": found[1]}),
                    max_age=SESSION_HOURS * 3600, httponly=True, samesite="Lax", path="/portal",
                    secure=settings.public_url.startswith("https://"))
    return resp


@bp.post("/logout")
def logout():
    resp = redirect(url_for("portal.home"))
    resp.delete_cookie(COOKIE, path="/portal")
    return resp


@bp.get("/style.css")
def style():
    path = Path(desk().settings.templates_dir) / "portal" / "portal.css"
    return send_file(path, mimetype="text/css", max_age=3600)


# ------------------------------------------------------------------ a ticket
@bp.get("/tickets/<int:number>")
def ticket(number: int, error: str | None = None, status: int = 200):
    t = portal.ticket_view(desk(), _customer(), number)
    if t is None:
        abort(404)
    return _page("ticket.html", status, t=t, error=error, messages=get_flashed_messages(with_categories=True))


@bp.get("/tickets/<int:number>/files/<int:attachment_id>")
def attachment(number: int, attachment_id: int):
    a = portal.attachment(desk(), _customer(), number, attachment_id)
    if a is None:
        abort(404)
    ctype = (a["type"] or "").split(";")[0].strip().lower()
    if not CTYPE.fullmatch(ctype) or ACTIVE_TYPES.search(ctype):
        ctype = "application/octet-stream"
    name = a["name"].replace("\r", " ").replace("\n", " ")
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", name) or "attachment"
    resp = Response(a["content"], mimetype=ctype)
    resp.headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                           f"filename*=UTF-8''{quote(name)}")
    resp.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return resp


def _files() -> list[tuple[str, str, bytes]]:
    """The uploaded files as (name, type, bytes); Refused past the size cap."""
    out: list[tuple[str, str, bytes]] = []
    total = 0
    for f in request.files.getlist("files"):
        if not f or not f.filename:
            continue
        data = f.read(portal.MAX_FILES_BYTES + 1 - total)
        total += len(data)
        if total > portal.MAX_FILES_BYTES:
            raise Refused("The files are larger than 10 MB together.")
        name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", f.filename).strip()[-200:] or "file"
        ctype = (f.mimetype or "").lower()
        out.append((name, ctype if CTYPE.fullmatch(ctype) else "application/octet-stream", data))
    return out


def _refusal_text(exc: Refused) -> str:
    text = str(exc)
    if text.startswith("no ticket"):
        abort(404)
    if "larger than" in text:
        return "The files are larger than 10 MB together."
    if "empty" in text:
        return "The subject is empty." if "subject" in text else "The message is empty."
    return text


@bp.post("/tickets/<int:number>/reply")
def reply(number: int):
    actor = _customer()
    try:
        files = _files()
        out = actions.portal_reply(desk(), actor, number, request.form.get("text", ""), files)
    except NotAllowed:
        abort(403)
    except Refused as exc:
        msg = _refusal_text(exc)
        return ticket(number, error=msg, status=413 if "10 MB" in msg else 400)
    if out["ticket"] != number:
        flash(f"{g._('This request became a new one, because it was closed long ago:')} "
              f"{desk().tag(out['ticket'])}", "ok")
        return redirect(url_for("portal.ticket", number=out["ticket"]))
    flash(g._("Thank you: your answer has reached us."), "ok")
    return redirect(url_for("portal.ticket", number=number))


@bp.post("/tickets/<int:number>/decide")
def decide(number: int):
    actor = _customer()
    solved = request.form.get("solved") == "1"
    try:
        actions.portal_decide(desk(), actor, number, solved)
    except NotAllowed:
        abort(403)
    except Refused as exc:
        return ticket(number, error=_refusal_text(exc), status=400)
    flash(g._("Thank you: the request is closed." if solved
              else "The request is open again: we will pick it up at once."), "ok")
    return redirect(url_for("portal.ticket", number=number))


# ------------------------------------------------------------------ a new request
def _kinds() -> list[tuple[str, str]]:
    return [(k, g._(k)) for k in portal.KINDS if k in desk().ruleset.kinds]


@bp.get("/new")
def new():
    _customer()
    return _page("new.html", kinds=_kinds(), form={})


@bp.post("/new")
def new_post():
    actor = _customer()
    kind = request.form.get("kind", "")
    form = {"kind": kind, "subject": request.form.get("subject", "")[:200],
            "text": request.form.get("text", "")}
    try:
        files = _files()
        label = SUBJECT_LABELS.get(g.lang, SUBJECT_LABELS["en"]).get(kind)
        out = actions.portal_request(desk(), actor, kind, form["subject"], form["text"], files, label)
    except NotAllowed:
        abort(403)
    except Refused as exc:
        msg = _refusal_text(exc)
        return _page("new.html", 413 if "10 MB" in msg else 400, kinds=_kinds(), form=form, error=msg)
    flash(g._("Thank you: we have received your request."), "ok")
    return redirect(url_for("portal.ticket", number=out["ticket"]))


# ------------------------------------------------------------------ wiring
def register(app, the_desk: Desk) -> None:
    """Mount the portal on the web face: its pages need no staff sign-in, its posts the
    CSRF token; its templates are templates/portal/."""
    app.register_blueprint(bp)
    app.jinja_loader = ChoiceLoader([app.jinja_loader,
                                     FileSystemLoader(str(the_desk.settings.templates_dir))])
    app.before_request_funcs.setdefault(None, []).insert(0, body_limit)
    auth.PUBLIC.update(ep for ep in app.view_functions if ep.startswith("portal."))
    app.config["PORTAL_LIMITS"] = {"ask_client": auth.RateLimit(10, 900),
                                   "ask_address": auth.RateLimit(3, 3600),
                                   "redeem_client": auth.RateLimit(60, 900)}
