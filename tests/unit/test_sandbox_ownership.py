"""Reconfiguring an instance hands its tree to the asterisk user while Asterisk writes in it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from centralino.config import Settings
from centralino.sandbox import Sandbox

ASTERISK_UID, ASTERISK_GID = 4321, 4322

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")


def sandbox_in(tmp_path: Path) -> tuple[Sandbox, Path]:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        f"asterisk:x:{ASTERISK_UID}:{ASTERISK_GID}:Asterisk:/var/lib/asterisk:/usr/sbin/nologin\n")
    sandbox = Sandbox(Settings(chroot=tmp_path, instance="ownership"))
    top = sandbox.host_path(sandbox.layout.root)
    (top / "lib/sounds/custom").mkdir(parents=True)
    (top / "lib/sounds/custom/benvenuto.wav").write_bytes(b"RIFF")
    (top / "etc").mkdir()
    (top / "etc/pjsip.conf").write_text("[global]\n")
    return sandbox, top


def owners(top: Path) -> set[tuple[int, int]]:
    found = {(top.lstat().st_uid, top.lstat().st_gid)}
    for directory, dirs, names in os.walk(top):
        for name in dirs + names:
            info = os.lstat(os.path.join(directory, name))
            found.add((info.st_uid, info.st_gid))
    return found


def test_every_file_of_the_instance_ends_up_owned_by_asterisk(tmp_path: Path) -> None:
    sandbox, top = sandbox_in(tmp_path)
    sandbox._hand_to_asterisk(top)
    assert owners(top) == {(ASTERISK_UID, ASTERISK_GID)}


def test_a_file_asterisk_removes_during_the_walk_is_skipped_not_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """astdb's journal comes and goes while the configuration is rewritten (CI saw it vanish)."""
    sandbox, top = sandbox_in(tmp_path)
    journal = top / "lib/astdb.sqlite3-journal"
    journal.write_bytes(b"")
    real_lstat = os.lstat

    def vanishing_lstat(path: str | os.PathLike[str], *args: object, **kwargs: object):
        if Path(path) == journal and journal.exists():
            journal.unlink()
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", vanishing_lstat)
    sandbox._hand_to_asterisk(top)
    monkeypatch.undo()
    assert not journal.exists()
    assert owners(top) == {(ASTERISK_UID, ASTERISK_GID)}
