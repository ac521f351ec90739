"""Pure routing decisions for queues: which agent to ring, and what a waiting caller hears.

Nothing here does I/O; the queue flow asks, these modules answer, and unit tests
check the answers against plain tables of cases.
"""

from ari_app.routing.strategies import (
    AGENT_STATES,
    STRATEGIES,
    AgentView,
    RoutingRequest,
    choose_agents,
    ring_timeout_seconds,
)
from ari_app.routing.waiting import (
    ABANDONED,
    ABANDONED_SHORT,
    PositionAnnouncer,
    WaitEstimator,
    classify_abandon,
    round_minutes_for_speech,
)

__all__ = [
    "ABANDONED",
    "ABANDONED_SHORT",
    "AGENT_STATES",
    "STRATEGIES",
    "AgentView",
    "PositionAnnouncer",
    "RoutingRequest",
    "WaitEstimator",
    "choose_agents",
    "classify_abandon",
    "ring_timeout_seconds",
    "round_minutes_for_speech",
]
