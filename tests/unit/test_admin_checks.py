"""What the admin pages accept for menu choices, queues and agents: tables and a seeded fuzz."""

from __future__ import annotations

import contextlib
import random

import pytest

from ari_app.directory import MAX_MENU_DEPTH
from ari_app.sanitize import clean_caller_name, is_slug
from centralino.render import is_agent_username
from centralino.web.agent_changes import check_agent, check_password, check_username
from centralino.web.menu_changes import DIGITS, OFFERED_ACTIONS, check_option, check_queue
from centralino.web.validation import Refused
from models.service import ROUTING_STRATEGIES

QUEUES = {"apiae", "apiae-appuntamenti"}
OFFICES = {"0461496001", "0461496002"}
RECORDED = {"hours", "goodbye"}
HOSTILE = [*"abz09-_.,;:\"'`$\\{}[]()<>&|/ \t\n\r\x00\x1b*#àé📞",
           "${SHELL(id)}", "\n[globals]\n", "exten => _X.,1,System(id)", "../", "&PJSIP/x"]


def _option(**change: str) -> dict[str, str]:
    return {"digit": "1", "label": "Orari", "action": "queue", "queue": "apiae",
            "skill": "", "prompt_kind": "", **change}


@pytest.mark.parametrize(("form", "expected"), [
    (_option(), ("1", "queue", "apiae", None, None)),
    (_option(digit="#", skill="patenti"), ("#", "queue", "apiae", "patenti", None)),
    (_option(action="message", prompt_kind="hours"), ("1", "message", None, None, "hours")),
    (_option(action="voicemail", skill="ignored"), ("1", "voicemail", None, None, None)),
])
def test_adm2_given_valid_choice_then_kept_as_the_flow_reads_it(form, expected):
    checked = check_option(form, QUEUES, RECORDED)
    assert (checked.digit, checked.action, checked.queue_slug, checked.skill,
            checked.prompt_kind) == expected


@pytest.mark.parametrize("form", [
    _option(digit="A"), _option(digit="10"), _option(action="transfer"),
    _option(action="transfer", transfer="0461999999", rings="4"),  # no such office
    _option(action="transfer", transfer="0461496001", rings="0"),
    _option(action="transfer", transfer="0461496001", rings="11"),
    _option(action="transfer", transfer="0461496001", rings=""),
    _option(action="dial"), _option(queue="uru"), _option(skill="Patenti"),
    _option(action="message", prompt_kind="thanks"),  # not recorded
    _option(action="message", prompt_kind="../etc"), _option(label=" "),
])
def test_adm2_given_choice_the_flow_cannot_carry_out_then_refused(form):
    with pytest.raises(Refused):
        check_option(form, QUEUES, RECORDED, OFFICES)


@pytest.mark.parametrize(("form", "depth", "expected"), [
    (_option(action="transfer", transfer="0461496001", rings="3"), 1,
     ("transfer", "0461496001", 3)),
    (_option(action="transfer", transfer=" 0461496001 ", rings="10"), 3,
     ("transfer", "0461496001", 10)),
    (_option(action="submenu", transfer="0461496001", rings="x"), 1, ("submenu", None, None)),
    (_option(action="submenu"), MAX_MENU_DEPTH - 1, ("submenu", None, None)),
])
def test_given_transfer_or_submenu_choice_then_kept_with_office_and_rings(form, depth, expected):
    checked = check_option(form, QUEUES, RECORDED, OFFICES, depth)
    assert (checked.action, checked.transfer_number, checked.rings) == expected


def test_given_submenu_in_the_deepest_menu_then_refused_saying_the_limit():
    with pytest.raises(Refused, match="Troppi livelli"):
        check_option(_option(action="submenu"), QUEUES, RECORDED, OFFICES, MAX_MENU_DEPTH)


def _noise(rng: random.Random, limit: int = 12) -> str:
    return "".join(rng.choice(HOSTILE) for _ in range(rng.randint(0, limit)))


def test_adm2_given_random_hostile_forms_then_refused_or_safe_for_asterisk_and_database():
    rng = random.Random(20261128)
    accepted = 0
    for _ in range(5000):
        form = {name: rng.choice([_noise(rng), rng.choice(sorted(pool))])
                for name, pool in (("digit", set(DIGITS)), ("label", {"Orari"}),
                                   ("action", set(OFFERED_ACTIONS) | {"dial"}),
                                   ("queue", QUEUES), ("skill", {"cps", ""}),
                                   ("prompt_kind", RECORDED), ("transfer", OFFICES),
                                   ("rings", {"1", "4", "10"}))}
        try:
            depth = rng.randint(1, 5)
            checked = check_option(form, QUEUES, RECORDED, OFFICES, depth)
        except Refused:
            continue
        accepted += 1
        assert checked.digit in DIGITS and len(checked.digit) == 1
        assert checked.action in OFFERED_ACTIONS
        assert checked.label.isprintable() and 0 < len(checked.label) <= 100
        assert checked.skill is None or is_slug(checked.skill)
        assert checked.queue_slug is None or checked.queue_slug in QUEUES
        assert checked.prompt_kind is None or checked.prompt_kind in RECORDED
        assert checked.action != "submenu" or depth < MAX_MENU_DEPTH
        assert (checked.transfer_number in OFFICES and 1 <= checked.rings <= 10
                if checked.action == "transfer" else checked.transfer_number is None)
    assert accepted > 100  # the fuzz reaches the accepting paths too


def test_adm2_given_queue_settings_then_numbers_bounded_and_strategy_known():
    good = {"strategy": "ring_all", "rings_per_agent": "4", "wait_limit_seconds": "300",
            "wrapup_seconds": "0", "announce_every_seconds": "30"}
    assert check_queue(good)["announce_position"] is False
    assert check_queue({**good, "announce_position": "on"})["announce_position"] is True
    rng = random.Random(7)
    for _ in range(2000):
        form = {**good, rng.choice(sorted(good)): rng.choice(
            [_noise(rng, 5), str(rng.randint(-10, 5000)), "1e3", "0x10", "٣"])}
        if "٣" in form.values():
            with pytest.raises(Refused):
                check_queue(form)
            continue
        try:
            settings = check_queue(form)
        except Refused:
            continue
        assert settings["strategy"] in ROUTING_STRATEGIES
        assert 1 <= settings["rings_per_agent"] <= 20
        assert 10 <= settings["wait_limit_seconds"] <= 3600
        assert 0 <= settings["wrapup_seconds"] <= 600
        assert 10 <= settings["announce_every_seconds"] <= 600


def test_adm2_given_random_agent_fields_then_what_passes_is_safe_in_pjsip_config():
    rng = random.Random(99)
    for _ in range(3000):
        username = rng.choice([_noise(rng), "anna.rossi", "admin", "x" * 33])
        with contextlib.suppress(Refused):
            assert is_agent_username(check_username(username))
        name = rng.choice([_noise(rng), "Anna Rossi", "D'Angelo"])
        try:
            checked = check_agent(name, "junior", ["apiae"], _noise(rng), {"apiae"})
        except Refused:
            continue
        assert clean_caller_name(checked.display_name) == checked.display_name
        assert '"' not in checked.display_name and "\n" not in checked.display_name
        assert all(is_slug(skill) for skill in checked.skills)
    with pytest.raises(Refused):
        check_password("abcdefgh", "abcdefgi")
    assert check_password("abcdefgh", "abcdefgh") == "abcdefgh"
