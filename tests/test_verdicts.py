"""Deciding what a PR's report says, from a real database file: verdicts, states, pending counts."""

from __future__ import annotations

import pytest

from bot import devices
from bot.store import Store
from bot.verdicts import build
from tests.fake_github.world import DEVICES, failed, ok

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


@pytest.fixture
def registry():
    return devices.Registry(None, devices.parse(DEVICES, "test"))


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
    store.finish_run(run_id)
    store.finish(job_id, "w", "done", run_id=run_id)


def test_a_slower_pr_on_a_real_board_fails_its_status(store, registry):
    record(store, "rpi4", "base", BASE, [ok("qconv_a", STEADY)])
    record(store, "rpi4", "pr", HEAD, [ok("qconv_a", SLOWER)])
    report = build(store, registry, REPO, 7)
    (device,) = report.devices
    (row,) = device.rows
    assert row.verdict == "slower" and row.comparison.change == pytest.approx(0.3, abs=0.01)
    assert (row.base_ms, row.pr_ms) == (pytest.approx(10.0, abs=0.02), pytest.approx(13.0, abs=0.03))
    assert device.state == "failure" and device.tvm_version == "0.27.0"


def test_an_emulated_device_never_gets_slower_or_faster(store, registry):
    record(store, "qemu-a72", "base", BASE, [ok("qconv_a", STEADY), ok("qconv_b", SLOWER)], emulated=True)
    record(store, "qemu-a72", "pr", HEAD, [ok("qconv_a", SLOWER), ok("qconv_b", STEADY)], emulated=True)
    (device,) = build(store, registry, REPO, 7).devices
    assert [r.verdict for r in device.rows] == ["emulated", "emulated"]
    assert device.state == "success"


def test_an_emulated_wrong_result_still_counts(store, registry):
    record(store, "qemu-a72", "base", BASE, [ok("qconv_a", STEADY)], emulated=True)
    record(
        store, "qemu-a72", "pr", HEAD, [ok("qconv_a", STEADY, status="wrong_result", max_abs_diff=9.0)], emulated=True
    )
    (device,) = build(store, registry, REPO, 7).devices
    assert device.rows[0].verdict == "wrong_result" and device.state == "failure"


@pytest.mark.parametrize("base_status, state, new", [("ok", "failure", True), ("compile_error", "success", False)])
def test_only_a_new_compile_error_fails_the_status(store, registry, base_status, state, new):
    base = ok("qconv_a", STEADY) if base_status == "ok" else failed("qconv_a", "compile_error", "old assert")
    record(store, "rpi4", "base", BASE, [base])
    record(store, "rpi4", "pr", HEAD, [failed("qconv_a", "compile_error", "assert kernel_layout == 'HWIO'")])
    (device,) = build(store, registry, REPO, 7).devices
    assert device.rows[0].new_failure is new and device.state == state


def test_reruns_add_samples_and_the_old_heads_results_are_left_out(store, registry):
    record(store, "rpi4", "base", BASE, [ok("qconv_a", STEADY)])
    record(store, "rpi4", "pr", OLD_HEAD, [ok("qconv_a", [50.0] * 8)])
    record(store, "rpi4", "pr", HEAD, [ok("qconv_a", STEADY[:4])])
    record(store, "rpi4", "pr", HEAD, [ok("qconv_a", STEADY[4:])])
    (device,) = build(store, registry, REPO, 7).devices
    (row,) = device.rows
    assert row.comparison.n_pr == 8 and row.verdict == "unchanged"


def test_the_device_is_pending_until_the_baseline_it_waits_for_is_measured(store, registry):
    store.enqueue(sha=BASE, device="rpi4", suite="smoke", kind="base", repo=REPO)
    record(store, "rpi4", "pr", HEAD, [ok("qconv_a", STEADY)])
    report = build(store, registry, REPO, 7)
    assert (report.devices[0].state, report.jobs_pending) == ("pending", 1)
    assert report.devices[0].rows[0].verdict == "no baseline"

    job = store.claim("rpi4", "w")
    store.finish(job["id"], "w", "failed", reason="environment_error: no TVM")
    (device,) = build(store, registry, REPO, 7).devices
    assert device.state == "success" and device.baseline_failed == ["environment_error: no TVM"]


def test_a_fork_pr_without_approval_is_waiting(store, registry):
    store.save_pull(**{**store.pull(REPO, 7), "is_fork": True})
    assert build(store, registry, REPO, 7).awaiting_approval
    store.approve(REPO, 7, HEAD, "maintainer")
    assert not build(store, registry, REPO, 7).awaiting_approval


def test_an_unknown_pr_has_no_report(store, registry):
    assert build(store, registry, REPO, 999) is None


def test_results_recorded_without_a_job_are_reported(store, registry):
    """`perfbot run --kind pr` in a workflow, then `perfbot report`: no queue involved."""
    for kind, sha, samples in (("base", BASE, STEADY), ("pr", HEAD, SLOWER)):
        run_id = store.start_run(
            suite="smoke", device="rpi4", arch="aarch64", kind=kind, repo=REPO, sha=sha, pr=7 if kind == "pr" else None
        )
        store.add_result(run_id, **{"layout": "NHWC", "pipeline": "default", **ok("qconv_a", samples)})
        store.finish_run(run_id)
    report = build(store, registry, REPO, 7)
    assert [d.device.name for d in report.devices] == ["rpi4"]
    assert report.devices[0].rows[0].verdict == "slower" and report.devices[0].state == "failure"
