"""rules.yaml `webhooks:`: every problem with its line and column, like every other
section (bot/core/rules/load.py); and what a valid section becomes."""

from __future__ import annotations

import pytest

from bot.core.rules.load import parse_rules
from bot.core.rules.schema import RulesError, Webhook
from bot.core.webhooks import EVENTS, events_of, sign, verify

HEAD = """\
people:
  sanne: {email: sanne@desk.example, slack: U0SANNE01, roles: [sales_support]}
roles:
  sales_support: sanne
"""  # 4 lines: the webhooks section starts on line 5


def problems(section: str) -> list[str]:
    with pytest.raises(RulesError) as err:
        parse_rules(HEAD + section, "rules.yaml")
    return [str(p) for p in err.value.problems]


def test_a_valid_section():
    rs = parse_rules(HEAD + """\
webhooks:
  - name: crm
    url: https://crm.example.com/hooks/ticketbot
    events: [ticket.created, ticket.resolved, ticket.created]
    secret_env: TICKETBOT_WEBHOOK_CRM
  - name: bi
    url: http://10.0.0.5:8080/in
    events: sla.breached
    secret_env: TICKETBOT_WEBHOOK_BI
""", "rules.yaml")
    assert rs.webhooks == (
        Webhook("crm", "https://crm.example.com/hooks/ticketbot", ("ticket.created", "ticket.resolved"),
                "TICKETBOT_WEBHOOK_CRM", line=6),
        Webhook("bi", "http://10.0.0.5:8080/in", ("sla.breached",), "TICKETBOT_WEBHOOK_BI", line=10))
    assert parse_rules(HEAD, "rules.yaml").webhooks == ()


@pytest.mark.parametrize("section, expected", [
    ("webhooks:\n  - name: crm\n    url: https://x.example/h\n    events: [ticket.created, ticket.resolvd]\n"
     "    secret_env: TICKETBOT_WEBHOOK_CRM\n",
     [f"rules.yaml:8:30: webhook 'crm': unknown event 'ticket.resolvd'; events: {', '.join(EVENTS)}"]),
    ("webhooks:\n  - name: crm\n    url: ftp://x.example/h\n    events: [ticket.created]\n"
     "    secret_env: TICKETBOT_WEBHOOK_CRM\n",
     ["rules.yaml:7:10: webhook 'crm': url has scheme 'ftp': only http and https are delivered to"]),
    ("webhooks:\n  - name: crm\n    url: https://user:pw@x.example/h\n    events: [ticket.created]\n"
     "    secret_env: TICKETBOT_WEBHOOK_CRM\n",
     ["rules.yaml:7:10: webhook 'crm': url must not carry a user or password (the signature is the "
      "credential)"]),
    ("webhooks:\n  - name: crm\n    url: https://x.example/h\n    events: [ticket.created]\n",
     ["rules.yaml:6:5: webhook 'crm': secret_env is missing (the name of the environment variable "
      "that holds the signing secret, e.g. TICKETBOT_WEBHOOK_CRM)"]),
    ("webhooks:\n  - name: crm\n    url: https://x.example/h\n    events: [ticket.created]\n"
     "    secret_env: DATABASE_URL\n",
     ["rules.yaml:9:17: webhook 'crm': secret_env must name an environment variable "
      "TICKETBOT_WEBHOOK_<NAME> (capitals, digits, _); the secret itself stays out of this file"]),
    ("webhooks:\n  - name: crm\n    events: [ticket.created]\n    secret_env: TICKETBOT_WEBHOOK_CRM\n"
     "    secret: hunter2\n",
     ["rules.yaml:6:5: webhook 'crm': url is missing",
      "rules.yaml:9:5: unknown key 'secret' in a webhook; expected one of description, events, name, "
      "secret_env, url"]),
    ("webhooks:\n  - name: Crm Hook\n    url: https://x.example/h\n    events: []\n"
     "    secret_env: TICKETBOT_WEBHOOK_CRM\n",
     ["rules.yaml:6:11: webhooks: name must be a lower-case word like 'crm' (letters, digits, _ . -)",
      "rules.yaml:8:13: webhooks: events is empty"]),
    ("webhooks:\n  - {name: a, url: 'https://x.example/1', events: [task.done], secret_env: TICKETBOT_WEBHOOK_A}\n"
     "  - {name: a, url: 'https://x.example/2', events: [task.done], secret_env: TICKETBOT_WEBHOOK_A}\n",
     ["rules.yaml:7:12: webhooks: name 'a' is used twice"]),
    ("webhooks: {crm: https://x.example/h}\n",
     ["rules.yaml:5:11: webhooks must be a list of subscriptions, not a mapping"]),
])
def test_problems_with_line_and_column(section, expected):
    assert problems(section) == expected


def test_history_events_map_to_webhook_events():
    assert events_of("created", None) == ["ticket.created"]
    assert events_of("note", {}) == []
    assert events_of("cancellation-lost", {"task": {"id": 1}}) == ["cancellation.outcome", "task.created"]
    assert events_of("cancellation-retained", {}) == ["cancellation.outcome"]


def test_signature_scheme():
    body = b'{"id":"e1"}'
    assert sign("k", 1700000000, body) == sign("k", "1700000000", body)
    assert sign("k", 1700000000, body).startswith("sha256=") and len(sign("k", 1, body)) == 71
    assert verify("k", "1700000000", body, sign("k", 1700000000, body), now=1700000100)
    assert not verify("k", "1700000000", body, sign("k", 1700000000, body), now=1700000400)  # stale
    assert not verify("k", "soon", body, sign("k", 1700000000, body), now=1700000000)
