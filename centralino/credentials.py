"""Per-installation ARI and AMI credentials, generated at random on first use.

They are kept in the state directory (mode 0600), never in the repository; the
ARI password reaches Asterisk only as a SHA-512 crypt hash.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from passlib.hash import sha512_crypt

from centralino.errors import ConfigError


@dataclass(frozen=True)
class Credentials:
    ari_user: str
    ari_password: str
    ami_user: str
    ami_secret: str
    #: Bearer token of the control plane's HTTP API (CLI and scripts on this host).
    api_token: str = ""

    @property
    def ari_password_crypt(self) -> str:
        """SHA-512 crypt at the lowest round count glibc accepts.

        Asterisk checks the hash on every ARI request: at the default 5,000 rounds
        that cost Asterisk about 6 ms of CPU per request, more than the call work
        itself. Rounds slow down guessing a human's password; this one is 192
        random bits, which no number of guesses reaches, so 1,000 rounds lose nothing.
        """
        return sha512_crypt.using(rounds=1000).hash(self.ari_password)


def load_or_create(path: Path) -> Credentials:
    """Read the credentials file, creating it with fresh random secrets if absent."""
    if path.exists():
        try:
            creds = Credentials(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"{path} is damaged ({exc}); delete it to generate new Asterisk credentials"
            ) from None
        if creds.api_token:
            return creds
        # Written by an older version: add what is missing, keep the rest.
        creds = Credentials(**{**asdict(creds), "api_token": secrets.token_urlsafe(32)})
        _write(path, creds, replace=True)
        return creds
    creds = Credentials(
        ari_user="centralino",
        ari_password=secrets.token_urlsafe(24),
        ami_user="centralino",
        ami_secret=secrets.token_urlsafe(24),
        api_token=secrets.token_urlsafe(32),
    )
    _write(path, creds, replace=False)
    return creds


def _write(path: Path, creds: Credentials, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_suffix(".tmp") if replace else path
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(creds), handle)
    if replace:
        target.replace(path)
