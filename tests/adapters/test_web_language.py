"""The web face in the signed-in person's language (rules.yaml `language:`), else the
desk's: nl, en and pl, each with every text the pages use (issue 11)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.adapters.web import create_app
from bot.adapters.web.texts import NL, PL, translator
from bot.desk import intake
from tests.adapters.test_web_face import customer_mail, sign_in
from tests.conftest import RULES

WEB = Path(__file__).resolve().parents[2] / "templates" / "web"
SANNE_IN = "  sanne:\n    name: Sanne Jansen\n    email: sanne@desk.example\n"


def used_texts() -> set[str]:
    """Every literal the web templates translate: _("...") and _('...')."""
    found: set[str] = set()
    for f in WEB.glob("*.html"):
        text = f.read_text()
        found.update(re.findall(r'_\("([^"]+)"\)', text) + re.findall(r"_\('([^']+)'\)", text))
    return found


def test_every_text_of_the_pages_is_in_dutch_and_polish():
    used = used_texts()
    assert len(used) > 100
    assert sorted(used - set(NL)) == []
    assert sorted(used - set(PL)) == []
    assert set(NL) == set(PL)
    assert translator("pl")("Sign out") == "Wyloguj" and translator("en")("Sign out") == "Sign out"


@pytest.mark.parametrize("language,expect", [
    (None, ("De balie nu", "Afmelden", "23 november 2026", 'lang="nl"')),  # the desk's
    ("en", ("The desk now", "Sign out", "23 November 2026", 'lang="en"')),
    ("pl", ("Biuro teraz", "Wyloguj", "23 listopada 2026", 'lang="pl"')),
])
def test_the_dashboard_in_the_signed_in_persons_language(make_desk, language, expect):
    rules = RULES.read_text()
    if language:
        rules = rules.replace(SANNE_IN, SANNE_IN + f"    language: {language}\n")
    desk = make_desk(rules_text=rules)
    n = intake.ingest_raw(desk, customer_mail(1, "jan@bakkerij-jansen.nl", "Klacht: krant",
                                              "Ik ben ontevreden, de krant kwam niet."), "t").ticket
    app = create_app(desk)
    app.config["TESTING"] = True
    with app.test_client() as client:
        login = client.get("/login").get_data(as_text=True)
        assert "Mail mij een aanmeldlink" in login  # before sign-in: the desk's language
        sign_in(client, desk)
        page = client.get("/").get_data(as_text=True)
        for text in expect[:2] + expect[3:]:
            assert text in page, text
        dossier = client.get(f"/tickets/{n}").get_data(as_text=True)
        assert expect[2] in dossier  # dates in the person's language
