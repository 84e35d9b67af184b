"""Mail domains as organisations: which domains are public mail services (an address
there says nothing about the sender's company), and when two domains are one
organisation. Pure: the directory (bot/desk/directory.py) and routing's reading of a
message (bot/core/rules/reading.py) both use it."""

from __future__ import annotations

# Public mail services: an address there says nothing about the sender's company.
# A subdomain of one of these (e.g. poczta.onet.pl) counts as free mail as well.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset({
    # international
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "rocketmail.com", "icloud.com", "me.com", "mac.com",
    "aol.com", "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "mail.com",
    "gmx.com", "zoho.com", "yandex.com", "yandex.ru", "mail.ru", "tutanota.com",
    "fastmail.com", "hey.com", "hotmail.co.uk", "live.co.uk", "yahoo.co.uk",
    # Netherlands and Belgium
    "hotmail.nl", "live.nl", "outlook.nl", "yahoo.nl", "ziggo.nl", "kpnmail.nl",
    "kpnplanet.nl", "planet.nl", "home.nl", "hetnet.nl", "xs4all.nl", "casema.nl",
    "upcmail.nl", "chello.nl", "telfort.nl", "tele2.nl", "online.nl", "quicknet.nl",
    "zeelandnet.nl", "hccnet.nl", "solcon.nl", "caiway.nl", "hotmail.be", "live.be",
    "outlook.be", "telenet.be", "skynet.be",
    # Germany
    "gmx.de", "gmx.net", "gmx.at", "web.de", "t-online.de", "freenet.de", "hotmail.de",
    "outlook.de", "live.de", "yahoo.de",
    # Poland
    "wp.pl", "o2.pl", "onet.pl", "onet.eu", "op.pl", "interia.pl", "interia.eu",
    "gazeta.pl", "tlen.pl", "poczta.fm", "vp.pl", "go2.pl", "buziaczek.pl", "int.pl",
    "autograf.pl",
})


def parents(domain: str) -> list[str]:
    """The domain and its parents, most specific first, never a bare top-level domain."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def same_organisation(a: str, b: str) -> bool:
    """Two mail domains of one organisation: the same, or one a parent of the other
    (nl.acme.com and acme.com; never joined by a bare top-level domain)."""
    return a in parents(b) or b in parents(a)


def is_free_mail(domain: str) -> bool:
    return any(d in FREE_MAIL_DOMAINS for d in parents(domain.lower()))
