"""How fast the control plane reacts: from an ARI event read off the WebSocket to the
first request it causes. Kept in a bounded window, read by ``/metrics`` and the benchmark.
"""

from __future__ import annotations

import contextvars
import time
from collections import deque

#: When the event being handled was received (perf_counter seconds), per call task.
event_received: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "event_received", default=None)


class ReactionTimes:
    def __init__(self, window: int = 20000):
        self._samples: deque[float] = deque(maxlen=window)
        self.count = 0

    def request_sent(self) -> None:
        """Called as a request leaves: the first one after an event is its reaction."""
        pending = event_received.get()
        if pending:
            self._samples.append(time.perf_counter() - pending.pop())
            self.count += 1

    def percentile(self, p: float) -> float | None:
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]

    def summary_ms(self) -> dict[str, float | int | None]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        return {"count": self.count, "p50": ms(self.percentile(50)),
                "p99": ms(self.percentile(99)), "max": ms(self.percentile(100))}

    def reset(self) -> None:
        self._samples.clear()
        self.count = 0
