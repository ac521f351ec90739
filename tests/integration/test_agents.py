"""Agents as an operator and a softphone see them: real CLI, real Asterisk, real SIP.

The CLI runs as a subprocess pointed at the test instance (same settings as the
session's Asterisk, the database of the parametrised run), so `agent add` goes
through the whole path: database, rendering, writing, ARI reload. Every test
uses its own user names, because the SQLite and PostgreSQL runs share one
Asterisk and each CLI call renders the accounts of its own database.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sys
from dataclasses import dataclass, fields
from datetime import UTC

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from centralino.config import Settings
from centralino.sandbox import Sandbox
from models import Agent
from tests.integration.conftest import Plane, eventually
from tests.support.sipua import SipError, SipUA

pytestmark = pytest.mark.asterisk

CLI = [sys.executable, "-m", "centralino.cli"]
PASSWORD = "Segreto-2026"


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """This test instance's settings as the environment an operator would export."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
    for field in fields(Settings):
        value = getattr(settings, field.name)
        text = ",".join(value) if isinstance(value, tuple) else str(value)
        env[f"CENTRALINO_{field.name.upper()}"] = text
    env["CENTRALINO_LOG_LEVEL"] = "WARNING"
    env.update(extra)
    return env


async def run_cli(settings: Settings, *args: str, timeout: float = 120,
                  **extra_env: str) -> CliResult:
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=cli_env(settings, **extra_env))
    try:
        async with asyncio.timeout(timeout):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return CliResult(process.returncode, stdout.decode(), stderr.decode())


def assert_one_line_error(result: CliResult, fragment: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("centralino:")]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


async def add_agent(settings: Settings, username: str, *extra: str) -> CliResult:
    result = await run_cli(settings, "agent", "add", username, "--password", PASSWORD,
                           "--services", "apiae", *extra)
    assert result.returncode == 0, result.stderr
    return result


async def agent_row(sessions: async_sessionmaker, username: str) -> Agent | None:
    async with sessions() as session:
        return await session.scalar(select(Agent).where(Agent.username == username))


def registrar(settings: Settings) -> str:
    return f"sip:{settings.bind_address}:{settings.sip_port}"


def agents_conf(asterisk: Sandbox) -> str:
    return asterisk.host_path(f"{asterisk.layout.etc}/pjsip_agents.conf").read_text()


# -- (a) a new account works at once, without a restart ------------------------------
async def test_given_agent_added_then_softphone_registers_at_once_without_restart(
        plane_database, asterisk: Sandbox):
    settings, sessions = plane_database
    pid = asterisk.read_pid()
    result = await run_cli(settings, "agent", "add", "anna.rossi", "--services", "apiae,uru",
                           "--skills", "patenti,revisioni", "--profile", "expert",
                           "--name", "Anna Rossi",
                           CENTRALINO_AGENT_PASSWORD=PASSWORD)
    assert result.returncode == 0, result.stderr
    assert "Asterisk reloaded" in result.stdout

    async with SipUA.start() as phone:
        registration = await phone.register("anna.rossi", PASSWORD, registrar(settings))
        assert registration.code == 200
        with pytest.raises(SipError) as refused:
            await phone.register("anna.rossi", "not-the-password", registrar(settings),
                                 account="impostor")
        assert refused.value.code in (401, 403)
    assert asterisk.read_pid() == pid, "Asterisk was restarted"

    row = await agent_row(sessions, "anna.rossi")
    assert row is not None
    ha1 = hashlib.md5(f"anna.rossi:centralino:{PASSWORD}".encode()).hexdigest()
    assert row.sip_ha1 == ha1
    assert (row.profile, row.state, row.display_name) == ("expert", "logged_out", "Anna Rossi")
    assert sorted(s.slug for s in row.services) == ["apiae", "uru"]
    assert sorted(s.skill for s in row.skills) == ["patenti", "revisioni"]
    stored = [str(getattr(row, column.key)) for column in Agent.__table__.columns]
    assert not any(PASSWORD in value for value in stored)
    conf = agents_conf(asterisk)
    assert PASSWORD not in conf and f"password_digest = md5:{ha1}" in conf
    # Asterisk itself parsed the digest (not only the file holds it).
    auth = await asyncio.to_thread(asterisk.cli, "pjsip show auth anna.rossi-auth")
    assert f"MD5:{ha1}" in auth and "centralino" in auth


async def test_given_agent_removed_then_account_refused_without_restart(
        plane_database, asterisk: Sandbox):
    settings, sessions = plane_database
    await add_agent(settings, "leaving")
    pid = asterisk.read_pid()
    async with SipUA.start() as phone:
        await phone.register("leaving", PASSWORD, registrar(settings))
        result = await run_cli(settings, "agent", "remove", "leaving")
        assert result.returncode == 0, result.stderr
        assert "Asterisk reloaded" in result.stdout
        with pytest.raises(SipError) as refused:
            await phone.register("leaving", PASSWORD, registrar(settings), account="again")
        assert refused.value.code in (401, 403, 404)
    assert asterisk.read_pid() == pid
    assert await agent_row(sessions, "leaving") is None
    assert "[leaving]" not in agents_conf(asterisk)


# -- (b) unknown accounts -------------------------------------------------------------
async def test_given_unknown_user_when_registering_then_refused(plane_database, asterisk):
    settings, _sessions = plane_database
    async with SipUA.start() as phone:
        with pytest.raises(SipError) as refused:
            await phone.register("nobody", PASSWORD, registrar(settings))
    assert refused.value.code in (401, 403, 404)


# -- (c) states from the command line -------------------------------------------------
async def test_given_agent_when_cli_changes_state_then_database_follows(plane_database,
                                                                        asterisk):
    settings, sessions = plane_database
    await add_agent(settings, "marco")
    previous = (await agent_row(sessions, "marco")).state_since
    steps = [
        (("login", "marco"), "available", None),
        (("pause", "marco", "--reason", "pausa pranzo"), "paused", "pausa pranzo"),
        (("resume", "marco"), "available", None),
        (("logout", "marco"), "logged_out", None),
    ]
    for args, state, reason in steps:
        result = await run_cli(settings, "agent", *args)
        assert result.returncode == 0, result.stderr
        row = await agent_row(sessions, "marco")
        assert (row.state, row.pause_reason) == (state, reason)
        assert row.state_since.tzinfo is not None and row.state_since.utcoffset().seconds == 0
        assert row.state_since >= previous
        previous = row.state_since
    listing = await run_cli(settings, "agent", "list")
    assert "marco" in listing.stdout and "logged_out" in listing.stdout, listing


async def test_given_agents_disabled_or_deleted_in_the_web_then_the_list_says_so(
        plane_database, asterisk):
    """The admin's two tools agree: disabled is shown as such, deleted is not listed."""
    from centralino.web import agent_changes

    settings, sessions = plane_database
    await add_agent(settings, "spento")
    await add_agent(settings, "tolto")
    try:
        await agent_changes.set_enabled(sessions, "admin", "spento", False)
        await agent_changes.delete_agent(sessions, "admin", "tolto")
        listing = (await run_cli(settings, "agent", "list")).stdout
        rows = {line.split()[0]: line.split()[1] for line in listing.splitlines()[1:]}
        assert rows.get("spento") == "disabled" and "tolto" not in rows, rows
    finally:
        for username in ("spento", "tolto"):
            assert (await run_cli(settings, "agent", "remove", username)).returncode == 0


async def test_given_state_change_that_makes_no_sense_then_one_line_error(plane_database,
                                                                          asterisk):
    settings, sessions = plane_database
    await add_agent(settings, "giulia")
    assert_one_line_error(await run_cli(settings, "agent", "resume", "giulia"), "logged out")
    assert_one_line_error(await run_cli(settings, "agent", "pause", "nessuno", "--reason",
                                        "x"), "no agent 'nessuno'")
    assert_one_line_error(await run_cli(settings, "agent", "logout", "bob;exten"), "not valid")
    assert (await agent_row(sessions, "giulia")).state == "logged_out"


# -- (d) feature codes from the softphone ---------------------------------------------
async def dial_feature(phone: SipUA, settings: Settings, account: str, code: str) -> None:
    call = await phone.call(f"sip:{code}@{settings.bind_address}:{settings.sip_port}",
                            account=account)
    await call.wait_state("CONFIRMED", 10)  # answered: the dialplan plays the confirmation
    await call.wait_disconnected(20)  # and hangs up by itself


async def test_given_registered_agent_when_dialling_feature_codes_then_state_changes(
        plane: Plane, asterisk: Sandbox, caplog: pytest.LogCaptureFixture):
    settings, sessions = plane.settings, plane.sessions
    await add_agent(settings, "paolo")

    async def state_is(state: str) -> Agent | None:
        row = await agent_row(sessions, "paolo")
        return row if row is not None and row.state == state else None

    caplog.set_level(logging.INFO, logger="agi_scripts.agent_state")
    async with SipUA.start() as phone:
        await phone.register("paolo", PASSWORD, registrar(settings))

        await dial_feature(phone, settings, "paolo", "*45")
        row = await eventually(lambda: state_is("available"), 5, "login by *45")
        # The FastAGI script stamps the change with the control plane's clock.
        assert row.state_since.astimezone(UTC).date() == plane.clock().date()

        await dial_feature(phone, settings, "paolo", "*45")  # again: "already logged in"
        await eventually(lambda: _logged(caplog, "already logged in"), 5, "refused login")

        await dial_feature(phone, settings, "paolo", "*47")
        row = await eventually(lambda: state_is("paused"), 5, "pause by *47")
        assert row.pause_reason == "break"

        await dial_feature(phone, settings, "paolo", "*48")
        row = await eventually(lambda: state_is("available"), 5, "resume by *48")
        assert row.pause_reason is None

        await dial_feature(phone, settings, "paolo", "*46")
        await eventually(lambda: state_is("logged_out"), 5, "logout by *46")
    assert asterisk.read_pid() is not None


async def _logged(caplog: pytest.LogCaptureFixture, fragment: str) -> bool:
    return any(fragment in record.getMessage() for record in caplog.records)


async def test_given_control_plane_down_when_dialling_feature_code_then_error_and_no_change(
        plane_database, asterisk: Sandbox):
    settings, sessions = plane_database
    await add_agent(settings, "sara")
    async with SipUA.start() as phone:
        await phone.register("sara", PASSWORD, registrar(settings))
        # No FastAGI server: AGISTATUS is FAILURE, the dialplan plays an error beep.
        await dial_feature(phone, settings, "sara", "*45")
        call = await phone.call(f"sip:12345@{settings.bind_address}:{settings.sip_port}",
                                account="sara")
        with pytest.raises(SipError):  # nothing is dialled out from an agent's phone
            await call.wait_state("CONFIRMED", 10)
    assert (await agent_row(sessions, "sara")).state == "logged_out"


# -- (e) bad input: one line, nothing written -----------------------------------------
@pytest.mark.parametrize(("args", "fragment"), [
    (("bob;exten", "--password", PASSWORD, "--services", "apiae"), "not valid"),
    (("carrier", "--password", PASSWORD, "--services", "apiae"), "reserved"),
    (("bob", "--password", "short", "--services", "apiae"), "at least 8"),
    (("bob", "--password", PASSWORD, "--services", "apiae,nope"), "unknown service nope"),
    (("bob", "--password", PASSWORD, "--services", "apiae", "--skills", "a;b"), "skill"),
])
async def test_given_bad_input_when_adding_agent_then_one_line_error_and_nothing_written(
        plane_database, asterisk: Sandbox, args, fragment):
    settings, sessions = plane_database
    conf_file = asterisk.host_path(f"{asterisk.layout.etc}/pjsip_agents.conf")
    before = conf_file.stat().st_mtime_ns
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Agent))
    result = await run_cli(settings, "agent", "add", *args)
    assert_one_line_error(result, fragment)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Agent)) == count
    assert conf_file.stat().st_mtime_ns == before


async def test_given_existing_agent_when_added_again_then_refused(plane_database, asterisk):
    settings, _sessions = plane_database
    await add_agent(settings, "doppio")
    result = await run_cli(settings, "agent", "add", "doppio", "--password", PASSWORD,
                           "--services", "apiae")
    assert_one_line_error(result, "already exists")
