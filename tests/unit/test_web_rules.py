"""Pure rules of the web interface: what text is accepted, where a login may lead, default deny."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from centralino.web import _route, add_web
from centralino.web.validation import MAX_TEXT_LENGTH, Refused, clean_text, is_sound_name
from centralino.web.views import _safe_next


@pytest.mark.parametrize(("raw", "kept"), [
    ("  Benvenuti.  ", "Benvenuti."),
    ("uno\r\ndue\rtre", "uno\ndue\ntre"),
    ("cafe\u0301", "café"),  # NFC: one code point, the same sound name for the same text
    ("${EXTEN} [globals] ; \"x\"", "${EXTEN} [globals] ; \"x\""),
    ("a" * MAX_TEXT_LENGTH, "a" * MAX_TEXT_LENGTH),
])
def test_prompt_texts_kept(raw: str, kept: str):
    assert clean_text(raw) == kept


@pytest.mark.parametrize("raw", ["", "  \n ", "a" * (MAX_TEXT_LENGTH + 1), "a\x00b", "\x1b[2J",
                                 "a\u202eb"])
def test_prompt_texts_refused(raw: str):
    with pytest.raises(Refused):
        clean_text(raw)


@pytest.mark.parametrize(("raw", "target"), [
    ("/admin/services/uru", "/admin/services/uru"), ("//evil.example", "/"),
    ("https://evil.example", "/"), ("/\\evil.example", "/"), ("", "/"), (None, "/"),
])
def test_login_leads_only_to_pages_of_this_site(raw: str | None, target: str):
    assert _safe_next(raw) == target


@pytest.mark.parametrize(("name", "ok"), [
    ("uru-welcome-0123456789", True), ("../etc/passwd", False), ("UPPER", False),
    ("a" * 121, False), ("x\n", False), ("", False),
])
def test_sound_names_served(name: str, ok: bool):
    assert is_sound_name(name) is ok


async def _no_roles(request: web.Request) -> web.Response:
    return web.Response(text="secret")


def test_a_web_route_without_roles_cannot_be_registered():
    with pytest.raises(TypeError, match="declares no roles"):
        _route(web.Application(), "GET", "/x", _no_roles)


async def test_a_page_added_without_roles_is_refused_not_served():
    app = web.Application()
    add_web(app, None, None)  # type: ignore[arg-type]  # no database is reached
    app.router.add_get("/forgotten", _no_roles)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/forgotten")
        assert response.status == 403 and "secret" not in await response.text()
        assert (await client.get("/nowhere")).status == 404
