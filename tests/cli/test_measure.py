"""`perfbot run` and `perfbot tune` as real processes: stopped in the middle, they leave nothing running.

Each test starts perfbot on a small model, waits until the processes that do
the work exist (a forked item child under the fork server for `run`, TVM's
popen_workers under the tuning child for `tune`), stops perfbot the way a
person (SIGINT), a cancelled CI job (SIGTERM) or the OOM killer (SIGKILL)
does, and looks in /proc for every process it had below it. Then the exit
status a script gets from `perfbot run`, and a target TVM cannot parse. The model for
`run` is deep enough that its first item compiles for longer than the test
waits: a child left behind is still running when the test looks.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.engine.suite.graph import SCHEMES, GraphBuilder
from bot.store import Store
from tests.processes import depth, perfbot, stop_and_check, wait_for_tree

pytestmark = pytest.mark.timeout(300)

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]


@pytest.fixture(scope="module")
def deep_model(tmp_path_factory) -> Path:
    """24 small convs in a row: quick to generate, about 10-20 s to compile (a tiny model takes 1-2 s)."""
    g = GraphBuilder(SCHEMES["int8"], 11, (1, 16, 16, 8))
    y = g.input
    for i in range(24):
        y = g.conv(y, 8 + 8 * (i % 3), ((1, 3), (3, 1), (3, 3))[i % 3], relu=True)
    path = tmp_path_factory.mktemp("models") / "deep_conv.tflite"
    path.write_bytes(g.finish(y))
    return path


def environment(tmp_path) -> dict[str, str]:
    return {"PERFBOT_DB": str(tmp_path / "perf.db"), "PERFBOT_CACHE": str(tmp_path / "cache")}


@pytest.mark.slow
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_stopped_run_leaves_no_process_behind(deep_model, tmp_path, sig):
    process = perfbot(["run", "--model", str(deep_model)], environment(tmp_path), tmp_path)

    def item_child(tree):  # perfbot -> fork server -> the item's own child, compiling
        return any("measure.py" in cmd and depth(tree, pid, process.pid) >= 2 for pid, cmd in tree.items())

    stop_and_check(process, sig, wait_for_tree(process, item_child), timeout_s=5)


@pytest.mark.slow
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_stopped_tune_leaves_no_process_behind(tiny_model, tmp_path, sig):
    process = perfbot(["tune", "--model", str(tiny_model), "--trials", "64"], environment(tmp_path), tmp_path)

    def popen_workers(tree):  # perfbot -> the tuning child -> TVM's builder and runner workers
        return any("popen_worker" in cmd for cmd in tree.values())

    stop_and_check(process, sig, wait_for_tree(process, popen_workers), timeout_s=5)


# ------------------------------------------------------------------------------ exit status and the target


def devices_yml(tmp_path, target: str) -> Path:
    path = tmp_path / "devices.yml"
    path.write_text(f"devices:\n  box:\n    arch: host\n    target: {target}\n    connection: local\n")
    return path


def run_cli(tmp_path, devices: Path, *args: str):
    env = {**environment(tmp_path), "PERFBOT_DEVICES": str(devices)}
    return CliRunner().invoke(main, ["run", "--device", "box", *args], env=env)


@pytest.mark.slow
def test_a_target_tvm_cannot_parse_is_one_line_naming_the_file_device_and_target(tiny_model, tmp_path):
    devices = devices_yml(tmp_path, "{kind: nosuchkind}")
    result = run_cli(tmp_path, devices, "--model", str(tiny_model))
    assert result.exit_code == 1, result.output
    message = result.output.strip().splitlines()[-1]
    assert message == (
        f'Error: {devices}: device \'box\': target: {{"kind": "nosuchkind"}} is not a target the TVM under '
        'test can use: Target kind "nosuchkind" is not defined. Target creation from config dict failed: '
        '{"kind": "nosuchkind"}'
    )
    assert Store.open(tmp_path / "perf.db").runs() == []  # refused before the run was written


@pytest.mark.slow
def test_run_exits_3_when_items_failed_unless_fail_on_says_otherwise(tiny_model, tmp_path):
    """Code for AArch64 on this x86 host: TVM accepts the target, and every item fails."""
    devices = devices_yml(tmp_path, "{kind: llvm, mtriple: aarch64-linux-gnu}")
    result = run_cli(tmp_path, devices, "--model", str(tiny_model))
    assert result.exit_code == 3, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: 2 of 2 items in run 1 are not ok (2 "), last
    statuses = {r["status"] for r in Store.open(tmp_path / "perf.db").results(1)}
    assert statuses and "ok" not in statuses and "wrong_result" not in statuses
    assert run_cli(tmp_path, devices, "--model", str(tiny_model), "--fail-on", "wrong-result").exit_code == 0


def test_the_exit_statuses_are_in_the_help():
    text = CliRunner().invoke(main, ["run", "--help"]).output
    assert "Exit status:" in text and "--fail-on" in text
    for code in ("0  the run was recorded", "1  nothing was run", "2  a usage error", "3  the run was recorded"):
        assert code in text
