"""Timing one item: one build alone, or a PR's build beside its base build in alternating rounds.

Each side is a session in a fork server of its own TVM environment
(bot/engine/isolation.py): the child compiles, loads and checks the item,
then times blocks of samples when asked.

Alone (local and base-branch runs): one block of `repeat` samples.

Side by side (PR jobs): both children are compiled and loaded before any
timing starts, then `rounds` rounds of one block each, in ABBA order (base,
PR; PR, base; base, PR; ...), so that a linear drift of the machine (a
neighbour's build warming up, a CPU throttling) weighs on both sides alike
and cancels from the per-round ratio. A round's value per side is the median
of its block. When both children compiled to the same code (`code_hash`)
nothing is timed at all: the verdict is `same code`, decided by equality,
not by statistics (bot/verdicts.py).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.isolation import ChildOutcome, ForkServer, Session
from bot.vocabulary import OK, TIMED


@dataclass(frozen=True)
class Plan:
    """How many samples to take, and how long a block may take before its child is presumed hung."""

    number: int = 1  # runs per sample (their mean is the sample)
    repeat: int = 10  # samples of a build timed alone
    warmup: int = 1  # untimed runs before a side's first block
    rounds: int = 10  # side-by-side rounds
    round_repeat: int = 3  # samples per side per round
    block_timeout_s: float = 600.0


@dataclass
class Side:
    """What one build did with one item: how it ended, its samples, what its child reported."""

    status: str
    samples_ms: list[float] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    error: str | None = None
    wall_s: float = 0.0

    @property
    def code_hash(self) -> str | None:
        return self.data.get("code_hash")


@dataclass
class Pair:
    """A PR's side and its base's side of one item, with the rounds that time them against each other."""

    base: Side
    pr: Side
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (base ms, PR ms) per round

    @property
    def same_code(self) -> bool:
        return self.base.code_hash is not None and self.base.code_hash == self.pr.code_hash


def side_of(outcome: ChildOutcome, samples: list[float]) -> Side:
    error = None
    if outcome.status != OK:
        error = "\n".join(part for part in (outcome.error, outcome.log_tail) if part) or None
    return Side(outcome.status, samples if outcome.status in TIMED else [], outcome.data, error, outcome.wall_s)


def time_alone(server: ForkServer, spec: dict, workdir: Path, plan: Plan, timeout_s: float) -> Side:
    """Compile, check and time one item with one build: one block of `plan.repeat` samples."""
    session = server.session(spec, workdir, timeout_s)
    samples: list[float] = []
    if session.start() is None:
        samples = session.time(plan.number, plan.repeat, plan.warmup, plan.block_timeout_s) or []
    return side_of(session.finish(), samples)


def time_pair(
    base_server: ForkServer,
    pr_server: ForkServer,
    spec: dict,
    workdir: Path,
    plan: Plan,
    timeout_s: float,
    *,
    skip_same_code: bool = True,
) -> Pair:
    """Both builds compiled side by side, then timed in ABBA rounds (none when they made the same code).

    A side that did not get ready (a compile error, a crash) leaves the other
    timed alone, so its row still has a latency. `skip_same_code=False` times
    identical code anyway (the A/A benchmark does).
    """
    base = base_server.session(spec, workdir / "base", timeout_s)
    pr = pr_server.session(spec, workdir / "pr", timeout_s)
    base.begin(), pr.begin()  # both compile at once: two cores, half the wait
    base_ready, pr_ready = base.wait_ready() is None, pr.wait_ready() is None
    samples: dict[Session, list[float]] = {base: [], pr: []}
    rounds: list[tuple[float, float]] = []
    if base_ready and pr_ready:
        code = base.report().get("code_hash")
        if not (skip_same_code and code is not None and code == pr.report().get("code_hash")):
            rounds = _rounds(base, pr, plan, samples)
    elif base_ready or pr_ready:
        alone = base if base_ready else pr
        samples[alone] = alone.time(plan.number, plan.repeat, plan.warmup, plan.block_timeout_s) or []
    pair = Pair(side_of(base.finish(), samples[base]), side_of(pr.finish(), samples[pr]), rounds)
    if pair.base.status not in TIMED or pair.pr.status not in TIMED:
        pair.rounds = []
    return pair


def _rounds(base: Session, pr: Session, plan: Plan, samples: dict) -> list[tuple[float, float]]:
    rounds = []
    for number in range(plan.rounds):
        order = (base, pr) if number % 2 == 0 else (pr, base)
        medians = {}
        for session in order:
            block = session.time(
                plan.number, plan.round_repeat, plan.warmup if number == 0 else 0, plan.block_timeout_s
            )
            if not block:
                return rounds  # that side died or hung; finish() says how
            samples[session] += block
            medians[session] = statistics.median(block)
        rounds.append((medians[base], medians[pr]))
    return rounds
