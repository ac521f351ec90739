"""The benchmark's own installation: Asterisk instance "bench", its database, its control plane.

Everything is built with the project's own code (``Sandbox``, ``prepare_database``,
``record_prompts``, ``configure_asterisk``, ``install_config``); the only additions
are written into the *bench* instance's rendered files, never into the product's
templates:

* ``pjsip_agents.conf``: each agent's AOR gets a static contact on a second UDP
  transport of the same Asterisk, so ``PJSIP/<agent>`` rings back into Asterisk,
  where an "answerer" endpoint (identified by the source address 127.0.0.1) takes
  the call into the ``bench-answer`` context;
* ``extensions_agents.conf``: the ``bench-answer`` context answers and hands the
  channel to the benchmark's own Stasis application, which hangs up the caller
  after the talk time.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from dataclasses import dataclass
from pathlib import Path

import product_path
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import selectinload

from centralino.agents import add_agent, set_state
from centralino.cli import sounds_dir_in
from centralino.config import Settings
from centralino.errors import CentralinoError
from centralino.runtime import configure_asterisk, record_prompts
from centralino.sandbox import Sandbox
from centralino.services import set_mode
from models import Agent, Menu, Prompt, Queue, Service, ServiceDid

#: Short prompts, as the integration tests use them: the real flow, quickly.
SHORT_PROMPTS = {
    "welcome": "Benvenuto.",
    "out_of_hours": "Servizio chiuso.",
    "goodbye": "Arrivederci.",
    "hours": "Orari.",
    "menu": "Scelga.",
    "invalid": "Non valida.",
    "busy": "Occupati.",
    "voicemail": "Messaggio.",
    "thanks": "Grazie.",
}
AGENT_PREFIX = "bench-a"
AGENT_PASSWORD = "bench-not-used-2026"  # never registered: the contacts are static
ANSWERER = "bench-answerer"
ANSWER_CONTEXT = "bench-answer"
CALLER_APP = "bench-callers"
#: The load generator's own ARI user (see ``bench_ari_user``).
BENCH_ARI_USER = "benchload"


@dataclass(frozen=True)
class Ports:
    sip: int
    ari: int
    ami: int
    agi: int
    web: int
    #: The second SIP transport, where the agents' phones "are".
    answer: int

    @classmethod
    def from_base(cls, base: int) -> Ports:
        return cls(sip=base + 60, ari=base + 88, ami=base + 38, agi=base + 573,
                   web=base + 80, answer=base + 62)


def bench_settings(state_dir: Path, database_url: str, ports: Ports, *,
                   ari_over_http: bool = False) -> Settings:
    """Settings of the bench installation; no centralino.toml is read."""
    chroot = os.environ.get("CENTRALINO_CHROOT")
    base = Settings(chroot=Path(chroot)) if chroot else Settings()
    return base.with_overrides(
        instance="bench", state_dir=state_dir.resolve(),
        database_url=database_url or f"sqlite:///{(state_dir / 'centralino.db').resolve()}",
        sip_port=ports.sip, ari_port=ports.ari, ami_port=ports.ami, agi_port=ports.agi,
        web_port=ports.web, log_level="WARNING", ari_rest_over_websocket=not ari_over_http)


def serve_environment(settings: Settings) -> dict[str, str]:
    """The environment of ``centralino serve`` for the bench: only our CENTRALINO_* keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
    env.update({
        "CENTRALINO_INSTANCE": settings.instance,
        "CENTRALINO_STATE_DIR": str(settings.state_dir),
        "CENTRALINO_DATABASE_URL": settings.database_url,
        "CENTRALINO_CHROOT": str(settings.chroot),
        "CENTRALINO_SIP_PORT": str(settings.sip_port),
        "CENTRALINO_ARI_PORT": str(settings.ari_port),
        "CENTRALINO_AMI_PORT": str(settings.ami_port),
        "CENTRALINO_AGI_PORT": str(settings.agi_port),
        "CENTRALINO_WEB_PORT": str(settings.web_port),
        "CENTRALINO_LOG_LEVEL": "WARNING",
        "CENTRALINO_ARI_REST_OVER_WEBSOCKET": str(settings.ari_rest_over_websocket).lower(),
        # The product code of this tree (see product_path), not the editable install's.
        "PYTHONPATH": os.pathsep.join(
            [str(product_path.ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    })
    return env


# -- database ------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceUnderTest:
    slug: str
    did: str
    digit: str
    skill: str | None
    queue_slug: str
    welcome_seconds: float
    menu_seconds: float


async def prepare_service(sessions: async_sessionmaker, slug: str, digit: str, *,
                          menu_timeout: int, wrapup: int, rings: int,
                          wait_limit: int) -> tuple[str, str, str | None]:
    """Short prompts, the service forced open, quick queues; return (did, queue, skill)."""
    async with sessions() as session:
        service = await session.scalar(select(Service).where(Service.slug == slug))
        if service is None:
            raise CentralinoError(f"no service {slug!r} in the bench database")
        did = await session.scalar(select(ServiceDid.did).where(
            ServiceDid.service_id == service.id).order_by(ServiceDid.id))
        menu = await session.scalar(
            select(Menu).where(Menu.service_id == service.id, Menu.parent_id.is_(None))
            .options(selectinload(Menu.options)))
        option = next((o for o in (menu.options if menu else []) if o.digit == digit), None)
        if option is None or option.action != "queue" or option.queue_id is None:
            raise CentralinoError(f"service {slug} has no menu option {digit!r} leading to a "
                                  "queue: choose a service with a menu (trentino-digitale, "
                                  "apiae) and a digit that queues")
        queue_slug = await session.scalar(select(Queue.slug).where(Queue.id == option.queue_id))
        skill = option.skill
        for kind, text in SHORT_PROMPTS.items():
            await session.execute(update(Prompt).where(Prompt.kind == kind).values(text=text))
        await session.execute(update(Menu).where(Menu.service_id == service.id)
                              .values(timeout_seconds=menu_timeout))
        await session.execute(update(Queue).where(Queue.service_id == service.id).values(
            strategy="longest_idle", rings_per_agent=rings, wrapup_seconds=wrapup,
            wait_limit_seconds=wait_limit, announce_position=False))
        await session.commit()
    await set_mode(sessions, slug, "open")
    return str(did), str(queue_slug), skill


async def create_agents(sessions: async_sessionmaker, count: int, slug: str,
                        skill: str | None) -> list[str]:
    """``count`` agents of the service, logged out (old bench agents are removed first)."""
    async with sessions() as session:
        await session.execute(delete(Agent).where(Agent.username.like(f"{AGENT_PREFIX}%")))
        await session.commit()
    names = [f"{AGENT_PREFIX}{i:03d}" for i in range(1, count + 1)]
    for name in names:
        await add_agent(sessions, name, AGENT_PASSWORD, services=[slug],
                        skills=[skill] if skill else [], display_name=f"Bench {name}")
    return names


async def staff(sessions: async_sessionmaker, agents: list[str], logged_in: int) -> None:
    """Log the first ``logged_in`` agents in and the others out, as the CLI would."""
    async with sessions() as session:
        states = dict((await session.execute(select(Agent.username, Agent.state).where(
            Agent.username.in_(agents)))).all())
    for position, name in enumerate(agents):
        state = states.get(name, "logged_out")
        if position < logged_in and state == "logged_out":
            await set_state(sessions, name, "login")
        elif position >= logged_in and state != "logged_out":
            await set_state(sessions, name, "logout")


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


async def prompt_sound(sessions: async_sessionmaker, slug: str, kind: str) -> str:
    """The recorded sound name of one of the service's prompts ("" if none)."""
    async with sessions() as session:
        sound = await session.scalar(select(Prompt.sound).join(
            Service, Prompt.service_id == Service.id).where(Service.slug == slug,
                                                           Prompt.kind == kind))
    return sound or ""


async def prompt_seconds(sessions: async_sessionmaker, sandbox: Sandbox, slug: str,
                         kind: str) -> float:
    sound = await prompt_sound(sessions, slug, kind)
    if not sound:
        return 0.0
    return wav_seconds(sandbox.host_path(sounds_dir_in(sandbox)) / f"{sound}.wav")


# -- Asterisk configuration ----------------------------------------------------------
def _sections(text: str) -> list[tuple[str | None, list[str]]]:
    """A pjsip.conf-style file as (section name, lines) in order; lines keep their text."""
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and "]" in stripped:
            sections.append((stripped[1:stripped.index("]")], [line]))
        else:
            sections[-1][1].append(line)
    return sections


def agents_with_static_contacts(rendered: str, agents: list[str], answer_port: int) -> str:
    """The product's ``pjsip_agents.conf`` with each agent's AOR pointing back at Asterisk.

    Endpoints and auth stay exactly as rendered; only the AOR loses the
    registration settings and gets a static contact on the answerer transport.
    """
    wanted = set(agents)
    out: list[str] = []
    changed = 0
    for name, lines in _sections(rendered):
        is_aor = any(line.replace(" ", "") == "type=aor" for line in lines)
        if name in wanted and is_aor:
            keep = [line for line in lines if line.split("=", 1)[0].strip() not in (
                "max_contacts", "remove_existing", "qualify_frequency")]
            while keep and not keep[-1].strip():
                keep.pop()
            keep += [f"contact = sip:{name}@127.0.0.1:{answer_port}",
                     "qualify_frequency = 0", ""]
            out += keep
            changed += 1
        else:
            out += lines
    if changed != len(wanted):
        raise CentralinoError(f"pjsip_agents.conf has {changed} of {len(wanted)} bench agents' "
                              "AORs: did the template change? bench/bench_instance.py needs "
                              "updating")
    return "\n".join(out) + "\n" + answerer_pjsip(answer_port)


def answerer_pjsip(answer_port: int) -> str:
    return f"""
; -- benchmark only (bench/call_rate.py) --------------------------------------------
; The agents' phones: INVITEs to their static contacts arrive on this transport from
; Asterisk itself (127.0.0.1) and are handled by the answerer endpoint.
[bench-answer-transport]
type = transport
protocol = udp
bind = 127.0.0.1:{answer_port}

[{ANSWERER}]
type = endpoint
context = {ANSWER_CONTEXT}
disallow = all
allow = alaw,ulaw,gsm
dtmf_mode = rfc4733
direct_media = no
rtp_symmetric = yes
transport = bench-answer-transport

[{ANSWERER}]
type = identify
endpoint = {ANSWERER}
match = 127.0.0.1
"""


ANSWER_DIALPLAN = f"""
; -- benchmark only (bench/call_rate.py): the agents' phones answer at once and
; the benchmark's Stasis application learns that they did.
[{ANSWER_CONTEXT}]
exten => _[a-z0-9].,1,Answer()
 same => n,Stasis({CALLER_APP},agent)
 same => n,Hangup()
"""


def bench_ari_user(password: str) -> str:
    """An ARI user for the load generator only, with a plain password.

    The product's user has a SHA-512 crypt hash, which Asterisk checks on every
    request (about 4 ms of CPU here): the load generator's own requests would
    otherwise add that to Asterisk's cost per call. Loopback only, random per run.
    """
    return f"""
; -- benchmark only (bench/call_rate.py): the load generator's user, random per run.
[{BENCH_ARI_USER}]
type = user
read_only = no
password_format = plain
password = {password}
"""


def new_bench_password() -> str:
    return secrets.token_hex(16)


async def bench_configuration(settings: Settings, sessions: async_sessionmaker,
                              sandbox: Sandbox, agents: list[str], answer_port: int,
                              ari_password: str) -> dict[str, str]:
    """The product's configuration for the bench instance, plus the answering agents."""
    await record_prompts(sessions, sandbox.host_path(sounds_dir_in(sandbox)))
    files = await configure_asterisk(settings, sessions, sandbox.layout)
    for name in ("pjsip_agents.conf", "extensions_agents.conf"):
        if name not in files:
            raise CentralinoError(f"the rendered configuration has no {name}: the bench "
                                  "needs its include point")
    files["pjsip_agents.conf"] = agents_with_static_contacts(
        files["pjsip_agents.conf"], agents, answer_port)
    files["extensions_agents.conf"] += ANSWER_DIALPLAN
    files["ari.conf"] += bench_ari_user(ari_password)
    return files


# -- processes -----------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process: system is mostly socket and file calls."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(") ", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def host_jiffies() -> dict[str, int]:
    """The whole machine's CPU time by kind (jiffies), from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        v = [int(x) for x in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is counted in user)
    return {"processes": v[0] + v[1] + v[2], "interrupts": v[5] + v[6], "steal": v[7],
            "idle": v[3] + v[4], "total": sum(v[:8])}


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            return [part.decode(errors="replace") for part in raw.read().split(b"\0") if part]
    except OSError:
        return []


class ControlPlaneProcess:
    """``centralino serve`` for the bench instance, as a child process we can measure."""

    def __init__(self, settings: Settings, sounds_dir: str, log_path: Path):
        self.settings = settings
        self.sounds_dir = sounds_dir
        self.log_path = log_path
        self.pid_file = settings.state_dir / "serve.pid"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.bind_address}:{self.settings.web_port}"

    def command(self) -> list[str]:
        script = Path(sys.executable).parent / "centralino"
        head = [str(script)] if script.exists() else [sys.executable, "-m", "centralino.cli"]
        return [*head, "serve", "--sounds-dir", self.sounds_dir]

    def kill_leftover(self) -> None:
        """A control plane of an interrupted bench run (same state dir) is stopped."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        cmdline = _cmdline(pid)
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = ""
        if "serve" in cmdline and cwd == str(self.settings.state_dir):
            _terminate(pid)
        self.pid_file.unlink(missing_ok=True)

    def start(self, timeout: float = 30.0) -> int:
        self.kill_leftover()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:  # this run only
            self.process = subprocess.Popen(
                self.command(), env=serve_environment(self.settings),
                cwd=self.settings.state_dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
        self.pid_file.write_text(f"{self.process.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CentralinoError(f"the control plane exited ({self.process.returncode}): "
                                      f"{self.log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                health = self.get_json("/health")
                if health.get("ari_connected"):
                    return self.process.pid
            time.sleep(0.2)
        raise CentralinoError(f"the control plane was not ready within {timeout:.0f} s: "
                              f"{self.log_tail()}")

    def get_json(self, path: str) -> dict:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:  # /health answers 503 with a body
            return json.loads(exc.read() or b"{}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " / ".join(text[-lines:]) or "log empty"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
            self.process = None
        self.pid_file.unlink(missing_ok=True)


def _terminate(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
