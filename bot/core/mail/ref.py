"""A mail's reference: the start of its SHA-256, as SMTP's "queued as" and `ticketbot
mail REF` name it (bot/core/mail/prepare.py makes it; the desk looks mails up by it
without loading the parser)."""

MAIL_REF_LENGTH = 12
