"""Adapters: each turns its transport (IMAP, SMTP, Slack, HTTP, the rules file) into calls
on the desk (bot/desk/) and its answers back."""
