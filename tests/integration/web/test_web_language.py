"""The pages in English: from the browser's Accept-Language or the user's stored choice,
Italian otherwise; on both databases."""

from __future__ import annotations

from sqlalchemy import select

from centralino.agents import add_agent
from centralino.web.auth import add_user
from models import WebUser
from tests.integration.web.conftest import PASSWORD, Browser, WebDb, login_as

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


async def language_of(web_db: WebDb, username: str) -> str | None:
    async with web_db.sessions() as session:
        return await session.scalar(select(WebUser.language)
                                    .where(WebUser.username == username))


async def test_given_english_browser_then_login_page_in_english_else_italian(browser: Browser):
    english = await (await browser.get("/login", headers=ENGLISH)).text()
    assert '<html lang="en">' in english and "User name" in english
    italian = await (await browser.get("/login")).text()
    assert '<html lang="it">' in italian and "Nome utente" in italian
    french = await (await browser.get("/login", headers={"Accept-Language": "fr"})).text()
    assert "Nome utente" in french


async def test_given_user_chooses_english_then_every_page_english_whatever_the_browser(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "lng-supervisore", "supervisor")
    page = await (await browser.get("/supervisore")).text()
    assert "Cruscotto del supervisore" in page and 'action="/lingua"' in page
    chosen = await browser.post("/lingua", {"lingua": "en", "torna": "/supervisore"})
    assert chosen.status == 303 and chosen.headers["Location"] == "/supervisore"
    assert await language_of(web_db, "lng-supervisore") == "en"
    page = await (await browser.get("/supervisore",
                                    headers={"Accept-Language": "it"})).text()
    assert '<html lang="en">' in page and "Supervisor's wallboard" in page
    assert "Today's calls per half-hour" in page and "Longest wait" in page
    assert "Services" in await (await browser.get("/admin/services")).text()

    # The live socket speaks the user's language too.
    async with browser.client.ws_connect("/supervisore/ws") as socket:
        board = await socket.receive_json(timeout=5)
    labels = {a["state_label"] for a in board["agents"]}
    assert not labels & {"In pausa", "Non collegato", "Disponibile"}

    # Back to the browser's language.
    assert (await browser.post("/lingua", {"lingua": ""})).status == 303
    assert await language_of(web_db, "lng-supervisore") is None
    page = await (await browser.get("/supervisore", headers=ENGLISH)).text()
    assert "Supervisor's wallboard" in page
    page = await (await browser.get("/supervisore")).text()
    assert "Cruscotto del supervisore" in page


async def test_given_unknown_language_or_no_csrf_then_refused_and_choice_kept(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "lng-agente", "agent")
    assert (await browser.post("/lingua", {"lingua": "en"})).status == 303
    refused = await browser.post("/lingua", {"lingua": "fr"})
    assert refused.status == 400 and "Lingua non disponibile" in await refused.text()
    forged = await browser.post("/lingua", {"lingua": "it"}, csrf=False)
    assert forged.status == 403
    assert await language_of(web_db, "lng-agente") == "en"
    elsewhere = await browser.post("/lingua", {"lingua": "it",
                                               "torna": "//evil.example/"})
    assert elsewhere.headers["Location"] == "/"  # only a path of this site
    assert (await browser.post("/logout")).status == 303
    assert (await browser.client.post("/lingua", data={"lingua": "it"},
                                      allow_redirects=False)).status in (303, 403)


async def test_given_english_agent_then_desk_and_its_state_in_english(
        browser: Browser, web_db: WebDb):
    await add_agent(web_db.sessions, "lng-op", "Segreto-2026", services=["motorizzazione"])
    await add_user(web_db.sessions, "lng-op-web", "agent", PASSWORD, agent="lng-op")
    assert (await browser.login("lng-op-web")).status == 303
    await browser.get("/agente")
    assert (await browser.post("/lingua", {"lingua": "en"})).status == 303
    page = await (await browser.get("/agente")).text()
    assert "lng-op's desk" in page and "To call back" in page
    assert "Only what arrived while the service was closed" in page
    status = await (await browser.get("/agente/stato")).json()
    assert status["state_label"] == "End of shift (logged out)"
