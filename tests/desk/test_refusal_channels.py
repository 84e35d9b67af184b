"""A refusal says what its reader can do where they read it (issue 14): the mail answer
to a colleague without system access names mail commands, Slack the `/ticket` command,
the web the button on the page, the REST API the JSON field, and only the command line
names its flags. Through the real entry points: ingest of a colleague's mail, the web
face's forms, the API over HTTP, `ticketbot` itself; SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from bot.adapters.web import create_app
from bot.adapters.web.server import WebServer
from bot.cli import main
from bot.desk import actions, intake
from bot.store.models import Outbox
from tests.adapters.test_api import Api
from tests.adapters.test_web_face import csrf, sign_in
from tests.conftest import OPERATOR, RULES, START
from tests.desk.test_holds_and_time_channels import invoice_complaint, mail

CLI_WORDS = re.compile(r"(?<![\w-])--[a-z]|\bticketbot [a-z]")
CANCELLATION = ("Zeger Zee <zeger@hotelzee.nl>", "Opzegging", "Hierbij zeggen wij ons contract C-200 op.\n")


def outbox(desk, purpose: str) -> list[Outbox]:
    with desk.sessions() as s:
        return [o for o in s.query(Outbox).order_by(Outbox.id) if o.purpose == purpose]


def test_mail_answers_name_only_what_can_be_done_by_mail(desk):
    """Ruud (receivables, `access: email`) asks by mail to hold an invoice on a resolved
    ticket: told in his language (the desk's, Dutch) that a closed ticket is not reopened
    by mail, to ask its owner; no Slack command, no command line."""
    n = invoice_complaint(desk)
    [note] = outbox(desk, "new-ticket")
    assert note.to_addr == "debiteuren@desk.example"
    actions.resolve(desk, OPERATOR, n, None)
    intake.ingest_raw(desk, mail("Ruud de Boer <debiteuren@desk.example>", f"Re: {note.subject}",
                                 "#hold 2026-200\n", "r1@desk", in_reply_to=note.message_id), "t")
    [refused] = outbox(desk, "staff-refused")
    assert refused.language == "nl"
    assert (f"#hold is niet uitgevoerd: ticket {n} is opgelost: een hold duurt zolang het ticket open "
            "is, en een afgesloten ticket wordt niet per mail heropend; vraag het de eigenaar."
            ) in " ".join(refused.body_text.split())
    assert not CLI_WORDS.search(refused.body_text) and "/ticket" not in refused.body_text


def test_a_lost_customer_without_a_reason_in_each_channel(desk, tmp_path):
    n = intake.ingest_raw(desk, mail(*CANCELLATION, "z1@x"), "t").ticket
    [copy] = outbox(desk, "cancellation-copy")
    # by mail: the mail command, with an example
    intake.ingest_raw(desk, mail("pieter@desk.example", f"Re: {copy.subject}", "#lost\n", "p1@desk",
                                 in_reply_to=copy.message_id), "t")
    [refused] = outbox(desk, "staff-refused")
    assert "#lost heeft een reden nodig: #lost te duur" in refused.body_text
    assert not CLI_WORDS.search(refused.body_text)
    # the REST API: the JSON field (its messages stay English, for integrations)
    server = WebServer(create_app(desk), "127.0.0.1", 0)
    server.start()
    try:
        api = Api(None, server, desk)
        status, _, body = api.post(f"/api/v1/tickets/{n}/cancellation", {"outcome": "lost"})
        no_token = api.get("/api/v1/tickets", token=None)
    finally:
        server.stop()
    assert status == 409
    assert body["error"]["message"] == "a lost customer needs a reason: \"reason\" in the request's JSON"
    assert no_token[0] == 401 and not CLI_WORDS.search(no_token[2]["error"]["message"])


def test_the_web_names_the_button_on_its_page(desk):
    n = invoice_complaint(desk)
    actions.resolve(desk, OPERATOR, n, None)
    app = create_app(desk)
    app.config["TESTING"] = True
    with app.test_client() as client:
        sign_in(client, desk)
        token = csrf(client)
        page = client.post(f"/tickets/{n}/hold", data={"csrf": token, "invoice": "2026-200"},
                           follow_redirects=True).get_data(as_text=True)
        assert ("een hold duurt zolang het ticket open is; heropen het eerst (Heropen, op deze pagina)"
                in page)
        page = client.post(f"/tickets/{n}/wait", data={"csrf": token, "waiting": "1"},
                           follow_redirects=True).get_data(as_text=True)
        assert f"ticket {n} is opgelost; heropen het eerst (Heropen, op deze pagina)" in page
        assert ">Heropen<" in page  # the button it names is there
        page = client.post(f"/tickets/{n}/hold", data={"csrf": token, "invoice": " "},
                           follow_redirects=True).get_data(as_text=True)
        assert "factuurnummer is leeg" in page  # the field as the page names it
        assert not CLI_WORDS.search(page)


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    for k, v in {"DATABASE_URL": f"sqlite:///{tmp_path / 't.sqlite3'}",
                 "TICKETBOT_MAIL_DIR": str(tmp_path / "out"),
                 "TICKETBOT_ADDRESS": "support@desk.example", "TICKETBOT_RULES": str(RULES)}.items():
        monkeypatch.setenv(k, v)
    return tmp_path


def test_the_command_line_keeps_its_own_words(cli_env, capsys):
    eml = cli_env / "opzegging.eml"
    eml.write_bytes(mail(*CANCELLATION, "z2@x"))
    assert main(["db", "upgrade"]) == 0
    assert main(["--now", START.isoformat(), "ingest", "--no-ack", str(eml)]) == 0
    capsys.readouterr()
    assert main(["--now", START.isoformat(), "cancellation", "1", "lost"]) == 2
    assert capsys.readouterr().err == "ticketbot: a lost customer needs a reason (--reason)\n"
