"""A real Asterisk 22, provisioned from Debian's packages in a cached Debian sid chroot.

Debian 12 has no Asterisk package; sid has 22.x with Italian prompts. The chroot
is built once with debootstrap and reused; each *instance* (the service, the
test suite) keeps its configuration, spool, logs and control socket in its own
directory inside it, so instances never overwrite each other. The chroot
shares the host's network namespace: ARI, AMI and SIP bound to loopback inside
are reachable from the control plane outside.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from centralino.config import Settings
from centralino.errors import CentralinoError, PrerequisiteError
from centralino.render import InstanceLayout, write_config

log = logging.getLogger(__name__)

PACKAGES = (
    "asterisk",
    "asterisk-core-sounds-it-gsm",
    "asterisk-prompt-it-menardi-gsm",
    "asterisk-moh-opsound-gsm",
    "sox",
)
MARKER = ".centralino-provisioned"
INSTANCES_DIR = "/var/lib/centralino"
ASTERISK_BIN = "/usr/sbin/asterisk"
CHROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
# Italian is the channel language; Debian ships it as it_IT_f_Menardi.
ITALIAN_SOUNDS = "it_IT_f_Menardi"


@dataclass(frozen=True)
class SandboxStatus:
    provisioned: bool
    running: bool
    pid: int | None
    version: str | None


def _require_root() -> None:
    if os.geteuid() != 0:
        raise PrerequisiteError(
            "the Asterisk sandbox needs root (debootstrap, chroot, mount): run as root"
        )


def _run(args: list[str], *, timeout: float = 600, check: bool = True,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                            env=env, stdin=subprocess.DEVNULL, check=False)
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise CentralinoError(f"{' '.join(args[:3])} failed: {' / '.join(tail)}")
    return result


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return False


class Sandbox:
    """One Asterisk instance in the shared chroot: provision, configure, start, stop."""

    def __init__(self, settings: Settings, *, progress: Callable[[str], None] | None = None):
        self.settings = settings
        self.root = settings.chroot
        self.layout = InstanceLayout(f"{INSTANCES_DIR}/{settings.instance}")
        self._progress = progress or (lambda message: log.info("%s", message))
        self._process: subprocess.Popen[bytes] | None = None

    # -- paths ---------------------------------------------------------------
    def host_path(self, inner: str) -> Path:
        """A path inside the chroot, as the host sees it."""
        return self.root / inner.lstrip("/")

    @property
    def conf_path(self) -> str:
        return f"{self.layout.etc}/asterisk.conf"

    @property
    def pid_file(self) -> Path:
        return self.host_path(f"{self.layout.run}/asterisk.pid")

    @property
    def log_file(self) -> Path:
        return self.host_path(f"{self.layout.log}/console.log")

    # -- provisioning --------------------------------------------------------
    def is_provisioned(self) -> bool:
        marker = self.root / MARKER
        return marker.exists() and marker.read_text().split() == list(PACKAGES)

    @contextlib.contextmanager
    def _cache_lock(self) -> Iterator[None]:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with open(self.root.parent / f".{self.root.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def provision(self) -> None:
        """Build the chroot once (debootstrap + Debian's Asterisk); reuse it afterwards."""
        if self.is_provisioned():
            return
        _require_root()
        with self._cache_lock():
            if self.is_provisioned():
                return
            self._ensure_debootstrap()
            partial = self.root.with_name(self.root.name + ".partial")
            if partial.exists() and not (partial / "usr/bin/apt-get").exists():
                shutil.rmtree(partial)  # an interrupted debootstrap: start again
            free = shutil.disk_usage(self.root.parent).free
            if free < 2 * 1024**3:
                raise PrerequisiteError(
                    f"only {free // 1024**2} MiB free in {self.root.parent}; the Asterisk "
                    "chroot needs about 1 GiB: free some space or set CENTRALINO_CHROOT"
                )
            if not partial.exists():
                self._progress(f"creating a Debian sid chroot in {partial} (about a minute)")
                _run(["debootstrap", "--variant=minbase", "sid", str(partial)], timeout=1800)
            self._progress("installing Asterisk 22 and the Italian prompts from Debian sid")
            env = {**CHROOT_ENV, "DEBIAN_FRONTEND": "noninteractive"}
            # debootstrap has just fetched the package lists: install from them
            # first. If that fails, refresh the lists; the mirror's Release file
            # may look "expired" to a machine whose clock runs ahead of the
            # mirror snapshot it is served, so freshness (not signatures) is
            # not checked on that retry.
            install = ["chroot", str(partial), "apt-get", "install", "-y", "-q",
                       "--no-install-recommends", *PACKAGES]
            try:
                _run(install, env=env, timeout=1800)
            except CentralinoError:
                try:
                    _run(["chroot", str(partial), "apt-get", "-o",
                          "Acquire::Check-Valid-Until=false", "update", "-q"], env=env)
                    _run(install, env=env, timeout=1800)
                except CentralinoError as exc:
                    raise CentralinoError(
                        f"installing Asterisk from Debian sid failed ({exc}); sid changes "
                        "daily: retry later, or keep a chroot that worked"
                    ) from None
            self._finish_chroot(partial)
            (partial / MARKER).write_text("\n".join(PACKAGES) + "\n")
            if self.root.exists():
                shutil.rmtree(self.root)
            partial.rename(self.root)
            self._progress(f"Asterisk chroot ready in {self.root}")

    def _ensure_debootstrap(self) -> None:
        if shutil.which("debootstrap"):
            return
        self._progress("installing debootstrap from Debian's packages")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run(["apt-get", "update", "-q"], env=env)
        _run(["apt-get", "install", "-y", "-q", "debootstrap"], env=env)
        if not shutil.which("debootstrap"):
            raise PrerequisiteError("debootstrap is missing: apt-get install debootstrap")

    @staticmethod
    def _finish_chroot(root: Path) -> None:
        sounds = root / "usr/share/asterisk/sounds"
        italian = sounds / "it"
        if not italian.exists():
            italian.symlink_to(ITALIAN_SOUNDS)
        (root / INSTANCES_DIR.lstrip("/")).mkdir(parents=True, exist_ok=True)

    # -- configuration -------------------------------------------------------
    def install_config(self, files: dict[str, str]) -> None:
        """Write the rendered configuration into this instance's tree, owned by asterisk."""
        if not self.is_provisioned():
            raise PrerequisiteError("the Asterisk sandbox is not provisioned: run "
                                    "`centralino asterisk up`")
        for inner in (self.layout.etc, self.layout.varlib, self.layout.spool,
                      self.layout.run, self.layout.log, f"{self.layout.varlib}/keys",
                      f"{self.layout.varlib}/sounds/custom",
                      # Asterisk writes into these but does not create them:
                      f"{self.layout.spool}/recording", f"{self.layout.log}/cdr-csv",
                      f"{self.layout.log}/cel-custom"):
            self.host_path(inner).mkdir(parents=True, exist_ok=True)
        write_config(files, self.host_path(self.layout.etc))
        # The prompts Asterisk plays live under astdatadir; custom ones per instance.
        self._hand_to_asterisk(self.host_path(self.layout.root))
        for name in files:
            os.chmod(self.host_path(f"{self.layout.etc}/{name}"), 0o640)

    def _asterisk_ids(self) -> tuple[int, int]:
        """The asterisk user's uid and gid as the chroot's own passwd file names them."""
        for line in (self.root / "etc/passwd").read_text(encoding="utf-8").splitlines():
            fields = line.split(":")
            if len(fields) > 3 and fields[0] == "asterisk":
                return int(fields[2]), int(fields[3])
        raise PrerequisiteError("the sandbox has no asterisk user: run `centralino asterisk up`")

    def _hand_to_asterisk(self, top: Path) -> None:
        """Give the instance tree to the asterisk user.

        Asterisk keeps writing in this tree while we reconfigure it (astdb's
        journal comes and goes many times a second), so a file that vanishes
        between listing and chown is skipped, not an error; entries already
        owned by asterisk are left alone.
        """
        uid, gid = self._asterisk_ids()

        def hand(entry: str) -> None:
            try:
                info = os.lstat(entry)
                if (info.st_uid, info.st_gid) != (uid, gid):
                    os.lchown(entry, uid, gid)
            except FileNotFoundError:
                pass

        hand(str(top))
        for directory, dirs, names in os.walk(top):
            for name in dirs + names:
                hand(os.path.join(directory, name))

    # -- process -------------------------------------------------------------
    def read_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _mount_proc(self) -> None:
        proc = self.root / "proc"
        proc.mkdir(exist_ok=True)
        if not os.path.ismount(proc):
            _run(["mount", "-t", "proc", "proc", str(proc)])

    def _umount_proc_if_unused(self) -> None:
        instances = self.root / INSTANCES_DIR.lstrip("/")
        for pid_file in instances.glob("*/run/asterisk.pid"):
            try:
                if _pid_alive(int(pid_file.read_text().strip())):
                    return
            except (OSError, ValueError):
                continue
        proc = self.root / "proc"
        if os.path.ismount(proc):
            _run(["umount", "-l", str(proc)], check=False)

    def start(self) -> int:
        """Start Asterisk as the asterisk user and wait until it is fully booted."""
        _require_root()
        if not self.host_path(self.conf_path).exists():
            raise PrerequisiteError("no configuration rendered for this instance: run "
                                    "`centralino asterisk up`")
        running = self.read_pid()
        if running:
            self.wait_fully_booted()
            return running
        self._mount_proc()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as console:
            self._process = subprocess.Popen(
                ["chroot", str(self.root), ASTERISK_BIN, "-f", "-U", "asterisk",
                 "-G", "asterisk", "-C", self.conf_path],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                env=CHROOT_ENV, start_new_session=True, close_fds=True,
            )
        try:
            self.wait_fully_booted()
        except BaseException:
            self.stop()
            raise
        return self._process.pid

    def _asterisk_rx(self, command: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
        return _run(["chroot", str(self.root), ASTERISK_BIN, "-C", self.conf_path, "-rx",
                     command], check=False, timeout=timeout, env=CHROOT_ENV)

    def wait_fully_booted(self) -> None:
        deadline = time.monotonic() + self.settings.boot_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise CentralinoError(
                    f"Asterisk exited during start-up ({self._process.returncode}): "
                    f"{self._log_tail()}"
                )
            result = self._asterisk_rx("core waitfullybooted", timeout=max(
                1.0, deadline - time.monotonic()))
            if result.returncode == 0 and "Unable to connect" not in result.stdout:
                return
            time.sleep(0.2)
        raise CentralinoError(
            f"Asterisk did not finish booting within {self.settings.boot_timeout:.0f} s: "
            f"{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no console log"
        errors = [line for line in lines if "ERROR" in line or "WARNING" in line]
        return " / ".join((errors or lines)[-3:]) or "console log empty"

    def stop(self, timeout: float = 15) -> None:
        """Stop this instance by its own pid: graceful first, then SIGTERM, then SIGKILL."""
        pid = self._process.pid if self._process and self._process.poll() is None else (
            self.read_pid())
        if pid is not None:
            self._asterisk_rx("core stop now", timeout=timeout)
            if not self._wait_exit(pid, timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                if not self._wait_exit(pid, 5):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    self._wait_exit(pid, 5)
        self._process = None
        with contextlib.suppress(OSError):
            self.pid_file.unlink()
        if self.root.exists():
            self._umount_proc_if_unused()

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        if self._process is not None and self._process.pid == pid:
            try:
                self._process.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return True
            time.sleep(0.1)
        return False

    def status(self) -> SandboxStatus:
        pid = self.read_pid()
        version = None
        if pid:
            result = self._asterisk_rx("core show version")
            version = result.stdout.strip() or None
        return SandboxStatus(self.is_provisioned(), pid is not None, pid, version)

    def cli(self, command: str) -> str:
        if not self.read_pid():
            raise CentralinoError("Asterisk is not running: run `centralino asterisk up`")
        result = self._asterisk_rx(command)
        return (result.stdout + result.stderr).rstrip()

    def reload(self) -> None:
        """Apply new configuration without a restart and without dropping calls."""
        for command in ("module reload res_pjsip.so", "dialplan reload",
                        "module reload app_voicemail.so"):
            self.cli(command)
