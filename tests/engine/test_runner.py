"""The engine with the real TVM and TFLite: every outcome becomes a recorded result."""

import dataclasses
import json
import shutil

import pytest

from bot import devices
from bot.engine.boards import preflight
from bot.engine.boards.host import host_cpus
from bot.engine.runner import Runner, Subject
from bot.engine.suite.suites import Suite, get_suite, user_suite
from bot.engine.suite.tflite_writer import ModelWriter
from bot.errors import BadModel, DeviceUnavailable
from bot.store import Store
from bot.vocabulary import STOPPED
from tests.conftest import free_port

pytestmark = pytest.mark.timeout(300)


def device(tmp_path, name="dev", **spec):
    spec = {"arch": "x86_64", "target": "host", "connection": "local", "threads": 1, **spec}
    path = tmp_path / "devices.yml"
    path.write_text(json.dumps({"devices": {name: spec}}))
    return devices.load(path).get(name)


def run(tmp_path, suite, dev, bot_python):
    store = Store.open(tmp_path / "perf.db")
    target = Subject(python=bot_python, env=f"python:{bot_python}")
    outcome = Runner(store, tmp_path / "cache").run(suite, dev, target)
    return store, outcome


def small(suite: Suite, repeat=5) -> Suite:
    return dataclasses.replace(suite, repeat=repeat)


def test_a_correct_model_is_recorded_with_every_sample_and_its_tflite_ratio(tmp_path, tiny_model, bot_python):
    store, outcome = run(tmp_path, small(user_suite(tiny_model)), device(tmp_path), bot_python)
    assert [(r.config.name, r.status) for r in outcome.results] == [("NHWC/default", "ok"), ("NCHW/default", "ok")]
    rows = store.results(outcome.run_id)
    assert len(rows) == 2
    for row in rows:
        assert row["status"] == "ok" and len(row["samples_ms"]) == 5 and row["median_ms"] > 0
        assert row["tflite_median_ms"] > 0 and row["ratio"] == pytest.approx(row["median_ms"] / row["tflite_median_ms"])
        assert row["max_abs_diff"] <= 1 and row["workload"] == "tiny_conv" and row["scheme"] == "int8"
    run_row = store.run(outcome.run_id)
    assert run_row["status"] == "complete" and run_row["tvm_version"].startswith("0.")
    assert run_row["tvm_ffi_version"] and run_row["threads"] == 1 and run_row["host_cpu"]
    # what "host" compiled for, as TVM printed it: LLVM's name unless this machine lacks its features
    from tvm.target import codegen

    compiled = json.loads(run_row["compiled_for"])["mcpu"]
    assert compiled not in host_cpus()["beyond"]
    assert (compiled != codegen.llvm_get_system_cpu()) == (run_row["cpu_fallback"] is not None)


def strict_1x7(**timing) -> Suite:
    """The 1x7 smoke layer (uint8) at tolerance 0: it differs from TFLite by one unit in NHWC, so that is wrong."""
    workload = [w for w in get_suite("smoke").workloads if "1x7" in w.name and w.scheme == "uint8"][0]
    return Suite("strict", (dataclasses.replace(workload, tolerance=0.0),), **timing)


def test_a_difference_beyond_the_tolerance_is_a_wrong_result(tmp_path, bot_python):
    """The 1x7 smoke layer differs from TFLite by one unit in NHWC; with tolerance 0 that is wrong."""
    strict = strict_1x7(repeat=3)
    _, outcome = run(tmp_path, strict, device(tmp_path), bot_python)
    for r in outcome.results:
        assert r.status == ("wrong_result" if r.max_abs_diff > 0 else "ok")
        assert r.mismatch_fraction == (0 if r.max_abs_diff == 0 else pytest.approx(r.mismatch_fraction))
    assert any(r.status == "wrong_result" for r in outcome.results)


def test_a_wrong_answer_beside_its_base_is_timed_for_one_pair_and_gets_no_latency_verdict(tmp_path, bot_python):
    """Only a right answer's latency is judged, so a PR side that answered wrong ends its rounds with the first
    pair (their latency is still recorded) and the store says why; the right configurations are timed on."""
    strict = strict_1x7(pair_rounds=2, max_rounds=6)
    store = Store.open(tmp_path / "perf.db")
    build = Subject(python=bot_python, env=f"python:{bot_python}")
    outcome = Runner(store, tmp_path / "cache").run_paired(strict, device(tmp_path), build, build, skip_same_code=False)
    wrong = [r for r in outcome.results if r.status == "wrong_result"]
    assert wrong, [(r.config.name, r.max_abs_diff) for r in outcome.results]
    for result in wrong:  # both sides answered wrong (one build): no rerun either
        assert len(result.rounds) == 2 and result.judged is None and result.stopped == "wrong result"
        assert len(result.samples_ms) == 2 and result.attempt == 1
    for result in outcome.results:
        if result.status == "ok":
            assert len(result.rounds) == 6 and result.stopped in ("decided unchanged", "decided changed", "cap")
    rows = {row["layout"]: row for row in store.results(outcome.run_id)}
    assert {rows[r.config.layout]["stopped"] for r in wrong} == {"wrong result"}


@pytest.mark.parametrize(
    "target, timeout_s, status, text",
    [
        ({"kind": "llvm", "mtriple": "bogus-triple-xyz"}, 300, "compile_error", "bogus-triple-xyz"),
        ({"kind": "opencl"}, 300, "runtime_error", ""),
        ({"kind": "llvm", "mcpu": "i386", "mattr": ["+avx512f"]}, 300, "crash", "LLVM ERROR"),
        ("host", 0.3, "timeout", "0.3"),
    ],
)
def test_failures_become_results_and_the_run_goes_on(tmp_path, tiny_model, bot_python, target, timeout_s, status, text):
    dev = device(tmp_path, target=target, timeout_s=timeout_s)
    suite = small(user_suite(tiny_model))
    if status == "timeout":  # the story's layer: each item takes over a second
        suite = Suite("slow", get_suite("smoke").workloads[:1], repeat=5)
    store, outcome = run(tmp_path, suite, dev, bot_python)
    assert [r.status for r in outcome.results] == [status, status]  # the second item still ran
    rows = store.results(outcome.run_id)
    assert [r["status"] for r in rows] == [status, status]
    assert all(text in r["error"] for r in rows) and all(r["error"] for r in rows)
    assert store.run(outcome.run_id)["status"] == "complete"


def test_a_model_tflite_cannot_run_is_refused_before_anything_is_written(tmp_path, bot_python):
    w = ModelWriter()
    x = w.tensor("x", (1, 4), "float32")
    y = w.tensor("y", (1, 4), "float32")
    w.operator(9999, [x], [y])  # no such builtin operator
    path = tmp_path / "odd.tflite"
    path.write_bytes(w.finish([x], [y]))
    with pytest.raises(BadModel, match="odd.tflite: the TFLite interpreter cannot run it"):
        run(tmp_path, user_suite(path), device(tmp_path), bot_python)
    assert Store.open(tmp_path / "perf.db").runs() == []


@pytest.mark.skipif(
    shutil.which("g++") is None, reason="g++ missing (links the model for the board): apt-get install g++"
)
def test_an_rpc_device_behind_the_tracker_is_measured_there(tmp_path, tiny_model, bot_python, rpc_pool):
    dev = device(
        tmp_path,
        connection={"type": "rpc", "tracker": f"127.0.0.1:{rpc_pool}", "key": "x86-board"},
        cross_compiler="g++",
        tflite_baseline=False,
    )
    with preflight.device_ready(dev, tmp_path):
        store, outcome = run(tmp_path, small(user_suite(tiny_model), repeat=3), dev, bot_python)
    assert [r.status for r in outcome.results] == ["ok", "ok"], outcome.results[0].error
    assert all(len(r.samples_ms) == 3 and r.ratio is None for r in outcome.results)


def test_an_unreachable_tracker_is_one_line_before_any_write(tmp_path):
    port = free_port()
    dev = device(
        tmp_path,
        connection={"type": "rpc", "tracker": f"127.0.0.1:{port}", "key": "k"},
        tflite_baseline=False,
    )
    with pytest.raises(DeviceUnavailable, match=f"RPC tracker 127.0.0.1:{port} is not reachable"):
        with preflight.device_ready(dev, tmp_path):
            pass


def test_a_key_nobody_serves_is_refused(tmp_path, rpc_pool):
    dev = device(
        tmp_path,
        connection={"type": "rpc", "tracker": f"127.0.0.1:{rpc_pool}", "key": "nobody"},
        tflite_baseline=False,
    )
    with pytest.raises(DeviceUnavailable, match="no RPC server is registered under key 'nobody'"):
        with preflight.device_ready(dev, tmp_path):
            pass


class Looks:
    """RunProgress that keeps every step line: the bar's description, look by look."""

    def __init__(self):
        self.steps: list[str] = []

    def start(self, total, title):
        pass

    def step(self, description):
        self.steps.append(description)

    def done(self, result):
        pass


def test_paired_rounds_stop_at_a_look_and_the_run_records_why(tmp_path, tiny_model, bot_python):
    """A/A on the tiny model (the same build both sides, timed as if the code differed): the rounds stop at
    a look (after 3, 4 or 6 pairs) when decided or when the cap would not decide it, else at the cap; every round, which side it timed first (each
    pair starting with the side the one before it started second), why they stopped, their design and margin
    are recorded, and the progress shows the rounds and interval after every pair."""
    store = Store.open(tmp_path / "perf.db")
    build = Subject(python=bot_python, env=f"python:{bot_python}")
    progress = Looks()
    suite = dataclasses.replace(user_suite(tiny_model), pair_rounds=2, max_rounds=12)
    outcome = Runner(store, tmp_path / "cache", progress).run_paired(
        suite, device(tmp_path), build, build, skip_same_code=False, confirm=False
    )
    for result in outcome.results:
        n = len(result.rounds)
        assert n in (6, 8, 12) and result.judged.n_base == n and result.judged.threshold == result.margin
        undecided = "cannot decide" if result.judged.hopeless else "cap"
        assert result.stopped == {"unchanged": "decided unchanged", "undecided": undecided}.get(
            result.judged.verdict, "decided changed"
        )
        assert result.judged.decided or n == 12 or (result.judged.hopeless and n == 8)  # never at the first look
        looks = [s for s in progress.steps if s.startswith(f"{result.workload.key} {result.config.name}: ")]
        assert [int(s.split(": ")[1].split()[0]) for s in looks] == list(range(2, n + 1, 2))  # one line per pair
        assert "no interval yet" in looks[0] and "rounds, " in looks[-1] and "[" in looks[-1]
    for row in store.results(outcome.run_id):
        assert (row["pair_rounds"], row["max_rounds"]) == (2, 12) and row["margin"] >= 0.02
        assert row["stopped"] in STOPPED and row["stopped"] != "wrong result" and len(row["rounds"]) in (6, 8, 12)
        assert row["round_order"] == "bppb" * (len(row["rounds"]) // 4) + "bp" * (len(row["rounds"]) % 4 // 2)


def test_each_pair_of_children_comes_from_a_pair_of_fork_servers_of_its_own(
    tmp_path, tiny_model, bot_python, monkeypatch
):
    """A child inherits its server's address space, and with it much of a process's luck: the pairs whose
    rounds a verdict counts as independent draws come from different servers. Pair i of every item is forked
    from the job's i-th pair of servers, started once for the whole job, and every server ends with the job."""
    from bot.engine import isolation

    forked: list[tuple[str, str]] = []  # (server's folder, child's folder)
    servers: list[isolation.ForkServer] = []
    session, launch = isolation.ForkServer.session, isolation.ForkServer.launch

    def spy_session(server, spec, workdir, timeout_s):
        forked.append((server.workdir.relative_to(tmp_path).as_posix(), workdir.name))
        return session(server, spec, workdir, timeout_s)

    def spy_launch(server):
        if server.proc is None:  # launch() is asked again of a running server, and does nothing then
            servers.append(server)
        launch(server)

    monkeypatch.setattr(isolation.ForkServer, "session", spy_session)
    monkeypatch.setattr(isolation.ForkServer, "launch", spy_launch)
    store = Store.open(tmp_path / "perf.db")
    build = Subject(python=bot_python, env=f"python:{bot_python}")
    suite = dataclasses.replace(user_suite(tiny_model), pair_rounds=2, max_rounds=8)
    outcome = Runner(store, tmp_path / "cache").run_paired(suite, device(tmp_path), build, build, skip_same_code=False)
    assert [r.attempt for r in outcome.results] == [1, 1] and all(r.status == "ok" for r in outcome.results)
    pairs = max(len(r.rounds) for r in outcome.results) // 2
    assert pairs >= 3 and len(servers) == 2 * pairs  # one pair of servers per pair of children, not per item
    by_child: dict[str, set[str]] = {}
    for server, child in forked:
        by_child.setdefault(child, set()).add(server.rsplit("/", 1)[0])
    # pr and base are pair 1, pr-2 and base-2 pair 2, ...: each child name was forked by one pair's servers,
    # the same for every item, and no two pairs share a server
    assert all(len(folders) == 1 for folders in by_child.values()), by_child
    assert len({next(iter(by_child[f"pr{s}"])) for s in ["", "-2", "-3"]}) == 3
    assert all(server.proc is None for server in servers)  # every server ended with the job
