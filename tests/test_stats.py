"""Verdicts and change points: invariants, known answers, refusals."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.stats import MIN_SAMPLES, change_points, compare, noise_level

latency = st.floats(min_value=0.01, max_value=1e4, allow_nan=False, allow_infinity=False)
samples = st.lists(latency, min_size=MIN_SAMPLES, max_size=30)
FLIP = {"slower": "faster", "faster": "slower", "unchanged": "unchanged", "inconclusive": "inconclusive"}


@settings(max_examples=150, deadline=None)
@given(samples, samples)
def test_swapping_sides_flips_the_verdict_and_the_interval(base, pr):
    a, b = compare(base, pr), compare(pr, base)
    assert b.verdict == FLIP[a.verdict]
    assert math.log1p(a.change) == pytest.approx(-math.log1p(b.change), abs=1e-9)
    assert math.log1p(a.ci_low) == pytest.approx(-math.log1p(b.ci_high), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(samples)
def test_identical_samples_are_unchanged(values):
    result = compare(values, list(values))
    assert result.verdict == "unchanged" and result.change == 0


@settings(max_examples=100, deadline=None)
@given(samples, samples, st.floats(min_value=1e-3, max_value=1e3))
def test_units_do_not_matter(base, pr, factor):
    assert compare(base, pr).verdict == compare([x * factor for x in base], [x * factor for x in pr]).verdict


@settings(max_examples=60, deadline=None)
@given(st.lists(latency, max_size=MIN_SAMPLES - 1), samples)
def test_too_few_samples_is_inconclusive_never_a_guess(few, enough):
    assert compare(few, enough).verdict == "inconclusive"
    assert compare(enough, few).verdict == "inconclusive"
    assert "need" in compare(few, enough).reason


def noisy(level, n=10, seed=0, spread=0.02):
    return list(level * np.exp(np.random.default_rng(seed).normal(0, spread, n)))


@pytest.mark.parametrize("factor, verdict", [(1.10, "slower"), (1.25, "slower"), (0.85, "faster"), (1.02, "unchanged")])
def test_clear_shifts_are_found_and_small_ones_are_not(factor, verdict):
    result = compare(noisy(100, seed=1), noisy(100 * factor, seed=2))
    assert result.verdict == verdict
    assert result.ci_low <= result.change <= result.ci_high


def test_a_noisy_series_raises_the_threshold():
    base, pr = noisy(100, seed=1), noisy(108, seed=2)
    assert compare(base, pr).verdict == "slower"
    quiet_history = compare(base, pr, noise=0.01)
    noisy_history = compare(base, pr, noise=0.05)
    assert quiet_history.verdict == "slower" and noisy_history.verdict == "unchanged"
    assert noisy_history.threshold == pytest.approx(0.15)


def test_near_noise_asks_for_a_rerun_only_when_the_interval_reaches_the_threshold():
    clear = compare(noisy(100, seed=1, spread=0.005), noisy(130, seed=2, spread=0.005))
    assert clear.verdict == "slower" and not clear.near_noise
    borderline = compare(noisy(100, seed=3, n=8, spread=0.03), noisy(108, seed=4, n=8, spread=0.03))
    assert borderline.verdict != "slower" or borderline.near_noise


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_impossible_latencies_are_refused_by_value(bad):
    with pytest.raises(ValueError, match="PR samples must be positive"):
        compare([1.0] * 5, [1.0] * 4 + [bad])


def test_noise_level_is_relative_and_ignores_one_step():
    flat = noisy(100, n=40, seed=5, spread=0.03)
    stepped = flat[:20] + [x * 1.5 for x in flat[20:]]
    assert noise_level(flat) == pytest.approx(0.03, rel=0.4)
    assert noise_level(stepped) == pytest.approx(noise_level(flat), rel=0.3)
    assert noise_level([1.0, 2.0]) is None


def test_change_points_are_found_where_the_series_shifted():
    values = noisy(100, n=30, seed=1) + noisy(115, n=25, seed=2) + noisy(90, n=30, seed=3)
    points = change_points(values)
    assert [p.index for p in points] == [30, 55]
    assert points[0].change == pytest.approx(0.15, abs=0.03)
    assert points[1].change == pytest.approx(90 / 115 - 1, abs=0.03)


@pytest.mark.parametrize("seed", range(10))
def test_a_flat_noisy_series_has_no_change_points(seed):
    assert change_points(noisy(50, n=200, seed=seed, spread=0.05)) == []


def test_a_shift_below_the_minimum_effect_is_not_a_change_point():
    values = noisy(100, n=40, seed=1, spread=0.002) + noisy(103, n=40, seed=2, spread=0.002)
    assert change_points(values, min_effect=0.05) == []
    assert [p.index for p in change_points(values, min_effect=0.01)] == [40]


def test_short_or_broken_series_have_no_change_points():
    assert change_points([1.0, 2.0, 3.0]) == []
    assert change_points([1.0] * 5 + [float("nan")] * 5) == []
