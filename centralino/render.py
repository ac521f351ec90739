"""Render Asterisk's configuration from ``asterisk-conf/`` and ``dialplan_templates/``.

The same output serves the sandbox (with an ``asterisk.conf`` pointing at the
instance's own directories) and a real server (``render --to DIR``, without it).
Every value put into a template is checked again here, so nothing an admin or a
caller typed can add a line of dialplan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ari_app.sanitize import clean_caller_name, did_variants, is_slug
from centralino.config import Settings
from centralino.credentials import Credentials
from centralino.errors import ConfigError
from centralino.paths import ASTERISK_CONF_DIR, DIALPLAN_TEMPLATES_DIR

# What may appear inside a rendered value: no newline, ';', '[', ',' or '$'.
_CONF_VALUE = re.compile(r"[A-Za-z0-9_.:/@+=\-]*")

#: Digest realm of agents' SIP accounts; pjsip.conf's ``default_realm`` says the same,
#: and every stored HA1 digest was computed with it.
SIP_REALM = "centralino"
#: An agent's user name: it names pjsip objects and travels as a dialplan argument.
AGENT_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
#: Names already taken by Asterisk's own objects, or with a meaning to res_pjsip.
RESERVED_USERNAMES = frozenset({
    "carrier", "anonymous", "global", "system", "default", "transport-udp", "centralino",
    "asterisk", "admin", "root", "agents", "agent-state",
})
_HA1 = re.compile(r"[0-9a-f]{32}")


def is_agent_username(value: str) -> bool:
    return bool(AGENT_USERNAME.fullmatch(value)) and value not in RESERVED_USERNAMES


@dataclass(frozen=True)
class ServicePlan:
    """What the dialplan needs to know of a service."""

    slug: str
    dids: tuple[str, ...]
    #: Office lines: (number, office phone's endpoint, rings before overflow).
    offices: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class AgentAccount:
    """What Asterisk needs to know of an agent: a SIP account, never a clear password."""

    username: str
    display_name: str
    #: md5("username:centralino:password"), lower-case hex.
    ha1: str
    #: Dialplan context of the phone: agents have feature codes, office phones do not.
    context: str = "agents"


@dataclass(frozen=True)
class InstanceLayout:
    """Directories of one sandbox instance, as Asterisk sees them (inside the chroot)."""

    root: str

    @property
    def etc(self) -> str:
        return f"{self.root}/etc"

    @property
    def varlib(self) -> str:
        return f"{self.root}/lib"

    @property
    def spool(self) -> str:
        return f"{self.root}/spool"

    @property
    def run(self) -> str:
        return f"{self.root}/run"

    @property
    def log(self) -> str:
        return f"{self.root}/log"


class _Secret(str):
    """A generated credential or hash: may hold '$' but still no line break or ';'."""


def _secret(value: object) -> _Secret:
    text = str(value)
    if any(ch in text for ch in "\r\n;[]") or not text.isprintable():
        raise ConfigError("a generated credential holds a character Asterisk cannot read")
    return _Secret(text)


class _CallerName(str):
    """A display name already reduced to letters, digits, spaces and . ' - (no quotes)."""


def _conf_safe(value: object) -> str:
    if isinstance(value, _Secret | _CallerName):
        return value
    text = str(value)
    if not _CONF_VALUE.fullmatch(text):
        raise ConfigError(f"refusing to write {text!r} into Asterisk's configuration")
    return text


def _environment(directory: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_conf_safe,
    )
    env.globals["did_variants"] = did_variants
    env.filters["secret"] = _secret
    return env


def _check_services(services: Iterable[ServicePlan]) -> list[ServicePlan]:
    checked = []
    seen: set[str] = set()
    for service in services:
        if not is_slug(service.slug):
            raise ConfigError(f"service slug {service.slug!r} is not a valid identifier")
        for number, endpoint, rings in service.offices:
            if not number.isdigit() or not is_agent_username(endpoint) or not 1 <= rings <= 20:
                raise ConfigError(f"service {service.slug}: office line {number!r} is invalid")
        for did in (*service.dids, *(office[0] for office in service.offices)):
            if not did.isdigit():
                raise ConfigError(f"service {service.slug}: DID {did!r} is not digits only")
            if did in seen:
                raise ConfigError(f"DID {did} is configured for more than one service")
            seen.add(did)
        checked.append(service)
    return checked


def _check_agents(agents: Iterable[AgentAccount]) -> list[AgentAccount]:
    checked = []
    seen: set[str] = set()
    for agent in agents:
        if not is_agent_username(agent.username):
            raise ConfigError(f"agent user name {agent.username!r} is not a valid SIP account "
                              "name (or is reserved)")
        if agent.username in seen:
            raise ConfigError(f"agent {agent.username} is configured twice")
        if not _HA1.fullmatch(agent.ha1):
            raise ConfigError(f"agent {agent.username}: the stored SIP digest is not an MD5 "
                              "hex digest; remove the agent and add it again")
        seen.add(agent.username)
        # Rendered inside double quotes: whatever was stored, only a tame name gets there.
        name = clean_caller_name(agent.display_name) or agent.username
        if agent.context not in ("agents", "offices"):
            raise ConfigError(f"account {agent.username}: unknown context {agent.context!r}")
        checked.append(AgentAccount(agent.username, _CallerName(name), agent.ha1,
                                    agent.context))
    return checked


def render_config(
    settings: Settings,
    credentials: Credentials,
    services: Iterable[ServicePlan],
    layout: InstanceLayout | None,
    agents: Iterable[AgentAccount] = (),
) -> dict[str, str]:
    """Return file name → content for the whole Asterisk configuration."""
    plans = _check_services(services)
    context = {"settings": settings, "credentials": credentials, "services": plans,
               "layout": layout, "agents": _check_agents(agents), "sip_realm": SIP_REALM}
    files: dict[str, str] = {}
    conf_env = _environment(ASTERISK_CONF_DIR)
    for source in sorted(ASTERISK_CONF_DIR.iterdir()):
        if source.name == "asterisk.conf.j2" and layout is None:
            continue  # a real server keeps its own directories
        if source.suffix == ".j2":
            files[source.stem] = conf_env.get_template(source.name).render(context)
        elif source.suffix == ".conf":
            files[source.name] = source.read_text(encoding="utf-8")
    dialplan_env = _environment(DIALPLAN_TEMPLATES_DIR)
    for source in sorted(DIALPLAN_TEMPLATES_DIR.glob("*.j2")):
        files[source.stem] = dialplan_env.get_template(source.name).render(context)
    return files


def write_config(files: dict[str, str], target: Path) -> None:
    """Write the files atomically (rename), so Asterisk never reads half a file."""
    target.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        tmp = target / f".{name}.tmp"
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(target / name)
