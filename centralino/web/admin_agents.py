"""Admin page for agents: list, create with a SIP password, change profile, skills, services.

After a change that Asterisk must know (a new SIP account, a new caller ID),
the configuration is applied live (:func:`centralino.web.live.apply_live`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import select

from centralino.web import agent_changes
from centralino.web.access import Handler, requires
from centralino.web.context import web_context
from centralino.web.live import apply_live
from centralino.web.pages import apply_change, render, see_other
from centralino.web.sessions import IDENTITY
from centralino.web.validation import Refused
from models import Agent, Service

MESSAGES = {
    "added": "Operatore creato: Asterisk ha ricaricato gli account SIP, il telefono può "
             "registrarsi subito.",
    "changed": "Modifica salvata: vale dalla prossima chiamata.",
    "disabled": "Operatore disattivato: è stato scollegato, il suo telefono non può più "
                "registrarsi né squillare.",
    "enabled": "Operatore riattivato: il suo telefono può registrarsi di nuovo.",
    "deleted": "Operatore eliminato: le sue chiamate restano nello storico e nei dati SLA; "
               "si ripristina dal registro modifiche.",
    "password": "Password SIP cambiata: il telefono deve usare la nuova.",
    "restored": "Versione precedente ripristinata.",
    "pending": "Modifica salvata, ma Asterisk non è stato aggiornato da questa pagina: "
               "`centralino asterisk up` la applica.",
}


async def _page(request: web.Request, status: int = 200, error: str | None = None,
                form: dict[str, Any] | None = None) -> web.Response:
    async with web_context(request).sessions() as session:
        agents = (await session.scalars(select(Agent).where(Agent.deleted_at.is_(None))
                                        .order_by(Agent.username))).all()
        services = (await session.scalars(select(Service).order_by(Service.slug))).all()
        views = [{"username": a.username, "display_name": a.display_name,
                  "profile": a.profile, "state": a.state, "enabled": a.enabled,
                  "services": sorted(s.slug for s in a.services),
                  "skills": sorted(s.skill for s in a.skills)} for a in agents]
    message = MESSAGES.get(request.query.get("ok", "")) if status == 200 else None
    return render(request, "agents.html", status=status, agents=views, services=services,
                  profiles=agent_changes.PROFILE_LABELS, states=agent_changes.STATE_LABELS,
                  error=error, message=message, form=form or {})


async def _form(request: web.Request) -> dict[str, Any]:
    posted = await request.post()
    form: dict[str, Any] = {name: str(posted.get(name, ""))[:300] for name in (
        "username", "password", "password2", "display_name", "profile", "skills")}
    form["services"] = [str(v)[:64] for v in posted.getall("services", []) if str(v)][:50]
    return form


@requires("admin", "supervisor")
async def agent_list(request: web.Request) -> web.Response:
    return await _page(request)


@requires("admin")
async def agent_create(request: web.Request) -> web.Response:
    form = await _form(request)
    try:
        await agent_changes.create_agent(web_context(request).sessions,
                                         request[IDENTITY].username, form)
    except Refused as exc:
        kept = {k: v for k, v in form.items() if k not in ("password", "password2")}
        return await _page(request, 400, str(exc), kept)
    return see_other("/admin/agents?ok=" + ("added" if await apply_live(request.app)
                                            else "pending"))


@requires("admin")
async def agent_change(request: web.Request) -> web.Response:
    form = await _form(request)
    return await _lifecycle(request, lambda: agent_changes.change_agent(
        web_context(request).sessions, request[IDENTITY].username,
        request.match_info["username"], form), "changed")


async def _lifecycle(request: web.Request, change: Callable[[], Awaitable[None]],
                     done: str) -> web.Response:
    async def applied() -> str:
        return f"/admin/agents?ok={done if await apply_live(request.app) else 'pending'}"
    return await apply_change(request, change, lambda error: _page(request, 400, error),
                              applied)


@requires("admin")
async def agent_disable(request: web.Request) -> web.Response:
    return await _lifecycle(request, lambda: agent_changes.set_enabled(
        web_context(request).sessions, request[IDENTITY].username,
        request.match_info["username"], False), "disabled")


@requires("admin")
async def agent_enable(request: web.Request) -> web.Response:
    return await _lifecycle(request, lambda: agent_changes.set_enabled(
        web_context(request).sessions, request[IDENTITY].username,
        request.match_info["username"], True), "enabled")


@requires("admin")
async def agent_delete(request: web.Request) -> web.Response:
    return await _lifecycle(request, lambda: agent_changes.delete_agent(
        web_context(request).sessions, request[IDENTITY].username,
        request.match_info["username"]), "deleted")


@requires("admin")
async def agent_password(request: web.Request) -> web.Response:
    form = await _form(request)
    return await _lifecycle(request, lambda: agent_changes.change_password(
        web_context(request).sessions, request[IDENTITY].username,
        request.match_info["username"], form["password"], form["password2"]), "password")


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/admin/agents", agent_list),
    ("POST", "/admin/agents", agent_create),
    ("POST", "/admin/agents/{username}", agent_change),
    ("POST", "/admin/agents/{username}/disable", agent_disable),
    ("POST", "/admin/agents/{username}/enable", agent_enable),
    ("POST", "/admin/agents/{username}/delete", agent_delete),
    ("POST", "/admin/agents/{username}/password", agent_password),
]
