"""The REST API's OpenAPI 3.1 document, as data. tests/adapters/test_api.py checks that it
names every route of api.py and nothing else, so it stays true; /api/v1/docs renders it."""

from __future__ import annotations

from typing import Any

VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _ref("Error")}}}


ERRORS = {
    "400": _error("Invalid input: `field` names the parameter or body field"),
    "401": _error("No token, or not a valid one (header `WWW-Authenticate: Bearer`)"),
    "403": _error("The token's scope (or the desk's rules) does not allow this"),
    "404": _error("No such resource"),
    "409": _error("The desk refused the action as things stand (code `refused`; the message says why)"),
    "412": _error("`If-Match` does not match the ticket's ETag: it changed since it was read"),
    "429": {"description": "Too many requests for this token",
            "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
            "content": {"application/json": {"schema": _ref("Error")}}},
    "500": _error("Internal error (no details: the server log has them)"),
}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(name: str, where: str, description: str, schema: dict[str, Any] | None = None,
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "description": description, "required": required or where == "path",
            "schema": schema or {"type": "string"}}


NUMBER = _param("number", "path", "The ticket's number", {"type": "integer", "minimum": 1})
IF_MATCH = _param("If-Match", "header", "The ETag the ticket was read with: the action runs only "
                  "if the ticket has not changed since (else 412). Optional.")
CURSOR = _param("cursor", "query", "`next_cursor` of the previous page (opaque)")


def _limit(default: int) -> dict[str, Any]:
    return _param("limit", "query", "Items per page", {"type": "integer", "minimum": 1, "maximum": 500,
                                                        "default": default})


def _body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"required": bool(required), "content": {"application/json": {"schema": {
        "type": "object", "properties": properties, "required": list(required)}}}}


def _op(summary: str, *, responses: dict[str, Any], params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, errors: tuple[str, ...] = ("401", "429", "500"),
        scope: str = "read", public: bool = False, description: str = "") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "parameters": params or [],
                          "responses": {**responses, **{c: ERRORS[c] for c in errors}}}
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = body
    if public:
        op["security"] = []
    else:
        op["x-scope"] = scope
    return op


def _action(summary: str, properties: dict[str, Any] | None = None, required: tuple[str, ...] = (),
            description: str = "") -> dict[str, Any]:
    return {"post": _op(summary, params=[NUMBER, IF_MATCH], scope="write", description=description,
                        body=_body(properties or {}, required),
                        responses={"200": {**_json(_ref("ActionResult")),
                                           "headers": {"ETag": {"schema": {"type": "string"},
                                                                "description": "the ticket's new ETag"}}}},
                        errors=("400", "401", "403", "404", "409", "412", "429", "500"))}


STR = {"type": "string"}
BOOL = {"type": "boolean"}
FILTERS = [
    _param("status", "query", "new | open | waiting | resolved | closed | open-all (every not closed)"),
    _param("owner", "query", "A person's key (rules.yaml)"),
    _param("role", "query", "The role the ticket was routed by"),
    _param("kind", "query", "A kind of rules.yaml"),
    _param("customer", "query", "Words in the customer, contact address or contact name"),
    _param("sla", "query", "SLA state", {"type": "string",
                                         "enum": ["new", "overdue", "due-today", "waiting", "on-track"]}),
    _param("since", "query", "Created on or after (YYYY-MM-DD, the desk's time zone)",
           {"type": "string", "format": "date"}),
    _param("until", "query", "Created on or before (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    _param("q", "query", "Words in the subject, customer, contact or any message; or a ticket number"),
]

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message", "field"], "properties": {
            "code": {"type": "string", "examples": ["invalid", "unauthorized", "forbidden", "not_found",
                                                    "refused", "precondition_failed", "rate_limited"]},
            "message": STR, "field": {"type": ["string", "null"]}}}}},
    "Ticket": {"type": "object", "description": "A ticket as every channel shows it",
               "properties": {"number": {"type": "integer"}, "tag": STR, "kind": STR, "status": STR,
                              "subject": STR, "customer": {"type": ["string", "null"]},
                              "contact": {"type": ["string", "null"]}, "owner": STR,
                              "owner_role": {"type": ["string", "null"]}, "priority": STR, "urgent": BOOL,
                              "channel": STR, "language": {"type": ["string", "null"]},
                              "action_due": {"type": ["string", "null"], "format": "date-time"},
                              "fields": {"type": "object"}, "created": {"type": "string", "format": "date-time"},
                              "updated": {"type": "string", "format": "date-time"},
                              "resolved": {"type": ["string", "null"]}, "sla": {"type": "object"},
                              "sla_state": {"type": "string", "description": "in lists only"}},
               "additionalProperties": True},
    "TicketDetail": {"allOf": [_ref("Ticket"), {"type": "object", "properties": {
        "etag": STR,
        "messages": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "direction": {"type": "string", "enum": ["in", "out", "note"]},
            "from": STR, "subject": STR, "text": STR, "date": STR,
            "attachments": {"type": "array", "items": _ref("AttachmentMeta")}},
            "additionalProperties": True}},
        "notes": {"type": "array", "description": "Internal notes (never mailed to the customer)",
                  "items": {"type": "object", "properties": {"at": STR, "by": STR, "text": {
                      "type": ["string", "null"]}, "action": BOOL}}},
        "events": {"type": "array", "description": "The audit trail; `actor` is `api:NAME` for an integration",
                   "items": {"type": "object", "properties": {"at": STR, "actor": STR, "action": STR,
                                                              "detail": {}, "reason": {}}}},
        "tasks": {"type": "array", "items": _ref("Task")},
        "watchers": {"type": "array", "items": STR}, "cancellation": {}}}]},
    "AttachmentMeta": {"type": "object", "properties": {"id": {"type": "integer"}, "name": STR, "type": STR,
                                                        "size": {"type": "integer"}, "inline": BOOL}},
    "ActionResult": {"type": "object", "properties": {
        "result": {"description": "What the desk action answers: the ticket, the new owner's key, "
                                  "the queued mail, the fields or the cancellation"},
        "etag": STR}},
    "Task": {"type": "object", "properties": {"id": {"type": "integer"}, "ticket": {"type": ["integer", "null"]},
                                              "kind": STR, "title": STR, "assignee": STR,
                                              "due": {"type": ["string", "null"]},
                                              "done": {"type": ["string", "null"]}}},
    "CustomerRecord": {"type": "object", "description": "One row of the customers CSV import",
                       "required": ["company"], "properties": {
                           "company": STR, "domains": {"type": ["string", "array"], "items": STR},
                           "advisor": STR, "website_access": BOOL, "contact_name": STR,
                           "contact_email": STR, "contact_phone": STR}},
    "ContractRecord": {"type": "object", "description": "One row of the contracts CSV import",
                       "required": ["contract", "company", "start"], "properties": {
                           "contract": STR, "company": STR, "start": {"type": "string", "format": "date"},
                           "end": {"type": ["string", "null"], "format": "date"}, "auto_renew": BOOL,
                           "term_months": {"type": "integer"}, "notice_months": {"type": "integer"},
                           "status": STR}},
    "UpsertReport": {"type": "object", "properties": {"added": {"type": "integer"},
                                                      "changed": {"type": "integer"},
                                                      "unchanged": {"type": "integer"}}},
}


def paths() -> dict[str, Any]:
    return {
        "/openapi.json": {"get": _op("This document", public=True, errors=(),
                                     responses={"200": _json({"type": "object"})})},
        "/docs": {"get": _op("This document as a page", public=True, errors=(),
                             responses={"200": {"description": "HTML",
                                                "content": {"text/html": {"schema": STR}}}})},
        "/tickets": {"get": _op(
            "Tickets, by number, a page at a time", params=[*FILTERS, CURSOR, _limit(50)],
            errors=("400", "401", "429", "500"),
            description="The filters and search of the web face's ticket list. Pages follow "
                        "`next_cursor` (null on the last page): ordered by number, so tickets that "
                        "arrive meanwhile are neither skipped nor repeated.",
            responses={"200": _json({"type": "object", "properties": {
                "tickets": {"type": "array", "items": _ref("Ticket")},
                "next_cursor": {"type": ["string", "null"]}}})})},
        "/tickets/{number}": {"get": _op(
            "One ticket with messages, notes, events and attachment metadata",
            params=[NUMBER, _param("If-None-Match", "header", "An ETag: 304 when unchanged")],
            errors=("401", "404", "429", "500"),
            responses={"200": {**_json(_ref("TicketDetail")),
                               "headers": {"ETag": {"schema": STR, "description": "for If-Match"}}},
                       "304": {"description": "Not modified"}})},
        "/tickets/{number}/attachments/{attachment_id}": {"get": _op(
            "Download an attachment (always as a file, never shown inline)",
            params=[NUMBER, _param("attachment_id", "path", "From the message's attachments",
                                   {"type": "integer"})],
            errors=("401", "404", "429", "500"),
            responses={"200": {"description": "The file (Content-Disposition: attachment)",
                               "content": {"application/octet-stream": {"schema": {
                                   "type": "string", "format": "binary"}}}}})},
        "/tickets/{number}/reply": _action("Answer the customer by mail (an action for the SLA)",
                                           {"text": STR}, ("text",)),
        "/tickets/{number}/notes": _action("An internal note (never mailed); `action`: it records an action",
                                           {"text": STR, "action": BOOL}, ("text",)),
        "/tickets/{number}/actions": _action("Log a call, meeting or visit (an action)",
                                             {"how": {"type": "string", "enum": ["call", "meeting", "visit",
                                                                                 "action"]},
                                              "note": STR}, ("how",)),
        "/tickets/{number}/assign": _action("Give the ticket to a person, a role or `advisor`",
                                            {"target": STR, "reason": STR}, ("target",)),
        "/tickets/{number}/take": _action(
            "Take the ticket", description="Taking needs a person: an integration is refused (403); "
                                           "use assign."),
        "/tickets/{number}/resolve": _action("Resolve (the customer is told unless tell_customer is false)",
                                             {"note": STR, "tell_customer": BOOL}),
        "/tickets/{number}/reopen": _action("Reopen a resolved ticket", {"reason": STR}),
        "/tickets/{number}/wait": _action("Waiting on the customer (false: no longer)", {"waiting": BOOL}),
        "/tickets/{number}/kind": _action("Change the kind (and its SLA policy)", {"kind": STR}, ("kind",)),
        "/tickets/{number}/fields": _action("Set one of the kind's extra fields",
                                            {"name": STR, "value": STR}, ("name", "value")),
        "/tickets/{number}/cancellation": _action(
            "A written cancellation's outcome", {"outcome": {"type": "string", "enum": ["retained", "lost"]},
                                                 "reason": STR}, ("outcome",)),
        "/customers": {
            "get": _op("Companies with domains, contacts, contracts and open tickets (50 a page, by name)",
                       params=[_param("q", "query", "Words in the name, a domain or a contact's address"),
                               _param("page", "query", "From 1", {"type": "integer", "minimum": 1})],
                       errors=("400", "401", "429", "500"),
                       responses={"200": _json({"type": "object", "properties": {
                           "customers": {"type": "array", "items": {"type": "object"}},
                           "total": {"type": "integer"}, "page": {"type": "integer"},
                           "pages": {"type": "integer"}}})}),
            "post": _op("Upsert companies and their contacts (the customers CSV import's rules; all or "
                        "nothing)", scope="write",
                        body=_body({"items": {"type": "array", "items": _ref("CustomerRecord")}}, ("items",)),
                        errors=("400", "401", "403", "429", "500"),
                        responses={"200": _json(_ref("UpsertReport"))})},
        "/contacts": {"get": _op("Contacts, by id, a page at a time",
                                 params=[_param("q", "query", "Words in the name or address"), CURSOR,
                                         _limit(100)],
                                 errors=("400", "401", "429", "500"),
                                 responses={"200": _json({"type": "object", "properties": {
                                     "contacts": {"type": "array", "items": {"type": "object"}},
                                     "next_cursor": {"type": ["string", "null"]}}})})},
        "/contracts": {
            "get": _op("Contracts with their notice deadline, by id, a page at a time",
                       params=[_param("company", "query", "Only this company's (its name)"), CURSOR, _limit(100)],
                       errors=("400", "401", "429", "500"),
                       responses={"200": _json({"type": "object", "properties": {
                           "contracts": {"type": "array", "items": {"type": "object"}},
                           "next_cursor": {"type": ["string", "null"]}}})}),
            "post": _op("Upsert contracts by reference (the contracts CSV import's rules; all or nothing)",
                        scope="write",
                        body=_body({"items": {"type": "array", "items": _ref("ContractRecord")}}, ("items",)),
                        errors=("400", "401", "403", "429", "500"),
                        responses={"200": _json(_ref("UpsertReport"))})},
        "/reports/sla": {"get": _op(
            "SLA performance of a month: by owner, role, kind, and the monthly trend",
            params=[_param("month", "query", "YYYY-MM; default: the last whole month")],
            errors=("400", "401", "429", "500"),
            responses={"200": _json({"type": "object", "properties": {
                "month": STR, "now": STR, "sla": {"type": "object"}, "trend": {"type": "array"}}})})},
        "/reports/complaints": {"get": _op(
            "The monthly complaint analysis", params=[_param("month", "query", "YYYY-MM")],
            errors=("400", "401", "429", "500"),
            responses={"200": _json({"type": "object", "properties": {
                "month": STR, "now": STR, "complaints": {"type": "object"}}})})},
        "/tasks": {"get": _op("Open tasks (all=true: done ones too)",
                              params=[_param("all", "query", "true: also done tasks", BOOL)],
                              responses={"200": _json({"type": "object", "properties": {
                                  "tasks": {"type": "array", "items": _ref("Task")}}})})},
        "/tasks/{task_id}/complete": {"post": _op(
            "Mark a task done", scope="write",
            params=[_param("task_id", "path", "The task's id", {"type": "integer"})],
            body=_body({"note": STR}), errors=("400", "401", "403", "404", "409", "429", "500"),
            responses={"200": _json(_ref("Task"))})},
        "/webhooks": {
            "get": _op("Webhook subscriptions with their delivery counts, and recent deliveries",
                       params=[_param("limit", "query", "recent deliveries (default 20, at most 200)",
                                      {"type": "integer"})],
                       responses={"200": _json({"type": "object", "properties": {
                           "webhooks": {"type": "array", "items": {"type": "object"}},
                           "deliveries": {"type": "array", "items": {"type": "object"}}}})}),
            "post": _op("Subscribe a receiver to events (signed with the secret in the named "
                        "TICKETBOT_WEBHOOK_* environment variable)", scope="write",
                        body=_body({"name": STR, "url": STR, "events": {"type": "array", "items": STR},
                                    "secret_env": STR}, ("name", "url", "events", "secret_env")),
                        errors=("400", "401", "403", "409", "429", "500"),
                        responses={"201": _json({"type": "object"})})},
        "/webhooks/{name}": {"delete": _op(
            "Remove a subscription made through the API (rules.yaml's stay: 409); its queued "
            "deliveries are cancelled", scope="write",
            params=[_param("name", "path", "The subscription's name")],
            errors=("401", "403", "404", "409", "429", "500"),
            responses={"204": {"description": "removed"}})},
    }


def document(server: str = "/api/v1") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "ticketbot REST API", "version": VERSION,
                 "description": "Tickets, their actions, the customer directory, reports and tasks of "
                                "one desk, for its other systems. Every request carries "
                                "`Authorization: Bearer <token>` (`ticketbot api-token create NAME "
                                "--scope read|write`): a read token may only read (`x-scope: read`), "
                                "a write token may do what a person may. Errors are always "
                                "`{\"error\": {\"code\", \"message\", \"field\"}}`; besides the answers listed per "
                                "endpoint, any request may get 405 (another method) or 413 (a body "
                                "over 2 MB)."},
        "servers": [{"url": server}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": SCHEMAS},
        "paths": paths(),
    }


def operations() -> list[dict[str, Any]]:
    """(method, path, operation) for the docs page, in the document's order."""
    return [{"method": method.upper(), "path": path, "op": op}
            for path, item in paths().items() for method, op in item.items()]
