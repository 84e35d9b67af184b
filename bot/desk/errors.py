"""What a desk action answers when it cannot be done."""


class Refused(Exception):
    """An operation a person asked for that cannot be done; the message says why."""
