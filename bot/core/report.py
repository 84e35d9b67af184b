"""The open-complaints report (procedure 000 S 4.1: sales support sends the sales
manager a weekly list of open complaints with how long each has been open). Pure: rows
in, text out; the desk (bot/desk/queries.py) gathers the rows."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

from bot.core.render import Renderer

FORMATS = ("table", "csv", "html", "json")
ESCALATE_AFTER = timedelta(days=10)  # unresolved complaints go to the sales manager
COLUMNS = [("tag", "Ticket"), ("age_days", "Age (days)"), ("customer", "Customer"),
           ("subject", "Subject"), ("owner", "Owner"), ("status", "Status"), ("sla", "SLA"),
           ("created", "Opened")]
# the column titles people read (table, HTML, Slack), per staff language; CSV and JSON
# keep the keys of COLUMNS (they are read by programs)
TITLES = {
    "en": dict(COLUMNS),
    "nl": {"tag": "Ticket", "age_days": "Leeftijd (dagen)", "customer": "Klant",
           "subject": "Onderwerp", "owner": "Eigenaar", "status": "Status", "sla": "SLA",
           "created": "Geopend"},
    "pl": {"tag": "Zgłoszenie", "age_days": "Wiek (dni)", "customer": "Klient",
           "subject": "Temat", "owner": "Właściciel", "status": "Status", "sla": "SLA",
           "created": "Otwarte"},
}
# the SLA column's phrases (build_rows writes English; `translate_sla` the others)
SLA_PHRASES = {
    "nl": [("first action overdue since", "eerste actie over tijd sinds"),
           ("first action due", "eerste actie uiterlijk"),
           ("no first action yet", "nog geen eerste actie"),
           ("first action done", "eerste actie gedaan"),
           ("resolution overdue since", "oplossing over tijd sinds"),
           ("resolution due", "oplossing uiterlijk"),
           ("open 10+ days: sales manager", "10+ dagen open: salesmanager")],
    "pl": [("first action overdue since", "pierwsze działanie po terminie od"),
           ("first action due", "pierwsze działanie do"),
           ("no first action yet", "brak pierwszego działania"),
           ("first action done", "pierwsze działanie wykonane"),
           ("resolution overdue since", "rozwiązanie po terminie od"),
           ("resolution due", "rozwiązanie do"),
           ("open 10+ days: sales manager", "otwarte 10+ dni: kierownik sprzedaży")],
}


def columns(language: str | None) -> list[tuple[str, str]]:
    """COLUMNS with their titles in `language` (English for one without titles)."""
    titles = TITLES.get(language or "en", TITLES["en"])
    return [(k, titles[k]) for k, _ in COLUMNS]


def translate_sla(rows: list[dict], language: str | None) -> list[dict]:
    """The rows with their SLA column in `language` (copies; the rows stay English)."""
    phrases = SLA_PHRASES.get(language or "en")
    if not phrases:
        return rows
    out = []
    for r in rows:
        sla = r["sla"]
        for en, there in phrases:
            sla = sla.replace(en, there)
        out.append({**r, "sla": sla})
    return out


def sla_state(created: datetime, first_action: datetime | None, action_due: datetime | None,
              now: datetime) -> tuple[str, bool]:
    """A short state for people, and whether it is overdue."""
    parts, overdue = [], False
    if first_action is None:
        if action_due is not None and action_due < now:
            parts.append(f"first action overdue since {action_due:%Y-%m-%d %H:%M} UTC")
            overdue = True
        elif action_due is not None:
            parts.append(f"first action due {action_due:%Y-%m-%d %H:%M} UTC")
        else:
            parts.append("no first action yet")
    else:
        parts.append("first action done")
    if now - created >= ESCALATE_AFTER:
        parts.append("open 10+ days: sales manager")
        overdue = True
    return "; ".join(parts), overdue


def build_rows(tickets: list[dict], now: datetime) -> list[dict]:
    """tickets: dicts with number, tag, subject, customer, contact, owner, status, created
    (datetime), first_action (datetime|None), action_due (datetime|None). Oldest first."""
    rows = []
    for t in sorted(tickets, key=lambda t: (t["created"], t["number"])):
        state, overdue = sla_state(t["created"], t["first_action"], t["action_due"], now)
        if t.get("sla_state") and t["sla_state"] != "none":  # the ticket's SLA policy (bot/core/time/sla_policy.py)
            overdue = t["sla_state"] == "breached"
            parts = [t["sla_state"]]
            for what, due, done in (("first action", t.get("action_due"), t["first_action"]),
                                    ("resolution", t.get("resolution_due"), None)):
                if done is not None and what == "first action":
                    parts.append("first action done")
                elif due is not None:
                    parts.append(f"{what} {'overdue since' if due <= now else 'due'} "
                                 f"{due:%Y-%m-%d %H:%M} UTC")
            state = "; ".join(parts)
        rows.append({"number": t["number"], "tag": t["tag"], "subject": t["subject"],
                     "customer": t["customer"] or t["contact"] or "",
                     "owner": t["owner"], "status": t["status"],
                     "age_days": int((now - t["created"]).total_seconds() // 86400),
                     "sla": state, "overdue": overdue,
                     "created": t["created"].strftime("%Y-%m-%d %H:%M")})
    return rows


def render(rows: list[dict], fmt: str, now: datetime, renderer: Renderer | None = None,
           language: str | None = None) -> str:
    """The report as json, csv, table, or html (which needs the desk's `renderer`);
    table and html with their titles in `language` (English by default)."""
    cols = columns(language)
    if fmt in ("table", "html"):
        rows = translate_sla(rows, language)
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(["number", *(k for k, _ in COLUMNS)])
        for r in rows:
            w.writerow([r["number"], *(_safe_cell(r[k]) for k, _ in COLUMNS)])
        return out.getvalue()
    if fmt == "html":
        if renderer is None:
            raise ValueError("the html format needs the templates (a Renderer)")
        return renderer.render_page("report/open-complaints.html", {
            "rows": rows, "columns": cols, "as_of": now.strftime("%Y-%m-%d %H:%M UTC")})
    if fmt == "table":
        if not rows:
            return "No open complaints.\n"
        widths = {k: min(50, max(len(t), *(len(str(r[k])) for r in rows))) for k, t in cols}
        lines = ["  ".join(t.ljust(widths[k]) for k, t in cols)]
        for r in rows:
            lines.append("  ".join(str(r[k])[:50].ljust(widths[k]) for k, _ in cols).rstrip())
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _safe_cell(value) -> str:
    """Text from customers must not run as a spreadsheet formula when the CSV is opened."""
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s
