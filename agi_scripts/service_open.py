"""FastAGI ``service-open``: tells the dialplan whether a service is open right now.

The dialplan fallback (control plane unreachable through ARI) asks this to choose
between the service's queue and its voicemail; if this script cannot answer
either, AGISTATUS is FAILURE and the dialplan plays safe (voicemail).
"""

from __future__ import annotations

from panoramisk.fast_agi import Request

from agi_scripts.server import Script
from ari_app.clock import Clock
from ari_app.directory import ServiceDirectory
from ari_app.hours import is_open
from ari_app.sanitize import is_slug


def service_open(directory: ServiceDirectory, clock: Clock) -> Script:
    async def handle(request: Request) -> None:
        slug = request.headers.get("agi_arg_1", "")
        service = await directory.get(slug) if is_slug(slug) else None
        answer = "unknown" if service is None else (
            "1" if is_open(service.calendar, clock()) else "0")
        await request.send_command(f'SET VARIABLE CENTRALINO_OPEN "{answer}"')

    return handle
