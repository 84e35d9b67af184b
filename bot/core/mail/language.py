"""Language of a customer's mail: Dutch, English, Polish or German, else ``default``.

Two readers, the cheap one first:

1. **Stopwords** (words frequent in one of the languages and rare in the others, plus
   words with Polish or German letters). When the best language has two or more hits and
   no other language as many, that is the answer (about 9 µs on a short mail; it decides
   most desk mail: 99 % of the routing set's mails).
2. **lingua** (``lingua-language-detector``, low-accuracy mode: trigram models that ship in
   the wheel, nothing is downloaded), restricted to the desk's four languages and the
   other languages mail reaches a desk in, for the rest, when there are at least
   ``_MODEL_MIN_LETTERS`` letters to read. It answers a language the desk does not write
   (Italian, Japanese, ...) with ``default``. Below that length its guesses are noise
   (``Re: Test / Hello`` comes out Italian with 84 % "confidence").
3. A short mail whose only recognised word is one language's (``Hello``, ``Bedankt``,
   ``Dziękuję``) is in that language; anything else is ``default``.

Dutch and German share frequent words (die, was, hier, er, dank, an): those count for
both, so they cancel out and the words only one of the two has decide. The lists hold the
words a mail client writes in its user's language too (weekdays, the labels of a forward
header: "Gesendet: Donnerstag, ... Betreff:"), and the greeting of the evening ("Guten
Abend"): they tell the writer's language when the own text is a forward or placeholders. Why lingua and not
py3langid (``docs/design.md``, "Reading real-world mail"): as accurate on these mails,
a fifth of the memory (py3langid loads numpy and a 90 MB model in every parser process),
and it starts in 0.3 s instead of 3.5 s.
"""

from __future__ import annotations

import functools
import re

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

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
        goedemorgen goedemiddag hoi
        avond verzonden onderwerp maandag dinsdag woensdag donderdag vrijdag zaterdag zondag
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
        abend gesendet betreff uhr montag dienstag mittwoch donnerstag freitag samstag sonntag
        """.split()
    ),
    "en": frozenset(
        """
        the and of you your our for it that this with be are have has had please
        thanks thank regards would could can not my me hi hello dear from will as
        at by an or if do does did was were been which what when where who how
        there their they them he she his her us all any some about just kind best
        order invoice received send sent attached let know see also should
        monday tuesday wednesday thursday friday saturday sunday
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
        wysłano temat poniedziałek wtorek środa czwartek piątek sobota niedziela
        """.split()
    ),
}

_WORD = re.compile(r"[^\W\d_]+")
_PL_DIACRITICS = frozenset("ąćęłńóśźż")
_DE_LETTERS = frozenset("äüß")
_MAX_CHARS = 4000
# The model reads at most this much: a language shows in its first lines, and lingua's
# time grows with the text.
_MODEL_MAX_CHARS = 1000
# Fewer letters than this and the model is not asked (see the module docstring).
_MODEL_MIN_LETTERS = 40
# Between this and _MODEL_MIN_LETTERS the model only chooses among the desk's languages,
# and only when it is this sure.
_SHORT_MIN_LETTERS = 8
_SHORT_SURE = 0.9
# A text with this share of its letters in another script than Latin is in none of the
# desk's languages (a Japanese mail with an English signature still has most letters
# Japanese; an English mail quoting Russian has not).
_OTHER_SCRIPT_SHARE = 2 / 3
# A mail with a single recognised word is read by it only when it is this short (a
# greeting and a name); longer, a lone shared word proves nothing.
_LONE_WORD_MAX_WORDS = 8

DESK_LANGUAGES = ("nl", "en", "pl", "de")
# Besides the desk's own: the languages mail reaches a desk in. Knowing them keeps an
# Italian or Czech mail from being taken for the nearest desk language.
_MODEL_LANGUAGES = (
    Language.DUTCH, Language.ENGLISH, Language.POLISH, Language.GERMAN,
    Language.FRENCH, Language.ITALIAN, Language.SPANISH, Language.PORTUGUESE,
    Language.DANISH, Language.SWEDISH, Language.CZECH, Language.SLOVAK,
    Language.RUSSIAN, Language.UKRAINIAN, Language.TURKISH,
    Language.JAPANESE, Language.CHINESE, Language.KOREAN,
)
# Subject prefixes carry no language ("Re: Test" is no English).
_SUBJECT_PREFIX = re.compile(r"^(?:\s*(?:re|aw|fw|fwd|wg|sv|vs|odp|r|i|tr|antw)\s*:)+", re.I)


@functools.cache
def _model() -> LanguageDetector:
    """Built on first use (0.3 s, about 20 MB); every parser process builds its own."""
    return LanguageDetectorBuilder.from_languages(*_MODEL_LANGUAGES).with_low_accuracy_mode().build()


def _mostly_other_script(sample: str, letters: int) -> bool:
    """At least ``_OTHER_SCRIPT_SHARE`` of the letters outside the Latin script (all four
    desk languages are written in it: Latin-1 and Latin Extended-A/B, U+0000-U+024F)."""
    other = sum(1 for ch in sample if ch > "\u024f" and ch.isalpha())
    return other >= _OTHER_SCRIPT_SHARE * letters


# Each stopword with the languages it counts for: one dictionary look-up a word (the
# language detector's cost is mostly this loop over a mail's first 4,000 characters).
_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _code, _words in _STOPWORDS.items():
    for _w in _words:
        _LANGUAGES_OF[_w] = (*_LANGUAGES_OF.get(_w, ()), _code)


def _counts(text: str) -> tuple[dict[str, int], int]:
    scores = {"nl": 0, "en": 0, "pl": 0, "de": 0}
    languages_of = _LANGUAGES_OF
    words = _WORD.findall(text[:_MAX_CHARS].lower())
    for word in words:
        codes = languages_of.get(word)
        if codes is not None:
            for code in codes:
                scores[code] += 1
        if not word.isascii() and len(word) > 1:   # a lone "ä" is no word
            if not _PL_DIACRITICS.isdisjoint(word):
                scores["pl"] += 1
            if not _DE_LETTERS.isdisjoint(word):
                scores["de"] += 1
    return scores, len(words)


# The language a desk answers a mail in that it is sure is in none of its own languages
# (an Italian, a Japanese customer): English, the lingua franca, not the desk's default
# (that is for mail whose language is unclear).
FOREIGN_ANSWER = "en"
# The reason detect_language_explained gives for a text surely in another language,
# followed by its code in brackets: other_language() reads the code back from it.
_OTHER_LANGUAGE = "model: other language"


def other_language(how: str) -> str | None:
    """From ``detect_language_explained``'s reason: the other language the text is
    surely in ("it", "ja", "other script"), or None (one of the desk's, or unsure)."""
    if how == "other script":
        return how
    if how.startswith(f"{_OTHER_LANGUAGE} (") and how.endswith(")"):
        return how[len(_OTHER_LANGUAGE) + 2:-1]
    return None


def detect_language(text: str, default: str | None = None) -> str | None:
    """Return "nl", "en", "pl" or "de" for ``text``, or ``default`` when unsure or when
    the mail is in a language the desk does not write."""
    return detect_language_explained(text, default)[0]


def detect_language_explained(text: str, default: str | None = None) -> tuple[str | None, str]:
    """``detect_language`` with the reader that decided: "stopwords", "other script",
    "model", "model: other language", "one word", "unsure"."""
    if not text:
        return default, "unsure"
    first, nl, rest = text.partition("\n")
    text = _SUBJECT_PREFIX.sub("", first) + nl + rest
    scores, nwords = _counts(text)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    if best_score >= 2 and best_score > second_score:
        return best, "stopwords"
    sample = text[:_MODEL_MAX_CHARS]
    letters = sum(ch.isalpha() for ch in sample)
    if letters >= _MODEL_MIN_LETTERS and _mostly_other_script(sample, letters):
        # Cyrillic, CJK, Hangul, Greek...: none of the desk's languages, and the model's
        # costliest case (more than half its time on the real-world corpus); not asked.
        return default, "other script"
    if letters >= _MODEL_MIN_LETTERS:
        found = _model().detect_language_of(sample)
        if found is not None:
            code = found.iso_code_639_1.name.lower()
            if code in DESK_LANGUAGES:
                return code, "model"
            return default, f"{_OTHER_LANGUAGE} ({code})"
    if best_score == 1 and second_score == 0 and nwords <= _LONE_WORD_MAX_WORDS:
        return best, "one word"
    if _SHORT_MIN_LETTERS <= letters < _MODEL_MIN_LETTERS:
        # Short: the model's own pick is noise, but among the desk's languages alone it
        # is sure of "Test headers" (English) or "Zie bijgevoegde brief" (Dutch). A text
        # it is sure is in another language ("Gracias, saludos") is left to the default.
        values = [(v.language.iso_code_639_1.name.lower(), v.value)
                  for v in _model().compute_language_confidence_values(sample)]
        if values and values[0][0] not in DESK_LANGUAGES and values[0][1] >= _SHORT_SURE:
            return default, f"{_OTHER_LANGUAGE} ({values[0][0]})"
        desk = [(c, v) for c, v in values if c in DESK_LANGUAGES]
        total = sum(v for _, v in desk)
        if total > 0 and desk[0][1] / total >= _SHORT_SURE:
            return desk[0][0], "model, short text, desk languages"
    return default, "unsure"
