"""Admin pages for services and what callers hear: prompts, recordings, mode, notices, audit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ari_app.directory import MAX_MENU_DEPTH
from centralino.web import audit, changes, live, menu_changes
from centralino.web.access import requires
from centralino.web.context import web_context
from centralino.web.pages import apply_change, error_page, render, see_other
from centralino.web.sessions import IDENTITY
from centralino.web.validation import Refused, is_sound_name
from models import Menu, Notice, OfficeLine, Service
from models.service import PROMPT_KINDS

#: Shown first on a service's page: what every caller hears.
MAIN_PROMPTS = ("welcome", "hours", "out_of_hours")
PROMPT_LABELS = {
    "welcome": "Benvenuto", "hours": "Orari d'ufficio", "out_of_hours": "Fuori orario",
    "goodbye": "Congedo", "menu": "Menu", "invalid": "Scelta non valida",
    "busy": "Operatori occupati", "voicemail": "Segreteria", "thanks": "Ringraziamento",
    "position": "Posizione in coda", "wait_time": "Tempo di attesa", "minutes": "Minuti",
    "emergency": "Non è un numero di emergenza",
}
MODE_LABELS = {"auto": "Automatica (orari e festività)", "open": "Aperto forzato",
               "closed": "Chiuso forzato"}


@requires("admin", "supervisor")
async def service_list(request: web.Request) -> web.Response:
    async with web_context(request).sessions() as session:
        services = (await session.scalars(select(Service).options(
            selectinload(Service.dids)).order_by(Service.slug))).all()
    return render(request, "services.html", services=services, mode_labels=MODE_LABELS)


async def _service_page(request: web.Request, slug: str, status: int = 200,
                        error: str | None = None, notice: str | None = None) -> web.Response:
    ctx = web_context(request)
    async with ctx.sessions() as session:
        service = await session.scalar(select(Service).where(Service.slug == slug[:64]).options(
            selectinload(Service.dids), selectinload(Service.prompts),
            selectinload(Service.queues), selectinload(Service.menu).selectinload(Menu.options)))
        if service is None:
            return error_page(request, 404, "Servizio inesistente.")
        notices = (await session.scalars(select(Notice).where(
            Notice.service_id == service.id).order_by(Notice.valid_from, Notice.id))).all()
        menus = {m.id: m for m in await session.scalars(select(Menu).where(
            Menu.service_id == service.id).options(selectinload(Menu.options)))}
        offices = (await session.execute(select(OfficeLine.number, OfficeLine.name,
                                                OfficeLine.endpoint, OfficeLine.rings)
                                         .order_by(OfficeLine.number))).all()
    by_kind = {p.kind: p for p in service.prompts}
    # The 112 notice switched on in the settings needs its prompt here to be recorded.
    offered = {*by_kind, *(["emergency"] if service.not_emergency_notice else [])}
    kinds = [*MAIN_PROMPTS, *(k for k in PROMPT_KINDS if k in offered and k not in MAIN_PROMPTS)]
    until = (service.mode_until.astimezone(ZoneInfo(service.timezone)).strftime("%Y-%m-%dT%H:%M")
             if service.mode_until else "")
    return render(request, "service.html", status=status, service=service, kinds=kinds,
                  prompts=by_kind, labels=PROMPT_LABELS, mode_labels=MODE_LABELS,
                  notices=notices, until=until, error=error, message=notice,
                  mp3=ctx.mp3_supported, today=date.today().isoformat(),
                  menu_actions=menu_changes.OFFERED_ACTIONS, menus=menus, offices=offices,
                  max_depth=MAX_MENU_DEPTH,
                  strategies=menu_changes.STRATEGY_LABELS)


@requires("admin", "supervisor")
async def service_page(request: web.Request) -> web.Response:
    message = {"saved": "Modifica salvata: vale dalla prossima chiamata.",
               "restored": "Versione precedente ripristinata."}.get(request.query.get("ok", ""))
    return await _service_page(request, request.match_info["slug"], notice=message)


def _sounds_dir(request: web.Request) -> Path:
    sounds = web_context(request).sounds_dir
    if sounds is None:
        raise Refused("Questa installazione non sa dove registrare i messaggi "
                      "(directory dei suoni non configurata).")
    return sounds


async def _apply(request: web.Request,
                 change: Callable[[], Awaitable[object]]) -> web.Response:
    slug = request.match_info["slug"]
    return await apply_change(
        request, change, lambda error: _service_page(request, slug, status=400, error=error),
        f"/admin/services/{slug}?ok=saved")


@requires("admin")
async def prompt_text(request: web.Request) -> web.Response:
    form = await request.post()
    identity = request[IDENTITY]
    return await _apply(request, lambda: changes.change_prompt_text(
        web_context(request).sessions, _sounds_dir(request), identity.username,
        request.match_info["slug"], request.match_info["kind"], str(form.get("text", ""))))


@requires("admin")
async def prompt_upload(request: web.Request) -> web.Response:
    form = await request.post()
    upload = form.get("audio")
    data = upload.file.read(changes.MAX_UPLOAD_BYTES + 1) if isinstance(
        upload, web.FileField) else b""
    identity = request[IDENTITY]
    return await _apply(request, lambda: changes.upload_prompt(
        web_context(request).sessions, _sounds_dir(request), identity.username,
        request.match_info["slug"], request.match_info["kind"], data))


@requires("admin")
async def service_mode(request: web.Request) -> web.Response:
    form = await request.post()
    identity = request[IDENTITY]
    return await _apply(request, lambda: changes.change_mode(
        web_context(request).sessions, identity.username, request.match_info["slug"],
        str(form.get("mode", "")), str(form.get("until", ""))))


def _notice_id(request: web.Request) -> int | None:
    raw = request.match_info.get("notice_id")
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


@requires("admin")
async def notice_save(request: web.Request) -> web.Response:
    form = await request.post()
    identity = request[IDENTITY]
    notice_id = _notice_id(request)
    if "notice_id" in request.match_info and notice_id is None:
        return error_page(request, 404, "Avviso inesistente.")
    return await _apply(request, lambda: changes.save_notice(
        web_context(request).sessions, _sounds_dir(request), identity.username,
        request.match_info["slug"], notice_id, str(form.get("text", "")),
        str(form.get("valid_from", "")), str(form.get("valid_until", ""))))


@requires("admin")
async def notice_delete(request: web.Request) -> web.Response:
    notice_id = _notice_id(request)
    if notice_id is None:
        return error_page(request, 404, "Avviso inesistente.")
    identity = request[IDENTITY]
    return await _apply(request, lambda: changes.delete_notice(
        web_context(request).sessions, identity.username, request.match_info["slug"],
        notice_id))


@requires("admin", "supervisor")
async def sound_file(request: web.Request) -> web.StreamResponse:
    """A recorded prompt, to listen to in the browser."""
    name = request.match_info["name"]
    sounds = web_context(request).sounds_dir
    path = sounds / f"{name}.wav" if sounds is not None and is_sound_name(name) else None
    if path is None or not path.is_file():
        return error_page(request, 404, "Registrazione inesistente.")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav",
                                           "Cache-Control": "private, max-age=3600"})


@requires("admin")
async def audit_page(request: web.Request) -> web.Response:
    key = request.query.get("object", "")[:100] or None
    entries = await audit.recent(web_context(request).sessions, 200, key)
    return render(request, "audit.html", entries=entries, restorable=changes.RESTORABLE,
                  error=None)


@requires("admin")
async def audit_restore(request: web.Request) -> web.Response:
    raw = request.match_info["entry_id"]
    if not raw.isdigit() or len(raw) > 9:
        return error_page(request, 404, "Voce inesistente.")
    identity = request[IDENTITY]
    try:
        key = await changes.restore(web_context(request).sessions, _sounds_dir(request),
                                    identity.username, int(raw))
    except Refused as exc:
        entries = await audit.recent(web_context(request).sessions, 200)
        return render(request, "audit.html", status=400, entries=entries,
                      restorable=changes.RESTORABLE, error=str(exc))
    return see_other(await restored_page(request.app, key))


async def restored_page(app: web.Application, key: str) -> str:
    """Where to show a restored object; an agent's SIP account, a service's numbers are
    applied to Asterisk."""
    if key.startswith("agent/"):
        return "/admin/agents?ok=" + ("restored" if await live.apply_live(app)
                                      else "pending")
    if "/sector/" in key:
        return "/admin/settori?ok=ripristinato"
    slug, _, kind = key.partition("/")
    if kind == "settings":  # the numbers may have changed: the dialplan with them
        return f"/admin/services/{slug}/settings?ok=" + ("restored" if await live.apply_live(app)
                                                         else "pending")
    if kind.startswith("closure/"):
        return "/admin/services" if slug == "*" else f"/admin/services/{slug}/settings?ok=restored"
    return f"/admin/services/{key.split('/', 1)[0]}?ok=restored"
