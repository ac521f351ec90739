"""A service's office lines from the settings page and the JSON API: added with their
phone's SIP account, refused when anything is wrong or taken, removed; audited."""

from __future__ import annotations

import html
import uuid

import pytest
from sqlalchemy import select

from centralino.web import office_changes
from models import AuditEntry, OfficeLine
from tests.integration.web.conftest import AUTH, Browser, WebDb, login_as

GOOD = {"number": "0461 49 77 01", "phone": "", "name": "Ufficio patenti",
        "password": "Ufficio-Sip-77", "password_again": "Ufficio-Sip-77", "rings": "3"}


def _form(**changes: str) -> dict[str, str]:
    unique = uuid.uuid4().hex[:6]
    return {**GOOD, "phone": f"uff-{unique}", "number": f"0461{int(unique, 16) % 10**6:06d}",
            **changes}


async def _lines(web_db: WebDb) -> list[dict]:
    return await office_changes.office_lines(web_db.sessions, "motorizzazione")


async def test_given_admin_adds_an_office_then_it_is_listed_audited_and_removable(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, f"adm-off-{uuid.uuid4().hex[:6]}", "admin")
    form = _form()
    added = await browser.post("/admin/services/motorizzazione/offices", form)
    assert added.status == 303  # no Asterisk behind this test app: applied at its next start
    assert added.headers["Location"].endswith("/settings?ok=pending")
    [line] = [o for o in await _lines(web_db) if o["phone"] == form["phone"]]
    assert line == {"number": form["number"], "name": "Ufficio patenti",
                    "phone": form["phone"], "rings": 3}
    page = await (await browser.get("/admin/services/motorizzazione/settings")).text()
    assert form["number"] in page and "Ufficio patenti" in page
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert form["number"] not in title and "<" not in title  # the list is in the page body
    async with web_db.sessions() as session:
        stored = await session.scalar(select(OfficeLine).where(
            OfficeLine.number == form["number"]))
        assert stored.sip_ha1 and form["password"] not in stored.sip_ha1  # digest only
        entry = await session.scalar(select(AuditEntry).where(
            AuditEntry.object_key == f"motorizzazione/office/{form['number']}"))
    assert entry.action == "office.add" and entry.before is None
    assert form["password"] not in str(entry.after)
    removed = await browser.post(
        f"/admin/services/motorizzazione/offices/{form['number']}/delete")
    assert removed.status == 303
    assert form["phone"] not in [o["phone"] for o in await _lines(web_db)]
    again = await browser.post(
        f"/admin/services/motorizzazione/offices/{form['number']}/delete")
    assert again.status == 404


@pytest.mark.parametrize(("changes", "reason"), [
    ({"number": "0461 abc"}, "Numero non valido"),
    ({"number": "800228040"}, "è già del servizio"),  # Trentino Digitale's toll-free number
    ({"phone": "Anna Rossi"}, "Nome utente non valido"),
    ({"password_again": "altra-password-1"}, "non coincidono"),
    ({"password": "corta", "password_again": "corta"}, "La password SIP"),
    ({"rings": "0"}, "Squilli all'ufficio"),
    ({"rings": "11"}, "Squilli all'ufficio"),
    ({"name": "Ufficio\n[globals]"}, "Il nome dell'ufficio"),
])
async def test_given_a_wrong_office_form_then_it_is_refused_and_nothing_changes(
        browser: Browser, web_db: WebDb, changes: dict[str, str], reason: str):
    await login_as(browser, web_db, f"adm-offr-{uuid.uuid4().hex[:6]}", "admin")
    before = await _lines(web_db)
    refused = await browser.post("/admin/services/motorizzazione/offices", _form(**changes))
    assert refused.status == 400
    assert reason in html.unescape(await refused.text())
    assert await _lines(web_db) == before


async def test_given_a_phone_or_number_already_taken_then_the_second_office_is_refused(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, f"adm-offt-{uuid.uuid4().hex[:6]}", "admin")
    first = _form()
    assert (await browser.post("/admin/services/motorizzazione/offices", first)).status == 303
    same_phone = await browser.post("/admin/services/motorizzazione/offices",
                                    _form(phone=first["phone"]))
    assert same_phone.status == 400 and "già il telefono" in await same_phone.text()
    same_number = await browser.post("/admin/services/motorizzazione/offices",
                                      _form(number=first["number"]))
    assert same_number.status == 400 and "già la linea" in await same_number.text()
    await browser.post(f"/admin/services/motorizzazione/offices/{first['number']}/delete")


async def test_given_a_supervisor_then_offices_are_shown_but_not_changed(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, f"sup-off-{uuid.uuid4().hex[:6]}", "supervisor")
    page = await browser.get("/admin/services/motorizzazione/settings")
    assert page.status == 200 and "/offices\"" not in await page.text()
    assert (await browser.post("/admin/services/motorizzazione/offices", _form())).status == 403


async def test_given_the_api_then_an_office_is_added_listed_and_removed(api_client, web_db):
    form = _form()
    body = {"number": form["number"], "phone": form["phone"], "password": form["password"],
            "name": "Ufficio API", "rings": 4}
    added = await api_client.post("/api/v1/services/motorizzazione/offices", json=body,
                                  headers=AUTH)
    assert added.status == 200, await added.text()
    assert (await added.json())["result"]["number"] == form["number"]
    listed = await api_client.get("/api/v1/services/motorizzazione/offices", headers=AUTH)
    assert form["phone"] in [o["phone"] for o in await listed.json()]
    taken = await api_client.post("/api/v1/services/motorizzazione/offices", json=body,
                                  headers=AUTH)
    assert taken.status == 400
    removed = await api_client.delete(
        f"/api/v1/services/motorizzazione/offices/{form['number']}", headers=AUTH)
    assert removed.status == 200
    assert form["phone"] not in [o["phone"] for o in await _lines(web_db)]
