"""Verdicts and change points: pure functions over latency samples, no I/O.

PR vs base (`compare`) asks three questions, all of which must say yes
before a change is reported (a layered filter in the spirit of LLVM LNT):

1. enough samples? fewer than MIN_SAMPLES a side is `inconclusive`;
2. is the difference real? a two-sided Mann-Whitney U test below `alpha`,
   and a bootstrap confidence interval of the ratio of medians that excludes 1;
3. is it big enough to matter? the estimated change must exceed the minimum
   effect (per suite, default 5%) or a multiple of the base branch's own
   run-to-run noise for that series, whichever is larger.

Everything is computed on log ratios, so swapping sides exactly flips the
verdict, and scaling all samples changes nothing.

Base-branch history (`change_points`) is split by binary segmentation on
log latency: the split that most reduces the squared error is kept when a
Welch t-test between the two sides gives p < 0.001 (as Apache Otava does
after E-Divisive) and the levels differ by at least the minimum effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as scipy_stats

MIN_SAMPLES = 5
NOISE_FACTOR = 3.0  # a change must be this many times the base branch's own noise
BOOTSTRAP = 2000


@dataclass(frozen=True)
class Comparison:
    verdict: str  # slower | faster | unchanged | inconclusive
    change: float | None  # PR median / base median - 1
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_base: int
    n_pr: int
    threshold: float  # the smallest change this comparison would report
    reason: str

    @property
    def near_noise(self) -> bool:
        """A `slower` whose interval reaches below the threshold: worth one rerun before reporting."""
        return self.verdict == "slower" and self.ci_low is not None and self.ci_low < self.threshold


def _clean(values: Sequence[float], side: str) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    bad = array[~np.isfinite(array) | (array <= 0)]
    if bad.size:
        raise ValueError(f"{side} samples must be positive finite latencies, got {bad[0]!r}")
    return array


def compare(base: Sequence[float], pr: Sequence[float], *, min_effect: float = 0.05,
            noise: float | None = None, confidence: float = 0.99) -> Comparison:
    """Is the PR slower, faster or unchanged against base? See the module docstring."""
    b, p = _clean(base, "base"), _clean(pr, "PR")
    threshold = max(min_effect, NOISE_FACTOR * noise if noise else 0.0)
    if len(b) < MIN_SAMPLES or len(p) < MIN_SAMPLES:
        return Comparison("inconclusive", None, None, None, None, len(b), len(p), threshold,
                          f"{len(b)} base and {len(p)} PR samples; need {MIN_SAMPLES} a side")
    log_ratio = math.log(np.median(p)) - math.log(np.median(b))
    low, high = _bootstrap_interval(b, p, confidence)
    if np.array_equal(np.sort(b), np.sort(p)):
        p_value = 1.0
    else:
        p_value = float(scipy_stats.mannwhitneyu(p, b, alternative="two-sided").pvalue)
    change = math.expm1(log_ratio)
    ci = (math.expm1(low), math.expm1(high))
    limit = math.log1p(threshold)
    significant = p_value < 1 - confidence
    if significant and low > 0 and log_ratio > limit:
        verdict, reason = "slower", f"{change:+.1%} (p={p_value:.2g})"
    elif significant and high < 0 and -log_ratio > limit:
        verdict, reason = "faster", f"{change:+.1%} (p={p_value:.2g})"
    else:
        verdict = "unchanged"
        reason = (f"{change:+.1%} is within the {threshold:.0%} threshold" if significant
                  else f"{change:+.1%} is not significant (p={p_value:.2g})")
    return Comparison(verdict, change, ci[0], ci[1], p_value, len(b), len(p), threshold, reason)


def _bootstrap_interval(b: np.ndarray, p: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of log(median PR / median base), antisymmetric under swapping sides."""
    rng = np.random.default_rng(20261124)
    # Draw for the two sides (sorted) in a canonical order so that swapping them swaps the draws too.
    b, p = np.sort(b), np.sort(p)
    order = sorted(((b, "base"), (p, "pr")), key=lambda side: (len(side[0]), tuple(side[0])))
    draws = {}
    for side, name in order:
        draws[name] = np.median(side[rng.integers(0, len(side), (BOOTSTRAP, len(side)))], axis=1)
    logs = np.log(draws["pr"]) - np.log(draws["base"])
    if np.array_equal(b, p):  # no order to tell the sides apart: make the interval symmetric
        logs = np.concatenate([logs, -logs])
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(logs, [tail, 100 - tail])
    return float(low), float(high)


def noise_level(medians: Sequence[float]) -> float | None:
    """Relative run-to-run noise of a base-branch series (robust to its steps), or None below 3 points."""
    values = np.asarray([m for m in medians if m and m > 0 and math.isfinite(m)], dtype=float)
    if len(values) < 3:
        return None
    steps = np.diff(np.log(values))
    # MAD of successive differences, scaled to a standard deviation of one run.
    return float(1.4826 * np.median(np.abs(steps - np.median(steps))) / math.sqrt(2))


@dataclass(frozen=True)
class ChangePoint:
    index: int  # first point of the new level
    before: float  # median level before
    after: float  # median level after
    change: float  # after / before - 1
    p_value: float


def change_points(values: Sequence[float], *, min_effect: float = 0.05, alpha: float = 0.001,
                  min_size: int = 3) -> list[ChangePoint]:
    """Where a series shifted, oldest first. See the module docstring."""
    series = np.asarray(values, dtype=float)
    if len(series) < 2 * min_size or not np.all(np.isfinite(series)) or np.any(series <= 0):
        return []
    logs = np.log(series)
    splits: list[int] = []
    pending = [(0, len(logs))]
    while pending:
        start, end = pending.pop()
        split = _best_split(logs[start:end], min_size)
        if split is None:
            continue
        left, right = logs[start:start + split], logs[start + split:end]
        if not _significant_shift(left, right, min_effect, alpha):
            continue
        splits.append(start + split)
        pending += [(start, start + split), (start + split, end)]
    splits.sort()
    points = []
    bounds = [0, *splits, len(series)]
    for i, index in enumerate(splits):
        before, after = series[bounds[i]:index], series[index:bounds[i + 2]]
        p = _welch(np.log(before), np.log(after))
        b, a = float(np.median(before)), float(np.median(after))
        points.append(ChangePoint(index, b, a, a / b - 1, p))
    return points


def _best_split(x: np.ndarray, min_size: int) -> int | None:
    """The split of x into two segments with the least total squared error."""
    n = len(x)
    if n < 2 * min_size:
        return None
    csum, csq = np.cumsum(x), np.cumsum(x * x)
    k = np.arange(min_size, n - min_size + 1)
    left = csq[k - 1] - csum[k - 1] ** 2 / k
    right = (csq[-1] - csq[k - 1]) - (csum[-1] - csum[k - 1]) ** 2 / (n - k)
    return int(k[np.argmin(left + right)])


def _welch(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 0.0 if a[0] != b[0] else 1.0
    return float(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)


def _significant_shift(left: np.ndarray, right: np.ndarray, min_effect: float, alpha: float) -> bool:
    shift = abs(float(np.median(right) - np.median(left)))
    return shift >= math.log1p(min_effect) and _welch(left, right) < alpha
