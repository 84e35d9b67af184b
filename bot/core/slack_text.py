"""What the bot writes in Slack, as text and Block Kit: pure functions of plain values.

Customer text (subjects, names, mail bodies) reaches Slack only through `escape`, the
one place where mrkdwn control characters are neutralised, so a customer cannot ping
the workspace (`<!channel>`), mention people (`<@U…>`) or plant disguised links
(`<http://evil|click>`)."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

from bot.core.domain import Direction

HELP = """`/ticket` commands:
• `/ticket 12` or `/ticket show 12` — the ticket
• `/ticket take 12` — it is yours now
• `/ticket assign 12 marta [reason]` — give it to a person or role
• `/ticket resolve 12 [note for the customer]` · `/ticket reopen 12`
• `/ticket kind 12 complaint` · `/ticket note 12 text`
• `/ticket time 12 15m [note]` — time you spent on it (15m, 1h30, 1.5h, 90); in the
  ticket's thread: `time: 15m [note]`
• `/ticket hold 12 2026-114` · `/ticket release 12 2026-114` — keep an invoice from collection
• `/ticket search words` — by number, customer or text
• `/ticket new customer@example.com [kind] text` — a ticket for the customer (they get the
  acknowledgement; add `#noack` if not) · `/ticket call customer@example.com text` — a phone call"""

MAX_QUOTE = 3000


def escape(text: str) -> str:
    """Outside text as Slack shows it literally: &, < and > as Slack's entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


def summary(*, tag: str, ticket_id: int, label: str, subject: str, urgent: bool,
            customer: str | None, contact_name: str | None, contact_email: str | None,
            owner: str, due: datetime | None, tz: tzinfo,
            link: str | None = None,
            card: dict[str, Any] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The root of a ticket's thread: summary, customer, owner, due time, buttons, and a
    link to the ticket's page on the web face. `owner` is mrkdwn already (a mention or an
    escaped name); `link` is the desk's own URL."""
    when = due.astimezone(tz).strftime("%a %d %b %H:%M") if due else "—"
    flag = ":rotating_light: *URGENT* " if urgent else ""
    text = f"{flag}{tag} {escape(label)}: {escape(subject)}"
    fields = [f"*Customer*\n{escape(customer or '(unknown)')}",
              f"*Contact*\n{escape(contact_name or '')} {escape(contact_email or '')}".strip(),
              f"*Owner*\n{owner}", f"*First action due*\n{when}"]
    if card is not None:
        fields += [f"*{label}*\n{value}" for label, value in card_fields(card)]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        {"type": "actions", "block_id": f"ticket-{ticket_id}", "elements": [
            {"type": "button", "action_id": "ticket_take", "value": str(ticket_id),
             "text": {"type": "plain_text", "text": "Take"}},
            {"type": "button", "action_id": "ticket_resolve", "value": str(ticket_id),
             "style": "primary", "text": {"type": "plain_text", "text": "Resolve"}},
            {"type": "button", "action_id": "ticket_show", "value": str(ticket_id),
             "text": {"type": "plain_text", "text": "Show"}}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            "Reply in this thread to answer the customer by mail; start with `note:` for "
            "an internal note." + (f" <{link}|Open in the desk>" if link else "")}]},
    ]
    return text, blocks


def card_fields(card: dict[str, Any]) -> list[tuple[str, str]]:
    """The customer card (bot/desk/card.py) as (label, mrkdwn) pairs: contract status and
    notice deadline, the customer's other open tickets, invoices on hold."""
    c = card.get("contract")
    if c is None:
        contract = "none on file"
    else:
        contract = f"{escape(c['reference'])}: {c['status']}"
        if c["status"] == "active" and c.get("end"):
            contract += f", ends {c['end']}"
            if c.get("auto_renew") and c.get("notice_deadline"):
                passed = " (passed)" if c.get("deadline_passed") else ""
                contract += f"; notice by {c['notice_deadline']}{passed}"
        elif c.get("ends_on"):
            contract += f", ends {c['ends_on']}"
    others = card.get("open_tickets_count") or 0
    held = card.get("open_holds") or []
    return [("Contract", contract),
            ("Other open tickets", str(others) if others else "none"),
            ("Invoices on hold", ", ".join(escape(h["invoice"]) for h in held) if held else "none")]


def customer_wrote(who: str, text: str) -> str:
    """The customer's mail, quoted into the ticket's thread."""
    body = text.strip()
    if len(body) > MAX_QUOTE:
        body = body[:MAX_QUOTE] + "…"
    return f"*{escape(who)}* wrote:\n>>> {escape(body)}"


def ticket_card(d: dict[str, Any], link: str | None = None,
                card: dict[str, Any] | None = None) -> str:
    """`/ticket show`: a ticket as a few lines (`d` from bot.desk.views.ticket_detail),
    with the customer card (contract, other open tickets, invoices on hold) and `link`
    (the desk's own URL of its page) when given."""
    last = next((m for m in reversed(d["messages"]) if m["direction"] == Direction.IN), None)
    lines = [f"*{d['tag']} {escape(d['subject'] or '')}*",
             f"{d['kind']} · {d['status']} · owner {d['owner']} · customer "
             f"{escape(d['customer'] or '(unknown)')} {escape('<' + (d['contact'] or '') + '>')}"]
    if d["sla"]["first_action_due"]:
        lines.append(f"first action due {d['sla']['first_action_due']}")
    if card is not None:
        lines.append(" · ".join(f"{label.lower()}: {value}" for label, value in card_fields(card)))
    if (d.get("time") or {}).get("total_minutes"):
        lines.append(f"time logged: {d['time']['total']}")
    if last:
        lines.append(f"> {escape((last['text'] or '').strip()[:500])}")
    if link:
        lines.append(f"<{link}|Open in the desk>")
    return "\n".join(lines)


def search_lines(found: list[tuple[str, str, str, str]]) -> str:
    """(tag, status, owner, subject) per ticket found."""
    return "\n".join(f"{tag} {status} · {owner} · {escape(subject)}"
                     for tag, status, owner, subject in found)


def on_behalf_view(callback_id: str, metadata: str, customer: str, text: str,
                   kinds: list[tuple[str, str]]) -> dict[str, Any]:
    """The modal of the message shortcut "Create ticket for…": the customer's address
    (guessed from the message), the kind (or a phone call; empty: the rules decide), the
    request (the message's text) and whether the customer is acknowledged."""
    def option(value: str, label: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": label[:75]}, "value": value}

    customer_input: dict[str, Any] = {"type": "plain_text_input", "action_id": "customer",
                                      "placeholder": {"type": "plain_text",
                                                      "text": "customer@example.com"}}
    if customer:
        customer_input["initial_value"] = customer
    ack = option("ack", "Send the customer the acknowledgement")
    return {
        "type": "modal", "callback_id": callback_id, "private_metadata": metadata[:3000],
        "title": {"type": "plain_text", "text": "Create ticket for…"},
        "submit": {"type": "plain_text", "text": "Create ticket"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "customer", "element": customer_input,
             "label": {"type": "plain_text", "text": "Customer's mail address"}},
            {"type": "input", "block_id": "kind", "optional": True,
             "element": {"type": "static_select", "action_id": "kind",
                         "placeholder": {"type": "plain_text", "text": "as the rules route it"},
                         "options": [option(k, label) for k, label in kinds][:100]},
             "label": {"type": "plain_text", "text": "Kind"}},
            {"type": "input", "block_id": "text",
             "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                         "initial_value": text[:3000]},
             "label": {"type": "plain_text", "text": "What the customer asked"}},
            {"type": "input", "block_id": "ack", "optional": True,
             "element": {"type": "checkboxes", "action_id": "ack", "options": [ack],
                         "initial_options": [ack]},
             "label": {"type": "plain_text", "text": "Acknowledgement"}},
        ]}
