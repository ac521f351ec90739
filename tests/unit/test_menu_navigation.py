"""Submenus and the menu's transfer choice as pure decisions: digits in, what happens out."""

from __future__ import annotations

import pytest

from ari_app.directory import MenuInfo, OptionInfo, QueueInfo, ReferentInfo
from ari_app.flows.menu import MenuSession

MAIN = QueueInfo(1, "svc", "Informazioni", "longest_idle", 4, 300, 10, False, 30)
PERMITS = QueueInfo(2, "svc-permessi", "Permessi", "longest_idle", 4, 300, 10, False, 30)
OFFICE = ReferentInfo("0461496001", "ufficio-adl", "Ufficio")

DEEP = MenuInfo("submenu3", 1, 2, MAIN, {"1": OptionInfo("1", "Rinnovi", "queue", queue=PERMITS,
                                                         skill="rinnovi")}, menu_id=3)
SUB = MenuInfo("submenu2", 1, 3, PERMITS, {
    "1": OptionInfo("1", "Permessi", "queue", queue=PERMITS, skill="permessi"),
    "2": OptionInfo("2", "Altro", "submenu", submenu=DEEP),
    "*": OptionInfo("*", "Ufficio", "transfer", referent=OFFICE),
}, menu_id=2)
EMPTY = MenuInfo("submenu4", 1, 2, PERMITS, {}, menu_id=4)
ROOT = MenuInfo("menu", 1, 2, MAIN, {
    "1": OptionInfo("1", "Orari", "message", prompt_kind="hours"),
    "2": OptionInfo("2", "Permessi", "submenu", submenu=SUB),
    "3": OptionInfo("3", "Ufficio", "transfer", referent=OFFICE, rings=3),
    "4": OptionInfo("4", "Vuoto", "submenu", submenu=EMPTY),
    "5": OptionInfo("5", "Perso", "submenu", submenu=None),
}, menu_id=1)


@pytest.mark.parametrize(
    ("digits", "kinds", "trail"),
    [
        ("2", ["submenu"], ["2"]),
        ("21", ["submenu", "choose"], ["2"]),              # the record's path: 2>1
        ("222", ["submenu", "submenu", "retry"], ["2", "2"]),  # deepest menu: 2 is invalid
        ("221", ["submenu", "submenu", "choose"], ["2", "2"]),
        ("3", ["choose"], []),                             # transfer: carried out by the flow
        ("*", ["retry"], []),                              # no "back" from the main menu
        ("**", ["retry", "default"], []),
        ("2*", ["submenu", "choose"], ["2"]),              # "*" is the submenu's own choice
        ("22*", ["submenu", "submenu", "back"], ["2"]),    # back from the deepest menu
        ("22*1", ["submenu", "submenu", "back", "choose"], ["2"]),
        ("299", ["submenu", "retry", "retry"], ["2"]),     # the submenu allows 3 wrong digits
        ("2999", ["submenu", "retry", "retry", "default"], ["2"]),
        ("4", ["default"], []),                            # nothing to choose in there
        ("5", ["default"], []),                            # submenu gone (or too deep)
    ],
)
def test_digits_through_the_menus(digits, kinds, trail):
    session = MenuSession(ROOT)
    assert [session.on_digit(d).kind for d in digits] == kinds
    assert session.trail == trail


@pytest.mark.parametrize(
    ("digits", "queue"),
    [
        ("", MAIN),        # main menu: the information queue
        ("2", PERMITS),    # submenu with its own default queue
        ("22", MAIN),      # the deepest menu names none of its own: the service's main one
    ],
)
def test_timeout_goes_to_the_default_queue_of_the_menu_the_caller_is_in(digits, queue):
    session = MenuSession(ROOT)
    for digit in digits:
        session.on_digit(digit)
    decision = session.on_timeout()
    assert decision.kind == "default" and decision.queue == queue


@pytest.mark.parametrize(
    ("digits", "queue"),
    [("99", MAIN), ("2999", PERMITS), ("4", PERMITS), ("5", MAIN)],
)
def test_invalid_choices_go_to_the_default_queue_of_the_menu_the_caller_is_in(digits, queue):
    session = MenuSession(ROOT)
    decisions = [session.on_digit(d) for d in digits]
    assert decisions[-1].kind == "default" and decisions[-1].queue == queue


def test_back_starts_the_previous_menus_count_of_wrong_digits_afresh():
    session = MenuSession(ROOT)
    assert session.on_digit("9").kind == "retry"   # one wrong in the main menu
    session.on_digit("2")
    session.on_digit("2")
    assert session.on_digit("*").kind == "back"     # in the submenu again, not the main menu
    assert session.menu is SUB and session.invalid == 0


def test_transfer_choice_carries_the_office_phone_and_its_rings():
    decision = MenuSession(ROOT).on_digit("3")
    assert decision.option.referent == OFFICE and decision.option.rings == 3


@pytest.mark.parametrize(
    ("path", "menu", "trail"),
    [
        ([], ROOT, []),
        (["2"], SUB, ["2"]),
        (["2", "2"], DEEP, ["2", "2"]),
        (["2", "9"], SUB, ["2"]),      # the menus changed meanwhile: as far as the path goes
        (["1"], ROOT, []),             # a choice, not a submenu
        (["4"], ROOT, []),             # an empty submenu is never entered
    ],
)
def test_restarted_control_plane_finds_the_caller_by_the_recorded_path(path, menu, trail):
    session = MenuSession.at_path(ROOT, path)
    assert session.menu is menu and session.trail == trail
