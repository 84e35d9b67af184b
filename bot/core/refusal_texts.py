"""What a refused request says, per channel and in the reader's language: the one place
where a desk refusal (bot/desk/errors.py `Refused`, with a `code` and its params) becomes
words. Pure.

Every channel but the command line reads it from here: Slack (`/ticket`, thread
remarks, the shortcut), the mail answers to colleagues (staff-refused), the web face and
the REST API. The command line shows the refusal's own message, which may name its flags
(`--reason`); no other channel names a command-line flag or command: each says what its
reader can do *there* (the Slack command, the mail command, the field on the page).

`REFUSALS[code]` holds the words for every channel ("*") and, where a channel's way of
doing it differs, that channel's own; each in every staff language (nl, en, pl), with the
same placeholders. tests/core/test_staff_texts.py keeps the table complete."""

from __future__ import annotations

LANGUAGES = ("en", "nl", "pl")
CHANNELS = ("slack", "mail", "web", "api")

# A ticket's status as the refusals name it ({status}).
STATUS = {
    "en": {"new": "new", "open": "open", "waiting": "waiting", "resolved": "resolved", "closed": "closed"},
    "nl": {"new": "nieuw", "open": "open", "waiting": "wacht op klant", "resolved": "opgelost",
           "closed": "gesloten"},
    "pl": {"new": "nowe", "open": "otwarte", "waiting": "czeka na klienta", "resolved": "rozwiązane",
           "closed": "zamknięte"},
}

REFUSALS: dict[str, dict[str, dict[str, str]]] = {
    # -- who may (bot/desk/actor.py)
    "not-in-rules": {"*": {
        "en": "you are not in rules.yaml (people:), so you can neither see nor change tickets; ask "
              "the desk's administrator to add you",
        "nl": "u staat niet in rules.yaml (people:), dus u kunt geen tickets zien of wijzigen; vraag "
              "de beheerder van de balie u toe te voegen",
        "pl": "nie ma Cię w rules.yaml (people:), więc nie możesz przeglądać ani zmieniać zgłoszeń; "
              "poproś administratora biura o dodanie"}},
    "take-needs-person": {"*": {
        "en": "tickets can only be taken by a person in rules.yaml (people: with their slack id)",
        "nl": "alleen iemand uit rules.yaml (people:, met een slack-id) kan een ticket oppakken",
        "pl": "zgłoszenie może przejąć tylko osoba z rules.yaml (people:, z identyfikatorem slack)"}},
    "unverified": {"*": {
        "en": "the mail does not answer a notification sent to this address, so its command was not "
              "run (kept as a note)",
        "nl": "de mail is geen antwoord op een melding aan dit adres, dus de opdracht is niet "
              "uitgevoerd (bewaard als notitie)",
        "pl": "wiadomość nie jest odpowiedzią na powiadomienie wysłane na ten adres, więc polecenie "
              "nie zostało wykonane (zachowane jako notatka)"}},
    "operator-only": {"*": {
        "en": "webhook subscriptions are changed by the desk's operator (in rules.yaml) or a trusted "
              "integration; ask the operator",
        "nl": "webhook-abonnementen wijzigt de beheerder van de balie (in rules.yaml) of een "
              "vertrouwde koppeling; vraag het de beheerder",
        "pl": "subskrypcje webhooków zmienia administrator biura (w rules.yaml) lub zaufana "
              "integracja; poproś administratora"},
        "api": {"en": "webhook subscriptions are changed by the desk's operator (in rules.yaml) or an "
                      "integration with a write token",
                "nl": "webhook-abonnementen wijzigt de beheerder van de balie (in rules.yaml) of een "
                      "koppeling met een schrijftoken",
                "pl": "subskrypcje webhooków zmienia administrator biura (w rules.yaml) lub integracja "
                      "z tokenem do zapisu"}},
    # -- tickets (bot/desk/actions.py, routing.py)
    "no-ticket": {"*": {
        "en": "there is no ticket {number}", "nl": "er is geen ticket {number}",
        "pl": "nie ma zgłoszenia {number}"}},
    "no-address": {"*": {
        "en": "ticket {ticket} has no customer address to reply to",
        "nl": "ticket {ticket} heeft geen adres van de klant om op te antwoorden",
        "pl": "zgłoszenie {ticket} nie ma adresu klienta, na który można odpowiedzieć"}},
    "reply-empty": {"*": {"en": "the reply is empty", "nl": "het antwoord is leeg",
                          "pl": "odpowiedź jest pusta"}},
    "reopen-first": {
        "*": {"en": "ticket {ticket} is {status}; reopen it first",
              "nl": "ticket {ticket} is {status}; heropen het eerst",
              "pl": "zgłoszenie {ticket} jest {status}; najpierw otwórz je ponownie"},
        "slack": {"en": "ticket {ticket} is {status}; reopen it first: `/ticket reopen {ticket}`",
                  "nl": "ticket {ticket} is {status}; heropen het eerst: `/ticket reopen {ticket}`",
                  "pl": "zgłoszenie {ticket} jest {status}; najpierw otwórz je ponownie: "
                        "`/ticket reopen {ticket}`"},
        "web": {"en": "ticket {ticket} is {status}; reopen it first (Reopen, on this page)",
                "nl": "ticket {ticket} is {status}; heropen het eerst (Heropen, op deze pagina)",
                "pl": "zgłoszenie {ticket} jest {status}; najpierw otwórz je ponownie (Otwórz "
                      "ponownie, na tej stronie)"},
        "mail": {"en": "ticket {ticket} is {status}, and a closed ticket is not reopened by mail; "
                       "ask its owner to reopen it",
                 "nl": "ticket {ticket} is {status}, en een afgesloten ticket wordt niet per mail "
                       "heropend; vraag de eigenaar het te heropenen",
                 "pl": "zgłoszenie {ticket} jest {status}, a zamkniętego zgłoszenia nie otwiera się "
                       "ponownie mailem; poproś właściciela o ponowne otwarcie"},
        "api": {"en": "ticket {ticket} is {status}; reopen it first (POST /tickets/{ticket}/reopen)",
                "nl": "ticket {ticket} is {status}; heropen het eerst (POST /tickets/{ticket}/reopen)",
                "pl": "zgłoszenie {ticket} jest {status}; najpierw otwórz je ponownie "
                      "(POST /tickets/{ticket}/reopen)"}},
    "already-status": {"*": {
        "en": "ticket {ticket} is already {status}", "nl": "ticket {ticket} is al {status}",
        "pl": "zgłoszenie {ticket} jest już {status}"}},
    "not-resolved": {"*": {
        "en": "ticket {ticket} is {status}, not resolved",
        "nl": "ticket {ticket} is {status}, niet opgelost",
        "pl": "zgłoszenie {ticket} jest {status}, a nie rozwiązane"}},
    "unknown-kind": {"*": {
        "en": "unknown kind '{kind}'; kinds: {kinds}", "nl": "onbekende soort ‘{kind}’; soorten: {kinds}",
        "pl": "nieznany rodzaj „{kind}”; rodzaje: {kinds}"}},
    "unknown-target": {"*": {
        "en": "'{target}' is neither a person nor a filled role; known: {known}",
        "nl": "‘{target}’ is geen persoon en geen bezette rol; bekend: {known}",
        "pl": "„{target}” to ani osoba, ani obsadzona rola; znane: {known}"}},
    "already-owner": {"*": {
        "en": "ticket {ticket} is already {person}'s", "nl": "ticket {ticket} is al van {person}",
        "pl": "zgłoszenie {ticket} już należy do {person}"}},
    "reason-needed": {
        "*": {"en": "say why: reassignments are recorded with their reason",
              "nl": "zeg waarom: een nieuwe eigenaar wordt met de reden vastgelegd",
              "pl": "podaj powód: zmiana właściciela jest zapisywana z powodem"},
        "slack": {"en": "say why: `/ticket assign {ticket} NAME reason`",
                  "nl": "zeg waarom: `/ticket assign {ticket} NAAM reden`",
                  "pl": "podaj powód: `/ticket assign {ticket} IMIĘ powód`"},
        "mail": {"en": "say why after the name: #assign NAME reason",
                 "nl": "zeg waarom, na de naam: #assign NAAM reden",
                 "pl": "podaj powód po imieniu: #assign IMIĘ powód"},
        "web": {"en": "say why, in the reason field next to Assign",
                "nl": "zeg waarom, in het veld reden naast Toewijzen",
                "pl": "podaj powód w polu powód obok Przydziel"},
        "api": {"en": "say why: \"reason\" in the request's JSON",
                "nl": "zeg waarom: \"reason\" in de JSON van het verzoek",
                "pl": "podaj powód: \"reason\" w JSON żądania"}},
    # -- on behalf of a customer
    "not-an-address": {"*": {
        "en": "'{customer}' is not a mail address; give the customer's address",
        "nl": "‘{customer}’ is geen mailadres; geef het adres van de klant",
        "pl": "„{customer}” to nie adres e-mail; podaj adres klienta"}},
    "own-address": {"*": {
        "en": "{address} is the desk's own address; give the customer's address",
        "nl": "{address} is een adres van de balie zelf; geef het adres van de klant",
        "pl": "{address} to adres samego biura; podaj adres klienta"}},
    "unknown-kind-or-call": {"*": {
        "en": "unknown kind '{kind}'; kinds: {kinds} (or call)",
        "nl": "onbekende soort ‘{kind}’; soorten: {kinds} (of call)",
        "pl": "nieznany rodzaj „{kind}”; rodzaje: {kinds} (lub call)"}},
    "text-empty": {"*": {
        "en": "what did the customer ask? The text is empty", "nl": "wat vroeg de klant? De tekst is leeg",
        "pl": "o co pytał klient? Tekst jest pusty"}},
    "which-customer": {"*": {
        "en": "which customer is it? Use the message's shortcut “Create ticket for…” to give their "
              "address",
        "nl": "welke klant is het? Gebruik de snelkoppeling “Ticket maken voor…” van het bericht om "
              "het adres te geven",
        "pl": "który to klient? Użyj skrótu wiadomości „Utwórz zgłoszenie dla…”, aby podać adres"}},
    # -- invoices on hold, time
    "not-invoice": {"*": {
        "en": "'{invoice}' is not an invoice number (letters, digits, - / . _; at least one digit)",
        "nl": "‘{invoice}’ is geen factuurnummer (letters, cijfers, - / . _; minstens één cijfer)",
        "pl": "„{invoice}” to nie numer faktury (litery, cyfry, - / . _; co najmniej jedna cyfra)"}},
    "not-held": {"*": {
        "en": "invoice {invoice} is not on hold for ticket {ticket} (on hold: {held})",
        "nl": "factuur {invoice} staat niet on hold voor ticket {ticket} (on hold: {held})",
        "pl": "faktura {invoice} nie jest wstrzymana dla zgłoszenia {ticket} (wstrzymane: {held})"}},
    "hold-closed": {
        "*": {"en": "ticket {ticket} is {status}: a hold lasts while the ticket is open; reopen it first",
              "nl": "ticket {ticket} is {status}: een hold duurt zolang het ticket open is; heropen "
                    "het eerst",
              "pl": "zgłoszenie {ticket} jest {status}: wstrzymanie trwa, dopóki zgłoszenie jest "
                    "otwarte; najpierw otwórz je ponownie"},
        "slack": {"en": "ticket {ticket} is {status}: a hold lasts while the ticket is open; reopen "
                        "it first: `/ticket reopen {ticket}`",
                  "nl": "ticket {ticket} is {status}: een hold duurt zolang het ticket open is; "
                        "heropen het eerst: `/ticket reopen {ticket}`",
                  "pl": "zgłoszenie {ticket} jest {status}: wstrzymanie trwa, dopóki zgłoszenie "
                        "jest otwarte; najpierw otwórz je ponownie: `/ticket reopen {ticket}`"},
        "web": {"en": "ticket {ticket} is {status}: a hold lasts while the ticket is open; reopen it "
                      "first (Reopen, on this page)",
                "nl": "ticket {ticket} is {status}: een hold duurt zolang het ticket open is; heropen "
                      "het eerst (Heropen, op deze pagina)",
                "pl": "zgłoszenie {ticket} jest {status}: wstrzymanie trwa, dopóki zgłoszenie jest "
                      "otwarte; najpierw otwórz je ponownie (Otwórz ponownie, na tej stronie)"},
        "mail": {"en": "ticket {ticket} is {status}: a hold lasts while the ticket is open, and a "
                       "closed ticket is not reopened by mail; ask its owner",
                 "nl": "ticket {ticket} is {status}: een hold duurt zolang het ticket open is, en "
                       "een afgesloten ticket wordt niet per mail heropend; vraag het de eigenaar",
                 "pl": "zgłoszenie {ticket} jest {status}: wstrzymanie trwa, dopóki zgłoszenie jest "
                       "otwarte, a zamkniętego zgłoszenia nie otwiera się ponownie mailem; poproś "
                       "właściciela"}},
    "already-held": {"*": {
        "en": "invoice {invoice} is already on hold for ticket {ticket}",
        "nl": "factuur {invoice} staat al on hold voor ticket {ticket}",
        "pl": "faktura {invoice} jest już wstrzymana dla zgłoszenia {ticket}"}},
    "not-duration": {"*": {
        "en": "'{duration}' is not a duration; e.g. 15m, 1h30, 1.5h or 90 (minutes)",
        "nl": "‘{duration}’ is geen duur; bijvoorbeeld 15m, 1h30, 1.5h of 90 (minuten)",
        "pl": "„{duration}” to nie czas trwania; np. 15m, 1h30, 1.5h lub 90 (minut)"}},
    "duration-too-short": {"*": {
        "en": "'{duration}': a duration must be at least one minute",
        "nl": "‘{duration}’: een duur is minstens één minuut",
        "pl": "„{duration}”: czas trwania to co najmniej jedna minuta"}},
    "duration-too-long": {"*": {
        "en": "'{duration}': more than 24 hours in one entry; log each day apart",
        "nl": "‘{duration}’: meer dan 24 uur in één regel; leg elke dag apart vast",
        "pl": "„{duration}”: ponad 24 godziny w jednym wpisie; zapisz każdy dzień osobno"}},
    # -- written cancellations (bot/desk/cancellation_workflow.py)
    "not-cancellation": {"*": {
        "en": "ticket {ticket} is not a written cancellation",
        "nl": "ticket {ticket} is geen schriftelijke opzegging",
        "pl": "zgłoszenie {ticket} nie jest pisemnym wypowiedzeniem"}},
    "outcome-recorded": {"*": {
        "en": "ticket {ticket}: the outcome was already recorded as {outcome} by {by}",
        "nl": "ticket {ticket}: de uitkomst is al vastgelegd als {outcome} door {by}",
        "pl": "zgłoszenie {ticket}: wynik został już zapisany jako {outcome} przez {by}"}},
    "lost-needs-reason": {
        "*": {"en": "a lost customer needs a reason", "nl": "een verloren klant heeft een reden nodig",
              "pl": "utracony klient wymaga podania powodu"},
        "mail": {"en": "#lost needs a reason: #lost too expensive",
                 "nl": "#lost heeft een reden nodig: #lost te duur",
                 "pl": "#lost wymaga powodu: #lost za drogo"},
        "api": {"en": "a lost customer needs a reason: \"reason\" in the request's JSON",
                "nl": "een verloren klant heeft een reden nodig: \"reason\" in de JSON van het verzoek",
                "pl": "utracony klient wymaga powodu: \"reason\" w JSON żądania"}},
    "unknown-action": {"*": {
        "en": "unknown action '{how}'; one of {kinds}", "nl": "onbekende actie ‘{how}’; een van {kinds}",
        "pl": "nieznane działanie „{how}”; jedno z: {kinds}"}},
    "no-field": {"*": {
        "en": "kind '{kind}' has no field '{name}'; its fields: {fields}",
        "nl": "soort ‘{kind}’ heeft geen veld ‘{name}’; de velden: {fields}",
        "pl": "rodzaj „{kind}” nie ma pola „{name}”; jego pola: {fields}"}},
    # -- the web's forms (bot/adapters/web/pages.py): {field} as the page names it
    "field-empty": {"*": {"en": "{field} is empty", "nl": "{field} is leeg", "pl": "{field}: puste pole"}},
    # -- a colleague's mail command as written (bot/core/staff_commands.py, bot/desk/staff_mail.py)
    "mail-no-text": {"*": {
        "en": "the mail has no text of its own", "nl": "de mail heeft geen eigen tekst",
        "pl": "wiadomość nie ma własnego tekstu"}},
    "mail-unknown-command": {"*": {
        "en": "unknown command {command}; known: {known} (kept as a note)",
        "nl": "onbekende opdracht {command}; bekend: {known} (bewaard als notitie)",
        "pl": "nieznane polecenie {command}; znane: {known} (zachowane jako notatka)"}},
    "mail-reply-empty": {"*": {
        "en": "#reply with nothing to send", "nl": "#reply zonder iets om te versturen",
        "pl": "#reply bez treści do wysłania"}},
    "mail-assign-whom": {"*": {
        "en": "#assign needs a person or role: #assign marta",
        "nl": "#assign heeft een persoon of rol nodig: #assign marta",
        "pl": "#assign wymaga osoby lub roli: #assign marta"}},
    "mail-time-how-long": {"*": {
        "en": "#time needs a duration: #time 15m called the customer",
        "nl": "#time heeft een duur nodig: #time 15m klant gebeld",
        "pl": "#time wymaga czasu trwania: #time 15m telefon do klienta"}},
    "mail-which-invoice": {"*": {
        "en": "{command} needs an invoice number: {command} 2026-114",
        "nl": "{command} heeft een factuurnummer nodig: {command} 2026-114",
        "pl": "{command} wymaga numeru faktury: {command} 2026-114"}},
    "mail-done-one": {"*": {
        "en": "ticket {tag} has {count} open tasks; #done needs exactly one",
        "nl": "ticket {tag} heeft {count} open taken; #done heeft er precies één nodig",
        "pl": "zgłoszenie {tag} ma {count} otwartych zadań; #done wymaga dokładnie jednego"}},
}


def language_of(language: str | None) -> str:
    lang = (language or "")[:2].lower()
    return lang if lang in LANGUAGES else "en"


def say(code: str | None, params: dict, message: str, channel: str, language: str | None) -> str:
    """A refusal as `channel` says it in `language` (a staff language; others read English);
    the command line ("cli"), and a refusal without words here, get `message` itself, as
    does the REST API (English, for integrations) unless the code has API words."""
    variants = REFUSALS.get(code or "") if channel != "cli" else None
    if not variants or (channel == "api" and "api" not in variants):
        return message.rstrip(".")  # the API keeps its English, but for its own words here
    lang = language_of(language)
    text = (variants.get(channel) or variants["*"])[lang]
    words = {k: STATUS[lang].get(str(v), str(v)) if k == "status" else v for k, v in params.items()}
    try:
        return text.format(**words)
    except (KeyError, IndexError):  # a raise site without a param its words name: never fail
        return message.rstrip(".")
