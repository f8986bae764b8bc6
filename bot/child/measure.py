"""Runs inside the TVM environment under test: compile, check and time (or count) one item.

This file is executed by path in a child process (see bot/engine/isolation.py)
with the interpreter of the TVM build being measured, so it imports only the
standard library, numpy, tvm and the `tflite` schema package: never `bot`.

It reads a job spec (JSON) and keeps a result file (JSON) up to date as it
goes, phase by phase, so that when TVM segfaults or hangs the parent still
knows where it died. Python exceptions become a status here; crashes and
timeouts are classified by the parent.

A measured item is a session. The child compiles the model, loads it where it
runs (this process, or a board over RPC), runs it once and checks the answer
against TFLite, and records a hash of the code it compiled (`code_hash`) and of each
compiled function (`code_functions`: where a PR changed the code).
Then it connects to the parent's Unix socket (`spec["control"]`) and answers
timing requests until told it is done: the parent decides how many blocks of
samples to take, and, for a PR, alternates them with the base build's child
(bot/engine/runner.py). Protocol, one JSON object per line:

    child -> parent  {"ready": true, "pid": PID}       once compiled, loaded and checked
    parent -> child  {"op": "time", "number": N, "repeat": R, "warmup": W}
    child -> parent  {"samples_ms": [...]}              R samples, each the mean of N runs
    parent -> child  {"op": "done"}                     the child writes its status and exits

W is how many runs must come before the block's samples, all told: the run
that checked the answer is the first, so W = 1 adds none. Measured here with
40 fresh children per item, the first sample after that run alone was no
slower than the next four (medians -0.4%, -0.6% and +0.1% on the 3x3, 1x7
and 1x1 smoke items, against +0.2%, -0.4% and +0.1% after one more run). The
result file keeps `runs`, every run of the model the child made.

On a board that counts instructions (spec "count") the child says ready once
compiled and linked, and the board is reached only on {"op": "count"}: then
it loads, runs, checks and counts the item there, closes the session, and
answers {"counted": true}. So a PR's base and head children wait side by side
without either holding the board, and a pair whose code is the same is never
run at all. `count_tflite` (spec op) counts TFLite's interpreter on the same
board, a session for a run's models.

    python measure.py SPEC.json RESULT.json
    python measure.py --serve       # fork server, see bot/engine/isolation.py

Tuning is tune.py's, beside it, which loads this file by path for what the
two share (the result file, the target, the model's import and layout, main's
failure statuses).

The fork server also answers {"check_target": TARGET, "threads": N, "device": DEVICE} with
{"target_error": null or TVM's reason, "compiled_for": ..., "cpu_fallback": ...} (see
`target_error`), without forking.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json
import os
import re
import runpy
import signal
import socket
import sys
import tempfile
import time
import traceback

#: Phases in order; an exception in a compile phase is a compile_error, later a runtime_error.
COMPILE_PHASES = ("import", "convert", "tune", "compile")
RUNTIME_PHASES = ("export", "connect", "upload", "load", "run", "check", "measure", "count")


class Result:
    """The result file, rewritten atomically at every step."""

    def __init__(self, path: str):
        self.path = path
        self.data: dict = {"phase": "start"}

    def update(self, **fields) -> None:
        self.data.update(fields)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)

    def phase(self, name: str) -> None:
        print(f"[perfbot-child] phase {name}", flush=True)
        self.update(phase=name)


def versions(tvm) -> dict:
    info = {"tvm_version": getattr(tvm, "__version__", None), "tvm_ffi_version": None, "tvm_commit": None}
    try:
        import tvm_ffi

        info["tvm_ffi_version"] = getattr(tvm_ffi, "__version__", None)
    except ImportError:
        pass
    try:
        libinfo = tvm.support.libinfo()
        info["tvm_commit"] = libinfo.get("GIT_COMMIT_HASH") or None
    except Exception:
        pass
    return info


def resolve_target(tvm, target, threads: int, device: dict | None = None):
    """The device's target; "host" means this machine's own CPU (`host_cpu`)."""
    return resolved_target(tvm, target, threads, device)[0]


def resolved_target(tvm, target, threads: int, device: dict | None = None) -> tuple:
    """(the device's target, why "host" is not LLVM's CPU name or None): `host_cpu` asked once for both."""
    fallback = None
    if target == "host":
        cpu, fallback = host_cpu(tvm, device)
        target = {"kind": "llvm", "mcpu": cpu, "num-cores": threads}
    return tvm.target.Target(target), fallback


def host_cpu(tvm, device: dict | None) -> tuple[str, str | None]:
    """(CPU name, None) as LLVM names this machine; (the newest name it has every feature of, why) when LLVM's
    name stands for features the kernel does not report (a virtual machine hiding AVX-512 from a Zen 4 is
    `znver4` to LLVM, and its code dies of SIGILL). The parent reads those features (bot/engine/boards/host.py)
    and sends them as the device's "host_cpus"."""
    from tvm.target import codegen

    cpu = codegen.llvm_get_system_cpu()
    limits = (device or {}).get("host_cpus") or {}
    instead = limits.get("instead")
    valid = getattr(codegen, "llvm_is_valid_cpu", lambda cpu, triple: True)  # older TVMs cannot ask
    if cpu not in limits.get("beyond", ()) or not instead or not valid(instead, ""):
        return cpu, None
    return instead, (
        f"LLVM names this CPU {cpu}, but it does not report all of {cpu}'s features "
        f"(archspec finds {limits.get('archspec')}): compiled for {instead}"
    )


def target_error(tvm, target, threads: int, device: dict | None = None) -> dict:
    """{"target_error": None when TVM makes a Target of it, else TVM's own one-line reason (an unknown kind or
    option); "compiled_for": the target as TVM prints it; "cpu_fallback": why "host" is not LLVM's CPU name}."""
    try:
        resolved, fallback = resolved_target(tvm, target, threads, device)
    except Exception as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
        return {"target_error": lines[-1][:300]}
    return {"target_error": None, "compiled_for": str(resolved), "cpu_fallback": fallback}


def load_model(spec):
    import tflite
    from tvm.relax.frontend.tflite import from_tflite

    with open(spec["model"], "rb") as f:
        buf = f.read()
    return from_tflite(tflite.Model.GetRootAsModel(buf, 0))


def convert_layout(relax, mod, layout: str):
    """NHWC is what the TFLite frontend imports; NCHW goes through Relax's ConvertLayout."""
    if layout == "NHWC":
        return mod
    if layout == "NCHW":
        # Pools follow the convs' layout on their own; naming them here is refused by Relax.
        return relax.transform.ConvertLayout({"relax.nn.conv2d": ["NCHW", "OIHW"]})(mod)
    raise ValueError(f"unknown layout {layout!r}")


def tuning_preprocess(tvm, relax, mod, target):
    """The passes static_shape_tuning runs before MetaSchedule: tuning and applying must agree on them."""
    from tvm.relax import transform
    from tvm.relax.pipeline import zero_pipeline

    with target:
        return tvm.transform.Sequential(
            [transform.DecomposeOpsForInference(), transform.CanonicalizeBindings(), zero_pipeline()]
        )(mod)


def compile_module(tvm, relax, mod, target, spec, result: Result):
    """TVM's default CPU pipeline, or (pipeline `tuned`) the device's MetaSchedule database applied first.

    For a tuned item the result says how many of its tasks the database has records for
    (`tuned_tasks`) and how many it has not (`untuned_tasks`: those stay unscheduled loops, so the
    item's latency is not a tuned one; bot/verdicts.py says `untuned: no record`). Without a
    database at all every task is untuned. `retarget` applies records tuned for another target
    (an emulated board reuses the host's, to check that tuned code computes the right answer;
    its latency is never judged).
    """
    if spec["pipeline"] != "tuned":
        return tvm.compile(mod, target=target)
    from tvm.s_tir import meta_schedule as ms

    mod = tuning_preprocess(tvm, relax, mod, target)
    path = spec.get("tuning_dir")
    tasks = ms.relax_integration.extract_tasks(mod, target)
    if not path or not os.path.isfile(os.path.join(path, "database_tuning_record.json")):
        result.update(tuned_tasks=0, untuned_tasks=len(tasks))
        return tvm.compile(mod, target=target)
    database = ms.database.JSONDatabase(work_dir=path, allow_missing=False)
    if spec.get("retarget"):
        database = retargeted(ms, database, target)
    found = sum(1 for task in tasks if records_of(ms, database, task) > 0)
    result.update(tuned_tasks=found, untuned_tasks=len(tasks) - found)
    with target, database:
        mod = relax.transform.MetaScheduleApplyDatabase()(mod)
    return tvm.compile(mod, target=target)


def retargeted(ms, database, target):
    """The database's records in memory, as if tuned for `target` (schedules are traces; they mostly carry)."""
    memory = ms.database.MemoryDatabase()
    for record in database.get_all_tuning_records():
        workload = memory.commit_workload(record.workload.mod)
        memory.commit_tuning_record(
            ms.database.TuningRecord(record.trace, workload, record.run_secs, target, record.args_info)
        )
    return memory


def rpc_session(tvm, device: dict):
    from tvm import rpc

    tracker = rpc.connect_tracker(device["host"], int(device["port"]))
    return tracker.request(device["key"], priority=1, session_timeout=int(device.get("session_timeout", 0)))


#: The compiled model as exported for a board, in the item's working folder (bot/engine reads its symbols).
MODEL_LIBRARY = "model.so"


def export(executable, spec, result: Result) -> str | None:
    """Link the compiled module for an RPC board with its cross compiler; the library's path (None: local)."""
    device = spec["device"]
    if device["kind"] == "local":
        return None
    from tvm.support import cc

    result.phase("export")
    lib_path = os.path.join(spec["workdir"], MODEL_LIBRARY)
    executable.export_library(lib_path, fcompile=cc.cross_compiler(device["cross_compiler"]))
    return lib_path


def prepare_vm(tvm, relax, executable, lib_path, spec, result: Result):
    """Load the compiled module where it runs: this process, or a board over RPC."""
    device = spec["device"]
    if lib_path is None:
        result.phase("load")
        dev = tvm.cpu()
        return relax.VirtualMachine(executable, dev), dev, None
    result.phase("connect")
    remote = rpc_session(tvm, device)
    result.phase("upload")
    remote.upload(lib_path, MODEL_LIBRARY)
    result.phase("load")
    lib = remote.load_module(MODEL_LIBRARY)
    dev = remote.cpu()
    return relax.VirtualMachine(lib, dev), dev, remote


def outputs_of(value) -> list:
    if hasattr(value, "numpy"):
        return [value.numpy()]
    return [v for item in value for v in outputs_of(item)]


def check(np, outputs: list, references: list, tolerance: float) -> dict:
    """Max |tvm - tflite| in quantized units (integer outputs) and the fraction of differing elements."""
    if len(outputs) != len(references):
        return {
            "max_abs_diff": None,
            "mismatch_fraction": 1.0,
            "correct": False,
            "error": f"TVM gave {len(outputs)} outputs, TFLite {len(references)}",
        }
    worst, differing, total = 0.0, 0, 0
    for out, ref in zip(outputs, references):
        if out.shape != ref.shape:
            return {
                "max_abs_diff": None,
                "mismatch_fraction": 1.0,
                "correct": False,
                "error": f"output shape {out.shape} differs from TFLite's {ref.shape}",
            }
        diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
        if np.issubdtype(ref.dtype, np.floating):
            # Float outputs have no quantized unit: count a unit as 1/256 of the output's range.
            scale = max(float(np.max(np.abs(ref))), 1e-12) / 256.0
            diff = diff / scale
        worst = max(worst, float(diff.max()) if diff.size else 0.0)
        differing += int(np.count_nonzero(diff > 0))
        total += diff.size
    return {
        "max_abs_diff": worst,
        "mismatch_fraction": differing / total if total else 0.0,
        "correct": worst <= tolerance,
    }


#: LLVM names type-based alias metadata after heap addresses; they differ from process to process.
_ADDRESS = re.compile(r'"0x[0-9a-f]+"')


def code_hashes(tvm, executable, target) -> tuple[str, dict[str, str]]:
    """A hash of the code that runs, and one per compiled function (`function_hashes`).

    The item's hash covers the VM program with its constants and the
    generated LLVM IR. Same model, same TVM build, same target: the same hash
    in every process (tests/engine/test_runner.py checks it). The VM
    executable's serialized form (bytecode and constants, e.g. the weights and
    zero points the frontend produced) is byte-for-byte deterministic; the
    LLVM IR is too once the heap addresses LLVM puts in metadata names are
    numbered in order of appearance. IR determines machine code for one LLVM
    version and target, and both go into the hash. Hashing IR costs about a
    tenth of compiling.
    """
    digest = hashlib.sha256()
    digest.update(
        json.dumps(target.export() if hasattr(target, "export") else str(target), sort_keys=True, default=str).encode()
    )
    try:
        digest.update(f"llvm {tvm.target.codegen.llvm_version_major()}".encode())
    except Exception:
        pass
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "executable")
        executable.mod.write_to_file(path)
        with open(path, "rb") as f:
            program = f.read()
    digest.update(program)
    sources = []
    for module in executable.mod.imports:
        text = module.inspect_source("ll") if module.kind == "llvm" else module.inspect_source()
        sources.append((module.kind, number_addresses(text)))
        digest.update(module.kind.encode())
        digest.update(sources[-1][1].encode())
    functions = {VM_PROGRAM: hashlib.sha256(program).hexdigest()[:FUNCTION_HASH_CHARS], **function_hashes(sources)}
    return digest.hexdigest(), functions


def number_addresses(text: str) -> str:
    """Heap addresses in LLVM metadata names replaced by their order of first appearance."""
    seen: dict[str, int] = {}
    return _ADDRESS.sub(lambda m: f'"p{seen.setdefault(m.group(0), len(seen))}"', text)


#: The per-function entry for what is not a compiled function: the VM's bytecode and its constants.
VM_PROGRAM = "(VM program and constants)"
#: Hex digits kept of a function's hash: enough to tell two versions of one function apart.
FUNCTION_HASH_CHARS = 16
_DEFINE = re.compile(r'^define [^@]*@("(?:[^"\\]|\\.)*"|[-\w.$]+)\(')
#: Module-wide numbers a function's IR refers to (metadata `!220`, attribute groups `#3`, strings `@.str.5`):
#: they shift when an earlier function changes, so they say nothing about this function's own code.
_MODULE_NUMBERS = re.compile(r"![0-9]+|#[0-9]+|@\.str(?:\.[0-9]+)?")


def function_name(symbol: str) -> str:
    """The PrimFunc a symbol belongs to: TVM emits `__tvm_ffi_NAME` (the FFI wrapper) and `NAME_compute_`."""
    symbol = symbol.strip('"')
    if symbol.startswith("__tvm_ffi_") and len(symbol) > len("__tvm_ffi_"):
        return symbol[len("__tvm_ffi_") :]
    return symbol.removesuffix("_compute_") or symbol


def function_hashes(sources: list[tuple[str, str]]) -> dict[str, str]:
    """Per compiled function (a PrimFunc, a fused kernel), a hash of its own code: where a PR changed it.

    `sources` are (module kind, text) of the compiled modules, addresses
    already numbered. In an LLVM module every `define` up to its closing `}`
    is a function; a PrimFunc's wrapper and body count together under its
    name (`function_name`), so a change to either names the PrimFunc. The
    module-wide numbers inside a function are blanked, so that a function's
    hash moves with its own code only, not with a neighbour that grew. A
    module of another kind (C source, a device module) is one entry named by
    its kind. Whether an item's code changed at all is `code_hash`'s to say
    (it also covers metadata and the module's globals); these say where.
    """
    digests: dict[str, hashlib._Hash] = {}
    for kind, text in sources:
        if kind != "llvm":
            digests.setdefault(f"({kind} module)", hashlib.sha256()).update(text.encode())
            continue
        current = None
        for line in text.splitlines():
            if current is None:
                match = _DEFINE.match(line)
                if match:
                    current = digests.setdefault(function_name(match.group(1)), hashlib.sha256())
            if current is not None:
                current.update(_MODULE_NUMBERS.sub("", line).encode() + b"\n")
                if line == "}":
                    current = None
    return {name: digest.hexdigest()[:FUNCTION_HASH_CHARS] for name, digest in sorted(digests.items())}


def compile_item(spec, result: Result):
    """Compile (and for a board, link) the item: (tvm, executable, library path or None), or an exception."""
    result.phase("import")
    import tvm
    from tvm import relax

    result.update(**versions(tvm))
    target = resolve_target(tvm, spec["target"], int(spec.get("threads", 1)), spec.get("device"))
    result.update(target=str(target.export() if hasattr(target, "export") else target))
    started = time.perf_counter()
    mod = load_model(spec)
    result.phase("convert")
    mod = convert_layout(relax, mod, spec["layout"])
    result.phase("compile")
    executable = compile_module(tvm, relax, mod, target, spec, result)
    compile_s = time.perf_counter() - started
    item_hash, functions = code_hashes(tvm, executable, target)
    result.update(compile_s=compile_s, code_hash=item_hash, code_functions=functions)
    return tvm, executable, export(executable, spec, result)


def load_and_check(tvm, executable, lib_path, spec, result: Result):
    """Load the compiled item where it runs, run it once and check it against TFLite: (vm, dev, remote).

    The run goes through `invoke_stateful`, as timing and counting do after it, so that it is also their
    warm-up (the VM allocates its storage on a function's first call).
    """
    import numpy as np
    from tvm import relax

    run_started = time.perf_counter()  # running starts with loading: upload, VM creation
    vm, dev, remote = prepare_vm(tvm, relax, executable, lib_path, spec, result)
    inputs = [np.load(p) for p in spec["inputs"]]
    device_inputs = [tvm.runtime.tensor(x, dev) for x in inputs]
    vm.set_input("main", *device_inputs)
    result.phase("run")
    vm.invoke_stateful("main")
    outputs = outputs_of(vm.get_outputs("main"))
    result.phase("check")
    if spec.get("reference"):
        references = [np.load(p) for p in spec["reference"]]
        result.update(**check(np, outputs, references, float(spec.get("tolerance", 1))))
    result.update(load_s=time.perf_counter() - run_started)
    return vm, dev, remote


def prepare(spec, result: Result):
    """Compile, load, run once and check: the state a timing session needs, or an exception."""
    tvm, executable, lib_path = compile_item(spec, result)
    return load_and_check(tvm, executable, lib_path, spec, result)


def count_on_board(tvm, executable, lib_path, spec, result: Result) -> None:
    """Load, run and check the item on the emulated board, then count one more inference there.

    The board's session is closed before this returns: a PR's two sides are counted one after the other
    on one board, and the other side's child is waiting for it. The count (per code block, placed in its
    file: bot/child/qemu_server.py) and what served it go to the result file for perfbot to read.
    """
    import gc

    vm, dev, remote = load_and_check(tvm, executable, lib_path, spec, result)
    result.phase("count")
    started = time.perf_counter()
    try:
        count = json.loads(remote.get_function("perfbot.count_vm")(vm.module, "main"))
        board = json.loads(remote.get_function("perfbot.board_info")())
    except Exception as e:  # main() records it as the board's failure (environment_error), not TVM's
        raise RuntimeError(f"instruction count failed on the board: {first_line(e)}") from None
    result.update(instructions=count, board=board, library=lib_path, count_s=time.perf_counter() - started)
    del vm, dev, remote
    gc.collect()  # the last reference to the session: it closes, and the board is free for the other side


def first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]


def time_block(vm, dev, remote, number: int, repeat: int, warmup: int) -> tuple[list[float], int]:
    """`repeat` samples in milliseconds, each the mean of `number` runs, after `warmup` untimed runs; and the
    runs the block took.

    In this process the host's clock times the runs. TVM's time_evaluator runs
    the function once untimed before every block it times (src/runtime/timer.cc:
    "skip first time call"), so a PR job's rounds of one sample a side paid two
    runs a sample; the sample that follows that extra run is no faster
    (measured here on the smoke items, 18-440 ms: within 0.7%, inside the
    samples' 2-8% noise). The call from Python adds about 1.5 us a run: 0.8%
    of a 0.2 ms model against time_evaluator's loop in C++, on both sides of a
    ratio alike. On a board over RPC only the board's own clock can time it,
    so its time_evaluator does, extra run and all.
    """
    for _ in range(warmup):
        vm.invoke_stateful("main")
    if remote is not None:
        timer = vm.time_evaluator("invoke_stateful", dev, number=number, repeat=repeat)
        return [float(s) * 1000.0 for s in timer("main").results], warmup + 1 + number * repeat
    invoke, samples = vm.module["invoke_stateful"], []
    for _ in range(repeat):
        dev.sync()
        started = time.perf_counter_ns()
        for _ in range(number):
            invoke("main")
        dev.sync()
        samples.append((time.perf_counter_ns() - started) / number / 1e6)
    return samples, warmup + number * repeat


def measure(spec, result: Result) -> None:
    """Prepare, then answer the parent's requests on its socket until it says done.

    A timed item is compiled, loaded and checked before it says ready, then times a block per
    {"op": "time"}. A counted item (spec "count", an instruction-counting board) is compiled and
    linked before it says ready; its one {"op": "count"} runs it on the board, checks and counts it.
    """
    if spec.get("count"):
        built, vm, dev, remote = compile_item(spec, result), None, None, None
    else:
        built, (vm, dev, remote) = None, prepare(spec, result)
    result.phase("ready")
    measure_s, runs = 0.0, 0 if vm is None else 1  # the run that checked the answer was the first
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
        control.connect(spec["control"])
        reader = control.makefile("r")
        control.sendall((json.dumps({"ready": True, "pid": os.getpid()}) + "\n").encode())
        for line in reader:
            request = json.loads(line)
            op = request.get("op")
            if op == "count" and built is not None:
                count_on_board(*built, spec, result)
                built = None
                answer = {"counted": True}
            elif op == "time" and vm is not None:
                result.phase("measure")
                started = time.perf_counter()
                warmup = max(int(request["warmup"]) - runs, 0)  # untimed runs before the first sample, all told
                samples, took = time_block(vm, dev, remote, int(request["number"]), int(request["repeat"]), warmup)
                answer = {"samples_ms": samples}
                measure_s, runs = measure_s + time.perf_counter() - started, runs + took
                result.update(measure_s=measure_s, runs=runs)
            else:
                break
            control.sendall((json.dumps(answer) + "\n").encode())
            result.phase("ready")
    del remote


def count_tflite(spec, result: Result) -> None:
    """TFLite's instructions on the emulated board for each model of the spec (one session for all of them).

    The models and their inputs are uploaded to the session and run by TFLite's interpreter there, on the
    same emulated core as TVM's code, with the device's thread count (bot/child/qemu_server.py counts).
    """
    result.phase("import")
    import tvm

    result.update(**versions(tvm))
    result.phase("connect")
    remote = rpc_session(tvm, spec["device"])
    counter = remote.get_function("perfbot.count_tflite")
    result.update(board=json.loads(remote.get_function("perfbot.board_info")()))
    done = []
    for number, item in enumerate(spec["items"]):
        result.phase("upload")
        model = f"tflite-{number}.tflite"
        remote.upload(item["model"], model)
        names = []
        for index, path in enumerate(item["inputs"]):
            names.append(f"tflite-{number}-input{index}.npy")
            remote.upload(path, names[-1])
        result.phase("count")
        try:
            count = json.loads(counter(model, json.dumps(names), spec["threads"]))
        except Exception as e:  # the board's failure, recorded as such (main() makes it an environment_error)
            raise RuntimeError(f"instruction count failed on the board: {first_line(e)}") from None
        done.append({"key": item["key"], "instructions": count})
        result.update(items=done)


def records_of(ms, database, task) -> int:
    """How many measured trials the database holds for a task (0 when it does not know the task)."""
    mod = task.dispatched[0]
    if not database.has_workload(mod):
        return 0
    return len(database.get_top_k(database.commit_workload(mod), 1 << 30))


def main(argv: list[str], ops: dict | None = None) -> int:
    """Run the spec's op and keep its outcome in the result file, whatever happens: a failure becomes a status.

    `ops` are the ops this script answers: measuring's own, or tune.py's, which shares this bookkeeping.
    """
    spec_path, result_path = argv[1], argv[2]
    faulthandler.enable()
    with open(spec_path) as f:
        spec = json.load(f)
    result = Result(result_path)
    op = (ops or {"measure": measure, "count_tflite": count_tflite})[spec["op"]]
    try:
        op(spec, result)
    except BaseException as e:  # every failure becomes a result, including SystemExit from TVM
        phase = result.data.get("phase")
        if phase == "import" and "tvm_version" not in result.data:
            status = "environment_error"
        elif phase == "count" or spec["op"] == "count_tflite":  # the board's counting, not the TVM under test
            status = "environment_error"
        elif phase in COMPILE_PHASES:
            status = "compile_error"
        else:
            status = "runtime_error"
        traceback.print_exc()
        message = f"{type(e).__name__}: {e}".strip()
        result.update(status=status, error=message.splitlines()[0][:500] if message else type(e).__name__)
        return 1
    if spec["op"] == "measure" and result.data.get("correct") is False:
        result.update(status="wrong_result")
    else:
        result.update(status="ok")
    result.phase("done")
    return 0


def serve() -> int:
    """Import TVM once, then fork a child per job read from stdin (protocol: bot/engine/isolation.py).

    The protocol goes over a private copy of stdout; fds 1 and 2 are pointed
    at a log so that whatever TVM prints cannot corrupt it.
    """
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)

    def tell_parent(**message):
        channel.write(json.dumps(message) + "\n")

    try:
        import numpy  # noqa: F401 - imported once here so that children start warm
        import tflite  # noqa: F401
        import tvm
        from tvm import relax  # noqa: F401
        from tvm.relax.frontend.tflite import from_tflite  # noqa: F401
    except BaseException as e:
        tell_parent(ready=False, error=f"import tvm failed: {type(e).__name__}: {e}".splitlines()[0][:500])
        return 1
    tell_parent(ready=True, **versions(tvm))
    server = os.getpid()
    # The children call setsid, so a kill of this server's group misses them: each watches the server itself.
    watch_parent = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "guard.py"))["watch_parent"]
    for line in sys.stdin:
        job = json.loads(line)
        if "check_target" in job:  # before a run is written: can this TVM use the device's target at all?
            tell_parent(**target_error(tvm, job["check_target"], int(job.get("threads", 1)), job.get("device")))
            continue
        pid = os.fork()
        if pid == 0:  # the child: its own process group, its own log, never returns
            code = 70
            try:
                os.setsid()
                watch_parent(server)
                log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(log, 1)
                os.dup2(log, 2)
                stdin = os.open(os.devnull, os.O_RDONLY)
                os.dup2(stdin, 0)
                sys.stdout = os.fdopen(1, "w", buffering=1)
                sys.stderr = os.fdopen(2, "w", buffering=1)
                faulthandler.enable(sys.stderr)
                code = main(["measure.py", job["spec"], job["result"]])
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        deadline = time.monotonic() + float(job["timeout"])
        timed_out = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                timed_out = True
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.01)
        tell_parent(returncode=os.waitstatus_to_exitcode(status), timed_out=timed_out)
    return 0


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv))
