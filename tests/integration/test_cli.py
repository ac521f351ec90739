"""The `centralino` command as an operator uses it: real processes, real Asterisk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "centralino.cli"]


def run_cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
    full_env.update(env)
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("centralino:")]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_missing_config_file_is_one_line(tmp_path: Path):
    result = run_cli("seed", env={"CENTRALINO_CONFIG": str(tmp_path / "nope.toml")})
    assert_one_line_error(result, "does not exist")


def test_broken_config_file_is_one_line(tmp_path: Path):
    config = tmp_path / "centralino.toml"
    config.write_text("ari_port = 'eighty'\n")
    result = run_cli("db", "upgrade", env={"CENTRALINO_CONFIG": str(config)})
    assert_one_line_error(result, "ari_port")


def test_database_that_went_away_is_one_line(tmp_path: Path):
    result = run_cli("db", "upgrade", env={
        "CENTRALINO_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/centralino",
        "CENTRALINO_STATE_DIR": str(tmp_path)})
    assert_one_line_error(result, "cannot upgrade the database schema")


def test_render_for_a_real_server_writes_config_without_sandbox_paths(tmp_path: Path):
    target = tmp_path / "etc-asterisk"
    result = run_cli("asterisk", "render", "--to", str(target),
                     env={"CENTRALINO_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    assert not (target / "asterisk.conf").exists()
    dialplan = (target / "extensions.conf").read_text()
    assert "exten => 800840840,1,Set(__CENTRALINO_SERVICE=protezione-civile)" in dialplan
    assert "bind = 127.0.0.1:5060" in (target / "pjsip.conf").read_text()


@pytest.mark.asterisk
def test_asterisk_up_status_cli_down_on_its_own_instance(tmp_path: Path, asterisk):
    env = {
        "CENTRALINO_INSTANCE": "clitest",
        "CENTRALINO_STATE_DIR": str(tmp_path / "state"),
        "CENTRALINO_SIP_PORT": "45060", "CENTRALINO_ARI_PORT": "48088",
        "CENTRALINO_AMI_PORT": "45038", "CENTRALINO_AGI_PORT": "44573",
        "CENTRALINO_CHROOT": str(asterisk.root),
    }
    try:
        up = run_cli("asterisk", "up", env=env)
        assert up.returncode == 0, up.stderr
        assert "Asterisk running" in up.stdout
        again = run_cli("asterisk", "up", env=env)  # idempotent: reuses chroot and process
        assert again.returncode == 0, again.stderr
        assert "creating a Debian sid chroot" not in again.stdout
        status = run_cli("asterisk", "status", env=env)
        assert status.returncode == 0
        assert "running: yes" in status.stdout and "Asterisk 22." in status.stdout
        endpoints = run_cli("asterisk", "cli", "pjsip", "show", "endpoints", env=env)
        assert "carrier" in endpoints.stdout
        ari = (asterisk.root / "var/lib/centralino/clitest/etc/ari.conf").read_text()
        assert "password_format = crypt" in ari
    finally:
        down = run_cli("asterisk", "down", env=env)
    assert down.returncode == 0, down.stderr
    status = run_cli("asterisk", "status", env=env)
    assert status.returncode == 3 and "running: no" in status.stdout
