"""Who may reach which page: sessions, roles and CSRF checked before any web handler runs.

Every route of the web interface declares its roles with :func:`requires` (or
:func:`public`); the middleware refuses a route that declares nothing, so a page
added without a role check cannot be reached at all.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from centralino.web.context import web_context
from centralino.web.pages import error_page
from centralino.web.sessions import COOKIE, IDENTITY, identify

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Paths served by the rest of the control plane, with checks of their own.
OTHER_PATHS = ("/api/", "/health", "/metrics")
LOGIN_CSRF_COOKIE = "centralino_login_csrf"
PUBLIC = ("public",)


def requires(*roles: str) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        handler.web_roles = roles  # type: ignore[attr-defined]
        return handler
    return mark


def public(handler: Handler) -> Handler:
    handler.web_roles = PUBLIC  # type: ignore[attr-defined]
    return handler


def _tokens_match(given: Any, expected: str | None) -> bool:
    return (isinstance(given, str) and bool(expected)
            and hmac.compare_digest(given.encode(), str(expected).encode()))


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(OTHER_PATHS):
        return await handler(request)
    route_handler = getattr(request.match_info, "handler", None)
    roles = getattr(route_handler, "web_roles", None)
    if request.match_info.http_exception is not None:
        return error_page(request, request.match_info.http_exception.status,
                          "Pagina inesistente.")
    if roles is None:
        return error_page(request, 403, "Accesso non consentito.")
    if roles == PUBLIC:
        if request.method == "POST":
            form = await request.post()
            if not _tokens_match(form.get("csrf"), request.cookies.get(LOGIN_CSRF_COOKIE)):
                return error_page(request, 403, "Modulo scaduto o non valido: ricaricare la "
                                                "pagina e riprovare.")
        return await handler(request)
    identity = await identify(web_context(request).sessions, request.cookies.get(COOKIE))
    if identity is None:
        if request.method == "GET":
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
        return error_page(request, 403, "Sessione scaduta: accedere di nuovo.")
    request[IDENTITY] = identity
    if identity.role not in roles:
        return error_page(request, 403, "Il suo ruolo non consente questa pagina.")
    if request.method == "POST":
        form = await request.post()
        if not _tokens_match(form.get("csrf"), identity.csrf_token):
            return error_page(request, 403, "Modulo scaduto o non valido: ricaricare la "
                                            "pagina e riprovare.")
    return await handler(request)
