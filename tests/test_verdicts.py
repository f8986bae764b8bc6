"""Deciding what a PR's report says, from a real database file: verdicts, states, pending counts."""

from __future__ import annotations

import pytest

from bot import devices
from bot.store import Store
from bot.verdicts import build
from tests.fake_github.world import DEVICES
from tests.results import counted, failed, ok, paired, rounds_of

REPO = "apache/tvm"
HEAD, OLD_HEAD, BASE = "h" * 40, "o" * 40, "b" * 40
STEADY = [10.0, 10.1, 9.9, 10.0, 10.05, 9.95, 10.0, 10.02]
SLOWER = [v * 1.3 for v in STEADY]


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "perf.db")
    s.save_pull(
        repo=REPO,
        number=7,
        title="t",
        author="alice",
        head_sha=HEAD,
        head_repo=REPO,
        head_ref="x",
        base_ref="main",
        base_sha=BASE,
        merge_base=BASE,
        is_fork=False,
        state="open",
        url="u",
    )
    yield s
    s.close()


#: An instruction-counting board beside the fake world's devices.
COUNTING = """
  qemu-aarch64:
    description: Cortex-A72 emulated by qemu-aarch64, instruction counts
    arch: aarch64
    target: {kind: llvm, mtriple: aarch64-linux-gnu, mcpu: cortex-a72}
    connection: {type: rpc, tracker: "127.0.0.1:9190", key: qemu-aarch64}
    cross_compiler: aarch64-linux-gnu-gcc
    tflite_baseline: false
    emulated: true
    metric: instructions
    bring_up: qemu-aarch64
"""


@pytest.fixture
def registry():
    return devices.Registry(None, devices.parse(DEVICES.rstrip() + COUNTING, "test"))


def record(store, device, kind, sha, results, *, emulated=False):
    """A finished job with its complete run."""
    job_id, _ = store.enqueue(
        sha=sha,
        device=device,
        suite="smoke",
        kind=kind,
        repo=REPO,
        pr=7 if kind == "pr" else None,
        base_sha=BASE if kind == "pr" else None,
        force=True,
        priority=100,
    )
    job = store.claim(device, "w")
    assert job["id"] == job_id
    run_id = store.start_run(
        suite="smoke",
        device=device,
        arch="aarch64",
        kind=kind,
        repo=REPO,
        sha=sha,
        pr=7 if kind == "pr" else None,
        job_id=job_id,
        emulated=emulated,
        tvm_version="0.27.0",
    )
    for r in results:
        store.add_result(run_id, **{"layout": "NHWC", "pipeline": "default", **r})
    store.update_run(run_id, paired=int(kind == "pr" and any("base_status" in r for r in results)))
    store.finish_run(run_id)
    store.finish(job_id, "w", "done", run_id=run_id)


def test_a_slower_pr_confirmed_by_its_rerun_fails_its_status(store, registry):
    """A run from when jobs reran a change (no design recorded: each round its own unit) reads as it did."""
    record(
        store,
        "rpi4",
        "pr",
        HEAD,
        [paired("qconv_a", rounds_of(10.0, 0.3)), paired("qconv_a", rounds_of(10.0, 0.3, seed=1), attempt=2)],
    )
    report = build(store, registry, REPO, 7)
    (device,) = report.devices
    (row,) = device.rows
    assert row.verdict == "slower" and row.confirmed and row.comparison.change == pytest.approx(0.3, abs=0.01)
    assert row.rounds == 10  # the first attempt's rounds, as they stopped
    assert row.verdict_text == "slower than +2%, confirmed by a rerun"
    assert (row.base_ms, row.pr_ms) == (pytest.approx(10.0, abs=0.1), pytest.approx(13.0, abs=0.2))
    assert device.state == "failure" and device.tvm_version == "0.27.0"


def test_a_change_the_rerun_does_not_confirm_is_undecided_never_unchanged(store, registry):
    """A run from when jobs reran a change close to the margin, whose rerun disagreed."""
    first, again = paired("qconv_a", rounds_of(10.0, 0.03)), paired("qconv_a", rounds_of(10.0, 0.0, seed=3), attempt=2)
    record(store, "rpi4", "pr", HEAD, [first, again])
    (device,) = build(store, registry, REPO, 7).devices
    (row,) = device.rows
    assert (row.verdict, row.confirmed) == ("undecided", False)
    assert row.verdict_text == "noisy: a rerun did not confirm slower (±2%)" and device.state == "success"
    assert build(store, registry, REPO, 7).summary() == "1 undecided, on 1 device"


def test_a_change_needs_no_rerun_its_pairs_of_processes_drew_their_luck(store, registry):
    """Each pair of children had fork servers of its own, and the interval is over pairs: a change close to
    the margin stands on its first attempt, as a clear one does."""
    design = dict(pair_rounds=2, max_rounds=24, margin=0.02, stopped="decided changed")
    clear, small = (
        paired("qconv_a", rounds_of(10.0, 0.3, n=6), **design),
        paired("qconv_b", rounds_of(10.0, 0.035, n=12), **design),
    )
    record(store, "rpi4", "pr", HEAD, [clear, small])
    rows = {r.workload: r for r in build(store, registry, REPO, 7).devices[0].rows}
    assert (rows["qconv_a"].verdict, rows["qconv_a"].confirmed, rows["qconv_a"].rounds) == ("slower", None, 6)
    assert rows["qconv_a"].verdict_text == "slower than +2%"
    assert (rows["qconv_b"].verdict, rows["qconv_b"].confirmed) == ("slower", None)
    assert "6 pairs of processes (12 rounds)" in rows["qconv_b"].comparison.reason


def test_rounds_that_reached_the_cap_undecided_say_so_with_their_interval(store, registry):
    wide = [[10.0, 10.0 * r] for r in (1.3, 0.8, 1.1, 0.95, 1.6, 0.7, 1.2, 1.0) * 3]
    row = paired("qconv_a", wide, pair_rounds=4, max_rounds=24, stopped="cap", margin=0.02)
    record(store, "rpi4", "pr", HEAD, [row])
    (device,) = build(store, registry, REPO, 7).devices
    (judged,) = device.rows
    assert judged.verdict == "undecided" and judged.stopped == "cap" and judged.rounds == 24
    assert judged.verdict_text.startswith("noisy: -") and judged.verdict_text.endswith("(±2%)")
    assert device.state == "success" and not judged.alarming


def test_the_margin_the_rounds_were_timed_against_is_the_one_judged(store, registry):
    """The runner stopped at a 6% margin (the series' noise then): the verdict does not move with later history."""
    row = paired("qconv_a", rounds_of(10.0, 0.04, n=8), pair_rounds=2, max_rounds=24, margin=0.06,
                 stopped="decided unchanged")  # fmt: skip
    record(store, "rpi4", "pr", HEAD, [row])
    (judged,) = build(store, registry, REPO, 7).devices[0].rows
    assert judged.verdict == "unchanged" and judged.comparison.threshold == 0.06
    assert judged.verdict_text == "unchanged within ±6%" and judged.rounds == 8


def test_a_first_run_that_says_unchanged_needs_no_rerun(store, registry):
    record(store, "rpi4", "pr", HEAD, [paired("qconv_a", rounds_of(10.0, 0.01))])
    (row,) = build(store, registry, REPO, 7).devices[0].rows
    assert (row.verdict, row.confirmed) == ("unchanged", None)


def test_same_code_is_decided_by_equality_and_shows_the_bases_latency(store, registry):
    record(store, "rpi4", "base", BASE, [ok("qconv_a", STEADY)])
    record(store, "rpi4", "pr", HEAD, [paired("qconv_a", None, same_code=True)])
    (device,) = build(store, registry, REPO, 7).devices
    (row,) = device.rows
    assert row.verdict == "same code" and row.comparison is None and not row.alarming
    assert row.base_ms == row.pr_ms == pytest.approx(10.0, abs=0.02) and row.ratio == pytest.approx(0.5, abs=0.01)
    assert device.state == "success"


def test_a_wrong_result_the_rerun_does_not_reproduce_is_flaky_never_hidden(store, registry):
    wrong = paired("qconv_a", rounds_of(10.0, 0.0), status="wrong_result", max_abs_diff=37.0)
    record(store, "rpi4", "pr", HEAD, [wrong, paired("qconv_a", rounds_of(10.0, 0.0, seed=5), attempt=2)])
    (device,) = build(store, registry, REPO, 7).devices
    (row,) = device.rows
    assert row.verdict == "flaky_result" and row.verdict_text == "flaky result (the rerun was right)"
    assert row.max_abs_diff == 37.0 and device.state == "success" and device.counts["flaky_result"] == 1


def test_a_flaky_results_latency_is_the_reruns_the_wrong_answers_one_pair_is_not_judged(store, registry):
    """A wrong answer's rounds stop with their first pair (bot/engine/timing.py); the rerun that answered right
    was timed in full, and its rounds are the row's: its rounds, interval, latency and why they stopped."""
    wrong = paired("qconv_a", rounds_of(10.0, 0.5, n=2), status="wrong_result", stopped="wrong result")
    rerun = paired("qconv_a", rounds_of(12.0, 0.0, n=12, seed=5), attempt=2, stopped="cap")
    record(store, "rpi4", "pr", HEAD, [wrong, rerun])
    (row,) = build(store, registry, REPO, 7).devices[0].rows
    assert row.verdict == "flaky_result" and row.rounds == 12 and row.stopped == "cap"
    assert abs(row.comparison.change) < 0.05 and row.pr_ms == pytest.approx(12.0, rel=0.05)


def test_a_wrong_result_the_rerun_reproduces_fails(store, registry):
    wrong = [
        paired("qconv_a", rounds_of(10.0, 0.0, seed=s), status="wrong_result", attempt=a) for s, a in ((1, 1), (2, 2))
    ]
    record(store, "rpi4", "pr", HEAD, wrong)
    (device,) = build(store, registry, REPO, 7).devices
    assert device.rows[0].verdict == "wrong_result" and device.state == "failure"


def test_a_build_error_fails_and_keeps_the_log(store, registry):
    record(
        store, "rpi4", "pr", HEAD, [failed("qconv_a", "build_error", "native build failed: cmake --build\nerror: x")]
    )
    (device,) = build(store, registry, REPO, 7).devices
    (row,) = device.rows
    assert row.verdict == "build_error" and row.alarming and device.state == "failure"
    assert device.failures() == [row] and "error: x" in row.error


def test_a_pr_run_measured_without_its_base_gets_no_latency_verdict(store, registry):
    record(store, "rpi4", "base", BASE, [ok("qconv_a", STEADY)])
    record(store, "rpi4", "pr", HEAD, [ok("qconv_a", SLOWER)])
    (device,) = build(store, registry, REPO, 7).devices
    (row,) = device.rows
    assert row.verdict == "inconclusive" and row.comparison is None and device.state == "success"
    assert row.base_ms == pytest.approx(10.0, abs=0.02) and row.pr_ms == pytest.approx(13.0, abs=0.03)


def test_an_emulated_device_never_gets_slower_or_faster(store, registry):
    rows = [paired("qconv_a", rounds_of(10.0, 0.3)), paired("qconv_b", rounds_of(10.0, -0.3))]
    record(store, "qemu-a72", "pr", HEAD, rows, emulated=True)
    (device,) = build(store, registry, REPO, 7).devices
    assert [r.verdict for r in device.rows] == ["emulated", "emulated"]
    assert device.state == "success"


def test_an_emulated_wrong_result_still_counts(store, registry):
    wrong = [
        paired("qconv_a", rounds_of(10.0, 0.0, seed=s), status="wrong_result", attempt=a) for s, a in ((1, 1), (2, 2))
    ]
    record(store, "qemu-a72", "pr", HEAD, wrong, emulated=True)
    (device,) = build(store, registry, REPO, 7).devices
    assert device.rows[0].verdict == "wrong_result" and device.state == "failure"


@pytest.mark.parametrize("base_status, state, new", [("ok", "failure", True), ("compile_error", "success", False)])
def test_only_a_new_compile_error_fails_the_status(store, registry, base_status, state, new):
    failure = failed("qconv_a", "compile_error", "assert kernel_layout == 'HWIO'", base_status=base_status, attempt=1)
    record(store, "rpi4", "pr", HEAD, [failure])
    (device,) = build(store, registry, REPO, 7).devices
    assert device.rows[0].new_failure is new and device.state == state


def test_the_newest_run_of_the_head_counts_and_the_old_heads_results_are_left_out(store, registry):
    record(store, "rpi4", "pr", OLD_HEAD, [paired("qconv_a", rounds_of(10.0, 4.0))])
    record(
        store,
        "rpi4",
        "pr",
        HEAD,
        [paired("qconv_a", rounds_of(10.0, 0.5)), paired("qconv_a", rounds_of(10.0, 0.5, seed=2), attempt=2)],
    )
    record(store, "rpi4", "pr", HEAD, [paired("qconv_a", rounds_of(10.0, 0.0, seed=4))])  # `@perfbot rerun`
    (device,) = build(store, registry, REPO, 7).devices
    (row,) = device.rows
    assert row.comparison.n_pr == 10 and row.verdict == "unchanged"


def test_the_device_is_pending_while_the_heads_jobs_run_not_for_the_baseline(store, registry):
    store.enqueue(sha=BASE, device="rpi4", suite="smoke", kind="base", repo=REPO)
    record(store, "rpi4", "pr", HEAD, [paired("qconv_a", None, same_code=True)])
    report = build(store, registry, REPO, 7)
    assert (report.devices[0].state, report.jobs_pending) == ("success", 0)
    assert report.devices[0].rows[0].verdict == "same code" and report.devices[0].rows[0].base_ms is None

    job = store.claim("rpi4", "w")
    store.finish(job["id"], "w", "failed", reason="environment_error: no TVM")
    (device,) = build(store, registry, REPO, 7).devices
    assert device.state == "success" and device.baseline_failed == ["environment_error: no TVM"]

    store.enqueue(sha=HEAD, device="rpi4", suite="conv", kind="pr", repo=REPO, pr=7, base_sha=BASE)
    assert build(store, registry, REPO, 7).devices[0].state == "pending"


def test_a_fork_pr_without_approval_is_waiting(store, registry):
    store.save_pull(**{**store.pull(REPO, 7), "is_fork": True})
    assert build(store, registry, REPO, 7).awaiting_approval
    store.approve(REPO, 7, HEAD, "maintainer")
    assert not build(store, registry, REPO, 7).awaiting_approval


def test_an_unknown_pr_has_no_report(store, registry):
    assert build(store, registry, REPO, 999) is None


def test_results_recorded_without_a_job_are_reported(store, registry):
    """`perfbot run --kind pr --base-env ...` in a workflow, then `perfbot report`: no queue involved."""
    run_id = store.start_run(suite="smoke", device="rpi4", arch="aarch64", kind="pr", repo=REPO, sha=HEAD, pr=7)
    for attempt, seed in ((1, 1), (2, 2)):
        row = paired("qconv_a", rounds_of(10.0, 0.3, seed=seed), attempt=attempt)
        store.add_result(run_id, **{"layout": "NHWC", "pipeline": "default", **row})
    store.finish_run(run_id)
    report = build(store, registry, REPO, 7)
    assert [d.device.name for d in report.devices] == ["rpi4"]
    assert report.devices[0].rows[0].verdict == "slower" and report.devices[0].state == "failure"


# ------------------------------------------------------------------------------ instruction-counting boards


def test_a_count_that_grows_beyond_the_margin_is_more_instructions_and_fails_at_once(store, registry):
    """Counts are exact: no rounds, no rerun; the functions that moved come with the verdict."""
    functions = {"kernel:conv2d": 252_000_000, "kernel:quantize": 76_000, "system:libc.so.6": 23_000}
    base_functions = {"kernel:conv2d": 126_000_000, "kernel:quantize": 76_000, "system:libc.so.6": 22_000}
    row = counted("qconv_a", 126_099_000, 252_099_000, functions=functions, base_functions=base_functions)
    record(store, "qemu-aarch64", "pr", HEAD, [row], emulated=True)
    (device,) = build(store, registry, REPO, 7).devices
    (row,) = device.rows
    assert row.verdict == "more instructions" and row.alarming and row.confirmed is None
    assert row.comparison.change == pytest.approx(0.99921, abs=1e-5) and row.change_text == "+99.9%"
    assert row.verdict_text == "more instructions" and device.state == "failure"
    assert row.counts.moved_most() == [
        ("kernel:conv2d", 126_000_000, 252_000_000),
        ("system:libc.so.6", 22_000, 23_000),
    ]
    assert row.counts.ratio == pytest.approx(252_099_000 / 5_000_000)


@pytest.mark.parametrize(
    "base, pr, verdict",
    [
        (61_245_480, 61_245_480 + 3_000, "unchanged"),  # +0.005%: within the 0.1% margin
        (61_245_480, int(61_245_480 * 1.002), "more instructions"),  # +0.2%: beyond the 0.1% margin
        (61_245_480, int(61_245_480 * 0.95), "fewer instructions"),
        (60_000, 60_900, "unchanged"),  # a tiny model: 900 is within the 1,000-instruction floor, not 0.1%
        (60_000, 61_200, "more instructions"),
    ],
)
def test_count_verdicts_are_arithmetic_on_the_margin(store, registry, base, pr, verdict):
    record(store, "qemu-aarch64", "pr", HEAD, [counted("qconv_a", base, pr)], emulated=True)
    (row,) = build(store, registry, REPO, 7).devices[0].rows
    assert row.verdict == verdict
    assert row.comparison.threshold == pytest.approx(max(0.001, 1_000 / base))


def test_a_count_without_its_base_beside_it_is_compared_with_the_base_branchs_count(store, registry):
    """Counts do not wander between runs as times do: the merge base's own count is a fair base."""
    record(store, "qemu-aarch64", "base", BASE, [counted("qconv_a", None, 100_000_000) | {"base_status": None}])
    record(store, "qemu-aarch64", "pr", HEAD, [counted("qconv_a", None, 90_000_000) | {"base_status": None}])
    (row,) = build(store, registry, REPO, 7).devices[0].rows
    assert row.verdict == "fewer instructions" and row.counts.base == 100_000_000


def test_same_code_on_a_counting_board_counts_nothing(store, registry):
    record(store, "qemu-aarch64", "pr", HEAD, [counted("qconv_a", None, None, same_code=True)], emulated=True)
    (device,) = build(store, registry, REPO, 7).devices
    assert device.rows[0].verdict == "same code" and device.state == "success"


def test_a_failure_on_a_counting_board_is_its_status(store, registry):
    row = counted("qconv_a", 100, None, status="environment_error", error="instruction count failed: no count")
    record(store, "qemu-aarch64", "pr", HEAD, [row], emulated=True)
    (device,) = build(store, registry, REPO, 7).devices
    assert device.rows[0].verdict == "environment_error" and device.state == "error"
