"""Asterisk's configuration applied live after a web change that Asterisk must know.

Agents (SIP accounts, caller IDs) and services' numbers (the dialplan's DIDs) live
in Asterisk's configuration, not only in the database: after such a change the
configuration is written again and ``res_pjsip`` and the dialplan reloaded over
ARI, as ``centralino agent add`` does: no restart, calls and registrations stay up.
Only a control plane that knows its Asterisk enables that (:func:`enable_live_config`);
elsewhere the pages say the change waits for the next ``centralino asterisk up``.
"""

from __future__ import annotations

import logging

from aiohttp import web

from centralino.config import Settings
from centralino.errors import CentralinoError
from centralino.live_config import apply_configuration, config_target
from centralino.web.context import WEB

log = logging.getLogger(__name__)

#: Settings of the Asterisk this control plane drives, when it may reconfigure it.
LIVE_CONFIG: web.AppKey[Settings] = web.AppKey("web_live_config", Settings)


def enable_live_config(app: web.Application, settings: Settings) -> None:
    app[LIVE_CONFIG] = settings


async def apply_live(app: web.Application) -> bool:
    """Write Asterisk's configuration and reload SIP accounts and dialplan; False if that
    was not done. What the pages, the JSON API and the audit log's restore call after a
    change of agents or of a service's numbers."""
    settings = app.get(LIVE_CONFIG)
    if settings is None:
        return False
    try:
        outcome = await apply_configuration(settings, app[WEB].sessions,
                                            config_target(settings, None))
    except CentralinoError as exc:
        log.error("configuration changed from the web, Asterisk not updated: %s", exc)
        return False
    return "reloaded" in outcome


async def api_outcome(request: web.Request) -> dict[str, str]:
    """What the JSON API answers after such a change: whether Asterisk has it already."""
    return {"asterisk": "reloaded" if await apply_live(request.app) else "pending"}
