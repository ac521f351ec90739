"""Settings of the nightly SLA export: the schedule is checked, the SMTP password is env only."""

from pathlib import Path

import pytest

from centralino.config import load_settings
from centralino.errors import ConfigError


def test_given_defaults_then_export_at_2am_into_the_state_dir() -> None:
    settings = load_settings(None, {"CENTRALINO_STATE_DIR": "/srv/c"}, default_file=None)
    assert settings.sla_export_cron == "0 2 * * *"
    assert settings.sla_export_path == Path("/srv/c/sla-exports")


def test_given_recipients_in_the_environment_then_a_list() -> None:
    settings = load_settings(None, {"CENTRALINO_SLA_EXPORT_RECIPIENTS": "a@x.it, b@x.it",
                                    "CENTRALINO_SMTP_STARTTLS": "no"}, default_file=None)
    assert settings.sla_export_recipients == ("a@x.it", "b@x.it")
    assert settings.smtp_starttls is False


def test_given_a_broken_cron_then_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="sla_export_cron"):
        load_settings(None, {"CENTRALINO_SLA_EXPORT_CRON": "every night"}, default_file=None)


def test_given_a_password_in_the_file_then_refused(tmp_path: Path) -> None:
    config = tmp_path / "centralino.toml"
    config.write_text('smtp_password = "segreta"\n')
    with pytest.raises(ConfigError, match="unknown setting 'smtp_password'"):
        load_settings(config, {})
