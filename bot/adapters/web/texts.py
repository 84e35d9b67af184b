"""The web face's words in Dutch; English is the key itself. The language is the desk's
(rules.yaml `defaults: language`): nl gets these, every other language gets English."""

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
    "updated": "laatst bijgewerkt", "Show": "Toon", "tickets": "tickets", "page": "pagina",
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
}


def translator(language: str | None):
    table = NL if (language or "").lower().startswith("nl") else {}

    def _(text: str) -> str:
        return table.get(text, text)

    return _
