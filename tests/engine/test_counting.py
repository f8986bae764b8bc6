"""Counting on the emulated AArch64 board for real: exact, attributed to kernels, and moved by real TVM changes.

Everything is the real thing: TVM compiles for the Cortex-A72 target here, the
cross compiler links, the module runs under qemu-aarch64 with perfbot's
counting plugin behind a tracker on 127.0.0.1, TFLite's interpreter is
counted on the same emulated core, and the PR builds are commits of a git
tree of TVM's real Python sources (tests/tvm_checkout.py) that do more work.
"""

import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot import devices, stats
from bot.engine import counting, subjects
from bot.engine.boards import preflight, userspace
from bot.engine.builds import commits
from bot.engine.runner import Config, Runner, Subject
from bot.engine.suite.inception import SEED
from bot.engine.suite.suites import SMOKE_CONVS, Suite
from bot.engine.suite.workloads import qconv
from bot.store import Store
from bot.vocabulary import COUNT_FLOOR
from tests import emulated_board, tvm_checkout
from tests.emulated_board import free_port, needs_tools, server_log


def on_the_board(test):
    """A test that runs on the emulated board: slow, and skipped (naming the packages) without qemu-user."""
    return needs_tools(pytest.mark.slow(pytest.mark.timeout(1800)(test)))


ONE_BY_SEVEN, ONE_BY_ONE = SMOKE_CONVS[1], SMOKE_CONVS[2]


@pytest.fixture(scope="module")
def board(qemu_cache):
    """The repository's qemu-aarch64 device, brought up once for the module on a port of its own."""
    port = free_port()
    with preflight.device_ready(emulated_board.board(port), qemu_cache) as ready:
        yield ready
    server_log(qemu_cache, port).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """A real TVM tree (the installed release's Python sources) and commits that do more 1x7 work."""
    folder = tmp_path_factory.mktemp("tvm")
    cache = folder / "cache"
    checkout = folder / "tvm"
    main = tvm_checkout.make_checkout(checkout)
    subjects.native_from(commits.resolve(checkout, main), f"python:{sys.executable}", cache)
    shas = {
        "main": main,
        "double": tvm_checkout.commit_change(checkout, "double", "1x7 twice", tvm_checkout.recompute_part(1.0)),
        "five": tvm_checkout.commit_change(checkout, "five", "1x7 +5%", tvm_checkout.recompute_part(0.05)),
    }

    def subject(name: str, kind: str) -> Subject:
        env = subjects.provision(f"source:{checkout}@{shas[name]}", cache)
        return Subject(python=env.python, env=env.key, kind=kind, sha=shas[name], pr=1 if kind == "pr" else None,
                       variables=env.variables, build=env.build)  # fmt: skip

    return subject


@on_the_board
def test_an_item_is_counted_with_its_kernels_its_module_and_tflite_beside_it(board, tmp_path, bot_python):
    store = Store.open(tmp_path / "perf.db")
    suite = Suite("seed", (qconv(SEED, "uint8"),))
    outcome = Runner(store, tmp_path / "cache").run(suite, board, Subject(python=bot_python, env="python:test"))
    assert [(r.config.name, r.status) for r in outcome.results] == [("NHWC/default", "ok"), ("NCHW/default", "ok")]
    for result in outcome.results:
        count = result.instructions
        assert result.max_abs_diff <= 1 and not result.samples_ms  # checked against TFLite, never timed
        assert count.total > 500_000_000 and count.functions["kernel:conv2d"] > 0.95 * count.total
        assert sum(count.functions.values()) == count.total  # every instruction is somewhere
        assert result.tflite_instructions.total > 10_000_000 and result.instruction_ratio > 1
        assert any(name.startswith("tflite:") for name in result.tflite_instructions.functions)
        assert result.module_stats.kernels >= 4 and result.module_stats.code_bytes > 1000
    nhwc, nchw = outcome.results
    assert nchw.module_stats.kernels > nhwc.module_stats.kernels  # NCHW adds the layout transposes
    run = store.run(outcome.run_id)
    assert run["metric"] == "instructions" and run["device_runtime"] == "apache-tvm 0.27.0.post1"
    assert run["emulator"].startswith("qemu-aarch64 ") and "-cpu cortex-a72" in run["emulator"]
    (row, _) = store.results(outcome.run_id)
    assert row["instructions"] == nhwc.instructions.total and row["functions"] == nhwc.instructions.functions


@on_the_board
def test_the_same_build_counted_in_fresh_processes_agrees(board, tmp_path, bot_python):
    """The kernels' counts are identical; the total moves by at most a few thousand (allocator, interpreter)."""
    store = Store.open(tmp_path / "perf.db")
    suite = Suite("1x7", (qconv(ONE_BY_SEVEN, "uint8"),))
    subject = Subject(python=bot_python, env="python:test")
    results = [Runner(store, tmp_path / "cache").run(suite, board, subject).results[0] for _ in range(2)]
    first, second = (r.instructions for r in results)
    assert results[0].tflite_instructions == results[1].tflite_instructions  # TFLite's count was kept, not redone
    assert counting.KeptTfliteCounts(tmp_path / "cache", board).get(suite.workloads[0].content_hash) is not None
    assert {k: v for k, v in first.functions.items() if k.startswith("kernel:")} == {
        k: v for k, v in second.functions.items() if k.startswith("kernel:")
    }
    assert abs(first.total - second.total) <= COUNT_FLOOR / 5
    assert stats.compare_counts(first.total, second.total).verdict == "unchanged"


@on_the_board
def test_real_slower_builds_move_the_count_by_their_work_and_the_rest_is_same_code(board, builds, tmp_path):
    store = Store.open(tmp_path / "perf.db")
    suite = Suite("pair", (qconv(ONE_BY_SEVEN, "uint8"), qconv(ONE_BY_ONE, "uint8")))
    base = builds("main", "base")
    changes = {}
    for name in ("double", "five"):
        outcome = Runner(store, tmp_path / "cache").run_paired(suite, board, base, builds(name, "pr"))
        assert all(r.attempt == 1 for r in outcome.results)  # a count is never rerun
        changes[name] = {(r.workload.name, r.config.layout): r for r in outcome.results}
    for name, expected in (("double", 1.0), ("five", 0.05)):
        for layout in ("NHWC", "NCHW"):
            moved = changes[name][(ONE_BY_SEVEN.name, layout)]
            change = moved.instructions.total / moved.base_instructions.total - 1
            assert change == pytest.approx(expected, rel=0.25), (name, layout, change)
            assert stats.compare_counts(moved.base_instructions.total, moved.instructions.total).verdict == (
                "more instructions"
            )
            same = changes[name][(ONE_BY_ONE.name, layout)]
            assert same.same_code and same.instructions is None and same.base_instructions is None


@on_the_board
def test_a_board_that_cannot_count_records_an_environment_error_naming_it(board, qemu_cache, tmp_path, bot_python):
    """The plugin's output folder is gone: nothing can be counted, every item says why, nothing crashes."""
    counts = Path(qemu_cache) / "counts"
    moved = tmp_path / "counts-away"
    folders = [p for p in counts.iterdir() if p.name.startswith(f"{board.rpc.port}-")]
    assert len(folders) == 1
    shutil.move(folders[0], moved)
    try:
        store = Store.open(tmp_path / "perf.db")
        suite = Suite("seed", (qconv(ONE_BY_ONE, "uint8"),))
        outcome = Runner(store, tmp_path / "cache").run(suite, board, Subject(python=bot_python, env="python:test"))
    finally:
        shutil.move(moved, folders[0])
    assert {r.status for r in outcome.results} == {"environment_error"}
    assert all(
        r.error.startswith(
            "TFLite on qemu-aarch64: instruction count failed on the board: the counting plugin wrote no"
        )
        for r in outcome.results
    )
    assert store.run(outcome.run_id)["status"] == "complete"


def test_kept_tflite_counts_are_per_board_and_thread_count(tmp_path):
    device = devices.load(Path(__file__).resolve().parents[2] / "devices.yml").get("qemu-aarch64")
    kept = counting.KeptTfliteCounts(tmp_path, device)
    assert kept.get("w" * 64) is None
    kept.put("w" * 64, {"total": 5, "blocks": []})
    assert counting.KeptTfliteCounts(tmp_path, device).get("w" * 64) == {"total": 5, "blocks": []}
    assert counting.KeptTfliteCounts(tmp_path, replace(device, threads=4)).get("w" * 64) is None
    assert [p.name for p in kept.folder.iterdir()] == ["w" * 64 + ".json"]  # no temporary file left


@on_the_board
def test_a_build_that_brings_its_own_aarch64_runtime_is_served_with_it(board, builds, qemu_cache, tmp_path):
    """The PR side's modules run on a second server with the build's runtime (TVM's runtime-only mode, the
    commit's python/), the base side's on the board's own; the run records which runtime served it.

    The runtime folder is a stand-in for a cross-built one (bot/engine/builds/aarch64.py): the release's own
    aarch64 libtvm_runtime.so, so both sides run the same runtime binary and must count the same
    instructions. A real cross-built runtime of apache/tvm main is the README's (Per-commit builds)."""
    stand_in = tmp_path / "aarch64-runtime" / "0123456789abcdef01234567"
    (stand_in / "lib").mkdir(parents=True)
    wheel_lib = userspace.site_path(userspace.folder(qemu_cache)) / "tvm" / "lib"
    for name in ("libtvm_runtime.so", "libtvm_runtime_extra.so"):
        if (wheel_lib / name).is_file():
            shutil.copy(wheel_lib / name, stand_in / "lib" / name)
    (stand_in / "runtime.json").write_text("{}")
    base = builds("main", "base")
    pr = builds("main", "pr")
    pr = replace(pr, build={**pr.build, "aarch64_runtime": str(stand_in), "commit": pr.sha})
    store = Store.open(tmp_path / "perf.db")
    suite = Suite("1x1", (qconv(ONE_BY_ONE, "uint8"),))
    outcome = Runner(store, tmp_path / "cache").run_paired(suite, board, base, pr, only=Config("NHWC", "default"))
    (result,) = outcome.results
    assert result.status == "ok" and not result.same_code  # another runtime: counted, however the code compares
    assert result.board["runtime"] == f"TVM {pr.sha[:10]}'s own AArch64 runtime (0123456789ab)"
    assert result.base.data["board"]["runtime"] == "apache-tvm 0.27.0.post1"
    # The same runtime binary: the same instructions in the kernels and in TVM's runtime. The loader and the
    # interpreter around them differ by a few hundred (another library path, another server process), under
    # the COUNT_FLOOR that decides `unchanged`; CI once saw 409.
    for name in ("kernel:conv2d", "kernel:quantize", "kernel:dequantize", "tvm runtime:(other)"):
        assert result.instructions.functions[name] == result.base_instructions.functions[name], name
    assert abs(result.instructions.total - result.base_instructions.total) < COUNT_FLOOR
    run = store.run(outcome.run_id)
    assert run["device_runtime"] == result.board["runtime"] and run["own_runtime"] == 1
    assert f"{board.rpc.key}@0123456789ab" in board.serving.servers
