"""The web face in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
driven by Selenium; nothing is downloaded at test time): a staff member signs in by the
link mailed to them, finds a ticket by a word in its body, opens it, downloads its PDF,
answers with a preview, and resolves it; the reply arrives at a real SMTP sink.

Each page is saved as a screenshot in var/screenshots/ (kept after the run, to be looked
at; the README shows them)."""

from __future__ import annotations

import os
import re
import shutil
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from bot.adapters.smtp_out import SMTPTransport
from bot.adapters.web import WebServer, create_app
from bot.config import MailServerURL
from bot.delivery.outbox import OutboxSender
from bot.desk import intake, queries
from tests.conftest import HANG, OPERATOR, REPO
from tests.support.servers import free_port
from tests.support.sink import Sink

SHOTS = REPO / "var" / "screenshots"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _find(name: str, *candidates: str) -> str:
    found = shutil.which(name) or next((c for c in candidates if Path(c).exists()), None)
    if not found:
        pytest.fail(f"{name} is not installed: `make test` installs Debian's chromium and "
                    "chromium-driver (scripts/install-test-deps.sh)")
    return found


@pytest.fixture
def browser(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = _find("chromium", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--lang=nl-NL"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "safebrowsing.enabled": False})
    # the browser runs on the real clock: under `make test-shifted` it is not given the
    # faketime preload (Chromium does not start under it); the desk's clock is injected
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
    service = Service(executable_path=_find("chromedriver", "/usr/bin/chromedriver"), env=env)
    try:
        driver = webdriver.Chrome(options=options, service=service)
    except WebDriverException as exc:
        pytest.fail(f"Chromium did not start: {exc.msg}")
    driver.set_page_load_timeout(HANG)
    driver.downloads = downloads  # type: ignore[attr-defined]
    yield driver
    driver.quit()


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def wait(driver, condition, what: str):
    return WebDriverWait(driver, HANG).until(condition, message=f"waited for {what}")


def mail_with_pdf() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jan Bakker <jan@bakkerij-jansen.nl>"
    msg["To"] = "support@desk.example"
    msg["Subject"] = "Factuur 2026-114 klopt niet"
    msg["Message-ID"] = "<browser1@bakkerij-jansen.nl>"
    msg["Date"] = "Mon, 23 Nov 2026 09:00:00 +0100"
    msg.set_content("Goedemorgen,\n\nOp factuur 2026-114 staat de advertentie in de Gouden Gids "
                    "twee keer. Zie de bijgevoegde factuur.\n\nMet vriendelijke groet,\nJan Bakker\n")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="factuur-2026-114.pdf")
    return msg.as_bytes()


def test_a_staff_member_works_a_ticket_in_the_browser(browser, make_desk, settings, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    desk = make_desk(settings=settings.with_(web_url=base))
    other = intake.ingest_raw(desk, b"From: Piet <piet@voorbeeld.nl>\r\nTo: support@desk.example\r\n"
                                    b"Subject: Vraag over een banner\r\nMessage-ID: <b0@voorbeeld.nl>\r\n\r\n"
                                    b"Wat kost een banner?\r\n", "t").ticket
    for i, (sender, subject, body) in enumerate([
            ("info@drukkerij-de-vries.nl", "Klacht: advertentie niet geplaatst",
             "Onze advertentie van maart is niet verschenen. Zeer teleurgesteld."),
            ("kasia@kowalski.pl", "Strona internetowa nie działa", "Nie mogę się zalogować do panelu."),
            ("jan@bakkerij-jansen.nl", "Afspraak volgende week", "Kunnen we dinsdag afspreken?")]):
        intake.ingest_raw(desk, f"From: {sender}\r\nTo: support@desk.example\r\nSubject: {subject}\r\n"
                                f"Message-ID: <seed{i}@x.example>\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                f"\r\n{body}\r\n".encode(), "t")
    number = intake.ingest_raw(desk, mail_with_pdf(), "t").ticket
    server = WebServer(create_app(desk), "127.0.0.1", port)
    server.start()
    sink = Sink().start()
    sender = OutboxSender(desk.settings, desk.uow,
                          {"mail": SMTPTransport(MailServerURL.parse("SMTP_URL", sink.url), timeout=10)})
    try:
        # 1. not signed in: the sign-in page; ask for a link
        browser.get(f"{base}/tickets/{number}")
        wait(browser, lambda d: d.find_elements(By.ID, "email"), "the sign-in page")
        shot(browser, "01-sign-in")
        browser.find_element(By.ID, "email").send_keys("sanne@desk.example")
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait(browser, lambda d: d.find_elements(By.ID, "link-sent"), "the link-sent notice")
        shot(browser, "02-link-sent")
        # 2. the link arrives by mail (through the outbox and a real SMTP sink)
        sender.run_once(desk.clock())
        mails = [message_from_bytes(m.data, policy=policy.default) for m in sink.handler.wait_for(1)]
        signin = next(m for m in mails if m["To"] == "sanne@desk.example" and "aanmeldlink" in m["Subject"])
        link = re.search(rf"{re.escape(base)}/login/\S+", signin.get_body(("plain",)).get_content()).group()
        browser.get(link)
        shot(browser, "03-confirm")
        browser.find_element(By.ID, "confirm").click()
        wait(browser, lambda d: d.find_elements(By.ID, "by-owner"), "the dashboard")
        shot(browser, "04-dashboard")
        assert "Sanne Jansen" in browser.page_source
        # 3. find the ticket by a word in its body
        search = browser.find_element(By.CSS_SELECTOR, "header .search input")
        search.send_keys("Gouden Gids\n")
        wait(browser, lambda d: d.find_elements(By.ID, "count"), "the search results")
        shot(browser, "05-search")
        rows = browser.find_elements(By.CSS_SELECTOR, "#tickets tbody tr")
        assert len(rows) == 1 and "Factuur 2026-114 klopt niet" in rows[0].text
        assert "banner" not in browser.find_element(By.ID, "tickets").text.lower()
        rows[0].find_element(By.PARTIAL_LINK_TEXT, "Factuur 2026-114").click()
        wait(browser, lambda d: d.find_elements(By.ID, "customer"), "the ticket page")
        shot(browser, "06-ticket")
        assert "Bakkerij Jansen" in browser.find_element(By.ID, "customer").text
        # 4. download the PDF: a file on disk, byte for byte, never shown as a page
        browser.find_element(By.LINK_TEXT, "factuur-2026-114.pdf").click()
        target = browser.downloads / "factuur-2026-114.pdf"
        wait(browser, lambda d: target.exists() and target.read_bytes() == PDF, "the downloaded PDF")
        assert browser.current_url.endswith(f"/tickets/{number}")
        # 5. reply, with a preview of the mail exactly as it goes
        browser.find_element(By.ID, "reply-text").send_keys(
            "Beste Jan,\n\nU heeft gelijk: wij sturen vandaag een creditnota.")
        browser.find_element(By.ID, "preview").click()
        wait(browser, lambda d: d.find_elements(By.ID, "preview-text"), "the reply preview")
        shot(browser, "07-reply-preview")
        assert browser.find_element(By.ID, "preview-to").text == "jan@bakkerij-jansen.nl"
        assert "wij sturen vandaag een creditnota" in browser.find_element(By.ID, "preview-text").text
        browser.find_element(By.ID, "send").click()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash.ok"), "the sent notice")
        # 6. resolve
        browser.find_element(By.ID, "resolve").click()
        wait(browser, lambda d: d.find_elements(By.ID, "reopen"), "the resolved ticket")
        shot(browser, "08-resolved")
        d = queries.ticket_detail(desk, OPERATOR, number)
        assert d["status"] == "resolved"
        assert {e["actor"] for e in d["events"] if e["action"] in ("reply", "resolved")} == {"sanne"}
        # the reply reaches the customer through the real relay
        sender.run_once(desk.clock())
        got = [message_from_bytes(m.data, policy=policy.default) for m in sink.handler.wait_for(len(mails) + 2)]
        to_jan = [m for m in got if m["To"] == "jan@bakkerij-jansen.nl"]
        assert any("wij sturen vandaag een creditnota" in m.get_body(("plain",)).get_content()
                   for m in to_jan)
        # 7. the list, filtered and bookmarkable
        browser.get(f"{base}/tickets?status=open-all&sort=oldest")
        shot(browser, "09-list")
        assert str(other) in browser.find_element(By.ID, "tickets").text
        # 8. the month's report, with its charts drawn (images the browser decoded)
        browser.get(f"{base}/reports?month=2026-11")
        wait(browser, lambda d: d.find_elements(By.ID, "complaint-summary"), "the report")
        images = browser.find_elements(By.CSS_SELECTOR, ".report img")
        wait(browser, lambda d: all(d.execute_script("return arguments[0].complete && "
                                                     "arguments[0].naturalWidth > 0", i) for i in images),
             "the charts")
        assert len(images) == 2
        shot(browser, "10-report")
        # 9. the rules check: a pasted mail, routed and explained, nothing stored
        browser.get(f"{base}/rules/check")
        browser.find_element(By.ID, "raw").send_keys(
            "From: Jan <jan@bakkerij-jansen.nl>\nSubject: Factuur klopt niet\n\n"
            "Het bedrag op de factuur is te hoog.\n")
        browser.find_element(By.ID, "check").click()
        wait(browser, lambda d: d.find_elements(By.ID, "route"), "the routing")
        shot(browser, "11-rules-check")
        assert "Ruud de Boer" in browser.find_element(By.ID, "route").text
        # 10. customers: a CSV uploaded, its per-row report, the new company listed
        csv_path = tmp_path / "klanten.csv"
        csv_path.write_text("company,domains,advisor,website_access,contact_name,contact_email,contact_phone\n"
                            "Drukkerij De Vries,drukkerij-devries.nl,pieter,no,Els de Vries,"
                            "els@drukkerij-devries.nl,+31 10 555 0199\n", encoding="utf-8")
        browser.get(f"{base}/customers")
        browser.find_element(By.ID, "csv-file").send_keys(str(csv_path))
        browser.find_element(By.ID, "upload").click()
        wait(browser, lambda d: d.find_elements(By.ID, "import-report"), "the import report")
        shot(browser, "12-customers")
        assert "Drukkerij De Vries" in browser.find_element(By.ID, "customers").text
        # 11. a customer who phoned: a ticket in their name, acknowledged
        browser.get(f"{base}/tickets/new")
        form = browser.find_element(By.ID, "new-ticket")
        form.find_element(By.NAME, "customer").send_keys("els@drukkerij-devries.nl")
        form.find_element(By.NAME, "text").send_keys("Belde: wil de proef van de advertentie nog zien.")
        Select(form.find_element(By.NAME, "kind")).select_by_value("call")
        shot(browser, "13-new-ticket")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash.ok"), "the new ticket")
        shot(browser, "14-new-ticket-opened")
        assert "Drukkerij De Vries" in browser.find_element(By.TAG_NAME, "main").text
    finally:
        sink.stop()
        server.stop()
