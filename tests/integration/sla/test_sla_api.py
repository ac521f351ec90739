"""The live SLA figures of the control plane's HTTP API, for a wallboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from ari_app.app import ControlPlane
from ari_app.transport.ari import AriClient
from centralino import api
from centralino.sla.figures import CallFacts
from tests.integration.sla.conftest import insert_calls, new_service

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 12, 15, 11, 0, tzinfo=ROME)
TOKEN = "wallboard-test-token"


@pytest.fixture
async def api_url(sla_database) -> AsyncIterator[str]:
    """The API served as in the control plane, on a free port; its clock says NOW."""
    _settings, sessions = sla_database
    ari = AriClient("http://127.0.0.1:9", "nobody", "nothing", "centralino")
    plane = ControlPlane(ari, sessions, sounds_dir="unused", clock=lambda: NOW)
    app = web.Application()
    api.add_routes(app, plane, TOKEN, "Europe/Rome")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await ari.close()


async def get(url: str, token: str = TOKEN) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(
            url, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json()


def answered(at: datetime, wait: float) -> CallFacts:
    return CallFacts(arrived_at=at, in_hours=True, outcome="answered", queue_entered_at=at,
                     queue_exit="answered", answered_at=at + timedelta(seconds=wait),
                     ended_at=at + timedelta(seconds=wait + 60))


async def test_given_calls_today_and_earlier_this_month_then_today_and_month_differ(
        sla_database, api_url: str) -> None:
    _settings, sessions = sla_database
    service = await new_service(sessions)
    await insert_calls(sessions, service.id, [
        answered(NOW - timedelta(hours=2), 4),                # today 09:00
        answered(NOW - timedelta(days=3), 20),                # 12 December
        answered(datetime(2026, 11, 30, 10, tzinfo=ROME), 50),  # last month: never counted
    ])
    status, today = await get(f"{api_url}/api/sla?service={service.slug}&period=today")
    assert status == 200
    (row,) = today["figures"]
    assert (row["period"], row["answered"], row["tm_seconds"]) == ("2026-12-15", 1, 4.0)
    status, month = await get(f"{api_url}/api/sla?service={service.slug}&period=month")
    (row,) = month["figures"]
    assert (row["period"], row["answered"], row["tm_seconds"]) == ("2026-12", 2, 12.0)
    assert row["to"] == "2026-12-16T00:00:00+01:00"   # month to date


async def test_given_no_token_or_bad_arguments_then_refused(api_url: str) -> None:
    status, _body = await get(f"{api_url}/api/sla", token="wrong")
    assert status == 401
    status, body = await get(f"{api_url}/api/sla?period=year")
    assert (status, body["error"]) == (400, "period must be today or month")
    status, body = await get(f"{api_url}/api/sla?service=nessuno")
    assert status == 404 and "no service 'nessuno'" in body["error"]
