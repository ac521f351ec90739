"""The JSON API under /api/v1: behind the bearer token, same changes and audit as the pages."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from centralino.prompts import sound_name
from centralino.web.api_v1 import add_api_v1
from tests.integration.web.conftest import AUTH


def test_api_refuses_to_start_without_the_token_middleware():
    with pytest.raises(RuntimeError, match="token middleware"):
        add_api_v1(web.Application())


async def test_given_no_token_then_401_and_openapi_lists_every_route(api_client: TestClient):
    assert (await api_client.get("/api/v1/services")).status == 401
    document = await (await api_client.get("/api/v1/openapi.json", headers=AUTH)).json()
    assert document["openapi"].startswith("3.")
    routes = {r.resource.canonical for r in api_client.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/v1/")}
    assert routes - {"/api/v1/openapi.json"} == set(document["paths"])


async def test_given_token_when_prompt_changed_and_restored_then_audited_as_api(
        api_client: TestClient):
    before = await (await api_client.get("/api/v1/services/agenzia-lavoro",
                                         headers=AUTH)).json()
    old = before["prompts"]["thanks"]
    changed = await api_client.put("/api/v1/services/agenzia-lavoro/prompts/thanks",
                                   json={"text": "Grazie per aver chiamato, dall'API."},
                                   headers=AUTH)
    assert changed.status == 200
    new_sound = (await changed.json())["result"]
    after = await (await api_client.get("/api/v1/services/agenzia-lavoro",
                                        headers=AUTH)).json()
    assert after["prompts"]["thanks"] == {"text": "Grazie per aver chiamato, dall'API.",
                                          "sound": new_sound}
    entries = (await (await api_client.get(
        "/api/v1/audit?object=agenzia-lavoro/thanks", headers=AUTH)).json())["entries"]
    assert entries[0]["username"] == "api" and entries[0]["before"] == old
    restored = await api_client.post(f"/api/v1/audit/{entries[0]['id']}/restore",
                                     headers=AUTH)
    assert restored.status == 200
    again = await (await api_client.get("/api/v1/services/agenzia-lavoro",
                                        headers=AUTH)).json()
    # Back to the old text; its recording is the old one, or made again if it was missing.
    assert again["prompts"]["thanks"]["text"] == old["text"]
    assert again["prompts"]["thanks"]["sound"] in (
        old["sound"], sound_name("agenzia-lavoro", "thanks", old["text"]))


async def test_given_bad_input_then_400_with_reason(api_client: TestClient):
    too_long = await api_client.put("/api/v1/services/uru/prompts/thanks",
                                    json={"text": "x" * 1001}, headers=AUTH)
    assert too_long.status == 400 and "1000" in (await too_long.json())["error"]
    not_json = await api_client.put("/api/v1/services/uru/mode", data=b"{", headers=AUTH)
    assert not_json.status == 400
    bad_mode = await api_client.put("/api/v1/services/uru/mode", json={"mode": "sempre"},
                                    headers=AUTH)
    assert bad_mode.status == 400
    assert (await api_client.get("/api/v1/services/nessuno", headers=AUTH)).status == 404
