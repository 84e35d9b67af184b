"""bot/core/render.py renders a mail's parts by Jinja's low-level API (one plain dict of
globals and context, no ChainMap): what it gives must be what Template.render gives."""

from __future__ import annotations

import traceback

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, UndefinedError

from bot.core.render import MailTemplates, _render

SOURCES = {
    # Jinja's globals (range, namespace, dict, cycler, joiner), a {% set %} at the top
    # level, a macro, a loop, a filter and a test
    "mail/x.en.txt": (
        "{% set ns = namespace(n=0) %}{% set title = subject | upper %}"
        "{% macro line(k, v) %}{{ k }}: {{ v }}{% endmacro %}"
        "{{ title }}\n{% for i in range(count) %}{% set ns.n = ns.n + i %}{{ line(i, items[i]) }}\n"
        "{% endfor %}sum {{ ns.n }} {{ dict(a=1)['a'] }}{% set c = cycler('a', 'b') %}"
        "{{ c.next() }}{{ c.next() }}{% if maybe is defined %}{{ maybe }}{% endif %}\n"),
    "mail/x.en.subject": "  {{ subject }}   [{{ count }}]  ",
    "mail/x.en.html": "<p>{{ subject }}</p>{% for i in items %}<b>{{ i }}</b>{% endfor %}",
    "mail/broken.en.txt": "one\ntwo {{ missing }}\n",
}


def _env(autoescape: bool) -> Environment:
    return Environment(loader=DictLoader(SOURCES), undefined=StrictUndefined,
                       autoescape=autoescape, keep_trailing_newline=True)


@pytest.mark.parametrize("context", [
    {"subject": "Factuur <b>&</b> 12", "count": 3, "items": ["a", "<i>b</i>", "c"]},
    {"subject": "", "count": 0, "items": [], "maybe": "here"},
])
def test_a_mail_renders_as_template_render_renders_it(context):
    text, html = _env(False), _env(True)
    parts = MailTemplates(text.get_template("mail/x.en.subject"), text.get_template("mail/x.en.txt"),
                          html.get_template("mail/x.en.html"), "en")
    mail = parts.render(dict(context))
    assert mail.text == parts.text.render(context)
    assert mail.html == parts.html.render(context)  # autoescaped: "&lt;i&gt;"
    assert mail.subject == " ".join(parts.subject.render(context).split())
    assert "&lt;i&gt;b&lt;/i&gt;" in (mail.html or "") or not context["items"]
    for t in (parts.subject, parts.text):  # one context dict for every part: none changes it
        assert _render(t, context) == t.render(context)
    assert set(context) <= {"subject", "count", "items", "maybe"}


def test_an_undefined_name_fails_as_template_render_fails_naming_the_templates_line():
    t = _env(False).get_template("mail/broken.en.txt")
    with pytest.raises(UndefinedError, match="missing") as caught:
        _render(t, {})
    # the traceback ends in the template's line 2 (Jinja's rewritten frame), as render's
    last = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert (last.filename, last.lineno, last.name) == ("<template>", 2, "top-level template code")
    with pytest.raises(UndefinedError, match="missing") as by_render:
        t.render({})
    assert traceback.extract_tb(by_render.value.__traceback__)[-1].lineno == 2
