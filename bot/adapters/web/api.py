"""The REST API, `/api/v1/…` (JSON), for a desk's other systems: a CRM, the accounting,
a BI tool. Described by the OpenAPI document at /api/v1/openapi.json (openapi.py), shown
as a page at /api/v1/docs.

- Who calls: an integration with its token (`ticketbot api-token create NAME --scope
  read|write`), as `Authorization: Bearer …`; never the browser's session cookie (no
  cookie authenticates anything here, so no CSRF token is needed). It acts as
  `Actor.integration` ("api:NAME" on every event); a read token may only read.
- Every change is one desk action (bot/desk/actions.py) with that actor, as the web
  pages, Slack and the command line call them. Writes to a ticket may carry `If-Match`
  with the ETag the ticket was read with: 412 when it has changed since.
- Requests are rate-limited per token (429 with Retry-After).
- Errors are always `{"error": {"code", "message", "field"}}`, never a stack trace.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from bot.adapters.web import openapi
from bot.adapters.web.auth import RateLimit
from bot.adapters.web.pages import download
from bot.desk import actions, api_tokens, api_views, board, customer_csv, queries, reports, webhooks
from bot.desk.actions import ACTION_KINDS
from bot.desk.api_views import NoSuchTicket, PreconditionFailed
from bot.desk.context import Desk
from bot.desk.customer_csv import Invalid
from bot.desk.errors import NotAllowed, Refused
from bot.desk.views import valid_number

log = logging.getLogger("bot.web")

PREFIX = "/api/v1"
API_LIST_PATH = f"{PREFIX}/tickets"  # what a bench times (bench/, the web bench)
PUBLIC = {"api.openapi_json", "api.docs"}
DEFAULT_LIMIT, MAX_LIMIT = 50, 500
MAX_TEXT = 50_000
MAX_ITEMS = 1000  # records in one upsert

bp = Blueprint("api", __name__, url_prefix=PREFIX)

STATUS_CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 412: "precondition_failed",
                413: "too_large", 415: "unsupported_media_type", 428: "precondition_required",
                429: "rate_limited", 500: "internal"}


def api_list_path(cursor: str | None = None, limit: int | None = None, **filters: str) -> str:
    """The path (with query) of one page of the ticket list, e.g. for a bench."""
    args = {k: v for k, v in filters.items() if v}
    if cursor:
        args["cursor"] = cursor
    if limit:
        args["limit"] = str(limit)
    return API_LIST_PATH + (f"?{urlencode(args)}" if args else "")


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.headers = headers or {}
        self.code = code or STATUS_CODES.get(status, "error")


def error_response(status: int, message: str, field: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    resp = jsonify({"error": {"code": code or STATUS_CODES.get(status, "error"), "message": message,
                              "field": field}})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def http_error(exc: HTTPException) -> Response:
    """A werkzeug error (unknown path, wrong method, body too large) in the API's shape."""
    code = exc.code or 500
    allowed = getattr(exc, "valid_methods", None)  # a 405 says which methods are allowed
    headers = {"Allow": ", ".join(allowed)} if allowed else None
    return error_response(code, exc.description or exc.name, headers=headers)


def internal_error() -> Response:
    return error_response(500, "internal error; the server log has the details")


def desk() -> Desk:
    return current_app.config["DESK"]


def limiter() -> RateLimit:
    found = current_app.config.get("API_LIMIT")
    if found is None:
        found = current_app.config["API_LIMIT"] = RateLimit(desk().settings.api_rate_per_minute, 60)
    return found


@bp.before_request
def authenticate():
    """The Bearer token, and only it, says who calls (401 without a valid one); then the
    token's rate limit (429 with Retry-After)."""
    g.actor = None
    if request.endpoint in PUBLIC:
        return None
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    actor = api_tokens.authenticate(desk(), token.strip()) if scheme.lower() == "bearer" else None
    if actor is None:
        # (the caller cannot run the command line: the operator makes tokens, see /api/docs)
        return error_response(401, "a valid API token is needed: Authorization: Bearer <token>; "
                                   "ask the desk's operator for one",
                              headers={"WWW-Authenticate": 'Bearer realm="ticketbot"'})
    limit = limiter()
    if not limit.allow(actor.key):
        wait = limit.retry_after(actor.key)
        return error_response(429, f"too many requests for this token; retry in {wait} s",
                              headers={"Retry-After": str(wait)})
    g.actor = actor
    return None


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    return error_response(exc.status, exc.message, exc.field, exc.code, exc.headers)


@bp.errorhandler(HTTPException)
def api_http_error(exc: HTTPException):
    return http_error(exc)


def run(fn: Callable[[], Any]) -> Any:
    """A desk call; its refusals as API errors."""
    try:
        return fn()
    except NotAllowed as exc:
        raise ApiError(403, exc.words("api", "en")) from None
    except PreconditionFailed as exc:
        raise ApiError(412, str(exc)) from None
    except NoSuchTicket as exc:
        raise ApiError(404, str(exc)) from None
    except Invalid as exc:
        raise ApiError(400, str(exc), exc.field) from None
    except Refused as exc:  # the desk will not do it now: already resolved, unknown person...
        raise ApiError(409, exc.words("api", "en"), code="refused") from None


# ------------------------------------------------------------------ input
def body() -> dict[str, Any]:
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object (Content-Type: application/json)")
    return data


def text_of(data: dict[str, Any], name: str, required: bool = False,
            choices: tuple[str, ...] | list[str] | None = None) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"{name} is required", name)
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string", name)
    if len(value) > MAX_TEXT:
        raise ApiError(400, f"{name}: at most {MAX_TEXT} characters", name)
    if required and not value.strip():
        raise ApiError(400, f"{name} is empty", name)
    if choices is not None and value not in choices:
        raise ApiError(400, f"{name}: one of {', '.join(choices)}", name)
    return value


def bool_of(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ApiError(400, f"{name} must be true or false", name)
    return value


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number", name) from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be from {low} to {high}", name)
    return value


def encode_cursor(kind: str, last: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last}".encode()).decode().rstrip("=")


def decode_cursor(kind: str) -> int:
    raw = request.args.get("cursor") or ""
    if not raw:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        got, _, number = text.partition(":")
        last = int(number)
        if got != kind or not 0 <= last <= 2**63:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "cursor: not a cursor this list gave out", "cursor") from None
    return last


def if_match() -> str | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def with_etag(resp: Response, etag: str | None) -> Response:
    if etag:
        resp.headers["ETag"] = f'"{etag}"'
    return resp


# ------------------------------------------------------------------ docs
@bp.app_template_filter("code_spans")
def code_spans(text: str) -> Markup:
    """The OpenAPI descriptions' `code` as <code>, everything else escaped."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text or ""))))


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(openapi.document(request.host_url.rstrip("/") + PREFIX))


@bp.get("/docs")
def docs():
    return render_template("api_docs.html", doc=openapi.document(request.host_url.rstrip("/") + PREFIX),
                           operations=openapi.operations())


# ------------------------------------------------------------------ tickets
@bp.get("/tickets")
def list_tickets():
    f = board.Filters.from_args(request.args)
    if f.problems:
        name = f.problems[0].split(":", 1)[0]
        raise ApiError(400, f.problems[0], name)
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = decode_cursor("t")
    rows = run(lambda: board.tickets_after(desk(), g.actor, f, after, limit))
    nxt = encode_cursor("t", rows[-1]["number"]) if len(rows) == limit else None
    return jsonify({"tickets": rows, "next_cursor": nxt})


def _ticket_number(number: int) -> int:
    if not valid_number(number):
        raise ApiError(404, f"no ticket {number}")
    return number


@bp.get("/tickets/<int:number>")
def get_ticket(number: int):
    d = run(lambda: api_views.ticket_full(desk(), g.actor, _ticket_number(number)))
    if d is None:
        raise ApiError(404, f"no ticket {number}")
    inm = (request.headers.get("If-None-Match") or "").strip().strip('"')
    if inm and inm == d["etag"]:
        return with_etag(Response(status=304), d["etag"])
    return with_etag(jsonify(d), d["etag"])


@bp.get("/tickets/<int:number>/attachments/<int:attachment_id>")
def get_attachment(number: int, attachment_id: int):
    """The file, always as a download (as the web face serves it)."""
    found = run(lambda: board.attachment(desk(), g.actor, number, attachment_id))
    if found is None:
        raise ApiError(404, f"no attachment {attachment_id} on ticket {number}")
    return download(found)


def _act(number: int, call: Callable[[Any], Any]):
    """One desk action on a ticket, guarded by If-Match; answers its result and the new ETag."""
    _ticket_number(number)
    result, etag = run(lambda: api_views.guarded(desk(), number, if_match(), call))
    return with_etag(jsonify({"result": result, "etag": etag}), etag)


@bp.post("/tickets/<int:number>/reply")
def reply(number: int):
    text = text_of(body(), "text", required=True)
    return _act(number, lambda s: actions.reply(desk(), g.actor, number, text or "", s=s))


@bp.post("/tickets/<int:number>/notes")
def note(number: int):
    data = body()
    text = text_of(data, "text", required=True)
    action = bool_of(data, "action", False)
    return _act(number, lambda s: actions.add_note(desk(), g.actor, number, text or "", action=action, s=s))


@bp.post("/tickets/<int:number>/actions")
def log_action(number: int):
    data = body()
    how = text_of(data, "how", required=True, choices=[k for k in ACTION_KINDS if k != "reply"])
    text = text_of(data, "note")
    return _act(number, lambda s: actions.log_action(desk(), g.actor, number, how or "", text, s=s))


@bp.post("/tickets/<int:number>/assign")
def assign(number: int):
    data = body()
    target = text_of(data, "target", required=True)
    reason = text_of(data, "reason") or f"reassigned by {g.actor.key}"
    return _act(number, lambda s: actions.assign(desk(), g.actor, number, target or "", reason, s=s))


@bp.post("/tickets/<int:number>/take")
def take(number: int):
    return _act(number, lambda s: actions.take(desk(), g.actor, number, s=s))


@bp.post("/tickets/<int:number>/resolve")
def resolve(number: int):
    data = body()
    text = text_of(data, "note")
    tell = bool_of(data, "tell_customer", True)
    return _act(number, lambda s: actions.resolve(desk(), g.actor, number, text, tell_customer=tell, s=s))


@bp.post("/tickets/<int:number>/reopen")
def reopen(number: int):
    reason = text_of(body(), "reason")
    return _act(number, lambda s: actions.reopen(desk(), g.actor, number, reason, s=s))


@bp.post("/tickets/<int:number>/wait")
def wait(number: int):
    waiting = bool_of(body(), "waiting", True)
    return _act(number, lambda s: actions.set_waiting(desk(), g.actor, number, waiting, s=s))


@bp.post("/tickets/<int:number>/kind")
def kind(number: int):
    name = text_of(body(), "kind", required=True, choices=sorted(desk().ruleset.kinds))
    return _act(number, lambda s: actions.set_kind(desk(), g.actor, number, name or "", s=s))


@bp.post("/tickets/<int:number>/fields")
def set_field(number: int):
    data = body()
    name = text_of(data, "name", required=True)
    value = data.get("value")
    if not isinstance(value, str):
        raise ApiError(400, "value must be a string", "value")
    return _act(number, lambda s: actions.set_field(desk(), g.actor, number, name or "", value, s=s))


@bp.post("/tickets/<int:number>/cancellation")
def cancellation(number: int):
    data = body()
    outcome = text_of(data, "outcome", required=True, choices=("retained", "lost"))
    reason = text_of(data, "reason")
    return _act(number, lambda s: actions.cancellation_outcome(desk(), g.actor, number, outcome or "",
                                                               reason, s=s))


# ------------------------------------------------------------------ customers
@bp.get("/customers")
def list_customers():
    page = int_arg("page", 1, 1, 10_000)
    words = (request.args.get("q") or "").strip()[:200]
    return jsonify(run(lambda: board.customers(desk(), g.actor, words, page)))


@bp.get("/contacts")
def list_contacts():
    limit = int_arg("limit", 100, 1, MAX_LIMIT)
    after = decode_cursor("c")
    words = (request.args.get("q") or "").strip()[:200]
    rows = run(lambda: api_views.contacts(desk(), g.actor, words, after, limit))
    return jsonify({"contacts": rows,
                    "next_cursor": encode_cursor("c", rows[-1]["id"]) if len(rows) == limit else None})


@bp.get("/contracts")
def list_contracts():
    limit = int_arg("limit", 100, 1, MAX_LIMIT)
    after = decode_cursor("k")
    company = (request.args.get("company") or "").strip()[:200]
    rows = run(lambda: api_views.contracts(desk(), g.actor, company, after, limit))
    return jsonify({"contracts": rows,
                    "next_cursor": encode_cursor("k", rows[-1]["id"]) if len(rows) == limit else None})


def _upsert(what: str):
    items = body().get("items")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "items: a non-empty list of records", "items")
    if len(items) > MAX_ITEMS:
        raise ApiError(400, f"items: at most {MAX_ITEMS} records at once", "items")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ApiError(400, f"item {i}: not an object", f"items[{i}]")
    report = run(lambda: customer_csv.upsert_records(desk(), g.actor, what, items))
    out = report.as_dict()
    out.pop("rejected", None)
    return jsonify(out)


@bp.post("/customers")
def upsert_customers():
    return _upsert("customers")


@bp.post("/contracts")
def upsert_contracts():
    return _upsert("contracts")


# ------------------------------------------------------------------ reports, tasks
def _month() -> str:
    month = request.args.get("month") or reports.default_month(desk())
    try:
        return reports.check_month(month)
    except Refused as exc:
        raise ApiError(400, str(exc), "month") from None


@bp.get("/reports/sla")
def report_sla():
    month = _month()
    r = run(lambda: reports.monthly(desk(), g.actor, month))
    return jsonify({"month": r["month"], "now": r["now"], "sla": r["sla"], "trend": r["sla_trend"]})


@bp.get("/reports/complaints")
def report_complaints():
    month = _month()
    r = run(lambda: reports.monthly(desk(), g.actor, month))
    return jsonify({"month": r["month"], "now": r["now"], "complaints": r["complaints"]})


@bp.get("/tasks")
def list_tasks():
    everything = (request.args.get("all") or "").lower() in ("1", "true", "yes")
    return jsonify({"tasks": run(lambda: queries.list_tasks(desk(), g.actor, open_only=not everything))})


@bp.post("/tasks/<int:task_id>/complete")
def complete_task(task_id: int):
    note = text_of(body(), "note")
    if not valid_number(task_id):
        raise ApiError(404, f"no task {task_id}")
    try:
        return jsonify(run(lambda: actions.complete_task(desk(), g.actor, task_id, note)))
    except ApiError as exc:
        if exc.status == 409 and exc.message.startswith("no task"):
            raise ApiError(404, exc.message) from None
        raise


# ------------------------------------------------------------------ webhooks
@bp.get("/webhooks")
def list_webhooks():
    try:
        limit = max(1, min(200, int(request.args.get("limit") or 20)))
    except ValueError:
        raise ApiError(400, "limit: a number", "limit") from None
    return jsonify({"webhooks": run(lambda: webhooks.list_subscriptions(desk(), g.actor)),
                    "deliveries": run(lambda: webhooks.recent_deliveries(desk(), g.actor, limit))})


@bp.post("/webhooks")
def subscribe_webhook():
    data = body()
    name = text_of(data, "name", required=True)
    url = text_of(data, "url", required=True)
    secret_env = text_of(data, "secret_env", required=True)
    events = data.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ApiError(400, "events: a list of event names", "events")
    try:
        made = webhooks.subscribe(desk(), g.actor, name or "", url or "", events, secret_env or "")
    except NotAllowed as exc:
        raise ApiError(403, exc.words("api", "en")) from None
    except Refused as exc:  # what the desk checks: name, url, events, secret_env, taken
        message = str(exc)
        field = next((f for start, f in (("a webhook's name", "name"), ("there is a webhook", "name"),
                                          ("url ", "url"), ("unknown or no events", "events"),
                                          ("secret_env", "secret_env"), ("TICKETBOT_WEBHOOK", "secret_env"))
                      if message.startswith(start)), None)
        raise ApiError(409 if "exists" in message or "already" in message else 400,
                       message, field) from None
    return jsonify(made), 201


@bp.delete("/webhooks/<name>")
def unsubscribe_webhook(name: str):
    if name not in {w["name"] for w in run(lambda: webhooks.list_subscriptions(desk(), g.actor))}:
        raise ApiError(404, f"no webhook subscription named {name!r}")
    run(lambda: webhooks.unsubscribe(desk(), g.actor, name))
    return Response(status=204)
