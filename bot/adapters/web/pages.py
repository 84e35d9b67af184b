"""The pages and the forms of the web face. Every page reads through a desk view and every
form calls one desk action (bot/desk/actions.py) as the signed-in person: the same door,
and the same permission check, as Slack, mail and the command line."""

from __future__ import annotations

import mimetypes
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for

from bot.adapters.web.texts import translator
from bot.core.time.humanize import when
from bot.desk import actions, board, customer_csv, queries, reports, timesheet
from bot.desk.actions import ACTION_KINDS
from bot.desk.context import Desk
from bot.desk.errors import NotAllowed, Refused

bp = Blueprint("pages", __name__)

# File types a browser would run or render as a page from our origin: always downloaded
# as plain bytes (and every download is `attachment`, nosniff, sandboxed anyway).
ACTIVE_TYPES = re.compile(r"(html|xml|svg|javascript|ecmascript|xhtml|x-sh|pdf\+)", re.IGNORECASE)
MAX_TEXT = 50_000


def desk() -> Desk:
    return current_app.config["DESK"]


def local(value: str | datetime | None) -> str:
    """An ISO time (as the views give it) in the desk's time zone, for people."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return when(moment, desk().tz, language())


def _form_text(name: str, required: bool = False) -> str:
    text = (request.form.get(name) or "").strip()
    if len(text) > MAX_TEXT:
        abort(413, f"{name}: at most {MAX_TEXT} characters")
    if required and not text:  # the field as the page names it, in the reader's language
        raise Refused(f"{name} is empty", code="field-empty",
                      field=translator(language())(FIELD_LABELS.get(name, name)))
    return text


FIELD_LABELS = {"customer": "Customer's mail address", "invoice": "invoice number"}  # texts.py keys


@bp.get("/")
def dashboard():
    data = board.dashboard(desk(), g.actor)
    people = desk().ruleset.people
    return render_template("dashboard.html", d=data, people=people, states=board.SLA_STATES)


@bp.get("/tickets")
def tickets():
    f = board.Filters.from_args(request.args)
    found = board.find_tickets(desk(), g.actor, f)
    rs = desk().ruleset
    return render_template("tickets.html", f=f, found=found, people=rs.people, roles=sorted(rs.roles),
                           kinds=sorted(rs.kinds), states=board.SLA_STATES, sorts=list(board.SORTS))


@bp.route("/tickets/new", methods=["GET", "POST"])
def new_ticket():
    """A request that reached a colleague first (a phone call, a word in the corridor): a
    ticket for the customer, through the same desk action as a forward, `/ticket new` and
    `ticketbot new` (actions.open_on_behalf)."""
    form: dict[str, str] = {"ack": "1"}
    error = None
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in ("customer", "name", "kind", "text", "ack")}
        try:
            opened = actions.open_on_behalf(
                desk(), g.actor, _form_text("customer", True), form["kind"] or None,
                _form_text("text", True), ack=form["ack"] == "1", source="web", name=form["name"])
        except NotAllowed as exc:
            abort(403, said(exc))
        except Refused as exc:
            error = said(exc)
        else:
            return _done(opened["number"], "Ticket opened for the customer.")
    return render_template("new_ticket.html", form=form, error=error,
                           kinds=sorted(desk().ruleset.kinds))


@bp.get("/tickets/<int:number>")
def ticket(number: int):
    d = queries.ticket_detail(desk(), g.actor, number)
    if d is None:
        abort(404, f"There is no ticket {number}.")
    files = board.attachments_of(desk(), g.actor, number)
    card = queries.customer_card(desk(), g.actor, number)
    rs = desk().ruleset
    kind = rs.kinds.get(d["kind"])
    return render_template("ticket.html", t=d, files=files, card=card, people=rs.people,
                           roles=sorted(rs.roles), kinds=sorted(rs.kinds),
                           fields=list(kind.fields) if kind is not None else [],
                           action_kinds=[k for k in ACTION_KINDS if k != "reply"])


@bp.get("/tickets/<int:number>/files/<int:attachment_id>")
def attachment(number: int, attachment_id: int):
    a = board.attachment(desk(), g.actor, number, attachment_id)
    if a is None:
        abort(404, "There is no such file on this ticket.")
    return download(a)


def download(a: dict[str, Any]) -> Response:
    """An attachment as a download, never rendered: a type a browser would run becomes
    octet-stream, the name is quoted, the response sandboxed. (The REST API serves its
    files with this as well.)"""
    ctype = (a["type"] or "").split(";")[0].strip().lower() or "application/octet-stream"
    if ACTIVE_TYPES.search(ctype) or not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", ctype):
        ctype = "application/octet-stream"
    name = a["name"].replace("\r", " ").replace("\n", " ")
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", name) or "attachment"
    guessed = mimetypes.guess_type(ascii_name)[0] or ""
    if ACTIVE_TYPES.search(guessed):  # an .html name: never a page, whatever the type says
        ascii_name += ".txt"
        ctype = "application/octet-stream"
    resp = Response(a["content"], mimetype=ctype)
    resp.headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                           f"filename*=UTF-8''{quote(name)}")
    resp.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return resp


# ------------------------------------------------------------------------ the forms
def _done(number: int, message: str):
    flash(translator(language())(message), "ok")
    return redirect(url_for("pages.ticket", number=number))


def _run(number: int, fn, message: str):
    """Call one desk action; a refusal is shown on the ticket page, never a trace."""
    try:
        result = fn()
    except NotAllowed as exc:
        abort(403, said(exc))
    except Refused as exc:
        flash(said(exc), "error")
        return redirect(url_for("pages.ticket", number=number))
    return _done(number, message.format(result=result))


@bp.post("/tickets/<int:number>/reply")
def reply(number: int):
    try:
        text = _form_text("text", required=True)
    except Refused as exc:
        flash(said(exc), "error")
        return redirect(url_for("pages.ticket", number=number))
    if request.form.get("send") != "1":  # first the preview: the mail exactly as it goes
        preview = board.reply_preview(desk(), g.actor, number, text)
        if preview is None:
            abort(404, f"There is no ticket {number}.")
        return render_template("reply_preview.html", number=number, text=text, p=preview)
    return _run(number, lambda: actions.reply(desk(), g.actor, number, text),
                "Reply queued for the customer.")


@bp.post("/tickets/<int:number>/note")
def note(number: int):
    return _run(number, lambda: actions.add_note(desk(), g.actor, number, _form_text("text", True)),
                "Note added.")


@bp.post("/tickets/<int:number>/action")
def log_action(number: int):
    return _run(number, lambda: actions.log_action(desk(), g.actor, number, request.form.get("how", ""),
                                                   _form_text("note") or None),
                "Action logged.")


@bp.post("/tickets/<int:number>/assign")
def assign(number: int):
    return _run(number, lambda: actions.assign(desk(), g.actor, number, request.form.get("target", ""),
                                               _form_text("reason") or "reassigned on the web"),
                "Assigned to {result}.")


@bp.post("/tickets/<int:number>/take")
def take(number: int):
    return _run(number, lambda: actions.take(desk(), g.actor, number), "The ticket is yours.")


@bp.post("/tickets/<int:number>/resolve")
def resolve(number: int):
    tell = request.form.get("tell_customer", "1") == "1"
    return _run(number, lambda: actions.resolve(desk(), g.actor, number, _form_text("note") or None,
                                                tell_customer=tell),
                "Resolved.")


@bp.post("/tickets/<int:number>/reopen")
def reopen(number: int):
    return _run(number, lambda: actions.reopen(desk(), g.actor, number, _form_text("reason") or None),
                "Reopened.")


@bp.post("/tickets/<int:number>/wait")
def wait(number: int):
    waiting = request.form.get("waiting", "1") == "1"
    return _run(number, lambda: actions.set_waiting(desk(), g.actor, number, waiting),
                "Waiting on the customer." if waiting else "No longer waiting.")


@bp.post("/tickets/<int:number>/kind")
def kind(number: int):
    return _run(number, lambda: actions.set_kind(desk(), g.actor, number, request.form.get("kind", "")),
                "Kind changed.")


@bp.post("/tickets/<int:number>/field")
def set_field(number: int):
    return _run(number, lambda: actions.set_field(desk(), g.actor, number, request.form.get("name", ""),
                                                  _form_text("value")),
                "Field saved.")


@bp.post("/tickets/<int:number>/time")
def log_time(number: int):
    return _run(number, lambda: actions.log_time(desk(), g.actor, number, _form_text("duration", True),
                                                 _form_text("note") or None),
                "Time logged.")


@bp.post("/tickets/<int:number>/hold")
def hold_invoice(number: int):
    release = request.form.get("release") == "1"
    return _run(number, lambda: actions.hold_invoice(desk(), g.actor, number,
                                                     _form_text("invoice", True), release=release),
                "Invoice released." if release else "Invoice on hold.")


def language() -> str:
    """The signed-in person's language (rules.yaml), else the desk's."""
    return desk().ruleset.language_of(g.get("person"))


def said(exc: Refused) -> str:
    """A desk refusal as the web says it (what to do on the page, never a command-line
    flag), in the signed-in person's language: bot/core/refusal_texts.py."""
    return exc.words("web", language())


def template_globals() -> dict[str, Any]:
    rs = desk().ruleset
    lang = language()

    def kind_label(name: str) -> str:
        kind = rs.kinds.get(name)
        return (kind.label.get(lang) or kind.label.get("en") or name) if kind is not None else name

    def people_name(key: str) -> str:
        return rs.people[key].name if key in rs.people else key

    return {"local": local, "tag": lambda n: desk().tag(n), "me": g.get("person"),
            "_": translator(lang), "lang": lang, "kind_label": kind_label, "people_name": people_name}


# ------------------------------------------------------------------------ reports
def _report():
    month = request.args.get("month") or reports.default_month(desk())
    try:
        return reports.monthly(desk(), g.actor, month)
    except NotAllowed as exc:
        abort(403, said(exc))
    except Refused as exc:
        abort(400, said(exc))


@bp.get("/reports")
def report_page():
    r = _report()
    return render_template("reports.html", r=r, charts=reports.CHARTS,
                           time=timesheet.time_report(desk(), g.actor, r["month"]),
                           printable=request.args.get("print") == "1")


@bp.get("/reports/time.csv")
def time_csv():
    """Time logged in the month per person, customer and kind (`ticketbot time-report --csv`)."""
    month = request.args.get("month") or reports.default_month(desk())
    try:
        text = timesheet.to_csv(timesheet.time_report(desk(), g.actor, month))
    except NotAllowed as exc:
        abort(403, said(exc))
    except Refused as exc:
        abort(400, said(exc))
    resp = Response("\ufeff" + text, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="time-{month}.csv"'
    return resp


@bp.get("/reports.csv")
def report_csv():
    r = _report()
    table = request.args.get("table", "sla-owner")
    try:
        text = reports.csv_table(r, table)
    except Refused as exc:
        abort(404, said(exc))
    resp = Response("\ufeff" + text, mimetype="text/csv")  # Excel reads the BOM as UTF-8
    resp.headers["Content-Disposition"] = f'attachment; filename="{table}-{r["month"]}.csv"'
    return resp


@bp.get("/reports/chart/<name>.png")
def report_chart(name: str):
    r = _report()
    try:
        png = reports.chart(r, name, language())
    except Refused as exc:
        abort(404, said(exc))
    return Response(png, mimetype="image/png")


# ------------------------------------------------------------------------ rules check
@bp.route("/rules/check", methods=["GET", "POST"])
def rules_check():
    """`ticketbot route --explain` in the browser: a pasted or uploaded mail, routed by
    the rules in force, nothing stored."""
    out = error = None
    raw_text = ""
    if request.method == "POST":
        upload = request.files.get("file")
        raw = upload.read() if upload is not None and upload.filename else b""
        if not raw:
            raw_text = request.form.get("raw") or ""
            raw = raw_text.replace("\r\n", "\n").encode("utf-8", "surrogateescape")
        if not raw.strip():
            error = "Paste a mail or choose a file first."
        else:
            try:
                out = queries.explain(desk(), g.actor, raw, "web")
            except NotAllowed as exc:
                abort(403, said(exc))
            except Refused as exc:
                error = said(exc)
    return render_template("rules_check.html", out=out, error=error, raw=raw_text)


# ------------------------------------------------------------------------ customers
@bp.get("/customers")
def customers():
    try:
        page = max(1, min(10_000, int(request.args.get("page") or 1)))
    except ValueError:
        page = 1
    words = (request.args.get("q") or "").strip()[:200]
    found = board.customers(desk(), g.actor, words, page)
    return render_template("customers.html", found=found, q=words)


@bp.post("/customers/import")
def customers_import():
    """CSV upload, as `ticketbot import customers|contracts FILE`: the same per-row report."""
    what = request.form.get("what", "")
    if what not in customer_csv.WHAT:
        abort(400, f"import what? one of {', '.join(customer_csv.WHAT)}")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file first.", "error")
        return redirect(url_for("pages.customers"))
    with tempfile.TemporaryDirectory(prefix="ticketbot-import-") as tmp:
        path = Path(tmp) / "upload.csv"
        upload.save(path)
        try:
            report = customer_csv.import_file(desk(), g.actor, what, path)
        except NotAllowed as exc:
            abort(403, said(exc))
    found = board.customers(desk(), g.actor)
    return render_template("customers.html", found=found, q="", report=report.as_dict(), what=what,
                           filename=upload.filename)
