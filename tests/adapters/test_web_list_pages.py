"""The ticket list's pages over HTTP: each page's "next" and "previous" link carries its
cursor (board.Cursor), so a page's link, bookmarked and opened in another session, shows
the same tickets; a link with a page number alone (from before cursors) still shows that
page; a cursor that is not one is the first page with a word why, never an error."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from bot.desk import board
from tests.adapters.test_web_face import sign_in, web  # noqa: F401  (the fixture)
from tests.desk.test_board_pages import _expected, _seed

ROW = re.compile(r'<a href="/tickets/(\d+)">')


def numbers(page: str) -> list[int]:
    table = page[page.index('id="tickets"'):page.index("</table>", page.index('id="tickets"'))]
    seen: list[int] = []
    for n in map(int, ROW.findall(table)):
        if n not in seen:
            seen.append(n)
    return seen


def link(page: str, rel: str) -> str | None:
    m = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return html.unescape(m.group(1)) if m else None


def test_each_page_link_carries_its_cursor_and_can_be_bookmarked(web, desk):  # noqa: F811
    tickets = _seed(desk)
    client = web.test_client()
    sign_in(client, desk)
    for sort in ("due", "updated", "newest", "oldest"):
        url: str | None = f"/tickets?sort={sort}" if sort != "newest" else "/tickets"
        pages, links = [], []
        while url:
            page = client.get(url).get_data(as_text=True)
            pages.append(numbers(page))
            links.append(url)
            assert re.search(rf'id="count">[^<]* {len(pages)} / 3</p>', page), (sort, url)
            url = link(page, "next")
            if url:
                query = parse_qs(urlsplit(url).query)
                assert query["after"][0].startswith(f"{sort}_") and query["page"] == [str(len(pages) + 1)]
                assert query.get("sort", ["newest"]) == [sort]
        assert [n for p in pages for n in p] == _expected(tickets, sort), sort
        # a bookmark of page 3, opened in another session: the same tickets, and back
        other = web.test_client()
        sign_in(other, desk)
        page = other.get(links[2]).get_data(as_text=True)
        assert numbers(page) == pages[2]
        back = link(page, "prev")
        assert back and "before=" in back
        page = other.get(back).get_data(as_text=True)
        assert numbers(page) == pages[1]
        first = link(page, "prev")
        assert first is not None and "before" not in first and "page" not in first  # page 1: the plain list
        assert numbers(other.get(first).get_data(as_text=True)) == pages[0]
        # an old bookmark, page number alone
        legacy = other.get(f"/tickets?sort={sort}&page=2").get_data(as_text=True)
        assert numbers(legacy) == pages[1]


def test_a_cursor_that_is_not_one_shows_the_first_page(web, desk):  # noqa: F811
    _seed(desk, 60)
    client = web.test_client()
    sign_in(client, desk)
    first = numbers(client.get("/tickets?sort=due").get_data(as_text=True))
    for bad in ("x", "due_0_<script>_1", "updated_0_1_1", "due_9_1_1", "due_0_1e400_1"):
        r = client.get("/tickets", query_string={"sort": "due", "page": "2", "after": bad})
        assert r.status_code == 200
        page = r.get_data(as_text=True)
        assert "<script>" not in page
        assert numbers(page) == first and "not one this list gave out" in page
    assert board.PAGE_SIZE == 50
