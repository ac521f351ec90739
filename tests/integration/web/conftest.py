"""The web interface on its own aiohttp server against both databases (no Asterisk needed).

Logins are created through the same function ``centralino user add`` calls; each
test gets a fresh client (no cookies) and its own user names, so tests do not
share sessions or login rate limits.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino import api
from centralino.config import Settings
from centralino.runtime import prepare_database
from centralino.web import MAX_BODY_BYTES, add_web
from centralino.web.api_v1 import add_api_v1
from centralino.web.auth import add_user

PASSWORD = "una-password-lunga-1"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class WebDb:
    settings: Settings
    sessions: async_sessionmaker
    sounds_dir: Path


@pytest.fixture(scope="session")
async def web_db(database_url: str, test_settings: Settings,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebDb]:
    settings = test_settings.with_overrides(database_url=database_url)
    engine, sessions = await prepare_database(settings)
    yield WebDb(settings, sessions, tmp_path_factory.mktemp("sounds"))
    await engine.dispose()


def make_app(db: WebDb) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    add_web(app, db.sessions, db.sounds_dir)
    return app


class Browser:
    """A client with its own cookie jar that fills forms the way a browser does."""

    def __init__(self, client: TestClient):
        self.client = client
        self.csrf = ""

    async def get(self, path: str, **kwargs: object) -> ClientResponse:
        response = await self.client.get(path, allow_redirects=False, **kwargs)
        found = _CSRF.search(await response.text()) if response.content_type == "text/html" \
            else None
        if found:
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict | None = None, *, csrf: bool = True,
                   **kwargs: object) -> ClientResponse:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf)
        return await self.client.post(path, data=form, allow_redirects=False, **kwargs)

    async def login(self, username: str, password: str = PASSWORD) -> ClientResponse:
        await self.get("/login")
        return await self.post("/login", {"username": username, "password": password})


@asynccontextmanager
async def browser_at(web_db: WebDb, now: datetime) -> AsyncIterator[Browser]:
    """A browser on a web server whose pages' clock stands still at ``now``."""
    from centralino.web.wallboard import CLOCK

    app = make_app(web_db)
    app[CLOCK] = lambda: now
    async with TestClient(TestServer(app)) as client:
        yield Browser(client)


@pytest.fixture
async def browser(web_db: WebDb) -> AsyncIterator[Browser]:
    async with TestClient(TestServer(make_app(web_db))) as client:
        yield Browser(client)


async def login_as(browser: Browser, web_db: WebDb, username: str, role: str) -> Browser:
    await add_user(web_db.sessions, username, role, PASSWORD)
    response = await browser.login(username)
    assert response.status == 303, await response.text()
    await browser.get("/")  # the session's CSRF token
    return browser


API_TOKEN = "token-di-prova-per-le-api"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
async def api_client(web_db: WebDb) -> AsyncIterator[TestClient]:
    """The JSON API behind its bearer token, on the web interface's test server."""
    app = make_app(web_db)
    app[api.TOKEN] = API_TOKEN
    app.middlewares.insert(0, api.require_token)
    add_api_v1(app)
    async with TestClient(TestServer(app)) as client:
        yield client
