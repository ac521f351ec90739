"""Rendering Asterisk's configuration: loopback, secrets crypted, nothing injectable."""

import pytest
from passlib.hash import sha512_crypt

from centralino.config import load_settings
from centralino.credentials import Credentials, load_or_create
from centralino.errors import ConfigError
from centralino.render import InstanceLayout, ServicePlan, render_config

CREDS = Credentials("centralino", "s3cret-ari", "centralino", "s3cret-ami")
PLANS = [ServicePlan("apiae", ("0461497300",)), ServicePlan("agenzia-lavoro", ("800264760",))]


def _render(plans=PLANS, layout=None, **env):
    settings = load_settings(None, {f"CENTRALINO_{k.upper()}": v for k, v in env.items()},
                             default_file=None)
    return render_config(settings, CREDS, plans, layout)


def test_ari_password_is_stored_crypted_and_verifies():
    ari = _render()["ari.conf"]
    assert "s3cret-ari" not in ari
    hashed = next(line.split("=", 1)[1].strip() for line in ari.splitlines()
                  if line.startswith("password ="))
    assert hashed.startswith("$6$")
    assert sha512_crypt.verify("s3cret-ari", hashed)


def test_everything_binds_to_loopback_by_default():
    files = _render()
    assert "bindaddr = 127.0.0.1" in files["http.conf"]
    assert "bindaddr = 127.0.0.1" in files["manager.conf"]
    assert "bind = 127.0.0.1:5060" in files["pjsip.conf"]


def test_ami_user_has_no_system_config_or_originate_rights():
    manager = _render()["manager.conf"]
    rights = {line.split("=", 1)[0].strip(): line.split("=", 1)[1].strip()
              for line in manager.splitlines() if line.startswith(("read", "write"))}
    for value in rights.values():
        classes = {c.strip() for c in value.split(",")}
        assert not classes & {"system", "config", "command", "originate", "all"}


def test_each_did_is_served_in_all_carrier_forms():
    dialplan = _render()["extensions.conf"]
    for form in ("0461497300", "390461497300", "+390461497300", "00390461497300"):
        assert f"exten => {form},1,Set(__CENTRALINO_SERVICE=apiae)" in dialplan


def test_sandbox_layout_adds_asterisk_conf_real_server_does_not():
    assert "asterisk.conf" not in _render()
    conf = _render(layout=InstanceLayout("/var/lib/centralino/x"))["asterisk.conf"]
    assert "astetcdir => /var/lib/centralino/x/etc" in conf


@pytest.mark.parametrize(
    "plans",
    [
        [ServicePlan("apiae", ("0461&Dial(PJSIP/x)",))],
        [ServicePlan("apiae\nexten => _X.,1,System(id)", ("0461497300",))],
        [ServicePlan("apiae", ("0461497300",)), ServicePlan("uru", ("0461497300",))],
    ],
)
def test_values_that_could_inject_dialplan_are_refused(plans):
    with pytest.raises(ConfigError):
        _render(plans=plans)


def test_carrier_address_outside_whitelist_is_refused():
    with pytest.raises(ConfigError):
        _render(carrier_addresses="127.0.0.2\nmatch=0.0.0.0/0")


def test_credentials_are_random_private_and_stable(tmp_path):
    path = tmp_path / "credentials.json"
    first = load_or_create(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_or_create(path) == first
    other = load_or_create(tmp_path / "other.json")
    assert other.ari_password != first.ari_password
    assert len(first.ami_secret) >= 24


def test_damaged_credentials_file_is_a_clear_error(tmp_path):
    path = tmp_path / "credentials.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="delete it"):
        load_or_create(path)


def test_carrier_gets_an_outbound_contact_only_when_call_backs_are_configured():
    without = _render()["pjsip.conf"]
    assert "type = aor" not in without and "aors" not in without
    with_contact = _render(carrier_outbound_uri="sip:203.0.113.5:5060")["pjsip.conf"]
    assert "aors = carrier" in with_contact
    assert "contact = sip:203.0.113.5:5060" in with_contact
