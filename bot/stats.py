"""Verdicts and change points: pure functions over latencies, no I/O.

Everything works on log latency, so that a change is relative, swapping PR
and base exactly negates it, and the unit (or any common factor) does not
matter. Nothing is random: same numbers, same answer.

Two separate runs' samples against each other (`compare`: how PRs were
judged before side-by-side jobs, kept for benchmarks/stats_accuracy.py) is a
layered filter, in the spirit of LLVM LNT; all three must say yes before a
change is reported:

1. Enough samples? Fewer than MIN_SAMPLES (5) a side is `inconclusive`: with
   4 a side even two sets of samples that do not overlap at all give a
   Mann-Whitney p of 2/70 = 0.029, so no test at 99% could ever fire; 5 a
   side (p = 2/252 = 0.008) is the least that can. A higher `confidence`
   raises the floor the same way.
2. Is the difference real? A two-sided Mann-Whitney U test with p below
   1 - confidence, and the matching distribution-free interval of the change
   (Moses's interval around the Hodges-Lehmann estimate: order statistics of
   the PR/base ratios of every pair of samples) excludes 0. The interval is
   the test turned inside out, so the two agree; no resampling is needed.
3. Is it big enough to matter? The estimated change (the median of those
   ratios, minus 1) must pass the threshold: the minimum effect (MIN_EFFECT
   in bot/vocabulary.py, 5%) or NOISE_FACTOR (3) times the base branch's own run-to-run
   noise for that series, whichever is larger. On the log scale both ways:
   with 5%, slower above +5%, faster below -4.8% (1/1.05).

The third layer carries most of the weight. Samples of one run are not
independent: each run (a fresh process) lands at its own level, so two runs
of one build differ "significantly" by any test that pools their samples.
Only the spread of past runs' medians (`noise_level`) says how far apart two
runs of one build wander. With normal run-to-run noise sigma, the
difference of two runs has a standard deviation of sigma * sqrt(2), so a
threshold of 3 sigma is crossed by 3.4% of A/A pairs (1.7% each way), and a
10% slowdown is caught 95% of the time up to sigma = 1.8%; beyond sigma =
1.6%, no threshold keeps false alarms under 1% and catches 95% with one run
a side. Measured on this project's 2-core machine with real TFLite runs
(benchmarks/stats_accuracy.py; false alarms / 10% slowdowns caught): quiet,
sigma 0.3%, 0% / 100%; beside another engineer's TVM tuning job, sigma 1.8%,
0.6% / 93%; with two CPU hogs preempting samples (2.4-3.8x slower), 13% /
76%: a run whose median was preempted looks like a slower build, and no
statistic on its samples can tell.

PR against base from rounds timed side by side (`judge_rounds`): every
timed verdict, for PR jobs, for the runner deciding when to stop timing an
item, and for bisect probes.

- The unit. Round r gives one latency per side, and the per-round log ratio
  d_r = log(PR_r / base_r). Whatever the machine does between rounds (a
  neighbour's build, a throttled CPU) moves both sides of a round together
  and cancels from d_r. What rounds cannot cancel is a process's luck: where
  its code and buffers landed in memory, kept for its whole life, and
  inherited by a forked child from its fork server. Measured here on the
  story's 3x3 conv, quiet (benchmarks/round_noise.py --servers 4): the
  medians of pairs of processes spread 2.4% where their rounds predicted
  0.3%, most of it between pairs of fork servers (1.9-2.6%) and less inside
  one (0.7-1.0%); an A/A job whose every round came from one pair of servers
  measured an item at -4.0% [-5.0, -1.0]. (Two days later the same machine's
  pairs spread 0.1-0.3%, as their rounds predicted: the luck comes and goes,
  and a verdict cannot know which machine it has.) So rounds are not
  independent, and an interval over them is narrower than the truth. The
  runner times each pair of children from a pair of fork servers of its own
  (bot/engine/runner.py), and the independent unit is the pair: y_p, the
  mean of pair p's d_r.
- The interval. Student's t over the pairs' y_p: their mean, plus or minus
  t(1 - alpha / 2, P - 1) x sd / sqrt(P) with P pairs. A rank interval
  cannot serve: with 12 pairs or fewer the exact signed-rank interval at
  the share of 1% a look gets does not exist (2 / 2^P is above it). The t
  interval assumes the y_p independent and symmetric around the change,
  not normal: under symmetry the t test's level stays at or below its
  nominal level at the small levels used here (Efron 1969, "Student's
  t-test under symmetry conditions", JASA 64:1278-1302), and an A/A y_p is
  exactly symmetric, since swapping the two identical builds negates it. A
  pair's mean of a few rounds also tames the heavy tails of single rounds
  under load (robust sd of 5-30% with single rounds at 1.65x): one wild
  round widens the interval (more pairs are timed); tests/test_stats.py
  checks that it cannot carry a verdict.
- The decision, three ways, with the margin m (`PAIRED_MIN_EFFECT`, 2%, or
  PAIRED_NOISE_FACTOR x the series' run-to-run noise on the base branch
  where larger): `unchanged` when the interval lies inside ±m, `slower` or
  `faster` when it lies clear of +m or -m, `undecided` otherwise. Undecided
  items get more pairs; at the cap undecided is the verdict, with its
  interval: no claim is made that the data do not support. (Chromium's
  Pinpoint calls these SAME, DIFFERENT and UNKNOWN.)
- Looking as the pairs come is only honest with a sequential design. The
  method: a group-sequential design with repeated confidence intervals
  (Jennison & Turnbull 1989, "Interim analyses: the repeated confidence
  interval approach", JRSS B 51:305-361; and their 2000 book "Group
  Sequential Methods with Applications to Clinical Trials", ch. 9), with
  the error rate spent over the planned looks by Bonferroni (`Looks`: the
  looks come after 3, 4, 6, 9, ... pairs, fixed before the first round).
  The chance that some look's interval misses the true change is at most
  the sum of the shares, 1%, so the interval at whichever look the pairs
  stopped covers the change with 99%, and: `slower`/`faster` when the
  change is inside the margin, and `unchanged` when it is beyond it, each
  happen at most 0.5% of the time, however the looks went. tests/test_stats.py
  checks the rate by simulation on heavy-tailed rounds with a luck of their
  own per pair, and shows what the two shortcuts cost there: judging every
  look at 99% as if it were the only one, and taking the round as the unit.
- What it costs. The pair's luck is counted, so an item whose pairs differ
  by more than their rounds predict needs more pairs. On the story's layer,
  quiet, with 2.4% between pairs, deciding `unchanged` within ±2% takes
  about 20 pairs (the interval at a look's 0.2% is ±1.9% after 20, ±2.2%
  after 16): more than the cap, so such an item ends
  undecided with its interval, where a design that took rounds as the unit
  said `unchanged` or, once in a while, a confident wrong change.
- Giving up early. From the second look on, an undecided item stops, still
  undecided (`hopeless`), when the cap could not decide it either: were the
  cap's pairs to spread as the pairs so far did (the one farthest from
  their median left out, so one wild pair cannot give up), the cap's
  interval around the change so far would still reach past the margin on
  one side and not clear it on the other. This is futility stopping by
  projection, a form of stochastic curtailment (Jennison & Turnbull 2000,
  ch. 10). It claims nothing, so the error rates above stand: repeated
  confidence intervals cover the change at every look at once, so they hold
  whatever rule decides when to stop (Jennison & Turnbull 1989), and
  stopping undecided says no more than the interval. What it costs is the verdicts later looks would still have
  reached: in tests/test_stats.py's simulation of quiet rounds (1.5% a side,
  0.5% luck a pair) 8-15% of them, for 0.7-0.8x the rounds; on rounds as
  noisy as this machine's under load, where almost no item decides, it
  takes 0.4x the rounds. A bisect probe that gives up is skipped, as one
  undecided at the cap is.

Base-branch history (`change_points`) is segmented by an exact optimal
partition of log latency (a Potts model, as asv's step_detect uses, solved
by dynamic programming with PELT pruning), after a Hampel filter (a point far
from its running median of 5 is replaced by it) so that one or two wild
points cannot make a level; the price of a level is set by the series' own
noise, from successive differences so that the steps do not inflate it. Each
boundary must then pass a t-test between its neighbouring levels at p < alpha
(0.001, Apache Otava's choice after E-Divisive) and a change of at least the
minimum effect between their medians; the weakest failing boundary is merged
away until all pass. 500 points take a few milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from bot.vocabulary import (
    COUNT_FLOOR,
    COUNT_MIN_EFFECT,
    FASTER,
    FEWER_INSTRUCTIONS,
    INCONCLUSIVE,
    MIN_EFFECT,
    MORE_INSTRUCTIONS,
    PAIRED_MIN_EFFECT,
    SLOWER,
    UNCHANGED,
    UNDECIDED,
)

MIN_SAMPLES = 5  # a side; see the module docstring
NOISE_FACTOR = 3.0  # a change must exceed this many times the base branch's run-to-run noise
CONFIDENCE = 0.99  # of a timed verdict's interval, over every look of its design together (see judge_rounds)
PAIRED_NOISE_FACTOR = 1.0  # for side-by-side rounds, times the history's run-to-run noise (see judge_rounds)


@dataclass(frozen=True)
class Comparison:
    """A PR's latency against its base: the verdict and the numbers behind it.

    `change`, `ci_low` and `ci_high` are relative (+0.12 is 12% slower); None
    when inconclusive. `threshold` is the smallest change this comparison
    would report (the minimum effect, or the noise multiple if larger); for
    side-by-side rounds it is the margin both ways. `final`: side-by-side
    rounds judged where undecided is the verdict rather than a reason to time
    more rounds: at the last look of their design, or (`hopeless`) at a look
    where the cap could not decide it either (see `judge_rounds`).
    """

    verdict: str  # slower | faster | unchanged | undecided | inconclusive
    change: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # unpaired samples only: a sequential design has no single p-value
    n_base: int
    n_pr: int
    threshold: float
    reason: str
    final: bool = False
    hopeless: bool = False

    @property
    def decided(self) -> bool:
        """The interval lies inside the margin, or clear of it."""
        return self.verdict in (SLOWER, FASTER, UNCHANGED)

    @property
    def done(self) -> bool:
        """The rounds may stop: the verdict is decided, or undecided where more rounds would not decide it."""
        return self.decided or self.final

    @property
    def interval_text(self) -> str:
        """`+12.3% [+10.1, +14.0]`: the change and its interval in percent, or `–` when there is none."""
        if self.change is None:
            return "–"
        text = f"{self.change * 100:+.1f}%"
        if self.ci_low is not None and self.ci_high is not None:
            text += f" [{self.ci_low * 100:+.1f}, {self.ci_high * 100:+.1f}]"
        return text


def _clean(values: Sequence[float], what: str) -> np.ndarray:
    array = np.asarray([float(v) for v in values], dtype=float)
    bad = np.flatnonzero(~np.isfinite(array) | (array <= 0))
    if bad.size:
        raise ValueError(f"{what} must be positive finite latencies, got {float(array[bad[0]])!r} at index {bad[0]}")
    return array


def compare(
    base: Sequence[float],
    pr: Sequence[float],
    *,
    min_effect: float = MIN_EFFECT,
    noise: float | None = None,
    confidence: float = 0.99,
) -> Comparison:
    """Is the PR slower, faster or unchanged against base? See the module docstring.

    `base` and `pr` are every latency sample of each side (several runs may be
    pooled); `noise` is the base series' relative run-to-run noise
    (`noise_level` of its history), None when unknown.
    """
    from scipy import stats as scipy_stats  # here, not at the top: 1.4 s of every CLI start

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    if not min_effect >= 0:
        raise ValueError(f"min_effect must be 0 or more, got {min_effect!r}")
    if noise is not None and not (noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"noise must be None or 0 or more, got {noise!r}")
    b, p = _clean(base, "base samples"), _clean(pr, "PR samples")
    m, n = len(b), len(p)
    threshold = max(min_effect, NOISE_FACTOR * noise if noise else 0.0)
    alpha = 1 - confidence

    def inconclusive(reason: str) -> Comparison:
        return Comparison("inconclusive", None, None, None, None, m, n, threshold, reason)

    if m < MIN_SAMPLES or n < MIN_SAMPLES:
        return inconclusive(f"{m} base and {n} PR samples, need {MIN_SAMPLES} a side")
    k = _moses_rank(min(m, n), max(m, n), alpha)
    if k == 0:
        return inconclusive(f"{m} base and {n} PR samples cannot reach {confidence:.1%} confidence, need more")
    ratios = np.sort((np.log(p)[:, None] - np.log(b)[None, :]).ravel())
    shift = float(np.median(ratios))
    low, high = float(ratios[k - 1]), float(ratios[-k])
    p_value = float(scipy_stats.mannwhitneyu(p, b, alternative="two-sided").pvalue)
    if math.isnan(p_value):  # every sample equal on both sides
        p_value = 1.0
    change, limit = math.expm1(shift), math.log1p(threshold)
    significant = p_value < alpha and (low > 0 or high < 0)
    why = f"{threshold:.1%} " + (
        f"threshold ({NOISE_FACTOR:g}x run-to-run noise)" if threshold > min_effect else "minimum effect"
    )
    if significant and abs(shift) > limit:
        verdict = "slower" if shift > 0 else "faster"
        reason = f"{change:+.1%} is beyond the {why}, p={p_value:.2g}"
    elif significant:
        verdict, reason = "unchanged", f"{change:+.1%} is within the {why}"
    else:
        verdict, reason = "unchanged", f"{change:+.1%} is not significant, p={p_value:.2g}"
    return Comparison(verdict, change, math.expm1(low), math.expm1(high), p_value, m, n, threshold, reason)


FIRST_LOOK_PAIRS = 3  # the fewest pairs of processes a verdict is judged on (see Looks)


@dataclass(frozen=True)
class Looks:
    """When side-by-side rounds may stop: `every` rounds per pair of processes, `cap` rounds at most.

    The pair of processes is the unit (see `judge_rounds`), so the looks come
    at the ends of pairs: after FIRST_LOOK_PAIRS pairs (two give a t interval
    of one degree of freedom, 16x wider at 99.8% than three give), then each
    time the pairs have grown by half (3, 4, 6, 9, 13, ...), and at the cap.
    Growing by half rather than one by one spends the error rate on fewer
    looks, where each new look still adds as much again of the evidence.
    The looks are planned before any round is timed, and each gets an equal
    share of the error rate (`spending`), so stopping at whichever look
    decides keeps the whole design's error rate. `first` moves the first
    look: a fixed design, such as rows recorded before rounds stopped
    early, is one look at all its rounds: `Looks.once(every, n)`.
    """

    every: int
    cap: int
    first: int = FIRST_LOOK_PAIRS  # pairs

    def __post_init__(self):
        if not 1 <= self.every <= self.cap:
            raise ValueError(f"looks need 1 <= every <= cap, got every={self.every!r} and cap={self.cap!r}")

    @classmethod
    def once(cls, every: int, rounds: int) -> Looks:
        """One look at all `rounds`, in pairs of `every` (a design fixed in advance)."""
        return cls(every, rounds, first=max(rounds // every, 1))

    @property
    def pairs(self) -> int:
        """Whole pairs at the cap."""
        return self.cap // self.every

    @property
    def points(self) -> tuple[int, ...]:
        """Rounds at each look, from the first look's pairs on (none when the cap holds fewer than two pairs)."""
        looks, pairs = [], min(self.first, self.pairs)
        while pairs < self.pairs:
            looks.append(pairs)
            pairs = max(pairs + 1, pairs * 3 // 2)
        looks.append(self.pairs)
        return tuple(p * self.every for p in looks if p >= 2)

    def spending(self, alpha: float = 1 - CONFIDENCE) -> tuple[tuple[int, float], ...]:
        """(rounds, alpha) of every look: a Bonferroni split of `alpha`, fixed by the design alone.

        At 99% with 2 rounds a pair up to 24: 6, 8, 12, 18 and 24 rounds (3,
        4, 6, 9 and 12 pairs) at 0.2% each.
        """
        points = self.points
        return tuple((n, alpha / len(points)) for n in points)

    def look(self, n: int, alpha: float = 1 - CONFIDENCE) -> tuple[int, float] | None:
        """The last look with at most n rounds behind it, with its alpha; None before the first."""
        done = [look for look in self.spending(alpha) if look[0] <= n]
        return done[-1] if done else None


def judge_rounds(
    rounds: Sequence[tuple[float, float]],
    *,
    looks: Looks | None = None,
    min_effect: float = PAIRED_MIN_EFFECT,
    noise: float | None = None,
) -> Comparison:
    """Slower, faster, unchanged, or undecided: the PR against its base from rounds timed side by side.

    Every timed verdict comes from here: PR jobs (bot/verdicts.py), the
    runner deciding when an item's rounds may stop (bot/engine/runner.py),
    and bisect probes (bot/engine/bisect.py). `looks` is the design the
    rounds were timed under (one look at all of them, each round its own
    pair, when None); `rounds` are (base ms, PR ms) in the order timed, each
    `looks.every` in a row from one pair of processes. The margin is
    `min_effect`, or PAIRED_NOISE_FACTOR x `noise` (the series' run-to-run
    noise on the base branch) where that is larger. See the module docstring
    for the method.
    """
    if not min_effect >= 0:
        raise ValueError(f"min_effect must be 0 or more, got {min_effect!r}")
    if noise is not None and not (noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"noise must be None or 0 or more, got {noise!r}")
    pairs = [(float(b), float(p)) for b, p in rounds]
    base = _clean([b for b, _ in pairs], "base round latencies")
    pr = _clean([p for _, p in pairs], "PR round latencies")
    n = len(pairs)
    looks = looks or Looks.once(1, max(n, 1))
    threshold = max(min_effect, PAIRED_NOISE_FACTOR * noise if noise else 0.0)
    why = f"{threshold:.1%} " + (
        f"margin ({PAIRED_NOISE_FACTOR:g}x run-to-run noise)" if threshold > min_effect else "margin"
    )
    look = looks.look(n)
    if look is None:
        points = looks.points
        need = f"need {points[0]}" if points else f"a design of {looks.pairs} pair(s) of processes never can"
        return Comparison(INCONCLUSIVE, None, None, None, None, n, n, threshold,
                          f"{n} rounds are too few to judge, {need}", final=n >= looks.cap)  # fmt: skip
    used, alpha = look
    units = used // looks.every
    d = (np.log(pr[:used]) - np.log(base[:used])).reshape(units, looks.every).mean(axis=1)
    shift = float(d.mean())
    half = _t_quantile(units - 1, alpha) * float(d.std(ddof=1)) / math.sqrt(units)
    low, high = shift - half, shift + half
    limit, final = math.log1p(threshold), used >= looks.pairs * looks.every
    hopeless = False
    if low > limit or high < -limit:
        verdict, where = (SLOWER, f"lies above the +{why}") if low > limit else (FASTER, f"lies below the -{why}")
    elif -limit < low and high < limit:
        verdict, where = UNCHANGED, f"lies inside the ±{why}"
    else:
        verdict = UNDECIDED
        where = f"reaches past the ±{why}" + (f", at the cap of {looks.cap} rounds" if final else "")
        reach = _reach_at_cap(looks, used, d)
        if not final and reach is not None and abs(shift) - reach < limit < abs(shift) + reach:
            hopeless = final = True
            where += (f"; the cap of {looks.cap} rounds would not decide it (±{math.expm1(reach):.1%} around "
                      f"this change, were its pairs to spread as these did, the wildest left out)")  # fmt: skip
    over = f"{units} pairs of processes ({used} rounds)" if looks.every > 1 else f"{used} rounds"
    reason = (f"{math.expm1(shift):+.1%} over {over}: the {CONFIDENCE:.0%} interval "
              f"[{math.expm1(low):+.1%}, {math.expm1(high):+.1%}] {where}")  # fmt: skip
    return Comparison(verdict, math.expm1(shift), math.expm1(low), math.expm1(high), None, used, used, threshold,
                      reason, final=final, hopeless=hopeless)  # fmt: skip


def _reach_at_cap(looks: Looks, used: int, pairs: np.ndarray) -> float | None:
    """Half the interval the cap's look would give (log), were its pairs to spread as `pairs` (the log ratios
    of the pairs so far) do without the one farthest from their median, so one wild pair cannot give up.

    None at the first look, whose three pairs are too few to give up on: it
    is asked from the second look on.
    """
    spent = looks.spending()
    if len(spent) < 2 or used < spent[1][0]:
        return None
    rounds, share = spent[-1]
    tame = np.delete(pairs, np.argmax(np.abs(pairs - np.median(pairs))))
    at_cap = rounds // looks.every
    return _t_quantile(at_cap - 1, share) * float(tame.std(ddof=1)) / math.sqrt(at_cap)


@lru_cache(maxsize=256)
def _t_quantile(df: int, alpha: float) -> float:
    """Student's t at 1 - alpha / 2 with `df` degrees of freedom (scipy here, not at the top: see `compare`)."""
    from scipy import stats as scipy_stats

    return float(scipy_stats.t.ppf(1 - alpha / 2, df))


@lru_cache(maxsize=512)
def _moses_rank(m: int, n: int, alpha: float) -> int:
    """How many pairwise ratios to cut from each end for a 1 - alpha interval (0: none is possible).

    The largest k with P(U <= k - 1) <= alpha / 2 under the null of the
    Mann-Whitney U statistic for m and n samples: exact (counts of U are the
    coefficients of the Gaussian binomial [m + n, m]) up to 2,500 pairs, the
    normal approximation beyond.
    """
    if m * n > 2500:
        z = NormalDist().inv_cdf(1 - alpha / 2)
        return max(0, int(math.floor(m * n / 2 - z * math.sqrt(m * n * (m + n + 1) / 12) + 0.5)))
    counts = _u_counts(m, n)
    cdf = np.cumsum(counts) / math.comb(m + n, m)
    return int(np.searchsorted(cdf, alpha / 2, side="right"))


def _u_counts(m: int, n: int) -> list[int]:
    """Ways to reach U = 0..mn: the coefficients of prod_i (1 - q^(n+i)) / (1 - q^i), i = 1..m."""
    size = m * n + 1
    c = np.zeros(size, dtype=object)
    c[:] = 0
    c[0] = 1
    for i in range(1, m + 1):
        k = n + i
        if k < size:
            c[k:] = c[k:] - c[:-k]
        pad = -size % i  # dividing by (1 - q^i): running sums along every i-th coefficient
        block = np.concatenate([c, np.zeros(pad, dtype=object)]).reshape(-1, i)
        c = np.cumsum(block, axis=0).ravel()[:size]
    return list(c)


def noise_level(medians: Sequence[float | None]) -> float | None:
    """Relative run-to-run noise of one series on the base branch, or None below 3 usable points.

    `medians` are the per-run medians in time order (missing or impossible
    values are skipped). The noise is the standard deviation of one run's log
    median, the larger of two robust estimates (median absolute deviations,
    scaled to a normal standard deviation, so a few wild runs barely count):

    - around each level, the levels split where `change_points` finds a
      shift, so a real step is not noise but slow drift of the machine is (a
      base measured last week is compared with a PR measured today);
    - from successive differences, which sees fast alternation from run to run.
    """
    values = np.asarray([float(m) for m in medians if m is not None and math.isfinite(m) and m > 0])
    if len(values) < 3:
        return None
    logs = np.log(values)
    bounds = [0, *(point.index for point in change_points(values)), len(values)]
    residuals = np.concatenate([logs[a:b] - np.median(logs[a:b]) for a, b in zip(bounds, bounds[1:])])
    return max(1.4826 * float(np.median(np.abs(residuals))), _step_noise(logs))


def robust_sd(values) -> float:
    """1.4826 x the median absolute deviation: a standard deviation that a few wild values barely move."""
    values = np.asarray(values, dtype=float)
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def _step_noise(logs: np.ndarray) -> float:
    return robust_sd(np.diff(logs)) / math.sqrt(2)


@dataclass(frozen=True)
class ChangePoint:
    """Where a series moved to a new level: `index` is the first point of the new level."""

    index: int
    before: float  # median of the level before
    after: float  # median of the level after
    change: float  # after / before - 1
    p_value: float  # a t-test between the two levels against the series' noise


def change_points(
    values: Sequence[float],
    *,
    min_effect: float = MIN_EFFECT,
    alpha: float = 0.001,
    min_size: int = 3,
    penalty: float = 3.0,
) -> list[ChangePoint]:
    """Where a series shifted, oldest first. See the module docstring.

    `values` are latencies (positive, finite) in time order. A level must last
    `min_size` points; `penalty` times log(n) is the price of one more level
    in units of the series' own noise (higher finds fewer). Empty for series
    shorter than 2 * min_size.
    """
    series = _clean(values, "series values")
    n = len(series)
    if min_size < 1:
        raise ValueError(f"min_size must be 1 or more, got {min_size!r}")
    if n < 2 * min_size:
        return []
    logs = np.log(series)
    # Noise from successive differences, floored well below the smallest change of interest.
    sigma = max(_step_noise(logs), math.log1p(min_effect) / 10, 1e-9)
    fitted = _hampel(logs, sigma)
    bounds = _optimal_partition(fitted / sigma, min_size, penalty * math.log(n))
    while True:
        checks = [_boundary(fitted, sigma, bounds, i) for i in range(1, len(bounds) - 1)]
        failing = [
            (p, -abs(shift), i)
            for i, (shift, p) in enumerate(checks, start=1)
            if abs(shift) < math.log1p(min_effect) or not p < alpha
        ]
        if not failing:
            break
        del bounds[max(failing)[2]]  # the least significant, then the smallest, goes first
    points = []
    for i, (_, p) in enumerate(checks, start=1):
        before = float(np.median(series[bounds[i - 1] : bounds[i]]))
        after = float(np.median(series[bounds[i] : bounds[i + 1]]))
        points.append(ChangePoint(bounds[i], before, after, after / before - 1, p))
    return points


def _hampel(logs: np.ndarray, sigma: float, width: int = 5, limit: float = 4.0) -> np.ndarray:
    """Replace points more than `limit` sigma from their centred running median by that median.

    A window of 5 follows any level of 3 points or more exactly, so steps
    survive; one or two wild points in a row (a run disturbed by a
    neighbour's build) vanish instead of making a level of their own.
    """
    half = width // 2
    padded = np.pad(logs, half, mode="edge")
    running = np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)
    return np.where(np.abs(logs - running) > limit * sigma, running, logs)


def _optimal_partition(x: np.ndarray, min_size: int, beta: float) -> list[int]:
    """Boundaries [0, ..., n] minimising squared error plus beta per level (PELT: exact, pruned)."""
    n = len(x)
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])
    best = np.full(n + 1, np.inf)
    best[0] = -beta
    last = np.zeros(n + 1, dtype=int)
    candidates = np.array([0])
    doomed: dict[int, np.ndarray] = {}
    for t in range(min_size, n + 1):
        if t in doomed:
            candidates = np.setdiff1d(candidates, doomed.pop(t), assume_unique=True)
        if t - min_size >= min_size:  # a new level could start at t - min_size
            candidates = np.append(candidates, t - min_size)
        cost = s2[t] - s2[candidates] - (s1[t] - s1[candidates]) ** 2 / (t - candidates)
        total = best[candidates] + cost
        i = int(np.argmin(total))
        best[t] = total[i] + beta
        last[t] = candidates[i]
        # PELT: a start already worse than ending a level at t can never win once t itself may start
        # a level (min_size points later): splitting a level never costs more than keeping it whole.
        worse = candidates[total > best[t]]
        if worse.size:
            doomed[t + min_size] = worse
    bounds = [n]
    while bounds[-1] > 0:
        bounds.append(int(last[bounds[-1]]))
    return bounds[::-1]


def _boundary(x: np.ndarray, sigma: float, bounds: list[int], i: int) -> tuple[float, float]:
    """(log shift between medians, two-sided p) across boundary i, between its neighbouring levels.

    The p-value is a t-test of the difference of the levels' means against
    the series' own noise, which has n - 1 successive differences behind it:
    a level of 3 points can be significant, as it could not be with a Welch
    test on its own 2 degrees of freedom.
    """
    from scipy import special  # here, not at the top: 1.4 s of every CLI start

    a, b, c = bounds[i - 1], bounds[i], bounds[i + 1]
    shift = float(np.median(x[b:c]) - np.median(x[a:b]))
    t = abs(float(x[b:c].mean() - x[a:b].mean())) / (sigma * math.sqrt(1 / (b - a) + 1 / (c - b)))
    return shift, float(2 * special.stdtr(max(len(x) - 1, 1), -t))


def compare_counts(base: int, pr: int, *, min_effect: float = COUNT_MIN_EFFECT, floor: int = COUNT_FLOOR) -> Comparison:
    """More, fewer or unchanged instructions: arithmetic on two exact counts, no test and no interval.

    An instruction count on the emulated board repeats (bot/engine/counting.py): the same build
    counted in new processes, and two builds that compile to the same code, differ by at most 35
    instructions (allocator and interpreter), whatever else the machine does. So a change needs no rounds and no rerun; it
    is reported when it passes the margin, the larger of `min_effect` of the base's count
    (COUNT_MIN_EFFECT, 0.1%) and `floor` instructions (COUNT_FLOOR, for tiny models). `threshold`
    is that margin as a fraction of the base, for the reader; the interval is the change itself.
    """
    if base <= 0 or pr <= 0:
        raise ValueError(f"instruction counts must be positive, got base {base!r} and PR {pr!r}")
    change = pr / base - 1
    threshold = max(min_effect, floor / base)
    if abs(pr - base) <= threshold * base:
        verdict, reason = UNCHANGED, f"{change:+.3%} of the instructions is within the {threshold:.2%} margin"
    else:
        verdict = MORE_INSTRUCTIONS if pr > base else FEWER_INSTRUCTIONS
        reason = f"{change:+.2%} of the instructions ({pr - base:+,}) is beyond the {threshold:.2%} margin"
    return Comparison(verdict, change, change, change, None, 1, 1, threshold, reason)
