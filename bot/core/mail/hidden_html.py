"""Text in an HTML mail that nobody sees: tiny (font-size 0 or 1 px), transparent
(opacity 0), hidden (visibility: hidden, display: none), or white on a white page,
whether by an inline style or by a simple rule of a <style> block (`.x`, `#id`, `span`,
`span.x`). A person does not read it, so neither does routing or language detection: it
is removed before the HTML is turned into text. (The HTML itself is kept as it came.)"""

from __future__ import annotations

import re

import lxml.html

_DECL = re.compile(r"([a-z-]+)\s*:\s*([^;]+)", re.IGNORECASE)
_WHITE = {"white", "#fff", "#ffffff", "rgb(255,255,255)", "rgba(255,255,255,1)"}
_TINY = re.compile(r"^0*(?:\.\d+)?(?:px|pt|em|rem|%)?$|^[01](?:\.0+)?(?:px|pt)$")


_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SELECTOR = re.compile(r"^([a-z][a-z0-9]*)?(?:([.#])([a-z0-9_-]+))?$", re.IGNORECASE)
Sheet = list[tuple[str | None, str | None, str | None, dict[str, str]]]  # tag, ".", name, decls


def _decls(text: str) -> dict[str, str]:
    return {k.lower(): v.strip().lower().replace(" ", "").replace("!important", "")
            for k, v in _DECL.findall(text or "")}


def _sheet(root: lxml.html.HtmlElement) -> Sheet:
    """The simple rules of the document's <style> blocks (anything fancier is ignored)."""
    rules: Sheet = []
    for block in root.iter("style"):
        css = re.sub(r"/\*.*?\*/", "", block.text or "", flags=re.DOTALL)
        for selectors, body in _RULE.findall(css[:100_000]):
            decls = _decls(body)
            for selector in selectors.split(","):
                m = _SELECTOR.match(selector.strip())
                if m and (m.group(1) or m.group(3)):
                    rules.append((m.group(1) and m.group(1).lower(), m.group(2), m.group(3), decls))
    return rules


def _style(element: lxml.html.HtmlElement, sheet: Sheet = ()) -> dict[str, str]:  # type: ignore[assignment]
    style: dict[str, str] = {}
    if sheet:
        classes = set((element.get("class") or "").split())
        ident = element.get("id")
        for tag, kind, name, decls in sheet:
            if tag and tag != element.tag:
                continue
            if kind == "." and name not in classes or kind == "#" and name != ident:
                continue
            style.update(decls)
    style.update(_decls(element.get("style") or ""))
    return style


def _background(element: lxml.html.HtmlElement, sheet: Sheet) -> str | None:
    """The background the element's text is drawn on: its own or the nearest
    ancestor's (a style or the old bgcolor attribute); None: the page's, white."""
    node: lxml.html.HtmlElement | None = element
    while node is not None:
        style = _style(node, sheet)
        declared = style.get("background-color") or style.get("background") or node.get("bgcolor")
        if declared:
            return declared.strip().lower().replace(" ", "")
        node = node.getparent()
    return None


def _invisible(element: lxml.html.HtmlElement, sheet: Sheet) -> bool:
    style = _style(element, sheet)
    if style.get("display") == "none" or style.get("visibility") == "hidden":
        return True
    if style.get("opacity") in ("0", "0.0", "0%"):
        return True
    if "font-size" in style and _TINY.match(style["font-size"]):
        return True
    if style.get("color") in _WHITE:
        background = _background(element, sheet)
        return background is None or background in _WHITE
    return False


def without_hidden_text(html: str) -> str:
    """The HTML with every element a reader cannot see taken out (its tail text stays)."""
    if "style" not in html.lower():  # only styles hide text: nothing to take out
        return html
    try:
        root = lxml.html.document_fromstring(html)
    except (ValueError, TypeError, lxml.etree.ParserError):
        return html
    sheet = _sheet(root)
    doomed = [el for el in root.iter() if isinstance(el.tag, str) and el.tag != "style"
              and (el.get("style") or sheet) and _invisible(el, sheet)]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent
    return lxml.html.tostring(root, encoding="unicode")
