"""Configuration: layered, validated, and every mistake explained in one line."""

from pathlib import Path

import pytest

from centralino.config import load_settings
from centralino.errors import ConfigError


def test_defaults_bind_everything_to_loopback():
    s = load_settings(None, {}, default_file=None)
    assert s.bind_address == "127.0.0.1"
    assert (s.sip_port, s.ari_port, s.ami_port) == (5060, 8088, 5038)
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///")


def test_file_then_environment_override(tmp_path: Path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('sip_port = 5070\ncarrier_addresses = ["127.0.0.9"]\n')
    s = load_settings(cfg, {"CENTRALINO_SIP_PORT": "5080"})
    assert s.sip_port == 5080
    assert s.carrier_addresses == ("127.0.0.9",)


def test_plain_postgres_url_gets_the_async_driver():
    s = load_settings(None, {"CENTRALINO_DATABASE_URL": "postgresql://u@db/centralino"},
                      default_file=None)
    assert s.effective_database_url == "postgresql+asyncpg://u@db/centralino"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sip_port = 'abc'", "not a valid int"),
        ("sip_port = 70000", "between 1 and 65535"),
        ("bind_address = 'localhost; rm'", "not an IP address"),
        ("nonsense = 1", "unknown setting 'nonsense'"),
        ("sip_port = ", "not valid TOML"),
        ("timezone = 'Mars/Olympus'", "no known time zone"),
        ("instance = '../etc'", "letters, digits"),
        ("carrier_outbound_uri = 'sip:0461@trunk'", "plain SIP URI"),
        ("carrier_outbound_uri = 'sip:trunk;transport=tcp'", "plain SIP URI"),
        ("carrier_outbound_uri = '203.0.113.5'", "plain SIP URI"),
    ],
)
def test_broken_config_gives_one_clear_error(tmp_path: Path, content: str, message: str):
    cfg = tmp_path / "c.toml"
    cfg.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(cfg, {})
    assert "\n" not in str(info.value)


def test_named_file_must_exist(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(None, {"CENTRALINO_CONFIG": str(tmp_path / "missing.toml")})
