"""Timing one item: one build alone, or a PR's build beside its base build in alternating rounds.

Each side is a session in a fork server of its own TVM environment
(bot/engine/isolation.py): the child compiles, loads and checks the item,
then times blocks of samples when asked.

Alone (local and base-branch runs): one block of `repeat` samples.

Side by side (PR jobs): both children are compiled and loaded before any
timing starts, then rounds of one sample a side (`round_repeat`), in ABBA
order (base, PR; PR, base; base, PR; ...), so that a linear drift of the
machine (a neighbour's build warming up, a CPU throttling) weighs on both
sides alike and cancels from the per-round ratio (`base_first`). When both children
compiled to the same code (`code_hash`) nothing is timed at all: the verdict
is `same code`, decided by equality, not by statistics (bot/verdicts.py).

One sample a side, not a block of three: measured with the real TVM on 2
cores under load (benchmarks/round_noise.py, A/A, 8 pairs of children), a
round's variance times the samples it costs was 199 (1x7 conv) and 2016 (1x1)
with single samples against 283 and 4832 with blocks of 3 (relative %^2):
for the same device time, single samples leave a pair's mean of its rounds
less variance, though each round's ratio is noisier. A block's three samples
share their moment of the machine, and are not three observations.

The rounds are taken `pair_rounds` at a time by fresh pairs of children, one
pair after the other, each compiled and loaded afresh, until the verdict is
decided, or the cap would not decide it either (bot/stats.judge_rounds), or
`max_rounds` are timed. A process keeps for its whole life what
drift between rounds cannot undo: where its code and buffers landed in
memory, how they fall into caches and pages; and a forked child inherits its
fork server's address space, with much of that luck. Measured with the real
TVM, one and the same +5% build came out +9.6% in one pair of processes and
+1.8% in the next, every round of a pair agreeing; on a quiet machine the
story's 3x3 conv's pairs spread 1.9-2.6% between pairs of fork servers and
0.7-1.0% between pairs of children of one (benchmarks/round_noise.py
--servers, 2026-12-05; two days later 0.1-0.3%, no more than the rounds
predicted: the luck comes and goes with the machine). So each pair of
children comes from a pair of servers of its own (`servers(index)`: the
runner keeps one pair of servers per index for the whole job), and the pair,
not the round, is the unit a verdict counts (bot/stats.judge_rounds). The
looks at the rounds come at the pairs' ends: `looks` is the design, fixed
before the first round. Compiling an item takes a tenth of a second to a few
seconds. A pair of the story's layer (431 ms a run) costs 3.0 s: 1.1 s to get
ready (both compile at once, each loads and checks its answer, which run is
also its warm-up) and 0.9 s a round (time_pair to the cap, 2026-12-07; 5.3 s
a pair while TVM's time_evaluator added an untimed run to every sample and a
warm-up run followed the check: bot/child/measure.py).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.isolation import ChildOutcome, ForkServer, Session
from bot.stats import Looks
from bot.vocabulary import OK, TIMED


@dataclass(frozen=True)
class Plan:
    """How many samples to take, and how long a block may take before its child is presumed hung."""

    number: int = 1  # runs per sample (their mean is the sample)
    repeat: int = 10  # samples of a build timed alone
    warmup: int = 1  # untimed runs before a side's first block, the child's answer-checking run the first of them
    round_repeat: int = 1  # samples per side per round
    pair_rounds: int = 2  # side-by-side rounds per pair of children (the unit of a verdict: bot/stats.Looks)
    max_rounds: int = 24  # side-by-side rounds at most (the cap): the device time of the fixed design it replaced
    block_timeout_s: float = 600.0

    @property
    def looks(self) -> Looks:
        """The sequential design of this plan's rounds, for bot/stats.judge_rounds."""
        return Looks(self.pair_rounds, self.max_rounds)


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
    first: str = ""  # which side each round timed first, a letter a round: b (base) or p (PR)

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
    servers: Callable[[int], tuple[ForkServer, ForkServer]],
    spec: dict,
    workdir: Path,
    plan: Plan,
    timeout_s: float,
    *,
    skip_same_code: bool = True,
    enough: Callable[[list[tuple[float, float]]], bool] | None = None,
) -> Pair:
    """Both builds compiled side by side, then timed in ABBA rounds (none when they made the same code).

    The rounds are taken `plan.pair_rounds` at a time by fresh pairs of
    children, pair i forked from `servers(i)` (base's server, PR's server;
    see the module's docstring), until `enough(rounds)`, asked after each
    pair, says the rounds may stop, or `plan.max_rounds` are timed. A PR
    child that answered wrong ends them with its pair: only a right answer's
    latency is judged (bot/verdicts.py), and its rerun is timed afresh. The
    first pair's children say what the item is (code hash, correctness,
    versions), and a failure or a wrong answer in any later child is the
    item's. A side that did not get ready (a compile error, a crash) leaves
    the other timed alone, so its row still has a latency. `skip_same_code=False`
    times identical code anyway (the A/A benchmark does).
    """
    counts = _shares(plan.pair_rounds, plan.max_rounds)
    base, pr = _begin_pair(servers(0), spec, workdir, 0, timeout_s)
    base_ready, pr_ready = base.wait_ready() is None, pr.wait_ready() is None
    samples: dict[str, list[float]] = {"base": [], "pr": []}
    rounds: list[tuple[float, float]] = []
    first: list[str] = []
    if base_ready and pr_ready:
        code = base.report().get("code_hash")
        if skip_same_code and code is not None and code == pr.report().get("code_hash"):
            counts = []
    elif base_ready or pr_ready:
        alone, name = (base, "base") if base_ready else (pr, "pr")
        samples[name] = alone.time(plan.number, plan.repeat, plan.warmup, plan.block_timeout_s) or []
        counts = []
    outcomes: dict[str, list[ChildOutcome]] = {"base": [], "pr": []}
    for index, count in enumerate(counts):
        if index:  # one child at a time on the device: the last pair has finished
            base, pr = _begin_pair(servers(index), spec, workdir, index, timeout_s)
            ready = base.wait_ready() is None, pr.wait_ready() is None  # both waited for: both can finish
            if not all(ready):
                break
        done = _rounds(base, pr, plan, count, index, samples)
        rounds += done
        first += ["b" if base_first(index, number) else "p" for number in range(len(done))]
        if len(done) < count:
            break  # a side died or hung; its outcome says how
        if pr.report().get("correct") is False:
            break  # a wrong answer gets no latency verdict (bot/verdicts.py): this pair's rounds record its time
        if enough is not None and enough(rounds):
            break
        if index < len(counts) - 1:
            outcomes["base"].append(base.finish()), outcomes["pr"].append(pr.finish())
    outcomes["base"].append(base.finish()), outcomes["pr"].append(pr.finish())
    sides = {name: side_of(_combined(outcomes[name]), samples[name]) for name in ("base", "pr")}
    pair = Pair(sides["base"], sides["pr"], rounds, "".join(first))
    if pair.base.status not in TIMED or pair.pr.status not in TIMED:
        pair.rounds, pair.first = [], ""
    return pair


def _shares(pair_rounds: int, max_rounds: int) -> list[int]:
    """Rounds per pair of children, up to the cap: 4 a pair up to 24 is six 4s; up to 10, 4, 4 and 2."""
    if max_rounds <= 0:
        return []
    whole, rest = divmod(max_rounds, max(pair_rounds, 1))
    return [max(pair_rounds, 1)] * whole + ([rest] if rest else [])


def _begin_pair(servers: tuple[ForkServer, ForkServer], spec, workdir: Path, index: int, timeout_s: float):
    base_server, pr_server = servers
    suffix = f"-{index + 1}" if index else ""
    base = base_server.session(spec, workdir / f"base{suffix}", timeout_s)
    pr = pr_server.session(spec, workdir / f"pr{suffix}", timeout_s)
    base.begin(), pr.begin()  # both compile at once: two cores, half the wait
    return base, pr


def _combined(outcomes: list[ChildOutcome]) -> ChildOutcome:
    """One side's children as one outcome: the first child's, unless a later child did worse.

    The first child says what the item is (code hash, correctness, versions);
    a later child that failed, or gave a wrong result where the first did not,
    makes that the side's outcome, never hidden. The time spent measuring adds up.
    """
    first, later = outcomes[0], outcomes[1:]
    worse = next((o for o in later if o.status not in TIMED or (first.status == OK and o.status != OK)), None)
    if worse is not None:
        return worse
    first.data = {**first.data, "measure_s": sum((o.data.get("measure_s") or 0.0) for o in outcomes)}
    first.wall_s = sum(o.wall_s for o in outcomes)
    return first


def base_first(pair: int, number: int) -> bool:
    """Whether round `number` (from 0) of pair `pair` (from 0) times the base before the PR.

    ABBA within a pair, and each pair starts with the side the pair before it
    started second, so that every place in a pair goes to each side in turn.
    Continuing one ABBA sequence across pairs instead (as the design did up to
    tree f2c660b) starts every pair of 2 rounds with the base, and a pair's
    rounds are not alike: measured with the real TVM under load
    (benchmarks/round_order.py on the loaded A/A databases of
    benchmarks/data/verdict_noise.jsonl, 80 1x1 items), the side timed second
    paid 5.8% in a pair's first round and 12.7% in its second, which left
    -3.5% [-4.8, -2.1] in every 1x1 change of a build against itself. In turn,
    what a place in the pair costs falls on both sides alike over each two
    pairs; at a look after an odd number of pairs it falls on one side once
    more, and the pairs' spread, which the interval is made of, carries it.
    """
    return (pair + number) % 2 == 0


def _rounds(base: Session, pr: Session, plan: Plan, count: int, pair: int, samples: dict) -> list[tuple[float, float]]:
    """`count` rounds with the children of pair number `pair`, in the order `base_first` gives."""
    rounds = []
    for number in range(count):
        order = ((base, "base"), (pr, "pr")) if base_first(pair, number) else ((pr, "pr"), (base, "base"))
        medians = {}
        for session, name in order:
            warmup = plan.warmup if number == 0 else 0  # every new child warms up
            block = session.time(plan.number, plan.round_repeat, warmup, plan.block_timeout_s)
            if not block:
                return rounds  # that side died or hung; finish() says how
            samples[name] += block
            medians[name] = statistics.median(block)
        rounds.append((medians["base"], medians["pr"]))
    return rounds
