"""The supervisor wallboard: ``/supervisore`` and the WebSocket that keeps it live.

The page shows the live queues and agents (:mod:`centralino.web.wallboard_snapshot`)
and today's and this month's Tm, P and Q per service against the targets, from
the same SQL as ``/api/sla``. ``/supervisore/ws`` pushes the live part as JSON
whenever it changes (checked every second); the page's script, served from this
site (the pages' CSP allows no inline script), writes the numbers in place.

Callers waiting come from the control plane's dispatcher when the web server
runs inside the control plane; a web server without one shows nobody waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import WSMsgType, web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.clock import Clock, utc_now
from centralino.api import PLANE, SLA_ZONE
from centralino.sla.query import ALL, SlaRow, current_range, sla_report
from centralino.web.access import requires
from centralino.web.context import WEB, web_context
from centralino.web.pages import error_page, render
from centralino.web.sessions import COOKIE, identify
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
#: The wallboard's clock when no control plane is attached (tests fix it here).
CLOCK: web.AppKey[Clock] = web.AppKey("wallboard_clock")
PUSH_SECONDS = 1.0
#: How often an open WebSocket checks that its session still exists (logout, expiry).
SESSION_CHECK_SECONDS = 15.0
SCRIPT = Path(__file__).parent / "templates" / "wallboard.js"
DEFAULT_ZONE = "Europe/Rome"


def _clock(app: web.Application) -> Clock:
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
    return build_wallboard(queues, agents, waiting_callers(app), _clock(app)())


# -- SLA block -------------------------------------------------------------------

@dataclass(frozen=True)
class Gauge:
    """One figure against its target, with the bar chart's geometry (0–100 % wide)."""

    label: str
    value: float | None
    target: float
    unit: str
    met: bool | None
    #: "≤" when lower is better (Tm, P), "≥" when higher is (Q).
    comparison: str
    bar_pct: float
    target_pct: float

    @property
    def shown(self) -> str:
        if self.value is None:
            return "—"
        return f"{self.value:.1f} {self.unit}".strip()


def gauge(label: str, value: float | None, target: float, unit: str, met: bool | None,
          comparison: str, scale: float | None = None) -> Gauge:
    top = scale or max(target * 1.5, value or 0.0, 1e-9)
    return Gauge(label, value, target, unit, met, comparison,
                 bar_pct=min(100.0, (value or 0.0) / top * 100), target_pct=target / top * 100)


@dataclass(frozen=True)
class ServiceSlaCard:
    service: str
    slug: str
    period: str
    answered: int
    abandoned: int
    gauges: tuple[Gauge, ...]


def card(row: SlaRow, period: str) -> ServiceSlaCard:
    f, t = row.figures, row.figures.targets
    return ServiceSlaCard(
        service=row.service.name, slug=row.service.slug, period=period,
        answered=f.tally.answered, abandoned=f.tally.abandoned,
        gauges=(gauge("Tm", f.tm_seconds, t.answer_seconds, "s", f.tm_met, "≤"),
                gauge("P", f.abandoned_pct, t.abandoned_pct, "%", f.abandoned_met, "≤"),
                gauge("Q", f.resolved_pct, t.resolved_pct, "%", f.resolved_met, "≥",
                      scale=100.0)))


async def sla_cards(sessions: async_sessionmaker, zone: str,
                    now: datetime) -> list[tuple[ServiceSlaCard, ServiceSlaCard]]:
    """Per service, today's and this month's figures (as ``/api/sla`` computes them)."""
    pairs: dict[str, list[ServiceSlaCard]] = {}
    for period, label in (("today", "Oggi"), ("month", "Mese in corso")):
        first, last, by = current_range(period, now, ZoneInfo(zone))
        for row in await sla_report(sessions, ALL, first, last, by):
            pairs.setdefault(row.service.slug, []).append(card(row, label))
    return [(today, month) for today, month in pairs.values()]


# -- handlers --------------------------------------------------------------------

@requires(*ROLES)
async def wallboard_page(request: web.Request) -> web.Response:
    app = request.app
    board = await current_board(app)
    zone = app.get(SLA_ZONE, DEFAULT_ZONE)
    cards = await sla_cards(web_context(request).sessions, zone, _clock(app)())
    return render(request, "wallboard.html", board=board, cards=cards,
                  as_of=board.as_of.astimezone(ZoneInfo(zone)))


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
    reader = asyncio.get_running_loop().create_task(_drain(socket), name="wallboard-reader")
    last_sent: dict | None = None
    since_check = 0.0
    try:
        while not socket.closed and not reader.done():
            if since_check >= SESSION_CHECK_SECONDS:
                since_check = 0.0
                identity = await identify(sessions, token)
                if identity is None or identity.role not in ROLES:
                    await socket.close(code=4401, message=b"sessione scaduta")
                    break
            data = (await current_board(request.app)).as_json()
            # Only the numbers matter for "changed": as_of moves every second.
            comparable = {k: v for k, v in data.items() if k != "as_of"}
            if comparable != last_sent:
                await socket.send_json(data)
                last_sent = comparable
            await asyncio.sleep(PUSH_SECONDS)
            since_check += PUSH_SECONDS
    except (ConnectionResetError, RuntimeError):
        pass  # the browser went away between two pushes
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await socket.close()
    return socket


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
