"""How an answered call ended for the citizen, as the agent records it (the tender's Q).

``resolved``: the agent settled it; ``escalated``: it needs someone else. A call
transferred to a referent is escalated by the control plane itself and stays so:
"resolved" is refused for it. The record is written directly, during or after
the call, and writing the same resolution again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from models import Call

RESOLUTIONS = ("resolved", "escalated")
MAX_NOTES = 2000


class ResolutionError(Exception):
    """Bad input: nothing was written."""


class UnknownCall(LookupError):
    """No call has this id."""


class ResolutionRefused(Exception):
    """The call's record does not allow this resolution (e.g. "resolved" once transferred)."""


@dataclass(frozen=True)
class Resolution:
    call_id: str
    resolution: str
    notes: str


def check_resolution(resolution: object, notes: object) -> tuple[str, str | None]:
    """The resolution and notes as given, or ResolutionError saying what is wrong."""
    if resolution not in RESOLUTIONS:
        raise ResolutionError(f"resolution must be {' or '.join(RESOLUTIONS)}, not "
                              f"{str(resolution)[:20]!r}")
    if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
        raise ResolutionError(f"notes must be text of at most {MAX_NOTES} characters")
    return str(resolution), notes


async def record_resolution(sessions: async_sessionmaker, call_id: str, resolution: str,
                            notes: str | None = None) -> Resolution:
    """Set the call's resolution (and notes, if given); raise UnknownCall, ResolutionRefused."""
    async with sessions() as session:
        call = await session.get(Call, call_id[:64], with_for_update=True)
        if call is None:
            raise UnknownCall(call_id)
        if call.answered_at is None:
            raise ResolutionRefused(f"call {call_id} was not answered by an agent: there is "
                                    "nothing to resolve")
        if resolution == "resolved" and call.transferred_at is not None:
            raise ResolutionRefused(f"call {call_id} was transferred to a referent: it stays "
                                    "escalated")
        values: dict[str, str] = {"resolution": resolution}
        if notes is not None:
            values["notes"] = notes
        await session.execute(update(Call).where(Call.id == call.id).values(**values))
        await session.commit()
        stored = await session.scalar(select(Call.notes).where(Call.id == call.id))
        return Resolution(call.id, resolution, stored or "")
