"""Tiny language guesser for customer mail: Dutch, English, Polish or German.

Counts stopwords (words that are frequent in one of the languages and rare in the
others) plus words with Polish or German letters. No dependency, no model: good
enough to pick the language of a template, and it says "don't know" (``default``)
when the evidence is thin.

Dutch and German share frequent words (die, was, hier, er, dank, an): those count for
both, so they cancel out and the words only one of the two has decide. (Before German
was a language here, 15 of 15 German mails were taken for Dutch through them.)
"""

from __future__ import annotations

import re

# Only words that are frequent in one language and (nearly) absent from the other
# two. Deliberately left out because they are shared: "is", "in", "we", "to", "i",
# "o", "a", "de" (also Polish/English loan use is rare, but "de" is kept for Dutch:
# it is the most frequent Dutch word and not a Polish or English word).
_STOPWORDS: dict[str, frozenset[str]] = {
    "nl": frozenset(
        """
        de het een en van ik je jij jullie dat die niet met voor op zijn wij ons onze
        uw u graag bedankt alvast groet groeten vriendelijke hierbij deze wat er maar
        ook heb hebben heeft kunt kan kunnen bij naar om als dan nog geen mijn wordt
        worden zou zouden moet moeten wil willen waren was hier daar wel al nu
        bericht bestelling factuur dank beste geachte heer mevrouw tot welke wanneer
        hoe waarom omdat alstublieft svp vandaag morgen gisteren mee uit over
        """.split()
    ),
    "de": frozenset(
        """
        und ich sie nicht das ist mit für auf dem den des ein eine einen einem einer der
        zu sich auch wir ihr ihre ihnen ihrem ihren bitte danke vielen grüße gruß grüßen
        freundlichen freundliche sehr geehrte geehrter herr frau hallo guten tag mfg
        wurde wurden werden wird haben hat habe hatte sind bin kann können könnten
        möchte möchten über noch schon nur aber oder wenn weil dass daß diese dieser
        dieses siehe anhang anbei rechnung bestellung kündigung vertrag nachricht
        leider bereits gerne heute morgen gestern sich uns unser unsere euch nach bei
        aus vom zum zur im ihnen ob wie warum wann sowie sowohl jedoch also
        die was hier er dank an
        """.split()
    ),
    "en": frozenset(
        """
        the and of you your our for it that this with be are have has had please
        thanks thank regards would could can not my me hi hello dear from will as
        at by an or if do does did was were been which what when where who how
        there their they them he she his her us all any some about just kind best
        order invoice received send sent attached let know see also should
        """.split()
    ),
    "pl": frozenset(
        """
        w z na do nie się jest że jak po od za dla czy oraz ale mam są prosimy
        proszę dziękuję dziękujemy pozdrawiam pozdrowienia dzień dobry witam bardzo
        już tak jestem mój moje moja który która które tylko może będzie jeśli
        jako przez przy pod nad bez też lub albo gdy kiedy jeszcze wszystko
        faktura faktury zamówienie zamówienia szanowni szanowny pani pan państwo
        ten ta te tego tej tym co są być było była został została
        """.split()
    ),
}

_WORD = re.compile(r"[^\W\d_]+")
_PL_DIACRITICS = frozenset("ąćęłńóśźż")
_DE_LETTERS = frozenset("äüß")
_MAX_CHARS = 4000


def detect_language(text: str, default: str | None = None) -> str | None:
    """Return "nl", "en", "pl" or "de" for ``text``, or ``default`` when unsure.

    Unsure means: the best language has fewer than 2 hits, or two languages tie.
    """
    if not text:
        return default
    scores = {"nl": 0, "en": 0, "pl": 0, "de": 0}
    nl, en, pl, de = _STOPWORDS["nl"], _STOPWORDS["en"], _STOPWORDS["pl"], _STOPWORDS["de"]
    for word in _WORD.findall(text[:_MAX_CHARS].lower()):
        if word in nl:
            scores["nl"] += 1
        if word in en:
            scores["en"] += 1
        if word in pl:
            scores["pl"] += 1
        if word in de:
            scores["de"] += 1
        if not word.isascii() and len(word) > 1:   # a lone "ä" is no word
            if not _PL_DIACRITICS.isdisjoint(word):
                scores["pl"] += 1
            if not _DE_LETTERS.isdisjoint(word):
                scores["de"] += 1
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    if best_score < 2 or best_score == second_score:
        return default
    return best
