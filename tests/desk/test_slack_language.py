"""Slack in each person's language (issue 14): rules.yaml `language:` per person, else
the desk's (defaults: language nl). Signed requests into the real Bolt app (slash
commands, thread messages, a button, the message shortcut and its modal, the intake
reaction), the real outbox sender posting to the fake Slack Web API; SQLite and
PostgreSQL. Sanne reads Polish, Henk English, Marta has no `language:` (Dutch, the desk's)."""

from __future__ import annotations

import pytest

from bot.adapters.slack_app import COMMAND_FAILED
from bot.desk import actions, intake
from bot.desk.slack_desk import SlackDesk
from tests.conftest import OPERATOR
from tests.desk.test_on_behalf_slack import shortcut, submit
from tests.desk.test_slack_desk import MARTA, SANNE, STRANGER, TEAM, SlackRig, button, customer_mail
from tests.desk.test_staff_language import rules_with
from tests.support.fakeslack import FakeSlack
from tests.support.slack_requests import message_event, reaction_event

HENK = "U0HENK001"


@pytest.fixture
def rig(make_desk, db_url, tmp_path):
    with FakeSlack() as slack:
        for user, name, real, mail in ((SANNE, "sanne", "Sanne Jansen", "sanne@desk.example"),
                                       (MARTA, "marta", "Marta Kowalska", "marta@desk.example"),
                                       (HENK, "henk", "Henk Mulder", "henk@desk.example"),
                                       (STRANGER, "bob", "Bob Vreemd", "bob@elders.example")):
            slack.add_user(user, name, real, mail)
        yield SlackRig(make_desk, db_url, tmp_path, slack,
                       rules_text=rules_with(sanne="language: pl", henk="language: en"),
                       rules_extra="\nslack:\n  intake_reaction: ':ticket:'\n")


def complaint(rig) -> tuple[int, str]:
    n = intake.ingest_raw(rig.svc, customer_mail("Klacht over de bezorging",
                                                 "De krant kwam weer niet. Ik ben ontevreden.\n",
                                                 "k1@x"), "t").ticket
    rig.send()
    root = rig.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == TEAM)
    return n, root.response["ts"]


def test_slash_command_answers_help_and_refusals_in_each_persons_language(rig):
    n, _ = complaint(rig)
    assert rig.command("help", user=SANNE).startswith("Polecenia `/ticket`:\n• `/ticket 12` lub")
    assert rig.command("help", user=HENK).startswith("`/ticket` commands:\n• `/ticket 12` or")
    assert rig.command("help", user=MARTA).startswith("`/ticket`-opdrachten:\n• `/ticket 12` of")
    # a refusal of the desk, in Slack's words and the reader's language
    assert rig.command(f"reopen {n}", user=SANNE) == (
        f"Nie wykonano: zgłoszenie {n} jest nowe, a nie rozwiązane.")
    assert rig.command(f"reopen {n}", user=HENK) == f"Not done: ticket {n} is new, not resolved."
    assert rig.command(f"reopen {n}", user=MARTA) == f"Niet gedaan: ticket {n} is nieuw, niet opgelost."
    # answers
    assert rig.command(f"take {n}", user=SANNE) == f"[TB-{n}] jest teraz Twoje."
    assert rig.command(f"note {n} dzwoniłam", user=HENK) == f"Note added to [TB-{n}]."
    assert rig.command(f"take {n}", user=MARTA) == f"[TB-{n}] is nu van u."
    assert rig.command("search nic-takiego", user=SANNE) == "Nic nie znaleziono dla „nic-takiego”."
    assert rig.command(f"hold {n}", user=SANNE) == "Która faktura? `/ticket hold 12 2026-114`"
    assert rig.command("wat", user=MARTA).startswith("Welk ticket? Bijvoorbeeld `/ticket wat 12`.")
    shown = rig.command(f"show {n}", user=SANNE)
    assert "complaint · nowe · właściciel marta · klient Bakkerij Jansen" in shown
    assert "umowa: C-100: aktywna, kończy się 2026-12-31; wypowiedzenie do 2026-11-30" in shown
    assert "Otwórz w systemie" in shown and "Open in the desk" not in shown
    # someone who is in nobody's list reads the desk's language
    assert rig.command(f"show {n}", user=STRANGER).startswith("Niet gedaan: u staat niet in rules.yaml")


def test_thread_remarks_and_thread_refusals_in_the_writers_language(rig):
    n, root_ts = complaint(rig)
    for i, user in enumerate((SANNE, HENK)):
        assert rig.post(message_event("time: 15m sprawdzone", f"1800000000.00070{i}", user=user,
                                      channel=TEAM, thread_ts=root_ts)) == 200
    actions.resolve(rig.svc, OPERATOR, n, None)
    # the thread's Resolve button on a resolved ticket: the refusal in the presser's language
    assert button(rig, "ticket_resolve", n, root_ts, SANNE) == 200
    rig.send()
    said = [c.params["text"] for c in rig.slack.calls_to(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == root_ts)]
    assert ":stopwatch: zapisano 15m dla sanne; razem 15m." in said
    assert ":stopwatch: 15m logged for henk; 30m in all." in said
    assert f"<@{SANNE}>: Nie wykonano: zgłoszenie {n} jest już rozwiązane." in said
    assert rig.command(f"hold {n} 2026-114", user=SANNE) == (
        f"Nie wykonano: zgłoszenie {n} jest rozwiązane: wstrzymanie trwa, dopóki zgłoszenie jest "
        f"otwarte; najpierw otwórz je ponownie: `/ticket reopen {n}`.")
    assert rig.command(f"hold {n} 2026-114", user=HENK) == (
        f"Not done: ticket {n} is resolved: a hold lasts while the ticket is open; reopen it first: "
        f"`/ticket reopen {n}`.")


def test_the_shortcuts_modal_and_the_reaction_confirmation_in_the_persons_language(rig):
    message = {"type": "message", "user": SANNE, "ts": "1700000050.000100", "team": "T0FAKE0001",
               "text": "Klient olga@drukkerij-oost.nl dzwonił: brak próbnego wydruku."}
    _, view = shortcut(rig, message, user=SANNE)
    assert view is not None
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Utwórz zgłoszenie dla…", "Utwórz zgłoszenie", "Anuluj")
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["customer"]["label"]["text"] == "Adres e-mail klienta"
    assert blocks["kind"]["element"]["options"][-1]["text"]["text"] == "Rozmowa telefoniczna"
    assert blocks["ack"]["element"]["options"][0]["text"]["text"] == "Wyślij klientowi potwierdzenie"
    status, out = submit(rig, view, "geen adres", "x", user=SANNE)
    assert b"Adres e-mail, np. klient@example.com" in out
    _, english = shortcut(rig, {**message, "ts": "1700000050.000200"}, user=HENK)
    assert english is not None and english["title"]["text"] == "Create ticket for…"
    submit(rig, view, "olga@drukkerij-oost.nl", "Brak próbnego wydruku.", kind="complaint", user=SANNE)
    # the intake reaction on a message that names no customer: told what to do, in Dutch
    rig.slack.add_message(TEAM, "1700000061.000100", MARTA, "Iemand belde over een factuur")
    rig.post(reaction_event("ticket", "1700000061.000100", user=MARTA, channel=TEAM))
    rig.send()
    told = {c.params["user"]: c.params["text"] for c in rig.slack.calls_to("chat.postEphemeral")}
    assert told[SANNE].startswith("[TB-") and " otwarte dla olga@drukkerij-oost.nl (complaint, " \
                                              "właściciel " in told[SANNE]
    assert told[MARTA] == (":no_entry: Niet gedaan: welke klant is het? Gebruik de snelkoppeling "
                           "“Ticket maken voor…” van het bericht om het adres te geven.")


def test_a_command_that_fails_says_so_in_the_persons_language(rig, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(SlackDesk, "_do", boom)
    assert rig.command("take 1", user=SANNE) == ("Niestety, nie udało się. Problem został zapisany; "
                                                  "spróbuj ponownie za chwilę.")
    assert rig.command("take 1", user=HENK) == COMMAND_FAILED
    assert rig.command("take 1", user=STRANGER).startswith("Sorry, dat lukte niet.")
