"""The supervisor wallboard: ``/supervisore`` and the WebSocket that keeps it live.

The page shows the live queues and agents (:mod:`centralino.web.wallboard_snapshot`)
and today's and this month's Tm, P and Q per service against the targets, with
today's calls per half-hour, from the same SQL aggregation as ``/api/sla``.
``/supervisore/ws`` pushes all of it as JSON whenever it changes: one snapshot
per second shared by every open socket (:mod:`centralino.web.wallboard_feed`);
the page's script, served from this site (the pages' CSP allows no inline
script), writes the numbers and redraws the bars in place.

Callers waiting come from the control plane's dispatcher when the web server
runs inside the control plane; a web server without one shows nobody waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import WSMsgType, web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.clock import Clock, utc_now
from centralino.api import PLANE, SLA_ZONE
from centralino.web.access import requires
from centralino.web.context import WEB, web_context
from centralino.web.i18n import DEFAULT_LANGUAGE, translate
from centralino.web.pages import error_page, render, request_language
from centralino.web.sessions import COOKIE, identify
from centralino.web.wallboard_feed import FEED, PUSH_SECONDS, SlaReader, WallboardFeed
from centralino.web.wallboard_snapshot import (
    AgentDesk,
    QueueDesk,
    WaitingCaller,
    Wallboard,
    build_wallboard,
)
from models import Agent, Queue, Service, agent_services

log = logging.getLogger(__name__)

ROLES = ("supervisor", "admin")
#: The web pages' clock when no control plane is attached (tests fix it here).
CLOCK: web.AppKey[Clock] = web.AppKey("wallboard_clock")
#: How often an open WebSocket checks that its session still exists (logout, expiry).
SESSION_CHECK_SECONDS = 15.0
SCRIPT = Path(__file__).parent / "templates" / "wallboard.js"
DEFAULT_ZONE = "Europe/Rome"


def clock_of(app: web.Application) -> Clock:
    """The control plane's clock (tests shift it), else :data:`CLOCK`, else real time."""
    if CLOCK in app:
        return app[CLOCK]
    plane = app.get(PLANE)
    return plane.clock if plane is not None else utc_now


async def read_desks(sessions: async_sessionmaker) -> tuple[list[QueueDesk], list[AgentDesk]]:
    """Every queue with its service, every agent with the services they answer."""
    async with sessions() as session:
        queues = [QueueDesk(r.id, r.slug, r.name, r.service_id, r.service_name)
                  for r in await session.execute(
                      select(Queue.id, Queue.slug, Queue.name, Queue.service_id,
                             Service.name.label("service_name"))
                      .join(Service, Service.id == Queue.service_id))]
        served: dict[int, set[int]] = {}
        for agent_id, service_id in await session.execute(
                select(agent_services.c.agent_id, agent_services.c.service_id)):
            served.setdefault(agent_id, set()).add(service_id)
        agents = [AgentDesk(r.id, r.username, r.display_name, r.state, r.state_since,
                            frozenset(served.get(r.id, ())))
                  for r in await session.execute(
                      select(Agent.id, Agent.username, Agent.display_name, Agent.state,
                             Agent.state_since))]
    return queues, agents


def waiting_callers(app: web.Application) -> list[WaitingCaller]:
    plane = app.get(PLANE)
    if plane is None:
        return []
    return [WaitingCaller(w.queue.id, w.entered_at)
            for w in list(plane.dispatcher.waiting.values())]


async def current_board(app: web.Application) -> Wallboard:
    queues, agents = await read_desks(app[WEB].sessions)
    return build_wallboard(queues, agents, waiting_callers(app), clock_of(app)())


# -- the shared feed ----------------------------------------------------------------

def setup(app: web.Application) -> None:
    """One feed per application; it hears of calls ending from the control plane's writes."""
    app[FEED] = WallboardFeed(lambda: current_board(app),
                              SlaReader(app[WEB].sessions, ZoneInfo(_zone(app))),
                              lambda: clock_of(app)())

    async def feed_context(app: web.Application) -> AsyncIterator[None]:
        plane = app.get(PLANE)
        if plane is not None:
            plane.writes.listen(app[FEED].written)
        yield
        await app[FEED].close()

    app.cleanup_ctx.append(feed_context)


def _zone(app: web.Application) -> str:
    return app.get(SLA_ZONE, DEFAULT_ZONE)


# -- handlers --------------------------------------------------------------------

@requires(*ROLES)
async def wallboard_page(request: web.Request) -> web.Response:
    app = request.app
    board = await current_board(app)
    sla = await app[FEED].sla()
    cards = [tuple(c for c in sla["sla"] if c["slug"] == slug)
             for slug in dict.fromkeys(c["slug"] for c in sla["sla"])]
    return render(request, "wallboard.html", board=board, cards=cards, chart=sla["chart"],
                  as_of=board.as_of.astimezone(ZoneInfo(_zone(app))))


@requires(*ROLES)
async def wallboard_script(request: web.Request) -> web.Response:
    response = web.Response(text=SCRIPT.read_text(encoding="utf-8"),
                            content_type="text/javascript")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _same_origin(request: web.Request) -> bool:
    """A WebSocket opened by another site's page would carry our cookie: refuse it."""
    origin = request.headers.get("Origin")
    return origin is None or origin.split("://", 1)[-1] == request.host


@requires(*ROLES)
async def wallboard_socket(request: web.Request) -> web.StreamResponse:
    if not _same_origin(request):
        return error_page(request, 403, "Origine non consentita.")
    socket = web.WebSocketResponse(heartbeat=20.0)
    if not socket.can_prepare(request).ok:
        return error_page(request, 400, "Serve una connessione WebSocket.")
    await socket.prepare(request)
    sessions = web_context(request).sessions
    token = request.cookies.get(COOKIE)
    language = request_language(request)
    reader = asyncio.get_running_loop().create_task(_drain(socket), name="wallboard-reader")
    seen = None
    checked = time.monotonic()
    try:
        async with request.app[FEED].watch() as feed:
            while not socket.closed and not reader.done():
                if time.monotonic() - checked >= SESSION_CHECK_SECONDS:
                    checked = time.monotonic()
                    identity = await identify(sessions, token)
                    if identity is None or identity.role not in ROLES:
                        await socket.close(code=4401, message=b"sessione scaduta")
                        break
                snapshot = await feed.next_after(seen, timeout=PUSH_SECONDS)
                if snapshot is not None:
                    await socket.send_json(in_language(snapshot, language))
                    seen = snapshot
    except (ConnectionResetError, RuntimeError):
        pass  # the browser went away between two pushes
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await socket.close()
    return socket


def in_language(snapshot: dict, language: str) -> dict:
    """The shared snapshot with the agents' states in the socket's language (a copy)."""
    if language == DEFAULT_LANGUAGE:
        return snapshot
    return {**snapshot, "agents": [{**a, "state_label": translate(language, a["state_label"])}
                                   for a in snapshot["agents"]]}


async def _drain(socket: web.WebSocketResponse) -> None:
    """Read (and ignore) what the browser sends, so a close from it is noticed."""
    async for message in socket:
        if message.type == WSMsgType.ERROR:
            log.info("wallboard socket error: %s", socket.exception())
            return


ROUTES = [
    ("GET", "/supervisore", wallboard_page),
    ("GET", "/supervisore/ws", wallboard_socket),
    ("GET", "/supervisore/wallboard.js", wallboard_script),
]
