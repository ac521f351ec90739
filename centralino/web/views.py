"""Login, logout and the start page each role lands on."""

from __future__ import annotations

import secrets

from aiohttp import web

from centralino.web.access import LOGIN_CSRF_COOKIE, public, requires
from centralino.web.auth import authenticate
from centralino.web.context import web_context
from centralino.web.pages import render, see_other
from centralino.web.sessions import (
    COOKIE,
    clear_cookie,
    close_session,
    open_session,
    set_cookie,
)


def _safe_next(raw: str | None) -> str:
    """Only a path of this site: a login link must not send the user elsewhere."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw[:300]
    return "/"


def _login_page(request: web.Request, status: int = 200, error: str | None = None,
                username: str = "", next_path: str | None = None) -> web.Response:
    ctx = web_context(request)
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status=status, csrf=token, error=error,
                      username=username[:64],
                      next=_safe_next(next_path or request.query.get("next")))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path="/login", httponly=True,
                        samesite="Strict", secure=ctx.secure_cookies)
    return response


@public
async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


def _client_address(request: web.Request) -> str:
    # Loopback by default: the peer address is the user's (no proxy header is trusted).
    return (request.remote or "unknown")[:64]


@public
async def login(request: web.Request) -> web.Response:
    ctx = web_context(request)
    form = await request.post()
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))
    next_path = _safe_next(str(form.get("next", "/")))
    result = await authenticate(ctx.sessions, username, password, _client_address(request))
    if result.limited:
        return _login_page(request, 429, "Troppi tentativi falliti: riprovare fra qualche "
                                         "minuto.", username, next_path)
    if result.user is None:
        return _login_page(request, 401, "Accesso non riuscito: nome utente o password non "
                                         "validi.", username, next_path)
    token = await open_session(ctx.sessions, result.user, ctx.session_lifetime)
    response = see_other(next_path)
    set_cookie(response, token, ctx.session_lifetime, ctx.secure_cookies)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@requires("admin", "supervisor", "agent")
async def logout(request: web.Request) -> web.Response:
    ctx = web_context(request)
    await close_session(ctx.sessions, request.cookies.get(COOKIE))
    response = see_other("/login")
    clear_cookie(response, ctx.secure_cookies)
    return response


@requires("admin", "supervisor", "agent")
async def home(request: web.Request) -> web.Response:
    return render(request, "home.html")
