"""The dashboard's read-only queries, on a real database file."""

from __future__ import annotations

from bot.store import Store
from tests.results import counted


def test_points_carry_counts_and_the_runs_metric_but_not_per_function_counts(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    run = store.start_run(suite="smoke", device="qemu-aarch64", kind="base", metric="instructions", emulator="qemu")
    row = counted("qconv_a", None, 61_000_000, layout="NHWC", pipeline="default") | {"base_status": None}
    result = store.add_result(run, **row)
    store.finish_run(run)
    [point] = store.dashboard_points("base")
    assert (point["instructions"], point["metric"], point["emulator"]) == (61_000_000, "instructions", "qemu")
    assert "functions" not in point  # read per run, for the newest run only
    assert store.functions_of(run) == {result: {"kernel:conv2d": 61_000_000}}
    store.close()
