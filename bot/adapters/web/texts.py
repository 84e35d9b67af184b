"""The web face's words in Dutch and Polish; English is the key itself. The language is
the signed-in person's (rules.yaml `language:`), else the desk's (`defaults: language`);
one without a table here gets English. tests/adapters/test_web_language.py keeps the
tables complete."""

from __future__ import annotations

NL: dict[str, str] = {
    "Ticket desk": "Ticketbalie", "Dashboard": "Overzicht", "Tickets": "Tickets", "Mine": "Van mij",
    "Search tickets": "Zoek tickets", "Sign out": "Afmelden", "Sign in": "Aanmelden",
    "Back to the dashboard": "Terug naar het overzicht",
    "Too many attempts. Wait a few minutes and try again.":
        "Te veel pogingen. Wacht een paar minuten en probeer het opnieuw.",
    "If that address belongs to someone at the desk, a sign-in link is on its way. It works once, for 15 minutes.":
        "Hoort dat adres bij iemand van de balie, dan is er een aanmeldlink onderweg. Hij werkt één keer, "
        "15 minuten lang.",
    "Your work address": "Uw werkadres", "Mail me a sign-in link": "Mail mij een aanmeldlink",
    "This link does not work (any more): it works once, for 15 minutes.":
        "Deze link werkt niet (meer): hij werkt één keer, 15 minuten lang.",
    "Ask for a new one": "Vraag een nieuwe aan", "Sign in to the ticket desk": "Aanmelden bij de ticketbalie",
    "The desk now": "De balie nu", "Open tickets by owner": "Open tickets per eigenaar",
    "Open tickets by kind": "Open tickets per soort", "Owner": "Eigenaar", "Nothing open.": "Niets open.",
    "Oldest open complaints": "Oudste open klachten", "Ticket": "Ticket", "Customer": "Klant",
    "Age": "Leeftijd", "SLA": "SLA", "days": "dagen", "No open complaints.": "Geen open klachten.",
    "SLA met": "SLA gehaald", "This week": "Deze week", "This month": "Deze maand",
    "first_action": "eerste actie", "resolution": "oplossing", "next action": "volgende actie",
    "Opened and resolved per week": "Geopend en opgelost per week", "opened": "geopend",
    "resolved": "opgelost", "Outgoing mail": "Uitgaande mail", "queued": "in de wachtrij",
    "failed": "mislukt", "oldest due for": "oudste wacht al", "min": "min",
    "new": "nieuw", "overdue": "te laat", "due-today": "vandaag", "waiting": "wacht op klant",
    "on-track": "op schema", "open": "open", "closed": "gesloten", "sent": "verstuurd",
    "Words": "Woorden", "Status": "Status", "any": "alle", "not resolved": "niet opgelost",
    "anyone": "iedereen", "Role": "Rol", "Kind": "Soort", "From": "Vanaf", "Until": "Tot en met",
    "Sort": "Sorteer", "newest": "nieuwste", "oldest": "oudste", "due": "termijn",
    "updated": "laatst bijgewerkt", "relevance": "relevantie", "Show": "Toon", "tickets": "tickets", "page": "pagina",
    "Subject": "Onderwerp", "Due": "Termijn", "Opened": "Geopend", "(no subject)": "(geen onderwerp)",
    "urgent": "spoed", "No tickets match.": "Geen tickets gevonden.", "previous": "vorige", "next": "volgende",
    "Reply preview": "Voorbeeld antwoord", "This mail goes to the customer": "Deze mail gaat naar de klant",
    "To": "Aan", "Send this reply": "Verstuur dit antwoord",
    "Back to the ticket, without sending": "Terug naar het ticket, zonder te versturen",
    "Linked to": "Gekoppeld aan", "Category": "Categorie", "Conversation": "Gesprek", "Note": "Notitie",
    "We": "Wij", "automatic": "automatisch", "Quoted history": "Eerdere berichten",
    "Read with repairs": "Gelezen met reparaties", "Reply to the customer": "Antwoord de klant",
    "Preview the mail": "Bekijk de mail", "Internal note": "Interne notitie", "Add note": "Notitie toevoegen",
    "(unknown company)": "(onbekend bedrijf)", "prospect": "prospect", "Phone": "Telefoon",
    "Advisor": "Adviseur", "Contract": "Contract", "open-ended": "onbepaalde tijd",
    "Notice deadline": "Opzegtermijn tot", "Ends on": "Eindigt op", "Other open tickets": "Andere open tickets",
    "Clocks": "Termijnen", "done": "gedaan", "since": "sinds", "Work the ticket": "Werk het ticket af",
    "reason": "reden", "Reopen": "Heropen", "note for the customer": "opmerking voor de klant",
    "Resolve": "Opgelost", "Take it": "Neem het over", "Assign to": "Toewijzen aan", "role": "rol",
    "the customer's advisor": "de adviseur van de klant", "Assign": "Toewijzen", "Action": "Actie",
    "what was agreed": "wat is afgesproken", "Log action": "Actie vastleggen",
    "No longer waiting": "Wacht niet meer", "Waiting on the customer": "Wacht op de klant",
    "Change kind": "Wijzig soort", "Save": "Opslaan", "What happened": "Wat er gebeurde",
    "Watchers": "Volgers", "call": "telefoongesprek", "meeting": "afspraak", "visit": "bezoek",
    "action": "actie", "active": "actief", "cancelled": "opgezegd",
    "Reports": "Rapporten", "Report": "Rapport", "Month": "Maand", "Printable": "Afdrukbaar",
    "Complaints": "Klachten", "in the spirit of ISO 10002": "naar de geest van ISO 10002",
    "Received": "Ontvangen", "Acknowledged": "Ontvangst bevestigd", "Resolved": "Opgelost",
    "Still open": "Nog open", "Reopened": "Heropend",
    "Time to first action, median": "Tijd tot eerste actie, mediaan",
    "Time to resolution, median / 90 %": "Tijd tot oplossing, mediaan / 90 %",
    "Complaints per month": "Klachten per maand", "By category": "Naar categorie",
    "By customer": "Naar klant", "By advisor": "Naar adviseur",
    "Written cancellations": "Schriftelijke opzeggingen", "Retained": "Behouden", "Lost": "Verloren",
    "Pending": "Nog open", "lost": "verloren", "SLA performance": "SLA-prestaties",
    "SLA met per month": "SLA gehaald per maand", "By owner": "Naar eigenaar", "By role": "Naar rol",
    "By kind": "Naar soort", "met": "gehaald", "breached": "niet gehaald",
    "median h to first action": "mediaan uur tot eerste actie", "90 % h": "90 % uur",
    "No deadlines fell in this month.": "Geen termijnen in deze maand.",
    "Rules check": "Regels testen",
    "Paste a mail (its source, headers and all) or upload an .eml file: see who it would go to "
    "and why, without storing anything.":
        "Plak een mail (de bron, met alle kopregels) of kies een .eml-bestand: zie naar wie hij zou gaan en "
        "waarom, zonder iets op te slaan.",
    "The mail": "De mail", "or a file": "of een bestand", "Route it": "Routeer", "It would go to": "Hij gaat naar",
    "Sender": "Afzender", "advisor": "adviseur", "Language": "Taal", "Priority": "Prioriteit",
    "Why this owner": "Waarom deze eigenaar", "Rule": "Regel", "(none matched: defaults)": "(geen: standaard)",
    "ignored (no ticket)": "genegeerd (geen ticket)", "Cancellation": "Opzegging",
    "no contract found for this sender": "geen contract gevonden voor deze afzender",
    "Every rule tried": "Elke geprobeerde regel", "line": "regel", "yes": "ja", "no": "nee",
    "Customers": "Klanten", "Name, domain or address": "Naam, domein of adres", "Import": "Importeer",
    "customers": "klanten", "contracts": "contracten", "CSV file": "CSV-bestand", "Imported": "Geïmporteerd",
    "added": "toegevoegd", "changed": "gewijzigd", "unchanged": "ongewijzigd", "rejected": "geweigerd",
    "companies": "bedrijven", "Company": "Bedrijf", "Contacts": "Contactpersonen", "Contracts": "Contracten",
    "Open tickets": "Open tickets", "website access": "websitetoegang", "until": "tot",
    "notice by": "opzeggen uiterlijk", "No customers yet: import them from a CSV file.":
        "Nog geen klanten: importeer ze uit een CSV-bestand.",
    "Choose a CSV file first.": "Kies eerst een CSV-bestand.", "Answered at": "Antwoorden naar",
    "or": "of", "Sign in with Slack": "Aanmelden met Slack",
    "Your Slack account is not one of the desk's people (rules.yaml). Ask the desk's administrator to add you.":
        "Uw Slack-account hoort niet bij de mensen van de balie (rules.yaml). Vraag de beheerder u toe te voegen.",
    "Time and invoices": "Tijd en facturen", "Time logged": "Bestede tijd", "duration": "duur",
    "note": "notitie", "Log time": "Tijd vastleggen", "Invoices on hold": "Facturen on hold",
    "none": "geen", "invoice number": "factuurnummer", "Hold": "Vasthouden", "Release": "Vrijgeven",
    "Invoice on hold.": "Factuur on hold gezet.", "Invoice released.": "Factuur vrijgegeven.",
    "Time logged.": "Tijd vastgelegd.", "Person": "Persoon", "entries": "regels", "time": "tijd",
    "No time logged in this month.": "Geen tijd vastgelegd in deze maand.",
    "New ticket": "Nieuw ticket", "New ticket for a customer": "Nieuw ticket voor een klant",
    "A customer phoned or asked you: the rules route their ticket as they route mail.":
        "Een klant belde of vroeg het u: de regels routeren het ticket zoals hun mail.",
    "Customer's mail address": "Mailadres van de klant", "Name (optional)": "Naam (optioneel)",
    "as the rules decide": "zoals de regels bepalen",
    "a phone call (logged as the first action)": "een telefoongesprek (geldt als eerste actie)",
    "What the customer asked": "Wat de klant vroeg",
    "Send the customer the acknowledgement": "Stuur de klant de ontvangstbevestiging",
    "Open the ticket": "Ticket openen", "Ticket opened for the customer.": "Ticket geopend voor de klant.",
    "text": "tekst",  # a refused form: "tekst is leeg" (pages.FIELD_LABELS)
}


PL: dict[str, str] = {
    "Ticket desk": "Biuro zgłoszeń", "Dashboard": "Przegląd", "Tickets": "Zgłoszenia", "Mine": "Moje",
    "Search tickets": "Szukaj zgłoszeń", "Sign out": "Wyloguj", "Sign in": "Zaloguj",
    "Back to the dashboard": "Wróć do przeglądu",
    "Too many attempts. Wait a few minutes and try again.":
        "Zbyt wiele prób. Odczekaj kilka minut i spróbuj ponownie.",
    "If that address belongs to someone at the desk, a sign-in link is on its way. It works once, for 15 minutes.":
        "Jeśli ten adres należy do kogoś z biura, link do logowania jest już w drodze. Działa jeden raz, "
        "przez 15 minut.",
    "Your work address": "Twój adres służbowy", "Mail me a sign-in link": "Wyślij mi link do logowania",
    "This link does not work (any more): it works once, for 15 minutes.":
        "Ten link (już) nie działa: działa jeden raz, przez 15 minut.",
    "Ask for a new one": "Poproś o nowy", "Sign in to the ticket desk": "Zaloguj się do biura zgłoszeń",
    "The desk now": "Biuro teraz", "Open tickets by owner": "Otwarte zgłoszenia według właściciela",
    "Open tickets by kind": "Otwarte zgłoszenia według rodzaju", "Owner": "Właściciel",
    "Nothing open.": "Nic otwartego.",
    "Oldest open complaints": "Najstarsze otwarte reklamacje", "Ticket": "Zgłoszenie", "Customer": "Klient",
    "Age": "Wiek", "SLA": "SLA", "days": "dni", "No open complaints.": "Brak otwartych reklamacji.",
    "SLA met": "SLA dotrzymane", "This week": "W tym tygodniu", "This month": "W tym miesiącu",
    "first_action": "pierwsze działanie", "resolution": "rozwiązanie", "next action": "kolejne działanie",
    "Opened and resolved per week": "Otwarte i rozwiązane w tygodniu", "opened": "otwarte",
    "resolved": "rozwiązane", "Outgoing mail": "Poczta wychodząca", "queued": "w kolejce",
    "failed": "nieudane", "oldest due for": "najstarsza czeka od", "min": "min",
    "new": "nowe", "overdue": "po terminie", "due-today": "na dziś", "waiting": "czeka na klienta",
    "on-track": "zgodnie z planem", "open": "otwarte", "closed": "zamknięte", "sent": "wysłane",
    "Words": "Słowa", "Status": "Status", "any": "wszystkie", "not resolved": "nierozwiązane",
    "anyone": "każdy", "Role": "Rola", "Kind": "Rodzaj", "From": "Od", "Until": "Do",
    "Sort": "Sortuj", "newest": "najnowsze", "oldest": "najstarsze", "due": "termin",
    "updated": "ostatnio zmienione", "Show": "Pokaż", "tickets": "zgłoszenia", "page": "strona",
    "Subject": "Temat", "Due": "Termin", "Opened": "Otwarte", "(no subject)": "(bez tematu)",
    "urgent": "pilne", "No tickets match.": "Nie znaleziono zgłoszeń.", "previous": "poprzednia",
    "next": "następna",
    "Reply preview": "Podgląd odpowiedzi", "This mail goes to the customer": "Ta wiadomość trafi do klienta",
    "To": "Do", "Send this reply": "Wyślij tę odpowiedź",
    "Back to the ticket, without sending": "Wróć do zgłoszenia bez wysyłania",
    "Linked to": "Powiązane z", "Category": "Kategoria", "Conversation": "Rozmowa", "Note": "Notatka",
    "We": "My", "automatic": "automatyczna", "Quoted history": "Wcześniejsze wiadomości",
    "Read with repairs": "Odczytane z poprawkami", "Reply to the customer": "Odpowiedz klientowi",
    "Preview the mail": "Podgląd wiadomości", "Internal note": "Notatka wewnętrzna",
    "Add note": "Dodaj notatkę", "(unknown company)": "(nieznana firma)", "prospect": "potencjalny klient",
    "Phone": "Telefon", "Advisor": "Doradca", "Contract": "Umowa", "open-ended": "bezterminowa",
    "Notice deadline": "Termin wypowiedzenia", "Ends on": "Kończy się", "Other open tickets":
        "Inne otwarte zgłoszenia", "Clocks": "Terminy", "done": "wykonane", "since": "od",
    "Work the ticket": "Obsłuż zgłoszenie", "reason": "powód", "Reopen": "Otwórz ponownie",
    "note for the customer": "uwaga dla klienta", "Resolve": "Rozwiąż", "Take it": "Przejmij",
    "Assign to": "Przydziel do", "role": "rola", "the customer's advisor": "doradca klienta",
    "Assign": "Przydziel", "Action": "Działanie", "what was agreed": "co uzgodniono",
    "Log action": "Zapisz działanie", "No longer waiting": "Już nie czeka",
    "Waiting on the customer": "Czeka na klienta", "Change kind": "Zmień rodzaj", "Save": "Zapisz",
    "What happened": "Co się wydarzyło", "Watchers": "Obserwujący", "call": "rozmowa telefoniczna",
    "meeting": "spotkanie", "visit": "wizyta", "action": "działanie", "active": "aktywna",
    "cancelled": "wypowiedziana", "Reports": "Raporty", "Report": "Raport", "Month": "Miesiąc",
    "Printable": "Do druku", "Complaints": "Reklamacje",
    "in the spirit of ISO 10002": "w duchu ISO 10002", "Received": "Otrzymane",
    "Acknowledged": "Potwierdzone", "Resolved": "Rozwiązane", "Still open": "Nadal otwarte",
    "Reopened": "Ponownie otwarte", "Time to first action, median": "Czas do pierwszego działania, mediana",
    "Time to resolution, median / 90 %": "Czas do rozwiązania, mediana / 90 %",
    "Complaints per month": "Reklamacje w miesiącu", "By category": "Według kategorii",
    "By customer": "Według klienta", "By advisor": "Według doradcy",
    "Written cancellations": "Pisemne wypowiedzenia", "Retained": "Utrzymane", "Lost": "Utracone",
    "Pending": "W toku", "lost": "utracone", "SLA performance": "Dotrzymanie SLA",
    "SLA met per month": "SLA dotrzymane w miesiącu", "By owner": "Według właściciela",
    "By role": "Według roli", "By kind": "Według rodzaju", "met": "dotrzymane",
    "breached": "przekroczone", "median h to first action": "mediana h do pierwszego działania",
    "90 % h": "90 % h", "No deadlines fell in this month.": "W tym miesiącu nie było terminów.",
    "Rules check": "Sprawdzenie reguł",
    "Paste a mail (its source, headers and all) or upload an .eml file: see who it would go to and why, "
    "without storing anything.":
        "Wklej wiadomość (źródło, ze wszystkimi nagłówkami) lub wybierz plik .eml: zobacz, do kogo by trafiła "
        "i dlaczego, bez zapisywania czegokolwiek.",
    "The mail": "Wiadomość", "or a file": "lub plik", "Route it": "Sprawdź trasę",
    "It would go to": "Trafiłaby do",
    "Sender": "Nadawca", "advisor": "doradca", "Language": "Język", "Priority": "Priorytet",
    "Why this owner": "Dlaczego ten właściciel", "Rule": "Reguła",
    "(none matched: defaults)": "(żadna nie pasuje: domyślne)",
    "ignored (no ticket)": "pominięte (bez zgłoszenia)", "Cancellation": "Wypowiedzenie",
    "no contract found for this sender": "nie znaleziono umowy dla tego nadawcy",
    "Every rule tried": "Każda sprawdzona reguła", "line": "wiersz", "yes": "tak", "no": "nie",
    "Customers": "Klienci", "Name, domain or address": "Nazwa, domena lub adres", "Import": "Importuj",
    "customers": "klienci", "contracts": "umowy", "CSV file": "Plik CSV", "Imported": "Zaimportowano",
    "added": "dodane", "changed": "zmienione", "unchanged": "bez zmian", "rejected": "odrzucone",
    "companies": "firmy", "Company": "Firma", "Contacts": "Osoby kontaktowe", "Contracts": "Umowy",
    "Open tickets": "Otwarte zgłoszenia", "website access": "dostęp do strony", "until": "do",
    "notice by": "wypowiedzenie do", "No customers yet: import them from a CSV file.":
        "Brak klientów: zaimportuj ich z pliku CSV.",
    "Choose a CSV file first.": "Najpierw wybierz plik CSV.", "Answered at": "Odpowiedzi na",
    "or": "lub", "Sign in with Slack": "Zaloguj przez Slack",
    "Your Slack account is not one of the desk's people (rules.yaml). Ask the desk's administrator to add you.":
        "Twoje konto Slack nie należy do osób biura (rules.yaml). Poproś administratora o dodanie.",
    "New ticket": "Nowe zgłoszenie", "New ticket for a customer": "Nowe zgłoszenie dla klienta",
    "A customer phoned or asked you: the rules route their ticket as they route mail.":
        "Klient zadzwonił lub zapytał: reguły kierują zgłoszenie tak jak e-mail.",
    "Customer's mail address": "Adres e-mail klienta", "Name (optional)": "Imię i nazwisko (opcjonalnie)",
    "as the rules decide": "według reguł",
    "a phone call (logged as the first action)": "rozmowa telefoniczna (liczy się jako pierwsze działanie)",
    "What the customer asked": "O co pytał klient",
    "Send the customer the acknowledgement": "Wyślij klientowi potwierdzenie",
    "Open the ticket": "Otwórz zgłoszenie", "Ticket opened for the customer.": "Zgłoszenie otwarte dla klienta.",
    "Hold": "Wstrzymaj", "Release": "Zwolnij", "Invoices on hold": "Wstrzymane faktury",
    "Invoice on hold.": "Faktura wstrzymana.", "Invoice released.": "Faktura zwolniona.",
    "Log time": "Zapisz czas", "Time logged": "Zapisany czas", "Time logged.": "Czas zapisany.",
    "No time logged in this month.": "Brak zapisanego czasu w tym miesiącu.", "Person": "Osoba",
    "Time and invoices": "Czas i faktury", "duration": "czas trwania", "entries": "wpisy",
    "invoice number": "numer faktury", "none": "brak", "note": "notatka", "time": "czas",
    "relevance": "trafność", "text": "tekst",
}

TABLES = {"nl": NL, "pl": PL}  # English is the key itself


def translator(language: str | None):
    table = TABLES.get((language or "")[:2].lower(), {})

    def _(text: str) -> str:
        return table.get(text, text)

    return _
