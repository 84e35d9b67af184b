"""The ticket list in a real headless Chromium, for each sort: chosen in the form, the
first page in the sort's order, "next" and "previous" by each page's cursor link, the
page's address opened again as a bookmark. Screenshots in var/screenshots/list-*.png."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from sqlalchemy import select

from bot.adapters.web import WebServer, create_app
from bot.store.models import Outbox
from tests.desk.test_board_pages import _expected, _seed
from tests.scenarios.test_browser import browser, shot, wait  # noqa: F401  (the fixture)
from tests.support.servers import free_port


def replaced(element):
    """A wait condition: the page that held `element` has been replaced. Chromium says so
    either as a stale element or, mid-navigation, as a node that no longer belongs to the
    document; any other error is raised."""
    def gone(_driver) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in (exc.msg or ""):
                return True
            raise
        return False
    return gone


def listed(driver) -> list[int]:
    """The ticket numbers the list shows, in order, read in one call (a WebDriver call an
    element took a second a page)."""
    texts = driver.execute_script(
        "return Array.from(document.querySelectorAll('#tickets tbody tr td:first-child'),"
        " td => td.innerText)")
    return [int(re.sub(r"\D", "", text)) for text in texts]


def test_each_sort_pages_by_its_links_in_the_browser(browser, make_desk, settings):  # noqa: F811
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    desk = make_desk(settings=settings.with_(web_url=base))
    tickets = _seed(desk)
    server = WebServer(create_app(desk), "127.0.0.1", port)
    server.start()
    try:
        browser.get(f"{base}/login")
        browser.find_element(By.ID, "email").send_keys("sanne@desk.example")
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait(browser, lambda d: d.find_elements(By.ID, "link-sent"), "the link-sent notice")
        with desk.sessions() as s:  # the mailed link, read from the outbox
            body = s.scalars(select(Outbox.body_text).where(Outbox.purpose == "sign-in")).one()
        browser.get(re.search(rf"{re.escape(base)}/login/\S+", body).group())  # type: ignore[union-attr]
        browser.find_element(By.ID, "confirm").click()
        wait(browser, lambda d: d.find_elements(By.ID, "by-owner"), "the dashboard")
        for sort in ("newest", "oldest", "due", "updated"):
            expected = _expected(tickets, sort)
            browser.get(f"{base}/tickets")
            Select(browser.find_element(By.NAME, "sort")).select_by_value(sort)
            before = browser.find_element(By.ID, "tickets")
            browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
            # the new page has replaced the old one (the URL alone cannot tell for "newest",
            # the default, and reading the old table gave a stale element)
            wait(browser, replaced(before), "the submitted form's page")
            wait(browser, lambda d, s=sort: f"sort={s}" in d.current_url or s == "newest", "the sorted list")
            assert listed(browser) == expected[:50], sort
            shot(browser, f"list-{sort}-1")
            browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
            wait(browser, lambda d: "after=" in d.current_url, "page 2")
            assert listed(browser) == expected[50:100], sort
            assert "2 / 3" in browser.find_element(By.ID, "count").text
            shot(browser, f"list-{sort}-2")
            browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
            shot(browser, f"list-{sort}-2-end")  # the previous and next links
            page_two = browser.current_url
            query = parse_qs(urlsplit(page_two).query)
            assert query["after"][0].startswith(f"{sort}_") and query["page"] == ["2"]
            browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
            wait(browser, lambda d: "page=3" in d.current_url, "page 3")
            assert listed(browser) == expected[100:]
            assert not browser.find_elements(By.CSS_SELECTOR, "a[rel=next]")
            browser.find_element(By.CSS_SELECTOR, "a[rel=prev]").click()
            wait(browser, lambda d: "before=" in d.current_url, "page 2 again")
            assert listed(browser) == expected[50:100]
            browser.get(page_two)  # the bookmark
            assert listed(browser) == expected[50:100]
    finally:
        server.stop()
