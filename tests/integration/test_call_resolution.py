"""Agents record a call's resolution: `POST /api/calls/{id}/resolution` and `centralino call
resolve`, on SQLite and PostgreSQL, during and after the call."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.app import ControlPlane
from ari_app.transport.ari import AriClient
from centralino import api
from centralino.config import Settings
from centralino.runtime import credentials_for, prepare_database
from models import Call, Service
from tests.integration.test_cli import assert_one_line_error, run_cli

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def database(database_url: str, test_settings: Settings
                   ) -> AsyncIterator[tuple[Settings, async_sessionmaker]]:
    settings = test_settings.with_overrides(database_url=database_url)
    engine, sessions = await prepare_database(settings)
    yield settings, sessions
    await engine.dispose()


@pytest.fixture
async def served(database) -> AsyncIterator[tuple[Settings, async_sessionmaker, str]]:
    """The API as the control plane serves it, on the installation's web port and token."""
    settings, sessions = database
    ari = AriClient("http://127.0.0.1:9", "nobody", "nothing", "centralino")
    plane = ControlPlane(ari, sessions, sounds_dir="unused")
    app = web.Application()
    api.add_routes(app, plane, credentials_for(settings).api_token)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.bind_address, settings.web_port).start()
    try:
        yield settings, sessions, f"http://{settings.bind_address}:{settings.web_port}"
    finally:
        await runner.cleanup()
        await ari.close()


async def a_call(sessions: async_sessionmaker, *, answered: bool = True,
                 transferred: bool = False, ended: bool = True) -> str:
    call_id = str(uuid.uuid4())
    async with sessions() as session:
        service_id = await session.scalar(select(Service.id).where(
            Service.slug == "agenzia-lavoro"))
        session.add(Call(
            id=call_id, service_id=service_id, did="800264760", channel_id=f"ch-{call_id}",
            caller_number="0461500001", arrived_at=T0, in_hours=True, flow_state="ended",
            queue_entered_at=T0 + timedelta(seconds=10),
            answered_at=T0 + timedelta(seconds=15) if answered else None,
            transferred_at=T0 + timedelta(seconds=40) if transferred else None,
            resolution="escalated" if transferred else None,
            ended_at=T0 + timedelta(seconds=90) if ended else None,
            outcome=("answered" if answered else "abandoned") if ended else None))
        await session.commit()
    return call_id


async def stored(sessions: async_sessionmaker, call_id: str) -> tuple[str | None, str]:
    async with sessions() as session:
        call = await session.get(Call, call_id)
        assert call is not None
        return call.resolution, call.notes


async def post(settings: Settings, url: str, call_id: str, body: object,
               token: str | None = None) -> tuple[int, dict]:
    token = token if token is not None else credentials_for(settings).api_token
    async with aiohttp.ClientSession() as http, http.post(
            f"{url}/api/calls/{call_id}/resolution", json=body,
            headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json(content_type=None)


async def test_given_answered_call_when_resolved_with_notes_then_recorded_and_repeatable(
        served) -> None:
    settings, sessions, url = served
    call_id = await a_call(sessions)
    body = {"resolution": "resolved", "notes": "Pratica chiusa al telefono"}
    for _ in range(2):  # the same answer twice: the same record
        status, answer = await post(settings, url, call_id, body)
        assert status == 200
        assert answer == {"call_id": call_id, "resolution": "resolved",
                          "notes": "Pratica chiusa al telefono"}
    assert await stored(sessions, call_id) == ("resolved", "Pratica chiusa al telefono")
    status, _ = await post(settings, url, call_id, {"resolution": "escalated"})
    assert status == 200  # changed mind: escalated; the notes stay
    assert await stored(sessions, call_id) == ("escalated", "Pratica chiusa al telefono")


async def test_given_call_in_progress_then_the_agent_can_already_record_it(served) -> None:
    settings, sessions, url = served
    call_id = await a_call(sessions, ended=False)
    status, _ = await post(settings, url, call_id, {"resolution": "escalated"})
    assert status == 200
    assert await stored(sessions, call_id) == ("escalated", "")


async def test_given_transferred_call_then_resolved_is_refused_and_it_stays_escalated(
        served) -> None:
    settings, sessions, url = served
    call_id = await a_call(sessions, transferred=True)
    status, answer = await post(settings, url, call_id, {"resolution": "resolved"})
    assert status == 409 and "transferred to a referent" in answer["error"]
    assert await stored(sessions, call_id) == ("escalated", "")


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"resolution": "done"}, 400, "resolution must be resolved or escalated"),
    ({"notes": "x"}, 400, "resolution must be"),
    ({"resolution": "resolved", "notes": 42}, 400, "notes must be text"),
    ({"resolution": "resolved", "notes": "x" * 2001}, 400, "at most 2000"),
    (["resolved"], 400, "JSON object"),
])
async def test_given_bad_body_then_400_with_one_error_and_nothing_written(
        served, body, status, fragment) -> None:
    settings, sessions, url = served
    call_id = await a_call(sessions)
    got, answer = await post(settings, url, call_id, body)
    assert got == status and fragment in answer["error"]
    assert await stored(sessions, call_id) == (None, "")


async def test_given_unknown_call_unanswered_call_or_wrong_token_then_refused(served) -> None:
    settings, sessions, url = served
    status, answer = await post(settings, url, "no-such-call", {"resolution": "resolved"})
    assert status == 404 and "no call no-such-call" in answer["error"]
    abandoned = await a_call(sessions, answered=False)
    status, answer = await post(settings, url, abandoned, {"resolution": "resolved"})
    assert status == 409 and "not answered" in answer["error"]
    status, _ = await post(settings, url, abandoned, {"resolution": "resolved"}, token="wrong")
    assert status == 401
    assert await stored(sessions, abandoned) == (None, "")


def cli_env(settings: Settings) -> dict[str, str]:
    return {"CENTRALINO_STATE_DIR": str(settings.state_dir),
            "CENTRALINO_INSTANCE": settings.instance,
            "CENTRALINO_WEB_PORT": str(settings.web_port)}


async def test_cli_resolve_records_it_and_bad_input_is_one_line(served) -> None:
    settings, sessions, _url = served
    call_id = await a_call(sessions)

    async def cli(*args: str):
        return await asyncio.to_thread(run_cli, "call", "resolve", *args, env=cli_env(settings))

    done = await cli(call_id, "resolved", "--note", "Risolto")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"call {call_id}: resolved"
    assert await stored(sessions, call_id) == ("resolved", "Risolto")
    assert_one_line_error(await cli(call_id, "fatto"), "resolution must be resolved or escalated")
    assert_one_line_error(await cli("no-such-call", "escalated"), "there is no call no-such-call")
    transferred = await a_call(sessions, transferred=True)
    assert_one_line_error(await cli(transferred, "resolved"), "stays escalated")
    assert await stored(sessions, transferred) == ("escalated", "")
