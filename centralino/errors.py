"""Errors an operator can act on.

Anything raised as :class:`CentralinoError` reaches the console as one line
that says what went wrong and what to do, never as a traceback.
"""


class CentralinoError(Exception):
    """A failure with a message meant for the person running the command."""


class ConfigError(CentralinoError):
    """The configuration (file or environment) is malformed or inconsistent."""


class PrerequisiteError(CentralinoError):
    """Something the host must provide is missing (a command, root, disk)."""
