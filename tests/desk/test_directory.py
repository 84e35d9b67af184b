"""The customer directory: identifying senders, CSV import/export, finding a contract.
Every test runs on SQLite and on the private PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import func, select

from bot.core.mail_domains import FREE_MAIL_DOMAINS
from bot.desk.directory import (
    export_contracts,
    export_customers,
    find_contract,
    identify,
    import_contracts,
    import_customers,
)
from bot.store.models import Company, CompanyDomain, Contact, Contract

HEADER = "company,domains,advisor,website_access,contact_name,contact_email,contact_phone\n"
C_HEADER = "contract,company,start,end,auto_renew,term_months,notice_months,status\n"
PEOPLE = {"anna", "bart"}


def add_company(s, now, name, *domains, advisor=None, prospect=False, contacts=()):
    c = Company(name=name, advisor=advisor, website_access=False, prospect=prospect,
                created_at=now, updated_at=now)
    c.domains = [CompanyDomain(domain=d) for d in domains]
    s.add(c)
    for email, person in contacts:
        s.add(Contact(email=email, name=person, company=c, created_at=now, updated_at=now))
    s.flush()
    return c


def counts(s) -> tuple[int, int, int]:
    return (s.scalar(select(func.count()).select_from(Company)),
            s.scalar(select(func.count()).select_from(CompanyDomain)),
            s.scalar(select(func.count()).select_from(Contact)))


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# -- identify ---------------------------------------------------------------------------

def test_free_mail_list_has_the_required_domains():
    required = {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.nl",
                "live.com", "live.nl", "msn.com", "yahoo.com", "icloud.com", "me.com",
                "aol.com", "gmx.de", "gmx.net", "proton.me", "protonmail.com", "ziggo.nl",
                "kpnmail.nl", "planet.nl", "home.nl", "hetnet.nl", "xs4all.nl", "casema.nl",
                "upcmail.nl", "telfort.nl", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "op.pl",
                "gazeta.pl", "tlen.pl", "poczta.fm", "vp.pl"}
    assert isinstance(FREE_MAIL_DOMAINS, frozenset)
    assert required <= FREE_MAIL_DOMAINS


def test_identify_by_contact_address_ignores_case(service):
    now = service.clock()
    with service.sessions() as s, s.begin():
        acme = add_company(s, now, "Acme BV", "acme.com", advisor="anna",
                           contacts=[("jan@acme.com", "Jan Jansen")])
        jan = s.scalars(select(Contact)).one()
        got = identify(s, "  JAN@Acme.COM ", "J. Jansen", now)
        assert (got.email, got.name, got.contact_id, got.company_id, got.company_name,
                got.advisor, got.known_contact, got.known_company, got.prospect, got.how) == (
            "jan@acme.com", "Jan Jansen", jan.id, acme.id, "Acme BV", "anna",
            True, True, False, "contact")
        assert counts(s) == (1, 1, 1)


def test_unknown_contact_at_known_company_is_added_by_domain_and_subdomain(service):
    now = service.clock()
    with service.sessions() as s, s.begin():
        acme = add_company(s, now, "Acme BV", "acme.com", advisor="anna")
        polska = add_company(s, now, "Acme Polska", "pl.acme.com", advisor="bart")
        got = identify(s, "Piet@acme.com", "Piet Pietersen", now)
        assert (got.how, got.company_id, got.known_contact, got.known_company, got.prospect,
                got.advisor) == ("new-contact-at-known-company", acme.id, False, True, False,
                                 "anna")
        piet = s.get(Contact, got.contact_id)
        assert (piet.email, piet.name, piet.company_id) == ("piet@acme.com", "Piet Pietersen",
                                                            acme.id)
        sub = identify(s, "kees@nl.acme.com", "Kees", now)
        assert (sub.how, sub.company_id) == ("new-contact-at-known-company", acme.id)
        # the most specific registered domain wins
        pl = identify(s, "ola@mail.pl.acme.com", "Ola", now)
        assert (pl.how, pl.company_id, pl.advisor) == ("new-contact-at-known-company",
                                                       polska.id, "bart")
        # a lookalike is not a subdomain
        other = identify(s, "x@notacme.com", "X", now)
        assert other.how == "prospect" and other.company_id not in (acme.id, polska.id)
        assert counts(s) == (3, 3, 4)


def test_free_mail_never_identifies_a_company(service):
    now = service.clock()
    with service.sessions() as s, s.begin():
        # even if someone registered a free-mail domain on a company by hand
        add_company(s, now, "Wrong BV", "gmail.com", "onet.pl")
        got = identify(s, "someone@gmail.com", "Some One", now)
        assert (got.how, got.company_id, got.company_name, got.known_company,
                got.prospect) == ("free-mail", None, None, False, True)
        contact = s.get(Contact, got.contact_id)
        assert (contact.email, contact.company_id) == ("someone@gmail.com", None)
        sub = identify(s, "ktos@poczta.onet.pl", "Ktoś", now)
        assert (sub.how, sub.company_id) == ("free-mail", None)
        assert counts(s) == (1, 2, 2)  # no prospect company made for free mail
        again = identify(s, "SOMEONE@gmail.com", "", now)
        assert (again.how, again.contact_id, again.company_id) == ("contact", got.contact_id,
                                                                   None)


def test_unknown_company_becomes_a_prospect(service):
    now = service.clock()
    with service.sessions() as s, s.begin():
        got = identify(s, "eva@newco.example", "Eva", now)
        assert (got.how, got.known_contact, got.known_company, got.prospect, got.advisor,
                got.company_name) == ("prospect", False, False, True, None, "newco.example")
        company = s.get(Company, got.company_id)
        assert (company.name, company.prospect, [d.domain for d in company.domains]) == (
            "newco.example", True, ["newco.example"])
        assert s.get(Contact, got.contact_id).company_id == company.id
        colleague = identify(s, "tom@newco.example", "Tom", now)
        # a prospect seen before is still a prospect, not a known customer
        assert (colleague.how, colleague.company_id, colleague.known_company,
                colleague.prospect) == ("new-contact-at-known-company", company.id, False, True)
        known = identify(s, "eva@newco.example", "Eva", now)
        assert (known.how, known.known_contact, known.known_company, known.prospect) == (
            "contact", True, False, True)
        assert counts(s) == (1, 1, 2)


def test_known_contact_without_company_is_matched_by_domain(service):
    now = service.clock()
    with service.sessions() as s, s.begin():
        s.add(Contact(email="ann@acme.com", name="", company=None, created_at=now,
                      updated_at=now))
        acme = add_company(s, now, "Acme BV", "acme.com")
        got = identify(s, "ann@acme.com", "Ann", now)
        assert (got.how, got.company_id, got.known_contact, got.known_company, got.name) == (
            "domain", acme.id, True, True, "Ann")
        ann = s.get(Contact, got.contact_id)
        assert (ann.company, ann.name) == (acme, "Ann")


def test_no_usable_address(service):
    now = service.clock()
    with service.sessions() as s, s.begin():
        for value in ("", "not an address", "a@b@c.com", "x@localhost"):
            got = identify(s, value, "Nobody", now)
            assert (got.how, got.contact_id, got.company_id, got.known_company,
                    got.prospect) == ("no-address", None, None, False, False)
        assert counts(s) == (0, 0, 0)


def test_create_false_writes_nothing(service):
    now = service.clock()
    with service.sessions() as s, s.begin():
        acme = add_company(s, now, "Acme BV", "acme.com", advisor="anna")
    with service.sessions() as s, s.begin():
        new = identify(s, "eva@newco.example", "Eva", now, create=False)
        assert (new.how, new.contact_id, new.company_id, new.company_name, new.known_company,
                new.prospect) == ("prospect", None, None, "newco.example", False, True)
        at = identify(s, "piet@acme.com", "Piet", now, create=False)
        assert (at.how, at.contact_id, at.company_id, at.advisor, at.known_contact,
                at.known_company, at.prospect) == (
            "new-contact-at-known-company", None, acme.id, "anna", False, True, False)
        free = identify(s, "x@hotmail.nl", "X", now, create=False)
        assert (free.how, free.contact_id, free.company_id) == ("free-mail", None, None)
        assert not s.new and not s.dirty
    with service.sessions() as s:
        assert counts(s) == (1, 1, 0)


def test_same_new_address_twice_in_one_session_makes_one_contact(service):
    now = service.clock()
    with service.sessions() as s, s.begin():
        first = identify(s, "eva@newco.example", "Eva", now)
        with s.no_autoflush:  # as the intake stages a batch
            second = identify(s, "Eva@NewCo.example", "Eva", now)
        assert second.how == "contact"
        assert (second.contact_id, second.company_id) == (first.contact_id, first.company_id)
        # a contact the caller staged without flushing is found as well
        with s.no_autoflush:
            s.add(Contact(email="pending@gmail.com", name="P", created_at=now, updated_at=now))
            got = identify(s, "pending@gmail.com", "P", now)
            assert got.how == "contact" and got.contact_id is not None
    with service.sessions() as s:
        assert counts(s) == (1, 1, 2)


# -- customers import / export ----------------------------------------------------------

CUSTOMERS = HEADER + (
    "Acme BV,acme.com;acme.nl,anna,yes,Jan Jansen,jan@acme.com,+31 20 1234567\n"  # 2
    "Acme BV,acme.com;acme.nl,anna,yes,Piet,PIET@acme.com,\n"  # 3
    "Beta sp. z o.o.,beta.pl,,no,,,\n"  # 4
    ",x.com,anna,yes,A,a@x.com,\n"  # 5
    "Gamma,gamma.com;gmail.com,anna,yes,G,g@gamma.com,\n"  # 6
    "Delta,acme.com,anna,yes,D,d@delta.com,\n"  # 7
    "Eps,eps.com,carl,yes,E,e@eps.com,\n"  # 8
    "Zeta,zeta.com,anna,maybe,Z,z@zeta.com,\n"  # 9
    "Eta,eta.com,anna,yes,E,not-an-address,\n"  # 10
    '"Theta, Inc.",theta.com,bart,ja,"Multi\nLine",t@theta.com,\n'  # 11-12
    "\n"  # 13: blank, skipped
    "Iota,io..ta,bart,nie,I,i@iota.com,\n"  # 14
    "Acme BV,acme.com;acme.nl,bart,yes,Kees,kees@acme.com,\n"  # 15
    "Beta sp. z o.o.,beta.pl,,no,Ola,jan@acme.com,\n"  # 16
)
REJECTED = [
    (5, "missing company name"),
    (6, "free-mail domain 'gmail.com' cannot identify a company"),
    (7, "domain 'acme.com' belongs to another company: 'Acme BV'"),
    (8, "unknown advisor 'carl'"),
    (9, "unknown website_access value 'maybe' (use yes or no)"),
    (10, "invalid contact_email 'not-an-address'"),
    (14, "invalid domain 'io..ta'"),
    (15, "advisor differs from line 2 for the same company"),
    (16, "contact_email 'jan@acme.com' already on line 2"),
]


def test_import_customers_counts_reasons_and_rows(service, tmp_path):
    now = service.clock()
    path = write(tmp_path, "customers.csv", CUSTOMERS)
    with service.sessions() as s, s.begin():
        report = import_customers(s, path, now, known_people=PEOPLE)
    assert report.as_dict() == {
        "added": 4, "changed": 0, "unchanged": 0,
        "rejected": [{"line": n, "reason": r} for n, r in REJECTED]}
    assert report.rejected == REJECTED
    with service.sessions() as s:
        rows = {c.name: (c.advisor, c.website_access, c.prospect,
                         [d.domain for d in c.domains],
                         [(p.email, p.name, p.phone) for p in c.contacts])
                for c in s.scalars(select(Company))}
    assert rows == {
        "Acme BV": ("anna", True, False, ["acme.com", "acme.nl"],
                    [("jan@acme.com", "Jan Jansen", "+31 20 1234567"),
                     ("piet@acme.com", "Piet", None)]),
        "Beta sp. z o.o.": (None, False, False, ["beta.pl"], []),
        "Theta, Inc.": ("bart", True, False, ["theta.com"], [("t@theta.com", "Multi Line", None)]),
    }


def test_unknown_advisors_are_accepted_without_a_list_of_people(service, tmp_path):
    path = write(tmp_path, "c.csv", HEADER + "Eps,eps.com,carl,yes,E,e@eps.com,\n")
    with service.sessions() as s, s.begin():
        report = import_customers(s, path, service.clock())
        assert (report.added, report.rejected) == (1, [])
        assert s.scalars(select(Company.advisor)).one() == "carl"


def test_reimport_is_idempotent_and_changes_are_counted(service, tmp_path):
    now = service.clock()
    path = write(tmp_path, "customers.csv", CUSTOMERS)
    with service.sessions() as s, s.begin():
        import_customers(s, path, now, known_people=PEOPLE)
    later = now + timedelta(days=1)
    with service.sessions() as s, s.begin():
        again = import_customers(s, path, later, known_people=PEOPLE)
    assert (again.added, again.changed, again.unchanged, again.rejected) == (0, 0, 4, REJECTED)
    with service.sessions() as s:
        assert {c.updated_at for c in s.scalars(select(Company))} == {now}
        assert {c.updated_at for c in s.scalars(select(Contact))} == {now}

    changed = write(tmp_path, "changed.csv", HEADER + (
        "ACME BV,acme.com,bart,no,Jan Jansen,jan@acme.com,+31 20 1234567\n"  # 2: company
        "ACME BV,acme.com,bart,no,Piet,piet@acme.com,06-12345678\n"  # 3: phone
        "ACME BV,acme.com,bart,no,Jan,,\n"  # 4: company-only, nothing new
        "Beta sp. z o.o.,,,,,,\n"  # 5: empty cells keep what is stored
        "Beta sp. z o.o.,,,,Ola,ola@beta.pl,\n"  # 6: a new contact
        "Theta Inc,,bart,yes,T,t@theta.com,\n"  # 7: moves to a new company
        "Nu BV,acme.nl,,,,,\n"  # 8: takes the domain Acme BV let go on line 2
    ))
    with service.sessions() as s, s.begin():
        report = import_customers(s, changed, later, known_people=PEOPLE)
    assert (report.added, report.changed, report.unchanged, report.rejected) == (3, 2, 2, [])
    with service.sessions() as s:
        acme = s.scalars(select(Company).where(Company.name == "Acme BV")).one()
        assert (acme.advisor, acme.website_access, [d.domain for d in acme.domains],
                acme.updated_at) == ("bart", False, ["acme.com"], later)
        assert s.scalars(select(Contact.phone).where(Contact.email == "piet@acme.com")).one() \
            == "06-12345678"
        beta = s.scalars(select(Company).where(Company.name == "Beta sp. z o.o.")).one()
        assert ([d.domain for d in beta.domains], beta.updated_at) == (["beta.pl"], now)
        t = s.scalars(select(Contact).where(Contact.email == "t@theta.com")).one()
        assert (t.company.name, t.name) == ("Theta Inc", "T")
        nu = s.scalars(select(CompanyDomain).where(CompanyDomain.domain == "acme.nl")).one()
        assert nu.company.name == "Nu BV"


def test_company_name_matches_ignoring_case_and_keeps_its_spelling(service, tmp_path):
    now = service.clock()
    with service.sessions() as s, s.begin():
        add_company(s, now, "Acme BV", "acme.com", advisor="anna")
    path = write(tmp_path, "c.csv", HEADER + "ACME bv,acme.com,anna,no,,,\n")
    with service.sessions() as s, s.begin():
        report = import_customers(s, path, now)
        assert (report.added, report.changed, report.unchanged) == (0, 0, 1)
        assert s.scalars(select(Company.name)).all() == ["Acme BV"]


def test_imported_prospect_becomes_a_customer(service, tmp_path):
    now = service.clock()
    with service.sessions() as s, s.begin():
        eva = identify(s, "eva@newco.example", "Eva", now)
        tom = identify(s, "tom@other.example", "Tom", now)
    path = write(tmp_path, "c.csv", HEADER + (
        "NewCo BV,newco.example;newco.nl,anna,yes,,,\n"  # by its domain
        "Other BV,,bart,no,Tom Kat,tom@other.example,\n"  # by its contact
    ))
    with service.sessions() as s, s.begin():
        report = import_customers(s, path, now, known_people=PEOPLE)
        assert (report.added, report.changed, report.rejected) == (0, 2, [])
    with service.sessions() as s, s.begin():
        newco = s.get(Company, eva.company_id)
        assert (newco.name, newco.prospect, newco.advisor,
                [d.domain for d in newco.domains]) == ("NewCo BV", False, "anna",
                                                       ["newco.example", "newco.nl"])
        other = s.get(Company, tom.company_id)
        assert (other.name, other.prospect, [c.name for c in other.contacts]) == (
            "Other BV", False, ["Tom Kat"])
        assert counts(s) == (2, 3, 2)
        got = identify(s, "ann@newco.nl", "Ann", now)
        assert (got.company_id, got.prospect, got.advisor) == (eva.company_id, False, "anna")


def test_domain_of_a_customer_is_not_taken_by_another(service, tmp_path):
    now = service.clock()
    with service.sessions() as s, s.begin():
        add_company(s, now, "Acme BV", "acme.com")
        add_company(s, now, "Beta", "beta.com")
    path = write(tmp_path, "c.csv", HEADER + (
        "Beta,beta.com;acme.com,,,,,\n"
        "Newco,newco.com;beta.com,,,,,\n"))
    with service.sessions() as s, s.begin():
        report = import_customers(s, path, now)
        assert report.rejected == [
            (2, "domain 'acme.com' belongs to another company: 'Acme BV'"),
            (3, "domain 'beta.com' belongs to another company: 'Beta'")]
        assert counts(s) == (2, 2, 0)


def test_semicolon_delimited_file_with_bom(service, tmp_path):
    text = HEADER.replace(",", ";") + (
        "Żabka Polska;zabka.pl,zabka.com.pl;bart;tak;Łukasz Źdźbło;lukasz@zabka.pl;\n"
        "Żabka Polska;zabka.pl,zabka.com.pl;bart;tak;Ola;ola@zabka.pl;+48 600 100 200\n")
    path = write(tmp_path, "c.csv", "\ufeff" + text)
    with service.sessions() as s, s.begin():
        report = import_customers(s, path, service.clock(), known_people=PEOPLE)
        assert (report.added, report.rejected) == (2, [])
        c = s.scalars(select(Company)).one()
        assert (c.name, c.website_access, sorted(d.domain for d in c.domains),
                [p.name for p in c.contacts]) == ("Żabka Polska", True,
                                                  ["zabka.com.pl", "zabka.pl"],
                                                  ["Łukasz Źdźbło", "Ola"])


def test_missing_header_column_is_one_rejection(service, tmp_path):
    path = write(tmp_path, "c.csv", "company,domains,advisor,website_access,contact_name,"
                                    "contact_phone,notes\nAcme,acme.com,,,Jan,,x\n")
    with service.sessions() as s, s.begin():
        report = import_customers(s, path, service.clock())
        assert report.as_dict() == {"added": 0, "changed": 0, "unchanged": 0, "rejected": [
            {"line": 1, "reason": "missing column: contact_email"}]}
        assert counts(s) == (0, 0, 0)
    empty = write(tmp_path, "empty.csv", "")
    latin1 = write(tmp_path, "latin1.csv", HEADER + "Caf\xe9,,,,,,\n", "latin-1")
    with service.sessions() as s, s.begin():
        assert import_customers(s, empty, service.clock()).rejected == [
            (1, "missing columns: company, domains, advisor, website_access, contact_name, "
                "contact_email, contact_phone")]
        assert import_customers(s, latin1, service.clock()).rejected == [
            (1, f"not UTF-8 text (byte {len(HEADER) + 3})")]


def test_extra_columns_are_ignored_and_order_does_not_matter(service, tmp_path):
    path = write(tmp_path, "c.csv", "Contact_Email,notes,company,domains,advisor,"
                                    "website_access,contact_name,contact_phone\n"
                                    "jan@acme.com,hello,Acme,acme.com,,yes,Jan,\n")
    with service.sessions() as s, s.begin():
        report = import_customers(s, path, service.clock())
        assert (report.added, report.rejected) == (1, [])
        assert s.scalars(select(Contact.name)).one() == "Jan"


def test_export_then_import_is_all_unchanged(service, tmp_path):
    now = service.clock()
    with service.sessions() as s, s.begin():
        import_customers(s, write(tmp_path, "c.csv", CUSTOMERS), now, known_people=PEOPLE)
        add_company(s, now, "=HYPERLINK(\"x\")", "formula.example",
                    contacts=[("f@formula.example", "@SUM(1+1)")])
        identify(s, "eva@newco.example", "Eva", now)  # a prospect: not exported
        identify(s, "x@gmail.com", "X", now)  # no company: not exported
    out = io.StringIO()
    with service.sessions() as s:
        assert export_customers(s, out) == 5
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == HEADER.strip()
    assert "Beta sp. z o.o.,beta.pl,,no,,," in lines
    assert "Acme BV,acme.com;acme.nl,anna,yes,Jan Jansen,jan@acme.com,+31 20 1234567" in lines
    # cells a spreadsheet would run as formulas are exported with a leading quote
    assert '"\'=HYPERLINK(""x"")",formula.example,,no,\'@SUM(1+1),f@formula.example,' in lines
    assert "newco" not in text and "gmail" not in text
    path = write(tmp_path, "export.csv", text)
    with service.sessions() as s, s.begin():
        report = import_customers(s, path, now + timedelta(days=1), known_people=PEOPLE)
        assert (report.added, report.changed, report.unchanged, report.rejected) == (0, 0, 5, [])
        assert s.scalars(select(Contact.name).where(Contact.email == "f@formula.example")) \
            .one() == "@SUM(1+1)"
    again = io.StringIO()
    with service.sessions() as s:
        export_customers(s, again)
    assert again.getvalue() == text


# -- contracts --------------------------------------------------------------------------

CONTRACTS = C_HEADER + (
    "K-1,Acme BV,2026-01-01,2026-12-31,yes,12,1,active\n"  # 2
    "K-2,acme bv,2025-06-01,,,,,\n"  # 3: defaults, open-ended
    "K-3,Nobody BV,2026-01-01,2026-12-31,,,,\n"  # 4
    "K-4,Acme BV,2026-13-01,2026-12-31,,,,\n"  # 5
    "K-5,Acme BV,2026-01-01,2025-12-31,,,,\n"  # 6
    "K-6,Acme BV,2026-01-01,2026-12-31,,twelve,,\n"  # 7
    "K-7,Acme BV,2026-01-01,2026-12-31,,12,-1,\n"  # 8
    "K-8,Acme BV,2026-01-01,2026-12-31,,,,paused\n"  # 9
    "K-9,Acme BV,2026-01-01,2026-12-31,perhaps,,,\n"  # 10
    "K-1,Acme BV,2026-01-01,2027-12-31,,,,\n"  # 11
    ",Acme BV,2026-01-01,,,,,\n"  # 12
    "K-10,Acme BV,01-02-2026,,,,,\n"  # 13
    "K-11,Acme BV,2026-02-01,2027-01-31,nee,24,3,cancelled\n"  # 14
)
C_REJECTED = [
    (4, "unknown company 'Nobody BV'"),
    (5, "invalid start date '2026-13-01' (use YYYY-MM-DD)"),
    (6, "end 2025-12-31 is before start 2026-01-01"),
    (7, "invalid term_months 'twelve' (a whole number from 1)"),
    (8, "invalid notice_months '-1' (a whole number from 0)"),
    (9, "unknown status 'paused' (use active, cancelled or ended)"),
    (10, "unknown auto_renew value 'perhaps' (use yes or no)"),
    (11, "contract 'K-1' already on line 2"),
    (12, "missing contract reference"),
    (13, "invalid start date '01-02-2026' (use YYYY-MM-DD)"),
]


def test_import_contracts(service, tmp_path):
    now = service.clock()
    with service.sessions() as s, s.begin():
        acme = add_company(s, now, "Acme BV", "acme.com")
    path = write(tmp_path, "k.csv", CONTRACTS)
    with service.sessions() as s, s.begin():
        report = import_contracts(s, path, now)
    assert (report.added, report.changed, report.unchanged, report.rejected) == (
        3, 0, 0, C_REJECTED)
    with service.sessions() as s:
        rows = {c.reference: (c.company_id, c.start, c.end, c.auto_renew, c.term_months,
                              c.notice_months, c.status) for c in s.scalars(select(Contract))}
    assert rows == {
        "K-1": (acme.id, date(2026, 1, 1), date(2026, 12, 31), True, 12, 1, "active"),
        "K-2": (acme.id, date(2025, 6, 1), None, True, 12, 1, "active"),
        "K-11": (acme.id, date(2026, 2, 1), date(2027, 1, 31), False, 24, 3, "cancelled"),
    }
    with service.sessions() as s, s.begin():
        again = import_contracts(s, path, now)
    assert (again.added, again.changed, again.unchanged, again.rejected) == (0, 0, 3, C_REJECTED)

    update = write(tmp_path, "u.csv", C_HEADER + (
        "K-1,Acme BV,2026-01-01,2027-12-31,,,,\n"  # end moves; the rest is kept
        "K-11,Acme BV,2026-02-01,,,,,\n"  # empty end: open-ended; empty status: kept
        "K-2,Acme BV,2025-06-01,,,,,\n"))
    with service.sessions() as s, s.begin():
        report = import_contracts(s, update, now + timedelta(days=1))
        assert (report.added, report.changed, report.unchanged) == (0, 2, 1)
        k1 = s.scalars(select(Contract).where(Contract.reference == "K-1")).one()
        assert (k1.end, k1.auto_renew, k1.term_months, k1.updated_at) == (
            date(2027, 12, 31), True, 12, now + timedelta(days=1))
        k11 = s.scalars(select(Contract).where(Contract.reference == "K-11")).one()
        assert (k11.end, k11.status, k11.term_months) == (None, "cancelled", 24)


def test_contracts_export_then_import_is_all_unchanged(service, tmp_path):
    now = service.clock()
    with service.sessions() as s, s.begin():
        add_company(s, now, "Acme BV", "acme.com")
        import_contracts(s, write(tmp_path, "k.csv", CONTRACTS), now)
    out = io.StringIO()
    with service.sessions() as s:
        assert export_contracts(s, out) == 3
    assert out.getvalue() == C_HEADER.replace("status\n", "status,ends_on\n") + (
        "K-1,Acme BV,2026-01-01,2026-12-31,yes,12,1,active,\n"
        "K-11,Acme BV,2026-02-01,2027-01-31,no,24,3,cancelled,\n"
        "K-2,Acme BV,2025-06-01,,yes,12,1,active,\n")
    with service.sessions() as s, s.begin():
        report = import_contracts(s, write(tmp_path, "e.csv", out.getvalue()), now)
        assert (report.added, report.changed, report.unchanged, report.rejected) == (0, 0, 3, [])


def test_contracts_file_without_optional_columns_uses_defaults(service, tmp_path):
    now = service.clock()
    with service.sessions() as s, s.begin():
        add_company(s, now, "Acme BV", "acme.com")
    path = write(tmp_path, "k.csv", "contract;company;start;end\nK-1;Acme BV;2026-01-01;\n")
    bad = write(tmp_path, "bad.csv", "contract,company,start\nK-1,Acme BV,2026-01-01\n")
    with service.sessions() as s, s.begin():
        assert import_contracts(s, bad, now).rejected == [(1, "missing column: end")]
        report = import_contracts(s, path, now)
        assert (report.added, report.rejected) == (1, [])
        k = s.scalars(select(Contract)).one()
        assert (k.end, k.auto_renew, k.term_months, k.notice_months, k.status) == (
            None, True, 12, 1, "active")


# -- find_contract ----------------------------------------------------------------------

def contract(s, now, company, ref, end, status="active", start=date(2025, 1, 1)):
    s.add(Contract(reference=ref, company=company, start=start, end=end, status=status,
                   created_at=now, updated_at=now))


def test_find_contract(service):
    now = service.clock()
    with service.sessions() as s, s.begin():
        acme = add_company(s, now, "Acme BV", "acme.com")
        beta = add_company(s, now, "Beta", "beta.com")
        gamma = add_company(s, now, "Gamma", "gamma.com")
        contract(s, now, acme, "A-later", date(2027, 6, 30))
        contract(s, now, acme, "A-next", date(2026, 12, 31))
        contract(s, now, acme, "A-open", None)
        contract(s, now, acme, "A-cancelled", date(2026, 12, 15), status="cancelled")
        contract(s, now, acme, "A-past", date(2026, 1, 31))
        contract(s, now, beta, "B-old", date(2025, 12, 31))
        contract(s, now, beta, "B-older", date(2024, 12, 31))
        contract(s, now, beta, "B-ended", date(2026, 12, 31), status="ended")
        s.flush()

        def ref(company, on):
            found = find_contract(s, company.id, on)
            return found.reference if found is not None else None

        assert ref(acme, date(2026, 11, 23)) == "A-next"
        assert ref(acme, date(2026, 12, 31)) == "A-next"  # received on its last day
        assert ref(acme, date(2027, 1, 1)) == "A-later"
        assert ref(acme, date(2027, 7, 1)) == "A-open"
        assert ref(beta, date(2026, 11, 23)) == "B-old"
        assert ref(gamma, date(2026, 11, 23)) is None
