"""A service's settings page and API: numbers, opening hours and time zone, options, mailbox,
closures; refusals change nothing, every change is audited and restorable."""

from __future__ import annotations

import uuid
from datetime import date, time

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from centralino.services import add_closure
from centralino.web import service_changes
from models import AuditEntry, Closure, ConfigVersion, Service, ServiceDid, ServiceWindow
from tests.integration.web.conftest import AUTH, Browser, WebDb, login_as

FIVE_DAYS = ["08:00-17:00"] * 5 + ["", ""]


@pytest.fixture
async def slug(web_db: WebDb) -> str:
    """A service of its own per test (seeded ones are shared by the whole session)."""
    name = f"prova-{uuid.uuid4().hex[:8]}"
    number = f"0461{uuid.uuid4().int % 10**6:06d}"
    async with web_db.sessions() as session:
        service = Service(slug=name, name=f"Servizio {name}", timezone="Europe/Rome",
                          mode="auto", mailbox_email=None)
        service.dids.append(ServiceDid(did=number))
        service.windows.extend(ServiceWindow(weekday=day, opens=time(8), closes=time(17))
                               for day in range(5))
        session.add(service)
        await session.commit()
    return name


async def _state(web_db: WebDb, slug: str) -> dict:
    return await service_changes.settings_of(web_db.sessions, slug)


async def _audit(web_db: WebDb, key: str) -> list[AuditEntry]:
    async with web_db.sessions() as session:
        return list(await session.scalars(select(AuditEntry).where(
            AuditEntry.object_key == key).order_by(AuditEntry.id)))


async def _audit_count(web_db: WebDb) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry))


async def test_given_admin_adds_and_removes_numbers_then_stored_audited_and_page_warns(
        browser: Browser, web_db: WebDb, slug: str):
    await login_as(browser, web_db, f"adm-did-{slug}", "admin")
    (first,) = (await _state(web_db, slug))["dids"]
    page = await browser.get(f"/admin/services/{slug}")
    assert f"/admin/services/{slug}/settings" in await page.text()
    added = await browser.post(f"/admin/services/{slug}/dids", {"did": "+39 0461.49-9901"})
    assert added.status == 303
    assert added.headers["Location"] == f"/admin/services/{slug}/settings?ok=pending"
    assert (await _state(web_db, slug))["dids"] == sorted([first, "0461499901"])
    (entry,) = await _audit(web_db, f"{slug}/settings")
    assert entry.action == "service.did.add" and entry.before["dids"] == [first]
    assert entry.after["dids"] == sorted([first, "0461499901"])
    for number in ("0461499901", first):
        removed = await browser.post(f"/admin/services/{slug}/dids/{number}/delete")
        assert removed.status == 303
    assert (await _state(web_db, slug))["dids"] == []
    text = await (await browser.get(f"/admin/services/{slug}/settings")).text()
    assert "il servizio non è raggiungibile" in text
    missing = await browser.post(f"/admin/services/{slug}/dids/0461499901/delete")
    assert missing.status == 404


@pytest.mark.parametrize(("form", "reason"), [
    ({"did": "0461٤٩٧٣٠٠"}, "Numero non valido"),
    ({"did": "０４６１４９７３００"}, "Numero non valido"),
    ({"did": "0461;497300"}, "Numero non valido"),
    ({"did": "12"}, "Numero non valido"),
    ({"did": "1234567890123456"}, "Numero non valido"),
    ({"did": "0461 492006"}, "Motorizzazione Civile"),
])
async def test_given_bad_or_taken_number_then_page_refuses_with_reason_and_nothing_changes(
        browser: Browser, web_db: WebDb, slug: str, form: dict, reason: str):
    await login_as(browser, web_db, f"adm-bad-{slug}", "admin")
    before, entries = await _state(web_db, slug), await _audit_count(web_db)
    response = await browser.post(f"/admin/services/{slug}/dids", form)
    assert response.status == 400 and reason in await response.text()
    assert await _state(web_db, slug) == before and await _audit_count(web_db) == entries


def _settings_form(**changes: str) -> dict[str, str]:
    form = {f"day{day}": text for day, text in enumerate(FIVE_DAYS)}
    form.update(timezone="Europe/Rome", mailbox_email="")
    form.update(changes)
    return form


async def test_given_new_hours_zone_options_mailbox_then_saved_and_restorable_from_audit(
        browser: Browser, web_db: WebDb, slug: str):
    await login_as(browser, web_db, f"adm-hours-{slug}", "admin")
    before = await _state(web_db, slug)
    response = await browser.post(f"/admin/services/{slug}/settings", _settings_form(
        day0="14:00-17:30, 08:30-12:00", day5="09:00-12:00", day4="",
        timezone="Europe/Zurich", mailbox_email="ufficio@provincia.tn.it",
        not_emergency_notice="on", hours_before_queue="on"))
    assert response.status == 303
    after = await _state(web_db, slug)
    assert after["windows"] == ["08:30-12:00, 14:00-17:30", *FIVE_DAYS[1:4], "",
                                "09:00-12:00", ""]
    assert (after["timezone"], after["mailbox_email"]) == ("Europe/Zurich",
                                                           "ufficio@provincia.tn.it")
    assert after["not_emergency_notice"] and after["hours_before_queue"]
    service_page = await (await browser.get(f"/admin/services/{slug}")).text()
    assert 'id="prompt-emergency"' in service_page  # the 112 notice can be recorded there
    (entry,) = await _audit(web_db, f"{slug}/settings")
    assert entry.action == "service.settings" and entry.before["windows"] == FIVE_DAYS
    restored = await browser.post(f"/admin/audit/{entry.id}/restore")
    assert restored.status == 303
    assert restored.headers["Location"].startswith(f"/admin/services/{slug}/settings?ok=")
    assert await _state(web_db, slug) == before
    assert (await _audit(web_db, f"{slug}/settings"))[-1].action == "restore"


@pytest.mark.parametrize(("changes", "reason"), [
    ({"day1": "08:00-12:00, 11:00-17:00"}, "si sovrappongono"),
    ({"day1": "12:00-08:00"}, "deve precedere"),
    ({"day1": "08:00-12:00, 13:00-14:00, 15:00-16:00"}, "al massimo 2"),
    ({"day2": "8-17"}, "fascia oraria non valida"),
    ({"day2": "25:00-26:00"}, "fascia oraria non valida"),
    ({"day2": "٠٨:٠٠-١٧:٠٠"}, "fascia oraria non valida"),
    ({"timezone": "Europe/Trento"}, "Fuso orario sconosciuto"),
    ({"timezone": "../../etc/passwd"}, "Fuso orario sconosciuto"),
    ({"mailbox_email": "a@b.it, c@d.it"}, "Indirizzo e-mail non valido"),
    ({"mailbox_email": "Nome <a@b.it>"}, "Indirizzo e-mail non valido"),
])
async def test_given_bad_hours_zone_or_mailbox_then_refused_with_400_and_nothing_changes(
        browser: Browser, web_db: WebDb, slug: str, changes: dict, reason: str):
    await login_as(browser, web_db, f"adm-refuse-{slug}", "admin")
    before, entries = await _state(web_db, slug), await _audit_count(web_db)
    response = await browser.post(f"/admin/services/{slug}/settings",
                                  _settings_form(**changes))
    assert response.status == 400 and reason in await response.text()
    assert await _state(web_db, slug) == before and await _audit_count(web_db) == entries


async def test_given_foreign_csrf_or_supervisor_then_nothing_changes(
        browser: Browser, web_db: WebDb, slug: str):
    await login_as(browser, web_db, f"adm-csrf-{slug}", "admin")
    before = await _state(web_db, slug)
    for path, form in ((f"/admin/services/{slug}/dids", {"did": "0461499902"}),
                       (f"/admin/services/{slug}/settings", _settings_form(day6="08:00-09:00")),
                       (f"/admin/services/{slug}/closures", {"day": "2031-01-02"})):
        forged = await browser.post(path, {**form, "csrf": "non-il-mio-token"}, csrf=False)
        assert forged.status == 403
    assert await _state(web_db, slug) == before


async def test_given_closures_for_service_and_for_all_then_listed_deleted_and_restorable(
        browser: Browser, web_db: WebDb, slug: str):
    await login_as(browser, web_db, f"adm-close-{slug}", "admin")
    mine = await browser.post(f"/admin/services/{slug}/closures",
                              {"day": "2031-03-04", "reason": "Inventario"})
    everyone = await browser.post(f"/admin/services/{slug}/closures",
                                  {"day": "2031-03-05", "reason": "Sciopero", "all": "on"})
    assert mine.status == everyone.status == 303
    again = await browser.post(f"/admin/services/{slug}/closures", {"day": "2031-03-04"})
    assert again.status == 400 and "già un giorno di chiusura" in await again.text()
    closures = (await _state(web_db, slug))["closures"]
    assert {"day": "2031-03-04", "reason": "Inventario", "service": slug} in closures
    assert {"day": "2031-03-05", "reason": "Sciopero", "service": None} in closures
    page = await (await browser.get(f"/admin/services/{slug}/settings")).text()
    assert "Inventario" in page and "Sciopero" in page
    gone = await browser.post(f"/admin/services/{slug}/closures/2031-03-05/delete",
                              {"all": "on"})
    assert gone.status == 303
    gone_mine = await browser.post(f"/admin/services/{slug}/closures/2031-03-04/delete")
    assert gone_mine.status == 303
    days = {c["day"] for c in (await _state(web_db, slug))["closures"]}
    assert not days & {"2031-03-04", "2031-03-05"}
    (add, delete) = await _audit(web_db, "*/closure/2031-03-05")
    assert (add.action, delete.action) == ("closure.add", "closure.delete")
    restored = await browser.post(f"/admin/audit/{delete.id}/restore")
    assert restored.status == 303
    async with web_db.sessions() as session:
        back = await session.scalar(select(Closure).where(
            Closure.service_id.is_(None), Closure.reason == "Sciopero"))
        assert back is not None
        await session.delete(back)  # all services: not left to the other tests
        await session.commit()


async def test_given_api_then_settings_numbers_and_closures_change_as_on_the_page(
        api_client: TestClient, web_db: WebDb, slug: str):
    base = f"/api/v1/services/{slug}"
    got = await (await api_client.get(f"{base}/settings", headers=AUTH)).json()
    assert got["windows"] == FIVE_DAYS and got["timezone"] == "Europe/Rome"
    put = await api_client.put(f"{base}/settings", headers=AUTH, json={
        "windows": ["09:00-13:00"] * 7, "timezone": "Europe/Vienna",
        "mailbox_email": "servizio@provincia.tn.it", "hours_before_queue": True})
    assert put.status == 200
    now = await _state(web_db, slug)
    assert now["windows"] == ["09:00-13:00"] * 7 and now["timezone"] == "Europe/Vienna"
    assert now["mailbox_email"] == "servizio@provincia.tn.it" and now["hours_before_queue"]
    for body, reason in (({"windows": ["09:00-13:00"] * 6}, "una voce per ciascun giorno"),
                         ({"timezone": "Marte/Olympus"}, "Fuso orario"),
                         ({"dids": ["0461492006"]}, "Motorizzazione"),
                         ({"dids": ["0461 ${EXTEN}"]}, "Numero non valido"),
                         ({"mailbox_email": "x@y.it\nBcc: z@w.it"}, "e-mail")):
        refused = await api_client.put(f"{base}/settings", headers=AUTH, json=body)
        assert refused.status == 400 and reason in (await refused.json())["error"], body
    assert await _state(web_db, slug) == now
    added = await api_client.post(f"{base}/dids", headers=AUTH, json={"did": "0461 499903"})
    answer = await added.json()
    assert added.status == 200 and answer["result"] == {"did": "0461499903",
                                                        "asterisk": "pending"}
    removed = await api_client.delete(f"{base}/dids/0461499903", headers=AUTH)
    assert removed.status == 200 and (await removed.json())["result"]["dids_left"] == 1
    for path in (f"{base}/closures", "/api/v1/closures"):
        made = await api_client.post(path, headers=AUTH, json={"day": "2031-04-01",
                                                               "reason": "Prova API"})
        assert made.status == 200, await made.text()
    days = [c["service"] for c in (await _state(web_db, slug))["closures"]
            if c["day"] == "2031-04-01"]
    assert sorted(days, key=str) == sorted([slug, None], key=str)
    for path in (f"{base}/closures/2031-04-01", "/api/v1/closures/2031-04-01"):
        assert (await api_client.delete(path, headers=AUTH)).status == 200
        assert (await api_client.delete(path, headers=AUTH)).status == 404
    (change, *_rest) = await _audit(web_db, f"{slug}/settings")
    back = await api_client.post(f"/api/v1/audit/{change.id}/restore", headers=AUTH)
    assert back.status == 200
    assert (await _state(web_db, slug))["windows"] == FIVE_DAYS


async def _config_version(web_db: WebDb) -> int:
    async with web_db.sessions() as session:
        return await session.scalar(select(ConfigVersion.version).where(ConfigVersion.id == 1))


async def test_given_each_kind_of_change_then_config_version_moves_for_the_next_call(
        web_db: WebDb, slug: str):
    """The migration 0002 triggers cover numbers, hours, options and closures alike."""
    sessions = web_db.sessions
    changes = [
        lambda: service_changes.add_did(sessions, "t", slug, "0461499904"),
        lambda: service_changes.change_settings(sessions, "t", slug,
                                                {"windows": ["09:00-12:00"] * 7}),
        lambda: service_changes.change_settings(sessions, "t", slug,
                                                {"not_emergency_notice": True}),
        lambda: service_changes.add_closure(sessions, "t", slug, "2031-05-06", ""),
        lambda: service_changes.delete_closure(sessions, "t", slug, "2031-05-06"),
        lambda: service_changes.remove_did(sessions, "t", slug, "0461499904"),
    ]
    for change in changes:
        before = await _config_version(web_db)
        await change()
        assert await _config_version(web_db) > before


async def test_given_supervisor_then_settings_shown_read_only_and_changes_forbidden(
        browser: Browser, web_db: WebDb, slug: str):
    await login_as(browser, web_db, f"sup-{slug}", "supervisor")
    page = await browser.get(f"/admin/services/{slug}/settings")
    text = await page.text()
    assert page.status == 200 and "08:00-17:00" in text and "disabled" in text
    assert f"/admin/services/{slug}/dids" not in text
    before = await _state(web_db, slug)
    response = await browser.post(f"/admin/services/{slug}/dids", {"did": "0461499905"})
    assert response.status == 403 and await _state(web_db, slug) == before


async def test_given_closure_from_the_command_line_then_page_lists_it_refuses_it_again_and_deletes_it(  # noqa: E501
        browser: Browser, web_db: WebDb, slug: str):
    await login_as(browser, web_db, f"adm-cli-{slug}", "admin")
    message = await add_closure(web_db.sessions, date(2031, 6, 7), "Da riga di comando", slug)
    assert message == f"closed on 2031-06-07: {slug}"  # what `centralino service close` says
    assert "Da riga di comando" in await (await browser.get(
        f"/admin/services/{slug}/settings")).text()
    again = await browser.post(f"/admin/services/{slug}/closures", {"day": "2031-06-07"})
    assert again.status == 400 and "già un giorno di chiusura" in await again.text()
    gone = await browser.post(f"/admin/services/{slug}/closures/2031-06-07/delete")
    assert gone.status == 303
    assert [c for c in (await _state(web_db, slug))["closures"] if c["service"]] == []
