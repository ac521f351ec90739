"""Agents' SIP accounts in Asterisk's configuration: a digest only, nothing injectable."""

import hashlib

import pytest

from centralino.agents import sip_ha1
from centralino.config import load_settings
from centralino.credentials import Credentials
from centralino.errors import ConfigError
from centralino.render import AgentAccount, ServicePlan, render_config

CREDS = Credentials("centralino", "s3cret-ari", "centralino", "s3cret-ami")
PLANS = [ServicePlan("apiae", ("0461497300",))]
PASSWORD = "correct-horse-9"


def _render(agents, **env):
    settings = load_settings(None, {f"CENTRALINO_{k.upper()}": v for k, v in env.items()},
                             default_file=None)
    return render_config(settings, CREDS, PLANS, None, agents)


def _sections(conf: str) -> dict[tuple[str, str], dict[str, str]]:
    """(name, type) → options, as Asterisk's config parser would group them."""
    sections: dict[tuple[str, str], dict[str, str]] = {}
    name, options = "", {}
    for raw in [*conf.splitlines(), "[end]"]:
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            if name:
                sections[(name, options.get("type", ""))] = options
            name, options = line.strip("[]"), {}
        elif "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            options[key] = value
    return sections


def test_given_agent_then_endpoint_auth_and_aor_hold_the_ha1_digest_only():
    ha1 = sip_ha1("anna.rossi", PASSWORD)
    conf = _render([AgentAccount("anna.rossi", "Anna Rossi", ha1)])["pjsip_agents.conf"]
    assert PASSWORD not in conf
    sections = _sections(conf)
    endpoint = sections[("anna.rossi", "endpoint")]
    assert endpoint["context"] == "agents"
    assert endpoint["dtmf_mode"] == "rfc4733"
    assert endpoint["disallow"] == "all" and endpoint["allow"] == "alaw,ulaw,gsm"
    for option in ("rtp_symmetric", "force_rport", "rewrite_contact"):
        assert endpoint[option] == "yes"
    assert endpoint["direct_media"] == "no"
    assert endpoint["callerid"] == '"Anna Rossi" <anna.rossi>'
    auth = sections[(endpoint["auth"], "auth")]
    assert auth["auth_type"] == "digest"
    assert auth["username"] == "anna.rossi"
    assert auth["realm"] == "centralino"
    assert auth["password_digest"] == f"md5:{ha1}"
    assert "password" not in auth
    aor = sections[(endpoint["aors"], "aor")]
    assert aor == {"type": "aor", "max_contacts": "1", "remove_existing": "yes",
                   "qualify_frequency": "30"}


def test_ha1_is_md5_of_user_realm_password():
    expected = hashlib.md5(b"anna.rossi:centralino:" + PASSWORD.encode()).hexdigest()
    assert sip_ha1("anna.rossi", PASSWORD) == expected


def test_realm_of_the_digest_is_pjsip_default_realm():
    files = _render([])
    assert "default_realm = centralino" in files["pjsip.conf"]
    assert "#tryinclude pjsip_agents.conf" in files["pjsip.conf"]


def test_given_no_agents_then_agent_files_exist_without_accounts():
    files = _render([])
    assert "type = endpoint" not in files["pjsip_agents.conf"]
    assert "[agents]" in files["extensions_agents.conf"]


def test_feature_codes_call_the_agent_state_script_with_the_authenticated_endpoint():
    dialplan = _render([], agi_port="4999")["extensions_agents.conf"]
    for code, action in (("*45", "login"), ("*46", "logout"), ("*47", "pause"),
                         ("*48", "resume")):
        assert f"exten => {code},1,Gosub(agent-state,s,1({action}," in dialplan
    assert ("AGI(agi://127.0.0.1:4999/agent-state,${ARG1},${CHANNEL(endpoint)})"
            in dialplan)
    assert "exten => _X.,1,Hangup(1)" in dialplan
    assert "Dial(" not in dialplan


@pytest.mark.parametrize("name", [
    'Anna" <sip:evil>',
    "Anna\n[evil]\ntype = endpoint",
    "Anna; comment",
    "Anna ${SHELL(id)} $[1+1]",
    "Anna,Rossi<x>",
])
def test_given_display_name_with_syntax_then_it_is_neutralised(name):
    conf = _render([AgentAccount("anna", name, sip_ha1("anna", PASSWORD))])[
        "pjsip_agents.conf"]
    callerid = next(line for line in conf.splitlines() if line.startswith("callerid"))
    shown = callerid.split('"')[1]
    assert callerid == f'callerid = "{shown}" <anna>'
    assert all(ch.isalnum() or ch in " .'-" for ch in shown)
    assert "[evil]" not in conf and "sip:evil" not in conf and "${" not in conf
    assert len(_sections(conf)) == 3


def test_given_accented_display_name_then_kept():
    conf = _render([AgentAccount("nicco", "Niccolò D'Àrco", sip_ha1("nicco", PASSWORD))])[
        "pjsip_agents.conf"]
    assert 'callerid = "Niccolò D\'Àrco" <nicco>' in conf


def test_given_empty_display_name_then_username_is_shown():
    conf = _render([AgentAccount("anna", "", sip_ha1("anna", PASSWORD))])["pjsip_agents.conf"]
    assert 'callerid = "anna" <anna>' in conf


@pytest.mark.parametrize("username", [
    "bob;exten", "bob\n[carrier]", "Bob", "bob,1", "bob$", "-bob", "b" * 33, "", "carrier",
    "anonymous", "transport-udp", "bob ob", "bob[1]",
])
def test_given_username_that_is_not_a_plain_sip_name_then_refused(username):
    with pytest.raises(ConfigError):
        _render([AgentAccount(username, "Bob", sip_ha1("bob", PASSWORD))])


@pytest.mark.parametrize("ha1", [
    PASSWORD, "", "0" * 31, "G" * 32, "ABCDEF0123456789ABCDEF0123456789",
    "0123456789abcdef0123456789abcdef\n[x]",
])
def test_given_digest_that_is_not_md5_hex_then_refused(ha1):
    with pytest.raises(ConfigError, match="digest"):
        _render([AgentAccount("bob", "Bob", ha1)])


def test_given_same_agent_twice_then_refused():
    account = AgentAccount("bob", "Bob", sip_ha1("bob", PASSWORD))
    with pytest.raises(ConfigError, match="twice"):
        _render([account, account])


def test_existing_callers_without_agents_keep_working():
    settings = load_settings(None, {}, default_file=None)
    files = render_config(settings, CREDS, PLANS, None)
    assert "type = endpoint" not in files["pjsip_agents.conf"]
