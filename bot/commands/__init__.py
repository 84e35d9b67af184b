"""The `ticketbot` commands, one module per command or small family of commands. Each
module has its own imports at its top and two functions: `add_arguments(parser, command)`
and `handle(settings, args) -> int`. bot/cli.py lists them (name, module, one-line help)
and imports only the module of the command that runs, so `ticketbot show 1` does not pay
for the web face, Slack or IMAP."""


class UserError(Exception):
    """An error for the person at the terminal: printed as one line, exit code 2."""
