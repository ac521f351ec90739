"""FastAGI ``agent-state``: the feature codes an agent dials from the phone.

Arguments: the action (login, logout, pause, resume) and the channel's PJSIP
endpoint, which is the agent's user name (Asterisk authenticated it; the caller
cannot choose it). The outcome goes back in ``CENTRALINO_AGENT_RESULT``: ``ok``,
or one word the dialplan turns into a sound (``already``, ``refused``,
``unknown``, ``invalid``, ``failed``). A phone pause records the reason "break".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from panoramisk.fast_agi import Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker

from agi_scripts.server import Script
from ari_app.clock import Clock
from ari_app.sanitize import printable
from centralino.agents import AGENT_ACTIONS, PHONE_PAUSE_REASON, AgentError, set_state
from centralino.render import is_agent_username

log = logging.getLogger(__name__)


async def change_state(sessions: async_sessionmaker, clock: Clock, action: str,
                       endpoint: str, channel: str = "", queue_log: Path | None = None) -> str:
    """Apply the feature code; return the word for ``CENTRALINO_AGENT_RESULT``."""
    if action not in AGENT_ACTIONS or not is_agent_username(endpoint):
        log.warning("agent-state on channel %s: refused action %r for endpoint %r",
                    channel, printable(action, 16), printable(endpoint, 40))
        return "invalid"
    reason = PHONE_PAUSE_REASON if action == "pause" else None
    try:
        await set_state(sessions, endpoint, action, reason, now=clock(), queue_log=queue_log)
    except AgentError as exc:
        log.info("agent-state on channel %s: %s", channel, exc)
        return exc.word
    except SQLAlchemyError:
        log.exception("agent-state on channel %s: database error for agent %s",
                      channel, endpoint)
        return "failed"
    return "ok"


def agent_state(sessions: async_sessionmaker, clock: Clock,
                queue_log: Path | None = None,
                on_change: Callable[[], None] = lambda: None) -> Script:
    """``on_change`` is told of every applied change (the control plane looks again)."""
    async def handle(request: Request) -> None:
        headers = request.headers
        result = await change_state(
            sessions, clock, headers.get("agi_arg_1", ""), headers.get("agi_arg_2", ""),
            printable(headers.get("agi_uniqueid", ""), 40), queue_log)
        if result == "ok":
            on_change()
        await request.send_command(f'SET VARIABLE CENTRALINO_AGENT_RESULT "{result}"')

    return handle
