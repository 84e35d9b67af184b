"""The customer directory in and out as CSV: each import is one unit of work (all of a
file's rows or, on a database error, none), each export one read."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bot.desk import directory
from bot.desk.actor import Actor, Verb, check
from bot.desk.context import Desk
from bot.desk.directory import ImportReport
from bot.desk.errors import Refused

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


class Invalid(Refused):
    """A record the import rejects: nothing of the request was stored."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


_FIELD_WORDS = (("contact_email", "contact_email"), ("contact_name", "contact_name"),
                ("contact_phone", "contact_phone"), ("website_access", "website_access"),
                ("advisor", "advisor"), ("domain", "domains"), ("company", "company"),
                ("contract", "contract"), ("start", "start"), ("end ", "end"), ("end", "end"),
                ("auto_renew", "auto_renew"), ("term_months", "term_months"),
                ("notice_months", "notice_months"), ("status", "status"))


def _field_of(reason: str) -> str | None:
    return next((name for word, name in _FIELD_WORDS if word in reason), None)


def upsert_records(desk: Desk, actor: Actor, what: str, records: list[dict]) -> ImportReport:
    """Upsert customers or contracts from JSON records with the CSV's columns, with the
    CSV import's validation; all or nothing: a rejected record raises Invalid (its
    field named as ``items[i].column``) and nothing is stored."""
    check(actor, Verb.DIRECTORY)
    with desk.uow.write() as s:
        if what == "customers":
            report = directory.import_customers(s, None, desk.clock(),
                                                known_people=set(desk.ruleset.people), records=records)
        else:
            report = directory.import_contracts(s, None, desk.clock(), records=records)
        if report.rejected:  # rolls the unit of work back
            line, reason = report.rejected[0]
            column = _field_of(reason)
            raise Invalid(f"item {line - 1}: {reason}",
                          f"items[{line - 1}]" + (f".{column}" if column else ""))
        return report
