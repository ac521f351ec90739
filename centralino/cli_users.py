"""``centralino user ...``: logins of the web interface.

The password is read from a hidden prompt or from standard input
(``--password-stdin``), never from the command line, where ``ps`` and the shell's
history would show it; there is no default password.
"""

from __future__ import annotations

import sys

import click

from centralino.cli_support import with_database
from centralino.errors import CentralinoError
from models import WEB_ROLES


@click.group()
def user() -> None:
    """Web interface logins: admins, supervisors, agents."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CentralinoError("--password-stdin: no password on standard input")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(WEB_ROLES), required=True)
@click.option("--agent", "agent", default=None,
              help="for role agent: the agent's SIP user name this login belongs to")
@click.option("--password-stdin", "password_stdin", is_flag=True,
              help="read the password from the first line of standard input")
@click.pass_context
def user_add(ctx: click.Context, username: str, role: str, agent: str | None,
             password_stdin: bool) -> None:
    """Create a login USERNAME with ROLE; asks for its password."""
    from centralino.web.auth import add_user, check_password, check_username

    check_username(username)
    password = check_password(_read_password(password_stdin))
    created = with_database(ctx.obj["settings"],
                            lambda sessions: add_user(sessions, username, role, password, agent))
    click.echo(f"web user {created.username} created, role {created.role}")


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """Logins, their roles, last login and whether disabled."""
    from centralino.web.auth import list_users

    for row in with_database(ctx.obj["settings"], list_users):
        last = f"{row.last_login_at:%Y-%m-%d %H:%M}" if row.last_login_at else "never"
        state = "disabled" if row.disabled else "active"
        click.echo(f"{row.username:24} {row.role:10} {state:8} last login {last}")


@user.command("disable")
@click.argument("username")
@click.pass_context
def user_disable(ctx: click.Context, username: str) -> None:
    """Disable USERNAME's login and end its sessions."""
    from centralino.web.auth import disable_user

    click.echo(with_database(ctx.obj["settings"],
                             lambda sessions: disable_user(sessions, username)))
