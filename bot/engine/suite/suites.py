"""Suites: named lists of workloads with their measurement settings.

- smoke: the story's layer and two other Inception-v3 convs (a 1x7 and a
  1x1), in both schemes; what every PR runs; a few minutes on one core.
- conv: every conv2d configuration of Inception-v3, in both schemes.
- full: conv plus the whole quantized Inception-v3 network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.engine.suite.inception import SEED, ConvShape, conv_shapes
from bot.engine.suite.workloads import Workload, from_file, inception_v3, qconv
from bot.errors import UnknownName
from bot.vocabulary import SCHEMES, SUITES

SMOKE_CONVS = (
    SEED,
    ConvShape(17, 17, 128, 128, 1, 7, 1, "SAME"),  # Mixed_6b's 1x7
    ConvShape(35, 35, 192, 64, 1, 1, 1, "SAME"),  # Mixed_5b's 1x1
)


@dataclass(frozen=True)
class Suite:
    """What to run, and how often to time each item (TVM and TFLite alike)."""

    name: str
    workloads: tuple[Workload, ...]
    number: int = 1  # runs per timed sample
    repeat: int = 10  # timed samples kept, for a build timed alone
    warmup: int = 1  # untimed runs first, the run that gives or checks the answer the first of them
    round_repeat: int = 1  # a PR beside its base: samples a side per round (bot/engine/timing.py)
    pair_rounds: int = 2  # rounds per pair of children, each pair from fork servers of its own (bot/stats.Looks)
    max_rounds: int = 24  # rounds at most, when the verdict is still undecided (bot/stats.judge_rounds)


def _both_schemes(shapes) -> tuple[Workload, ...]:
    return tuple(qconv(shape, scheme) for shape in shapes for scheme in SCHEMES)


def get_suite(name: str) -> Suite:
    if name == "smoke":
        return Suite("smoke", _both_schemes(SMOKE_CONVS))
    if name == "conv":
        return Suite("conv", _both_schemes(conv_shapes()))
    if name == "full":
        whole = tuple(inception_v3(scheme) for scheme in SCHEMES)
        return Suite("full", _both_schemes(conv_shapes()) + whole, repeat=10)
    raise UnknownName(f"unknown suite {name!r} (known: {', '.join(SUITES)})")


def user_suite(model_path: Path) -> Suite:
    """A suite of one: the user's own model."""
    workload = from_file(Path(model_path))
    return Suite(f"model:{workload.name}", (workload,))
