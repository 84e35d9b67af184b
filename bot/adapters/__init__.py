"""Transports: each turns its protocol into calls on bot.desk.service (and back)."""
