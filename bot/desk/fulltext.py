"""Full-text search for the desk's views (the ticket list, `ticketbot search`, Slack's
`/ticket search`): what was typed -> the matching tickets with a relevance score. The
words and stems are bot/core/search_text.py's, the index bot/store/search_index.py's.
The views that use it check the actor first, as for any list."""

from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from bot.core import search_text
from bot.desk.actor import Actor
from bot.desk.context import Desk
from bot.desk.errors import NotAllowed
from bot.store import search_index


def matches(s: Session, words: str) -> Subquery | None:
    """(ticket_id, score) of the tickets with these words (lower score: better); None when
    what was typed holds no word at all (then nothing matches)."""
    q = search_text.parse(words)
    if not q:
        return None
    return search_index.matches(s.get_bind().dialect.name, q)


def reindex(desk: Desk, actor: Actor) -> int:
    """`ticketbot reindex`: the search index rebuilt from every ticket and message (after
    a restore, or a change of stemming). The operator only. Returns the tickets indexed."""
    if not actor.trusted:
        raise NotAllowed("only the operator at the command line rebuilds the search index")
    with desk.uow.write() as s:
        return search_index.reindex(s.connection())
