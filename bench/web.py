"""Benchmark of the web face (issue 11): 100,000 tickets with 1,000,000 messages on SQLite
and PostgreSQL; the p50/p95 of the dashboard, the list with a filter, full-text searches
and a ticket page, and the time of the monthly report, each asked over real HTTP of the
real web server (bot/adapters/web/server.py, in a process of its own) by a signed-in
person.

    python -m bench --only web                      # both databases
    python -m bench --only web --web-db sqlite --web-requests 20

Seeding is bulk inserts (executemany on SQLite, COPY on PostgreSQL), the search index
rows included (stemmed by the desk's own code, bot/store/search_index.py). The seeded
SQLite file is kept in var/bench/ and reused when it is there (delete it to seed anew).

Another page is one more (label, path, headers) in `PATHS`: `{ticket}` in a path is a
random ticket number per request, e.g. ("API list", "/api/v1/tickets?status=open",
{"Accept": "application/json"}).
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import random
import re
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "var" / "bench"
NOW = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)  # a Wednesday
REPORT_MONTH = "2026-10"
SEED = 11

# (label, path, headers): `{ticket}` is a random ticket number per request
PATHS: list[tuple[str, str, dict[str, str]]] = [
    ("baseline: the sign-in page (no database)", "/login", {}),
    ("dashboard", "/", {}),
    ("list, filter: open complaints of sanne", "/tickets?status=open-all&kind=complaint&owner=sanne", {}),
    ("list, filter: page 40 of resolved", "/tickets?status=resolved&page=40", {}),
    ("full-text search, common word (factuur)", "/tickets?q=facturen", {}),
    ("full-text search, two words", "/tickets?q=bezorging+advertentie", {}),
    ("full-text search, rare word", "/tickets?q=zeppelin", {}),
    # the other sorts, paged by keyset; "walk:N:path": page N, reached by following each
    # page's "next" link from path (as a person clicks), then timed
    ("list, sort due", "/tickets?sort=due", {}),
    ("list, sort updated: open tickets", "/tickets?status=open-all&sort=updated", {}),
    ("list, sort due: page 40 of resolved (by its links)", "walk:40:/tickets?status=resolved&sort=due", {}),
    ("list, sort updated: page 40 (by its links)", "walk:40:/tickets?sort=updated", {}),
    ("full-text search, common word, sort due", "/tickets?q=facturen&sort=due", {}),
    ("full-text search, common word, sort updated, page 5 (by its links)",
     "walk:5:/tickets?q=facturen&sort=updated", {}),
    ("ticket page", "/tickets/{ticket}", {}),
    # the REST API (issue 12's target: the list's p95 <= 100 ms); "{token}": a read token
    ("API: list, 50 a page", "/api/v1/tickets?limit=50", {"Authorization": "Bearer {token}"}),
    ("API: list, filter: open tickets of sanne", "/api/v1/tickets?status=open-all&owner=sanne&limit=50",
     {"Authorization": "Bearer {token}"}),
    ("API: one ticket", "/api/v1/tickets/{ticket}", {"Authorization": "Bearer {token}"}),
]
REPORT = ("monthly report", f"/reports?month={REPORT_MONTH}", {})
TARGET_MS = 150
API_TARGET_MS = 100  # issue 12: the API list's p95
REPORT_TARGET_S = 2.0

OWNERS = ["sanne", "ruud", "wim", "rob", "marta", "pieter", "henk"]
KINDS = ["question", "complaint", "request", "invoice", "advertising", "technical", "appointment"]
DOMAIN_WORDS = {  # words a desk's mail is about, by language; spread over the Zipf ranks
    "nl": ["factuur", "facturen", "advertentie", "bezorging", "klacht", "website", "contract",
           "opzegging", "betaling", "korting", "offerte", "bestelling", "levering", "afspraak"],
    "en": ["invoice", "invoices", "advertisement", "delivery", "complaint", "website", "contract",
           "cancellation", "payment", "discount", "quote", "order", "shipping", "meeting"],
    "pl": ["faktura", "faktury", "reklama", "dostawa", "reklamacja", "strona", "umowa",
           "wypowiedzenie", "płatność", "rabat", "oferta", "zamówienie", "spotkanie"],
}
RARE = "zeppelin"  # in about 1 ticket of 2,000


def _vocabulary(rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "me", "ri", "to", "van", "der", "sch", "ing", "en", "ber", "wa",
                 "po", "ne", "sta", "gro", "te", "lijk", "heid", "zo", "mi", "da", "ro", "nie"]
    words = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(6000)}
    return sorted(words)


class Corpus:
    """Deterministic tickets and messages: Zipf-distributed words, the domain words at
    ranks 30-300 (each in a few percent of the messages), nl/en/pl."""

    def __init__(self, seed: int = SEED):
        rng = random.Random(seed)
        vocab = _vocabulary(rng)
        rng.shuffle(vocab)
        self.words: dict[str, list[str]] = {}
        self.cum: dict[str, list[float]] = {}
        for lang, domain in DOMAIN_WORDS.items():
            words = list(vocab[:3000])
            for i, w in enumerate(domain):
                words.insert(30 + i * 20, w)
            self.words[lang] = words
            self.cum[lang] = list(_cumulative([1 / (r + 1) for r in range(len(words))]))

    def text(self, rng: random.Random, lang: str, n: int) -> str:
        words = self.words[lang]
        picked = rng.choices(words, cum_weights=self.cum[lang], k=n)
        if rng.random() < 0.0005:
            picked[rng.randrange(n)] = RARE
        return " ".join(picked).capitalize() + "."


def _cumulative(ws: list[float]):
    total = 0.0
    for w in ws:
        total += w
        yield total


def _sqlite_time(t: datetime | None) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%d %H:%M:%S.%f")


TICKET_COLUMNS = ("id", "kind", "status", "subject", "customer", "contact_email", "contact_name",
                  "owner", "owner_role", "priority", "urgent", "channel", "language", "bounced",
                  "created_at", "updated_at", "first_action_at", "resolved_at", "sla_policy",
                  "next_action_cycle", "paused_seconds", "action_due_at", "first_action_due_at",
                  "resolution_due_at")
MESSAGE_COLUMNS = ("id", "ticket_id", "direction", "channel", "from_addr", "from_name", "to_addrs",
                   "cc_addrs", "subject", "text", "visible_text", "is_bounce", "created_at")
SEARCH_COLUMNS = ("ticket_id", "head", "body")


def generate(tickets: int, messages: int, seed: int = SEED):
    """Yields (ticket row, [message rows], search row) per ticket, in id order."""
    from bot.store import search_index

    rng = random.Random(seed)
    corpus = Corpus(seed)
    span = timedelta(days=730)
    per_ticket = messages / tickets
    message_id = 0
    for number in range(1, tickets + 1):
        lang = rng.choices(("nl", "en", "pl"), (6, 3, 1))[0]
        created = NOW - span * (1 - number / tickets) - timedelta(minutes=rng.randrange(60))
        age = NOW - created
        is_open = age < timedelta(days=30) and rng.random() < 0.5 or rng.random() < 0.01
        kind = rng.choice(KINDS)
        owner = rng.choice(OWNERS)
        company = f"Klant {rng.randrange(5000)} BV"
        email = f"info@klant{rng.randrange(5000)}.example"
        subject = corpus.text(rng, lang, rng.randint(3, 6))
        fa_due = created + timedelta(hours=24)
        fa_at = None if is_open and rng.random() < 0.3 else created + timedelta(hours=rng.randint(1, 40))
        res_due = created + timedelta(days=10)
        resolved = None if is_open else created + timedelta(hours=rng.randint(2, 400))
        status = rng.choice(("new", "open", "waiting")) if is_open else rng.choice(("resolved", "closed"))
        action_due = (fa_due if fa_at is None else NOW + timedelta(hours=rng.randint(-48, 72))) if is_open else None
        ticket = (number, kind, status, subject, company, email, "Klant", owner, "sales_support",
                  "normal", False, "mail", lang, False, created, resolved or fa_at or created,
                  fa_at, resolved, "standard", 0, 0, action_due, fa_due, res_due)
        n = max(1, round(rng.gauss(per_ticket, per_ticket / 3)))
        rows = []
        bodies = []
        for i in range(n):
            message_id += 1
            direction = "in" if i % 2 == 0 else rng.choice(("out", "note"))
            body = corpus.text(rng, lang, rng.randint(12, 30))
            bodies.append(search_index.message_text(lang, "", body))
            rows.append((message_id, number, direction, "mail", email if direction == "in" else "support@desk.example",
                         "Klant", "support@desk.example", "", subject, body, "", False,
                         created + timedelta(hours=i * 3)))
        search = (number, search_index.head_text(lang, subject, company, "Klant", email), " ".join(bodies))
        yield ticket, rows, search


def seed_sqlite(path: Path, tickets: int, messages: int) -> None:
    import sqlite3

    from bot.store.migrate import upgrade

    url = f"sqlite:///{path}"
    upgrade(url)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")  # a new file: nothing to roll back to
    conn.execute("PRAGMA synchronous=OFF")
    t_sql = f"INSERT INTO ticket ({', '.join(TICKET_COLUMNS)}) VALUES ({', '.join('?' * len(TICKET_COLUMNS))})"
    m_sql = f"INSERT INTO message ({', '.join(MESSAGE_COLUMNS)}) VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})"
    s_sql = "INSERT INTO ticket_search (ticket_id, head, body) VALUES (?, ?, ?)"
    # the FTS5 index is built once at the end ('rebuild'), not row by row by the triggers
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                            "AND tbl_name = 'ticket_search'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    ts, ms, ss = [], [], []

    def flush():
        conn.executemany(t_sql, ts)
        conn.executemany(m_sql, ms)
        conn.executemany(s_sql, ss)
        ts.clear()
        ms.clear()
        ss.clear()

    for ticket, rows, search in generate(tickets, messages):
        ts.append(tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in ticket))
        ms.extend(tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in r) for r in rows)
        ss.append(search)
        if len(ts) >= 5000:
            flush()
    flush()
    conn.execute("INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')")
    for _, sql in triggers:
        conn.execute(sql)
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.execute("PRAGMA journal_mode=WAL")  # as the desk opens it
    conn.close()


def seed_postgres(url: str, tickets: int, messages: int) -> None:
    from bot.store.migrate import upgrade
    from bot.store.models import make_engine

    upgrade(url)
    engine = make_engine(url)
    raws = [engine.raw_connection() for _ in range(3)]  # one COPY each, side by side
    try:
        cur = raws[0].cursor()
        cur.execute("DROP INDEX ix_ticket_search_tsv")  # built once at the end
        for table in ("message", "ticket_search"):
            cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_ticket_id_fkey")
        raws[0].commit()
        curs = [r.cursor() for r in raws]

        def plain(row):
            return tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)

        with curs[0].copy(f"COPY ticket ({', '.join(TICKET_COLUMNS)}) FROM STDIN") as t_copy, \
                curs[1].copy(f"COPY message ({', '.join(MESSAGE_COLUMNS)}) FROM STDIN") as m_copy, \
                curs[2].copy(f"COPY ticket_search ({', '.join(SEARCH_COLUMNS)}) FROM STDIN") as s_copy:
            for ticket, rows, search in generate(tickets, messages):
                t_copy.write_row(plain(ticket))
                for r in rows:
                    m_copy.write_row(plain(r))
                s_copy.write_row(search)
        for r in raws:
            r.commit()
        cur = raws[0].cursor()
        cur.execute("CREATE INDEX ix_ticket_search_tsv ON ticket_search USING gin (tsv)")
        cur.execute("ALTER TABLE message ADD CONSTRAINT message_ticket_id_fkey "
                    "FOREIGN KEY (ticket_id) REFERENCES ticket (id)")
        cur.execute("ALTER TABLE ticket_search ADD CONSTRAINT ticket_search_ticket_id_fkey "
                    "FOREIGN KEY (ticket_id) REFERENCES ticket (id) ON DELETE CASCADE")
        for table in ("ticket", "message"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        raws[0].commit()
        driver = raws[0].driver_connection
        driver.autocommit = True
        driver.execute("VACUUM ANALYZE")
    finally:
        for r in raws:
            r.close()
        engine.dispose()


# ---------------------------------------------------------------- the server (a child)
def _server_child(url: str, ready) -> None:
    import logging

    from bot.adapters.rules_file import load_rules
    from bot.adapters.web import WebServer, create_app
    from bot.config import Settings
    from bot.desk import api_tokens
    from bot.desk.context import Desk
    from bot.store.models import make_engine, make_sessionmaker

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(database_url=url, address="support@desk.example", default_language="nl")
    desk = Desk(settings, make_sessionmaker(make_engine(url)), rules=load_rules(REPO / "rules.yaml"),
                clock=lambda: NOW)
    server = WebServer(create_app(desk), "127.0.0.1", 0, per_client=1000)
    server.start()
    token = api_tokens.create(desk, f"bench-{secrets.token_hex(4)}", "read")
    ready.send((server.port, token))
    ready.recv()  # until told to stop
    server.stop()


class Client:
    """A signed-in browser, as far as the server can tell: its session cookie on every
    request, a new connection each time (the server speaks HTTP/1.0)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        conn.close()
        return resp.status, data

    def sign_in(self, url: str, email: str = "sanne@desk.example") -> None:
        """The mailed one-time link: asked for on the page, read from the outbox (where the
        mail waits for the sender), confirmed with the page's CSRF token."""
        from urllib.parse import quote

        from sqlalchemy import text

        from bot.store.models import make_engine

        status, page = self.request("GET", "/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        self.request("POST", "/login", f"email={quote(email)}&csrf={csrf}&next=/")
        engine = make_engine(url)
        with engine.connect() as conn:
            body = conn.execute(text("SELECT body_text FROM outbox WHERE purpose = 'sign-in' "
                                     "ORDER BY id DESC LIMIT 1")).scalar_one()
        engine.dispose()
        token = re.search(r"/login/(\S+)", body).group(1)  # type: ignore[union-attr]
        status, page = self.request("GET", f"/login/{token}")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        status, _ = self.request("POST", f"/login/{token}", f"csrf={csrf}")
        assert status == 302, f"sign-in failed: {status}"


def walk(client: Client, path: str, page: int) -> str:
    """The path of page ``page``, by following each page's "next" link from ``path``."""
    import html

    for _ in range(page - 1):
        status, body = client.request("GET", path)
        m = re.search(r'<a rel="next" href="([^"]+)"', body)
        if status != 200 or m is None:
            raise RuntimeError(f"{path}: no next page")
        path = html.unescape(m.group(1))
    return path


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def measure(url: str, tickets: int, requests: int, paths=None, report: bool = True) -> list[dict]:
    """Start the server on `url`, sign in, and time every path `requests` times (after 2
    unmeasured warm-up requests); the monthly report 3 times."""
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_server_child, args=(url, child), daemon=True)
    proc.start()
    try:
        if not parent.poll(300):
            raise RuntimeError("the web server did not start")
        port, token = parent.recv()
        client = Client(port)
        client.sign_in(url)
        rng = random.Random(SEED)
        out = []
        for label, path, headers in [*(paths or PATHS), *([REPORT] if report else [])]:
            n = 3 if (label, path, headers) == REPORT else requests
            if path.startswith("walk:"):
                _, pages, start = path.split(":", 2)
                path = walk(client, start, int(pages))
            times: list[float] = []
            count = ""
            for i in range(n + 2):
                p = path.replace("{ticket}", str(rng.randint(1, tickets)))
                t0 = time.perf_counter()
                status, body = client.request("GET", p, headers={k: v.replace("{token}", token)
                                                                 for k, v in headers.items()})
                elapsed = time.perf_counter() - t0
                if status != 200:
                    raise RuntimeError(f"{p}: HTTP {status}")
                if i >= 2:
                    times.append(elapsed)
                m = re.search(r'id="count"[^>]*>\s*((?:&gt;\s*)?[\d.,]+)', body)
                count = m.group(1).replace("&gt;", "more than").strip() if m else count
            out.append({"label": label, "path": path, "p50": percentile(times, 50),
                        "p95": percentile(times, 95), "max": max(times), "n": len(times),
                        "count": count, "report": (label, path, headers) == REPORT})
        return out
    finally:
        parent.send("stop")
        proc.join(30)
        if proc.is_alive():
            proc.terminate()


def rows_for(db: str, results: list[dict], seeded: float | None, reused: bool) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if reused:
        rows.append((f"web ({db}): seeded database", "reused", "var/bench/"))
    elif seeded is not None:
        rows.append((f"web ({db}): seeding", f"{seeded:.0f} s", ""))
    for r in results:
        found = f", {r['count']} found" if r["count"] and "q=" in r["path"] else ""
        if r["report"]:
            rows.append((f"web ({db}): {r['label']}, median of {r['n']}",
                         f"{r['p50']:.2f} s", f"<= {REPORT_TARGET_S:g} s"))
        else:
            target = API_TARGET_MS if r["label"].startswith("API:") else TARGET_MS
            rows.append((f"web ({db}): {r['label']}{found}, p50 / p95",
                         f"{r['p50'] * 1000:.0f} / {r['p95'] * 1000:.0f} ms", f"p95 <= {target} ms"))
    return rows


def main(tmp: Path, tickets: int = 100_000, messages: int = 1_000_000, requests: int = 30,
         dbs: tuple[str, ...] = ("sqlite", "postgres")) -> list[tuple[str, str, str]]:
    from tests.support.servers import Postgres

    rows: list[tuple[str, str, str]] = []
    print(f"web: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    if "sqlite" in dbs:
        CACHE.mkdir(parents=True, exist_ok=True)
        path = CACHE / f"web-{tickets}-{messages}-s{SEED}-v3.sqlite3"  # v: the seed's shape
        reused = path.exists()
        seeded = None
        if not reused:
            print(f"web: seeding SQLite with {tickets:,} tickets, {messages:,} messages ...", file=sys.stderr)
            t0 = time.perf_counter()
            partial = path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            seed_sqlite(partial, tickets, messages)
            partial.rename(path)
            seeded = time.perf_counter() - t0
        else:  # a seed made before the latest migrations (new indexes): brought up to date
            from bot.store.migrate import upgrade

            upgrade(f"sqlite:///{path}")
        print("web: timing on SQLite ...", file=sys.stderr)
        rows.extend(rows_for("sqlite", measure(f"sqlite:///{path}", tickets, requests), seeded, reused))
        print("\n".join(f"  {a}: {b}" for a, b, _ in rows), file=sys.stderr)
    if "postgres" in dbs:
        with Postgres(tmp / "pg-web") as pg:
            url = pg.create_database()
            print(f"web: seeding PostgreSQL with {tickets:,} tickets, {messages:,} messages ...",
                  file=sys.stderr)
            t0 = time.perf_counter()
            seed_postgres(url, tickets, messages)
            seeded = time.perf_counter() - t0
            print("web: timing on PostgreSQL ...", file=sys.stderr)
            rows.extend(rows_for("postgres", measure(url, tickets, requests), seeded, False))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows.append(("web: load average (1, 5, 15 min) at the end", load, "shared machine"))
    return rows
