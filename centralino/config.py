"""Settings of one Centralino installation, layered: defaults → TOML file → environment.

The file is ``$CENTRALINO_CONFIG`` or ``./centralino.toml`` when present; every
key can be overridden by ``CENTRALINO_<KEY>`` (upper case). Durations are
configurable so tests can run the real call flows on short values.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from centralino.errors import ConfigError

ENV_PREFIX = "CENTRALINO_"
#: The carrier's address for call-backs: a host (name or IPv4) and an optional port.
_OUTBOUND_URI = re.compile(r"sip:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?")


@dataclass(frozen=True)
class Settings:
    """Everything the control plane and the Asterisk sandbox need to agree on."""

    #: Name of this Asterisk instance inside the shared chroot (tests use their own).
    instance: str = "main"
    #: Where secrets, the SQLite database and logs of this installation live.
    state_dir: Path = Path("var")
    #: SQLAlchemy URL; empty means SQLite in ``state_dir``.
    database_url: str = ""
    #: Cached Debian sid chroot holding Asterisk 22 (shared by all instances).
    chroot: Path = Path("/var/cache/centralino/asterisk-sid")
    #: Address ARI, AMI, FastAGI, SIP and the web server bind to.
    bind_address: str = "127.0.0.1"
    sip_port: int = 5060
    ari_port: int = 8088
    ami_port: int = 5038
    agi_port: int = 4573
    web_port: int = 8080
    #: Source addresses of the carrier's SIP trunk: only these may call DIDs.
    carrier_addresses: tuple[str, ...] = ("127.0.0.2",)
    #: Where call-backs from the agent desktop are sent (the trunk's SIP URI, e.g.
    #: ``sip:203.0.113.5:5060``); empty: no call-backs, the desk offers no "Richiama".
    carrier_outbound_uri: str = ""
    #: Name of the Stasis application in ARI.
    ari_app: str = "centralino"
    #: Time zone in which office hours are decided.
    timezone: str = "Europe/Rome"
    #: Italian ring cadence (tone, silence) in ms: "4 rings" lasts 16 s by default.
    ring_on_ms: int = 1000
    ring_off_ms: int = 4000
    #: Longest voicemail, and the silence that ends one.
    voicemail_max_seconds: int = 180
    voicemail_max_silence_seconds: int = 10
    #: How often queues are matched with agents even when nothing happened.
    dispatch_poll_seconds: float = 2.0
    #: Seconds to wait for Asterisk to be fully booted.
    boot_timeout: float = 60.0
    log_level: str = "INFO"
    #: Nightly SLA export (crontab, in ``timezone``): yesterday and month to date per
    #: service, as CSV and XLSX. Empty: no nightly export.
    sla_export_cron: str = "0 2 * * *"
    #: Where the exports are written; empty means ``state_dir/sla-exports``.
    sla_export_dir: str = ""
    #: Who receives them; no recipients (or no ``smtp_host``): files only.
    sla_export_recipients: tuple[str, ...] = ()
    #: A failed export is tried again this many times, this many seconds apart.
    sla_export_retries: int = 3
    sla_export_retry_seconds: float = 300.0
    #: SMTP server for the exports; the password is read only from the environment
    #: (``CENTRALINO_SMTP_PASSWORD``), never from a file.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str = ""
    smtp_sender: str = "centralino@localhost"
    #: Asterisk-format queue_log for reporting tools (QueueMetrics...): a path, relative
    #: to ``state_dir`` unless absolute; empty: not written. See docs/queue_log.md.
    queue_log: str = "queue_log"
    #: Web interface: how long a login lasts, and whether its cookie needs HTTPS
    #: (set it when a TLS proxy serves the pages).
    web_session_hours: float = 8.0
    web_secure_cookies: bool = False
    #: ARI requests over the event WebSocket (Asterisk 22.4+) instead of HTTP.
    ari_rest_over_websocket: bool = True

    @property
    def sqlite_path(self) -> Path:
        return self.state_dir / "centralino.db"

    @property
    def effective_database_url(self) -> str:
        """The async SQLAlchemy URL, with drivers filled in for plain URLs."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path.resolve()}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        elif url.startswith("sqlite:///"):
            url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
        return url

    @property
    def journal_path(self) -> Path | None:
        """Where the control plane keeps its writes while the database is away.

        Named after the database, so a journal is never replayed into another one.
        None for SQLite: a file on this machine does not go away.
        """
        url = self.effective_database_url
        if url.startswith("sqlite"):
            return None
        name = url.rsplit("/", 1)[-1].split("?", 1)[0]
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
        return self.state_dir / "journal" / f"{safe or 'database'}.jsonl"

    @property
    def queue_log_path(self) -> Path | None:
        if not self.queue_log.strip():
            return None
        path = Path(self.queue_log.strip()).expanduser()
        return path if path.is_absolute() else self.state_dir / path

    @property
    def sla_export_path(self) -> Path:
        return Path(self.sla_export_dir) if self.sla_export_dir else self.state_dir / "sla-exports"

    @property
    def instance_state_dir(self) -> Path:
        return self.state_dir / "asterisk" / self.instance

    def with_overrides(self, **values: Any) -> Settings:
        return _validated(replace(self, **values))


def _coerce(name: str, raw: Any, target: Any) -> Any:
    """Turn a TOML or environment value into the field's type, or explain why not."""
    try:
        if isinstance(target, bool):
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(target, int):
            return int(raw)
        if isinstance(target, float):
            return float(raw)
        if isinstance(target, Path):
            return Path(str(raw)).expanduser()
        if isinstance(target, tuple):
            items = raw if isinstance(raw, list) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"setting {name!r} has value {raw!r}, which is not a valid {type(target).__name__}"
        ) from None


def _validated(settings: Settings) -> Settings:
    for port_name in ("sip_port", "ari_port", "ami_port", "agi_port", "web_port"):
        port = getattr(settings, port_name)
        if not 1 <= port <= 65535:
            raise ConfigError(f"setting {port_name!r} must be a port between 1 and 65535")
    for address in (settings.bind_address, *settings.carrier_addresses):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError(f"{address!r} is not an IP address (check bind_address and "
                              "carrier_addresses)") from None
    if settings.carrier_outbound_uri and not _OUTBOUND_URI.fullmatch(
            settings.carrier_outbound_uri):
        raise ConfigError("setting 'carrier_outbound_uri' must be a plain SIP URI of the "
                          "carrier, e.g. sip:203.0.113.5:5060 (no user part, no parameters)")
    if settings.sla_export_cron:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(settings.sla_export_cron)
        except ValueError as exc:
            raise ConfigError(f"setting 'sla_export_cron' is not a crontab line "
                              f"({settings.sla_export_cron!r}: {exc})") from None
    if not settings.instance.replace("-", "").isalnum():
        raise ConfigError("setting 'instance' may hold only letters, digits and '-'")
    if not settings.ari_app.replace("-", "").isalnum():
        raise ConfigError("setting 'ari_app' may hold only letters, digits and '-'")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(settings.timezone)
    except Exception:
        raise ConfigError(
            f"setting 'timezone' names no known time zone: {settings.timezone!r}") from None
    return settings


def load_settings(
    path: Path | None = None, environ: dict[str, str] | None = None, *,
    default_file: Path | None = Path("centralino.toml"),
) -> Settings:
    """Read the layered configuration; raise ConfigError with a one-line reason.

    A file named explicitly (argument or ``$CENTRALINO_CONFIG``) must exist;
    ``default_file`` is read only when present.
    """
    environ = dict(os.environ if environ is None else environ)
    defaults = Settings()
    known = {f.name: getattr(defaults, f.name) for f in fields(Settings)}
    values: dict[str, Any] = {}

    explicit = path or (Path(environ["CENTRALINO_CONFIG"]) if environ.get("CENTRALINO_CONFIG")
                        else None)
    config_path = explicit or default_file
    if explicit is not None and not explicit.exists():
        raise ConfigError(f"configuration file {explicit} does not exist")
    if config_path is not None and config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_path}: not valid TOML ({exc})") from None
        for key, raw in data.items():
            if key not in known:
                raise ConfigError(f"{config_path}: unknown setting {key!r}")
            values[key] = _coerce(key, raw, known[key])

    for env_key, raw in environ.items():
        if not env_key.startswith(ENV_PREFIX) or env_key == "CENTRALINO_CONFIG":
            continue
        key = env_key.removeprefix(ENV_PREFIX).lower()
        if key in known:
            values[key] = _coerce(key, raw, known[key])

    return _validated(replace(defaults, **values))
