"""What a waiting caller hears, and whether a hang-up in queue counts as abandoned."""

from datetime import UTC, datetime, timedelta

import pytest

from ari_app.routing.waiting import (
    ABANDONED,
    ABANDONED_SHORT,
    PositionAnnouncer,
    WaitEstimator,
    classify_abandon,
    round_minutes_for_speech,
)

ENTERED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("waited", "expected"),
    [
        (timedelta(seconds=0), ABANDONED_SHORT),
        (timedelta(seconds=4), ABANDONED_SHORT),
        (timedelta(seconds=10), ABANDONED_SHORT),                     # exactly 10 s is short
        (timedelta(seconds=10, milliseconds=1), ABANDONED),           # 10.001 s
        (timedelta(seconds=15), ABANDONED),
    ],
)
def test_given_hangup_in_queue_then_ten_second_rule_decides(waited, expected):
    assert classify_abandon(ENTERED, ENTERED + waited) == expected


def test_given_other_threshold_then_it_applies():
    assert classify_abandon(ENTERED, ENTERED + timedelta(seconds=15), 20) == ABANDONED_SHORT
    assert classify_abandon(ENTERED, ENTERED + timedelta(seconds=21), 20) == ABANDONED


def test_given_left_before_entering_then_value_error():
    with pytest.raises(ValueError):
        classify_abandon(ENTERED, ENTERED - timedelta(seconds=1))


def estimator(*waits: float, window: int = 20) -> WaitEstimator:
    result = WaitEstimator(window)
    for seconds in waits:
        result.record_wait(seconds)
    return result


@pytest.mark.parametrize("waits", [(), (30,), (30, 60)])
def test_given_fewer_than_three_waits_then_no_estimate(waits):
    assert estimator(*waits).estimate(1, 1) is None


@pytest.mark.parametrize(
    ("waits", "position", "agents", "expected"),
    [
        ((30, 60, 90), 1, 1, 60.0),       # average 60 s
        ((30, 60, 90), 3, 1, 180.0),      # three answers needed
        ((30, 60, 90), 3, 2, 90.0),       # two agents answer in parallel
        ((30, 60, 90), 2, 0, 120.0),      # no agents counted: as if one
        ((10, 20, 30, 40), 1, 4, 6.25),
    ],
)
def test_estimate_is_average_wait_times_position_over_agents(waits, position, agents, expected):
    assert estimator(*waits).estimate(position, agents) == pytest.approx(expected)


def test_given_window_full_then_oldest_waits_dropped():
    recent = estimator(600, 600, 600, 10, 20, 30, window=3)
    assert recent.estimate(1, 1) == pytest.approx(20.0)


def test_default_window_keeps_the_last_twenty_waits():
    recent = estimator(*([1000] * 5 + [60] * 20))
    assert recent.estimate(1, 1) == pytest.approx(60.0)


@pytest.mark.parametrize(
    "misuse",
    [
        lambda: WaitEstimator(0),
        lambda: estimator().record_wait(-1),
        lambda: estimator(1, 2, 3).estimate(0, 1),
        lambda: estimator(1, 2, 3).estimate(1, -1),
    ],
    ids=["empty window", "negative wait", "position zero", "negative agents"],
)
def test_given_invalid_estimator_input_then_value_error(misuse):
    with pytest.raises(ValueError):
        misuse()


@pytest.mark.parametrize(
    ("positions", "announced"),
    [
        ([5], [5]),                                   # the first call announces
        ([1], [1]),
        ([5, 4, 3], [5, 4, 3]),
        ([5, 5, 4], [5, None, 4]),                    # unchanged: silence
        ([3, 4, 2], [3, None, 2]),                    # worse: silence
        ([4, 2, 3, 3, 2, 1], [4, 2, None, None, None, 1]),
    ],
)
def test_position_is_announced_only_when_it_goes_down(positions, announced):
    announcer = PositionAnnouncer()
    assert [announcer.next_announcement(p) for p in positions] == announced


@pytest.mark.parametrize("position", [0, -1])
def test_given_position_below_one_then_value_error(position):
    with pytest.raises(ValueError):
        PositionAnnouncer().next_announcement(position)


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [
        (0, 1),
        (1, 1),
        (59.9, 1),
        (60, 1),
        (60.1, 2),
        (150, 3),
        (180, 3),
        (181, 4),
    ],
)
def test_estimated_wait_is_said_in_whole_minutes_rounded_up(seconds, minutes):
    assert round_minutes_for_speech(seconds) == minutes


def test_given_negative_wait_then_no_minutes():
    with pytest.raises(ValueError):
        round_minutes_for_speech(-1)
