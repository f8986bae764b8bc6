"""Runs and their results as recorded and read back (bot/store/results.py); migrations in test_store.py."""

import pytest

from tests.results import ok, paired, rounds_of

SHA = "a" * 40


def _run(store, status="complete", **fields):
    fields = {"suite": "smoke", "device": "local", "kind": "base", "sha": SHA, **fields}
    run = store.start_run(**fields)
    store.add_result(run, **ok("qconv_a", [1.0, 1.2], layout="NHWC", pipeline="default"))
    store.finish_run(run, status)
    return run


def test_rounds_and_function_hashes_round_trip_and_flags_are_stored_as_integers(store):
    run = store.start_run(suite="smoke", device="local", kind="pr", paired=True, tuning=0)
    rounds = rounds_of(10.0, 0.05, n=4)
    store.add_result(
        run,
        **paired("qconv_a", rounds, layout="NHWC", pipeline="default"),
        code_functions={"conv2d": "h1", "add": "h2"},
        stopped="decided changed",
    )
    [row] = store.results(run)
    assert row["rounds"] == [[round(b, 6), round(p, 6)] for b, p in rounds]
    assert row["code_functions"] == {"add": "h2", "conv2d": "h1"}
    assert (row["same_code"], row["stopped"]) == (0, "decided changed")
    assert (store.run(run)["paired"], store.run(run)["tuning"]) == (1, 0)
    assert store.run(run + 1) is None


def test_the_latest_run_is_the_newest_complete_one_matching_every_given_field(store):
    first = _run(store)
    second = _run(store, suite="conv")
    _run(store, status="aborted")
    _run(store, device="rpi4")
    assert store.latest_run("local")["id"] == second
    assert store.latest_run("local", sha=SHA, kind="base", suite="smoke")["id"] == first
    assert store.latest_run("local", kind="pr") is None


def test_a_heads_runs_are_this_prs_or_recorded_without_a_pr(store):
    mine = _run(store, kind="pr", pr=7)
    unnumbered = _run(store, kind="pr", pr=None)
    _run(store, kind="pr", pr=8)
    _run(store, kind="pr", pr=7, sha="b" * 40)
    assert [r["id"] for r in store.head_runs(SHA, 7)] == [mine, unnumbered]


def test_recent_runs_count_first_attempts_and_ok_items_oldest_first(store):
    run = store.start_run(suite="smoke", device="local", kind="pr")
    store.add_result(run, workload="a", status="ok", attempt=1)
    store.add_result(run, workload="b", status="wrong_result", attempt=1)
    store.add_result(run, workload="b", status="ok", attempt=2)  # the rerun of the same item
    store.finish_run(run)
    empty = store.start_run(suite="smoke", device="rpi4", kind="pr")
    rows = store.recent_runs()
    assert [(r["id"], r["items"], r["ok"]) for r in rows] == [(run, 2, 1), (empty, 0, 0)]
    assert [r["id"] for r in store.recent_runs("rpi4")] == [empty]
    assert [r["id"] for r in store.recent_runs(limit=1)] == [empty]


def test_results_at_a_commit_come_from_complete_runs_of_that_kind_newest_last(store):
    first = _run(store)
    store.add_result(first, **ok("qconv_b", [2.0], layout="NHWC", pipeline="tuned"))
    _run(store, status="aborted")
    _run(store, kind="pr")
    second = _run(store)
    rows = store.results_at("local", SHA, "base")
    assert [(r["run_id"], r["workload"]) for r in rows] == [(first, "qconv_a"), (first, "qconv_b"), (second, "qconv_a")]
    assert [r["workload"] for r in store.results_at("local", SHA, "base", pipeline="tuned")] == ["qconv_b"]
    assert rows[0]["samples_ms"] == [1.0, 1.2] and rows[0]["sha"] == SHA


def test_a_tuning_is_recorded_with_its_target_as_json(store):
    tuning = store.record_tuning(device="local", workload="qconv_a", target={"mcpu": "znver2", "kind": "llvm"})
    [row] = store.db["tunings"].rows_where("id = ?", [tuning])
    assert row["target"] == '{"kind": "llvm", "mcpu": "znver2"}' and row["created_at"]


def test_a_networks_parts_are_replaced_as_a_whole(store):
    store.record_network_parts("inception_v3", {"conv_a": 2, "conv_b": 1})
    store.record_network_parts("inception_v3", {"conv_c": 4})
    assert store.network_parts("inception_v3") == {"conv_c": 4}
    assert store.network_parts("mobilenet") == {}


def test_results_round_trip_samples(store):
    run = store.start_run(suite="smoke", device="local", target={"kind": "llvm"}, emulated=True)
    store.add_result(
        run,
        workload="w",
        scheme="uint8",
        layout="NHWC",
        pipeline="default",
        status="ok",
        samples_ms=[3.0, 1.0, 2.0],
        median_ms=2.0,
    )
    store.finish_run(run)
    [row] = store.results(run)
    assert row["samples_ms"] == [3.0, 1.0, 2.0]
    assert store.run(run)["status"] == "complete" and store.run(run)["emulated"] == 1
    assert store.run(run)["target"] == '{"kind": "llvm"}'


def test_unknown_status_is_refused(store):
    run = store.start_run(suite="smoke", device="local")
    with pytest.raises(ValueError, match="unknown result status 'fine'"):
        store.add_result(run, workload="w", status="fine")


def test_a_prs_runs_include_those_recorded_without_a_repository(store):
    for repo, pr, status in (("apache/tvm", 7, "complete"), (None, 7, "complete"), ("other/tvm", 7, "complete"),
                             (None, 8, "complete"), (None, 7, "aborted")):  # fmt: skip
        run = store.start_run(suite="smoke", device="local", kind="pr", repo=repo, pr=pr)
        store.add_result(run, **ok("qconv_a", [1.0], layout="NHWC", pipeline="default"))
        store.finish_run(run, status)
    assert [r["id"] for r in store.pr_runs(7, "apache/tvm")] == [1, 2]
    assert [r["id"] for r in store.pr_runs(7, "")] == [2]
    assert [r["id"] for r in store.pr_runs(7)] == [1, 2, 3]  # any repository
