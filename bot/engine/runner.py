"""Run a suite on one device with one TVM build, or a PR's build beside its base's, and record it.

For every workload: generate the model, draw its inputs, run the TFLite
reference once (outputs, and latency where the device has a TFLite baseline).
Then for every (workload, configuration), one child process per build, in the
TVM environment under test (bot/engine/children.py says what it is given),
compiles, checks and times it (bot/child/measure.py, timed as
bot/engine/timing.py describes), and the outcome is recorded,
whatever it is, before the next item starts.

A PR run (`run_paired`) times the PR's build and its merge base's build side
by side in one job, each item's rounds stopping as soon as its verdict is
decided, or as soon as the cap would not decide it either
(bot/stats.judge_rounds, asked at the planned looks: after 3, 4, 6, 9, ...
pairs of children, bot/engine/timing.py), and the progress shows each
look's rounds and interval. Each pair of an item's children is forked from a
pair of fork servers of its own (bot/engine/server_pairs.py), so the pairs
are independent draws of a process's luck and the interval over them counts
it. A timed change is therefore not rerun: the rerun that used to confirm a
change close to the margin drew one more process's luck, which the pairs now
draw three to twelve times. An item whose PR side gave a wrong answer is
timed for one pair only (its latency gets no verdict), and measured once
more at the end of the job (attempt 2), with new servers and children,
before it is reported; bot/verdicts.py calls it flaky when the rerun answers
right, and judges the rerun's rounds.

On a board that counts instructions (the emulated AArch64 board, devices.yml
`metric: instructions`) nothing is timed: each item is counted once per side
(bot/engine/counting.py), TFLite's interpreter is counted on the same board
per workload, and nothing is rerun, since a count repeats exactly.

Everything that can be refused (an unknown device, a bad model, a missing
tuning database, an unreachable tracker, a target the TVM under test cannot
use) is checked before the run is written, so bad input leaves the database
as it was.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np

from bot import __version__, stats
from bot.child import MEASURE_SCRIPT, REFERENCE_SCRIPT
from bot.devices import Device
from bot.engine import counting, isolation, tuning_databases
from bot.engine.boards import instructions
from bot.engine.boards.host import host_cpu
from bot.engine.children import child_device, child_env, own_runtime, started_servers
from bot.engine.server_pairs import ServerPairs
from bot.engine.suite import inception
from bot.engine.suite.suites import Suite
from bot.engine.suite.workloads import Workload, make_inputs, materialize
from bot.engine.timing import Pair, Plan, Side, time_alone, time_pair
from bot.errors import BadModel, Cancelled
from bot.verdicts import changed_functions
from bot.vocabulary import (
    ENVIRONMENT_ERROR,
    LAYOUTS,
    OK,
    PAIRED_MIN_EFFECT,
    PIPELINES,
    STOPPED_AT_CAP,
    STOPPED_CANNOT_DECIDE,
    STOPPED_CHANGED,
    STOPPED_UNCHANGED,
    STOPPED_WRONG,
    UNCHANGED,
    WRONG_RESULT,
)


@dataclass(frozen=True)
class Config:
    """How a workload is compiled: data layout and pipeline."""

    layout: str
    pipeline: str

    @property
    def name(self) -> str:
        return f"{self.layout}/{self.pipeline}"


def configs(tuning: bool) -> list[Config]:
    pipelines = PIPELINES if tuning else PIPELINES[:1]
    return [Config(layout, pipeline) for pipeline in pipelines for layout in LAYOUTS]


@dataclass(frozen=True)
class Subject:
    """What a run is of: which TVM build (its interpreter and environment variables), and where it came from.

    `variables` are set for the TVM children (a source build's PYTHONPATH and
    TVM_LIBRARY_PATH); `build` is what is recorded about the build (native
    key, Python tree, how it was made).
    """

    python: Path
    env: str
    kind: str = "local"  # local | base | pr
    repo: str | None = None
    sha: str | None = None
    pr: int | None = None
    base_sha: str | None = None
    commit_time: str | None = None
    job_id: int | None = None
    variables: dict[str, str] = field(default_factory=dict)
    build: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> str:
        """What runs its modules: a source build's runtime key (bot/engine/builds/), else the environment; and
        the AArch64 runtime it brings for the emulated board, where it brings one (bot/engine/arm_runtime.py)."""
        own = self.build.get("runtime") or self.env
        arm = self.build.get("aarch64_runtime")
        return f"{own} + aarch64 {Path(arm).name}" if arm else own


@dataclass
class Reference:
    inputs: list[Path]
    outputs: list[Path]
    samples_ms: list[float]
    seconds: float


@dataclass
class ItemResult:
    """One item's outcome as recorded: the build's (or the PR's) side, and for a PR run its base's side."""

    workload: Workload
    config: Config
    status: str
    samples_ms: list[float] = field(default_factory=list)
    tflite_samples_ms: list[float] = field(default_factory=list)
    max_abs_diff: float | None = None
    mismatch_fraction: float | None = None
    error: str | None = None
    compile_s: float | None = None
    measure_s: float | None = None
    wall_s: float = 0.0
    versions: dict = field(default_factory=dict)
    code_hash: str | None = None
    code_functions: dict[str, str] = field(default_factory=dict)  # a hash per compiled function (child/measure.py)
    attempt: int = 1
    tuned_tasks: int | None = None  # a tuned item: tasks the database had records for
    untuned_tasks: int | None = None  # ... and tasks it had none for (left unscheduled: not a tuned latency)
    base: Side | None = None  # a PR run: what the merge base's build did with the same item
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (base ms, PR ms) per round
    round_order: str = ""  # ... which side each round timed first: b (base) or p (PR), a letter a round
    judged: stats.Comparison | None = None  # ... the verdict the rounds stopped at (bot/stats.judge_rounds)
    stopped: str | None = None  # ... and why: decided unchanged or changed, cap, cannot decide, wrong result
    looks: stats.Looks | None = None  # ... the sequential design they were timed under
    margin: float | None = None  # ... and the verdict's margin (the minimum effect, or the series' noise)
    same_runtime: bool = True  # a PR run: both builds run their modules with the same runtime (Subject.runtime)
    instructions: instructions.Count | None = None  # an instruction-counting board: one inference, counted
    tflite_instructions: instructions.Count | None = None  # ... and TFLite's interpreter on the same board
    module_stats: instructions.ModuleStats | None = None  # the compiled module as linked for the board
    board: dict = field(default_factory=dict)  # what served the item: runtime and emulator, as the board says

    @property
    def base_instructions(self) -> instructions.Count | None:
        return self.base.data.get("count") if self.base is not None else None

    @property
    def instruction_ratio(self) -> float | None:
        """TVM's instructions over TFLite's for one inference: below 1, TVM executes fewer."""
        tvm, tfl = self.instructions, self.tflite_instructions
        return tvm.total / tfl.total if tvm and tfl and tfl.total else None

    @property
    def same_code(self) -> bool:
        """The same compiled code on the same runtime: nothing to time (another runtime is timed, bot/engine/builds/)."""
        same = self.base is not None and self.code_hash is not None and self.code_hash == self.base.code_hash
        return same and self.same_runtime

    @property
    def changed_functions(self) -> list[str] | None:
        """A PR item beside its base: the compiled functions whose code differs (None when not known)."""
        if self.base is None or not self.code_functions or not self.base.data.get("code_functions"):
            return None
        return changed_functions(self.base.data["code_functions"], self.code_functions)

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.samples_ms) if self.samples_ms else None

    @property
    def tflite_median_ms(self) -> float | None:
        return statistics.median(self.tflite_samples_ms) if self.tflite_samples_ms else None

    @property
    def ratio(self) -> float | None:
        tvm, tfl = self.median_ms, self.tflite_median_ms
        return tvm / tfl if tvm and tfl else None

    @property
    def error_line(self) -> str:
        """The error's first line, for a progress line; empty for an item that went well."""
        return (self.error or "").splitlines()[0] if self.error and self.status != "ok" else ""


class RunProgress(Protocol):
    """Told what a run does: a total, a step at a time, each item's result as it is recorded."""

    def start(self, total: int, title: str) -> None: ...
    def step(self, description: str) -> None: ...
    def done(self, result: ItemResult | None) -> None: ...


class Quiet:
    """RunProgress that shows nothing (tests, the job worker's own logging)."""

    def start(self, total: int, title: str) -> None:
        pass

    def step(self, description: str) -> None:
        pass

    def done(self, result: ItemResult) -> None:
        pass


@dataclass
class Timing:
    """Where the wall time of a run went: the harness' own overhead is the rest."""

    wall_s: float = 0.0
    compile_s: float = 0.0
    measure_s: float = 0.0
    tflite_s: float = 0.0

    @property
    def overhead_s(self) -> float:
        return max(self.wall_s - self.compile_s - self.measure_s - self.tflite_s, 0.0)


@dataclass
class RunOutcome:
    run_id: int
    results: list[ItemResult]
    timing: Timing
    complete: bool = True  # False: the run was recorded as aborted (its job's lease was lost at the end)


def plan_of(suite: Suite, device: Device) -> Plan:
    return Plan(
        number=suite.number,
        repeat=suite.repeat,
        warmup=suite.warmup,
        round_repeat=suite.round_repeat,
        pair_rounds=suite.pair_rounds,
        max_rounds=suite.max_rounds,
        block_timeout_s=device.timeout_s,
    )


class Runner:
    """Runs suites; one instance per command, holding the store and the cache."""

    def __init__(self, store, cache_dir: Path, progress: RunProgress | None = None, should_stop=None, still_ours=None):
        """`should_stop()` is asked before every item (a lost lease stops the run); `still_ours(run_id)`,
        inside the transaction that completes the run, says whether it may be recorded complete (the job
        worker finishes its job there, and a run whose job was taken over is recorded aborted instead)."""
        self.store = store
        self.cache_dir = Path(cache_dir)
        self.progress = progress or Quiet()
        self.should_stop = should_stop or (lambda: False)
        self.still_ours = still_ours or (lambda run_id: True)
        self._tflite_count_s = 0.0  # the last run's TFLite counting on a counting board, for its Timing
        self._measuring: tuple[Device, Subject] | None = None

    def run(
        self, suite: Suite, device: Device, subject: Subject, tuning: bool = False, *, only: Config | None = None
    ) -> RunOutcome:
        """One build alone: local tries and base-branch commits (`only`: one configuration of each workload)."""
        return self._run(suite, device, subject, None, tuning, only=only)

    def run_paired(
        self,
        suite: Suite,
        device: Device,
        base: Subject,
        pr: Subject,
        tuning: bool = False,
        *,
        confirm: bool = True,
        skip_same_code: bool = True,
        only: Config | None = None,
        margin: float | None = None,
    ) -> RunOutcome:
        """A PR's build beside its merge base's, in one job (recorded as the PR's run, with both sides).

        `confirm` reruns the items whose PR side answered wrong where the base's did not (attempt 2; a timed
        change is never rerun: see the module's docstring); `skip_same_code=False` times identical code too (for A/A measurements); `only` measures
        one configuration of each workload (a bisect's probe); `margin` replaces the verdict's margin (the
        minimum effect, or the series' own noise where larger) for every item (a bisect probe's midpoint).
        """
        skip_same_code = skip_same_code and pr.runtime == base.runtime  # the same code on another runtime is timed
        return self._run(suite, device, pr, base, tuning, confirm=confirm, skip_same_code=skip_same_code, only=only,
                         margin=margin)  # fmt: skip

    def _run(self, suite, device, subject, base, tuning, *, confirm=True, skip_same_code=True, only=None, margin=None):
        started = time.perf_counter()
        self._tflite_count_s = 0.0
        self._measuring = (device, subject)  # what the run's first board report is judged against (own_runtime)
        items = [(w, c) for w in suite.workloads for c in configs(tuning) if only is None or c == only]
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="perfbot-run-", dir=self.cache_dir) as scratch:
            scratch = Path(scratch)
            self.progress.start(len(items), f"{suite.name} on {device.name}")  # what the table counts
            references = self._references(suite, device, scratch)
            servers = ServerPairs(partial(started_servers, device, subject, base, scratch))
            try:
                servers.servers(0)
                tflite_counts, cannot = (
                    self._tflite_counts(suite, device, subject, references, scratch) if device.counts else ({}, None)
                )
            except BaseException:
                servers.kill()
                raise
            if cannot:  # the board cannot count: every item says so, and nothing is half-measured
                servers.close()
                return self.record_unbuildable(suite, device, subject, ENVIRONMENT_ERROR, cannot, tuning)
            fields = self._run_fields(suite, device, subject, base, tuning)
            server = servers.servers(0)[0]  # the subject's: what its TVM compiles for (base's TVM may name it alike)
            fields.update(compiled_for=server.compiled_for, cpu_fallback=server.cpu_fallback)
            run_id = self.store.start_run(**fields)
            if any(w.name == "inception_v3" for w in suite.workloads):  # for the network's time breakdown
                self.store.record_network_parts("inception_v3", inception.conv_counts())
            timing = Timing(tflite_s=sum(r.seconds for r in references.values()) + self._tflite_count_s)
            results: list[ItemResult] = []
            plan = plan_of(suite, device)
            try:
                work = [(w, c, 1) for w, c in items]
                while work:
                    if work[0][2] > 1:  # a wrong answer is checked again by new processes, servers and all
                        servers.close()
                        servers = ServerPairs(partial(started_servers, device, subject, base, scratch / "attempt2"))
                    again = []
                    for workload, config, attempt in work:
                        if self.should_stop():
                            raise Cancelled(f"run {run_id} stopped before {workload.key} {config.name}")
                        self.progress.step(f"{workload.key} {config.name}" + (" (rerun)" if attempt > 1 else ""))
                        folder = scratch / f"item{len(results)}"
                        result = self._item(
                            servers,
                            workload,
                            config,
                            device,
                            references[workload.key],
                            folder,
                            plan,
                            attempt,
                            skip_same_code,
                            margin,
                        )
                        result.same_runtime = base is None or subject.runtime == base.runtime
                        result.tflite_instructions = tflite_counts.get(workload.key)
                        self._record(run_id, result, with_versions=not any(r.versions for r in results))
                        results.append(result)
                        timing.compile_s += result.compile_s or 0.0
                        timing.measure_s += result.measure_s or 0.0
                        if attempt == 1 and base is not None and confirm and self._needs_rerun(device, result):
                            again.append((workload, config, 2))
                        else:
                            self.progress.done(result)
                    work = again
            except BaseException:
                servers.kill()  # now, with the item they run: not after the item's own end
                self.store.finish_run(run_id, "aborted")
                raise
            finally:
                servers.close()
            complete = self._complete(run_id)
        timing.wall_s = time.perf_counter() - started
        return RunOutcome(run_id, results, timing, complete)

    def _complete(self, run_id: int) -> bool:
        """Record the run complete, or aborted when it is no longer ours to record (see __init__)."""
        with self.store.transaction():
            ours = not self.should_stop() and self.still_ours(run_id)
            self.store.finish_run(run_id, "complete" if ours else "aborted")
        return ours

    def record_unbuildable(
        self, suite: Suite, device: Device, subject: Subject, status: str, error: str, tuning: bool = False
    ) -> RunOutcome:
        """A run of a build that could not be made, or on a board that cannot count: every item `status`
        (build_error, environment_error), with why."""
        results = [ItemResult(w, c, status, error=error) for w in suite.workloads for c in configs(tuning)]
        with self.store.transaction():
            run_id = self.store.start_run(**self._run_fields(suite, device, subject, None, tuning))
            for r in results:
                self.store.add_result(
                    run_id,
                    workload=r.workload.name,
                    scheme=r.workload.scheme,
                    layout=r.config.layout,
                    pipeline=r.config.pipeline,
                    status=r.status,
                    error=r.error,
                    workload_hash=r.workload.content_hash,
                    attempt=1,
                )
            complete = self._complete(run_id)
        for r in results:
            self.progress.done(r)
        return RunOutcome(run_id, results, Timing(), complete)

    def _run_fields(self, suite: Suite, device: Device, subject: Subject, base: Subject | None, tuning: bool) -> dict:
        fields = dict(
            suite=suite.name,
            device=device.name,
            arch=device.arch,
            target=device.target,
            threads=device.threads,
            host_cpu=host_cpu() if device.is_local else None,
            emulated=device.emulated,
            tuning=tuning,
            env=subject.env,
            kind=subject.kind,
            repo=subject.repo,
            sha=subject.sha,
            pr=subject.pr,
            base_sha=subject.base_sha,
            commit_time=subject.commit_time,
            job_id=subject.job_id,
            perfbot_version=__version__,
            native_key=subject.build.get("native_key"),
            python_tree=subject.build.get("python_tree"),
            build_how=subject.build.get("how"),
            paired=base is not None,
            metric=device.metric,
        )
        if base is not None:
            fields.update(
                base_env=base.env,
                base_native_key=base.build.get("native_key"),
                base_python_tree=base.build.get("python_tree"),
                base_build_how=base.build.get("how"),
            )
        return fields

    def _needs_rerun(self, device: Device, result: ItemResult) -> bool:
        """A PR item to measure once more before its verdict stands: it answered wrong where its base did not.
        Never on a board that counts instructions: a count repeats exactly, and so does an emulated answer.
        A timed change is not rerun: its pairs of processes each drew their own luck already, and the
        interval over them counts it (bot/stats.judge_rounds)."""
        if device.counts:
            return False
        return result.status == WRONG_RESULT and (result.base is None or result.base.status != WRONG_RESULT)

    def _judge(self, device: Device, workload: Workload, config: Config, plan: Plan, margin: float | None):
        """The item's verdict from its rounds so far, as judged at every look: the series' noise read once."""
        if margin is None:
            noise = stats.noise_level(self.store.series_medians(device.name, workload.name, workload.scheme,
                                                                config.layout, config.pipeline))  # fmt: skip
            minimum = PAIRED_MIN_EFFECT
        else:
            noise, minimum = None, margin

        def judge(rounds: list[tuple[float, float]]) -> stats.Comparison:
            return stats.judge_rounds(rounds, looks=plan.looks, min_effect=minimum, noise=noise)

        return judge

    def _rounds_until_decided(self, device: Device, workload: Workload, config: Config, judge):
        """time_pair's `enough`: shows each look's rounds and interval, and stops when the verdict is done
        (decided, or the cap would not decide it).
        Emulated latency is never judged: one pair's rounds are enough to record it."""
        if device.emulated:
            return lambda rounds: True

        def enough(rounds: list[tuple[float, float]]) -> bool:
            verdict = judge(rounds)
            shown = verdict.interval_text if verdict.change is not None else "no interval yet"
            self.progress.step(f"{workload.key} {config.name}: {len(rounds)} rounds, {shown}")
            return verdict.done

        return enough

    def _references(self, suite: Suite, device: Device, scratch: Path) -> dict[str, Reference]:
        """TFLite outputs (and latency, where the device has a baseline) for every workload, in one child."""
        items = []
        for workload in suite.workloads:
            self.progress.step(f"{workload.key} TFLite")
            model = materialize(workload, self.cache_dir)
            folder = scratch / f"ref-{workload.content_hash[:16]}"
            folder.mkdir(parents=True, exist_ok=True)
            inputs = []
            for i, array in enumerate(make_inputs(model, seed=workload.seed)):
                inputs.append(folder / f"input_{i}.npy")
                np.save(inputs[-1], array)
            items.append({"model": str(model), "inputs": [str(p) for p in inputs], "folder": str(folder)})
        spec = {
            "items": items,
            "threads": device.threads,
            "measure": device.tflite_baseline,
            "number": suite.number,
            "repeat": suite.repeat,
            "warmup": suite.warmup,
        }
        # The reference is perfbot's own interpreter and TFLite, not the TVM under test: the item limit is
        # for TVM, and starting Python alone can take a second on a busy machine.
        timeout_s = max(device.timeout_s, 60.0) * max(len(items), 1)
        outcome = isolation.run_script(
            _own_python(), REFERENCE_SCRIPT, spec, scratch / "reference", timeout_s=timeout_s
        )
        done = outcome.data.get("items", [])
        references = {}
        for workload, item, result in zip(suite.workloads, items, done + [None] * (len(items) - len(done))):
            if result is None or result.get("status") != "ok":
                detail = (result or {}).get("error") or outcome.error or outcome.status
                raise BadModel(f"{item['model']}: the TFLite interpreter cannot run it ({detail})")
            references[workload.key] = Reference(
                [Path(p) for p in item["inputs"]],
                [Path(p) for p in result["outputs"]],
                result.get("samples_ms", []),
                result.get("measure_s", 0.0),
            )
        return references

    def _item(
        self, servers: ServerPairs, workload, config, device, reference, workdir, plan, attempt, skip_same_code, margin
    ):
        spec = {
            "op": "measure",
            "model": str(materialize(workload, self.cache_dir)),
            "inputs": [str(p) for p in reference.inputs],
            "reference": [str(p) for p in reference.outputs],
            "tolerance": workload.tolerance,
            "layout": config.layout,
            "pipeline": config.pipeline,
            "tuning_dir": str(tuning_databases.database_for(self.cache_dir, device)),
            "retarget": device.emulated,
            "target": device.target,
            "threads": device.threads,
            "device": child_device(device),
        }
        # The child's whole life: compiling and loading, then its blocks (never more than the cap's; each block
        # is also limited on its own).
        limit = device.timeout_s * (2 + plan.max_rounds)
        judged = judge = None
        round_order = ""
        first = servers.servers(0)  # started with the run: counting and timing alone need no other pair
        if device.counts:
            side, base, rounds = self._count(first, spec, workdir, device, skip_same_code), None, []
            if isinstance(side, Pair):
                side, base = side.pr, side.base
        elif len(first) == 1:
            side, base, rounds = time_alone(first[0], spec, workdir, plan, limit), None, []
        else:
            judge = self._judge(device, workload, config, plan, margin)
            pair: Pair = time_pair(servers, spec, workdir, plan, limit, skip_same_code=skip_same_code,
                                   enough=self._rounds_until_decided(device, workload, config, judge))  # fmt: skip
            side, base, rounds, round_order = pair.pr, pair.base, pair.rounds, pair.first
            judged = judge(rounds) if rounds and not device.emulated and side.status == OK else None
        data = side.data
        return ItemResult(
            workload=workload,
            config=config,
            status=side.status,
            samples_ms=side.samples_ms,
            tflite_samples_ms=reference.samples_ms,
            max_abs_diff=data.get("max_abs_diff"),
            mismatch_fraction=data.get("mismatch_fraction"),
            error=side.error,
            compile_s=data.get("compile_s"),
            measure_s=_measure_s(data) + (_measure_s(base.data) if base else 0.0),
            wall_s=side.wall_s,
            versions={k: data.get(k) for k in ("tvm_version", "tvm_ffi_version", "tvm_commit") if data.get(k)},
            code_hash=side.code_hash,
            code_functions=data.get("code_functions") or {},
            attempt=attempt,
            untuned_tasks=data.get("untuned_tasks"),
            tuned_tasks=data.get("tuned_tasks"),
            base=base,
            rounds=rounds,
            round_order=round_order,
            judged=judged,
            stopped=stopped_by(side.status, rounds, judged),
            looks=plan.looks if rounds else None,
            margin=judged.threshold if judged is not None else None,
            instructions=data.get("count"),
            module_stats=data.get("module_stats"),
            board=data.get("board") or (base.data.get("board") if base else None) or {},
        )

    def _count(self, servers, spec: dict, workdir: Path, device: Device, skip_same_code: bool) -> Side | Pair:
        """An item on an instruction-counting board: alone, or the PR's build beside its base's."""
        limit = device.timeout_s * 3  # compiling, then running and checking, then one counted inference
        if len(servers) == 1:
            return counting.count_alone(servers[0], spec, workdir, limit, device.timeout_s)
        return counting.count_pair(
            servers[1], servers[0], spec, workdir, limit, device.timeout_s, skip_same_code=skip_same_code
        )

    def _tflite_counts(
        self, suite: Suite, device: Device, subject: Subject, references: dict[str, Reference], scratch: Path
    ) -> tuple[dict[str, instructions.Count], str | None]:
        """TFLite's instructions per workload on the counting board (kept between runs: counting.KeptTfliteCounts;
        the ones not kept counted in one child and one session); or why the board could not count them (the run
        is then recorded with every item an environment_error saying so: a board that cannot count TFLite on its
        emulated core cannot count TVM there either)."""
        kept = counting.KeptTfliteCounts(self.cache_dir, device)
        raws = {w.key: kept.get(w.content_hash) for w in suite.workloads}
        missing = [w for w in suite.workloads if raws[w.key] is None]
        started = time.perf_counter()
        if missing:
            spec = {
                "op": "count_tflite",
                "device": child_device(device),
                "threads": device.threads,
                "items": [
                    {"key": w.key, "model": str(materialize(w, self.cache_dir)),
                     "inputs": [str(p) for p in references[w.key].inputs]}
                    for w in missing
                ],
            }  # fmt: skip
            self.progress.step(f"TFLite's instructions on {device.name}")
            outcome = isolation.run_script(
                subject.python, MEASURE_SCRIPT, spec, scratch / "tflite-counts",
                timeout_s=device.timeout_s * len(missing), env=child_env(device, subject),
            )  # fmt: skip
            counted = {item["key"]: item["instructions"] for item in outcome.data.get("items", [])}
            if outcome.status != "ok" or len(counted) < len(missing):
                why = (outcome.error or outcome.status or "?").splitlines()[0].removeprefix("RuntimeError: ")
                return {}, f"TFLite on {device.name}: {why}"
            for w in missing:
                kept.put(w.content_hash, counted[w.key])
                raws[w.key] = counted[w.key]
        self._tflite_count_s = time.perf_counter() - started
        return {key: instructions.attribute(raw) for key, raw in raws.items()}, None

    def _record(self, run_id: int, result: ItemResult, with_versions: bool) -> None:
        with self.store.transaction():
            if with_versions and result.versions:
                self.store.update_run(run_id, **result.versions)
                if result.base is not None and result.base.data.get("tvm_version"):
                    self.store.update_run(run_id, base_tvm_version=result.base.data["tvm_version"])
            if result.board and not self.store.run(run_id).get("device_runtime"):
                board = {**result.board, "compiled_by": result.versions.get("tvm_version")}
                self.store.update_run(run_id, device_runtime=board.get("runtime"), emulator=board.get("emulator"),
                                      own_runtime=own_runtime(*self._measuring, board))  # fmt: skip
            base = result.base
            self.store.add_result(
                run_id,
                workload=result.workload.name,
                scheme=result.workload.scheme,
                layout=result.config.layout,
                pipeline=result.config.pipeline,
                status=result.status,
                samples_ms=result.samples_ms,
                median_ms=result.median_ms,
                tflite_samples_ms=result.tflite_samples_ms,
                tflite_median_ms=result.tflite_median_ms,
                ratio=result.ratio,
                max_abs_diff=result.max_abs_diff,
                mismatch_fraction=result.mismatch_fraction,
                error=result.error,
                compile_s=result.compile_s,
                wall_s=result.wall_s,
                workload_hash=result.workload.content_hash,
                code_hash=result.code_hash,
                code_functions=result.code_functions or None,
                attempt=result.attempt,
                tuned_tasks=result.tuned_tasks,
                untuned_tasks=result.untuned_tasks,
                **_counted(result),
                **(
                    dict(
                        base_status=base.status,
                        base_samples_ms=base.samples_ms,
                        base_median_ms=statistics.median(base.samples_ms) if base.samples_ms else None,
                        base_code_hash=base.code_hash,
                        base_code_functions=base.data.get("code_functions"),
                        changed_functions=result.changed_functions,
                        base_max_abs_diff=base.data.get("max_abs_diff"),
                        base_error=base.error,
                        rounds=[list(r) for r in result.rounds],
                        round_order=result.round_order or None,
                        same_code=result.same_code,
                        stopped=result.stopped,
                        pair_rounds=result.looks.every if result.looks else None,
                        max_rounds=result.looks.cap if result.looks else None,
                        margin=result.margin,
                    )
                    if base is not None
                    else {}
                ),
            )


def _measure_s(data: dict) -> float:
    """A side's time on the device: its timing blocks, or on a counting board its run, check and count there."""
    if data.get("count_s") is not None:
        return (data.get("load_s") or 0.0) + data["count_s"]
    return data.get("measure_s") or 0.0


def _counted(result: ItemResult) -> dict:
    """The result's instruction counts and module statistics as the store's columns (none on a timed board)."""
    fields: dict = {}
    count, tflite, stats_ = result.instructions, result.tflite_instructions, result.module_stats
    if count is not None:
        fields.update(instructions=count.total, functions=count.functions, instruction_ratio=result.instruction_ratio)
    if tflite is not None:
        fields.update(tflite_instructions=tflite.total, tflite_functions=tflite.functions)
    if stats_ is not None:
        fields.update(kernels=stats_.kernels, code_bytes=stats_.code_bytes)
    base = result.base
    if base is not None:
        if base.data.get("count") is not None:
            fields.update(base_instructions=base.data["count"].total, base_functions=base.data["count"].functions)
        if base.data.get("module_stats") is not None:
            fields.update(base_kernels=base.data["module_stats"].kernels,
                          base_code_bytes=base.data["module_stats"].code_bytes)  # fmt: skip
        fields["base_compile_s"] = base.data.get("compile_s")
    return fields


def stopped_by(status: str, rounds: list, judged: stats.Comparison | None) -> str | None:
    """Why an item's rounds stopped, as the store records it: a wrong answer, decided unchanged or changed, the
    cap, or undecided where the cap would not decide it."""
    if rounds and status == WRONG_RESULT:
        return STOPPED_WRONG
    if judged is None:
        return None
    if judged.decided:
        return STOPPED_UNCHANGED if judged.verdict == UNCHANGED else STOPPED_CHANGED
    if judged.hopeless:
        return STOPPED_CANNOT_DECIDE
    return STOPPED_AT_CAP if judged.final else None


def _own_python() -> str:
    return sys.executable
