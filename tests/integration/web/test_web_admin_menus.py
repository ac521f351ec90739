"""Admin pages for a service's menu and queues: choices, timeout, queue settings, audit, restore."""

from __future__ import annotations

from sqlalchemy import func, select, update

from models import AuditEntry, Menu, MenuOption, Prompt, Queue, Service
from tests.integration.web.conftest import Browser, WebDb, login_as


async def _options(web_db: WebDb, slug: str) -> dict[str, MenuOption]:
    async with web_db.sessions() as session:
        rows = await session.scalars(
            select(MenuOption).join(Menu, MenuOption.menu_id == Menu.id).join(Service)
            .where(Service.slug == slug, Menu.parent_id.is_(None)))
        return {option.digit: option for option in rows}


async def _queue(web_db: WebDb, slug: str) -> Queue:
    async with web_db.sessions() as session:
        return await session.scalar(select(Queue).where(Queue.slug == slug))


async def _last_entry(web_db: WebDb, key: str) -> AuditEntry:
    async with web_db.sessions() as session:
        return (await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == key).order_by(AuditEntry.id.desc()))).first()


async def _entries(web_db: WebDb) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry))


async def test_adm2_given_menu_page_when_option_moved_to_another_skill_then_audited_restorable(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-menu-skill", "admin")
    page = await (await browser.get("/admin/services/trentino-digitale")).text()
    assert "Tasto 1: Carta Provinciale dei Servizi" in page and 'name="timeout_seconds"' in page
    assert 'value="transfer"' not in page and 'value="submenu"' not in page  # not carried out
    option = (await _options(web_db, "trentino-digitale"))["1"]
    response = await browser.post(
        f"/admin/services/trentino-digitale/menu/options/{option.id}",
        {"digit": "1", "label": "Carta dei Servizi (CPS)", "action": "queue",
         "queue": "trentino-digitale", "skill": "cps-assistenza", "prompt_kind": ""})
    assert response.status == 303, await response.text()
    changed = (await _options(web_db, "trentino-digitale"))["1"]
    assert (changed.label, changed.skill) == ("Carta dei Servizi (CPS)", "cps-assistenza")
    key = f"trentino-digitale/menu/{option.id}"
    entry = await _last_entry(web_db, key)
    assert entry.username == "adm2-menu-skill" and entry.action == "menu.option.change"
    assert entry.before["skill"] == "cps" and entry.after["skill"] == "cps-assistenza"
    assert entry.after["queue"] == "trentino-digitale"
    audit_page = await (await browser.get("/admin/audit")).text()
    assert f"/admin/audit/{entry.id}/restore" in audit_page
    restored = await browser.post(f"/admin/audit/{entry.id}/restore")
    assert restored.status == 303
    back = (await _options(web_db, "trentino-digitale"))["1"]
    assert (back.label, back.skill) == ("Carta Provinciale dei Servizi", "cps")
    assert (await _last_entry(web_db, key)).action == "restore"


async def test_adm2_given_new_choice_for_message_then_needs_recorded_prompt_and_deletes_back(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-menu-add", "admin")
    async with web_db.sessions() as session:  # the database is shared: another test's
        apiae = await session.scalar(select(Service.id).where(Service.slug == "apiae"))
        await session.execute(update(Prompt).where(  # plane may have recorded it
            Prompt.service_id == apiae, Prompt.kind == "thanks").values(sound=None))
        await session.commit()
    form = {"digit": "9", "label": "Orari", "action": "message", "prompt_kind": "thanks",
            "queue": "", "skill": ""}
    refused = await browser.post("/admin/services/apiae/menu/options", form)
    assert refused.status == 400 and "non è ancora registrato" in await refused.text()
    assert "9" not in await _options(web_db, "apiae")
    await browser.post("/admin/services/apiae/prompts/thanks", {"text": "Grazie, arrivederci."})
    added = await browser.post("/admin/services/apiae/menu/options", form)
    assert added.status == 303, await added.text()
    option = (await _options(web_db, "apiae"))["9"]
    assert (option.action, option.prompt_kind, option.queue_id) == ("message", "thanks", None)
    page = await (await browser.get("/admin/services/apiae?ok=saved")).text()
    assert "Tasto 9: Orari" in page
    deleted = await browser.post(f"/admin/services/apiae/menu/options/{option.id}/delete")
    assert deleted.status == 303
    assert "9" not in await _options(web_db, "apiae")
    entry = await _last_entry(web_db, f"apiae/menu/{option.id}")
    assert entry.action == "menu.option.delete" and entry.after is None
    await browser.post(f"/admin/audit/{entry.id}/restore")  # the deleted choice comes back
    again = (await _options(web_db, "apiae"))["9"]
    assert (again.label, again.action, again.prompt_kind) == ("Orari", "message", "thanks")
    await browser.post(f"/admin/services/apiae/menu/options/{again.id}/delete")


REFUSED_OPTIONS = [
    ({"digit": "2"}, "già usato"),
    ({"digit": "A"}, "Tasto non valido"),
    ({"digit": "12"}, "Tasto non valido"),
    ({"digit": ""}, "Tasto non valido"),
    ({"action": "transfer"}, "Azione non valida"),
    ({"action": "submenu"}, "Azione non valida"),
    ({"action": "queue; DROP TABLE"}, "Azione non valida"),
    ({"queue": "trentino-digitale"}, "Coda inesistente"),  # another service's queue
    ({"queue": "../apiae"}, "Coda inesistente"),
    ({"skill": "CPS"}, "Competenza non valida"),
    ({"skill": "cps,${SHELL(id)}"}, "Competenza non valida"),
    ({"skill": "a" * 65}, "Competenza non valida"),
    ({"skill": "-cps"}, "Competenza non valida"),
    ({"label": ""}, "vuota"),
    ({"label": "x" * 101}, "supera"),
    ({"label": "riga\nnuova"}, "una riga"),
    ({"label": "nul\x00"}, "una riga"),
]


async def test_adm2_given_invalid_choices_then_refused_with_reason_and_nothing_changed(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-menu-fuzz", "admin")
    options = await _options(web_db, "apiae")
    before = {d: (o.label, o.action, o.queue_id, o.skill) for d, o in options.items()}
    entries = await _entries(web_db)
    for change, reason in REFUSED_OPTIONS:
        form = {"digit": "1", "label": "Orari", "action": "queue", "queue": "apiae",
                "skill": "", "prompt_kind": "", **change}
        response = await browser.post(f"/admin/services/apiae/menu/options/{options['1'].id}",
                                      form)
        text = await response.text()
        assert response.status == 400 and reason in text, (change, text[-500:])
        assert "${SHELL" not in text
    after = {d: (o.label, o.action, o.queue_id, o.skill)
             for d, o in (await _options(web_db, "apiae")).items()}
    assert after == before and await _entries(web_db) == entries
    foreign = (await _options(web_db, "trentino-digitale"))["1"]
    response = await browser.post(f"/admin/services/apiae/menu/options/{foreign.id}/delete")
    assert response.status == 404  # a choice of another service's menu
    assert "1" in await _options(web_db, "trentino-digitale")


async def test_adm2_given_menu_timeout_and_invalid_limit_then_bounded_audited_restorable(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-menu-timeout", "admin")
    async with web_db.sessions() as session:  # as left by earlier tests (shared database)
        menu = await session.scalar(select(Menu).join(Service).where(
            Service.slug == "trentino-digitale"))
    before = {"timeout_seconds": menu.timeout_seconds, "max_invalid": menu.max_invalid}
    for bad in ({"timeout_seconds": "0", "max_invalid": "2"},
                {"timeout_seconds": "31", "max_invalid": "2"},
                {"timeout_seconds": "5", "max_invalid": "9"},
                {"timeout_seconds": "-1", "max_invalid": "2"},
                {"timeout_seconds": "5.5", "max_invalid": "2"},
                {"timeout_seconds": "1e3", "max_invalid": "2"}):
        response = await browser.post("/admin/services/trentino-digitale/menu", bad)
        assert response.status == 400 and "numero intero" in await response.text(), bad
    response = await browser.post("/admin/services/trentino-digitale/menu",
                                  {"timeout_seconds": "8", "max_invalid": "3"})
    assert response.status == 303
    async with web_db.sessions() as session:
        menu = await session.scalar(select(Menu).join(Service).where(
            Service.slug == "trentino-digitale"))
    assert (menu.timeout_seconds, menu.max_invalid) == (8, 3)
    entry = await _last_entry(web_db, "trentino-digitale/menu")
    assert entry.before == before
    assert entry.after == {"timeout_seconds": 8, "max_invalid": 3}
    await browser.post(f"/admin/audit/{entry.id}/restore")
    async with web_db.sessions() as session:
        menu = await session.scalar(select(Menu).join(Service).where(
            Service.slug == "trentino-digitale"))
    assert {"timeout_seconds": menu.timeout_seconds, "max_invalid": menu.max_invalid} == before


async def test_adm2_given_queue_settings_then_bounded_audited_and_restorable(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-queue", "admin")
    page = await (await browser.get("/admin/services/uru")).text()
    assert 'action="/admin/services/uru/queues/uru"' in page
    original = await _queue(web_db, "uru")
    good = {"strategy": "round_robin", "rings_per_agent": "3", "wait_limit_seconds": "120",
            "wrapup_seconds": "30", "announce_position": "on", "announce_every_seconds": "45"}
    for change in ({"strategy": "random"}, {"rings_per_agent": "0"},
                   {"wait_limit_seconds": "99999"}, {"wrapup_seconds": "x"},
                   {"announce_every_seconds": "5"}):
        response = await browser.post("/admin/services/uru/queues/uru", {**good, **change})
        assert response.status == 400, change
    assert (await _queue(web_db, "uru")).strategy == original.strategy
    other = await browser.post("/admin/services/uru/queues/apiae", good)
    assert other.status == 404 and "Coda inesistente" in await other.text()
    response = await browser.post("/admin/services/uru/queues/uru", good)
    assert response.status == 303
    queue = await _queue(web_db, "uru")
    assert (queue.strategy, queue.rings_per_agent, queue.wait_limit_seconds,
            queue.wrapup_seconds, queue.announce_position,
            queue.announce_every_seconds) == ("round_robin", 3, 120, 30, True, 45)
    entry = await _last_entry(web_db, "uru/queue/uru")
    assert entry.before["strategy"] == original.strategy and entry.after["rings_per_agent"] == 3
    await browser.post(f"/admin/audit/{entry.id}/restore")
    back = await _queue(web_db, "uru")
    assert (back.strategy, back.rings_per_agent, back.wait_limit_seconds,
            back.announce_position) == (original.strategy, original.rings_per_agent,
                                        original.wait_limit_seconds,
                                        original.announce_position)


async def test_adm2_given_supervisor_then_sees_menu_and_queues_but_cannot_change_them(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "adm2-menu-super", "supervisor")
    page = await (await browser.get("/admin/services/apiae")).text()
    assert "Appuntamenti" in page and 'action="/admin/services/apiae/menu"' not in page
    response = await browser.post("/admin/services/apiae/menu",
                                  {"timeout_seconds": "9", "max_invalid": "2"})
    assert response.status == 403
