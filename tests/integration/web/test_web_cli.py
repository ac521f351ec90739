"""``centralino user ...`` as an operator runs it: the password is never an argument."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from centralino.web.auth import authenticate
from tests.integration.web.conftest import WebDb

CLI = [sys.executable, "-m", "centralino.cli"]


def user_cli(*args: str, database_url: str, state: Path, stdin: str = "",
             ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
    env.update({"CENTRALINO_DATABASE_URL": database_url, "CENTRALINO_STATE_DIR": str(state),
                "CENTRALINO_SLA_EXPORT_CRON": ""})
    return subprocess.run([*CLI, "user", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)


async def test_user_add_reads_password_from_stdin_then_list_and_disable(
        web_db: WebDb, database_url: str, tmp_path: Path):
    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return user_cli(*args, database_url=database_url, state=tmp_path, stdin=stdin)

    added = await asyncio.to_thread(run, "add", "cli-admin", "--role", "admin",
                                    "--password-stdin", stdin="password-da-stdin-9\n")
    assert added.returncode == 0, added.stderr
    assert "web user cli-admin created, role admin" in added.stdout
    assert "password-da-stdin-9" not in added.stdout + added.stderr
    result = await authenticate(web_db.sessions, "cli-admin", "password-da-stdin-9", "cli")
    assert result.user is not None and result.user.role == "admin"

    again = await asyncio.to_thread(run, "add", "cli-admin", "--role", "admin",
                                    "--password-stdin", stdin="password-da-stdin-9\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    short = await asyncio.to_thread(run, "add", "cli-short", "--role", "admin",
                                    "--password-stdin", stdin="corta\n")
    assert short.returncode == 2 and "password" in short.stderr
    empty = await asyncio.to_thread(run, "add", "cli-empty", "--role", "admin",
                                    "--password-stdin")
    assert empty.returncode == 2 and "no password" in empty.stderr
    on_command_line = await asyncio.to_thread(run, "add", "cli-argv", "--role", "admin",
                                              "--password", "password-in-chiaro-1")
    assert on_command_line.returncode == 2 and "No such option" in on_command_line.stderr

    listed = await asyncio.to_thread(run, "list")
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith("cli-admin "))
    assert "admin" in line and "active" in line and "last login" in line
    disabled = await asyncio.to_thread(run, "disable", "cli-admin")
    assert disabled.returncode == 0, disabled.stderr
    assert (await authenticate(web_db.sessions, "cli-admin", "password-da-stdin-9",
                               "cli")).user is None
    listed = await asyncio.to_thread(run, "list")
    assert "disabled" in next(ln for ln in listed.stdout.splitlines()
                              if ln.startswith("cli-admin "))
