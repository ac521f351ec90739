"""Admin page of the services' sectors (``/admin/settori``): the desk's classification list
and where each sector's forward forms are e-mailed.

Add, rename, retire or bring back, move up and down, set the mailbox; the work is
done by :mod:`centralino.web.sector_changes`, shared with the JSON API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import select

from centralino.web import sector_changes
from centralino.web.access import Handler, requires
from centralino.web.context import web_context
from centralino.web.pages import apply_change, error_page, render
from centralino.web.sessions import IDENTITY
from models import Service

MESSAGES = {"salvata": "Casella salvata.", "aggiunto": "Settore aggiunto: la scrivania lo "
            "propone da subito.", "salvato": "Modifica salvata: la scrivania la mostra da "
            "subito; le chiamate già classificate restano com'erano.",
            "ripristinato": "Versione precedente ripristinata."}


async def _page(request: web.Request, status: int = 200, error: str | None = None,
                message: str | None = None) -> web.Response:
    sessions = web_context(request).sessions
    async with sessions() as session:
        services = (await session.execute(select(Service.slug, Service.name).order_by(
            Service.name))).all()
    return render(request, "admin_sectors.html", status=status,
                  rows=await sector_changes.sectors_by_service(sessions), services=services,
                  error=error, message=message)


def _sector_id(request: web.Request) -> int | None:
    raw = request.match_info["sector_id"]
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


async def _apply(request: web.Request, change: Callable[[], Awaitable[object]],
                 done: str) -> web.Response:
    return await apply_change(request, change, lambda error: _page(request, 400, error),
                              f"/admin/settori?ok={done}")


def _field(form: object, name: str) -> str:
    value = form.get(name, "")  # type: ignore[attr-defined]
    return value[:300] if isinstance(value, str) else ""


@requires("admin")
async def sector_list(request: web.Request) -> web.Response:
    return await _page(request, message=MESSAGES.get(request.query.get("ok", "")))


@requires("admin")
async def sector_add(request: web.Request) -> web.Response:
    form = await request.post()
    return await _apply(request, lambda: sector_changes.add_sector(
        web_context(request).sessions, request[IDENTITY].username, _field(form, "servizio"),
        _field(form, "nome")), "aggiunto")


def _sector_handler(change: Callable[[web.Request, int, object], Awaitable[object]],
                    done: str) -> Handler:
    @requires("admin")
    async def handler(request: web.Request) -> web.Response:
        sector_id = _sector_id(request)
        if sector_id is None:
            return error_page(request, 404, "Settore inesistente.")
        form = await request.post()
        return await _apply(request, lambda: change(request, sector_id, form), done)
    return handler


def _actor(request: web.Request) -> str:
    return request[IDENTITY].username


sector_mailbox = _sector_handler(lambda request, sector_id, form: sector_changes.change_sector(
    web_context(request).sessions, _actor(request), sector_id,
    mailbox=_field(form, "casella"), action="sector.mailbox"), "salvata")
sector_rename = _sector_handler(lambda request, sector_id, form: sector_changes.change_sector(
    web_context(request).sessions, _actor(request), sector_id, name=_field(form, "nome")),
    "salvato")
sector_retire = _sector_handler(lambda request, sector_id, form: sector_changes.change_sector(
    web_context(request).sessions, _actor(request), sector_id, retired=True), "salvato")
sector_reactivate = _sector_handler(
    lambda request, sector_id, form: sector_changes.change_sector(
        web_context(request).sessions, _actor(request), sector_id, retired=False), "salvato")
sector_up = _sector_handler(lambda request, sector_id, form: sector_changes.move_sector(
    web_context(request).sessions, _actor(request), sector_id, -1), "salvato")
sector_down = _sector_handler(lambda request, sector_id, form: sector_changes.move_sector(
    web_context(request).sessions, _actor(request), sector_id, 1), "salvato")

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/admin/settori", sector_list),
    ("POST", "/admin/settori", sector_add),
    ("POST", "/admin/settori/{sector_id}", sector_mailbox),
    ("POST", "/admin/settori/{sector_id}/nome", sector_rename),
    ("POST", "/admin/settori/{sector_id}/ritira", sector_retire),
    ("POST", "/admin/settori/{sector_id}/riattiva", sector_reactivate),
    ("POST", "/admin/settori/{sector_id}/su", sector_up),
    ("POST", "/admin/settori/{sector_id}/giu", sector_down),
]
