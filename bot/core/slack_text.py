"""What the bot writes in Slack, as text and Block Kit: pure functions of plain values.

Customer text (subjects, names, mail bodies) reaches Slack only through `escape`, the
one place where mrkdwn control characters are neutralised, so a customer cannot ping
the workspace (`<!channel>`), mention people (`<@U…>`) or plant disguised links
(`<http://evil|click>`)."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

from bot.core import slack_words
from bot.core.domain import Direction
from bot.core.slack_words import say
from bot.core.time.humanize import short_when

MAX_QUOTE = 3000

# the words of a thread's root post, in the desk's language (a channel is shared)
SUMMARY_WORDS = {
    "en": {"urgent": "URGENT", "customer": "Customer", "contact": "Contact", "owner": "Owner",
           "due": "First action due", "unknown": "(unknown)", "take": "Take", "resolve": "Resolve",
           "show": "Show", "open": "Open in the desk",
           "how": "Reply in this thread to answer the customer by mail; start with `{note}` for "
                  "an internal note."},
    "nl": {"urgent": "SPOED", "customer": "Klant", "contact": "Contact", "owner": "Eigenaar",
           "due": "Eerste actie uiterlijk", "unknown": "(onbekend)", "take": "Oppakken",
           "resolve": "Oplossen", "show": "Tonen", "open": "Openen in de desk",
           "how": "Antwoord in deze thread om de klant te mailen; begin met `{note}` voor "
                  "een interne notitie."},
    "pl": {"urgent": "PILNE", "customer": "Klient", "contact": "Kontakt", "owner": "Właściciel",
           "due": "Pierwsze działanie do", "unknown": "(nieznany)", "take": "Przejmij",
           "resolve": "Rozwiąż", "show": "Pokaż", "open": "Otwórz w systemie",
           "how": "Odpowiedz w tym wątku, aby napisać do klienta; zacznij od `{note}`, aby "
                  "dodać notatkę wewnętrzną."},
}


def escape(text: str) -> str:
    """Outside text as Slack shows it literally: &, < and > as Slack's entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def file_name(name: str) -> str:
    """A customer's file name for a Slack upload's filename and title, which Slack shows as
    they are (no entities): <, > and & become look-alikes, so no name can read as a
    mention or a link anywhere Slack or a client does parse it."""
    return name.replace("&", "\uff06").replace("<", "\u2039").replace(">", "\u203a")


def post_payload(text: str, blocks: list[dict[str, Any]] | None = None,
                 thread_of: int | None = None) -> bytes:
    """An outbox payload for chat.postMessage; `thread_of`: into that ticket's thread."""
    payload: dict[str, Any] = {"method": "chat.postMessage", "args": {"text": text}}
    if blocks:
        payload["args"]["blocks"] = blocks
    if thread_of is not None:
        payload["thread_of"] = thread_of
    return json.dumps(payload).encode()


def ephemeral_payload(user: str, text: str, thread_ts: str | None = None) -> bytes:
    """chat.postEphemeral: shown to one person only (a refusal, say)."""
    args: dict[str, Any] = {"user": user, "text": text}
    if thread_ts:
        args["thread_ts"] = thread_ts
    return json.dumps({"method": "chat.postEphemeral", "args": args}).encode()


# Slack truncates a message's text past 40,000 characters; a long notice (the weekly
# report with hundreds of complaints) goes as several messages of at most this many,
# split between lines, a ``` block closed at the end of one part and reopened in the next.
TEXT_LIMIT = 12_000


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` as messages of at most `limit` characters each, cut between lines (a line
    longer than that is cut too), code blocks kept whole in each part."""
    fence = "```"
    parts: list[str] = []
    current: list[str] = []
    size = 0
    in_code = False  # at the end of `current`

    def flush() -> None:
        nonlocal current, size
        if current:
            parts.append("\n".join(current) + ("\n" + fence if in_code else ""))
        current = [fence] if in_code else []
        size = len(fence) + 1 if in_code else 0

    room = limit - 2 * (len(fence) + 1)  # a reopened and a closing fence
    for line in text.split("\n"):
        while len(line) > room:  # a single line too long for a message
            if size:
                flush()
            current.append(line[:room])
            size += room + 1
            line = line[room:]
            flush()
        if size + len(line) + 1 > room and current and current != [fence]:
            flush()
        current.append(line)
        size += len(line) + 1
        if line.strip().startswith(fence) and line.strip().count(fence) % 2 == 1:
            in_code = not in_code
    if current and current != [fence]:
        in_code_end = in_code
        parts.append("\n".join(current) + ("\n" + fence if in_code_end else ""))
    return parts or [""]


def summary(*, tag: str, ticket_id: int, label: str, subject: str, urgent: bool,
            customer: str | None, contact_name: str | None, contact_email: str | None,
            owner: str, due: datetime | None, tz: tzinfo,
            link: str | None = None, card: dict[str, Any] | None = None,
            language: str = "en", note_prefix: str = "note:") -> tuple[str, list[dict[str, Any]]]:
    """The root of a ticket's thread: summary, customer, owner, due time, buttons, and a
    link to the ticket's page on the web face, in `language` (the desk's: the channel is
    shared). `owner` is mrkdwn already (a mention or an escaped name); `link` is the
    desk's own URL."""
    w = SUMMARY_WORDS.get(language, SUMMARY_WORDS["en"])
    when = short_when(due, tz, language) if due else "—"
    flag = f":rotating_light: *{w['urgent']}* " if urgent else ""
    text = f"{flag}{tag} {escape(label)}: {escape(subject)}"
    fields = [f"*{w['customer']}*\n{escape(customer or w['unknown'])}",
              f"*{w['contact']}*\n{escape(contact_name or '')} {escape(contact_email or '')}".strip(),
              f"*{w['owner']}*\n{owner}", f"*{w['due']}*\n{when}"]
    if card is not None:
        fields += [f"*{label}*\n{value}" for label, value in card_fields(card, language)]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        {"type": "actions", "block_id": f"ticket-{ticket_id}", "elements": [
            {"type": "button", "action_id": "ticket_take", "value": str(ticket_id),
             "text": {"type": "plain_text", "text": w["take"]}},
            {"type": "button", "action_id": "ticket_resolve", "value": str(ticket_id),
             "style": "primary", "text": {"type": "plain_text", "text": w["resolve"]}},
            {"type": "button", "action_id": "ticket_show", "value": str(ticket_id),
             "text": {"type": "plain_text", "text": w["show"]}}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            w["how"].format(note=note_prefix) + (f" <{link}|{w['open']}>" if link else "")}]},
    ]
    return text, blocks


# the customer card's words on a thread's root post, in the desk's language
CARD_WORDS = {
    "en": {"contract": "Contract", "other_open": "Other open tickets", "held": "Invoices on hold",
           "none": "none", "none_on_file": "none on file", "ends": "ends", "notice_by": "notice by",
           "passed": "passed", "active": "active", "cancelled": "cancelled", "ended": "ended"},
    "nl": {"contract": "Contract", "other_open": "Andere open tickets", "held": "Facturen on hold",
           "none": "geen", "none_on_file": "niet bekend", "ends": "loopt af", "notice_by": "opzeggen uiterlijk",
           "passed": "verstreken", "active": "actief", "cancelled": "opgezegd", "ended": "afgelopen"},
    "pl": {"contract": "Umowa", "other_open": "Inne otwarte zgłoszenia", "held": "Wstrzymane faktury",
           "none": "brak", "none_on_file": "brak w systemie", "ends": "kończy się", "notice_by": "wypowiedzenie do",
           "passed": "minęło", "active": "aktywna", "cancelled": "wypowiedziana", "ended": "zakończona"},
}


def card_fields(card: dict[str, Any], language: str = "en") -> list[tuple[str, str]]:
    """The customer card (bot/desk/card.py) as (label, mrkdwn) pairs: contract status and
    notice deadline, the customer's other open tickets, invoices on hold; in `language`."""
    w = CARD_WORDS.get(language, CARD_WORDS["en"])
    c = card.get("contract")
    if c is None:
        contract = w["none_on_file"]
    else:
        contract = f"{escape(c['reference'])}: {w.get(str(c['status']), c['status'])}"
        if c["status"] == "active" and c.get("end"):
            contract += f", {w['ends']} {c['end']}"
            if c.get("auto_renew") and c.get("notice_deadline"):
                passed = f" ({w['passed']})" if c.get("deadline_passed") else ""
                contract += f"; {w['notice_by']} {c['notice_deadline']}{passed}"
        elif c.get("ends_on"):
            contract += f", {w['ends']} {c['ends_on']}"
    others = card.get("open_tickets_count") or 0
    held = card.get("open_holds") or []
    return [(w["contract"], contract),
            (w["other_open"], str(others) if others else w["none"]),
            (w["held"], ", ".join(escape(h["invoice"]) for h in held) if held else w["none"])]


WROTE = {"en": "wrote", "nl": "schreef", "pl": "napisał(a)"}


def customer_wrote(who: str, text: str, language: str = "en") -> str:
    """The customer's mail, quoted into the ticket's thread (in the desk's language)."""
    body = text.strip()
    if len(body) > MAX_QUOTE:
        body = body[:MAX_QUOTE] + "…"
    return f"*{escape(who)}* {WROTE.get(language, WROTE['en'])}:\n>>> {escape(body)}"


def ticket_card(d: dict[str, Any], link: str | None = None,
                card: dict[str, Any] | None = None, language: str = "en") -> str:
    """`/ticket show`: a ticket as a few lines (`d` from bot.desk.views.ticket_detail),
    with the customer card (contract, other open tickets, invoices on hold) and `link`
    (the desk's own URL of its page) when given; in `language` (the reader's)."""
    last = next((m for m in reversed(d["messages"]) if m["direction"] == Direction.IN), None)
    customer = (f"{escape(d['customer'] or say(language, 'unknown'))} "
                f"{escape('<' + (d['contact'] or '') + '>')}")
    lines = [f"*{d['tag']} {escape(d['subject'] or '')}*",
             say(language, "card-line", kind=d["kind"], status=slack_words.status(language, d["status"]),
                 owner=d["owner"], customer=customer)]
    if d["sla"]["first_action_due"]:
        lines.append(say(language, "first-action-due", due=d["sla"]["first_action_due"]))
    if card is not None:
        lines.append(" · ".join(f"{label.lower()}: {value}"
                                for label, value in card_fields(card, language)))
    if (d.get("time") or {}).get("total_minutes"):
        lines.append(say(language, "time-total", total=d["time"]["total"]))
    if last:
        lines.append(f"> {escape((last['text'] or '').strip()[:500])}")
    if link:
        lines.append(f"<{link}|{say(language, 'open-in-desk')}>")
    return "\n".join(lines)


def search_lines(found: list[tuple[str, str, str, str]], language: str = "en") -> str:
    """(tag, status, owner, subject) per ticket found."""
    return "\n".join(f"{tag} {slack_words.status(language, status)} · {owner} · {escape(subject)}"
                     for tag, status, owner, subject in found)


def on_behalf_view(callback_id: str, metadata: str, customer: str, text: str,
                   kinds: list[tuple[str, str]], language: str = "en") -> dict[str, Any]:
    """The modal of the message shortcut "Create ticket for…": the customer's address
    (guessed from the message), the kind (or a phone call; empty: the rules decide), the
    request (the message's text) and whether the customer is acknowledged; in `language`
    (the reader's)."""
    def option(value: str, label: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": label[:75]}, "value": value}

    def plain(key: str) -> dict[str, Any]:
        return {"type": "plain_text", "text": say(language, key)}

    customer_input: dict[str, Any] = {"type": "plain_text_input", "action_id": "customer",
                                      "placeholder": {"type": "plain_text",
                                                      "text": "customer@example.com"}}
    if customer:
        customer_input["initial_value"] = customer
    ack = option("ack", say(language, "modal-ack-send"))
    return {
        "type": "modal", "callback_id": callback_id, "private_metadata": metadata[:3000],
        "title": plain("modal-title"), "submit": plain("modal-submit"), "close": plain("modal-close"),
        "blocks": [
            {"type": "input", "block_id": "customer", "element": customer_input,
             "label": plain("modal-customer")},
            {"type": "input", "block_id": "kind", "optional": True,
             "element": {"type": "static_select", "action_id": "kind",
                         "placeholder": plain("modal-kind-rules"),
                         "options": [option(k, label) for k, label in kinds][:100]},
             "label": plain("modal-kind")},
            {"type": "input", "block_id": "text",
             "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                         "initial_value": text[:3000]},
             "label": plain("modal-text")},
            {"type": "input", "block_id": "ack", "optional": True,
             "element": {"type": "checkboxes", "action_id": "ack", "options": [ack],
                         "initial_options": [ack]},
             "label": plain("modal-ack")},
        ]}
