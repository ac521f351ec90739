"""Apply a configuration change to a running Asterisk without restarting it.

After an agent is added or removed, the whole configuration is rendered again
from the database, written where this installation's Asterisk reads it (the
sandbox instance, or a real server's directory), and Asterisk is asked over
ARI to reload ``res_pjsip`` and the dialplan: registrations and calls stay up.
If Asterisk is not running the files are written all the same and its next
start loads them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker

from ari_app.transport.ari import AriClient, AriError, AriUnavailable
from centralino.config import Settings
from centralino.errors import CentralinoError, PrerequisiteError
from centralino.render import write_config
from centralino.sandbox import Sandbox

#: What an agent change touches: SIP accounts and the agents' dialplan.
RELOADED_MODULES = ("res_pjsip.so", "pbx_config.so")


@dataclass(frozen=True)
class ConfigTarget:
    """Where the configuration goes: a sandbox instance, or a directory of a real server."""

    sandbox: Sandbox | None
    directory: Path | None

    def describe(self) -> str:
        if self.sandbox is not None:
            return f"sandbox instance {self.sandbox.settings.instance}"
        return str(self.directory)


def config_target(settings: Settings, conf_dir: Path | None) -> ConfigTarget:
    """Decide where to write, before anything is changed, so a bad setup changes nothing."""
    if conf_dir is not None:
        if not conf_dir.is_dir():
            raise CentralinoError(f"--conf-dir {conf_dir} is not a directory: give the "
                                  "directory Asterisk reads its configuration from")
        return ConfigTarget(None, conf_dir)
    sandbox = Sandbox(settings)
    if not sandbox.is_provisioned():
        raise PrerequisiteError(
            "no Asterisk to configure: run `centralino asterisk up` for the sandbox, or pass "
            "--conf-dir /etc/asterisk for an Asterisk installed on a real server")
    return ConfigTarget(sandbox, None)


async def write_configuration(settings: Settings, sessions: async_sessionmaker,
                              target: ConfigTarget) -> None:
    from centralino.runtime import configure_asterisk

    if target.sandbox is not None:
        files = await configure_asterisk(settings, sessions, target.sandbox.layout)
        await asyncio.to_thread(target.sandbox.install_config, files)
    else:
        assert target.directory is not None
        files = await configure_asterisk(settings, sessions, None)
        await asyncio.to_thread(write_config, files, target.directory)


async def reload_asterisk(settings: Settings) -> bool:
    """Ask Asterisk to reload SIP accounts and dialplan; False if it is not running."""
    from centralino.runtime import credentials_for

    creds = credentials_for(settings)
    async with AriClient(f"http://{settings.bind_address}:{settings.ari_port}", creds.ari_user,
                         creds.ari_password, settings.ari_app) as ari:
        for module in RELOADED_MODULES:
            try:
                await ari.reload_module(module)
            except AriUnavailable:
                return False
            except AriError as exc:
                hint = ("ARI refused this installation's credentials: is that Asterisk "
                        "configured from another state_dir?" if exc.status in (401, 403)
                        else "see Asterisk's log")
                raise CentralinoError(f"Asterisk did not reload {module} ({exc.status} "
                                      f"{exc.message}): {hint}") from None
    return True


async def apply_configuration(settings: Settings, sessions: async_sessionmaker,
                              target: ConfigTarget) -> str:
    """Write and reload; return one line telling the operator what happened."""
    await write_configuration(settings, sessions, target)
    if await reload_asterisk(settings):
        return "Asterisk reloaded SIP accounts and dialplan (no restart, calls kept)"
    return (f"Asterisk is not running (no ARI on {settings.bind_address}:{settings.ari_port}): "
            f"configuration written to {target.describe()}, its next start loads it")
