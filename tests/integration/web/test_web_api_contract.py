"""The OpenAPI document tells the truth: every /api/v1 route of the router is in it (and
nothing else), and every documented request body is what the handler accepts — the example
goes through, an undocumented field, a missing required one or a wrong JSON type is refused
with a reason and changes nothing. A table test, run against the real server on both
databases (schemathesis would need a network install; the table needs nothing)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import AuditEntry
from tests.integration.web.conftest import AUTH, WebDb

#: A valid body for every documented operation that has one, in the order they run:
#: ``{name}`` in a path is what an earlier step returned (or set here).
EXAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    ("put", "/api/v1/services/{slug}/prompts/{kind}", {"text": "Grazie, dal contratto."}),
    ("put", "/api/v1/services/{slug}/mode", {"mode": "auto", "until": None}),
    ("post", "/api/v1/services/{slug}/notices",
     {"text": "Avviso di prova.", "valid_from": "2026-12-01", "valid_until": "2026-12-31"}),
    ("put", "/api/v1/services/{slug}/notices/{notice_id}",
     {"text": "Avviso cambiato.", "valid_from": "2026-12-01", "valid_until": "2027-01-31"}),
    ("put", "/api/v1/services/{slug}/menu", {"timeout_seconds": 5, "max_invalid": 2}),
    ("post", "/api/v1/services/{slug}/menu/options",
     {"digit": "7", "label": "Contratto", "action": "queue", "queue": "apiae",
      "skill": "contratto"}),
    ("put", "/api/v1/services/{slug}/menu/options/{option_id}",
     {"digit": "8", "label": "Contratto bis", "action": "voicemail"}),
    ("put", "/api/v1/services/{slug}/queues/{queue}",
     {"strategy": "longest_idle", "rings_per_agent": 4, "wait_limit_seconds": 300,
      "wrapup_seconds": 10, "announce_position": False, "announce_every_seconds": 60}),
    ("post", "/api/v1/services/{slug}/sectors", {"name": "Contratto"}),
    ("patch", "/api/v1/sectors/{sector_id}",
     {"name": "Contratto bis", "retired": False, "position": 0, "mailbox": None}),
    ("put", "/api/v1/services/{slug}/settings",
     {"dids": ["0461 497300"], "windows": ["08:00-17:00"] * 5 + ["", ""],
      "timezone": "Europe/Rome", "not_emergency_notice": False, "hours_before_queue": False,
      "mailbox_email": "csd.ape@infotn.it"}),
    ("post", "/api/v1/services/{slug}/dids", {"did": "0461 497399"}),
    ("post", "/api/v1/services/{slug}/closures", {"day": "2031-12-23", "reason": "Contratto"}),
    ("post", "/api/v1/closures", {"day": "2031-12-22", "reason": "Contratto"}),
    ("post", "/api/v1/services/{slug}/offices",
     {"number": "0461 497388", "phone": "ufficio.contratto", "password": "Contratto-Sip-1",
      "name": "Ufficio contratto", "rings": 3}),
    ("post", "/api/v1/agents",
     {"username": "api.contratto", "password": "Contratto-Sip-1", "display_name": "Ada",
      "profile": "junior", "services": ["apiae"], "skills": ["contratto"]}),
    ("put", "/api/v1/agents/{username}",
     {"display_name": "Ada Neri", "profile": "expert", "services": ["apiae"], "skills": []}),
    ("put", "/api/v1/agents/{username}/enabled", {"enabled": True}),
    ("put", "/api/v1/agents/{username}/password", {"password": "Contratto-Sip-2"}),
]
#: Bodies whose success needs a live call (tests/integration/test_callback.py places it
#: over real SIP): here only the refusals are checked.
REFUSAL_ONLY: list[tuple[str, str, dict[str, Any]]] = [
    ("post", "/api/v1/agents/{username}/callbacks", {"voicemail_id": 1}),
]
#: What each earlier step's result fills in.
RESULT_NAMES = {"/api/v1/services/{slug}/notices": "notice_id",
                "/api/v1/services/{slug}/menu/options": "option_id",
                "/api/v1/services/{slug}/sectors": "sector_id"}
FIXED = {"slug": "apiae", "kind": "thanks", "queue": "apiae", "username": "api.contratto"}
WRONG = [("integer", 3), ("string", "3"), ("boolean", True), ("array", ["x"]),
         ("object", {"x": 1})]


def _api_routes(client: TestClient) -> set[tuple[str, str]]:
    return {(route.method.lower(), route.resource.canonical)
            for route in client.app.router.routes()
            if route.resource is not None and route.resource.canonical.startswith("/api/v1/")
            and route.method != "HEAD"}


async def _document(client: TestClient) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json", headers=AUTH)
    assert response.status == 200
    return await response.json()


async def test_contract_every_router_route_is_documented_and_nothing_else(
        api_client: TestClient):
    document = await _document(api_client)
    documented = {(method, path) for path, operations in document["paths"].items()
                  for method in operations}
    assert _api_routes(api_client) - {("get", "/api/v1/openapi.json")} == documented
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params = {p["name"] for p in operation.get("parameters", [])}
            assert params == {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert operation["security"] == [{"bearer": []}], (method, path)


async def test_contract_every_documented_body_has_an_example_here(api_client: TestClient):
    document = await _document(api_client)
    with_json_body = {(method, path) for path, operations in document["paths"].items()
                      for method, operation in operations.items()
                      if "application/json" in operation.get("requestBody", {})
                      .get("content", {})}
    assert with_json_body == {(method, path) for method, path, _ in [*EXAMPLES, *REFUSAL_ONLY]}


def _wrong_value(schema: dict[str, Any]) -> Any:
    """A value of a JSON type the schema does not allow."""
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return next(value for kind, value in WRONG if kind not in kinds)


async def _audit_count(web_db: WebDb) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry))


async def test_contract_documented_bodies_are_what_the_handlers_accept(
        api_client: TestClient, web_db: WebDb):
    document = await _document(api_client)
    values = dict(FIXED)
    for method, template, example in [*EXAMPLES, *REFUSAL_ONLY]:
        path = template.format(**values)
        schema = document["paths"][template][method]["requestBody"]["content"][
            "application/json"]["schema"]
        assert schema["additionalProperties"] is False
        assert set(example) <= set(schema["properties"]), template
        entries = await _audit_count(web_db)
        refusals: list[tuple[str, dict[str, Any]]] = [
            ("undocumented field", {**example, "nonDocumentato": 1}),
            *((f"missing {name}", {k: v for k, v in example.items() if k != name})
              for name in schema["required"]),
            *((f"wrong type of {name}", {**example, name: _wrong_value(prop)})
              for name, prop in schema["properties"].items()),
        ]
        for why, body in refusals:
            response = await api_client.request(method, path, json=body, headers=AUTH)
            answer = await response.json()
            assert response.status == 400 and answer["error"], (template, why, answer)
        not_an_object = await api_client.request(method, path, json=[example], headers=AUTH)
        assert not_an_object.status == 400
        assert await _audit_count(web_db) == entries, (template, "a refusal was audited")
        if (method, template, example) in REFUSAL_ONLY:
            continue
        response = await api_client.request(method, path, json=example, headers=AUTH)
        answer = await response.json()
        assert response.status == 200 and answer["done"], (template, answer)
        if template in RESULT_NAMES:
            values[RESULT_NAMES[template]] = answer["result"]
    # What the examples added goes again, so later tests find the seeded service.
    for path in ("/api/v1/services/apiae/dids/0461497399", "/api/v1/closures/2031-12-22",
                 "/api/v1/services/apiae/offices/0461497388",
                 "/api/v1/services/apiae/closures/2031-12-23",
                 "/api/v1/services/apiae/menu/options/{option_id}",
                 "/api/v1/services/apiae/notices/{notice_id}", "/api/v1/agents/{username}"):
        assert (await api_client.delete(path.format(**values), headers=AUTH)).status == 200
    retired = await api_client.patch(f"/api/v1/sectors/{values['sector_id']}", headers=AUTH,
                                     json={"retired": True})
    assert retired.status == 200
