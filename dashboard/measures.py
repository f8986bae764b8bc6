"""What a device's pages plot: latency, or instructions counted on an emulated board.

A device whose runs have `metric = 'instructions'` (the emulated AArch64
board, bot/engine/boards/) records no times: its trends, PR rows and
break-down are in instructions of one inference, never ms. Counts are exact
(a build counted again repeats to within a few thousand instructions), so
they get no min-max band, and a step between consecutive base-branch
commits is plain arithmetic: bot.stats.compare_counts says whether the
change is beyond its margin (COUNT_MIN_EFFECT and COUNT_FLOOR in bot/vocabulary.py: 0.1%, and at least
1,000 instructions). Times
wander between runs, so their steps are change points of the whole series
(bot.stats.change_points, at least MIN_EFFECT).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.breakdown import METRICS, Metric
from bot.stats import change_points, compare_counts
from bot.vocabulary import INSTRUCTIONS, MIN_EFFECT, TIME, UNCHANGED, instructions
from dashboard.site import ms, num


@dataclass(frozen=True)
class Step:
    """Where a series moved: `index` is the first point at the new level (as bot.stats.ChangePoint)."""

    index: int
    before: float
    after: float
    change: float


def count_steps(values: list[int]) -> list[Step]:
    """Steps between consecutive counts that bot.stats.compare_counts calls a change (more or fewer instructions)."""
    steps = []
    for i in range(1, len(values)):
        comparison = compare_counts(int(values[i - 1]), int(values[i]))
        if comparison.verdict != UNCHANGED:
            steps.append(Step(i, values[i - 1], values[i], comparison.change))
    return steps


def time_steps(values: list[float]) -> list:
    return change_points(values, min_effect=MIN_EFFECT)


def exact(value) -> str:
    """A count in full, for tables where a 0.1% step must show: `61,248,480`."""
    return f"{int(value):,}" if value is not None else "–"


@dataclass(frozen=True)
class Measure:
    metric: Metric  # which columns hold TVM's and TFLite's value
    ratio_column: str
    base_column: str  # a PR row: its merge base's value, measured in the same job
    unit: str  # for column headers
    axis: str  # the trend's y axis
    hover: str  # plotly's text of a point's value
    ratio_hover: str
    detail: str  # after a point's value: customdata[3] is traces.spread's text
    banded: bool  # a min-max band of the samples (times); a count is one exact number
    text: Callable  # a value in a table cell
    steps: Callable  # values in time order -> where the series moved (Step or ChangePoint)
    steps_title: str

    @property
    def counts(self) -> bool:
        return self.metric.name == INSTRUCTIONS

    def y(self, value):
        """A value as a figure carries it: a count exactly (a 0.1% step must show), a time to 5 digits."""
        return int(value) if self.counts and value is not None else num(value)

    def value(self, row: dict):
        return row.get(self.metric.column)

    def tflite(self, row: dict):
        return row.get(self.metric.tflite_column)


#: A timed device: medians with their samples' band, change points of the whole series.
LATENCY = Measure(METRICS[TIME], "ratio", "base_median_ms", "ms", "latency (ms)", "%{y:.3f} ms", "%{y:.2f}× TFLite",
                  " (min–max %{customdata[3]})", banded=True, text=ms, steps=time_steps, steps_title="Change points")  # fmt: skip
#: A counting board: exact counts, steps between consecutive commits.
COUNTS = Measure(METRICS[INSTRUCTIONS], "instruction_ratio", "base_instructions", "instructions",
                 "instructions of one inference (emulated AArch64)", "%{y:,.0f} instructions",
                 "%{y:.2f}× TFLite's instructions", ", one inference on %{customdata[3]}", banded=False, text=lambda v: instructions(v, "–"),
                 steps=count_steps, steps_title="Steps between consecutive commits")  # fmt: skip


def measure_of(counting: set[str], device: str) -> Measure:
    """COUNTS for a device whose runs count instructions (Site.counting), else LATENCY."""
    return COUNTS if device in counting else LATENCY
