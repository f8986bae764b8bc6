"""What a trend plots per device: steps in exact counts by arithmetic, change points in times by statistics."""

from __future__ import annotations

import pytest

from dashboard.measures import COUNTS, LATENCY, count_steps, measure_of


def test_a_count_step_is_a_change_beyond_the_margin_between_consecutive_commits():
    values = [60_000_000, 60_000_500, 60_030_000, 60_000_000, 60_900_000, 60_900_010, 60_000_000]
    steps = count_steps(values)
    # +30,000 is above the 1,000-instruction floor but inside 0.1% of 60 M; +1.5% and back are steps.
    assert [(s.index, s.before, s.after) for s in steps] == [(4, 60_000_000, 60_900_000), (6, 60_900_010, 60_000_000)]
    assert steps[0].change == pytest.approx(0.015)


def test_a_tiny_models_count_steps_only_past_the_floor():
    assert count_steps([100_000, 100_900]) == []  # +0.9%, but 900 instructions: under COUNT_FLOOR
    assert [s.index for s in count_steps([100_000, 121_000])] == [1]


def test_counts_are_carried_exactly_and_times_to_five_digits():
    assert COUNTS.y(61_248_483) == 61_248_483 and LATENCY.y(12.3456789) == 12.346
    assert COUNTS.text(61_248_483) == "61.25 M" and LATENCY.text(12.3456789) == "12.346"


def test_a_device_counts_when_its_runs_say_so():
    assert measure_of({"qemu-aarch64"}, "qemu-aarch64") is COUNTS and measure_of({"qemu-aarch64"}, "rpi4") is LATENCY
    assert not LATENCY.steps([10.0] * 4 + [10.1] * 4)  # a 1% shift between separate runs is not a change point
