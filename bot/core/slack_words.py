"""What the bot says to staff in Slack, in each staff language (rules.yaml `language:`
per person, else the desk's): `/ticket`'s answers and help, the bot's remarks in a
ticket's thread, the message shortcut's modal, reaction confirmations. Pure.

`TEXTS[key]` has the words in nl, en and pl with the same placeholders (values are
mrkdwn already: the caller escapes outside text with bot/core/slack_text.escape);
tests/core/test_staff_texts.py fails when one language lacks a text, or a text is used
that is not here. A refusal's own words are bot/core/refusal_texts.py."""

from __future__ import annotations

from bot.core.refusal_texts import LANGUAGES, STATUS, language_of

__all__ = ["HELP", "LANGUAGES", "TEXTS", "help_text", "say", "status"]

TEXTS: dict[str, dict[str, str]] = {
    # -- a refusal, around its words (bot/core/refusal_texts.py)
    "not-done": {"en": "Not done: {why}.", "nl": "Niet gedaan: {why}.", "pl": "Nie wykonano: {why}."},
    "not-done-icon": {"en": ":no_entry: Not done: {why}.", "nl": ":no_entry: Niet gedaan: {why}.",
                      "pl": ":no_entry: Nie wykonano: {why}."},
    "refused-icon": {"en": ":no_entry: {why}.", "nl": ":no_entry: {why}.", "pl": ":no_entry: {why}."},
    "failed": {"en": "Sorry, that did not work. The problem has been logged; please try again in a moment.",
               "nl": "Sorry, dat lukte niet. Het probleem is vastgelegd; probeer het zo nog eens.",
               "pl": "Niestety, nie udało się. Problem został zapisany; spróbuj ponownie za chwilę."},
    # -- /ticket
    "which-ticket": {"en": "Which ticket? For example `/ticket {verb} 12`.",
                     "nl": "Welk ticket? Bijvoorbeeld `/ticket {verb} 12`.",
                     "pl": "Które zgłoszenie? Na przykład `/ticket {verb} 12`."},
    "unknown-command": {"en": "Unknown command `{verb}`.", "nl": "Onbekende opdracht `{verb}`.",
                        "pl": "Nieznane polecenie `{verb}`."},
    "no-ticket": {"en": "No ticket {number}.", "nl": "Geen ticket {number}.",
                  "pl": "Brak zgłoszenia {number}."},
    "taken": {"en": "{tag} is yours now.", "nl": "{tag} is nu van u.", "pl": "{tag} jest teraz Twoje."},
    "assign-whom": {"en": "Assign to whom? `/ticket assign 12 marta [reason]`",
                    "nl": "Aan wie? `/ticket assign 12 marta [reden]`",
                    "pl": "Komu przydzielić? `/ticket assign 12 marta [powód]`"},
    "assigned": {"en": "{tag} now belongs to {person}.", "nl": "{tag} is nu van {person}.",
                 "pl": "{tag} należy teraz do {person}."},
    "resolved": {"en": "{tag} resolved; the customer was asked to reply if it is not.",
                 "nl": "{tag} opgelost; de klant is gevraagd te antwoorden als het dat niet is.",
                 "pl": "{tag} rozwiązane; klienta poproszono o odpowiedź, jeśli tak nie jest."},
    "reopened": {"en": "{tag} reopened.", "nl": "{tag} heropend.", "pl": "{tag} otwarte ponownie."},
    "kind-now": {"en": "{tag} is a {kind} now.", "nl": "{tag} is nu: {kind}.", "pl": "{tag} to teraz: {kind}."},
    "how-long": {"en": "How long? `/ticket time 12 15m called the customer`",
                 "nl": "Hoe lang? `/ticket time 12 15m klant gebeld`",
                 "pl": "Jak długo? `/ticket time 12 15m telefon do klienta`"},
    "time-logged": {"en": "{tag}: {duration} logged for {person}; {total} in all.",
                    "nl": "{tag}: {duration} vastgelegd voor {person}; {total} in totaal.",
                    "pl": "{tag}: zapisano {duration} dla {person}; razem {total}."},
    "which-invoice": {"en": "Which invoice? `/ticket {verb} 12 2026-114`",
                      "nl": "Welke factuur? `/ticket {verb} 12 2026-114`",
                      "pl": "Która faktura? `/ticket {verb} 12 2026-114`"},
    "held": {"en": "{tag}: invoice {invoice} on hold; on hold now: {held}.",
             "nl": "{tag}: factuur {invoice} on hold; nu on hold: {held}.",
             "pl": "{tag}: faktura {invoice} wstrzymana; wstrzymane teraz: {held}."},
    "released": {"en": "{tag}: invoice {invoice} released; on hold now: {held}.",
                 "nl": "{tag}: factuur {invoice} vrijgegeven; nu on hold: {held}.",
                 "pl": "{tag}: faktura {invoice} zwolniona; wstrzymane teraz: {held}."},
    "none": {"en": "none", "nl": "geen", "pl": "brak"},
    "note-needs-text": {"en": "A note needs text: `/ticket note 12 called, will call back`",
                        "nl": "Een notitie heeft tekst nodig: `/ticket note 12 gebeld, belt terug`",
                        "pl": "Notatka wymaga tekstu: `/ticket note 12 dzwoniłem, oddzwoni`"},
    "note-added": {"en": "Note added to {tag}.", "nl": "Notitie toegevoegd aan {tag}.",
                   "pl": "Dodano notatkę do {tag}."},
    "search-what": {"en": "Search for what? `/ticket search bakkerij`",
                    "nl": "Waarnaar zoeken? `/ticket search bakkerij`",
                    "pl": "Czego szukać? `/ticket search bakkerij`"},
    "nothing-found": {"en": "Nothing found for “{words}”.", "nl": "Niets gevonden voor “{words}”.",
                      "pl": "Nic nie znaleziono dla „{words}”."},
    "usage-new": {"en": "Usage: `/ticket new customer@example.com [kind] what they asked`",
                  "nl": "Zo gebruikt u het: `/ticket new klant@example.com [soort] wat de klant vroeg`",
                  "pl": "Użycie: `/ticket new klient@example.com [rodzaj] o co pytał klient`"},
    "usage-call": {"en": "Usage: `/ticket call customer@example.com what they asked`",
                   "nl": "Zo gebruikt u het: `/ticket call klant@example.com wat de klant vroeg`",
                   "pl": "Użycie: `/ticket call klient@example.com o co pytał klient`"},
    "opened-acked": {"en": "{tag} opened for {contact} ({kind}, owner {owner}); the customer is "
                           "acknowledged by mail.",
                     "nl": "{tag} geopend voor {contact} ({kind}, eigenaar {owner}); de klant krijgt "
                           "een ontvangstbevestiging per mail.",
                     "pl": "{tag} otwarte dla {contact} ({kind}, właściciel {owner}); klient dostaje "
                           "potwierdzenie mailem."},
    "opened-not-acked": {"en": "{tag} opened for {contact} ({kind}, owner {owner}); the customer is "
                               "not acknowledged (#noack).",
                         "nl": "{tag} geopend voor {contact} ({kind}, eigenaar {owner}); de klant "
                               "krijgt geen ontvangstbevestiging (#noack).",
                         "pl": "{tag} otwarte dla {contact} ({kind}, właściciel {owner}); klient nie "
                               "dostaje potwierdzenia (#noack)."},
    "opened": {"en": "{tag} opened for {contact} ({kind}, owner {owner}).",
               "nl": "{tag} geopend voor {contact} ({kind}, eigenaar {owner}).",
               "pl": "{tag} otwarte dla {contact} ({kind}, właściciel {owner})."},
    "opened-already": {"en": "{tag} was opened for this message already.",
                       "nl": "{tag} is al voor dit bericht geopend.",
                       "pl": "{tag} zostało już otwarte dla tej wiadomości."},
    "cannot-read": {"en": ":warning: I cannot read that message (is the bot in this channel?).",
                    "nl": ":warning: Ik kan dat bericht niet lezen (zit de bot in dit kanaal?).",
                    "pl": ":warning: Nie mogę odczytać tej wiadomości (czy bot jest na tym kanale?)."},
    # -- in a ticket's thread
    "not-attached": {"en": ":warning: Not attached to the mail (over {mb} MB together): {names}.",
                     "nl": ":warning: Niet bij de mail gevoegd (samen meer dan {mb} MB): {names}.",
                     "pl": ":warning: Nie dołączono do wiadomości (razem ponad {mb} MB): {names}."},
    "not-mailed-stranger": {"en": ":no_entry: Not mailed and not recorded: {why}.",
                            "nl": ":no_entry: Niet gemaild en niet vastgelegd: {why}.",
                            "pl": ":no_entry: Nie wysłano i nie zapisano: {why}."},
    "not-mailed": {"en": ":warning: Not mailed: {why}.", "nl": ":warning: Niet gemaild: {why}.",
                   "pl": ":warning: Nie wysłano: {why}."},
    "time-not-logged": {"en": ":no_entry: Time not logged: {why}.",
                        "nl": ":no_entry: Tijd niet vastgelegd: {why}.",
                        "pl": ":no_entry: Nie zapisano czasu: {why}."},
    "time-logged-thread": {"en": ":stopwatch: {duration} logged for {person}; {total} in all.",
                           "nl": ":stopwatch: {duration} vastgelegd voor {person}; {total} in totaal.",
                           "pl": ":stopwatch: zapisano {duration} dla {person}; razem {total}."},
    "too-late-change": {"en": ":warning: Too late to change: the mail was already sent.",
                        "nl": ":warning: Te laat om te wijzigen: de mail is al verstuurd.",
                        "pl": ":warning: Za późno na zmianę: wiadomość została już wysłana."},
    "too-late-cancel": {"en": ":warning: Too late to cancel: the mail was already sent.",
                        "nl": ":warning: Te laat om te annuleren: de mail is al verstuurd.",
                        "pl": ":warning: Za późno na anulowanie: wiadomość została już wysłana."},
    "too-large-for-slack": {"en": ":paperclip: Too large for Slack: {names}; in the dossier: {link}",
                            "nl": ":paperclip: Te groot voor Slack: {names}; in het dossier: {link}",
                            "pl": ":paperclip: Za duże dla Slacka: {names}; w dossier: {link}"},
    "portal-solved": {"en": "The customer confirmed in the portal that it is solved: closed.",
                      "nl": "De klant bevestigde in het portaal dat het is opgelost: gesloten.",
                      "pl": "Klient potwierdził w portalu, że sprawa jest rozwiązana: zamknięte."},
    "portal-not-solved": {"en": "The customer says in the portal that it is *not solved*: reopened.",
                          "nl": "De klant zegt in het portaal dat het *niet opgelost* is: heropend.",
                          "pl": "Klient pisze w portalu, że sprawa *nie jest rozwiązana*: otwarte "
                                "ponownie."},
    # -- /ticket show (a ticket as a few lines)
    "card-line": {"en": "{kind} · {status} · owner {owner} · customer {customer}",
                  "nl": "{kind} · {status} · eigenaar {owner} · klant {customer}",
                  "pl": "{kind} · {status} · właściciel {owner} · klient {customer}"},
    "unknown": {"en": "(unknown)", "nl": "(onbekend)", "pl": "(nieznany)"},
    "first-action-due": {"en": "first action due {due}", "nl": "eerste actie uiterlijk {due}",
                         "pl": "pierwsze działanie do {due}"},
    "time-total": {"en": "time logged: {total}", "nl": "bestede tijd: {total}", "pl": "zapisany czas: {total}"},
    "open-in-desk": {"en": "Open in the desk", "nl": "Openen in de desk", "pl": "Otwórz w systemie"},
    # -- the message shortcut "Create ticket for…" and its modal
    "modal-title": {"en": "Create ticket for…", "nl": "Ticket maken voor…", "pl": "Utwórz zgłoszenie dla…"},
    "modal-submit": {"en": "Create ticket", "nl": "Ticket maken", "pl": "Utwórz zgłoszenie"},
    "modal-close": {"en": "Cancel", "nl": "Annuleren", "pl": "Anuluj"},
    "modal-customer": {"en": "Customer's mail address", "nl": "Mailadres van de klant",
                       "pl": "Adres e-mail klienta"},
    "modal-kind": {"en": "Kind", "nl": "Soort", "pl": "Rodzaj"},
    "modal-kind-rules": {"en": "as the rules route it", "nl": "zoals de regels bepalen",
                         "pl": "według reguł"},
    "modal-text": {"en": "What the customer asked", "nl": "Wat de klant vroeg", "pl": "O co pytał klient"},
    "modal-ack": {"en": "Acknowledgement", "nl": "Ontvangstbevestiging", "pl": "Potwierdzenie"},
    "modal-ack-send": {"en": "Send the customer the acknowledgement",
                       "nl": "Stuur de klant de ontvangstbevestiging",
                       "pl": "Wyślij klientowi potwierdzenie"},
    "modal-call": {"en": "Phone call", "nl": "Telefoongesprek", "pl": "Rozmowa telefoniczna"},
    "modal-need-address": {"en": "A mail address, like customer@example.com",
                           "nl": "Een mailadres, zoals klant@example.com",
                           "pl": "Adres e-mail, np. klient@example.com"},
}

HELP: dict[str, str] = {
    "en": """`/ticket` commands:
• `/ticket 12` or `/ticket show 12` — the ticket
• `/ticket take 12` — it is yours now
• `/ticket assign 12 marta [reason]` — give it to a person or role
• `/ticket resolve 12 [note for the customer]` · `/ticket reopen 12`
• `/ticket kind 12 complaint` · `/ticket note 12 text`
• `/ticket time 12 15m [note]` — time you spent on it (15m, 1h30, 1.5h, 90); in the
  ticket's thread: `time: 15m [note]`
• `/ticket hold 12 2026-114` · `/ticket release 12 2026-114` — keep an invoice from collection
• `/ticket search words` — by number, customer or text
• `/ticket new customer@example.com [kind] text` — a ticket for the customer (they get the
  acknowledgement; add `#noack` if not) · `/ticket call customer@example.com text` — a phone call""",
    "nl": """`/ticket`-opdrachten:
• `/ticket 12` of `/ticket show 12` — het ticket
• `/ticket take 12` — het is nu van u
• `/ticket assign 12 marta [reden]` — geef het aan een persoon of rol
• `/ticket resolve 12 [opmerking voor de klant]` · `/ticket reopen 12`
• `/ticket kind 12 complaint` · `/ticket note 12 tekst`
• `/ticket time 12 15m [notitie]` — tijd die u eraan besteedde (15m, 1h30, 1.5h, 90); in de
  thread van het ticket: `time: 15m [notitie]`
• `/ticket hold 12 2026-114` · `/ticket release 12 2026-114` — houd een factuur uit de incasso
• `/ticket search woorden` — op nummer, klant of tekst
• `/ticket new klant@example.com [soort] tekst` — een ticket voor de klant (die krijgt de
  ontvangstbevestiging; zet er `#noack` bij als dat niet moet) · `/ticket call klant@example.com tekst`
  — een telefoongesprek""",
    "pl": """Polecenia `/ticket`:
• `/ticket 12` lub `/ticket show 12` — zgłoszenie
• `/ticket take 12` — jest teraz Twoje
• `/ticket assign 12 marta [powód]` — przekaż je osobie lub roli
• `/ticket resolve 12 [uwaga dla klienta]` · `/ticket reopen 12`
• `/ticket kind 12 complaint` · `/ticket note 12 tekst`
• `/ticket time 12 15m [notatka]` — czas poświęcony zgłoszeniu (15m, 1h30, 1.5h, 90); w wątku
  zgłoszenia: `time: 15m [notatka]`
• `/ticket hold 12 2026-114` · `/ticket release 12 2026-114` — wstrzymaj windykację faktury
• `/ticket search słowa` — po numerze, kliencie lub tekście
• `/ticket new klient@example.com [rodzaj] tekst` — zgłoszenie dla klienta (dostaje
  potwierdzenie; dodaj `#noack`, jeśli nie) · `/ticket call klient@example.com tekst` — rozmowa
  telefoniczna""",
}


def say(language: str | None, key: str, **params: object) -> str:
    """TEXTS[key] in `language` (a staff language; any other reads English)."""
    return TEXTS[key][language_of(language)].format(**params)


def help_text(language: str | None) -> str:
    return HELP[language_of(language)]


def status(language: str | None, value: str) -> str:
    """A ticket's status in `language`."""
    return STATUS[language_of(language)].get(str(value), str(value))
