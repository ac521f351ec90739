"""Logging in to the web interface: sessions, the rate limit, CSRF and roles, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from centralino.web.auth import MAX_FAILURES, add_user, disable_user
from centralino.web.sessions import COOKIE
from models import LoginFailure, Prompt, Service, WebSession, WebUser
from tests.integration.web.conftest import PASSWORD, Browser, WebDb, login_as, make_app

FAILED = "nome utente o password non validi"


async def test_given_wrong_password_or_unknown_user_then_same_answer_and_no_session(
        browser: Browser, web_db: WebDb):
    await add_user(web_db.sessions, "auth-wrongpw", "admin", PASSWORD)
    wrong = await browser.login("auth-wrongpw", "not-the-password")
    wrong_text = await wrong.text()
    unknown = await browser.login("auth-nobody", "not-the-password")
    unknown_text = await unknown.text()
    assert wrong.status == unknown.status == 401
    assert FAILED in wrong_text and FAILED in unknown_text
    assert COOKIE not in browser.client.session.cookie_jar.filter_cookies(
        browser.client.make_url("/"))
    assert (await browser.get("/admin/services")).status == 303  # still not logged in


async def test_given_right_password_then_session_cookie_is_httponly_strict_and_logout_ends_it(
        browser: Browser, web_db: WebDb):
    await add_user(web_db.sessions, "auth-cookie", "admin", PASSWORD)
    response = await browser.login("auth-cookie")
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert len(cookie.value) >= 43  # 256 random bits, base64
    async with web_db.sessions() as session:
        user = await session.scalar(select(WebUser).where(WebUser.username == "auth-cookie"))
        stored = await session.scalar(select(WebSession.token_hash).where(
            WebSession.user_id == user.id))
    assert user.last_login_at is not None and stored != cookie.value
    assert (await browser.get("/admin/services")).status == 200
    token = cookie.value
    assert (await browser.post("/logout")).status == 303
    async with web_db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WebSession).where(
            WebSession.user_id == user.id)) == 0
    # The old cookie, replayed, opens nothing.
    replay = await browser.client.get("/admin/services", allow_redirects=False,
                                      cookies={COOKIE: token})
    assert replay.status == 303 and replay.headers["Location"].startswith("/login")


async def test_given_five_failures_then_429_even_with_right_password_and_after_restart(
        browser: Browser, web_db: WebDb):
    await add_user(web_db.sessions, "auth-limited", "admin", PASSWORD)
    for _ in range(MAX_FAILURES):
        assert (await browser.login("auth-limited", "wrong-password")).status == 401
    limited = await browser.login("auth-limited")
    assert limited.status == 429 and "Troppi tentativi" in await limited.text()
    # A restarted server (a new application on the same database) still refuses.
    async with TestClient(TestServer(make_app(web_db))) as client:
        again = await Browser(client).login("auth-limited")
        assert again.status == 429
    # Once the failures are older than the window, the right password works.
    async with web_db.sessions() as session:
        await session.execute(update(LoginFailure).where(
            LoginFailure.username == "auth-limited").values(
            at=datetime.now(UTC) - timedelta(minutes=6)))
        await session.commit()
    assert (await browser.login("auth-limited")).status == 303


async def test_given_failures_older_than_the_window_then_the_next_failure_forgets_them(
        browser: Browser, web_db: WebDb):
    """The failed-login table holds only the window's attempts, however long it runs."""
    async with web_db.sessions() as session:
        session.add_all(LoginFailure(username=f"auth-old-{n}", address="192.0.2.7",
                                     at=datetime.now(UTC) - timedelta(hours=n + 1))
                        for n in range(3))
        await session.commit()
    assert (await browser.login("auth-old-new", "wrong-password")).status == 401
    async with web_db.sessions() as session:
        left = (await session.scalars(select(LoginFailure.username).where(
            LoginFailure.username.like("auth-old-%")))).all()
    assert left == ["auth-old-new"]


async def test_given_login_form_without_csrf_then_403(browser: Browser, web_db: WebDb):
    await add_user(web_db.sessions, "auth-logincsrf", "admin", PASSWORD)
    await browser.get("/login")
    response = await browser.post("/login", {"username": "auth-logincsrf",
                                             "password": PASSWORD}, csrf=False)
    assert response.status == 403


async def test_given_post_without_or_with_wrong_csrf_then_403_and_nothing_changes(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "auth-csrf", "admin")
    path = "/admin/services/uru/prompts/goodbye"
    for csrf in (None, "forged-token"):
        form = {"text": "Testo da un altro sito."}
        if csrf:
            form["csrf"] = csrf
        response = await browser.post(path, form, csrf=False)
        assert response.status == 403
        assert "Modulo scaduto o non valido" in await response.text()
    async with web_db.sessions() as session:
        text = await session.scalar(select(Prompt.text).join(Service).where(
            Service.slug == "uru", Prompt.kind == "goodbye"))
    assert text != "Testo da un altro sito."


async def test_given_agent_role_then_403_on_every_admin_page(browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "auth-agent", "agent")
    assert (await browser.get("/")).status == 200
    for path in ("/admin/services", "/admin/services/uru", "/admin/audit",
                 "/admin/sounds/uru-welcome-0123456789"):
        assert (await browser.get(path)).status == 403, path
    response = await browser.post("/admin/services/uru/prompts/welcome", {"text": "Ciao."})
    assert response.status == 403
    assert (await browser.post("/admin/services/uru/mode", {"mode": "closed"})).status == 403


async def test_given_supervisor_then_reads_services_but_cannot_change_them(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "auth-supervisor", "supervisor")
    page = await browser.get("/admin/services/uru")
    assert page.status == 200 and "Salva e registra" not in await page.text()
    assert (await browser.get("/admin/audit")).status == 403
    response = await browser.post("/admin/services/uru/mode", {"mode": "closed"})
    assert response.status == 403


async def test_given_expired_session_or_disabled_user_then_back_to_login(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "auth-expiry", "admin")
    async with web_db.sessions() as session:
        user_id = await session.scalar(select(WebUser.id).where(
            WebUser.username == "auth-expiry"))
        await session.execute(update(WebSession).where(WebSession.user_id == user_id).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await session.commit()
    assert (await browser.get("/admin/services")).status == 303
    await browser.login("auth-expiry")
    assert (await browser.get("/admin/services")).status == 200
    await disable_user(web_db.sessions, "auth-expiry")
    assert (await browser.get("/admin/services")).status == 303
    assert (await browser.login("auth-expiry")).status == 401


async def test_given_login_link_to_another_site_then_redirect_stays_here(
        browser: Browser, web_db: WebDb):
    await add_user(web_db.sessions, "auth-next", "admin", PASSWORD)
    await browser.get("/login")
    response = await browser.post("/login", {"username": "auth-next", "password": PASSWORD,
                                             "next": "//evil.example/x"})
    assert response.status == 303 and response.headers["Location"] == "/"
