"""What a desk action answers when it cannot be done. Every channel shows the message
as it is (one line, no stack trace): the CLI on stderr, Slack ephemerally, mail in a
"not done, because" reply, the web and the API as an error."""


class Refused(Exception):
    """An operation a person asked for that cannot be done; the message says why."""


class NotAllowed(Refused):
    """The person may not do this (not in rules.yaml, or an unverified mail)."""
