"""Hostile or clumsy input in the admin pages: nothing breaks, nothing reaches Asterisk raw."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from centralino.errors import CentralinoError
from centralino.runtime import configure_asterisk
from centralino.web import service_changes
from centralino.web.auth import add_user
from models import Notice, Prompt, Service
from tests.integration.web.conftest import PASSWORD, Browser, WebDb, login_as

HOSTILE_TEXTS = [
    'Virgolette "doppie" e \'singole\'',
    "Riga uno\nRiga due\r\nRiga tre",
    "Punto; e virgola; exten => _X.,1,System(rm -rf /)",
    "Variabili ${CALLERID(num)} e $[1+1] e ${SHELL(id)}",
    "[sezione]\ntype=endpoint\ncontext=default",
    "<script>alert('x')</script> & &amp; </textarea>",
    "--help -v en -f /etc/shadow",
    "Emoji 📞 e accenti àèìòù",
    "x" * 1000,
]
REFUSED_TEXTS = ["", "   \n  ", "y" * 1001, "nul\x00byte", "escape\x1b[31m", "bell\x07"]
#: Fragments that would change Asterisk's configuration if they reached it.
DANGEROUS = ["${SHELL(id)}", "$[1+1]", "[sezione]", "System(rm", "/etc/shadow", "<script>"]
CONF_SAFE = re.compile(r"[A-Za-z0-9_.:/@+=\-]+")


def _unsalted(files: dict[str, str]) -> dict[str, str]:
    """Rendered configuration less ARI's crypt hashes, which get a new salt on each render."""
    return {name: re.sub(r"\$6\$\S+", "<crypt>", text) for name, text in files.items()}


async def test_given_hostile_prompt_and_notice_texts_then_stored_escaped_and_never_in_config(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "fuzz-admin", "admin")
    config_before = await configure_asterisk(web_db.settings, web_db.sessions, None)
    for text in HOSTILE_TEXTS:
        response = await browser.post("/admin/services/trentino-digitale/prompts/thanks",
                                      {"text": text})
        assert response.status == 303, (text, await response.text())
        async with web_db.sessions() as session:
            prompt = await session.scalar(select(Prompt).join(Service).where(
                Service.slug == "trentino-digitale", Prompt.kind == "thanks"))
        assert prompt.text == text.replace("\r\n", "\n")
        assert CONF_SAFE.fullmatch(prompt.sound)
        assert (web_db.sounds_dir / f"{prompt.sound}.wav").stat().st_size > 1000
        page = await (await browser.get("/admin/services/trentino-digitale")).text()
        assert "<script>alert" not in page
    notice = await browser.post("/admin/services/trentino-digitale/notices", {
        "text": HOSTILE_TEXTS[4], "valid_from": "2026-12-01", "valid_until": "2026-12-31"})
    assert notice.status == 303
    for text in REFUSED_TEXTS:
        response = await browser.post("/admin/services/trentino-digitale/prompts/thanks",
                                      {"text": text})
        assert response.status == 400, repr(text)
    for dates in (("2026-13-01", "2026-12-31"), ("'; DROP TABLE notices;--", "x"), ("", "")):
        response = await browser.post("/admin/services/trentino-digitale/notices", {
            "text": "Avviso.", "valid_from": dates[0], "valid_until": dates[1]})
        assert response.status == 400
    files = await configure_asterisk(web_db.settings, web_db.sessions, None)
    # Texts are recordings only: the configuration does not change by a byte.
    assert _unsalted(files) == _unsalted(config_before)
    rendered = "\n".join(files.values())
    for fragment in DANGEROUS:
        assert fragment not in rendered, fragment
    async with web_db.sessions() as session:
        assert await session.scalar(select(Notice.id).where(
            Notice.text == HOSTILE_TEXTS[4])) is not None


@pytest.mark.parametrize("path", [
    "/admin/services/[sezione]", "/admin/services/uru;rm", "/admin/services/" + "a" * 500,
    "/admin/services/uru/prompts/%24%7BEXTEN%7D", "/admin/services/uru/notices/99999999999",
    "/admin/sounds/uru-welcome%0A", "/admin/audit/%27/restore",
])
async def test_given_hostile_names_in_paths_then_refused_without_error(
        browser: Browser, web_db: WebDb, path: str):
    await login_as(browser, web_db, f"fuzz-path-{abs(hash(path)) % 100000}", "admin")
    response = (await browser.get(path) if "prompts" not in path and "notices" not in path
                and "restore" not in path else await browser.post(path, {"text": "Ciao."}))
    assert response.status in (400, 404), await response.text()
    assert "Traceback" not in await response.text()


@pytest.mark.parametrize("username", [
    "Admin", "a", "x" * 33, "ad min", "adm;in", "${x}", "[admin]", "-admin", "admin\n",
    "ädmin",
])
async def test_given_hostile_user_names_then_refused(web_db: WebDb, username: str):
    with pytest.raises(CentralinoError, match="user name"):
        await add_user(web_db.sessions, username, "admin", PASSWORD)


HOSTILE_DIDS = ['0461"497301', "0461'497301", "0461\n497301", "0461\r\n497301", "0461;497301",
                "${EXTEN}", "0461${SHELL(id)}", "0461)497301", "0461(1)", "٠٤٦١٤٩٧٣٠١",
                "０４６１４９７３０１", "0461497301&PJSIP/x", "+39+0461497301", "", "   ",
                "0" * 16, "12", "0461\x00497301", "0461/497301", "0461,497301", "0461 4973 01;"]
HOSTILE_WINDOWS = ['08:00-17:00"', "08:00-17:00;", "08:00-17:00\n[sezione]", "${x}-17:00",
                   "08:00-17:00)", "٠٨:٠٠-١٧:٠٠", "０８:００-１７:００", "08:00-17:00,",
                   "8:00-17:00"]
HOSTILE_ZONES = ["Europe/Rome;", "Europe/Rome\n", "${TZ}", "../../../etc/passwd", "Europe/Rome)",
                 "Europe/Röme", '"Europe/Rome"']
#: ``${x}@b.it`` is a valid address (RFC 5322 atext) and only ever an SMTP recipient.
HOSTILE_MAILBOXES = ['"a"@b.it', "a@b.it\nBcc: c@d.it", "a@b.it;c@d.it", "a@b.it)",
                     "a b@c.it", "<a@b.it>", "a@b.it\r\nBcc: c@d.it", "Ä@b.it\x00"]


async def test_given_hostile_numbers_hours_zones_mailboxes_then_refused_and_never_in_dialplan(
        browser: Browser, web_db: WebDb):
    await login_as(browser, web_db, "fuzz-settings", "admin")
    config_before = _unsalted(await configure_asterisk(web_db.settings, web_db.sessions, None))
    settings_before = await service_changes.settings_of(web_db.sessions, "uru")
    for did in HOSTILE_DIDS:
        response = await browser.post("/admin/services/uru/dids", {"did": did})
        assert response.status == 400, repr(did)
        assert "Traceback" not in await response.text()
    form = {f"day{day}": "08:00-17:00" if day < 5 else "" for day in range(7)}
    form |= {"timezone": "Europe/Rome", "mailbox_email": ""}
    hostile = [{"day2": text} for text in HOSTILE_WINDOWS] + \
        [{"timezone": zone} for zone in HOSTILE_ZONES] + \
        [{"mailbox_email": box} for box in HOSTILE_MAILBOXES]
    for change in hostile:
        response = await browser.post("/admin/services/uru/settings", form | change)
        assert response.status == 400, change
    for path in ("/admin/services/uru/dids/%24%7BEXTEN%7D/delete",
                 "/admin/services/uru/dids/0461;1/delete",
                 "/admin/services/uru/closures/%27;DROP/delete"):
        assert (await browser.post(path)).status in (400, 404), path
    assert await service_changes.settings_of(web_db.sessions, "uru") == settings_before
    files = _unsalted(await configure_asterisk(web_db.settings, web_db.sessions, None))
    assert files == config_before
    extensions = files["extensions.conf"]
    # Every hostile number is built on 497301: no form of it reached the dialplan.
    for fragment in ("497301", "4973 01", "${SHELL(id)}", "PJSIP/x", "٠", "０"):
        assert fragment not in extensions
