"""Tuning: one MetaSchedule database per device and target, shared by every workload, kept across commits.

TVM 0.27's default CPU pipeline applies no schedules; TVM is deployed tuned.
`tune_suite` tunes every MetaSchedule task of a suite's items (each task once,
however many workloads share it: the NCHW conv of a layer is the same task in
both schemes, a conv suite layer is the same task inside Inception-v3) that
has fewer than the asked trials in the device's database, in one child
process in the TVM environment under test (bot/child/tune.py):
a rerun resumes where a stopped one ended, and a crash inside MetaSchedule
(apache-tvm 0.27.0.post1 with apache-tvm-ffi 0.1.15.post2 does that) is a
recorded `crash`, not a crash of the bot.

The database lives in CACHE/tuning/<device>/<target hash>/, where every
worker of the host finds it, next to `provenance.json`: the TVM version and
commit, the trials, the date and the device of every tuning that added to it.
A tuning works on a copy (`<database>.work`) that replaces the database only
when it finished, so a measurement never reads a half-written one; a stopped
tuning leaves its copy, and the next one goes on from it (bot/engine/
tuning_databases.py keeps the databases, and moves them as one file).

Both sides of a PR's side-by-side comparison apply this same database, so a
tuned row compares the PR's code with the base's under the same schedules.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot import __version__
from bot.child import MEASURE_SCRIPT, TUNE_SCRIPT
from bot.console import Say
from bot.devices import Device
from bot.engine import isolation
from bot.engine.boards.host import host_cpu
from bot.engine.children import check_target, child_device, child_env
from bot.engine.runner import Subject
from bot.engine.suite.suites import Suite
from bot.engine.suite.workloads import materialize
from bot.engine.tuning_databases import database_dir, replace
from bot.errors import Cancelled
from bot.vocabulary import LAYOUTS

#: Seconds allowed per trial on top of the device's item limit.
SECONDS_PER_TRIAL = 10.0
#: Processes that build candidates (measuring stays one at a time: two would time each other).
BUILD_WORKERS = max(2, min(os.cpu_count() or 2, 8))


@dataclass
class TuneOutcome:
    """What one tuning did: per task, the trials it had before and after, and how fast it went."""

    status: str  # ok | compile_error | crash | timeout | cancelled | environment_error
    seconds: float
    tasks: list[dict] = field(default_factory=list)  # {task, hash, items, before, after}
    trials: int = 0
    trials_per_s: float = 0.0
    database: Path | None = None
    error: str | None = None

    @property
    def skipped(self) -> int:
        """Tasks that already had the asked trials: nothing to do for them."""
        return sum(1 for t in self.tasks if t.get("after", t["before"]) == t["before"] and t["before"] > 0)


def tune_suite(
    store,
    cache_dir: Path,
    suite: Suite,
    device: Device,
    subject: Subject,
    trials: int,
    say: Say | None = None,
    should_stop=None,
    overrides: dict | None = None,
) -> TuneOutcome:
    """Tune the suite's tasks on the device up to `trials` each; record it; see the module docstring.

    `overrides` change the tune child's settings (population, generations, workers, `stock` for
    MetaSchedule's own): for benchmarks/tuning_speed.py, which compares them.
    """
    say = say or (lambda line: None)
    cache_dir = Path(cache_dir)
    # The target first, by the TVM under test: one line naming devices.yml, before anything is copied or recorded.
    env = child_env(device, subject)
    check = cache_dir / "tuning-work" / "check"
    with isolation.ForkServer(
        subject.python, MEASURE_SCRIPT, check, env, spec={"device": child_device(device)}
    ) as server:
        check_target(server, device)
    database = database_dir(cache_dir, device)
    work = database.with_name(database.name + ".work")
    if not work.is_dir():  # a stopped tuning's copy is where the next one goes on
        shutil.rmtree(work, ignore_errors=True)
        if database.is_dir():
            shutil.copytree(database, work)
        else:
            work.mkdir(parents=True)
    models = []
    for workload in suite.workloads:
        path = materialize(workload, cache_dir)
        models += [{"model": str(path), "layout": layout, "key": f"{workload.key} {layout}"} for layout in LAYOUTS]
    spec = {
        "op": "tune",
        "models": models,
        "target": device.target,
        "threads": device.threads,
        "device": child_device(device),
        "trials": trials,
        "database": str(work),
        "work_dir": str(cache_dir / "tuning-work" / device.name),
        "workers": BUILD_WORKERS,
        **(overrides or {}),
    }
    say(f"tuning {len(models)} items of {suite.name} on {device.name}: up to {trials} trials per task")
    shown = {"at": 0.0}

    def show_progress(data: dict) -> None:
        now = time.monotonic()
        if data.get("phase") == "tune" and data.get("tasks_to_tune") and now - shown["at"] >= 15:
            shown["at"] = now
            rate = data.get("trials_per_s") or 0.0
            say(
                f"  {data.get('tasks_tuned', 0)}/{data.get('tasks_to_tune', '?')} tasks tuned "
                f"({data.get('tasks_total', '?')} in all), {data.get('trials_done', 0)} trials, {rate:.2f} trials/s"
            )

    timeout_s = device.timeout_s + len(models) * 3 * trials * SECONDS_PER_TRIAL
    outcome = isolation.run_script(
        subject.python,
        TUNE_SCRIPT,
        spec,
        cache_dir / "tuning-work" / f"{device.name}-child",
        timeout_s=timeout_s,
        env=env,
        watch=show_progress,
        should_stop=should_stop,
    )
    data = outcome.data
    result = TuneOutcome(
        status=outcome.status,
        seconds=outcome.wall_s,
        tasks=data.get("tasks") or [],
        trials=int(data.get("trials_done") or 0),
        trials_per_s=float(data.get("trials_per_s") or 0.0),
        error=None if outcome.status == "ok" else "\n".join(p for p in (outcome.error, outcome.log_tail) if p),
    )
    if outcome.status == "ok":
        _record_provenance(work, device, subject, trials, result, data)
        replace(work, database)
        result.database = database
    _record(store, suite, device, subject, trials, result, data)
    if outcome.status == "cancelled":
        raise Cancelled(f"tuning of {suite.name} on {device.name} stopped; `{work}` keeps its trials")
    say(
        f"tuning {outcome.status}: {result.trials} trials in {result.seconds:.0f} s "
        f"({result.trials_per_s:.2f}/s), {result.skipped} of {len(result.tasks)} tasks already had {trials}"
    )
    return result


def _record_provenance(work: Path, device: Device, subject: Subject, trials: int, result: TuneOutcome, data: dict):
    path = work / "provenance.json"
    history = json.loads(path.read_text()) if path.is_file() else []
    history.append(
        {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "device": device.name,
            "target": device.target,
            "host_cpu": host_cpu() if device.is_local else None,
            "tvm_version": data.get("tvm_version"),
            "tvm_ffi_version": data.get("tvm_ffi_version"),
            "tvm_commit": data.get("tvm_commit") or subject.sha,
            "env": subject.env,
            "trials": trials,
            "trials_measured": result.trials,
            "tasks": len(result.tasks),
            "perfbot_version": __version__,
        }
    )
    path.write_text(json.dumps(history, indent=2))


def _record(store, suite: Suite, device: Device, subject: Subject, trials: int, result: TuneOutcome, data: dict):
    store.record_tuning(
        device=device.name,
        target=device.target,
        workload=suite.name,
        scheme="*",
        layout="*",
        trials=trials,
        status=result.status,
        duration_s=result.seconds,
        database_dir=str(result.database) if result.database else None,
        tvm_version=data.get("tvm_version"),
        tvm_ffi_version=data.get("tvm_ffi_version"),
        error=result.error,
    )
