"""Realistic customer mail, generated: for tests and the benchmark corpus.

Mixed languages and charsets (utf-8, iso-8859-2, windows-1252 mislabelled as latin-1),
HTML-only mail, attachments, replies with quoted history.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

BODIES = {
    "nl": ("Goedemiddag,\n\nWij hebben een vraag over de factuur van deze maand. Het bedrag "
           "klopt niet met de offerte die wij van onze adviseur hebben gekregen. Kunt u dit "
           "nakijken en ons laten weten wat er is misgegaan?\n\nMet vriendelijke groet,\n{name}\n"),
    "en": ("Hello,\n\nWe have a question about this month's invoice. The amount does not "
           "match the quote we received from our advisor. Could you look into it and let us "
           "know what went wrong?\n\nKind regards,\n{name}\n"),
    "pl": ("Dzień dobry,\n\nmamy pytanie dotyczące faktury za ten miesiąc. Kwota nie zgadza "
           "się z ofertą, którą otrzymaliśmy od naszego doradcy. Czy mogą Państwo to sprawdzić "
           "i dać nam znać, co poszło nie tak?\n\nZ poważaniem,\n{name}\n"),
}
SUBJECTS = {"nl": "Vraag over factuur {i}", "en": "Question about invoice {i}",
            "pl": "Pytanie dotyczące faktury {i}"}
NAMES = ["Jan de Vries", "Anna Kowalska", "Peter Smith", "Łukasz Wiśniewski", "Marieke Jansen",
         "Zoë Müller"]
BASE = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def customer_mail(i: int, *, lang: str | None = None, variant: str | None = None,
                  domain: str = "customer{n}.example", to: str = "support@desk.example",
                  rng: random.Random | None = None, message_id: str | None = "auto",
                  subject: str | None = None, in_reply_to: str | None = None) -> bytes:
    """Mail number i. variant: plain | html | attachment | cp1252 | latin2 | reply."""
    rng = rng or random.Random(i)
    lang = lang or ("nl", "en", "pl")[i % 3]
    variant = variant or ("plain", "plain", "html", "attachment", "cp1252", "latin2", "reply")[i % 7]
    name = NAMES[i % len(NAMES)]
    dom = domain.format(n=i % 500)
    msg = EmailMessage()
    msg["From"] = f"{name} <contact{i % 2000}@{dom}>"
    msg["To"] = to
    msg["Subject"] = subject or SUBJECTS[lang].format(i=i)
    msg["Date"] = format_datetime(BASE + timedelta(seconds=i * 37))
    if message_id == "auto":
        msg["Message-ID"] = f"<gen-{i}-{rng.getrandbits(40):x}@{dom}>"
    elif message_id:
        msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    body = BODIES[lang].format(name=name)
    if variant == "reply":
        quoted = "\n".join("> " + line for line in BODIES[lang].format(name="Support").splitlines())
        body += f"\nOn Mon, 2 Nov 2026 at 10:00, Support <{to}> wrote:\n{quoted}\n"
    if variant == "html":
        html = "<html><body>" + "".join(f"<p>{line}</p>" for line in body.split("\n\n")) + \
            "<table><tr><td>Factuur</td><td>&euro; 1.250,00</td></tr></table></body></html>"
        msg.set_content(html, subtype="html", charset="utf-8")
    elif variant == "cp1252":
        text = body + "\nBedrag: €\u00a01.250,00 – „dringend” – it’s late\n"
        msg.set_content(text.encode("cp1252", "replace"), maintype="text", subtype="plain",
                        cte="8bit")
        msg.replace_header("Content-Type", 'text/plain; charset="iso-8859-1"')
    elif variant == "latin2":
        text = BODIES["pl"].format(name="Łukasz Wiśniewski")
        msg.set_content(text, charset="iso-8859-2")
    else:
        msg.set_content(body)
    if variant == "attachment":
        size = rng.randint(2_000, 20_000)
        msg.add_attachment(bytes(rng.getrandbits(8) for _ in range(size)), maintype="application",
                           subtype="pdf", filename=f"factuur-{i}.pdf")
    return msg.as_bytes(policy=SMTP)


def corpus(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [customer_mail(i, rng=rng) for i in range(n)]
