"""Agent state changes and input checks, as plain tables (no database, no Asterisk)."""

import pytest

from agi_scripts.agent_state import change_state
from ari_app.clock import utc_now
from centralino.agents import (
    AgentError,
    AlreadyLoggedIn,
    StateRefused,
    check_new_agent,
    check_password,
    check_pause_reason,
    check_slugs,
    check_username,
    next_state,
)

ALLOWED = [
    ("logged_out", "login", "available"),
    ("available", "pause", "paused"),
    ("wrapup", "pause", "paused"),
    ("paused", "pause", "paused"),  # a new reason
    ("paused", "resume", "available"),
    ("available", "logout", "logged_out"),
    ("paused", "logout", "logged_out"),
    ("wrapup", "logout", "logged_out"),
    ("on_call", "logout", "logged_out"),
]

REFUSED = [
    ("available", "login", AlreadyLoggedIn),
    ("paused", "login", AlreadyLoggedIn),
    ("logged_out", "logout", StateRefused),
    ("logged_out", "pause", StateRefused),
    ("logged_out", "resume", StateRefused),
    ("available", "resume", StateRefused),
    ("ringing", "pause", StateRefused),
    ("on_call", "pause", StateRefused),
]


@pytest.mark.parametrize(("current", "action", "expected"), ALLOWED)
def test_given_state_when_action_then_next_state(current, action, expected):
    assert next_state("anna", current, action) == expected


@pytest.mark.parametrize(("current", "action", "error"), REFUSED)
def test_given_state_when_action_not_possible_then_refused_with_word(current, action, error):
    with pytest.raises(error) as caught:
        next_state("anna", current, action)
    assert "anna" in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.word in {"already", "refused"}


@pytest.mark.parametrize("username", ["bob;exten", "carrier", "Bob", "", "x" * 33, "-a"])
def test_bad_usernames_are_refused(username):
    with pytest.raises(AgentError):
        check_username(username)


@pytest.mark.parametrize("username", ["bob", "anna.rossi", "op_7", "a", "x" * 32, "0-day"])
def test_plain_usernames_are_accepted(username):
    assert check_username(username) == username


@pytest.mark.parametrize("password", ["short", "1234567", "bad\npassword", "x" * 129])
def test_bad_passwords_are_refused(password):
    with pytest.raises(AgentError):
        check_password(password)


def test_skills_are_slugs_and_deduplicated():
    assert check_slugs(["patenti", "revisioni", "patenti"], "skill") == ["patenti", "revisioni"]
    with pytest.raises(AgentError, match="skill"):
        check_slugs(["patenti", "rev;isioni"], "skill")


@pytest.mark.parametrize("reason", ["", "   ", None, "a\nb", "x" * 101])
def test_pause_needs_a_one_line_reason(reason):
    with pytest.raises(AgentError):
        check_pause_reason(reason)


def test_an_agent_answers_at_least_one_service():
    with pytest.raises(AgentError, match="at least one service"):
        check_new_agent("anna", "long-enough", "junior", [], [])
    assert check_new_agent("anna", "long-enough", "senior", ["apiae", "uru"], ["x"]) == (
        ["apiae", "uru"], ["x"])
    with pytest.raises(AgentError, match="profile"):
        check_new_agent("anna", "long-enough", "boss", ["apiae"], [])


@pytest.mark.parametrize(("action", "endpoint"), [
    ("reboot", "anna"), ("login", "anna;x"), ("login", ""), ("", "anna"), ("login", "carrier"),
    ("login", "anna\n200 result=1"),
])
async def test_given_feature_code_with_bad_arguments_then_invalid_and_no_database(action,
                                                                                endpoint):
    # No sessions at all: the arguments are refused before anything is looked up.
    assert await change_state(None, utc_now, action, endpoint, "1.1") == "invalid"
