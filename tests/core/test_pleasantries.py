"""Thanks alone does not reopen a resolved ticket; anything more does."""

from __future__ import annotations

import pytest

from bot.core.pleasantries import only_thanks


@pytest.mark.parametrize("text", [
    "Bedankt!", "Thanks!", "Dziękuję bardzo", "Vielen Dank!", "Thank you very much for your help.",
    "Hartelijk dank,\n\nJan de Vries", "Super, bedankt voor de hulp!\n\nMet vriendelijke groet,\nJan",
    "thx", "Danke schön\nGrüße", "Top, dank je wel 👍",
])
def test_thanks_alone(text):
    assert only_thanks(text, "Jan de Vries")


@pytest.mark.parametrize("text", [
    "Bedankt, maar de factuur klopt nog steeds niet.", "Thanks, but it is still broken.",
    "Dziękuję, ale strona nadal nie działa.", "", "Ok", "Hallo Jan",
    "Thanks! Could you also send the invoice for March? We need it for our accounts.",
])
def test_more_than_thanks(text):
    assert not only_thanks(text, "Jan de Vries")
