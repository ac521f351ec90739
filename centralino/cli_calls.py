"""``centralino call ...``: calls in progress, and transfers to a referent, from the CLI.

Talks to the running control plane's HTTP API with this installation's token.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import click

from centralino.config import Settings
from centralino.errors import CentralinoError
from centralino.resolution import ResolutionError, check_resolution


def _request(settings: Settings, method: str, path: str,
             body: dict[str, str | None] | None = None) -> dict[str, Any]:
    from centralino.runtime import credentials_for

    token = credentials_for(settings).api_token
    url = f"http://{settings.bind_address}:{settings.web_port}/api{path}"

    async def go() -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.request(
                method, url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 400:
                raise CentralinoError(str(data.get("error", resp.reason)))
            return data

    try:
        return asyncio.run(go())
    except aiohttp.ClientConnectionError:
        raise CentralinoError(f"the control plane is not running on {settings.bind_address}:"
                              f"{settings.web_port} (`centralino run` or `serve`)") from None


@click.group()
def call() -> None:
    """Calls: list those in progress, transfer one to a referent, record a resolution."""


@call.command("list")
@click.pass_context
def call_list(ctx: click.Context) -> None:
    data = _request(ctx.obj["settings"], "GET", "/calls")
    for item in data["calls"]:
        click.echo(f"{item['call_id']} {item['service']:22} {item['caller'] or 'anonymous':16} "
                   f"{item['state']}")
    if not data["calls"]:
        click.echo("no calls in progress")


@call.command("transfer")
@click.argument("call_id")
@click.argument("to")
@click.option("--attended", is_flag=True, help="talk to the referent first, then complete")
@click.pass_context
def call_transfer(ctx: click.Context, call_id: str, to: str, attended: bool) -> None:
    """Transfer CALL_ID to TO, an office phone or office number (blind by default)."""
    _request(ctx.obj["settings"], "POST", f"/calls/{call_id}/transfer",
             {"to": to, "mode": "attended" if attended else "blind"})
    click.echo(f"call {call_id}: {'consulting' if attended else 'transferring to'} {to}")


@call.command("complete")
@click.argument("call_id")
@click.pass_context
def call_complete(ctx: click.Context, call_id: str) -> None:
    """Hand the caller over to the referent you are talking to."""
    _request(ctx.obj["settings"], "POST", f"/calls/{call_id}/transfer/complete")
    click.echo(f"call {call_id}: transferred")


@call.command("cancel")
@click.argument("call_id")
@click.pass_context
def call_cancel(ctx: click.Context, call_id: str) -> None:
    """Drop the referent and go back to the caller."""
    _request(ctx.obj["settings"], "POST", f"/calls/{call_id}/transfer/cancel")
    click.echo(f"call {call_id}: back to the caller")


@call.command("resolve")
@click.argument("call_id")
@click.argument("resolution", metavar="resolved|escalated")
@click.option("--note", default=None, help="what was done or who must follow up")
@click.pass_context
def call_resolve(ctx: click.Context, call_id: str, resolution: str, note: str | None) -> None:
    """Record how CALL_ID ended for the citizen, during or after the call."""
    try:
        check_resolution(resolution, note)  # refused here, before any request
    except ResolutionError as exc:
        raise CentralinoError(str(exc)) from None
    _request(ctx.obj["settings"], "POST", f"/calls/{call_id}/resolution",
             {"resolution": resolution, "notes": note})
    click.echo(f"call {call_id}: {resolution}")
