"""The web face in Polish for a person whose rules.yaml says `language: pl`, in a real
headless Chromium (see tests/scenarios/test_browser.py); screenshots in var/screenshots/."""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By
from sqlalchemy import select

from bot.adapters.web import WebServer, create_app
from bot.desk import intake
from bot.store.models import Outbox
from tests.conftest import RULES
from tests.scenarios.test_browser import browser, mail_with_pdf, shot, wait  # noqa: F401 (fixture)
from tests.support.servers import free_port

SANNE_IN = "  sanne:\n    name: Sanne Jansen\n    email: sanne@desk.example\n"


def test_a_polish_person_works_the_desk_in_polish(browser, make_desk, settings):  # noqa: F811
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rules = RULES.read_text().replace(SANNE_IN, SANNE_IN + "    language: pl\n")
    desk = make_desk(settings=settings.with_(web_url=base), rules_text=rules)
    number = intake.ingest_raw(desk, mail_with_pdf(), "t").ticket
    server = WebServer(create_app(desk), "127.0.0.1", port)
    server.start()
    try:
        browser.get(f"{base}/login")
        wait(browser, lambda d: d.find_elements(By.ID, "email"), "the sign-in page")
        assert "Mail mij een aanmeldlink" in browser.page_source  # nobody known yet: the desk's
        browser.find_element(By.ID, "email").send_keys("sanne@desk.example")
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait(browser, lambda d: d.find_elements(By.ID, "link-sent"), "the link-sent notice")
        with desk.sessions() as s:
            mail = s.scalars(select(Outbox).where(Outbox.purpose == "sign-in")).one()
        assert mail.language == "pl" and mail.subject == "Twój link do logowania w biurze zgłoszeń"
        browser.get(re.search(rf"{re.escape(base)}/login/\S+", mail.body_text).group())
        browser.find_element(By.ID, "confirm").click()
        wait(browser, lambda d: d.find_elements(By.ID, "by-owner"), "the dashboard")
        shot(browser, "pl-01-dashboard")
        page = browser.find_element(By.TAG_NAME, "body").text
        assert "Biuro teraz" in page and "Wyloguj" in page and "The desk now" not in page
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "pl"
        browser.get(f"{base}/tickets/{number}")
        wait(browser, lambda d: d.find_elements(By.ID, "customer"), "the ticket page")
        shot(browser, "pl-02-ticket")
        page = browser.find_element(By.TAG_NAME, "body").text
        assert "Odpowiedz klientowi" in page and "listopada 2026" in page
    finally:
        server.stop()
