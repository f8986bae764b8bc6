"""Run a suite on one device with one TVM environment, and record it.

For every workload: generate the model, draw its inputs, run the TFLite
reference once (outputs, and latency where the device has a TFLite baseline).
Then for every (workload, configuration): one child process in the TVM
environment under test compiles, runs, checks and times it (bot/child/measure.py),
and the outcome is recorded, whatever it is, before the next item starts.

Everything that can be refused (an unknown device, a bad model, a missing
tuning database, an unreachable tracker) is checked before the run is
written, so bad input leaves the database as it was.
"""

from __future__ import annotations

import hashlib
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from bot import __version__
from bot.child import MEASURE_SCRIPT, REFERENCE_SCRIPT
from bot.devices import Device
from bot.engine import isolation
from bot.engine.suite.suites import Suite
from bot.engine.suite.workloads import Workload, make_inputs, materialize
from bot.errors import BadModel, Cancelled, PerfbotError
from bot.vocabulary import LAYOUTS, PIPELINES


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
class Target:
    """What a run is of: which TVM build, and where it came from."""

    python: Path
    env: str
    kind: str = "local"  # local | base | pr
    repo: str | None = None
    sha: str | None = None
    pr: int | None = None
    base_sha: str | None = None
    commit_time: str | None = None
    job_id: int | None = None


@dataclass
class Reference:
    inputs: list[Path]
    outputs: list[Path]
    samples_ms: list[float]
    seconds: float


@dataclass
class ItemResult:
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


class Progress(Protocol):
    def start(self, total: int, title: str) -> None: ...
    def step(self, description: str) -> None: ...
    def done(self, result: ItemResult) -> None: ...


class Quiet:
    """Progress that shows nothing (tests, the job worker's own logging)."""

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


def tuning_dir(cache_dir: Path, device: Device, workload: Workload, layout: str) -> Path:
    """Where `perfbot tune` keeps the MetaSchedule database of one (device, target, workload, layout)."""
    target = device.target_json
    if device.target == "host":
        target += platform.machine() + host_cpu()
    target_hash = hashlib.sha256(target.encode()).hexdigest()[:12]
    return cache_dir / "tuning" / device.name / target_hash / f"{workload.content_hash[:16]}-{layout}"


def host_cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def worker_device(device: Device) -> dict:
    if device.rpc is None:
        return {"kind": "local"}
    return {
        "kind": "rpc",
        "host": device.rpc.host,
        "port": device.rpc.port,
        "key": device.rpc.key,
        "cross_compiler": device.cross_compiler,
        "session_timeout": int(device.timeout_s),
    }


def child_env(device: Device) -> dict[str, str]:
    return {"TVM_NUM_THREADS": str(device.threads), "OMP_NUM_THREADS": str(device.threads)}


class Runner:
    """Runs suites; one instance per command, holding the store and the cache."""

    def __init__(self, store, cache_dir: Path, progress: Progress | None = None, should_stop=None):
        self.store = store
        self.cache_dir = Path(cache_dir)
        self.progress = progress or Quiet()
        self.should_stop = should_stop or (lambda: False)

    def run(self, suite: Suite, device: Device, target: Target, tuning: bool = False) -> RunOutcome:
        started = time.perf_counter()
        items = [(w, c) for w in suite.workloads for c in configs(tuning)]
        if tuning:
            self._require_tuning(suite, device)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="perfbot-run-", dir=self.cache_dir) as scratch:
            scratch = Path(scratch)
            self.progress.start(len(items) + len(suite.workloads), f"{suite.name} on {device.name}")
            references = self._references(suite, device, scratch)
            run_id = self.store.start_run(
                suite=suite.name,
                device=device.name,
                arch=device.arch,
                target=device.target,
                threads=device.threads,
                host_cpu=host_cpu() if device.is_local else None,
                emulated=device.emulated,
                tuning=tuning,
                env=target.env,
                kind=target.kind,
                repo=target.repo,
                sha=target.sha,
                pr=target.pr,
                base_sha=target.base_sha,
                commit_time=target.commit_time,
                job_id=target.job_id,
                perfbot_version=__version__,
            )
            timing = Timing(tflite_s=sum(r.seconds for r in references.values()))
            results: list[ItemResult] = []
            server = isolation.ForkServer(target.python, MEASURE_SCRIPT, scratch / "server", child_env(device))
            try:
                for number, (workload, config) in enumerate(items):
                    if self.should_stop():
                        raise Cancelled(f"run {run_id} stopped before {workload.key} {config.name}")
                    self.progress.step(f"{workload.key} {config.name}")
                    result = self._item(
                        server, workload, config, suite, device, references[workload.key], scratch / f"item{number}"
                    )
                    self._record(run_id, result, with_versions=not any(r.versions for r in results))
                    results.append(result)
                    timing.compile_s += result.compile_s or 0.0
                    timing.measure_s += result.measure_s or 0.0
                    self.progress.done(result)
            except BaseException:
                self.store.finish_run(run_id, "aborted")
                raise
            finally:
                server.close()
            self.store.finish_run(run_id, "complete")
        timing.wall_s = time.perf_counter() - started
        return RunOutcome(run_id, results, timing)

    def _require_tuning(self, suite: Suite, device: Device) -> None:
        for workload in suite.workloads:
            for layout in LAYOUTS:
                path = tuning_dir(self.cache_dir, device, workload, layout)
                if not (path / "database_tuning_record.json").is_file():
                    raise PerfbotError(
                        f"no tuning database for {workload.key} {layout} on {device.name} ({path}): "
                        f"run `perfbot tune --suite {suite.name} --device {device.name}` first"
                    )

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
        timeout_s = device.timeout_s * max(len(items), 1)
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
            self.progress.done(None)
        return references

    def _item(self, server, workload, config, suite, device, reference, workdir) -> ItemResult:
        spec = {
            "op": "measure",
            "model": str(materialize(workload, self.cache_dir)),
            "inputs": [str(p) for p in reference.inputs],
            "reference": [str(p) for p in reference.outputs],
            "tolerance": workload.tolerance,
            "layout": config.layout,
            "pipeline": config.pipeline,
            "tuning_dir": str(tuning_dir(self.cache_dir, device, workload, config.layout)),
            "target": device.target,
            "threads": device.threads,
            "device": worker_device(device),
            "number": suite.number,
            "repeat": suite.repeat,
            "warmup": suite.warmup,
        }
        outcome = server.run(spec, workdir, device.timeout_s)
        data = outcome.data
        error = None
        if outcome.status != "ok":
            error = "\n".join(part for part in (outcome.error, outcome.log_tail) if part)
        return ItemResult(
            workload=workload,
            config=config,
            status=outcome.status,
            samples_ms=data.get("samples_ms") or [],
            tflite_samples_ms=reference.samples_ms,
            max_abs_diff=data.get("max_abs_diff"),
            mismatch_fraction=data.get("mismatch_fraction"),
            error=error,
            compile_s=data.get("compile_s"),
            measure_s=data.get("measure_s"),
            wall_s=outcome.wall_s,
            versions={k: data.get(k) for k in ("tvm_version", "tvm_ffi_version", "tvm_commit") if data.get(k)},
        )

    def _record(self, run_id: int, result: ItemResult, with_versions: bool) -> None:
        with self.store.transaction():
            if with_versions and result.versions:
                self.store.update_run(run_id, **result.versions)
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
            )


def _own_python() -> str:
    import sys

    return sys.executable
