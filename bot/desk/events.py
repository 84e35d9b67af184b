"""The ticket's history: every change is an event naming who did it and why. Record
events here: this is also where they become webhooks (bot/desk/webhooks.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.desk import webhooks
from bot.store.models import Event, Ticket


def record(s: Session, ticket: Ticket | None, now: datetime, actor: str, action: str,
           detail: dict[str, Any] | None = None, reason: str | None = None) -> Event:
    event = Event(ticket=ticket, at=now, actor=actor[:200], action=action, detail=detail,
                  reason=reason)
    s.add(event)
    webhooks.enqueue(s, event)  # the webhooks it is, queued in this transaction
    return event
