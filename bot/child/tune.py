"""Runs inside the TVM environment under test: MetaSchedule tuning of a suite's tasks into one database.

Executed by path in a child process (bot/engine/tuning.py, through
bot/engine/isolation.py's `run_script`) with the interpreter of the TVM build
being tuned, so, like measure.py, it imports only the standard library, numpy
and tvm: never `bot`. What it shares with measuring (the result file, the
target, the model's import and layout, the passes tuning and applying agree
on, the failure statuses) it takes from measure.py beside it, loaded by path.

    python tune.py SPEC.json RESULT.json      spec op "tune"

Tested through `perfbot tune` on the real TVM (tests/cli/test_tuning.py, the
`tuned` fixture of tests/cli/conftest.py) and benchmarks/tuning_speed.py; its
ledger and what it loads from measure.py in tests/child/test_tune.py.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import tempfile
import time

#: measure.py's functions, loaded by path: this file runs where perfbot is not installed (bot/child/__init__.py).
#: A name measure.py no longer has stops the load with a KeyError naming it, not a None halfway through a tuning.
MEASURE = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "measure.py"), run_name="measure")
SHARED = ("Result", "versions", "resolve_target", "records_of", "load_model", "convert_layout", "tuning_preprocess")
Result, versions, resolve_target, records_of, load_model, convert_layout, tuning_preprocess = (
    MEASURE[n] for n in SHARED
)


def tuning_tasks(tvm, relax, ms, spec, target) -> dict:
    """Every MetaSchedule task of the spec's models, each once however many models share it.

    Returns {structural hash: {"task": ExtractedTask, "items": [item keys], "weight": summed weight}}:
    a task shared by several workloads (the same conv2d in uint8 and int8, a layer of the conv suite
    inside Inception-v3) is tuned once for all of them.
    """
    import tvm_ffi

    tasks: dict = {}
    for item in spec["models"]:
        mod = load_model(item)
        mod = convert_layout(relax, mod, item["layout"])
        mod = tuning_preprocess(tvm, relax, mod, target)
        for task in ms.relax_integration.extract_tasks(mod, target):
            key = str(tvm_ffi.structural_hash(task.dispatched[0]))
            entry = tasks.setdefault(key, {"task": task, "items": [], "weight": 0})
            entry["items"].append(item["key"])
            entry["weight"] += int(task.weight)
    return tasks


#: Per task (structural hash), the most trials a finished tuning asked for: a task whose search space has fewer
#: distinct candidates, or whose candidates failed to build, never holds that many records, and is still done.
ASKED_FILE = "perfbot_trials_asked.json"


def read_asked(database_dir: str) -> dict:
    path = os.path.join(database_dir, ASKED_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


def write_asked(database_dir: str, asked: dict) -> None:
    """Written whole after every task, through a rename: a stop in between leaves the previous ledger."""
    path = os.path.join(database_dir, ASKED_FILE)
    with open(path + ".tmp", "w") as f:
        json.dump(asked, f, indent=0, sort_keys=True)
    os.replace(path + ".tmp", path)


def tune(spec, result: Result) -> None:
    """Tune every task of the spec's models that has fewer than `trials` measured trials in the database.

    Tasks that already have them are skipped (a rerun resumes where a cancelled one stopped). One
    MetaSchedule run covers every remaining task; candidates are built by `workers` processes (both
    cores) and measured one at a time (measuring two at once would time them against each other).
    Progress goes to the result file after every measured batch, for the parent to show.
    """
    result.phase("import")
    import tvm
    from tvm import relax
    from tvm.ir.utils import derived_object
    from tvm.s_tir import meta_schedule as ms

    result.update(**versions(tvm))
    stock = bool(spec.get("stock"))  # MetaSchedule's own settings throughout (benchmarks/tuning_speed.py)
    if not stock:
        import_cpu_tensor_intrinsics()
    target = resolve_target(tvm, spec["target"], int(spec.get("threads", 1)), spec.get("device"))
    result.phase("convert")
    tasks = tuning_tasks(tvm, relax, ms, spec, target)
    database = ms.database.JSONDatabase(work_dir=spec["database"])
    trials = int(spec["trials"])
    asked = read_asked(spec["database"])

    def trials_done() -> dict:
        """Per task, its measured records or, where more, the trials a finished tuning asked for."""
        return {key: max(records_of(ms, database, entry["task"]), asked.get(key, 0)) for key, entry in tasks.items()}

    before = trials_done()
    remaining = [key for key in tasks if before[key] < trials]
    summary = [
        {"task": entry["task"].task_name, "hash": key, "items": entry["items"], "before": before[key]}
        for key, entry in tasks.items()
    ]
    result.update(tasks=summary, tasks_total=len(tasks), tasks_to_tune=len(remaining), trials_done=0,
                  trials_planned=sum(trials - before[k] for k in remaining))  # fmt: skip
    result.phase("tune")
    started = time.perf_counter()
    measured = {"trials": 0}

    @derived_object
    class CountTrials(ms.measure_callback.PyMeasureCallback):
        """After each measured batch: the trials so far and their rate, into the result file."""

        def apply(self, task_scheduler, task_id, measure_candidates, builder_results, runner_results):
            measured["trials"] += len(runner_results)
            elapsed = time.perf_counter() - started
            result.update(trials_done=measured["trials"], tune_s=elapsed,
                          trials_per_s=measured["trials"] / elapsed if elapsed else 0.0)  # fmt: skip

    builder, runner = _tuning_builder_runner(ms, spec)
    # A smaller evolutionary search than MetaSchedule's default (population 512, 4 generations): on two
    # cores the search, not the measuring, was most of the time of a trial (benchmarks/tuning_speed.py).
    strategy = (
        "evolutionary"
        if stock
        else ms.search_strategy.EvolutionarySearch(
            population_size=int(spec.get("population", 128)), genetic_num_iters=int(spec.get("generations", 2))
        )
    )
    # One task at a time: MetaSchedule commits a task's records when its measurements are joined, which in
    # one run over every task is at the very end; task by task, a stopped tuning keeps every finished task
    # (the next one skips it) and progress can be told as it goes.
    try:
        for done, key in enumerate(sorted(remaining, key=lambda k: -tasks[k]["weight"])):
            contexts, weights = ms.relax_integration.extracted_tasks_to_tune_contexts(
                [tasks[key]["task"]], spec["work_dir"], strategy=strategy,
                num_threads=int(spec.get("workers", 2)), seed=int(spec.get("seed", 0)),
            )  # fmt: skip
            left = trials - before[key]
            ms.tune_tasks(
                tasks=contexts,
                task_weights=weights,
                work_dir=spec["work_dir"],
                max_trials_global=left,
                max_trials_per_task=left,
                num_trials_per_iter=min(64, left),
                builder=builder,
                runner=runner,
                database=database,
                measure_callbacks=[*ms.measure_callback.MeasureCallback.create("default"), CountTrials()],
            )
            asked[key] = trials  # also when the search space ran out before `left` candidates
            write_asked(spec["database"], asked)
            result.update(tasks_tuned=done + 1)
    finally:
        stop_builder = getattr(builder, "shutdown", None)  # the warm builder's processes end with the tuning
        if stop_builder:
            stop_builder()
    after = trials_done()
    for row in summary:
        row["after"] = after[row["hash"]]
    elapsed = time.perf_counter() - started
    result.update(tasks=summary, tune_s=elapsed, trials_done=measured["trials"],
                  trials_per_s=measured["trials"] / elapsed if measured["trials"] else 0.0)  # fmt: skip


#: Tensor intrinsics of the CPU targets perfbot tunes for; `tvm.s_tir.tensor_intrin` also has CUDA's, ROCm's, Metal's
#: and Hexagon's, which take 38 of its 43 s to import here (python -X importtime), on every tuning start.
CPU_INTRINSICS = ("x86", "arm_cpu", "riscv_cpu")


def import_cpu_tensor_intrinsics() -> None:
    """Make `import tvm.s_tir.tensor_intrin` (MetaSchedule's TuneContext does it) load the CPU intrinsics only.

    The package module is created from its own location and only CPU_INTRINSICS are imported into
    it, the way its __init__ would with LLVM enabled, minus the GPU and DSP ones; a submodule that
    a schedule names later still imports on demand. Only done in the tuning child, whose targets are
    CPUs (the host, or an ARM board over RPC).
    """
    import importlib
    import importlib.util

    name = "tvm.s_tir.tensor_intrin"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    package = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None, is_package=True))
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    sys.modules[name] = package
    for sub in CPU_INTRINSICS:
        try:
            setattr(package, sub, importlib.import_module(f"{name}.{sub}"))
        except ImportError:
            pass


def build_candidate(mod, target, _params):
    """MetaSchedule's default build without its first line, `import tvm.s_tir.tensor_intrin`.

    In apache-tvm 0.27 that import parses every tensor intrinsic of every target and takes about
    48 s here; MetaSchedule's LocalBuilder starts new worker processes for every batch, so each
    one paid it and hit the builder's 30 s limit: every candidate failed to build, and tuning
    measured nothing. The quantized convs here are tuned as float convolutions (dequantize, conv,
    quantize) and use no tensor intrinsics; a candidate that would is a failed build, recorded.
    """
    from tvm.driver import build as tvm_build
    from tvm.s_tir.transform import RemoveWeightLayoutRewriteBlock

    mod = RemoveWeightLayoutRewriteBlock(skip_tensor_rewrite=True)(mod)
    return tvm_build(mod, target=target)


def warm_builder(ms, workers: int, timeout_s: float, f_export=None):
    """A candidate builder whose worker processes live across batches (MetaSchedule's LocalBuilder starts new ones).

    LocalBuilder makes a new pool of `workers` processes for every batch, for a memory leak of its
    workers "after a couple times of usage"; each new worker imports TVM again, about 4 s here, and a
    tuning of the smoke suite has a batch or two per task for 27 tasks. Here the pool stays, and each
    worker is replaced after BUILDS_PER_WORKER builds instead (PopenPoolExecutor's maximum_process_uses), which
    bounds that leak the same way. Results are LocalBuilder's: an artifact path, or the error as text.
    """
    from tvm.ir.utils import derived_object
    from tvm.s_tir.meta_schedule.builder import local_builder
    from tvm.support.popen_pool import PopenPoolExecutor, StatusKind

    @derived_object
    class WarmBuilder(ms.builder.PyBuilder):
        def __init__(self):
            super().__init__()
            self.pool = PopenPoolExecutor(
                max_workers=workers, timeout=timeout_s, maximum_process_uses=BUILDS_PER_WORKER
            )

        def build(self, build_inputs):
            jobs = [(build_candidate, f_export, b.mod, b.target, local_builder._serialize_params(b.params))
                    for b in build_inputs]  # fmt: skip
            results = []
            for done in self.pool.map_with_error_catching(lambda job: local_builder._worker_func(*job), jobs):
                if done.status == StatusKind.COMPLETE:
                    results.append(ms.builder.BuilderResult(done.value, None))
                elif done.status == StatusKind.TIMEOUT:
                    results.append(ms.builder.BuilderResult(None, f"build timed out after {timeout_s:g} s"))
                else:
                    results.append(ms.builder.BuilderResult(None, f"build failed\n{done.value}"))
            return results

        def shutdown(self):
            self.pool.shutdown()

    return WarmBuilder()


#: Candidate builds per builder process before it is replaced (see warm_builder).
BUILDS_PER_WORKER = 64


def _tuning_builder_runner(ms, spec):
    """Candidates built by `workers` processes; measured here (local) or on the board (RPC tracker)."""
    device = spec["device"]
    workers = int(spec.get("workers", 2))
    timeout_s = float(spec.get("build_timeout_s", 60))
    evaluator = ms.runner.EvaluatorConfig(number=int(spec.get("number", 1)), repeat=1,
                                          min_repeat_ms=int(spec.get("min_repeat_ms", 20)))  # fmt: skip
    if spec.get("stock") and device["kind"] != "rpc":
        return ms.builder.LocalBuilder(), ms.runner.LocalRunner()
    if device["kind"] != "rpc":
        return warm_builder(ms, workers, timeout_s), ms.runner.LocalRunner(evaluator_config=evaluator)
    from tvm.support import cc

    def export(mod, path=None):  # noqa: ARG001 - MetaSchedule's f_export signature
        # A folder of its own per candidate: MetaSchedule removes the artifact's whole folder after the run.
        os.makedirs(spec["work_dir"], exist_ok=True)
        folder = tempfile.mkdtemp(prefix="cand_", dir=spec["work_dir"])
        path = os.path.join(folder, "candidate.so") if path is None else path
        mod.export_library(path, fcompile=cc.cross_compiler(device["cross_compiler"]))
        return path

    builder = warm_builder(ms, workers, timeout_s, f_export=export)
    runner = ms.runner.RPCRunner(
        ms.runner.RPCConfig(
            tracker_host=device["host"],
            tracker_port=int(device["port"]),
            tracker_key=device["key"],
            session_timeout_sec=int(device.get("session_timeout", 600)),
        ),
        evaluator_config=evaluator,
    )
    return builder, runner


if __name__ == "__main__":
    sys.exit(MEASURE["main"](sys.argv, {"tune": tune}))
