"""What a caller waiting in a queue is told, and how a wait that ends in a hang-up counts.

The tender counts a call as abandoned only after 10 seconds in the queue ("una
chiamata si considera abbandonata trascorsi 10 secondi dal momento di
registrazione"); shorter hang-ups are kept apart as ``abandoned_short``.
Announcements promise only what recent real waits support, and a position is
announced only when it improves.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime

ABANDONED = "abandoned"
ABANDONED_SHORT = "abandoned_short"
#: Below this many real waits an estimate would be a made-up number: announce nothing.
MIN_SAMPLES = 3


def classify_abandon(queue_entered_at: datetime, left_at: datetime,
                     threshold_seconds: float = 10.0) -> str:
    """How a hang-up in queue counts: ``abandoned`` only strictly after the threshold.

    A hang-up at exactly ``threshold_seconds`` is still ``abandoned_short``.
    """
    waited = (left_at - queue_entered_at).total_seconds()
    if waited < 0:
        raise ValueError(f"caller left ({left_at}) before entering the queue ({queue_entered_at})")
    return ABANDONED if waited > threshold_seconds else ABANDONED_SHORT


class WaitEstimator:
    """Expected wait in one queue, from the last ``window`` real waits (entry to answer).

    The estimate is ``average recent wait × position / max(1, agents)``: the
    caller at ``position`` needs that many answers before their own, and the
    agents of the queue (available or busy) answer in parallel. Deliberately
    simple; it is only said to the caller as "circa N minuti".
    """

    def __init__(self, window: int = 20) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        self._waits: deque[float] = deque(maxlen=window)

    def record_wait(self, seconds: float) -> None:
        """Add a real wait; the oldest drops out once the window is full."""
        if seconds < 0:
            raise ValueError(f"a wait cannot be negative, got {seconds}")
        self._waits.append(float(seconds))

    def estimate(self, position: int, agents_available_or_busy: int) -> float | None:
        """Seconds the caller at ``position`` (1 = next) may expect, or None if unknown."""
        if position < 1:
            raise ValueError(f"position must be at least 1, got {position}")
        if agents_available_or_busy < 0:
            raise ValueError(f"agents cannot be negative, got {agents_available_or_busy}")
        if len(self._waits) < MIN_SAMPLES:
            return None
        average = sum(self._waits) / len(self._waits)
        return average * position / max(1, agents_available_or_busy)


class PositionAnnouncer:
    """One caller's position announcements: said first, then only when it goes down.

    Hearing "you are number 3" after "number 2" (someone with priority joined)
    only upsets the caller, so a worse or equal position is not repeated.
    """

    def __init__(self) -> None:
        self.last_announced: int | None = None

    def next_announcement(self, current_position: int) -> int | None:
        """The position to announce now, or None to stay silent."""
        if current_position < 1:
            raise ValueError(f"position must be at least 1, got {current_position}")
        if self.last_announced is not None and current_position >= self.last_announced:
            return None
        self.last_announced = current_position
        return current_position


def round_minutes_for_speech(seconds: float) -> int:
    """Whole minutes to say ("circa 3 minuti"), rounded up, never less than 1."""
    if seconds < 0:
        raise ValueError(f"a wait cannot be negative, got {seconds}")
    return max(1, math.ceil(seconds / 60))
