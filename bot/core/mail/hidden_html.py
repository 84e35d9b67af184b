"""Text in an HTML mail that nobody sees: tiny (font-size 0 or 1 px), transparent
(opacity 0), hidden (visibility: hidden, display: none), or white on a white page. A
person does not read it, so neither does routing or language detection: it is removed
before the HTML is turned into text. (The HTML itself is kept as it came.)"""

from __future__ import annotations

import re

import lxml.html

_DECL = re.compile(r"([a-z-]+)\s*:\s*([^;]+)", re.IGNORECASE)
_WHITE = {"white", "#fff", "#ffffff", "rgb(255,255,255)", "rgba(255,255,255,1)"}
_TINY = re.compile(r"^0*(?:\.\d+)?(?:px|pt|em|rem|%)?$|^[01](?:\.0+)?(?:px|pt)$")


def _style(element: lxml.html.HtmlElement) -> dict[str, str]:
    return {k.lower(): v.strip().lower().replace(" ", "").replace("!important", "")
            for k, v in _DECL.findall(element.get("style") or "")}


def _background(element: lxml.html.HtmlElement) -> str | None:
    """The background the element's text is drawn on: its own or the nearest
    ancestor's (a style or the old bgcolor attribute); None: the page's, white."""
    node: lxml.html.HtmlElement | None = element
    while node is not None:
        style = _style(node)
        declared = style.get("background-color") or style.get("background") or node.get("bgcolor")
        if declared:
            return declared.strip().lower().replace(" ", "")
        node = node.getparent()
    return None


def _invisible(element: lxml.html.HtmlElement) -> bool:
    style = _style(element)
    if style.get("display") == "none" or style.get("visibility") == "hidden":
        return True
    if style.get("opacity") in ("0", "0.0", "0%"):
        return True
    if "font-size" in style and _TINY.match(style["font-size"]):
        return True
    if style.get("color") in _WHITE:
        background = _background(element)
        return background is None or background in _WHITE
    return False


def without_hidden_text(html: str) -> str:
    """The HTML with every element a reader cannot see taken out (its tail text stays)."""
    if "style" not in html.lower():  # only inline styles hide text: nothing to take out
        return html
    try:
        root = lxml.html.document_fromstring(html)
    except (ValueError, TypeError, lxml.etree.ParserError):
        return html
    doomed = [el for el in root.iter() if isinstance(el.tag, str) and el.get("style")
              and _invisible(el)]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent
    return lxml.html.tostring(root, encoding="unicode")
