"""An IVR menu as a pure decision: digits and timeouts in, what to do next out.

The tender's rule: no choice within the timeout, or an invalid one
``max_invalid`` times, sends the caller to the service's default queue (the
information line, first free operator); a first invalid digit replays the menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from ari_app.directory import MenuInfo, OptionInfo
from ari_app.sanitize import clean_dtmf


@dataclass(frozen=True)
class MenuDecision:
    kind: str  # "choose", "retry", "default"
    option: OptionInfo | None = None
    #: The digit to add to the call's IVR path (valid choices only).
    digit: str | None = None


class MenuSession:
    def __init__(self, menu: MenuInfo):
        self.menu = menu
        self.invalid = 0

    def on_digit(self, raw: str | None) -> MenuDecision:
        digit = clean_dtmf(raw)
        option = self.menu.options.get(digit) if digit else None
        if option is not None:
            return MenuDecision("choose", option, digit)
        self.invalid += 1
        if self.invalid >= self.menu.max_invalid:
            return MenuDecision("default")
        return MenuDecision("retry")

    def on_timeout(self) -> MenuDecision:
        return MenuDecision("default")
