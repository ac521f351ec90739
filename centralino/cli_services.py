"""``centralino service ...`` and ``centralino voicemail ...`` from the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TypeVar

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino import services as ops
from centralino.cli_support import with_database
from centralino.errors import CentralinoError
from models import SERVICE_MODES, Service, ServiceDid

T = TypeVar("T")


@click.group()
def service() -> None:
    """Services: list them, force them open or closed, add closures."""


@service.command("list")
@click.pass_context
def service_list(ctx: click.Context) -> None:
    """Each service with its numbers and mode."""
    async def work(sessions: async_sessionmaker) -> list[str]:
        async with sessions() as session:
            rows = (await session.execute(select(Service, ServiceDid.did).join(
                ServiceDid, ServiceDid.service_id == Service.id, isouter=True)
                .order_by(Service.slug, ServiceDid.did))).all()
        lines: dict[str, list[str]] = {}
        modes: dict[str, str] = {}
        for svc, did in rows:
            lines.setdefault(svc.slug, [])
            if did:
                lines[svc.slug].append(did)
            modes[svc.slug] = svc.mode
        return [f"{slug:24} {modes[slug]:6} {' '.join(dids)}" for slug, dids in lines.items()]

    for line in with_database(ctx.obj["settings"], work):
        click.echo(line)


@service.command("mode")
@click.argument("slug")
@click.argument("mode", type=click.Choice(SERVICE_MODES))
@click.option("--until", help="end of the forced mode: YYYY-MM-DD[THH:MM], service time zone")
@click.pass_context
def service_mode(ctx: click.Context, slug: str, mode: str, until: str | None) -> None:
    """Force SLUG open (crisis, up to 24/7) or closed; `auto` follows the calendar."""
    click.echo(with_database(ctx.obj["settings"],
                             lambda sessions: ops.set_mode(sessions, slug, mode, until)))


@service.command("close")
@click.argument("day")
@click.option("--service", "slug", help="only this service (default: all)")
@click.option("--reason", default="", help="why, for the record")
@click.pass_context
def service_close(ctx: click.Context, day: str, slug: str | None, reason: str) -> None:
    """Close on DAY (YYYY-MM-DD) besides the public holidays."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise CentralinoError(f"{day[:20]!r} is not a date: use YYYY-MM-DD") from None
    click.echo(with_database(ctx.obj["settings"],
                             lambda sessions: ops.add_closure(sessions, parsed, reason, slug)))


@click.group()
def voicemail() -> None:
    """The voicemail worklist."""


@voicemail.command("list")
@click.option("--service", "slug", help="only this service")
@click.option("--all", "include_handled", is_flag=True, help="include handled messages")
@click.option("--closed", "while_closed", is_flag=True,
              help="only those left while the service was closed, up to its last opening")
@click.pass_context
def voicemail_list(ctx: click.Context, slug: str | None, include_handled: bool,
                   while_closed: bool) -> None:
    """Messages left by callers, oldest first, with the number to call back."""
    now = datetime.now(UTC) if while_closed else None
    items = with_database(ctx.obj["settings"], lambda sessions: ops.voicemail_worklist(
        sessions, slug, include_handled=include_handled, closed_until=now))
    for item in items:
        flag = "call back" if item.callback_requested else ""
        click.echo(f"{item.id:5} {item.recorded_at:%Y-%m-%d %H:%M} {item.service:22} "
                   f"{item.caller_number or 'anonymous':16} {item.duration_seconds or 0:4}s "
                   f"{item.reason:12} {flag}")
    if not items:
        click.echo("no messages to process")


@click.group()
def office() -> None:
    """Office lines: an office's own number, its phone, and overflow to the queue."""


@office.command("add")
@click.argument("number")
@click.option("--service", "slug", required=True, help="service whose queue takes the overflow")
@click.option("--phone", "endpoint", required=True, help="SIP user name of the office phone")
@click.option("--password", envvar="CENTRALINO_OFFICE_PASSWORD", prompt=True, hide_input=True,
              confirmation_prompt=True, help="SIP password of the office phone")
@click.option("--rings", default=4, show_default=True, help="rings before overflowing")
@click.option("--name", default="", help="office name, shown on phones")
@click.option("--queue", default=None, help="queue to overflow to (default: the service's)")
@click.pass_context
def office_add(ctx: click.Context, number: str, slug: str, endpoint: str, password: str,
               rings: int, name: str, queue: str | None) -> None:
    """Route NUMBER to an office phone first, overflowing to the contact center."""
    from centralino.live_config import apply_configuration, config_target
    from centralino.offices import add_office

    settings = ctx.obj["settings"]
    target = config_target(settings, None)

    async def work(sessions: async_sessionmaker) -> str:
        line = await add_office(sessions, number, service=slug, endpoint=endpoint,
                                password=password, rings=rings, name=name, queue=queue)
        applied = await apply_configuration(settings, sessions, target)
        return f"office line {line.number} -> phone {line.endpoint}, {line.rings} rings; {applied}"

    click.echo(with_database(settings, work))


@office.command("list")
@click.pass_context
def office_list(ctx: click.Context) -> None:
    """Office lines and their phones."""
    from centralino.offices import list_offices

    for line in with_database(ctx.obj["settings"], list_offices):
        click.echo(f"{line.number:14} {line.service:22} {line.endpoint:16} {line.rings} rings "
                   f"{line.name}")
