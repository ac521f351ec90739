"""Asterisk's ``queue_log`` lines, made from the control plane's writes (pure: no I/O).

Reporting tools written for Asterisk queues (QueueMetrics and the like) read one
file of lines ``epoch|callid|queuename|agent|event|data1|data2|...``. Centralino's
queues are not Asterisk's ``Queue()``, so Asterisk writes none of it; this module
writes the same lines from what the call flows record anyway: :class:`CallTracker`
is fed every write operation (``calls.*``, ``agents.offer_*``) in the order the
writer applied them, keeps a small state per call and per queue, and answers the
lines each operation makes. :func:`agent_state_lines` does the same for agents
logging in, pausing and logging out. See docs/queue_log.md for the mapping.

Naming: the call id is ours (``calls.id``), the queue is the queue's slug, an
agent is ``Agent/<username>`` (what QueueMetrics expects of a queue member's name;
the SIP channel ``PJSIP/<username>`` is the AGENTLOGIN data), ``NONE`` where
Asterisk writes it. Times are whole seconds, as Asterisk's: a hold time is the
difference of the two lines' epochs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

NONE = "NONE"
#: The write operations that can make queue_log lines (the others are ignored).
OPERATIONS = frozenset({"calls.arrived", "calls.update", "calls.ended",
                        "agents.offer_started", "agents.offer_ended"})
_NO_ANSWER = frozenset({"no_answer", "rejected", "failed"})


def agent_name(username: str) -> str:
    """A queue member as reporting tools expect it: ``Agent/<username>``."""
    return f"Agent/{username}"


def agent_channel(username: str) -> str:
    """The agent's phone, as Asterisk names the channel's technology and endpoint."""
    return f"PJSIP/{username}"


def _field(value: object) -> str:
    # A "|" or a line break would shift every later field of the line, or start a new one.
    text = str(value)
    if text.isprintable() and "|" not in text:
        return text  # nearly always: ids, names, numbers
    return "".join(c if c.isprintable() and c != "|" else " " for c in text)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp() // 1)


@dataclass(frozen=True)
class QueueLogLine:
    """One line of the queue_log file."""

    epoch: int
    call_id: str
    queue: str
    agent: str
    event: str
    data: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        # Asterisk always writes the data part, even empty ("...|UNPAUSE|").
        fields = [self.epoch, self.call_id, self.queue, self.agent, self.event,
                  *(self.data or ("",))]
        return "|".join(_field(f) for f in fields)


@dataclass(frozen=True)
class Names:
    """Queue slugs and agent user names by id, looked up by whoever feeds the tracker."""

    queues: Mapping[int, str] = field(default_factory=dict)
    agents: Mapping[int, str] = field(default_factory=dict)

    def queue(self, queue_id: int) -> str:
        return self.queues.get(queue_id, f"queue-{queue_id}")

    def agent(self, agent_id: int) -> str:
        return agent_name(self.agents.get(agent_id, f"agent-{agent_id}"))


def ids_to_name(op: str, args: dict[str, Any]) -> tuple[set[int], set[int]]:
    """The queue ids and agent ids an operation mentions: (queues, agents)."""
    if op == "calls.update":
        fields = args["fields"]
        queues = {fields["queue_id"]} if fields.get("queue_id") is not None else set()
        agents = {fields["agent_id"]} if fields.get("agent_id") is not None else set()
        return queues, agents
    if op == "agents.offer_started":
        return set(), {args["agent_id"]}
    return set(), set()


@dataclass
class _Offer:
    call_id: str
    agent_id: int
    agent: str
    started: datetime


@dataclass
class _Call:
    """What the queue_log needs to remember of one call."""

    caller: str
    queue: str | None = None
    entered: datetime | None = None
    original_position: int = 0
    waiting: bool = False
    agent: str | None = None
    answered: datetime | None = None
    #: Connected to an agent and the queue's part not closed (by a transfer) yet.
    connected: bool = False
    transfer_asked: datetime | None = None
    #: Agents' legs ringing for the call, by channel id.
    ringing: dict[str, _Offer] = field(default_factory=dict)
    answered_leg: str | None = None


class CallTracker:
    """Per-call state fed with write operations, in order; answers queue_log lines.

    A call this tracker did not see arrive (arrived before a restart) makes no lines:
    its queue entry is unknown, so its waits could not be told.
    """

    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}
        self._offers: dict[str, _Offer] = {}
        #: Per queue, the calls waiting in it, in order of entry (positions).
        self._waiting: dict[str, list[str]] = {}

    @property
    def calls(self) -> int:
        """Calls remembered (for tests: every ended call is forgotten)."""
        return len(self._calls)

    def feed(self, op: str, args: dict[str, Any], names: Names, now: datetime
             ) -> list[QueueLogLine]:
        """The lines ``op`` makes; ``now`` dates those whose write carries no time."""
        if op == "calls.arrived":
            self._calls[args["call_id"]] = _Call(caller=args.get("caller_number") or "")
            return []
        if op == "calls.update":
            call = self._calls.get(args["call_id"])
            return self._update(args["call_id"], call, args["fields"], names, now) if call else []
        if op == "calls.ended":
            return self._ended(args["call_id"], args)
        if op == "agents.offer_started":
            return self._offer_started(args, names)
        if op == "agents.offer_ended":
            return self._offer_ended(args)
        return []

    # -- the queue -------------------------------------------------------------------
    def _position(self, call_id: str, queue: str) -> int:
        waiting = self._waiting.get(queue, [])
        return waiting.index(call_id) + 1 if call_id in waiting else 0

    def _leave(self, call_id: str, call: _Call) -> int:
        """Out of the queue; returns the position it had."""
        assert call.queue is not None
        position = self._position(call_id, call.queue)
        waiting = self._waiting.get(call.queue, [])
        if call_id in waiting:
            waiting.remove(call_id)
        call.waiting = False
        return position

    def _exit(self, call_id: str, call: _Call, event: str, at: datetime) -> QueueLogLine:
        """ABANDON, EXITWITHTIMEOUT, EXITEMPTY: position|origposition|waittime."""
        assert call.queue is not None and call.entered is not None
        position = self._leave(call_id, call)
        return QueueLogLine(_epoch(at), call_id, call.queue, NONE, event,
                            (position, call.original_position,
                             _epoch(at) - _epoch(call.entered)))

    def _update(self, call_id: str, call: _Call, fields: dict[str, Any], names: Names,
                now: datetime) -> list[QueueLogLine]:
        # One update may hold several merged ones: taken in the order the flow makes them.
        lines: list[QueueLogLine] = []
        entered = fields.get("queue_entered_at")
        if entered is not None and fields.get("queue_id") is not None and not call.waiting:
            call.queue, call.entered, call.waiting = names.queue(fields["queue_id"]), entered, True
            self._waiting.setdefault(call.queue, []).append(call_id)
            call.original_position = self._position(call_id, call.queue)
            lines.append(QueueLogLine(_epoch(entered), call_id, call.queue, NONE, "ENTERQUEUE",
                                      ("", call.caller, call.original_position)))
        if fields.get("answered_at") is not None and call.waiting:
            lines.append(self._connect(call_id, call, fields, names))
        exit_event = {"timeout": "EXITWITHTIMEOUT", "no_agents": "EXITEMPTY"}.get(
            fields.get("queue_exit") or "")
        if exit_event and call.waiting:
            lines.append(self._exit(call_id, call, exit_event, now))
        if fields.get("flow_state") == "handed_off" and call.waiting:
            # The control plane itself took the caller out (to the dialplan's voicemail).
            lines.append(self._exit(call_id, call, "EXITEMPTY", now))
        if "transferred_at" in fields:
            call.transfer_asked = fields["transferred_at"]
        state = fields.get("flow_state")
        if call.connected and call.transfer_asked is not None and state in (
                "transferring", "transferred"):
            lines.append(self._transfer(call_id, call, blind=state == "transferring", now=now))
        return lines

    def _connect(self, call_id: str, call: _Call, fields: dict[str, Any],
                 names: Names) -> QueueLogLine:
        """CONNECT: holdtime|bridged channel's uniqueid|ringtime."""
        assert call.queue is not None and call.entered is not None
        answered: datetime = fields["answered_at"]
        agent_id = fields.get("agent_id")
        # The answered offer's end is usually written first; if not, the agent's own leg.
        leg = call.answered_leg or next(
            (leg for leg, o in reversed(call.ringing.items()) if o.agent_id == agent_id), "")
        offer = call.ringing.get(leg)
        call.agent = offer.agent if offer else names.agent(agent_id) if agent_id else NONE
        self._leave(call_id, call)
        call.answered, call.connected = answered, True
        ring = _epoch(answered) - _epoch(offer.started) if offer else 0
        return QueueLogLine(_epoch(answered), call_id, call.queue, call.agent, "CONNECT",
                            (_epoch(answered) - _epoch(call.entered), leg, max(0, ring)))

    def _transfer(self, call_id: str, call: _Call, *, blind: bool,
                  now: datetime) -> QueueLogLine:
        """BLINDTRANSFER extension|context|… or ATTENDEDTRANSFER BRIDGE|bridge|…"""
        assert call.queue is not None and call.entered is not None and call.answered
        call.connected = False  # the queue's part of the call is over
        at = call.transfer_asked if blind and call.transfer_asked else now
        times = (_epoch(call.answered) - _epoch(call.entered),
                 _epoch(at) - _epoch(call.answered), call.original_position)
        # The referent's number is not in the call's writes: extension left empty.
        where = ("", "referent") if blind else ("BRIDGE", f"call-{call_id}")
        return QueueLogLine(_epoch(at), call_id, call.queue, call.agent or NONE,
                            "BLINDTRANSFER" if blind else "ATTENDEDTRANSFER", (*where, *times))

    def _ended(self, call_id: str, args: dict[str, Any]) -> list[QueueLogLine]:
        call = self._calls.pop(call_id, None)
        if call is None:
            return []
        for leg in call.ringing:
            self._offers.pop(leg, None)
        at: datetime = args["at"]
        if call.waiting:
            event = "ABANDON" if args.get("hung_up_by") == "caller" else "EXITEMPTY"
            return [self._exit(call_id, call, event, at)]
        if call.connected:
            assert call.queue is not None and call.entered is not None and call.answered
            event = "COMPLETECALLER" if args.get("hung_up_by") == "caller" else "COMPLETEAGENT"
            return [QueueLogLine(_epoch(at), call_id, call.queue, call.agent or NONE, event,
                                 (_epoch(call.answered) - _epoch(call.entered),
                                  _epoch(at) - _epoch(call.answered),
                                  call.original_position))]
        return []

    # -- agents' phones ringing -----------------------------------------------------------
    def _offer_started(self, args: dict[str, Any], names: Names) -> list[QueueLogLine]:
        call = self._calls.get(args["call_id"])
        if call is None:
            return []
        offer = _Offer(args["call_id"], args["agent_id"], names.agent(args["agent_id"]),
                       args["at"])
        self._offers[args["channel_id"]] = offer
        call.ringing[args["channel_id"]] = offer
        return []

    def _offer_ended(self, args: dict[str, Any]) -> list[QueueLogLine]:
        """RINGNOANSWER (not answered, refused) or RINGCANCELED: ring time in ms."""
        leg = args["channel_id"]
        offer = self._offers.pop(leg, None)
        call = self._calls.get(offer.call_id) if offer else None
        if offer is None or call is None or call.queue is None:
            return []
        result = args["result"]
        if result == "answered":
            call.answered_leg = leg  # kept in ``ringing``: CONNECT reads its ring time
            return []
        call.ringing.pop(leg, None)
        at: datetime = args["at"]
        ring_ms = max(0, round((at - offer.started).total_seconds() * 1000))
        event = "RINGNOANSWER" if result in _NO_ANSWER else "RINGCANCELED"
        return [QueueLogLine(_epoch(at), offer.call_id, call.queue, offer.agent, event,
                             (ring_ms,))]


def agent_state_lines(username: str, action: str, at: datetime, *, reason: str | None,
                      queues: list[str]) -> list[QueueLogLine]:
    """Login, logout, pause, resume of an agent (done from the CLI or the phone).

    Login and logout concern the agent, not a queue (``NONE``, as Asterisk's agents);
    a pause is written per queue the agent answers, with its reason, as Asterisk's
    ``QueuePause`` does. The login instant is not kept, so AGENTLOGOFF's logintime is
    left empty.
    """
    agent, epoch = agent_name(username), _epoch(at)
    if action == "login":
        return [QueueLogLine(epoch, NONE, NONE, agent, "AGENTLOGIN", (agent_channel(username),))]
    if action == "logout":
        return [QueueLogLine(epoch, NONE, NONE, agent, "AGENTLOGOFF",
                             (agent_channel(username), ""))]
    if action in ("pause", "resume"):
        event = "PAUSE" if action == "pause" else "UNPAUSE"
        data = (reason or "",) if action == "pause" else ("",)
        return [QueueLogLine(epoch, NONE, queue, agent, event, data) for queue in queues]
    return []
