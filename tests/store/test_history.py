"""Read-only history: the base branch's series, in commit order (bot/store/history.py)."""

from tests.results import ok


def _base_run(store, sha, median, *, commit_time=None, started_at=None, status="complete", device="local", **item):
    run = store.start_run(suite="smoke", device=device, kind="base", sha=sha, commit_time=commit_time,
                          **({"started_at": started_at} if started_at else {}))  # fmt: skip
    store.add_result(run, **ok("qconv_a", [median], layout="NHWC", pipeline="default", **item))
    store.finish_run(run, status)
    return run


def test_a_series_medians_are_the_newest_base_runs_in_commit_order_oldest_first(store):
    _base_run(store, "c3", 3.0, commit_time="2026-03-01")
    _base_run(store, "c1", 1.0, commit_time="2026-01-01")
    _base_run(store, "c2", 2.0, commit_time="2026-02-01")
    _base_run(store, "c4", 9.0, commit_time="2026-04-01", status="aborted")
    _base_run(store, "c5", 9.0, commit_time="2026-05-01", device="rpi4")
    run = store.start_run(suite="smoke", device="local", kind="pr", sha="c6")
    store.add_result(run, **ok("qconv_a", [9.0], layout="NHWC", pipeline="default"))
    store.finish_run(run)
    assert store.series_medians("local", "qconv_a", "uint8", "NHWC", "default") == [1.0, 2.0, 3.0]
    assert store.series_medians("local", "qconv_a", "uint8", "NHWC", "default", limit=2) == [2.0, 3.0]
    assert store.series_medians("local", "qconv_a", "uint8", "NCHW", "default") == []


def test_runs_without_a_commit_time_fall_back_to_when_they_were_measured(store):
    _base_run(store, "late", 2.0, started_at="2026-02-01T00:00:00")
    _base_run(store, "early", 1.0, started_at="2026-01-01T00:00:00")
    assert [r["sha"] for r in store.base_history()] == ["early", "late"]
    assert store.series_medians("local", "qconv_a", "uint8", "NHWC", "default") == [1.0, 2.0]


def test_base_history_carries_each_runs_commit_and_tvm_and_filters_by_device(store):
    _base_run(store, "c2", 2.0, commit_time="2026-02-01", device="rpi4")
    _base_run(store, "c1", 1.0, commit_time="2026-01-01")
    rows = store.base_history()
    assert [(r["sha"], r["device"]) for r in rows] == [("c1", "local"), ("c2", "rpi4")]
    assert rows[0]["samples_ms"] == [1.0] and "tvm_version" in rows[0]
    assert [r["sha"] for r in store.base_history("rpi4")] == ["c2"]


def test_a_base_run_is_known_only_when_complete_for_that_device_and_suite(store):
    _base_run(store, "c1", 1.0)
    _base_run(store, "c2", 1.0, status="aborted")
    assert store.has_base_run("local", "c1", "smoke")
    assert not store.has_base_run("local", "c2", "smoke")
    assert not store.has_base_run("local", "c1", "conv")
    assert not store.has_base_run("rpi4", "c1", "smoke")
