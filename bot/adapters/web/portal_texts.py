"""The customer portal's words, in one place: English is the key, and each language the
desk writes to customers in (nl, pl, de) has its table. A missing word shows in English."""

from __future__ import annotations

from collections.abc import Callable

NL: dict[str, str] = {
    "Your requests": "Uw verzoeken",
    "Customer portal": "Klantportaal",
    "Your requests with us": "Uw verzoeken bij ons",
    "Follow your requests, answer them, send files and file a new request.":
        "Volg uw verzoeken, beantwoord ze, stuur bestanden mee en dien een nieuw verzoek in.",
    "You open the portal with the personal link in our mails. Lost it? Enter your e-mail address "
    "and we will mail you a link.":
        "U opent het portaal met de persoonlijke link in onze mails. Kwijt? Vul uw e-mailadres in en "
        "we mailen u een link.",
    "Your e-mail address": "Uw e-mailadres",
    "Mail me my link": "Mail mij mijn link",
    "If we know this address, a mail with your personal link is on its way.":
        "Als we dit adres kennen, is er een mail met uw persoonlijke link onderweg.",
    "Too many attempts. Wait a few minutes and try again.":
        "Te veel pogingen. Wacht een paar minuten en probeer het opnieuw.",
    "This link does not work (any more). Ask for a new one below.":
        "Deze link werkt niet (meer). Vraag hieronder een nieuwe aan.",
    "Sign out": "Afmelden",
    "Signed in as": "Aangemeld als",
    "New request": "Nieuw verzoek",
    "File a new request": "Dien een nieuw verzoek in",
    "You have no requests with us yet.": "U heeft nog geen verzoeken bij ons.",
    "Your company's requests": "De verzoeken van uw bedrijf",
    "Request": "Verzoek", "Subject": "Onderwerp", "Status": "Status", "Last change": "Laatst gewijzigd",
    "From": "Van", "Files": "Bestanden",
    "in progress": "in behandeling", "waiting for you": "wacht op u",
    "resolved": "opgelost", "closed": "gesloten", "received": "ontvangen",
    "Conversation": "Gesprek", "You": "U", "We": "Wij",
    "Back to your requests": "Terug naar uw verzoeken",
    "Is it solved?": "Is het opgelost?",
    "We consider this request resolved. Do you agree?":
        "Wij beschouwen dit verzoek als opgelost. Bent u het daarmee eens?",
    "Yes, solved": "Ja, opgelost", "No, not solved": "Nee, niet opgelost",
    "Your answer": "Uw antwoord", "Send": "Versturen",
    "Attach files (at most 10 MB together)": "Bestanden toevoegen (samen hoogstens 10 MB)",
    "Thank you: your answer has reached us.": "Dank u: uw antwoord is bij ons binnen.",
    "Thank you: the request is closed.": "Dank u: het verzoek is gesloten.",
    "The request is open again: we will pick it up at once.":
        "Het verzoek staat weer open: we pakken het meteen weer op.",
    "Thank you: we have received your request.": "Dank u: we hebben uw verzoek ontvangen.",
    "What is it about?": "Waar gaat het over?",
    "Your message": "Uw bericht",
    "question": "Vraag", "complaint": "Klacht", "invoice": "Factuur", "technical": "Technisch probleem",
    "cancellation": "Opzegging",
    "The files are larger than 10 MB together.": "De bestanden zijn samen groter dan 10 MB.",
    "There is no such request.": "Dit verzoek bestaat niet.",
    "Something went wrong": "Er ging iets mis",
    "This form has expired. Reload the page and try again.":
        "Dit formulier is verlopen. Laad de pagina opnieuw en probeer het nog eens.",
    "Your session has ended. Open the link in one of our mails again.":
        "Uw sessie is verlopen. Open de link in een van onze mails opnieuw.",
    "The message is empty.": "Het bericht is leeg.",
    "The subject is empty.": "Het onderwerp is leeg.",
    "Language": "Taal",
    "This request became a new one, because it was closed long ago:":
        "Dit werd een nieuw verzoek, omdat het vorige lang geleden gesloten is:",
}

PL: dict[str, str] = {
    "Your requests": "Państwa zgłoszenia",
    "Customer portal": "Portal klienta",
    "Your requests with us": "Państwa zgłoszenia u nas",
    "Follow your requests, answer them, send files and file a new request.":
        "Śledź swoje zgłoszenia, odpowiadaj na nie, przesyłaj pliki i składaj nowe zgłoszenia.",
    "You open the portal with the personal link in our mails. Lost it? Enter your e-mail address "
    "and we will mail you a link.":
        "Portal otwiera się osobistym linkiem z naszych wiadomości. Zgubiony? Proszę podać adres "
        "e-mail, a wyślemy link.",
    "Your e-mail address": "Adres e-mail",
    "Mail me my link": "Wyślij mi link",
    "If we know this address, a mail with your personal link is on its way.":
        "Jeśli znamy ten adres, wiadomość z osobistym linkiem jest w drodze.",
    "Too many attempts. Wait a few minutes and try again.":
        "Zbyt wiele prób. Proszę odczekać kilka minut i spróbować ponownie.",
    "This link does not work (any more). Ask for a new one below.":
        "Ten link (już) nie działa. Proszę poprosić poniżej o nowy.",
    "Sign out": "Wyloguj", "Signed in as": "Zalogowano jako",
    "New request": "Nowe zgłoszenie", "File a new request": "Złóż nowe zgłoszenie",
    "You have no requests with us yet.": "Nie mają Państwo jeszcze zgłoszeń.",
    "Your company's requests": "Zgłoszenia Państwa firmy",
    "Request": "Zgłoszenie", "Subject": "Temat", "Status": "Status", "Last change": "Ostatnia zmiana",
    "From": "Od", "Files": "Pliki",
    "in progress": "w toku", "waiting for you": "czeka na Państwa", "resolved": "rozwiązane",
    "closed": "zamknięte", "received": "przyjęte",
    "Conversation": "Rozmowa", "You": "Państwo", "We": "My",
    "Back to your requests": "Wróć do zgłoszeń",
    "Is it solved?": "Czy sprawa jest rozwiązana?",
    "We consider this request resolved. Do you agree?":
        "Uważamy to zgłoszenie za rozwiązane. Czy się Państwo zgadzają?",
    "Yes, solved": "Tak, rozwiązane", "No, not solved": "Nie, nierozwiązane",
    "Your answer": "Odpowiedź", "Send": "Wyślij",
    "Attach files (at most 10 MB together)": "Dołącz pliki (razem najwyżej 10 MB)",
    "Thank you: your answer has reached us.": "Dziękujemy: odpowiedź do nas dotarła.",
    "Thank you: the request is closed.": "Dziękujemy: zgłoszenie jest zamknięte.",
    "The request is open again: we will pick it up at once.":
        "Zgłoszenie jest ponownie otwarte: od razu się nim zajmiemy.",
    "Thank you: we have received your request.": "Dziękujemy: otrzymaliśmy zgłoszenie.",
    "What is it about?": "Czego dotyczy?", "Your message": "Wiadomość",
    "question": "Pytanie", "complaint": "Reklamacja", "invoice": "Faktura",
    "technical": "Problem techniczny", "cancellation": "Wypowiedzenie",
    "The files are larger than 10 MB together.": "Pliki są razem większe niż 10 MB.",
    "There is no such request.": "Nie ma takiego zgłoszenia.",
    "Something went wrong": "Coś poszło nie tak",
    "This form has expired. Reload the page and try again.":
        "Formularz wygasł. Proszę odświeżyć stronę i spróbować ponownie.",
    "Your session has ended. Open the link in one of our mails again.":
        "Sesja wygasła. Proszę ponownie otworzyć link z naszej wiadomości.",
    "The message is empty.": "Wiadomość jest pusta.", "The subject is empty.": "Temat jest pusty.",
    "Language": "Język",
    "This request became a new one, because it was closed long ago:":
        "Powstało nowe zgłoszenie, ponieważ poprzednie zamknięto dawno temu:",
}

DE: dict[str, str] = {
    "Your requests": "Ihre Anfragen",
    "Customer portal": "Kundenportal",
    "Your requests with us": "Ihre Anfragen bei uns",
    "Follow your requests, answer them, send files and file a new request.":
        "Verfolgen Sie Ihre Anfragen, beantworten Sie sie, senden Sie Dateien und stellen Sie neue Anfragen.",
    "You open the portal with the personal link in our mails. Lost it? Enter your e-mail address "
    "and we will mail you a link.":
        "Sie öffnen das Portal mit dem persönlichen Link aus unseren Mails. Verloren? Geben Sie Ihre "
        "E-Mail-Adresse ein, und wir mailen Ihnen einen Link.",
    "Your e-mail address": "Ihre E-Mail-Adresse", "Mail me my link": "Link zusenden",
    "If we know this address, a mail with your personal link is on its way.":
        "Wenn wir diese Adresse kennen, ist eine Mail mit Ihrem persönlichen Link unterwegs.",
    "Too many attempts. Wait a few minutes and try again.":
        "Zu viele Versuche. Bitte warten Sie einige Minuten und versuchen Sie es erneut.",
    "This link does not work (any more). Ask for a new one below.":
        "Dieser Link funktioniert nicht (mehr). Fordern Sie unten einen neuen an.",
    "Sign out": "Abmelden", "Signed in as": "Angemeldet als",
    "New request": "Neue Anfrage", "File a new request": "Neue Anfrage stellen",
    "You have no requests with us yet.": "Sie haben noch keine Anfragen bei uns.",
    "Your company's requests": "Die Anfragen Ihres Unternehmens",
    "Request": "Anfrage", "Subject": "Betreff", "Status": "Status", "Last change": "Letzte Änderung",
    "From": "Von", "Files": "Dateien",
    "in progress": "in Bearbeitung", "waiting for you": "wartet auf Sie", "resolved": "gelöst",
    "closed": "geschlossen", "received": "eingegangen",
    "Conversation": "Verlauf", "You": "Sie", "We": "Wir",
    "Back to your requests": "Zurück zu Ihren Anfragen",
    "Is it solved?": "Ist es gelöst?",
    "We consider this request resolved. Do you agree?":
        "Wir betrachten diese Anfrage als gelöst. Sind Sie einverstanden?",
    "Yes, solved": "Ja, gelöst", "No, not solved": "Nein, nicht gelöst",
    "Your answer": "Ihre Antwort", "Send": "Senden",
    "Attach files (at most 10 MB together)": "Dateien anhängen (zusammen höchstens 10 MB)",
    "Thank you: your answer has reached us.": "Danke: Ihre Antwort ist bei uns eingegangen.",
    "Thank you: the request is closed.": "Danke: die Anfrage ist geschlossen.",
    "The request is open again: we will pick it up at once.":
        "Die Anfrage ist wieder offen: wir kümmern uns sofort darum.",
    "Thank you: we have received your request.": "Danke: wir haben Ihre Anfrage erhalten.",
    "What is it about?": "Worum geht es?", "Your message": "Ihre Nachricht",
    "question": "Frage", "complaint": "Beschwerde", "invoice": "Rechnung",
    "technical": "Technisches Problem", "cancellation": "Kündigung",
    "The files are larger than 10 MB together.": "Die Dateien sind zusammen größer als 10 MB.",
    "There is no such request.": "Diese Anfrage gibt es nicht.",
    "Something went wrong": "Etwas ist schiefgelaufen",
    "This form has expired. Reload the page and try again.":
        "Dieses Formular ist abgelaufen. Laden Sie die Seite neu und versuchen Sie es erneut.",
    "Your session has ended. Open the link in one of our mails again.":
        "Ihre Sitzung ist abgelaufen. Öffnen Sie den Link aus einer unserer Mails erneut.",
    "The message is empty.": "Die Nachricht ist leer.", "The subject is empty.": "Der Betreff ist leer.",
    "Language": "Sprache",
    "This request became a new one, because it was closed long ago:":
        "Daraus wurde eine neue Anfrage, weil die alte vor langer Zeit geschlossen wurde:",
}

TABLES = {"nl": NL, "pl": PL, "de": DE, "en": {}}
LANGUAGES = tuple(TABLES)
NAMES = {"nl": "Nederlands", "en": "English", "pl": "Polski", "de": "Deutsch"}

# What the kind's label is in the subject the rules read ("Klacht: ..."), per language:
# words a customer writing a mail would use, so the shipped rules route them.
SUBJECT_LABELS: dict[str, dict[str, str]] = {
    "nl": {"question": "Vraag", "complaint": "Klacht", "invoice": "Factuur", "technical": "Storing",
           "cancellation": "Opzegging"},
    "en": {"question": "Question", "complaint": "Complaint", "invoice": "Invoice",
           "technical": "Technical problem, error", "cancellation": "Cancellation"},
    "pl": {"question": "Pytanie", "complaint": "Reklamacja", "invoice": "Faktura",
           "technical": "Problem techniczny, błąd", "cancellation": "Wypowiedzenie"},
    "de": {"question": "Frage", "complaint": "Beschwerde", "invoice": "Rechnung",
           "technical": "Technisches Problem, Fehler", "cancellation": "Kündigung"},
}


def translator(language: str | None) -> Callable[[str], str]:
    table = TABLES.get((language or "en")[:2].lower(), {})

    def _(text: str) -> str:
        return table.get(text, text)

    return _
