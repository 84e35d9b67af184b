"""A customer's attachments reach the people who work by Slack or mail (issue 14): uploaded
into the ticket's thread through Slack's files upload API (the fake Slack at HTTP level:
files.getUploadURLExternal, the upload URL, files.completeUploadExternal) and attached to the
owner's notice mail up to a cap, through the real outbox sender."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from bot.desk import intake
from bot.store.models import Outbox
from tests.conftest import RULES, make_settings, sweep_at
from tests.desk.test_slack_desk import MARTA, SANNE, TEAM, SlackRig, open_complaint
from tests.support.fakeslack import FakeSlack
from tests.support.slack_requests import SECRET, message_event

PDF = b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n1 0 obj\n<</Type/Catalog>>\nendobj\ntrailer\n<</Root 1 0 R>>\n%%EOF\n"


def invoice_mail(mid: str = "inv-1@bakkerij-jansen.nl", pdf: bytes = PDF) -> bytes:
    m = EmailMessage()
    m["From"] = "Jan Jansen <jan@bakkerij-jansen.nl>"
    m["To"] = "support@desk.example"
    m["Subject"] = "Factuur 2026-114 klopt niet"
    m["Message-ID"] = f"<{mid}>"
    m.set_content("De factuur klopt niet, zie bijlage.\n\nJan Jansen\n")
    m.add_attachment(pdf, maintype="application", subtype="pdf", filename="factuur-2026-114.pdf")
    return bytes(m)


class Rig(SlackRig):
    def __init__(self, make_desk, db_url, tmp_path, slack, **settings):
        super().__init__(make_desk, db_url, tmp_path, slack)
        if settings:  # the same desk with other settings (a smaller cap)
            self.settings = make_settings(db_url, tmp_path, slack_bot_token=slack.bot_token,
                                          slack_signing_secret=SECRET, slack_api_url=slack.url,
                                          slack_channel=TEAM, **settings)
            self.svc.settings = self.settings
            self.sender.settings = self.settings

    def notice_to(self, addr: str) -> email.message.EmailMessage:
        [m] = [m for m in self.mails_to(addr) if "[TB-" in m["Subject"]]
        return m


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        fake.add_user(SANNE, "sanne", "Sanne Jansen", "sanne@desk.example")
        fake.add_user(MARTA, "marta", "Marta Kowalska", "marta@desk.example")  # owns complaints
        yield fake


def test_the_customers_pdf_reaches_the_slack_thread_and_the_owners_notice_mail(make_desk, db_url,
                                                                             tmp_path, slack):
    rig = Rig(make_desk, db_url, tmp_path, slack)
    n = intake.ingest_raw(rig.svc, invoice_mail(), "t").ticket
    owner = rig.ticket(n).owner
    person = rig.svc.ruleset.people[owner]
    assert person.access == "email"  # receivables work from their mailbox
    rig.send()  # ack, thread root, notice mail, then the upload into the root's thread
    root = slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == TEAM)
    complete = slack.wait_for("files.completeUploadExternal")
    assert complete.params["channel_id"] == TEAM
    assert complete.params["thread_ts"] == root.response["ts"]
    [up] = slack.uploads
    assert (up["filename"], up["content"]) == ("factuur-2026-114.pdf", PDF)
    start = slack.wait_for("files.getUploadURLExternal")
    assert (start.params["filename"], int(start.params["length"])) == ("factuur-2026-114.pdf", len(PDF))
    notice = rig.notice_to(person.email)
    files = [(p.get_filename(), p.get_content()) for p in notice.iter_attachments()]
    assert files == [("factuur-2026-114.pdf", PDF)]
    assert "factuur-2026-114.pdf" in notice.get_body(("plain",)).get_content()


def test_over_the_cap_the_notice_links_the_dossier_instead(make_desk, db_url, tmp_path, slack):
    rig = Rig(make_desk, db_url, tmp_path, slack, notice_attachments_max=len(PDF) - 1)
    n = intake.ingest_raw(rig.svc, invoice_mail(), "t").ticket
    rig.send()
    owner = rig.svc.ruleset.people[rig.ticket(n).owner]
    notice = rig.notice_to(owner.email)
    assert list(notice.iter_attachments()) == []
    text = notice.get_body(("plain",)).get_content()
    assert rig.svc.dossier_url(n) in text and "factuur-2026-114.pdf" in text


def test_a_failed_upload_is_retried_by_the_outbox(make_desk, db_url, tmp_path, slack):
    rig = Rig(make_desk, db_url, tmp_path, slack)
    n = intake.ingest_raw(rig.svc, invoice_mail(), "t").ticket
    slack.fail("upload", status=500)
    rig.send()  # the upload URL answers 500: a temporary failure
    with rig.svc.sessions() as s:
        [row] = s.scalars(select(Outbox).where(Outbox.ticket_id == n, Outbox.purpose == "slack-file"))
        assert (row.status, row.attempts) == ("queued", 1) and "upload" in row.last_error.lower()
    rig.send(after=timedelta(hours=1))
    assert [u["content"] for u in slack.uploads] == [PDF]


def test_a_customers_later_mail_brings_its_files_into_the_thread(make_desk, db_url, tmp_path, slack):
    rig = Rig(make_desk, db_url, tmp_path, slack)
    n = intake.ingest_raw(rig.svc, invoice_mail(), "t").ticket
    rig.send()
    rig.send()
    m = EmailMessage()
    m["From"] = "jan@bakkerij-jansen.nl"
    m["To"] = "support@desk.example"
    m["Subject"] = f"Re: [TB-{n}] Factuur 2026-114 klopt niet"
    m["Message-ID"] = "<inv-2@bakkerij-jansen.nl>"
    m.set_content("Hier nog de pakbon.\n")
    m.add_attachment(b"pakbon", maintype="application", subtype="pdf", filename="pakbon.pdf")
    assert intake.ingest_raw(rig.svc, bytes(m), "t").status == "appended"
    rig.send()
    assert [u["filename"] for u in slack.uploads] == ["factuur-2026-114.pdf", "pakbon.pdf"]
    assert RULES.exists()


# ------------------------------------------------------------------ staff files to the customer
def with_downloads(rig: Rig) -> Rig:
    """The outbox sender as `ticketbot worker` wires it: Slack files fetched by the Slack
    transport (url_private with the bot token)."""
    rig.sender.fetch_file = rig.sender.transports["slack"].download
    return rig


def test_a_staff_reply_with_a_file_in_slack_mails_the_file_to_the_customer(make_desk, db_url,
                                                                         tmp_path, slack):
    rig = with_downloads(Rig(make_desk, db_url, tmp_path, slack))
    n = intake.ingest_raw(rig.svc, invoice_mail(), "t").ticket
    rig.send()
    root_ts = rig.ticket(n).slack_ts
    credit = b"%PDF-1.4 creditnota 2026-7\n%%EOF\n"
    f = slack.add_file("creditnota-2026-7.pdf", credit, user=SANNE)
    event = message_event("Hierbij de creditnota.", "1700000900.000100", user=SANNE, channel=TEAM,
                          thread_ts=root_ts, files=[f], subtype="file_share")
    assert rig.post(event) == 200
    rig.send(after=timedelta(seconds=61))  # after the undo window
    [mail] = [m for m in rig.mails_to("jan@bakkerij-jansen.nl") if "creditnota" in
              m.get_body(("plain",)).get_content()]
    assert [(p.get_filename(), p.get_content()) for p in mail.iter_attachments()] == [
        ("creditnota-2026-7.pdf", credit)]
    download = slack.wait_for("files-pri")
    assert download.auth == f"Bearer {slack.bot_token}"


def test_files_over_the_cap_stay_in_slack_and_the_thread_says_so(make_desk, db_url, tmp_path, slack):
    rig = with_downloads(Rig(make_desk, db_url, tmp_path, slack, notice_attachments_max=20))
    n = intake.ingest_raw(rig.svc, invoice_mail(), "t").ticket
    rig.send()
    small = slack.add_file("klein.txt", b"0123456789", "text/plain", user=SANNE)
    big = slack.add_file("groot.pdf", b"x" * 50, user=SANNE)
    event = message_event("Twee bestanden.", "1700000901.000100", user=SANNE, channel=TEAM,
                          thread_ts=rig.ticket(n).slack_ts, files=[big, small], subtype="file_share")
    rig.post(event)
    rig.send(after=timedelta(seconds=61))
    [mail] = [m for m in rig.mails_to("jan@bakkerij-jansen.nl") if "Twee bestanden" in
              m.get_body(("plain",)).get_content()]
    assert [p.get_filename() for p in mail.iter_attachments()] == ["klein.txt"]
    said = slack.wait_for("chat.postMessage", where=lambda c: "Niet bij de mail gevoegd" in c.params["text"])
    assert "groot.pdf" in said.params["text"]


# ------------------------------------------------------------------ the weekly report's CSV
def test_the_weekly_report_dm_comes_with_its_csv_uploaded(make_desk, db_url, tmp_path, slack):
    slack.add_user("U0HENK001", "henk", "Henk Mulder", "henk@desk.example")
    rig = Rig(make_desk, db_url, tmp_path, slack)
    n, _ = open_complaint(rig)
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
    sweep_at(rig.svc, monday)
    rig.sender.run_once(monday)
    dm = slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "D0HENK001"
                        and "Openstaande" in c.params["text"])
    complete = slack.wait_for("files.completeUploadExternal")
    assert complete.params["channel_id"] == dm.params["channel"]
    [up] = slack.uploads
    assert up["filename"] == "open-complaints-2026-11-30.csv"
    csv_text = up["content"].decode("utf-8-sig")
    assert f"TB-{n}" in csv_text and csv_text.splitlines()[0].count(",") >= 3
