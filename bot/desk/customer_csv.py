"""The customer directory in and out as CSV: each import is one unit of work (all of a
file's rows or, on a database error, none), each export one read."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bot.desk import directory
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.directory import ImportReport

WHAT = ("customers", "contracts")


def import_file(desk: Desk, actor: Actor, what: str, path: Path) -> ImportReport:
    """Upsert customers or contracts from a CSV file (idempotent); advisors are checked
    against the people of the rules in force."""
    check(actor, Verb.DIRECTORY)
    with desk.uow.write() as s:
        if what == "customers":
            return directory.import_customers(s, path, desk.clock(),
                                              known_people=set(desk.ruleset.people))
        return directory.import_contracts(s, path, desk.clock())


def export_file(desk: Desk, actor: Actor, what: str, out: TextIO) -> int:
    """Customers or contracts in the import format; returns the number of data rows."""
    check(actor, Verb.VIEW)
    fn = directory.export_customers if what == "customers" else directory.export_contracts
    with desk.uow.read() as s:
        return fn(s, out)
