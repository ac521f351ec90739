"""Time as the control plane sees it: injectable, so tests can call "on a Tuesday at 10:00"."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ShiftedClock:
    """Real time, moved to start at ``start``: durations stay true, the calendar is chosen."""

    def __init__(self, start: datetime):
        self.travel_to(start)

    def travel_to(self, start: datetime) -> None:
        """From now on, the clock reads ``start`` plus the real time elapsed."""
        if start.tzinfo is None:
            raise ValueError("ShiftedClock needs an aware start time")
        self._start = start.astimezone(UTC)
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)
