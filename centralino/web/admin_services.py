"""Admin page of a service's settings (``/admin/services/{slug}/settings``): numbers,
opening hours and time zone, options and mailbox, closures, office lines.

The work is done by :mod:`centralino.web.service_changes`, shared with the JSON API;
after a change of numbers the dialplan is applied live (:func:`live.apply_live`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import selectinload

from centralino.web import live, office_changes, service_changes
from centralino.web.access import Handler, requires
from centralino.web.context import web_context
from centralino.web.pages import apply_change, error_page, render
from centralino.web.sessions import IDENTITY
from models import Service

MESSAGES = {
    "saved": "Modifica salvata: vale dalla prossima chiamata.",
    "number": "Numeri salvati: Asterisk ha ricaricato il piano di chiamata, valgono dalla "
              "prossima chiamata.",
    "pending": "Modifica salvata, ma Asterisk non è stato aggiornato da questa pagina: "
               "`centralino asterisk up` la applica.",
    "closure": "Chiusure salvate: valgono dalla prossima chiamata.",
    "office": "Uffici salvati: Asterisk ha ricaricato telefoni e piano di chiamata.",
    "restored": "Versione precedente ripristinata.",
}


async def _page(request: web.Request, status: int = 200, error: str | None = None,
                message: str | None = None) -> web.Response:
    slug = request.match_info["slug"]
    sessions = web_context(request).sessions
    async with sessions() as session:
        service = await session.scalar(select(Service).where(Service.slug == slug[:64]).options(
            selectinload(Service.dids), selectinload(Service.windows)))
    if service is None:
        return error_page(request, 404, "Servizio inesistente.")
    return render(request, "service_settings.html", status=status, service=service,
                  settings=service_changes.settings_state(service),
                  closures=await service_changes.closures(sessions, service.slug),
                  offices=await office_changes.office_lines(sessions, service.slug),
                  weekdays=service_changes.WEEKDAY_LABELS, error=error, message=message)


@requires("admin", "supervisor")
async def settings_page(request: web.Request) -> web.Response:
    return await _page(request, message=MESSAGES.get(request.query.get("ok", "")))


def _field(form: object, name: str, limit: int = 300) -> str:
    value = form.get(name, "")  # type: ignore[attr-defined]
    return value[:limit] if isinstance(value, str) else ""


def _handler(change: Callable[[web.Request, str, object], Awaitable[object]],
             done: str) -> Handler:
    """A POST that runs ``change(request, actor, form)``: 400 with the page and the reason
    when refused; a change of numbers is then applied to Asterisk."""
    @requires("admin")
    async def handler(request: web.Request) -> web.Response:
        form = await request.post()

        async def where() -> str:
            slug = request.match_info["slug"]
            live_change = done in ("number", "office")
            outcome = done if not live_change or await live.apply_live(request.app) \
                else "pending"
            return f"/admin/services/{slug}/settings?ok={outcome}"
        return await apply_change(
            request, lambda: change(request, request[IDENTITY].username, form),
            lambda error: _page(request, 400, error), where)
    return handler


def _sessions(request: web.Request) -> async_sessionmaker:
    return web_context(request).sessions


settings_save = _handler(lambda request, actor, form: service_changes.change_settings(
    _sessions(request), actor, request.match_info["slug"], {
        "windows": [_field(form, f"day{day}", 100) for day in range(7)],
        "timezone": _field(form, "timezone", 64),
        "mailbox_email": _field(form, "mailbox_email"),
        **{name: _field(form, name) == "on" for name in service_changes.OPTIONS}}), "saved")
did_add = _handler(lambda request, actor, form: service_changes.add_did(
    _sessions(request), actor, request.match_info["slug"], _field(form, "did", 40)), "number")
did_remove = _handler(lambda request, actor, form: service_changes.remove_did(
    _sessions(request), actor, request.match_info["slug"], request.match_info["did"][:40]),
    "number")
closure_add = _handler(lambda request, actor, form: service_changes.add_closure(
    _sessions(request), actor, None if _field(form, "all") == "on"
    else request.match_info["slug"], _field(form, "day", 20), _field(form, "reason")),
    "closure")
closure_delete = _handler(lambda request, actor, form: service_changes.delete_closure(
    _sessions(request), actor, None if _field(form, "all") == "on"
    else request.match_info["slug"], request.match_info["day"][:20]), "closure")
office_add = _handler(lambda request, actor, form: office_changes.add_office_line(
    _sessions(request), actor, request.match_info["slug"], {
        name: _field(form, name, 128) for name in ("number", "phone", "name", "rings",
                                                   "password", "password_again")}), "office")
office_remove = _handler(lambda request, actor, form: office_changes.remove_office_line(
    _sessions(request), actor, request.match_info["slug"], request.match_info["number"]),
    "office")

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/admin/services/{slug}/settings", settings_page),
    ("POST", "/admin/services/{slug}/settings", settings_save),
    ("POST", "/admin/services/{slug}/dids", did_add),
    ("POST", "/admin/services/{slug}/dids/{did}/delete", did_remove),
    ("POST", "/admin/services/{slug}/closures", closure_add),
    ("POST", "/admin/services/{slug}/closures/{day}/delete", closure_delete),
    ("POST", "/admin/services/{slug}/offices", office_add),
    ("POST", "/admin/services/{slug}/offices/{number}/delete", office_remove),
]
