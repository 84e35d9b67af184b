"""Jinja2 over templates/: text without escaping, HTML autoescaped, StrictUndefined both."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

if TYPE_CHECKING:  # Jinja is imported on the first render: most commands render nothing
    from jinja2 import Environment, Template

# Which mail templates go to customers: those exist in every language a customer may
# write in; every other template goes to staff and exists in exactly the staff
# languages (rules.yaml `language:` per person). tests/core/test_template_languages.py
# holds templates/mail/ to this.
CUSTOMER_TEMPLATES = frozenset({"ack", "ack-cancellation", "reply", "resolved", "contract-ending",
                                "portal-link"})
CUSTOMER_LANGUAGES = ("nl", "en", "pl", "de")
STAFF_LANGUAGES = ("nl", "en", "pl")


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None
    language: str


class Renderer:
    def __init__(self, directory: Path, default_language: str = "en"):
        self.directory = Path(directory)
        self.default_language = default_language

    @cached_property
    def _text(self) -> Environment:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined
        return Environment(loader=FileSystemLoader(self.directory), undefined=StrictUndefined,
                           autoescape=False, keep_trailing_newline=True)

    @cached_property
    def _html(self) -> Environment:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined
        return Environment(loader=FileSystemLoader(self.directory), undefined=StrictUndefined,
                           autoescape=True)

    def languages(self, name: str, language: str | None) -> list[str]:
        """The customer's language, then English for a language the desk has no text in
        (a German customer of a Dutch desk reads English sooner than Dutch), then the
        desk's default; with no language known, the desk's default first."""
        out: list[str] = []
        order = (language, "en", self.default_language) if language else (self.default_language, "en")
        for lang in order:
            if lang and lang not in out:
                out.append(lang)
        return out

    def render_page(self, name: str, context: dict) -> str:
        """An HTML template (autoescaped), e.g. report/open-complaints.html."""
        return self._html.get_template(name).render(**context)

    def render_mail(self, name: str, language: str | None, context: dict) -> RenderedMail:
        """Render templates/mail/NAME.LANG.{subject,txt,html}; falls back as ``languages``
        says. The subject template is one line; HTML is optional."""
        return self.mail_templates(name, language).render(context)

    def mail_templates(self, name: str, language: str | None) -> MailTemplates:
        """The compiled parts of mail template NAME in the first of ``languages`` it
        exists in. A caller rendering many mails from one template (the SLA sweep) keeps
        this and renders each context with it: the files are looked up once, not per
        mail (Jinja checks each file's age on every lookup, and a missing HTML part is
        searched for every time)."""
        from jinja2 import TemplateNotFound
        for lang in self.languages(name, language):
            try:
                text_t = self._text.get_template(f"mail/{name}.{lang}.txt")
            except TemplateNotFound:
                continue
            subject_t = self._text.get_template(f"mail/{name}.{lang}.subject")
            try:
                html_t: Template | None = self._html.get_template(f"mail/{name}.{lang}.html")
            except TemplateNotFound:
                html_t = None
            return MailTemplates(subject_t, text_t, html_t, lang)
        raise TemplateNotFound(f"mail/{name}.*.txt (languages tried: {self.languages(name, language)})")


@dataclass(frozen=True)
class MailTemplates:
    """One mail template's compiled parts in one language (``Renderer.mail_templates``)."""

    subject: Template
    text: Template
    html: Template | None
    language: str

    def render(self, context: dict) -> RenderedMail:
        subject = _render(self.subject, context)
        html = _render(self.html, context) if self.html is not None else None
        return RenderedMail(" ".join(subject.split()), _render(self.text, context), html, self.language)


# a template's globals (Jinja's range, dict, namespace, ...) as a plain dict, per template
# (weakly: a template Jinja reloads from a changed file is a new one)
_GLOBALS: WeakKeyDictionary[Template, dict] = WeakKeyDictionary()


def _render(template: Template, context: dict) -> str:
    """What ``template.render(context)`` gives, by Jinja's low-level API: the globals
    and the context merged in one plain dict, handed to the context as it is
    (``shared=True``). Template.render merges them through a ChainMap, key by key in
    Python: a third of the time of a short template (an SLA sweep renders thousands)."""
    known = _GLOBALS.get(template)
    if known is None:
        known = _GLOBALS[template] = dict(template.globals)
    ctx = template.new_context({**known, **context}, shared=True)
    try:
        return template.environment.concat(template.root_render_func(ctx))
    except Exception:
        template.environment.handle_exception()
        raise  # handle_exception always raises (the template's line in the traceback)
