"""Signing in to the web face: a one-time link by mail, for the people of rules.yaml.

- `request_link`: whoever asks, the answer is the same (no one learns who works here);
  only an address of a person in rules.yaml gets a mail, through the outbox. The token is
  random (256 bits), kept only as its SHA-256, good for LINK_TTL and for one use.
- `redeem`: the person the token was for, once; an expired, used or unknown token is
  None, and so is a token of someone no longer in rules.yaml.
- `secret_key`: the key that signs session cookies: TICKETBOT_SECRET_KEY, or one made on
  first use and kept in the database, so sessions survive a restart.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from bot.core.rules.schema import Person
from bot.desk import notify
from bot.desk.context import Desk
from bot.desk.sla_state import insert_once
from bot.store.models import LoginToken, Setting

log = logging.getLogger("bot.web")

LINK_TTL = timedelta(minutes=15)
SECRET_SETTING = "web.secret_key"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def person_by_email(desk: Desk, email: str) -> Person | None:
    email = email.strip().lower()
    if not email or len(email) > 320:
        return None
    return next((p for p in desk.ruleset.people.values() if p.email.lower() == email), None)


def request_link(desk: Desk, email: str, next_path: str = "/") -> bool:
    """Mail a sign-in link to ``email`` when it is a person's address; True when one was
    queued (the caller must not tell the visitor which)."""
    person = person_by_email(desk, email)
    if person is None:
        log.info("web: sign-in link asked for an address that is nobody's")
        return False
    now = desk.clock()
    token = secrets.token_urlsafe(32)
    with desk.uow.write() as s:
        s.add(LoginToken(token_hash=_hash(token), person=person.key, created_at=now,
                         expires_at=now + LINK_TTL))
        notify.tell(s, desk, person, now, purpose="sign-in", template="sign-in", by_mail=True,
                    context={"link": f"{desk.settings.public_url}/login/{token}",
                             "minutes": int(LINK_TTL.total_seconds() // 60)})
    log.info("web: sign-in link mailed to %s", person.key)
    return True


def redeem(desk: Desk, token: str) -> Person | None:
    """The person a valid token was made for, marking it used; None otherwise."""
    if not token or len(token) > 100:
        return None
    now = desk.clock()
    with desk.uow.write() as s:
        row = s.scalar(select(LoginToken).where(LoginToken.token_hash == _hash(token)))
        if row is None or row.used_at is not None or row.expires_at <= now:
            return None
        # one use, even when two requests race: only one UPDATE finds it unused
        used = s.execute(update(LoginToken).where(LoginToken.id == row.id,
                                                  LoginToken.used_at.is_(None)).values(used_at=now))
        if cast(CursorResult[Any], used).rowcount != 1:
            return None
        person = desk.ruleset.people.get(row.person)
    if person is not None:
        log.info("web: %s signed in", person.key)
    return person


def secret_key(desk: Desk) -> str:
    if desk.settings.secret_key:
        return desk.settings.secret_key
    with desk.uow.write() as s:
        insert_once(s, Setting.__table__, {"key": SECRET_SETTING, "value": secrets.token_urlsafe(48)})
        row = s.get(Setting, SECRET_SETTING)
        assert row is not None
        return row.value
