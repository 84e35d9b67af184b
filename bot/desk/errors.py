"""What a desk action answers when it cannot be done. The message (`str(exc)`) is the
command line's: one line, no stack trace, on stderr. A refusal a person can meet in
Slack, in a mail answer or on the web also carries a `code` and its `params`, and each of
those channels says it in its own words and the person's language through `words`
(the texts: bot/core/refusal_texts.py); without a code, the message is shown as it is."""

from __future__ import annotations

from bot.core import refusal_texts


class Refused(Exception):
    """An operation a person asked for that cannot be done; the message says why."""

    def __init__(self, message: str = "", *, code: str | None = None, **params: object):
        super().__init__(message)
        self.code = code
        self.params = params

    def words(self, channel: str, language: str | None) -> str:
        """The refusal as `channel` (slack, mail, web, api; cli: the message) says it to a
        person reading `language`, without a closing full stop."""
        return refusal_texts.say(self.code, self.params, str(self), channel, language)


class NotAllowed(Refused):
    """The person may not do this (not in rules.yaml, or an unverified mail)."""
