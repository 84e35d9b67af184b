"""The customer directory: who is writing (S 1.1), and the CSV import and export of
companies, their contacts and their contracts.

Everything here works inside the caller's transaction: it adds and flushes, it never
commits. Addresses and domains are kept in lower case (IDN domains as punycode).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.core.domain import ContractStatus
from bot.core.mail_domains import is_free_mail, parents
from bot.store.models import Company, CompanyDomain, Contact, Contract

CUSTOMER_COLUMNS = ("company", "domains", "advisor", "website_access",
                    "contact_name", "contact_email", "contact_phone")
# optional: yes marks the contact as the company's portal admin (sees all its tickets)
OPTIONAL_CUSTOMER_COLUMNS = ("portal_admin",)
CONTRACT_COLUMNS = ("contract", "company", "start", "end", "auto_renew", "term_months",
                    "notice_months", "status")
CONTRACT_REQUIRED = ("contract", "company", "start", "end")
CONTRACT_STATUSES = tuple(ContractStatus)

_YES = {"yes", "true", "1", "ja", "tak"}
_NO = {"no", "false", "0", "nee", "nie"}
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_LOCAL = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PHONE_LIKE = re.compile(r"^[+-]?[0-9 ()./-]+$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- names and addresses ----------------------------------------------------------------

def normalize_domain(value: str) -> str | None:
    """Lower case, IDN as punycode, no leading '@' or trailing dot; None if not a domain."""
    d = (value or "").strip().lstrip("@").rstrip(".").lower()
    if not d:
        return None
    if not d.isascii():
        try:
            d = d.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    labels = d.split(".")
    if len(d) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        return None
    if not _TLD.match(labels[-1]):
        return None
    return d


def normalize_email(value: str) -> str | None:
    """The address in lower case, or None when it is not a usable address."""
    v = (value or "").strip()
    if v.startswith("<") and v.endswith(">"):
        v = v[1:-1].strip()
    if v.lower().startswith("mailto:"):
        v = v[7:]
    if v.count("@") != 1:
        return None
    local, _, dom = v.rpartition("@")
    if not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    d = normalize_domain(dom)
    if d is None or dom.strip() != dom or dom.endswith("."):
        return None
    addr = f"{local.lower()}@{d}"
    return addr if len(addr) <= 320 else None


# -- identification ---------------------------------------------------------------------

@dataclass
class Identity:
    email: str
    name: str
    contact_id: int | None
    company_id: int | None
    company_name: str | None
    advisor: str | None
    known_contact: bool  # the address was in the directory before this mail
    known_company: bool  # the company is in the directory as a customer (not a prospect)
    prospect: bool  # an address, but no customer: a prospect company (new or seen before)
    #                 or an unknown one (free mail). known_company and prospect are never
    #                 both true; both are false only for no-address.
    # contact: by the address; domain: a known address without a company, the company by
    # its domain; new-contact-at-known-company; prospect: unknown company (created);
    # free-mail: unknown address at a free-mail service; no-address: none or unusable.
    how: str
    # The ORM objects themselves (ids may still be None when identify ran with
    # flush=False): callers inside the same transaction link to these.
    contact: Contact | None = field(default=None, repr=False, compare=False)
    company: Company | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("contact", "company")}


# The identity of a mail without a usable sender (what identify() answers for one, with
# the address and name given): for routing a text with no directory behind it.
NOBODY = Identity("", "", None, None, None, None, False, False, False, "no-address")


def desk_domains(people_emails: Iterable[str], own: Iterable[str] = ()) -> frozenset[str]:
    """The desk's own mail domains: those of its people (rules.yaml) and the domains it
    receives mail for, free-mail services excepted. Never a customer, never a prospect."""
    found = {e.rsplit("@", 1)[-1].lower() for e in people_emails if e and "@" in e}
    found |= {d.lower() for d in own if d}
    return frozenset(d for d in found if not is_free_mail(d))


def identify(s: Session, email: str, name: str, now: datetime, *,
             create: bool = True, flush: bool = True,
             ours: Collection[str] = ()) -> Identity:
    """Who sent this mail (S 1.1): by the contact's address first, then by the company's
    mail domain (a subdomain matches its parent: a@nl.acme.com is acme.com), never by a
    free-mail domain.

    With ``create`` an unknown contact is recorded: at the known company, or at a new
    prospect company named after the domain (S 3.2), or without a company for free mail
    and for the desk's own domains (``ours``: a colleague is never a prospect).
    Without ``create`` nothing is written and the answer says what would happen.
    New rows are flushed (not committed) so their ids are in the answer; a second call
    for the same address in the same session finds the contact made by the first. With
    ``flush=False`` (the batch intake) nothing is flushed: new rows are only staged and the
    answer's ``contact``/``company`` objects carry them, their ids still None.
    """
    name = " ".join((name or "").split())[:200]
    addr = normalize_email(email)
    if addr is None:
        return Identity((email or "").strip(), name, None, None, None, None,
                        False, False, False, "no-address")
    domain = addr.rsplit("@", 1)[1]
    free = is_free_mail(domain)

    contact = _contact_by_email(s, addr)
    if contact is not None:
        company, how = contact.company, "contact"
        if company is None and not free:  # a contact recorded without a company
            company = _company_by_domain(s, domain)
            if company is not None:
                how = "domain"
                if create:
                    contact.company = company
                    contact.updated_at = now
        if create and name and not contact.name:
            contact.name = name
            contact.updated_at = now
        if create and flush and (contact.id is None or (company is not None and company.id is None)):
            s.flush()
        return _identity(addr, contact.name or name, contact, company, known_contact=True,
                         how=how)

    company, how = None, "free-mail"
    if any(d in ours for d in parents(domain)):
        how = "desk"
    elif not free:
        company = _company_by_domain(s, domain)
        if company is None:
            # Named after this domain but without it registered (e.g. entered by hand).
            company = _company_by_name(s, domain)
            if company is not None and create:
                company.domains.append(CompanyDomain(domain=domain))
                company.updated_at = now
                _remember(s, "domains", domain, company)
        if company is not None:
            how = "new-contact-at-known-company"
        else:
            how = "prospect"

    if not create:
        would_be = company.name if company is not None else (domain if how == "prospect" else None)
        return Identity(addr, name, None, company.id if company is not None else None,
                        would_be, company.advisor if company is not None else None,
                        False, company is not None and not company.prospect,
                        (company is None or company.prospect) and how != "desk", how)

    if how == "prospect":
        company = Company(name=domain[:200], advisor=None, website_access=False, prospect=True,
                          created_at=now, updated_at=now)
        company.domains.append(CompanyDomain(domain=domain))
        s.add(company)
        _remember(s, "domains", domain, company)
        _remember(s, "names", company.name.lower(), company)
    contact = Contact(email=addr, name=name, phone=None, company=company,
                      created_at=now, updated_at=now)
    s.add(contact)
    _remember(s, "contacts", addr, contact)
    if flush:
        s.flush()
    return _identity(addr, name, contact, company, known_contact=False, how=how)


def _identity(addr: str, name: str, contact: Contact, company: Company | None, *,
              known_contact: bool, how: str) -> Identity:
    return Identity(addr, name, contact.id, company.id if company is not None else None,
                    company.name if company is not None else None,
                    company.advisor if company is not None else None,
                    known_contact, company is not None and not company.prospect,
                    (company is None or company.prospect) and how != "desk", how, contact, company)


PREFETCH = "directory_prefetch"


def prefetch(s: Session, emails: Iterable[str]) -> None:
    """Look up a whole batch's senders at once (contacts, company domains, prospect
    names): three queries per batch instead of three per mail. identify() then answers
    these addresses from the session's cache, which it keeps current as it stages rows."""
    addrs = {a for a in (normalize_email(e) for e in emails) if a}
    domains = {d for a in addrs for d in parents(a.rsplit("@", 1)[1])}
    own = {a.rsplit("@", 1)[1] for a in addrs}
    contacts: dict[str, Contact | None] = dict.fromkeys(addrs)
    for c in s.scalars(select(Contact).where(Contact.email.in_(addrs))) if addrs else ():
        contacts[c.email] = c
    by_domain: dict[str, Company | None] = dict.fromkeys(domains)
    if domains:
        for d, company in s.execute(select(CompanyDomain.domain, Company)
                                    .join(Company, CompanyDomain.company)
                                    .where(CompanyDomain.domain.in_(domains))):
            by_domain[d] = company
    names: dict[str, Company | None] = dict.fromkeys(own)
    if own:
        for company in s.scalars(select(Company).where(func.lower(Company.name).in_(own))
                                 .order_by(Company.id.desc())):
            names[company.name.lower()] = company
    s.info[PREFETCH] = {"contacts": contacts, "domains": by_domain, "names": names}


def _remember(s: Session, table: str, key: str, obj) -> None:
    pf = s.info.get(PREFETCH)
    if pf is not None:
        pf[table][key] = obj


def _contact_by_email(s: Session, addr: str) -> Contact | None:
    pf = s.info.get(PREFETCH)
    if pf is not None and addr in pf["contacts"]:
        return pf["contacts"][addr]
    for obj in s.new:  # staged by the caller and not flushed (e.g. under no_autoflush)
        if isinstance(obj, Contact) and (obj.email or "").lower() == addr:
            return obj
    return s.scalars(select(Contact).where(Contact.email == addr).limit(1)).first()


def _company_by_domain(s: Session, domain: str) -> Company | None:
    candidates = parents(domain)
    pf = s.info.get(PREFETCH)
    if pf is not None and all(d in pf["domains"] for d in candidates):
        return next((pf["domains"][d] for d in candidates if pf["domains"][d] is not None), None)
    found: dict[str, Company] = {}
    for d, company in s.execute(select(CompanyDomain.domain, Company)
                                .join(Company, CompanyDomain.company)
                                .where(CompanyDomain.domain.in_(candidates))):
        found[d] = company
    for obj in s.new:
        if isinstance(obj, CompanyDomain) and obj.domain in candidates:
            owner = obj.company
            if owner is None and obj.company_id is not None:
                owner = s.get(Company, obj.company_id)
            if owner is not None:
                found[obj.domain] = owner
    for d in candidates:  # the most specific registered domain wins
        if d in found:
            return found[d]
    return None


def _company_by_name(s: Session, name: str) -> Company | None:
    key = name.lower()
    pf = s.info.get(PREFETCH)
    if pf is not None and key in pf["names"]:
        return pf["names"][key]
    for obj in s.new:
        if isinstance(obj, Company) and (obj.name or "").lower() == key:
            return obj
    return s.scalars(select(Company).where(func.lower(Company.name) == key)
                     .order_by(Company.id).limit(1)).first()


# -- CSV import -------------------------------------------------------------------------

@dataclass
class ImportReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line in the file, why)

    def as_dict(self) -> dict:
        return {"added": self.added, "changed": self.changed, "unchanged": self.unchanged,
                "rejected": [{"line": line, "reason": reason} for line, reason in self.rejected]}

    def _count(self, added: bool, changed: bool) -> None:
        if added:
            self.added += 1
        elif changed:
            self.changed += 1
        else:
            self.unchanged += 1


class _Rejected(Exception):
    pass


def _read_rows(path: Path, required: Sequence[str],
               report: ImportReport) -> list[tuple[int, dict[str, str]]] | None:
    """The data rows as (line number, {column: stripped cell}); None (with one rejection
    at line 1) when the file cannot be read or lacks a required column."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.rejected.append((1, f"not UTF-8 text (byte {exc.start})"))
        return None
    first = text.splitlines()[0] if text else ""
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    if first.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = next(reader, [])
        names = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in header]
        missing = [c for c in required if c not in names]
        if missing:
            report.rejected.append(
                (1, f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"))
            return None
        index: dict[str, int] = {}
        for i, n in enumerate(names):
            index.setdefault(n, i)
        prev = reader.line_num
        for record in reader:
            line, prev = prev + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            rows.append((line, {n: _cell_in(record[i]) if i < len(record) else ""
                                for n, i in index.items()}))
    except csv.Error as exc:
        report.rejected.append((reader.line_num, f"unreadable CSV: {exc}"))
    return rows


def _cell_in(value: str) -> str:
    v = value.strip()
    if len(v) > 1 and v[0] == "'" and v[1] in _FORMULA_START:  # undo _cell_out
        v = v[1:]
    return v


def _cell_out(value: object) -> str:
    """Text for a cell; one a spreadsheet would run as a formula gets a leading quote."""
    v = "" if value is None else str(value)
    if v and v[0] in _FORMULA_START and not _PHONE_LIKE.match(v):
        v = "'" + v
    return v


def _parse_bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    return None


def _check_length(value: str, limit: int, what: str) -> None:
    if len(value) > limit:
        raise _Rejected(f"{what} longer than {limit} characters")


def records_as_rows(records: Sequence[dict], columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """JSON records (the REST API's upserts) as the rows of a CSV file with ``columns``:
    the same cells, so the same validation; "line" n is the n-th record (from 1).
    true/false become yes/no, numbers their digits, null or a missing key an empty cell."""
    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, list):
            return ";".join(str(v) for v in value)
        return _cell_in(str(value))
    return [(i, {c: cell(r.get(c)) for c in columns}) for i, r in enumerate(records, 1)]


def import_customers(s: Session, path: Path | None, now: datetime, *,
                     known_people: set[str] | None = None,
                     records: Sequence[dict] | None = None) -> ImportReport:
    """Upsert companies (by name, case-insensitively) and contacts (by address) from a CSV
    file with the columns of CUSTOMER_COLUMNS; one row per contact, the company columns
    repeated; a row without contact_email only updates the company.

    An empty cell never erases: it keeps what is stored (new companies: no advisor, no
    website access). A non-empty ``domains`` cell (``;``-separated) is the company's
    complete list of domains. A row naming an unknown company whose domains (or whose
    contact) belong to a prospect turns that prospect into this customer. Bad rows are
    rejected as a whole, with their line number; the rest is imported. ``records``
    instead of ``path``: JSON records with the same columns (records_as_rows).
    """
    report = ImportReport()
    rows = (records_as_rows(records or [], CUSTOMER_COLUMNS) if records is not None or path is None
            else _read_rows(path, CUSTOMER_COLUMNS, report))
    if rows is None:
        return report
    s.flush()
    companies = s.scalars(select(Company).options(selectinload(Company.domains))
                          .order_by(Company.id)).all()
    by_name: dict[str, Company] = {}
    owner: dict[str, Company] = {}
    for c in companies:
        by_name.setdefault(c.name.lower(), c)
        for cd in c.domains:
            owner[cd.domain] = c
    contacts = {c.email.lower(): c for c in s.scalars(select(Contact))}
    seen_email: dict[str, int] = {}
    seen_company: dict[str, dict[str, tuple[object, int]]] = {}

    for line, r in rows:
        try:
            name = " ".join(r["company"].split())
            if not name:
                raise _Rejected("missing company name")
            _check_length(name, 200, "company name")
            wa: bool | None = None
            if r["website_access"]:
                wa = _parse_bool(r["website_access"])
                if wa is None:
                    raise _Rejected(f"unknown website_access value {r['website_access']!r} "
                                    "(use yes or no)")
            advisor = r["advisor"] or None
            if advisor is not None:
                _check_length(advisor, 200, "advisor")
                if known_people is not None and advisor not in known_people:
                    raise _Rejected(f"unknown advisor {advisor!r}")
            domains: list[str] | None = None
            if r["domains"]:
                domains = []
                for part in re.split(r"[;,\s]+", r["domains"]):
                    if not part:
                        continue
                    d = normalize_domain(part)
                    if d is None:
                        raise _Rejected(f"invalid domain {part!r}")
                    if is_free_mail(d):
                        raise _Rejected(f"free-mail domain {d!r} cannot identify a company")
                    if d not in domains:
                        domains.append(d)
            email: str | None = None
            if r["contact_email"]:
                email = normalize_email(r["contact_email"])
                if email is None:
                    raise _Rejected(f"invalid contact_email {r['contact_email']!r}")
                if email in seen_email:
                    raise _Rejected(f"contact_email {email!r} already on line {seen_email[email]}")
            cname = " ".join(r["contact_name"].split())
            _check_length(cname, 200, "contact_name")
            phone = r["contact_phone"] or None
            if phone is not None:
                _check_length(phone, 50, "contact_phone")
            portal_admin: bool | None = None
            if r.get("portal_admin"):
                portal_admin = _parse_bool(r["portal_admin"])
                if portal_admin is None:
                    raise _Rejected(f"unknown portal_admin value {r['portal_admin']!r} (use yes or no)")
                if portal_admin and not email:
                    raise _Rejected("portal_admin needs a contact_email")

            key = name.lower()
            given = {"advisor": advisor, "website_access": wa,
                     "domains": frozenset(domains) if domains is not None else None}
            earlier = seen_company.get(key, {})
            for col, value in given.items():
                if value is not None and col in earlier and earlier[col][0] != value:
                    raise _Rejected(f"{col} differs from line {earlier[col][1]} "
                                    f"for the same company")

            company = by_name.get(key)
            contact = contacts.get(email) if email else None
            adopt: Company | None = None
            if company is None:
                owners = {id(o): o for d in domains or () if (o := owner.get(d)) is not None}
                if len(owners) == 1:
                    only = next(iter(owners.values()))
                    adopt = only if only.prospect else None
                elif not owners and contact is not None and contact.company is not None \
                        and contact.company.prospect:
                    adopt = contact.company
            target = company or adopt
            for d in domains or ():
                o = owner.get(d)
                if o is not None and o is not target:
                    raise _Rejected(f"domain {d!r} belongs to another company: {o.name!r}")
        except _Rejected as exc:
            report.rejected.append((line, str(exc)))
            continue

        added = changed = False
        if target is None:
            target = Company(name=name, advisor=advisor, website_access=bool(wa),
                             prospect=False, created_at=now, updated_at=now)
            s.add(target)
            by_name[key] = target
            added = True
        else:
            if adopt is not None:
                by_name.pop(adopt.name.lower(), None)
                by_name[key] = adopt
                if adopt.name != name:
                    adopt.name = name
                    changed = True
            if target.prospect:
                target.prospect = False
                changed = True
            if advisor is not None and target.advisor != advisor:
                target.advisor = advisor
                changed = True
            if wa is not None and target.website_access != wa:
                target.website_access = wa
                changed = True
        if domains is not None:
            current = {cd.domain: cd for cd in target.domains}
            removed = [cd for d, cd in current.items() if d not in domains]
            for cd in removed:
                target.domains.remove(cd)
                owner.pop(cd.domain, None)
            if removed:
                s.flush()  # delete before a later row may register the domain again
            for d in domains:
                if d not in current:
                    target.domains.append(CompanyDomain(domain=d))
                    owner[d] = target
                    changed = True
            changed = changed or bool(removed)
        if changed and not added:
            target.updated_at = now

        if email is not None:
            if contact is None:
                contact = Contact(email=email, name=cname, phone=phone, company=target,
                                  portal_admin=bool(portal_admin), created_at=now, updated_at=now)
                s.add(contact)
                contacts[email] = contact
                added = True
            else:
                touched = False
                if contact.company is not target:
                    contact.company = target
                    touched = True
                if cname and contact.name != cname:
                    contact.name = cname
                    touched = True
                if phone is not None and contact.phone != phone:
                    contact.phone = phone
                    touched = True
                if portal_admin is not None and bool(contact.portal_admin) != portal_admin:
                    contact.portal_admin = portal_admin
                    touched = True
                if touched:
                    contact.updated_at = now
                    changed = True
            seen_email[email] = line
        for col, value in given.items():
            if value is not None:
                seen_company.setdefault(key, {}).setdefault(col, (value, line))
        report._count(added, changed)
    s.flush()
    return report


def _parse_date(value: str, what: str) -> date | None:
    if not value:
        return None
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise _Rejected(f"invalid {what} date {value!r} (use YYYY-MM-DD)") from None


def _parse_int(value: str, what: str, minimum: int) -> int | None:
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        n = None
    if n is None or n < minimum or n > 1200:
        raise _Rejected(f"invalid {what} {value!r} (a whole number from {minimum})")
    return n


def import_contracts(s: Session, path: Path | None, now: datetime, *,
                     records: Sequence[dict] | None = None) -> ImportReport:
    """Upsert contracts by reference from a CSV file with the columns of CONTRACT_COLUMNS.

    ``start``/``end`` are YYYY-MM-DD; an empty ``end`` is an open-ended contract. Empty
    (or absent) auto_renew, term_months, notice_months and status keep the stored value;
    a new contract gets yes, 12, 1 and active. ``records`` instead of ``path``: JSON
    records with the same columns (records_as_rows).
    """
    report = ImportReport()
    rows = (records_as_rows(records or [], CONTRACT_COLUMNS) if records is not None or path is None
            else _read_rows(path, CONTRACT_REQUIRED, report))
    if rows is None:
        return report
    s.flush()
    by_name: dict[str, Company] = {}
    for c in s.scalars(select(Company).order_by(Company.id)):
        by_name.setdefault(c.name.lower(), c)
    contracts = {c.reference: c for c in s.scalars(select(Contract))}
    seen: dict[str, int] = {}

    for line, r in rows:
        try:
            ref = r["contract"]
            if not ref:
                raise _Rejected("missing contract reference")
            _check_length(ref, 100, "contract reference")
            if ref in seen:
                raise _Rejected(f"contract {ref!r} already on line {seen[ref]}")
            cname = " ".join(r["company"].split())
            if not cname:
                raise _Rejected("missing company name")
            company = by_name.get(cname.lower())
            if company is None:
                raise _Rejected(f"unknown company {cname!r}")
            start = _parse_date(r["start"], "start")
            end = _parse_date(r["end"], "end")
            if start is not None and end is not None and end < start:
                raise _Rejected(f"end {end.isoformat()} is before start {start.isoformat()}")
            auto_renew: bool | None = None
            if r.get("auto_renew"):
                auto_renew = _parse_bool(r["auto_renew"])
                if auto_renew is None:
                    raise _Rejected(f"unknown auto_renew value {r['auto_renew']!r} "
                                    "(use yes or no)")
            term = _parse_int(r.get("term_months", ""), "term_months", 1)
            notice = _parse_int(r.get("notice_months", ""), "notice_months", 0)
            status = r.get("status", "").lower() or None
            if status is not None and status not in CONTRACT_STATUSES:
                raise _Rejected(f"unknown status {r['status']!r} "
                                f"(use {', '.join(CONTRACT_STATUSES[:-1])} or "
                                f"{CONTRACT_STATUSES[-1]})")
        except _Rejected as exc:
            report.rejected.append((line, str(exc)))
            continue
        seen[ref] = line

        contract = contracts.get(ref)
        if contract is None:
            contract = Contract(reference=ref, company=company, start=start, end=end,
                                auto_renew=True if auto_renew is None else auto_renew,
                                term_months=12 if term is None else term,
                                notice_months=1 if notice is None else notice,
                                status=status or ContractStatus.ACTIVE, created_at=now, updated_at=now)
            s.add(contract)
            contracts[ref] = contract
            report._count(True, False)
            continue
        changed = False
        for attr, value in (("company", company), ("start", start), ("end", end),
                            ("auto_renew", auto_renew), ("term_months", term),
                            ("notice_months", notice), ("status", status)):
            if attr in ("company", "start", "end") or value is not None:
                if getattr(contract, attr) != value:
                    setattr(contract, attr, value)
                    changed = True
        if changed:
            contract.updated_at = now
        report._count(False, changed)
    s.flush()
    return report


# -- CSV export -------------------------------------------------------------------------

def _writer(out: TextIO):
    return csv.writer(out, delimiter=",", lineterminator="\n")


def export_customers(s: Session, out: TextIO) -> int:
    """Write the customers (not prospects) in import_customers' format: one row per
    contact, a company without contacts as one company-only row. Contacts without a
    company (free-mail senders) are not in it. Returns the number of data rows."""
    w = _writer(out)
    w.writerow(CUSTOMER_COLUMNS)
    n = 0
    companies = s.scalars(select(Company).where(Company.prospect.is_(False))
                          .options(selectinload(Company.domains), selectinload(Company.contacts))
                          .order_by(Company.name, Company.id)).all()
    for c in companies:
        head = [c.name, ";".join(sorted(d.domain for d in c.domains)), c.advisor or "",
                "yes" if c.website_access else "no"]
        people: Iterable[Contact | None] = c.contacts or [None]
        for p in people:
            tail = [p.name, p.email, p.phone or ""] if p is not None else ["", "", ""]
            w.writerow([_cell_out(v) for v in head + tail])
            n += 1
    return n


def export_contracts(s: Session, out: TextIO) -> int:
    """Write all contracts in import_contracts' format. Returns the number of data rows."""
    w = _writer(out)
    # ends_on (read-only: set by a lost cancellation) comes last; import ignores it.
    w.writerow((*CONTRACT_COLUMNS, "ends_on"))
    n = 0
    for c in s.scalars(select(Contract).options(selectinload(Contract.company))
                       .order_by(Contract.reference)):
        w.writerow([_cell_out(v) for v in (
            c.reference, c.company.name, c.start.isoformat() if c.start else "",
            c.end.isoformat() if c.end else "", "yes" if c.auto_renew else "no",
            c.term_months, c.notice_months, c.status,
            c.ends_on.isoformat() if c.ends_on else "")])
        n += 1
    return n


# -- contracts --------------------------------------------------------------------------

def find_contract(s: Session, company_id: int, on: date) -> Contract | None:
    """The company's active contract a cancellation received on ``on`` applies to: the
    one whose end is soonest on or after ``on``; else an open-ended one; else the one
    that ended last."""
    active = s.scalars(select(Contract).where(Contract.company_id == company_id,
                                              Contract.status == ContractStatus.ACTIVE)
                       .order_by(Contract.id)).all()
    upcoming = [c for c in active if c.end is not None and c.end >= on]
    if upcoming:
        return min(upcoming, key=lambda c: (c.end, c.id))
    open_ended = [c for c in active if c.end is None]
    if open_ended:
        return max(open_ended, key=lambda c: (c.start or date.min, c.id))
    return max(active, key=lambda c: (c.end, c.id)) if active else None
