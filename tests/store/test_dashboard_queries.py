"""The dashboard's read-only queries, on a real database file."""

from __future__ import annotations

from bot.store import Store
from tests.results import counted, ok


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


def test_a_prs_runs_include_those_recorded_without_a_repository(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    for repo, pr, status in (("apache/tvm", 7, "complete"), (None, 7, "complete"), ("other/tvm", 7, "complete"),
                             (None, 8, "complete"), (None, 7, "aborted")):  # fmt: skip
        run = store.start_run(suite="smoke", device="local", kind="pr", repo=repo, pr=pr)
        store.add_result(run, **ok("qconv_a", [1.0], layout="NHWC", pipeline="default"))
        store.finish_run(run, status)
    assert [r["id"] for r in store.pr_runs("apache/tvm", 7)] == [1, 2]
    assert [r["id"] for r in store.pr_runs("", 7)] == [2]
    store.close()
