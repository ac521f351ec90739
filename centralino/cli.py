"""The ``centralino`` console command.

Every failure an operator can fix (bad configuration, missing prerequisite,
unreachable database) ends as one line on stderr and exit status 2.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from pathlib import Path

import click

from centralino import database
from centralino.cli_agents import agent
from centralino.cli_calls import call
from centralino.cli_services import office, service, voicemail
from centralino.cli_sla import sla
from centralino.cli_users import user
from centralino.config import Settings, load_settings
from centralino.errors import CentralinoError
from centralino.render import write_config
from centralino.sandbox import Sandbox


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


class _Group(click.Group):
    """Turns CentralinoError into a one-line message instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CentralinoError as exc:
            click.echo(f"centralino: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="TOML configuration file (default: $CENTRALINO_CONFIG or ./centralino.toml)")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Centralino: contact-center control plane on Asterisk."""
    ctx.ensure_object(dict)
    try:
        settings = load_settings(config_path)
    except CentralinoError as exc:
        click.echo(f"centralino: error: {exc}", err=True)
        sys.exit(2)
    ctx.obj["settings"] = settings
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_level.upper() != "DEBUG":
        # Schema checks run at every command; say something only if they do something odd.
        logging.getLogger("alembic").setLevel(logging.WARNING)


# -- asterisk ---------------------------------------------------------------------
@main.group()
def asterisk() -> None:
    """Manage the Asterisk 22 sandbox (a Debian sid chroot)."""


async def _render_for(settings: Settings, sandbox: Sandbox | None) -> dict[str, str]:
    from centralino.runtime import configure_asterisk, prepare_database, record_prompts

    engine, sessions = await prepare_database(settings)
    try:
        if sandbox is not None:
            await record_prompts(sessions, sandbox.host_path(sounds_dir_in(sandbox)))
        return await configure_asterisk(settings, sessions,
                                        sandbox.layout if sandbox else None)
    finally:
        await engine.dispose()


def sounds_dir_in(sandbox: Sandbox) -> str:
    """Where the instance's recorded prompts live, as Asterisk sees the path."""
    return f"{sandbox.layout.varlib}/sounds/centralino"


def bring_up(settings: Settings) -> Sandbox:
    sandbox = Sandbox(settings, progress=lambda m: click.echo(f"  {m}"))
    sandbox.provision()
    files = asyncio.run(_render_for(settings, sandbox))
    sandbox.install_config(files)
    if sandbox.read_pid():
        sandbox.reload()
    else:
        sandbox.start()
    return sandbox


@asterisk.command("up")
@click.pass_context
def asterisk_up(ctx: click.Context) -> None:
    """Provision (once), configure and start Asterisk; wait until fully booted."""
    settings = _settings(ctx)
    sandbox = bring_up(settings)
    click.echo(f"Asterisk running (pid {sandbox.read_pid()}): SIP udp "
               f"{settings.bind_address}:{settings.sip_port}, ARI http://"
               f"{settings.bind_address}:{settings.ari_port}/ari, AMI "
               f"{settings.bind_address}:{settings.ami_port}")


@asterisk.command("down")
@click.pass_context
def asterisk_down(ctx: click.Context) -> None:
    """Stop this instance's Asterisk."""
    Sandbox(_settings(ctx)).stop()
    click.echo("Asterisk stopped")


@asterisk.command("status")
@click.pass_context
def asterisk_status(ctx: click.Context) -> None:
    """Say whether the sandbox is provisioned and Asterisk running."""
    status = Sandbox(_settings(ctx)).status()
    click.echo(f"provisioned: {'yes' if status.provisioned else 'no'}")
    click.echo(f"running: yes, pid {status.pid}" if status.running else "running: no")
    if status.version:
        click.echo(f"version: {status.version}")
    if not status.running:
        sys.exit(3)


@asterisk.command("cli")
@click.argument("command", nargs=-1, required=True)
@click.pass_context
def asterisk_cli(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Run an Asterisk CLI command, e.g. `centralino asterisk cli pjsip show endpoints`."""
    click.echo(Sandbox(_settings(ctx)).cli(" ".join(command)))


@asterisk.command("render")
@click.option("--to", "target", type=click.Path(path_type=Path), required=True,
              help="directory to write the configuration into (e.g. a staging copy of "
                   "/etc/asterisk)")
@click.pass_context
def asterisk_render(ctx: click.Context, target: Path) -> None:
    """Write the configuration for an Asterisk installed on a real server."""
    files = asyncio.run(_render_for(_settings(ctx), None))
    write_config(files, target)
    click.echo(f"wrote {len(files)} files to {target}")


# -- database ---------------------------------------------------------------------
@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply migrations (the only way the schema changes)."""
    settings = _settings(ctx)
    if settings.effective_database_url.startswith("sqlite"):
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    database.upgrade(settings.effective_database_url, revision)
    click.echo(f"database at {revision}")


@main.command("seed")
@click.pass_context
def seed_command(ctx: click.Context) -> None:
    """Create the tender's services if missing (safe to run again)."""
    from centralino.runtime import prepare_database

    async def go() -> None:
        engine, _sessions = await prepare_database(_settings(ctx))
        await engine.dispose()

    asyncio.run(go())
    click.echo("services seeded")


# -- running ----------------------------------------------------------------------
async def _serve(settings: Settings, sounds_dir: str, announce: str,
                 sounds_host_dir: Path) -> None:
    from centralino.runtime import control_plane, prepare_database

    engine, sessions = await prepare_database(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with control_plane(settings, sessions, sounds_dir=sounds_dir,
                                 sounds_host_dir=sounds_host_dir):
            # What start-up built (modules, mappers, compiled statements) lives as long
            # as the process: the garbage collector need not walk it on every pass.
            gc.freeze()
            click.echo(announce)
            click.echo(f"control plane ready: web http://{settings.bind_address}:"
                       f"{settings.web_port}/ (`centralino user add` for a login), health "
                       f"/health, FastAGI {settings.bind_address}:"
                       f"{settings.agi_port}; Ctrl-C stops everything")
            await stop.wait()
    finally:
        await engine.dispose()


@main.command("serve")
@click.option("--sounds-dir", default="/var/lib/asterisk/sounds/centralino",
              help="directory of recorded prompts, as Asterisk sees it")
@click.pass_context
def serve(ctx: click.Context, sounds_dir: str) -> None:
    """Run the control plane against an Asterisk managed elsewhere."""
    from centralino.runtime import run_control_plane
    run_control_plane(_serve(_settings(ctx), sounds_dir, "using the configured Asterisk",
                             Path(sounds_dir)))


@main.command("run")
@click.pass_context
def run(ctx: click.Context) -> None:
    """Start everything: the Asterisk sandbox, the control plane and the web server."""
    from centralino.runtime import run_control_plane
    settings = _settings(ctx)
    click.echo("starting the Asterisk sandbox")
    sandbox = bring_up(settings)
    db_where = settings.effective_database_url.split("@")[-1]
    announce = (f"Asterisk 22 running (pid {sandbox.read_pid()}): SIP udp "
                f"{settings.bind_address}:{settings.sip_port} (carrier from "
                f"{', '.join(settings.carrier_addresses)}), ARI "
                f"{settings.bind_address}:{settings.ari_port}, AMI "
                f"{settings.bind_address}:{settings.ami_port}; database {db_where}")
    try:
        run_control_plane(_serve(settings, sounds_dir_in(sandbox), announce,
                                 sandbox.host_path(sounds_dir_in(sandbox))))
    finally:
        sandbox.stop()
        click.echo("stopped")


main.add_command(agent)
main.add_command(service)
main.add_command(voicemail)
main.add_command(office)
main.add_command(call)
main.add_command(sla)
main.add_command(user)

if __name__ == "__main__":  # pragma: no cover
    main()
