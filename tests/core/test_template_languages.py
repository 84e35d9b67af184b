"""The mail templates exist in the languages their readers have: customer templates in
nl, en, pl and de, staff templates in exactly nl, en and pl (bot/core/render.py); and
every staff template renders in each staff language with what its caller gives it."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from bot.core.render import CUSTOMER_LANGUAGES, CUSTOMER_TEMPLATES, STAFF_LANGUAGES, Renderer
from bot.core.rules.schema import Person

MAIL = Path(__file__).resolve().parents[2] / "templates" / "mail"


def inventory(directory: Path) -> dict[str, dict[str, set[str]]]:
    """name -> language -> parts (subject, txt, html)."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for f in directory.iterdir():
        if f.name.startswith("_"):
            continue
        name, lang, part = f.name.rsplit(".", 2)
        found[name][lang].add(part)
    return found


def problems(directory: Path) -> list[str]:
    """Every template not in exactly its readers' languages, or with parts missing in one."""
    out = []
    for name, langs in sorted(inventory(directory).items()):
        want = set(CUSTOMER_LANGUAGES if name in CUSTOMER_TEMPLATES else STAFF_LANGUAGES)
        if set(langs) != want:
            out.append(f"{name}: in {', '.join(sorted(langs))}; wanted {', '.join(sorted(want))}")
        parts = set().union(*langs.values())
        for lang, have in sorted(langs.items()):
            if have != parts | ({"txt", "subject"} - have) or not {"txt", "subject"} <= have:
                out.append(f"{name}.{lang}: has {', '.join(sorted(have))}, others have "
                           f"{', '.join(sorted(parts))}")
    return out


def test_every_template_is_in_exactly_its_readers_languages():
    assert problems(MAIL) == []


def test_a_template_in_one_language_only_fails(tmp_path):
    for f in MAIL.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "holds.en.txt").write_text("x")
    (tmp_path / "holds.en.subject").write_text("x")
    (tmp_path / "sign-in.de.txt").write_text("x")  # staff templates have no German
    (tmp_path / "sign-in.de.subject").write_text("x")
    (tmp_path / "report-monthly.pl.html").unlink()  # one part missing in one language
    assert problems(tmp_path) == [
        "holds: in en; wanted en, nl, pl",
        "report-monthly.pl: has subject, txt, others have html, subject, txt",
        "sign-in: in de, en, nl, pl; wanted en, nl, pl"]


PERSON = Person("marta", "Marta Kowalska", "marta@desk.example")
TICKET = {"tag": "[#12]", "ticket": 12, "subject": "Factuur klopt niet", "dossier": "https://desk/t/12",
          "kind": "complaint", "status": "open", "customer": "Bakkerij Jansen",
          "contact_name": "Jan Jansen", "contact_email": "jan@bakkerij-jansen.nl", "phone": "+31 6 1",
          "owner_name": "Sanne Jansen", "owner": "sanne", "text": "De factuur is te hoog."}
HISTORY = [{"at": "23-11 10:00", "direction": "in", "from": "jan@bakkerij-jansen.nl", "text": "Hallo"}]
COMPLAINTS = {"received": 3, "acknowledged": 3, "resolved": 2, "open": 1, "reopened": 0,
              "resolution_median_h": 5, "resolution_p90_h": 9, "by_category": [("invoice", 2)],
              "cancellations": {"received": 1, "retained": 1, "lost": 0, "pending": 0, "lost_reasons": []}}
CONTEXTS = {
    "new-ticket": {**TICKET, "urgent": True, "advisor": "Marta", "due": "24 november 2026 10:00",
                   "expect": "complaint", "attachments": ["factuur.pdf"], "rule": "", "why": "",
                   "attachments_linked": "https://desk/t/12",
                   "is_owner": True},
    "notices-held": {"cap": 30, "tag": "[#12]", "ticket": 12},
    "sla-remind": {**TICKET, "target": "first action", "target_text": "1 business day",
                   "business": True, "due": "x", "overdue": False, "created": "y", "age_days": 1,
                   "age_hours": 2, "history": HISTORY, "policy": "complaint", "role": "owner"},
    "sla-breach": {**TICKET, "target": "resolution", "target_text": "10 days", "business": False,
                   "due": "x", "overdue": True, "created": "y", "age_days": 11, "age_hours": 2,
                   "history": HISTORY, "policy": "complaint", "role": "escalation"},
    "report-open-complaints": {"rows": [{"tag": "[#12]", "age_days": 3, "customer": "B", "subject": "S",
                                         "owner": "sanne", "status": "open", "sla": "ok",
                                         "created": "2026-11-20 10:00", "overdue": True}],
                               "count": 1, "as_of": "ma 30 november 2026 08:00", "columns": [],
                               "subject": "", "table": "TABLE", "overdue": 1},
    "report-monthly": {"month": "2026-10", "c": COMPLAINTS, "subject": "",
                       "sla": {"owner": [{"group": "Sanne", "first_action_met": 1, "first_action_due": 2,
                                          "first_action_met_pct": 50}]}, "link": "https://desk/reports"},
    "contracts-ending": {"rows": [{"company": "B", "reference": "C-1", "ends": "31-12", "days_left": 30,
                                   "renews": True, "term_months": 12, "notice_by": "30-11",
                                   "status": "active"}], "count": 1, "within": 60, "as_of": "1-11"},
    "cancellation-copy": {**TICKET, "due": "x", "contact_phone": "", "contract": "C-100",
                          "received": "1-11", "effective_end": "31-12", "in_time": False,
                          "deadline": "30-11", "reason": "", "access": "slack"},
    "revoke-access": {"tag": "[#12]", "assignee_name": "Wim", "customer": "B", "decided_by": "rob",
                      "reason": "price", "contract": "C-100", "effective_end": "31-12", "due": "x",
                      "task": 4},
    "sign-in": {"minutes": 15, "link": "https://desk/in/abc"},
    "invoice-holds": {"count": 1, "as_of": "1 december 2026 07:00",
                      "rows": [{"invoice": "2026-114", "customer": "B", "contact": "Jan", "tag": "[#12]",
                                "status": "open", "owner": "ruud", "held_since_text": "30 november 2026"}]},
    "digest": {"count": 2, "date": "1 december 2026",
               "items": [{"at": "30 november 2026 10:00", "subject": "[#12] Nieuw", "text": "..."},
                         {"at": "30 november 2026 11:00", "subject": "[#13] Nieuw", "text": "..."}]},
    "staff-refused": {"tag": "[#12]", "command": "#resolve", "reason": "no", "subject": "S"},
}
STAFF = sorted(n for n in inventory(MAIL) if n not in CUSTOMER_TEMPLATES)


def test_every_staff_template_has_a_render_test():
    assert sorted(CONTEXTS) == STAFF


@pytest.mark.parametrize("language", STAFF_LANGUAGES)
@pytest.mark.parametrize("name", STAFF)
def test_staff_template_renders_in_its_language(name, language):
    base = {"person": PERSON, "slack": False, "attached": True}
    mail = Renderer(MAIL.parent, default_language="en").render_mail(name, language,
                                                                     {**base, **CONTEXTS[name]})
    assert mail.language == language
    assert mail.subject and mail.text.strip()
    greeting = {"nl": "Beste", "en": "Dear", "pl": "Dzień dobry"}[language]
    if "person" in (MAIL / f"{name}.en.txt").read_text():
        assert mail.text.startswith(f"{greeting} {PERSON.name},")
    if mail.html is not None:
        assert f'lang="{language}"' in mail.html


@pytest.mark.parametrize("language", CUSTOMER_LANGUAGES)
def test_contract_ending_for_customers_in_every_language(language):
    mail = Renderer(MAIL.parent).render_mail("contract-ending", language, {
        "name": "Jan", "company": "B", "reference": "C-1", "ends": str(date(2026, 12, 31)),
        "notice_by": "30-11", "renewal_end": "31-12-2027", "term_months": 12, "desk": "Sales Support"})
    assert mail.language == language and "C-1" in mail.subject
