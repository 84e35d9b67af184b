"""ticketbot: customer mail and chat in, owned and chased tickets out."""

__version__ = "0.1.0"
