"""Debian's Chromium, headless, driven by Playwright: the browser of the web tests.

The machine's network is closed: without these flags Chromium keeps trying to
reach Google's services, and Playwright's own browser download does not work
here, so the system's ``/usr/bin/chromium`` is launched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from playwright.async_api import Browser, BrowserContext, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: The pages follow the browser's Accept-Language and the staff's browsers are Italian;
#: Playwright's contexts would otherwise ask for en-US and get the English pages.
LOCALE = "it-IT"


@asynccontextmanager
async def headless_chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                   args=CHROMIUM_ARGS)
        new_context = browser.new_context

        async def italian_context(**options: Any) -> BrowserContext:
            options.setdefault("locale", LOCALE)
            return await new_context(**options)

        browser.new_context = italian_context  # type: ignore[method-assign]
        try:
            yield browser
        finally:
            await browser.close()
