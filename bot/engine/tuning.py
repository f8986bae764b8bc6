"""`perfbot tune`: MetaSchedule databases per (device, target, workload, layout).

Tuning runs in a child process in the TVM environment, like every measurement:
a segfault inside MetaSchedule (apache-tvm 0.27.0.post1 with apache-tvm-ffi
0.1.15.post2 does that) is recorded as `crash` and the next workload is tuned.
A database is written to a temporary folder and moved into place only when
tuning finished, so `perfbot run --tuning` never reads a half-written one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.child import MEASURE_SCRIPT
from bot.devices import Device
from bot.engine import isolation
from bot.engine.runner import Subject, child_env, tuning_dir, worker_device
from bot.engine.suite.suites import Suite
from bot.engine.suite.workloads import Workload, materialize
from bot.vocabulary import LAYOUTS

#: Seconds allowed per trial on top of the device's item limit.
SECONDS_PER_TRIAL = 6.0


@dataclass
class TuneResult:
    workload: Workload
    layout: str
    status: str
    seconds: float
    database: Path | None
    error: str | None


def tune_suite(
    store, cache_dir: Path, suite: Suite, device: Device, target: Subject, trials: int, progress=None
) -> list[TuneResult]:
    results = []
    items = [(w, layout) for w in suite.workloads for layout in LAYOUTS]
    if progress:
        progress.start(len(items), f"tune {suite.name} on {device.name}")
    for number, (workload, layout) in enumerate(items):
        if progress:
            progress.step(f"{workload.key} {layout}")
        final = tuning_dir(cache_dir, device, workload, layout)
        staging = final.with_name(final.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        spec = {
            "op": "tune",
            "model": str(materialize(workload, cache_dir)),
            "layout": layout,
            "target": device.target,
            "threads": device.threads,
            "device": worker_device(device),
            "trials": trials,
            "tuning_dir": str(staging),
        }
        outcome = isolation.run_script(
            target.python,
            MEASURE_SCRIPT,
            spec,
            cache_dir / "tuning-work" / f"{device.name}-{number}",
            timeout_s=device.timeout_s + trials * SECONDS_PER_TRIAL,
            env=child_env(device),
        )
        database = None
        if outcome.status == "ok":
            shutil.rmtree(final, ignore_errors=True)
            staging.rename(final)
            database = final
        else:
            shutil.rmtree(staging, ignore_errors=True)
        error = None if outcome.status == "ok" else "\n".join(p for p in (outcome.error, outcome.log_tail) if p)
        store.record_tuning(
            device=device.name,
            target=device.target,
            workload=workload.name,
            scheme=workload.scheme,
            layout=layout,
            trials=trials,
            status=outcome.status,
            duration_s=outcome.wall_s,
            database_dir=str(database) if database else None,
            error=error,
            tvm_version=outcome.data.get("tvm_version"),
            tvm_ffi_version=outcome.data.get("tvm_ffi_version"),
        )
        result = TuneResult(workload, layout, outcome.status, outcome.wall_s, database, error)
        results.append(result)
        if progress:
            progress.done(None)
    return results
