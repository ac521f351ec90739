"""``centralino agent ...``: agents' SIP accounts and states, from the command line.

``add`` and ``remove`` change the database, then write Asterisk's configuration
and have it reloaded (no restart): a softphone can register at once. The other
commands change only the agent's state in the database.

Errors are :class:`CentralinoError`; the ``centralino`` group turns them into one
line and exit status 2 (this nested group lets them through to it).
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino import agents as agent_ops
from centralino.cli_support import with_database
from centralino.config import Settings
from centralino.errors import CentralinoError
from centralino.live_config import ConfigTarget, apply_configuration, config_target
from centralino.render import SIP_REALM
from models import AGENT_PROFILES

T = TypeVar("T")


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def _comma_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


async def _apply(settings: Settings, sessions: async_sessionmaker, target: ConfigTarget,
                 done: str) -> str:
    """Write and reload; if that fails, say the database change itself was made."""
    try:
        return await apply_configuration(settings, sessions, target)
    except CentralinoError as exc:
        raise CentralinoError(f"{done}, but Asterisk's configuration was not updated: {exc}; "
                              "`centralino asterisk up` applies it") from None


_conf_dir_option = click.option(
    "--conf-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="write Asterisk's configuration into this directory (a real server's "
         "/etc/asterisk) instead of the sandbox instance")


@click.group()
def agent() -> None:
    """Agents: SIP accounts (no Asterisk restart) and states."""


@agent.command("add")
@click.argument("username")
@click.option("--password", envvar="CENTRALINO_AGENT_PASSWORD", prompt=True, hide_input=True,
              confirmation_prompt=True,
              help="SIP password, at least 8 characters (or $CENTRALINO_AGENT_PASSWORD, or "
                   "asked for); only its digest is stored")
@click.option("--services", required=True, help="services the agent answers: SLUG[,SLUG]")
@click.option("--skills", default="", help="skills: SLUG[,SLUG]")
@click.option("--profile", type=click.Choice(AGENT_PROFILES), default="junior",
              show_default=True)
@click.option("--name", "display_name", default="", help='display name, e.g. "Anna Rossi"')
@_conf_dir_option
@click.pass_context
def agent_add(ctx: click.Context, username: str, password: str, services: str, skills: str,
              profile: str, display_name: str, conf_dir: Path | None) -> None:
    """Create an agent whose softphone can register at once."""
    settings = _settings(ctx)
    # Refuse bad input before anything is opened or written.
    agent_ops.check_new_agent(username, password, profile, _comma_list(services),
                              _comma_list(skills))
    target = config_target(settings, conf_dir)

    async def work(sessions: async_sessionmaker) -> str:
        await agent_ops.add_agent(sessions, username, password,
                                  services=_comma_list(services), skills=_comma_list(skills),
                                  profile=profile, display_name=display_name)
        return await _apply(settings, sessions, target, f"agent {username} added")

    outcome = with_database(settings, work)
    click.echo(f"agent {username} added: SIP user {username}, realm {SIP_REALM}, "
               f"registrar {settings.bind_address}:{settings.sip_port}; {outcome}")


@agent.command("remove")
@click.argument("username")
@_conf_dir_option
@click.pass_context
def agent_remove(ctx: click.Context, username: str, conf_dir: Path | None) -> None:
    """Delete an agent and its SIP account (its calls keep their records)."""
    settings = _settings(ctx)
    target = config_target(settings, conf_dir)

    async def work(sessions: async_sessionmaker) -> str:
        await agent_ops.remove_agent(sessions, username)
        return await _apply(settings, sessions, target, f"agent {username} removed")

    click.echo(f"agent {username} removed; {with_database(settings, work)}")


@agent.command("list")
@click.pass_context
def agent_list(ctx: click.Context) -> None:
    """Show every agent, its state and since when."""
    views = with_database(_settings(ctx), agent_ops.list_agents)
    if not views:
        click.echo("no agents: add one with `centralino agent add USER --services SLUG`")
        return
    click.echo(f"{'USER':<20} {'STATE':<10} {'SINCE (UTC)':<16} {'PROFILE':<7} "
               f"{'SERVICES':<24} {'SKILLS':<16} NAME / PAUSE REASON")
    for view in views:
        since = (view.state_since.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
                 if view.state_since else "-")
        reason = f" / {view.pause_reason}" if view.pause_reason else ""
        state = view.state if view.enabled else "disabled"
        click.echo(f"{view.username:<20} {state:<10} {since:<16} {view.profile:<7} "
                   f"{','.join(view.services):<24} {','.join(view.skills) or '-':<16} "
                   f"{view.display_name or '-'}{reason}")


def _state_command(action: str, summary: str) -> click.Command:
    @click.pass_context
    def command(ctx: click.Context, username: str, reason: str | None = None) -> None:
        settings = _settings(ctx)

        async def work(sessions: async_sessionmaker) -> agent_ops.AgentView:
            return await agent_ops.set_state(sessions, username, action, reason,
                                             queue_log=settings.queue_log_path)

        view = with_database(settings, work)
        suffix = f" ({view.pause_reason})" if view.pause_reason else ""
        click.echo(f"agent {view.username} is {view.state.replace('_', ' ')}{suffix}")

    command.__doc__ = summary
    params: list[click.Parameter] = [click.Argument(["username"])]
    if action == "pause":
        params.append(click.Option(["--reason"], required=True,
                                   help="why, e.g. pranzo, formazione (kept with the state)"))
    return click.Command(action, callback=command, params=params, help=summary)


agent.add_command(_state_command("login", "Log the agent in: available for calls."))
agent.add_command(_state_command("logout", "Log the agent out."))
agent.add_command(_state_command("pause", "Pause the agent, with a reason."))
agent.add_command(_state_command("resume", "End the agent's pause: available again."))
