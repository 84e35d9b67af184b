"""Issue 14 on the web face: the dossier shows the time logged and the invoices on hold
(in its customer card too), and its two forms call the desk actions `log_time` and
`hold_invoice` as the signed-in person. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from bot.desk import intake, queries
from tests.adapters.test_web_face import csrf, customer_mail, sign_in, web  # noqa: F401 (fixture)
from tests.conftest import OPERATOR


def test_the_dossier_shows_and_logs_time_and_holds(web, desk):  # noqa: F811
    n = intake.ingest_raw(desk, customer_mail(
        31, "jan@bakkerij-jansen.nl", "Factuur 2026-114 klopt niet",
        "Factuur 2026-114 is te hoog; ik ben ontevreden."), "t").ticket
    client = web.test_client()
    sign_in(client, desk, "sanne@desk.example")
    token = csrf(client)
    r = client.post(f"/tickets/{n}/time", data={"csrf": token, "duration": "1h30", "note": "gebeld"},
                    follow_redirects=True)
    assert r.status_code == 200
    client.post(f"/tickets/{n}/hold", data={"csrf": token, "invoice": "2026-120", "release": "0"})
    client.post(f"/tickets/{n}/hold", data={"csrf": token, "invoice": "2026-114", "release": "1"})
    r = client.post(f"/tickets/{n}/time", data={"csrf": token, "duration": "ages"}, follow_redirects=True)
    assert "is geen duur" in r.get_data(as_text=True) and "Traceback" not in r.get_data(as_text=True)
    html = client.get(f"/tickets/{n}").get_data(as_text=True)
    section = html[html.index('id="time-and-holds"'):html.index('id="sla"')]
    assert re.search(r'id="time-total">1h30<', section)
    assert "Sanne Jansen: <b>1h30</b> — gebeld" in section
    assert re.findall(r'<b class="hold">([^<]+)</b>', section) == ["2026-120"]
    assert '<p id="card-holds">' in html and "<b>2026-120</b>" in html
    d = queries.ticket_detail(desk, OPERATOR, n)
    assert [(e["person"], e["minutes"], e["via"]) for e in d["time"]["entries"]] == [("sanne", 90, "web")]
    assert [(h["invoice"], h["held_by"], h["released_by"]) for h in d["holds"]] == [
        ("2026-114", "rules", "sanne"), ("2026-120", "sanne", None)]
    # without a session: refused
    other = web.test_client()
    assert other.post(f"/tickets/{n}/time", data={"csrf": "x", "duration": "15m"}).status_code == 403
    assert other.post(f"/tickets/{n}/hold", data={"csrf": "x", "invoice": "1234"}).status_code == 403


def test_the_reports_page_has_the_months_time_and_its_csv(web, desk):  # noqa: F811
    n = intake.ingest_raw(desk, customer_mail(32, "jan@bakkerij-jansen.nl", "Vraag", "Hallo"), "t").ticket
    client = web.test_client()
    sign_in(client, desk, "sanne@desk.example")
    client.post(f"/tickets/{n}/time", data={"csrf": csrf(client), "duration": "45m"})
    html = client.get("/reports?month=2026-11").get_data(as_text=True)
    table = html[html.index('id="time-table"'):]
    assert re.search(r"<td>Sanne Jansen</td><td>Bakkerij Jansen</td><td>[^<]+</td><td class=\"num\">1</td>"
                     r"<td class=\"num\">45m</td>", table)
    body = client.get("/reports/time.csv?month=2026-11").get_data(as_text=True)
    assert body.lstrip("\ufeff").splitlines()[1].startswith("2026-11,sanne,Sanne Jansen,Bakkerij Jansen,")
    assert "No time logged" in client.get("/reports?month=2026-10").get_data(as_text=True) or \
        "Geen tijd vastgelegd" in client.get("/reports?month=2026-10").get_data(as_text=True)
