"""The customer portal in a real headless Chromium (set up as tests/scenarios/test_browser.py):
a customer's mail comes in through the real SMTP intake, the acknowledgement arrives at a
real SMTP sink, the customer opens the personal link from that mail, replies with a PDF;
the staff see it in the ticket's Slack thread (the fake Slack Web API) and in the dossier;
the ticket is resolved, the customer says "not solved" and it is open again.

Every portal page is saved at phone width and at desktop width in var/screenshots/
(portal-*.png), to be looked at."""

from __future__ import annotations

import re
import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage

from selenium.webdriver.common.by import By

from bot.adapters.slack_out import ChannelPacer, SlackTransport, make_client
from bot.adapters.smtp_in import IntakeHandler, IntakeServer
from bot.adapters.smtp_out import SMTPTransport
from bot.adapters.web import WebServer, create_app
from bot.config import MailServerURL
from bot.delivery.outbox import OutboxSender
from bot.desk import actions, intake, queries
from bot.desk.pipeline import Pipeline
from tests.conftest import OPERATOR, who
from tests.scenarios.test_browser import PDF, SHOTS, browser, wait  # noqa: F401 - the fixture
from tests.support.fakeslack import FakeSlack, FakeTime
from tests.support.servers import free_port
from tests.support.sink import Sink

TEAM = "C0DESK0001"
PHONE, DESKTOP = (390, 844), (1280, 900)


def shots(driver, name: str) -> None:
    """The page at phone width and at desktop width (the full page height)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in (("phone", PHONE), ("desktop", DESKTOP)):
        driver.set_window_size(width, height)
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, max(height, min(full + 140, 4000)))
        driver.save_screenshot(str(SHOTS / f"portal-{name}-{label}.png"))
    driver.set_window_size(*DESKTOP)


def customer_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jan Jansen <jan@bakkerij-jansen.nl>"
    msg["To"] = "support@desk.example"
    msg["Subject"] = "Advertentie in de Gouden Gids staat er niet in"
    msg["Message-ID"] = "<portal-browser-1@bakkerij-jansen.nl>"
    msg["Date"] = "Mon, 23 Nov 2026 09:00:00 +0100"
    msg.set_content("Goedemorgen,\n\nOnze advertentie staat niet in de nieuwe Gouden Gids, terwijl we "
                    "ervoor betaald hebben. Kunt u dat nakijken?\n\nMet vriendelijke groet,\nJan Jansen\n")
    return msg.as_bytes()


def test_a_customer_follows_answers_and_reopens_in_the_portal(browser, make_desk, settings, tmp_path):  # noqa: F811
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with FakeSlack() as slack:
        slack.add_user("U0SANNE01", "sanne", "Sanne Jansen", "sanne@desk.example")
        chosen = settings.with_(web_url=base, slack_bot_token=slack.bot_token, slack_api_url=slack.url,
                                slack_channel=TEAM)
        desk = make_desk(settings=chosen)
        server = WebServer(create_app(desk), "127.0.0.1", port)
        server.start()
        sink = Sink().start()
        smtp_in = IntakeServer(IntakeHandler(lambda raw, source: intake.spool(desk, raw, source),
                                             frozenset({"desk.example"})), "127.0.0.1", free_port(), max_size=1_000_000)
        smtp_in.start()
        ftime = FakeTime()
        sender = OutboxSender(desk.settings, desk.uow, {
            "mail": SMTPTransport(MailServerURL.parse("SMTP_URL", sink.url), timeout=10),
            "slack": SlackTransport(make_client(slack.bot_token, slack.url, timeout=5),
                                    ChannelPacer(clock=ftime.clock, sleep=ftime.sleep))})
        try:
            # 1. the customer's mail arrives over SMTP and becomes a ticket; the ack goes out
            with smtplib.SMTP("127.0.0.1", smtp_in.port, timeout=10) as c:
                c.sendmail("jan@bakkerij-jansen.nl", ["support@desk.example"], customer_mail())
            [result] = Pipeline(desk, workers=1).process_spool()
            number = result.ticket
            sender.run_once(desk.clock())
            root = slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == TEAM)
            acks = [message_from_bytes(m.data, policy=policy.default) for m in sink.handler.wait_for(1)]
            ack = next(m for m in acks if m["To"] == "jan@bakkerij-jansen.nl")
            text = ack.get_body(("plain",)).get_content()
            link = re.search(rf"{re.escape(base)}/portal/k/\S+", text).group()

            # 2. the start page, for someone without a link
            browser.get(f"{base}/portal/")
            wait(browser, lambda d: d.find_elements(By.ID, "email"), "the portal's start page")
            shots(browser, "01-start")
            browser.find_element(By.ID, "email").send_keys("jan@bakkerij-jansen.nl")
            browser.find_element(By.ID, "ask").click()
            wait(browser, lambda d: d.find_elements(By.ID, "link-sent"), "the link-sent notice")
            shots(browser, "01-link-sent")
            sender.run_once(desk.clock())
            mailed = [message_from_bytes(m.data, policy=policy.default) for m in sink.handler.wait_for(2)]
            again = next(m for m in mailed if m["Subject"] == "Uw persoonlijke link naar uw verzoeken")
            assert link in again.get_body(("plain",)).get_content()  # the same personal link

            # 3. the link from the mail: the customer's requests, in Dutch
            browser.get(link)
            wait(browser, lambda d: d.find_elements(By.ID, "tickets"), "the customer's requests")
            assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
            shots(browser, "02-requests")
            browser.find_element(By.PARTIAL_LINK_TEXT, "Gouden Gids").click()
            wait(browser, lambda d: d.find_elements(By.ID, "conversation"), "the ticket")
            shots(browser, "03-ticket")

            # 4. reply with a PDF
            pdf = tmp_path / "bewijs-betaling.pdf"
            pdf.write_bytes(PDF)
            browser.find_element(By.ID, "reply-text").send_keys("Hierbij het bewijs van betaling.")
            browser.find_element(By.ID, "reply-files").send_keys(str(pdf))
            browser.find_element(By.ID, "send").click()
            wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash.ok"), "the thank-you")
            assert "bewijs-betaling.pdf" in browser.find_element(By.ID, "conversation").text
            shots(browser, "04-replied")

            # 5. the staff see it in the ticket's Slack thread ...
            sender.run_once(desk.clock())
            post = slack.wait_for("chat.postMessage",
                                  where=lambda c: "bewijs van betaling" in str(c.params.get("text")))
            assert post.params["thread_ts"] == root.response["ts"]
            # ... and in the dossier, with the file
            d = queries.ticket_detail(desk, OPERATOR, number)
            last = d["messages"][-1]
            assert last["direction"] == "in" and "bewijs van betaling" in last["text"]
            assert [a["name"] for a in last["attachments"]] == ["bewijs-betaling.pdf"]
            browser.get(f"{base}/login")
            browser.find_element(By.ID, "email").send_keys("sanne@desk.example")
            browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            wait(browser, lambda d: d.find_elements(By.ID, "link-sent"), "the link-sent notice")
            sender.run_once(desk.clock())
            got = [message_from_bytes(m.data, policy=policy.default) for m in sink.handler.wait_for(3)]
            signin = next(m for m in got if m["To"] == "sanne@desk.example")
            staff_link = re.search(rf"{re.escape(base)}/login/\S+",
                                   signin.get_body(("plain",)).get_content()).group()
            browser.get(staff_link)
            browser.find_element(By.ID, "confirm").click()
            wait(browser, lambda d: d.find_elements(By.ID, "by-owner"), "the dashboard")
            browser.get(f"{base}/tickets/{number}")
            wait(browser, lambda d: d.find_elements(By.ID, "customer"), "the dossier")
            assert "Hierbij het bewijs van betaling." in browser.page_source
            assert browser.find_elements(By.LINK_TEXT, "bewijs-betaling.pdf")

            # 6. resolved by the desk; the customer says "not solved": open again
            actions.resolve(desk, who(desk, "sanne"), number, "De advertentie staat er nu in.")
            browser.get(link)
            wait(browser, lambda d: d.find_elements(By.ID, "tickets"), "the customer's requests")
            browser.get(f"{base}/portal/tickets/{number}")
            wait(browser, lambda d: d.find_elements(By.ID, "not-solved"), "the solved question")
            shots(browser, "05-resolved")
            browser.find_element(By.ID, "not-solved").click()
            wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash.ok"), "the reopened notice")
            shots(browser, "06-reopened")
            assert not browser.find_elements(By.ID, "not-solved")
            d = queries.ticket_detail(desk, OPERATOR, number)
            assert d["status"] == "open"
            assert (d["events"][-1]["actor"], d["events"][-1]["action"]) == ("customer:jan@bakkerij-jansen.nl",
                                                                            "reopened")
            sender.run_once(desk.clock())
            # in the desk's language (nl): nobody on the staff caused it
            said = slack.wait_for("chat.postMessage", where=lambda c: "niet opgelost" in str(c.params.get("text")))
            assert said.params["thread_ts"] == root.response["ts"]

            # 7. a new request, and a number that is not theirs
            browser.get(f"{base}/portal/new")
            wait(browser, lambda d: d.find_elements(By.ID, "subject"), "the new-request form")
            shots(browser, "07-new")
            browser.find_element(By.ID, "kind-invoice").click()
            browser.find_element(By.ID, "subject").send_keys("Factuur 2026-114")
            browser.find_element(By.ID, "text").send_keys("Het bedrag op de factuur is te hoog.")
            browser.find_element(By.ID, "file-request").click()
            wait(browser, lambda d: d.find_elements(By.ID, "conversation"), "the new request")
            new_number = int(browser.current_url.rsplit("/", 1)[1])
            assert queries.ticket_detail(desk, OPERATOR, new_number)["owner"] == "ruud"
            browser.get(f"{base}/portal/tickets/{new_number + 1000}")
            shots(browser, "08-not-found")
            assert "Dit verzoek bestaat niet." in browser.page_source
        finally:
            smtp_in.stop()
            sink.stop()
            server.stop()
