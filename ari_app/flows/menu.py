"""An IVR menu as a pure decision: digits and timeouts in, what to do next out.

The tender's rule: no choice within the timeout, or an invalid one
``max_invalid`` times, sends the caller to the menu's default queue (the
information line, first free operator); a first invalid digit replays the menu.

Menus nest: a "submenu" choice opens another menu with its own prompt, timeout
and invalid-choice limit, and there the default queue is the submenu's own (the
service's information queue unless an admin chose another). In a submenu "*",
unless it is one of the submenu's choices, goes back to the previous menu. The
path of digits from the main menu to where the caller is (``trail``) is what the
call's record shows, and what a restarted control plane walks to find the caller
again (:meth:`MenuSession.at_path`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ari_app.directory import MenuInfo, OptionInfo, QueueInfo
from ari_app.sanitize import clean_dtmf

BACK = "*"


@dataclass(frozen=True)
class MenuDecision:
    #: "choose" (carry out ``option``), "submenu" (its prompt is next), "back"
    #: (the previous menu's prompt is next), "retry" (invalid: replay), "default"
    #: (on to ``queue``).
    kind: str
    option: OptionInfo | None = None
    #: The digit to add to the call's IVR path (valid choices only).
    digit: str | None = None
    queue: QueueInfo | None = None


@dataclass
class _Level:
    menu: MenuInfo
    invalid: int = 0


@dataclass
class MenuSession:
    """Where one caller is in a service's menus, and how many wrong digits each got."""

    root: MenuInfo
    _levels: list[_Level] = field(default_factory=list)
    #: Digits that opened the submenus the caller is in, from the main menu down.
    trail: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self._levels:
            self._levels = [_Level(self.root)]

    @classmethod
    def at_path(cls, root: MenuInfo, path: list[str]) -> MenuSession:
        """The caller back in the submenu ``path`` leads to, as far as it still exists."""
        session = cls(root)
        for digit in path:
            option = session.menu.options.get(digit)
            if option is None or option.submenu is None or not option.submenu.options:
                break  # the menus changed meanwhile: the caller stays where the path ends
            session._open(digit, option.submenu)
        return session

    @property
    def menu(self) -> MenuInfo:
        """The menu the caller is in now."""
        return self._levels[-1].menu

    @property
    def in_submenu(self) -> bool:
        return len(self._levels) > 1

    @property
    def invalid(self) -> int:
        return self._levels[-1].invalid

    def _open(self, digit: str, submenu: MenuInfo) -> None:
        self._levels.append(_Level(submenu))
        self.trail.append(digit)

    def on_digit(self, raw: str | None) -> MenuDecision:
        digit = clean_dtmf(raw)
        option = self.menu.options.get(digit) if digit else None
        if option is not None and option.action == "submenu":
            submenu = option.submenu
            if submenu is None or not submenu.options:
                # Nothing to choose from there: as if the caller had waited in it.
                queue = submenu.default_queue if submenu else self.menu.default_queue
                return MenuDecision("default", option, digit, queue)
            self._open(option.digit, submenu)
            return MenuDecision("submenu", option, digit)
        if option is not None:
            return MenuDecision("choose", option, digit)
        if digit == BACK and self.in_submenu:
            self._levels.pop()
            self.trail.pop()
            self._levels[-1].invalid = 0
            return MenuDecision("back")
        level = self._levels[-1]
        level.invalid += 1
        if level.invalid >= self.menu.max_invalid:
            return MenuDecision("default", queue=self.menu.default_queue)
        return MenuDecision("retry")

    def on_timeout(self) -> MenuDecision:
        return MenuDecision("default", queue=self.menu.default_queue)
