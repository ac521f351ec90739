"""Shared fixtures: databases (SQLite and the machine's PostgreSQL), settings for tests.

PostgreSQL is not optional: the production database is tested on every run. Its
address is ``$CENTRALINO_TEST_POSTGRES`` (default: the development machine's
server on 127.0.0.1:5432, trust auth); each run creates and drops its own database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from centralino.config import Settings, load_settings

POSTGRES_ADMIN_URL = os.environ.get("CENTRALINO_TEST_POSTGRES",
                                    "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the test instance: its own ports, state and Asterisk instance name."""
    state = tmp_path_factory.mktemp("state")
    # Fixed ports sit below Linux's ephemeral range (32768-60999): a port the suite's own
    # client connections left in TIME_WAIT there could not be listened on.
    sip_port = int(os.environ.get("CENTRALINO_TEST_SIP_PORT", "25060"))
    # Call-backs go to the carrier's user agent (tests/support/sipua.py) on 127.0.0.2.
    carrier_port = os.environ.get("CENTRALINO_TEST_CARRIER_PORT", str(sip_port + 2))
    env = {
        "CENTRALINO_CARRIER_OUTBOUND_URI": f"sip:127.0.0.2:{carrier_port}",
        "CENTRALINO_INSTANCE": os.environ.get("CENTRALINO_TEST_INSTANCE", "test"),
        "CENTRALINO_STATE_DIR": str(state),
        "CENTRALINO_SIP_PORT": str(sip_port),
        "CENTRALINO_ARI_PORT": os.environ.get("CENTRALINO_TEST_ARI_PORT", "25088"),
        "CENTRALINO_AMI_PORT": os.environ.get("CENTRALINO_TEST_AMI_PORT", "25038"),
        "CENTRALINO_AGI_PORT": os.environ.get("CENTRALINO_TEST_AGI_PORT", "25573"),
        "CENTRALINO_WEB_PORT": os.environ.get("CENTRALINO_TEST_WEB_PORT", "25080"),
        # Test callers send silence: Asterisk would trim it from a message and end
        # the recording early, so silence detection is off for the suite.
        "CENTRALINO_VOICEMAIL_MAX_SILENCE_SECONDS": "0",
        # Short ring cadence: "1 ring" lasts 1 s, "2 rings" 3 s.
        "CENTRALINO_RING_OFF_MS": "1000",
        "CENTRALINO_DISPATCH_POLL_SECONDS": "0.5",
        # The nightly SLA export has its own tests; call-flow tests run without it.
        "CENTRALINO_SLA_EXPORT_CRON": "",
    }
    if os.environ.get("CENTRALINO_CHROOT"):
        env["CENTRALINO_CHROOT"] = os.environ["CENTRALINO_CHROOT"]
    return load_settings(None, env, default_file=None)


async def _create_pg_database() -> str:
    name = f"centralino_test_{uuid.uuid4().hex[:10]}"
    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is required for the tests and is not reachable at "
                    f"{POSTGRES_ADMIN_URL} ({exc}); set CENTRALINO_TEST_POSTGRES")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def _drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest,
                       tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """An empty database of each supported kind (plain URL, as an operator writes it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'centralino.db'}"
        return
    url = await _create_pg_database()
    try:
        yield url
    finally:
        await _drop_pg_database(url)


@pytest.fixture
def no_config_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("CENTRALINO_"):
            monkeypatch.delenv(key)
    yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres_only`` exist only for PostgreSQL: their SQLite variants are
    deselected (not skipped), since nothing there can go away."""
    dropped = [item for item in items if item.get_closest_marker("postgres_only")
               and getattr(item, "callspec", None) is not None
               and item.callspec.params.get("database_url") == "sqlite"]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
