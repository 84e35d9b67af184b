"""Transports: each turns its protocol into calls on bot.service (and back)."""
