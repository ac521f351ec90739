"""What Asterisk itself saw of each call, rebuilt from its Channel Event Log (CEL).

Our records' SLA timestamps are written by the control plane. To show they are
right, they are compared with an independent witness: the CEL file Asterisk
writes (``asterisk-conf/cel_custom.conf``: event type, time as
seconds.microseconds since the epoch, channel name, uniqueid, linkedid, peers,
caller number, dialled number, extra JSON). CEL rather than CDR: CDR CSV times
are whole seconds and its "answer" is the PBX answering the caller, not an
agent; CEL has every bridge entry and exit to the microsecond.

How each fact is recognised (read from Asterisk 22's CEL; see the recorded
sample in ``tests/unit/data/cel_sample.csv``):

- **caller**: a channel whose uniqueid is its own linkedid and that is not an
  ``Announcer/`` (music on hold played into a bridge). Agent legs are
  originated with the caller as originator, so they share the caller's linkedid.
- **queue entry**: the caller's ``BRIDGE_ENTER`` into a bridge named
  ``call-<call id>`` (``bridge_id`` in ``ari_app/flows/inbound.py``). The caller
  joins that bridge only when queued: welcome, menu and messages are played on
  the channel itself. (A call to an office's own line enters it when the office
  answers: such calls are not queue entries, and are not read here.)
- **answer**: the first ``BRIDGE_ENTER`` of any other non-announcer channel into
  the same bridge: the agent's leg, added when the agent picks up.
- **end**: the caller's ``HANGUP``; its ``hangupsource`` says which channel
  hung up (empty when the control plane hung up, e.g. after the IVR's goodbye).
- **hung up in the queue**: no agent joined, the caller was the hang-up source,
  and the hang-up is what took the caller out of the bridge: no other event of
  the caller between its ``BRIDGE_EXIT`` and its ``HANGUP``, within a second.
  A caller moved to voicemail leaves the bridge, hears a prompt
  (``STREAM_BEGIN``), and only then hangs up.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from centralino.sla.figures import CallFacts

#: Column order of ``asterisk-conf/cel_custom.conf``.
CEL_COLUMNS = ("type", "time", "channel", "uniqueid", "linkedid", "peer", "caller_number",
               "dnid", "extra")
QUEUE_BRIDGE_PREFIX = "call-"
#: A hang-up counts as what ended the queue stay if it follows the bridge exit this closely.
HANGUP_EXIT_GAP = timedelta(seconds=1)


@dataclass(frozen=True)
class CelEvent:
    """One line of the CEL file."""

    type: str
    time: datetime
    channel: str
    uniqueid: str
    linkedid: str
    peer: str = ""
    caller_number: str = ""
    dnid: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def bridge_id(self) -> str | None:
        value = self.extra.get("bridge_id")
        return value if isinstance(value, str) else None


def parse_cel(text: str) -> list[CelEvent]:
    """Events of a CEL CSV text, in file order (Asterisk writes them as they happen)."""
    events = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) != len(CEL_COLUMNS):
            continue  # a line being written while we read, or a foreign format
        values = dict(zip(CEL_COLUMNS, row, strict=True))
        extra: Any = {}
        if values["extra"].startswith("{"):
            extra = json.loads(values["extra"])
        events.append(CelEvent(
            type=values["type"],
            time=_epoch(values["time"]),
            channel=values["channel"], uniqueid=values["uniqueid"],
            linkedid=values["linkedid"], peer=values["peer"],
            caller_number=values["caller_number"], dnid=values["dnid"], extra=extra))
    return events


def _epoch(text: str) -> datetime:
    """``seconds.microseconds`` exactly (a float would be off by a microsecond or so)."""
    whole, _, fraction = text.partition(".")
    return (datetime.fromtimestamp(int(whole), UTC)
            + timedelta(microseconds=int(fraction.ljust(6, "0")[:6])))


def read_cel(path: Path) -> list[CelEvent]:
    """The CEL file of a sandbox instance (``<instance>/log/cel-custom/Master.csv``)."""
    return parse_cel(path.read_text(encoding="utf-8", errors="replace")) if path.exists() else []


@dataclass(frozen=True)
class AsteriskCall:
    """One caller's channel as Asterisk saw it; times are Asterisk's (real UTC)."""

    uniqueid: str
    channel: str
    caller_number: str
    dnid: str
    started_at: datetime
    #: Our call id, read from the queue bridge's name (None: never queued).
    call_id: str | None = None
    queue_entered_at: datetime | None = None
    agent_channel: str | None = None
    agent_joined_at: datetime | None = None
    queue_left_at: datetime | None = None
    ended_at: datetime | None = None
    hangup_source: str | None = None
    hung_up_in_queue: bool = False


def _is_caller(event: CelEvent) -> bool:
    return (event.type == "CHAN_START" and event.uniqueid == event.linkedid
            and not event.channel.startswith("Announcer/"))


def rebuild_calls(events: Iterable[CelEvent]) -> dict[str, AsteriskCall]:
    """Per caller uniqueid, the facts Asterisk recorded (see the module docstring)."""
    ordered = sorted(events, key=lambda e: e.time)
    calls: dict[str, AsteriskCall] = {}
    own_events: dict[str, list[CelEvent]] = {}
    bridge_owner: dict[str, str] = {}  # queue bridge id → caller uniqueid
    for event in ordered:
        if _is_caller(event):
            calls[event.uniqueid] = AsteriskCall(
                uniqueid=event.uniqueid, channel=event.channel,
                caller_number=event.caller_number, dnid=event.dnid, started_at=event.time)
            own_events[event.uniqueid] = []
            continue
        caller = calls.get(event.uniqueid)
        if caller is not None:
            own_events[event.uniqueid].append(event)
            calls[event.uniqueid] = _caller_event(caller, event, bridge_owner)
            continue
        bridge = event.bridge_id
        if (event.type == "BRIDGE_ENTER" and bridge in bridge_owner
                and not event.channel.startswith("Announcer/")):
            owner = calls[bridge_owner[bridge]]
            if owner.agent_joined_at is None:
                calls[owner.uniqueid] = replace(owner, agent_channel=event.channel,
                                                agent_joined_at=event.time)
    return {uid: _judge_hangup(call, own_events[uid]) for uid, call in calls.items()}


def _caller_event(call: AsteriskCall, event: CelEvent,
                  bridge_owner: dict[str, str]) -> AsteriskCall:
    bridge = event.bridge_id
    if (event.type == "BRIDGE_ENTER" and bridge and bridge.startswith(QUEUE_BRIDGE_PREFIX)
            and call.queue_entered_at is None):
        bridge_owner[bridge] = call.uniqueid
        return replace(call, call_id=bridge[len(QUEUE_BRIDGE_PREFIX):],
                       queue_entered_at=event.time)
    if (event.type == "BRIDGE_EXIT" and call.call_id is not None
            and bridge == QUEUE_BRIDGE_PREFIX + call.call_id):
        return replace(call, queue_left_at=event.time)
    if not call.dnid and event.dnid:  # known from the PBX's answer on
        call = replace(call, dnid=event.dnid)
    if event.type == "HANGUP" and call.ended_at is None:
        source = event.extra.get("hangupsource")
        return replace(call, ended_at=event.time,
                       hangup_source=source if isinstance(source, str) else None)
    return call


def _judge_hangup(call: AsteriskCall, own: list[CelEvent]) -> AsteriskCall:
    """Whether the caller's own hang-up is what ended a wait no agent answered."""
    if (call.queue_entered_at is None or call.agent_joined_at is not None
            or call.ended_at is None or call.queue_left_at is None
            or call.hangup_source != call.channel
            or call.ended_at - call.queue_left_at > HANGUP_EXIT_GAP):
        return call
    between = [e for e in own if call.queue_left_at < e.time < call.ended_at]
    return replace(call, hung_up_in_queue=not between)


def classify(call: AsteriskCall, threshold_seconds: float = 10.0) -> str:
    """The call in the SLA's terms, from Asterisk's facts alone.

    ``answered``; ``abandoned`` / ``abandoned_short`` (the tender's rule: abandoned
    only strictly after ``threshold_seconds`` in the queue); ``left_queue``
    (taken out of the queue without an agent, e.g. to voicemail); ``not_queued``
    (never waited for an agent: IVR only, out of hours); ``in_progress``.
    """
    if call.agent_joined_at is not None:
        return "answered"
    if call.ended_at is None:
        return "in_progress"
    if call.queue_entered_at is None:
        return "not_queued"
    if not call.hung_up_in_queue:
        return "left_queue"
    waited = (call.ended_at - call.queue_entered_at).total_seconds()
    return "abandoned" if waited > threshold_seconds else "abandoned_short"


def as_call_facts(call: AsteriskCall, in_hours: bool | None,
                  threshold_seconds: float = 10.0) -> CallFacts:
    """Asterisk's facts in the shape the SLA figures take.

    Asterisk knows nothing of the service window: ``in_hours`` is ours to give.
    A call that left the queue without an agent counts as a system exit
    (``timeout``): Asterisk cannot tell a wait limit from no agent logged in.
    """
    outcome = classify(call, threshold_seconds)
    queue_exit = {"answered": "answered", "abandoned": "abandoned",
                  "abandoned_short": "abandoned", "left_queue": "timeout"}.get(outcome)
    return CallFacts(
        arrived_at=call.started_at, in_hours=in_hours,
        outcome=outcome if queue_exit is not None else None,
        queue_entered_at=call.queue_entered_at, queue_exit=queue_exit,
        answered_at=call.agent_joined_at, ended_at=call.ended_at)
