"""REST API tokens, one per integration (a CRM, the accounting, a BI tool).

- `create` makes a random token (256 bits, `secrets.token_urlsafe`), keeps only its
  SHA-256 and returns the token once: nobody can read it back, not even the operator.
- `authenticate` finds the integration of a token (constant-time by construction: the
  lookup is by hash, a unique key) and gives it as an `Actor.integration`, so every
  action it takes is recorded as "api:NAME" on the ticket's events.
- `revoke` ends a token at once; the name can then be given a new one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from sqlalchemy import select

from bot.desk.actor import Actor
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.views import iso
from bot.store.models import ApiToken

SCOPES = ("read", "write")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
PREFIX = "tb_"  # recognisable in a config file or a leak scanner


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(desk: Desk, name: str, scope: str) -> str:
    """A new token for the integration ``name``; returned once, stored hashed. A revoked
    name gets a fresh token; a name with a live token is refused."""
    name = name.strip().lower()
    if not NAME.match(name):
        raise Refused(f"{name!r} is not a token name: lower-case letters, digits, '.', '_' "
                      "and '-', up to 100 characters")
    if scope not in SCOPES:
        raise Refused(f"unknown scope {scope!r}; one of {', '.join(SCOPES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    now = desk.clock()
    with desk.uow.write() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.name == name))
        if row is not None and row.revoked_at is None:
            raise Refused(f"{name} has a token already; revoke it first "
                          f"(ticketbot api-token revoke {name})")
        if row is None:
            row = ApiToken(name=name)
            s.add(row)
        row.scope, row.token_hash, row.created_at, row.revoked_at = scope, token_hash(token), now, None
    return token


def revoke(desk: Desk, name: str) -> None:
    with desk.uow.write() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.name == name.strip().lower(),
                                              ApiToken.revoked_at.is_(None)))
        if row is None:
            raise Refused(f"no live API token called {name!r}")
        row.revoked_at = desk.clock()


def list_tokens(desk: Desk) -> list[dict[str, Any]]:
    with desk.uow.read() as s:
        return [{"name": t.name, "scope": t.scope, "created": iso(t.created_at),
                 "revoked": iso(t.revoked_at)}
                for t in s.scalars(select(ApiToken).order_by(ApiToken.name))]


def authenticate(desk: Desk, token: str) -> Actor | None:
    """The integration a live token belongs to, as an actor; None for anything else."""
    if not token or len(token) > 200:
        return None
    with desk.uow.read() as s:
        row = s.execute(select(ApiToken.name, ApiToken.scope).where(
            ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))).first()
    return Actor.integration(row.name, row.scope) if row is not None else None
