"""Wiring: database, Asterisk configuration, prompts, and the long-running control plane.

Shared by ``centralino run`` (everything, with the sandbox), ``centralino serve``
(control plane only, Asterisk managed elsewhere) and the integration tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from agi_scripts.agent_state import agent_state
from agi_scripts.server import FastAgiServer
from agi_scripts.service_open import service_open
from ari_app.app import ControlPlane
from ari_app.clock import Clock, utc_now
from ari_app.flows.inbound import FlowSettings
from ari_app.transport.ami import AmiLink
from ari_app.transport.ari import AriClient
from centralino import api, database, prompts
from centralino.agents import agent_accounts
from centralino.config import Settings
from centralino.credentials import Credentials, load_or_create
from centralino.errors import CentralinoError
from centralino.offices import office_accounts
from centralino.render import InstanceLayout, ServicePlan, render_config
from centralino.seed import load_service_plans, seed
from centralino.sla.export import start_nightly_exports
from centralino.web import MAX_BODY_BYTES, add_web, live
from centralino.web.api_v1 import add_api_v1
from centralino.web.desk_forward import MAIL_SETTINGS
from models import Notice, Prompt, Service
from models.db import create_engine, session_factory

log = logging.getLogger(__name__)


def credentials_for(settings: Settings) -> Credentials:
    return load_or_create(settings.instance_state_dir / "credentials.json")


async def prepare_database(settings: Settings) -> tuple[AsyncEngine, async_sessionmaker]:
    """Upgrade the schema, seed the tender's services on first start, return sessions."""
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(database.upgrade, url)
    # Every statement is small: one that takes longer means a server that is away.
    engine = create_engine(url, command_timeout=5.0)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            created = await seed(session)
    except SQLAlchemyError as exc:
        await engine.dispose()
        raise CentralinoError(f"cannot seed the database: {exc.__class__.__name__}") from None
    if created:
        log.info("seeded services: %s", ", ".join(created))
    return engine, sessions


async def service_plans(sessions: async_sessionmaker) -> list[ServicePlan]:
    async with sessions() as session:
        return await load_service_plans(session)


async def _ensure_sound(host_dir: Path, slug: str, kind: str, text: str,
                        current: str | None) -> str | None:
    """Record ``text`` once per distinct text; return the sound's name if it changed."""
    name = prompts.sound_name(slug, kind, text)
    target = host_dir / f"{name}.wav"
    if current == name and target.exists():
        return None
    if not target.exists():  # same text, same file: record it once
        await asyncio.to_thread(prompts.synthesize, text, target)
        target.chmod(0o644)
    return name


async def record_prompts(sessions: async_sessionmaker, host_dir: Path) -> int:
    """Record every prompt and notice whose text has no matching sound yet; return how many."""
    recorded = 0
    async with sessions() as session:
        for prompt, slug in (await session.execute(
                select(Prompt, Service.slug).join(Service, Prompt.service_id == Service.id))).all():
            if prompt.text.strip() and (name := await _ensure_sound(
                    host_dir, slug, prompt.kind, prompt.text, prompt.sound)):
                prompt.sound, prompt.updated_at = name, datetime.now(UTC)
                recorded += 1
        for notice, slug in (await session.execute(
                select(Notice, Service.slug).join(Service, Notice.service_id == Service.id))).all():
            if notice.text.strip() and (name := await _ensure_sound(
                    host_dir, slug, f"notice{notice.id}", notice.text, notice.sound)):
                notice.sound = name
                recorded += 1
        await session.commit()
    return recorded


async def configure_asterisk(settings: Settings, sessions: async_sessionmaker,
                             layout: InstanceLayout | None) -> dict[str, str]:
    plans = await service_plans(sessions)
    accounts = [*await agent_accounts(sessions), *await office_accounts(sessions)]
    return render_config(settings, credentials_for(settings), plans, layout, accounts)


@dataclass
class Running:
    control_plane: ControlPlane
    ami: AmiLink
    agi: FastAgiServer
    web_runner: web.AppRunner
    agi_port: int


async def _health(request: web.Request) -> web.Response:
    running: Running = request.app[RUNNING]
    db_ok = True
    try:
        async with running.control_plane.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        db_ok = False
    body = {
        "ari_connected": running.control_plane.connected.is_set(),
        "ami_logins": running.ami.logins,
        "database": db_ok,
        "calls_in_progress": len(running.control_plane.active_calls),
    }
    return web.json_response(body, status=200 if db_ok else 503)


async def _metrics(request: web.Request) -> web.Response:
    """Counters for operators and the benchmark: reaction times, CPU, calls."""
    running: Running = request.app[RUNNING]
    plane = running.control_plane
    if request.query.get("reset") == "1":
        plane.reaction.reset()
    cpu = time.process_time()
    return web.json_response({
        "reaction_ms": plane.reaction.summary_ms(),
        "ari_requests": {"websocket": plane.ari.requests_over_websocket,
                         "http": plane.ari.requests_over_http},
        "event_loop": type(asyncio.get_running_loop()).__module__,
        "database": {"transactions": plane.writes.transactions, "writes": plane.writes.applied,
                     "agent_roster_reads": plane.agents.roster_reads},
        "process_cpu_seconds": round(cpu, 3),
        "calls_in_progress": len(plane.active_calls),
        "pid": os.getpid(),
    })


RUNNING: web.AppKey[Running] = web.AppKey("running", Running)


def run_control_plane(main: Coroutine[Any, Any, None]) -> None:
    """Run the control plane's coroutine to the end on uvloop where it is installed.

    uvloop's event loop and sockets are written in C: the same calls cost the control
    plane markedly less CPU than on the standard loop (README, "Capacity"). The flows
    do not depend on it, and run on the standard loop in the test suite.
    """
    try:
        import uvloop
    except ImportError:  # not on every platform: the standard loop does the same work
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


@contextlib.asynccontextmanager
async def control_plane(settings: Settings, sessions: async_sessionmaker, *, sounds_dir: str,
                        clock: Clock = utc_now, web_port: int | None = None,
                        agi_port: int | None = None,
                        sounds_host_dir: Path | None = None) -> AsyncIterator[Running]:
    """Run the ARI application, AMI link, FastAGI server and web endpoint until exit.

    ``sounds_host_dir`` is ``sounds_dir`` as this host sees it (they differ for the
    sandbox's chroot); without it the web admin cannot record prompts.
    """
    creds = credentials_for(settings)
    ari = AriClient(f"http://{settings.bind_address}:{settings.ari_port}", creds.ari_user,
                    creds.ari_password, settings.ari_app,
                    rest_over_websocket=settings.ari_rest_over_websocket)
    plane = ControlPlane(
        ari, sessions, sounds_dir=sounds_dir, clock=clock,
        flow_settings=FlowSettings(
            ring_on_ms=settings.ring_on_ms, ring_off_ms=settings.ring_off_ms,
            voicemail_max_seconds=settings.voicemail_max_seconds,
            voicemail_max_silence_seconds=settings.voicemail_max_silence_seconds),
        dispatch_poll_seconds=settings.dispatch_poll_seconds,
        journal_path=settings.journal_path, queue_log_path=settings.queue_log_path)
    plane.callbacks.enabled = bool(settings.carrier_outbound_uri)
    ami = AmiLink(settings.bind_address, settings.ami_port, creds.ami_user, creds.ami_secret,
                  on_relogin=plane.recover)
    agi = FastAgiServer()
    agi.route("service-open", service_open(plane.directory, clock))
    agi.route("agent-state", agent_state(sessions, clock, settings.queue_log_path,
                                         on_change=plane.agents_changed))
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    api.add_routes(app, plane, creds.api_token, settings.timezone)
    add_web(app, sessions, sounds_host_dir, session_hours=settings.web_session_hours,
            secure_cookies=settings.web_secure_cookies)
    live.enable_live_config(app, settings)
    app[MAIL_SETTINGS] = settings  # the desk's forward forms go out by e-mail
    add_api_v1(app)
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    runner = web.AppRunner(app, access_log=None)
    running = Running(plane, ami, agi, runner, agi_port=0)
    app[RUNNING] = running
    await runner.setup()
    wanted_agi = settings.agi_port if agi_port is None else agi_port
    wanted_web = settings.web_port if web_port is None else web_port
    try:
        running.agi_port = await agi.start(settings.bind_address, wanted_agi)
        await web.TCPSite(runner, settings.bind_address, wanted_web).start()
    except OSError as exc:
        await agi.close()
        await runner.cleanup()
        raise CentralinoError(
            f"cannot listen on {settings.bind_address} (FastAGI port {wanted_agi}, web port "
            f"{wanted_web}): {exc.strerror}; is another Centralino running? Set agi_port/web_port"
        ) from None
    events = asyncio.get_running_loop().create_task(plane.run(), name="ari-events")
    exports = start_nightly_exports(settings, sessions, clock)
    try:
        try:
            await ami.connect()
            await asyncio.wait_for(plane.connected.wait(), 15)
        except TimeoutError:
            raise CentralinoError(
                f"Asterisk did not answer on ARI {settings.bind_address}:{settings.ari_port} "
                f"or AMI {settings.ami_port}: is it running (`centralino asterisk status`)?"
            ) from None
        yield running  # a TimeoutError raised by the caller meanwhile stays the caller's
    finally:
        if exports is not None:
            exports.shutdown(wait=False)
        # The calls are left as they are before the event socket closes under them.
        await plane.leave_calls()
        events.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await events
        await plane.close()
        ami.close()
        await agi.close()
        await runner.cleanup()
        await ari.close()
