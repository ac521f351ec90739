"""The real Asterisk sandbox and the control plane, for end-to-end tests over SIP.

One Asterisk instance ("test", its own ports) serves the whole session; the
control plane is started per test against SQLite or PostgreSQL, so every
test begins with nothing in flight. Prompts are shortened so calls are quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.clock import ShiftedClock
from ari_app.directory import ServiceInfo
from centralino.cli import sounds_dir_in
from centralino.config import Settings
from centralino.runtime import (
    Running,
    configure_asterisk,
    control_plane,
    prepare_database,
    record_prompts,
)
from centralino.sandbox import Sandbox
from models import Call, Menu, Prompt, Voicemail
from tests.support.sipua import SipUA

ROME = ZoneInfo("Europe/Rome")
#: A Tuesday, in the service window of every seeded service.
IN_HOURS = datetime(2026, 12, 1, 10, 0, tzinfo=ROME)
#: A Saturday night.
OUT_OF_HOURS = datetime(2026, 12, 5, 22, 0, tzinfo=ROME)
CARRIER = "127.0.0.2"
SHORT_PROMPTS = {
    "welcome": "Benvenuto.",
    "out_of_hours": "Servizio chiuso.",
    "goodbye": "Arrivederci.",
    "hours": "Orari.",
    "menu": "Scelga.",
    "invalid": "Non valida.",
    "busy": "Occupati.",
    "voicemail": "Messaggio.",
    "thanks": "Grazie.",
    "position": "Posizione",
    "wait_time": "Attesa",
    "minutes": "minuti",
    "emergency": "Non è il 112.",
}

T = TypeVar("T")


async def shorten_prompts(sessions: async_sessionmaker) -> None:
    """Short prompts and a 1-second menu timeout: the real flows, quickly."""
    async with sessions() as session:
        for kind, text in SHORT_PROMPTS.items():
            await session.execute(update(Prompt).where(Prompt.kind == kind).values(text=text))
        await session.execute(update(Menu).values(timeout_seconds=1))
        await session.commit()


@pytest.fixture(scope="session")
async def asterisk(test_settings: Settings) -> AsyncIterator[Sandbox]:
    """Asterisk 22 in the cached chroot (built on first use), configured from the seed."""
    sandbox = Sandbox(test_settings)
    await asyncio.to_thread(sandbox.provision)
    engine, sessions = await prepare_database(test_settings)
    try:
        await shorten_prompts(sessions)
        await record_prompts(sessions, sandbox.host_path(sounds_dir_in(sandbox)))
        files = await configure_asterisk(test_settings, sessions, sandbox.layout)
    finally:
        await engine.dispose()
    await asyncio.to_thread(sandbox.stop)  # a leftover from an interrupted run
    # Voicemails of earlier runs would make this run's assertions ambiguous.
    await asyncio.to_thread(shutil.rmtree, sandbox.host_path(sandbox.layout.spool), True)
    await asyncio.to_thread(sandbox.install_config, files)
    await asyncio.to_thread(sandbox.start)
    try:
        yield sandbox
    finally:
        await asyncio.to_thread(sandbox.stop)
        assert sandbox.read_pid() is None


@dataclass
class Plane:
    """A running control plane, its database and what it saw."""

    running: Running
    sessions: async_sessionmaker
    clock: ShiftedClock
    settings: Settings
    events: list[dict[str, Any]] = field(default_factory=list)

    async def call_record(self, **where: Any) -> Call | None:
        async with self.sessions() as session:
            query = select(Call).order_by(Call.arrived_at.desc())
            for key, value in where.items():
                query = query.where(getattr(Call, key) == value)
            return (await session.scalars(query)).first()

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    def heard(self, sound: str | None) -> bool:
        """Whether this recorded prompt started playing (first of a playback, or next)."""
        return bool(sound) and any(
            sound in e["playback"].get("media_uri", "")
            for e in self.events_of("PlaybackStarted") + self.events_of("PlaybackContinuing"))

    async def voicemails(self, call_id: str) -> list[Voicemail]:
        async with self.sessions() as session:
            return list((await session.scalars(
                select(Voicemail).where(Voicemail.call_id == call_id))).all())

    async def ended_record(self, caller: str, timeout: float = 10) -> Call:
        async def probe() -> Call | None:
            record = await self.call_record(caller_number=caller)
            return record if record is not None and record.ended_at is not None else None

        return await eventually(probe, timeout, f"the record of the call from {caller} to close")

    async def record_in_state(self, caller: str, state: str, timeout: float = 10) -> Call:
        async def probe() -> Call | None:
            record = await self.call_record(caller_number=caller)
            return record if record is not None and record.flow_state == state else None

        return await eventually(probe, timeout, f"the call from {caller} to reach {state}")

    async def service(self, slug: str) -> ServiceInfo | None:
        return await self.running.control_plane.directory.get(slug)


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 5.0,
                     what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
async def plane_database(database_url: str, test_settings: Settings,
                         asterisk: Sandbox) -> AsyncIterator[tuple[Settings, async_sessionmaker]]:
    settings = test_settings.with_overrides(database_url=database_url)
    engine, sessions = await prepare_database(settings)
    await shorten_prompts(sessions)
    await record_prompts(sessions, asterisk.host_path(sounds_dir_in(asterisk)))
    yield settings, sessions
    await engine.dispose()


@contextlib.asynccontextmanager
async def running_plane(settings: Settings, sessions: async_sessionmaker, asterisk: Sandbox,
                        clock: ShiftedClock) -> AsyncIterator[Plane]:
    """Start a control plane; on exit it stops, whatever calls are still up."""
    async with control_plane(settings, sessions, sounds_dir=sounds_dir_in(asterisk),
                             clock=clock, web_port=0,
                             sounds_host_dir=asterisk.host_path(sounds_dir_in(asterisk))
                             ) as running:
        result = Plane(running, sessions, clock, settings)
        running.control_plane.observers.append(result.events.append)
        yield result


@pytest.fixture
async def plane(plane_database, asterisk: Sandbox) -> AsyncIterator[Plane]:
    settings, sessions = plane_database
    async with running_plane(settings, sessions, asterisk, ShiftedClock(IN_HOURS)) as result:
        yield result
        # Nothing of this test may still be in flight when the next one starts.
        await eventually(lambda: _no_calls(result.running), 10, "calls of the test to end")


async def _no_calls(running: Running) -> bool:
    return not running.control_plane.active_calls


@pytest.fixture(scope="session")
async def carrier(test_settings: Settings) -> AsyncIterator[SipUA]:
    """The carrier's trunk: a SIP user agent on 127.0.0.2 placing citizens' calls, and
    receiving the call-backs (``carrier_outbound_uri`` names its port)."""
    port = int(test_settings.carrier_outbound_uri.rsplit(":", 1)[1])
    async with await SipUA.start(bind_address=CARRIER, port=port) as ua:
        yield ua


def did_uri(settings: Settings, did: str) -> str:
    return f"sip:{did}@{settings.bind_address}:{settings.sip_port}"


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    """One headless Chromium for the session's browser tests."""
    from tests.support.browser import headless_chromium

    async with headless_chromium() as browser:
        yield browser
