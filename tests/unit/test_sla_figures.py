"""The tender's SLA figures computed by hand, call by call, to the microsecond."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from centralino.sla.figures import (
    CallFacts,
    Readings,
    Tally,
    Targets,
    figures,
    tally_call,
    tally_calls,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TARGETS = Targets()


def queued(wait: float, *, answered: bool = False, talk: float = 60, exit_: str | None = None,
           **extra: object) -> CallFacts:
    """A call in hours that entered the queue 20 s after arriving and waited ``wait`` s."""
    entered = T0 + timedelta(seconds=20)
    left = entered + timedelta(seconds=wait)
    if answered:
        return CallFacts(arrived_at=T0, in_hours=True, outcome="answered",
                         queue_entered_at=entered, queue_exit="answered", answered_at=left,
                         ended_at=left + timedelta(seconds=talk), **extra)  # type: ignore[arg-type]
    exit_ = exit_ or "abandoned"
    outcome = "voicemail" if exit_ != "abandoned" else (
        "abandoned" if wait > 10 else "abandoned_short")
    return CallFacts(arrived_at=T0, in_hours=True, outcome=outcome, queue_entered_at=entered,
                     queue_exit=exit_, ended_at=left, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(("call", "readings", "expected"), [
    # The 10-second rule: strictly more than 10 s is an abandon (default reading)...
    (queued(10), Readings(), {"abandoned": 0, "abandoned_short": 1}),
    (queued(10.5), Readings(), {"abandoned": 1, "abandoned_short": 0}),
    (queued(10.000001), Readings(), {"abandoned": 1}),
    (queued(9.999999), Readings(), {"abandoned_short": 1}),
    # ... or, on the other reading, 10 s exactly is already one.
    (queued(10), Readings(abandon_at_threshold=True), {"abandoned": 1, "abandoned_short": 0}),
    (queued(9.999999), Readings(abandon_at_threshold=True), {"abandoned_short": 1}),
    # Queue timeouts to voicemail: abandoned by default, apart on the other reading.
    (queued(300, exit_="timeout"), Readings(),
     {"abandoned": 1, "system_exits": 1, "voicemail": 1}),
    (queued(0, exit_="no_agents"), Readings(system_exits_abandoned=False),
     {"abandoned": 0, "system_exits": 1, "voicemail": 1}),
    # Transferred (escalated) calls are answered but not resolved.
    (queued(5, answered=True, transferred_at=T0 + timedelta(minutes=2),
            resolution="escalated"), Readings(),
     {"answered": 1, "resolved": 0, "escalated": 1, "wait_us": 5_000_000}),
    (queued(5, answered=True, transferred_at=T0 + timedelta(minutes=2)), Readings(),
     {"resolved": 0, "escalated": 1}),
    # An answered call with no resolution recorded: resolved by default, not when strict.
    (queued(5, answered=True), Readings(), {"resolved": 1, "escalated": 0}),
    (queued(5, answered=True), Readings(unset_resolution_resolved=False), {"resolved": 0}),
    (queued(5, answered=True, resolution="resolved"), Readings(unset_resolution_resolved=False),
     {"resolved": 1}),
    # Service level: answered within 20 s, boundary included.
    (queued(20, answered=True), Readings(), {"answered_in_service_level": 1}),
    (queued(20.5, answered=True), Readings(), {"answered_in_service_level": 0}),
    # Overflow from an office line counts like any other call, and is counted apart.
    (queued(3, answered=True, overflow=True), Readings(), {"answered": 1, "overflow": 1}),
])
def test_given_one_call_when_tallied_then_it_counts_as_the_tender_says(
        call: CallFacts, readings: Readings, expected: dict[str, int]) -> None:
    tally = tally_call(call, TARGETS, readings)
    assert {key: getattr(tally, key) for key in expected} == expected


def test_given_calls_out_of_hours_then_only_their_count_is_kept() -> None:
    night = replace(queued(40), in_hours=False, outcome="out_of_hours")
    tally = tally_call(night, TARGETS)
    assert (tally.calls, tally.out_of_hours, tally.in_window, tally.offered,
            tally.abandoned) == (1, 1, 0, 0, 0)


def test_given_a_month_of_calls_then_tm_p_and_q_are_the_hand_computed_ones() -> None:
    calls = [
        queued(4, answered=True),                       # wait 4 s, resolved
        queued(12.5, answered=True),                    # wait 12.5 s, resolved
        queued(30, answered=True, resolution="escalated",
               transferred_at=T0 + timedelta(minutes=3)),  # wait 30 s, escalated
        queued(11),                                     # abandoned (> 10 s)
        queued(10),                                     # short abandon, not in P
        queued(2),                                      # short abandon
        replace(queued(50), in_hours=False, outcome="out_of_hours"),
        CallFacts(arrived_at=T0, in_hours=True, outcome="ivr_only"),
        CallFacts(arrived_at=T0, in_hours=True, outcome="hangup_before_queue"),
    ]
    result = figures(tally_calls(calls, TARGETS), TARGETS)
    # Tm = (4 + 12.5 + 30) / 3 answered = 15.5 s: target 13 s missed.
    assert result.tm_seconds == pytest.approx(15.5, abs=1e-9)
    assert result.tm_met is False
    # P = 1 / (1 + 3) = 25 %.
    assert result.abandoned_pct == pytest.approx(25.0)
    assert result.abandoned_met is False
    # Q = 2 / 3 = 66.67 %.
    assert result.resolved_pct == pytest.approx(200 / 3)
    assert result.resolved_met is False
    # Service level within 20 s: 2 of (3 answered + 1 abandoned).
    assert result.service_level_pct == pytest.approx(50.0)
    assert result.longest_wait_seconds == pytest.approx(30.0)
    t = result.tally
    assert (t.calls, t.out_of_hours, t.offered, t.abandoned_short, t.ivr_only,
            t.hangup_before_queue) == (9, 1, 6, 2, 1, 1)


def test_given_tm_counts_abandoned_then_long_abandons_join_sum_and_n() -> None:
    calls = [queued(4, answered=True), queued(16)]
    default = figures(tally_calls(calls, TARGETS), TARGETS)
    other = figures(tally_calls(calls, TARGETS, Readings(tm_counts_abandoned=True)), TARGETS)
    assert default.tm_seconds == pytest.approx(4.0)
    assert other.tm_seconds == pytest.approx(10.0)


def test_given_targets_met_then_each_is_met() -> None:
    calls = [queued(13, answered=True)] * 97 + [queued(11)] * 3
    result = figures(tally_calls(calls, TARGETS), TARGETS)
    assert result.tm_seconds == pytest.approx(13.0)
    assert result.abandoned_pct == pytest.approx(3.0)
    assert (result.tm_met, result.abandoned_met, result.resolved_met) == (True, True, True)


def test_given_a_service_with_other_targets_then_they_decide() -> None:
    strict = Targets(answer_seconds=5, abandoned_pct=1.0, resolved_pct=99.0,
                     abandon_threshold_seconds=20)
    calls = [queued(6, answered=True), queued(15)]  # 15 s is short with a 20 s threshold
    result = figures(tally_calls(calls, strict), strict)
    assert result.tally.abandoned_short == 1
    assert (result.tm_met, result.abandoned_met, result.resolved_met) == (False, True, True)


def test_given_an_empty_period_then_figures_are_none_not_zero() -> None:
    result = figures(Tally(), TARGETS)
    assert (result.tm_seconds, result.abandoned_pct, result.resolved_pct,
            result.service_level_pct, result.longest_wait_seconds) == (None,) * 5
    assert (result.tm_met, result.abandoned_met, result.resolved_met) == (None, None, None)


def test_given_a_call_still_waiting_then_it_is_offered_but_neither_answered_nor_abandoned(
        ) -> None:
    waiting = CallFacts(arrived_at=T0, in_hours=True, outcome=None,
                        queue_entered_at=T0 + timedelta(seconds=20))
    tally = tally_call(waiting, TARGETS)
    assert (tally.offered, tally.answered, tally.abandoned, tally.abandoned_short) == (1, 0, 0, 0)


def test_given_waits_then_the_distribution_puts_each_in_its_class() -> None:
    calls = [queued(w, answered=True) for w in (0, 5, 5.1, 13, 13.5, 60, 61)]
    assert tally_calls(calls, TARGETS).answer_time_distribution() == {
        "0-5": 2, "5-10": 1, "10-13": 1, "13-20": 1, "20-30": 0, "30-60": 1, ">60": 1}
