"""Webhooks, the pure parts: the events a subscription can ask for, which desk history
events (bot/desk/events.py actions) they come from, and the signature scheme.

Signature (docs/webhooks.md): the receiver gets ``X-Ticketbot-Timestamp: T`` (Unix
seconds) and ``X-Ticketbot-Signature: sha256=HEX`` where HEX is the lowercase hex
HMAC-SHA256, keyed with the subscription's secret (UTF-8), of the bytes
``T + "." + body`` (the request body exactly as sent).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

EVENTS = ("ticket.created", "ticket.assigned", "ticket.replied", "ticket.resolved",
          "ticket.reopened", "sla.reminder_due", "sla.breached", "sla.met",
          "cancellation.outcome", "task.created", "task.done", "invoice.held", "invoice.released")

# desk history action -> the webhook event it is
BY_ACTION = {"created": "ticket.created", "reassigned": "ticket.assigned",
             "replied": "ticket.replied", "message": "ticket.replied",
             "resolved": "ticket.resolved", "reopened": "ticket.reopened",
             "sla-remind": "sla.reminder_due", "sla-breach": "sla.breached", "sla-met": "sla.met",
             "cancellation-retained": "cancellation.outcome",
             "cancellation-lost": "cancellation.outcome", "task-done": "task.done",
             # an invoice kept from collection while its complaint is open (accounting)
             "invoice-hold": "invoice.held", "invoice-released": "invoice.released"}

HEADER_EVENT = "X-Ticketbot-Event"
HEADER_DELIVERY = "X-Ticketbot-Delivery"
HEADER_TIMESTAMP = "X-Ticketbot-Timestamp"
HEADER_SIGNATURE = "X-Ticketbot-Signature"


def events_of(action: str, detail: dict[str, Any] | None) -> list[str]:
    """The webhook events one history event is: most are one or none; a lost
    cancellation that gave someone a task is also task.created."""
    out = [BY_ACTION[action]] if action in BY_ACTION else []
    if action == "cancellation-lost" and isinstance((detail or {}).get("task"), dict):
        out.append("task.created")
    return out


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-Ticketbot-Signature value: "sha256=" + hex HMAC-SHA256(secret, T "." body)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float,
           tolerance: float = 300.0) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)
