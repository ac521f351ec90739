"""Admin pages for the menu's transfer to an office and for submenus: offered, checked,
audited, restorable; hostile input refused with a reason and nothing stored."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from ari_app.directory import MAX_MENU_DEPTH
from centralino.offices import add_office, remove_office
from models import AuditEntry, Menu, MenuOption, Prompt, Service
from tests.integration.web.conftest import Browser, WebDb, login_as

OFFICE = "0461496077"
SIP_PASSWORD = "Ufficio-Menu-2026"
HOSTILE = [*"abz09-_.,;:\"'`$\\{}[]()<>&|/ \t\n\r\x00*#àé", "${SHELL(id)}", "\n[globals]\n",
           "PJSIP/x&Local/y", "../", "0461496077;x", "99999999999"]


async def _menus(web_db: WebDb, slug: str) -> dict[int, Menu]:
    async with web_db.sessions() as session:
        rows = await session.scalars(select(Menu).join(Service).where(Service.slug == slug))
        return {m.id: m for m in rows}


async def _options(web_db: WebDb, menu_id: int) -> dict[str, MenuOption]:
    async with web_db.sessions() as session:
        rows = await session.scalars(select(MenuOption).where(MenuOption.menu_id == menu_id))
        return {o.digit: o for o in rows}


async def _root(web_db: WebDb, slug: str) -> Menu:
    return next(m for m in (await _menus(web_db, slug)).values() if m.parent_id is None)


async def _entries(web_db: WebDb) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry))


async def _last_entry(web_db: WebDb, key: str) -> AuditEntry:
    async with web_db.sessions() as session:
        return (await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == key).order_by(AuditEntry.id.desc()))).first()


def _transfer(**change: str) -> dict[str, str]:
    return {"digit": "7", "label": "Ufficio collocamento", "action": "transfer",
            "transfer": OFFICE, "rings": "3", "queue": "", "skill": "", "prompt_kind": "",
            **change}


async def test_given_office_line_then_menu_choice_rings_it_chosen_from_the_list(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "menuflow-transfer", "admin")
    await add_office(web_db.sessions, OFFICE, service="apiae", endpoint="ufficio-menu-web",
                     password=SIP_PASSWORD, rings=4, name="Ufficio collocamento")
    root = await _root(web_db, "apiae")
    removed = False
    try:
        page = await (await browser.get("/admin/services/apiae")).text()
        assert f'<option value="{OFFICE}">Ufficio collocamento ({OFFICE})' in page
        entries = await _entries(web_db)
        for change, reason in (({"transfer": "0461000000"}, "Ufficio inesistente"),
                               ({"transfer": "ufficio-menu-web"}, "Ufficio inesistente"),
                               ({"transfer": f"{OFFICE}&PJSIP/x"}, "Ufficio inesistente"),
                               ({"rings": "0"}, "Squilli"), ({"rings": "11"}, "Squilli"),
                               ({"rings": "3;"}, "Squilli")):
            response = await browser.post("/admin/services/apiae/menu/options",
                                          _transfer(**change))
            assert response.status == 400 and reason in await response.text(), change
        assert "7" not in await _options(web_db, root.id) and await _entries(web_db) == entries
        added = await browser.post("/admin/services/apiae/menu/options", _transfer())
        assert added.status == 303, await added.text()
        option = (await _options(web_db, root.id))["7"]
        assert (option.action, option.transfer_number, option.rings) == ("transfer", OFFICE, 3)
        entry = await _last_entry(web_db, f"apiae/menu/{option.id}")
        assert entry.after["transfer"] == OFFICE and entry.after["rings"] == 3
        changed = await browser.post(f"/admin/services/apiae/menu/options/{option.id}",
                                     _transfer(rings="5"))
        assert changed.status == 303
        entry = await _last_entry(web_db, f"apiae/menu/{option.id}")
        assert (entry.before["rings"], entry.after["rings"]) == (3, 5)
        assert (await browser.post(f"/admin/audit/{entry.id}/restore")).status == 303
        assert (await _options(web_db, root.id))["7"].rings == 3
        await remove_office(web_db.sessions, OFFICE)
        removed = True  # the choice stays; the page says where its callers go now
        page = await (await browser.get("/admin/services/apiae")).text()
        assert "non esiste più" in page
    finally:
        for option in (await _options(web_db, root.id)).values():
            if option.digit == "7":
                await browser.post(f"/admin/services/apiae/menu/options/{option.id}/delete")
        if not removed:
            await remove_office(web_db.sessions, OFFICE)


async def test_given_submenu_choice_then_child_menu_with_own_prompt_choices_and_limits(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "menuflow-submenu", "admin")
    root = await _root(web_db, "apiae")
    form = {"digit": "8", "label": "Altri servizi", "action": "submenu", "queue": "",
            "skill": "", "prompt_kind": "", "transfer": "", "rings": ""}
    added = await browser.post("/admin/services/apiae/menu/options", form)
    assert added.status == 303, await added.text()
    opener = (await _options(web_db, root.id))["8"]
    sub = (await _menus(web_db, "apiae"))[opener.submenu_id]
    assert sub.parent_id == root.id and sub.prompt_kind == f"submenu{sub.id}"
    try:
        page = await (await browser.get("/admin/services/apiae")).text()
        assert "Sottomenu del tasto 8" in page and "non ancora registrato" in page
        assert f'action="/admin/services/apiae/menus/{sub.id}/options"' in page
        recorded = await browser.post(f"/admin/services/apiae/prompts/submenu{sub.id}",
                                      {"text": "Per i permessi premere uno."})
        assert recorded.status == 303, await recorded.text()
        async with web_db.sessions() as session:
            prompt = await session.scalar(select(Prompt).where(
                Prompt.kind == f"submenu{sub.id}"))
        assert prompt.sound and (web_db.sounds_dir / f"{prompt.sound}.wav").exists()
        unknown = await browser.post("/admin/services/apiae/prompts/submenu999999",
                                     {"text": "x"})
        assert unknown.status == 404  # only a submenu of this service has such a prompt

        choice = {"digit": "1", "label": "Permessi", "action": "queue",
                  "queue": "apiae-appuntamenti", "skill": "permessi", "prompt_kind": ""}
        assert (await browser.post(f"/admin/services/apiae/menus/{sub.id}/options",
                                   choice)).status == 303
        assert (await _options(web_db, sub.id))["1"].skill == "permessi"

        # Nesting: each level made from the one above, to the limit and not past it.
        parent = sub
        for level in range(3, MAX_MENU_DEPTH + 1):
            deeper = await browser.post(f"/admin/services/apiae/menus/{parent.id}/options",
                                        {**form, "digit": "2", "label": f"Livello {level}"})
            assert deeper.status == 303, await deeper.text()
            parent = (await _menus(web_db, "apiae"))[
                (await _options(web_db, parent.id))["2"].submenu_id]
        too_deep = await browser.post(f"/admin/services/apiae/menus/{parent.id}/options",
                                      {**form, "digit": "2"})
        assert too_deep.status == 400 and "Troppi livelli" in await too_deep.text()

        # The submenu's wait, wrong digits and where they lead: bounded, audited, restorable.
        settings = {"timeout_seconds": "4", "max_invalid": "3", "default_queue": "apiae"}
        for bad, reason in (({"default_queue": "trentino-digitale"}, "Coda inesistente"),
                            ({"default_queue": "../apiae"}, "Coda inesistente"),
                            ({"timeout_seconds": "0"}, "numero intero")):
            response = await browser.post(f"/admin/services/apiae/menus/{sub.id}",
                                          {**settings, **bad})
            assert response.status == 400 and reason in await response.text(), bad
        assert (await browser.post(f"/admin/services/apiae/menus/{sub.id}",
                                   settings)).status == 303
        entry = await _last_entry(web_db, f"apiae/menus/{sub.id}")
        assert entry.after == {"timeout_seconds": 4, "max_invalid": 3,
                               "default_queue": "apiae"}
        assert entry.before["default_queue"] == ""
        assert (await browser.post(f"/admin/audit/{entry.id}/restore")).status == 303
        assert (await _menus(web_db, "apiae"))[sub.id].default_queue_id is None

        # Another service's submenu, or no menu at all: refused, nothing written.
        entries = await _entries(web_db)
        other = next(m for m in (await _menus(web_db, "trentino-digitale")).values())
        for path in (f"/admin/services/apiae/menus/{other.id}/options",
                     f"/admin/services/apiae/menus/{other.id}",
                     "/admin/services/apiae/menus/999999/options"):
            response = await browser.post(path, {**choice, **settings, "digit": "5"})
            # Not this service's: no such object here, like a malformed id below.
            assert response.status == 404 and "Sottomenu inesistente" in await response.text()
        for path in ("/admin/services/apiae/menus/abc/options", "/admin/services/apiae/menus/-1",
                     "/admin/services/apiae/menus/%C2%B2/options"):
            assert (await browser.post(path, choice)).status == 404, path
        assert await _entries(web_db) == entries

        # A submenu with choices is never dropped by accident.
        response = await browser.post(f"/admin/services/apiae/menu/options/{opener.id}",
                                      {**form, "action": "voicemail"})
        assert response.status == 400 and "ha ancora delle scelte" in await response.text()
        response = await browser.post(f"/admin/services/apiae/menu/options/{opener.id}/delete")
        assert response.status == 400
        assert (await _options(web_db, root.id))["8"].submenu_id == sub.id
    finally:
        await _remove_tree(browser, web_db, root.id, "8")
    assert opener.submenu_id not in await _menus(web_db, "apiae")
    async with web_db.sessions() as session:  # a later submenu with the same id starts afresh
        assert await session.scalar(select(Prompt).where(
            Prompt.kind == f"submenu{opener.submenu_id}")) is None


async def _remove_tree(browser: Browser, web_db: WebDb, menu_id: int, digit: str) -> None:
    """Delete a choice and, first, everything in the submenus below it (deepest first)."""
    option = (await _options(web_db, menu_id)).get(digit)
    if option is None:
        return
    if option.submenu_id is not None:
        for inner in list((await _options(web_db, option.submenu_id)).values()):
            await _remove_tree(browser, web_db, option.submenu_id, inner.digit)
    response = await browser.post(f"/admin/services/apiae/menu/options/{option.id}/delete")
    assert response.status == 303, await response.text()


async def test_given_random_hostile_forms_for_transfer_and_submenu_then_refused_or_safe(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "menuflow-fuzz", "admin")
    await add_office(web_db.sessions, OFFICE, service="apiae", endpoint="ufficio-menu-web",
                     password=SIP_PASSWORD, rings=4)
    root = await _root(web_db, "apiae")
    rng = random.Random(20261202)
    try:
        for _ in range(60):
            form = {name: rng.choice(["".join(rng.choice(HOSTILE) for _ in range(
                rng.randint(0, 8))), good]) for name, good in (
                ("digit", "6"), ("label", "Prova"), ("action", rng.choice(("transfer",
                                                                           "submenu"))),
                ("transfer", OFFICE), ("rings", "2"), ("queue", "apiae"), ("skill", ""),
                ("prompt_kind", ""))}
            response = await browser.post("/admin/services/apiae/menu/options", form)
            assert response.status in (303, 400), form
            assert "${SHELL" not in await response.text()
            option = (await _options(web_db, root.id)).get("6")
            if option is None:
                continue
            assert option.action in ("transfer", "submenu")
            if option.action == "transfer":
                assert (option.transfer_number, option.rings) == (OFFICE, 2)
            else:
                assert option.transfer_number is None and option.submenu_id is not None
            assert option.label.isprintable()
            await _remove_tree(browser, web_db, root.id, "6")
    finally:
        await _remove_tree(browser, web_db, root.id, "6")
        await remove_office(web_db.sessions, OFFICE)
