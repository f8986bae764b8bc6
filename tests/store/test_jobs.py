"""The job queue: idempotent enqueue, leases, heartbeats, reclaim after kill -9, cancellation."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from bot.store import Store


def job(store, **overrides):
    fields = dict(sha="a" * 40, device="local", suite="smoke", repo="o/r", pr=7, kind="pr")
    fields.update(overrides)
    return store.enqueue(**fields)


def test_enqueue_twice_is_a_no_op(store):
    first, created = job(store)
    again, changed = job(store)
    assert created and not changed and first == again
    assert len(store.jobs()) == 1


def test_rerun_requeues_only_finished_jobs(store):
    job_id, _ = job(store)
    assert job(store, force=True) == (job_id, False)  # still pending: nothing to do
    claimed = store.claim("local", "w1")
    assert store.finish(claimed["id"], "w1", run_id=3)
    assert job(store, force=True) == (job_id, True)
    again = store.job(job_id)
    assert again["state"] == "pending" and again["attempts"] == 0 and again["run_id"] is None


def test_claim_takes_priority_then_age_and_only_for_its_device(store):
    low, _ = job(store, sha="1" * 40)
    high, _ = job(store, sha="2" * 40, priority=10, kind="base", pr=None)
    job(store, sha="3" * 40, device="rpi4")
    assert store.claim("local", "w")["id"] == high
    assert store.claim("local", "w")["id"] == low
    assert store.claim("local", "w") is None


def test_lease_expiry_lets_another_worker_finish_exactly_once(store):
    job_id, _ = job(store)
    now = time.time()
    assert store.claim("local", "w1", lease_s=10, now=now)["worker"] == "w1"
    assert store.claim("local", "w2", lease_s=10, now=now + 5) is None
    assert store.heartbeat(job_id, "w1", lease_s=10, now=now + 5)
    retaken = store.claim("local", "w2", lease_s=10, now=now + 16)
    assert retaken["id"] == job_id and retaken["attempts"] == 2
    assert not store.heartbeat(job_id, "w1")
    assert not store.finish(job_id, "w1", run_id=1)
    assert store.finish(job_id, "w2", run_id=2)
    assert not store.finish(job_id, "w2", run_id=3)
    assert store.job(job_id)["run_id"] == 2


def test_a_job_that_kills_its_workers_is_given_up(store):
    job_id, _ = job(store)
    now = time.time()
    for attempt in range(3):
        assert store.claim("local", f"w{attempt}", lease_s=1, now=now + 10 * attempt)["id"] == job_id
    assert store.claim("local", "w9", lease_s=1, now=now + 100) is None
    failed = store.job(job_id)
    assert failed["state"] == "failed" and "gave up after 3 attempts" in failed["reason"]


def test_new_push_cancels_old_sha_and_close_cancels_all(store):
    old, _ = job(store, sha="1" * 40)
    running, _ = job(store, sha="1" * 40, device="rpi4")
    store.claim("rpi4", "w")
    new, _ = job(store, sha="2" * 40)
    other_pr, _ = job(store, sha="9" * 40, pr=8)
    assert store.cancel_jobs("o/r", 7, keep_sha="2" * 40) == 2
    assert [store.job(j)["state"] for j in (old, running, new, other_pr)] == [
        "cancelled",
        "cancelled",
        "pending",
        "pending",
    ]
    assert not store.heartbeat(running, "w")  # the worker learns it lost the job
    assert store.cancel_jobs("o/r", 7, reason="closed") == 1
    assert store.job(new)["state"] == "cancelled" and store.job(other_pr)["state"] == "pending"


WORKER = textwrap.dedent("""
    import sys, time
    from bot.store import Store
    store = Store.open(sys.argv[1])
    job = store.claim("local", "doomed", lease_s=2)
    print(job["id"], flush=True)
    while True:
        store.heartbeat(job["id"], "doomed", lease_s=2)
        time.sleep(0.2)
""")


def test_worker_killed_with_sigkill_is_replaced_after_its_lease(tmp_path):
    path = tmp_path / "perf.db"
    store = Store.open(path)
    job_id, _ = job(store)
    doomed = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert int(doomed.stdout.readline()) == job_id
    time.sleep(0.5)
    assert store.claim("local", "heir", lease_s=2) is None  # the doomed worker still heartbeats
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    deadline = time.time() + 10
    claimed = None
    while claimed is None and time.time() < deadline:
        claimed = store.claim("local", "heir", lease_s=30)
        time.sleep(0.2)
    assert claimed and claimed["id"] == job_id and claimed["attempts"] == 2
    assert store.finish(job_id, "heir", run_id=1)
    assert not store.finish(job_id, "doomed", run_id=2)
    assert store.job(job_id)["state"] == "done" and store.job(job_id)["run_id"] == 1


def test_perfbot_status_names_running_jobs_and_given_up_events(store, tmp_path):
    """`perfbot status` asks the store by name (running_jobs, inbox_given_up): no SQL in the CLI."""
    from click.testing import CliRunner

    from bot.cli import main

    job(store)
    job(store, sha="b" * 40)
    store.claim("local", "w1")
    given_up = store.inbox_add("push", "{}")
    store.inbox_retry(given_up, "boom", retry_at=0, give_up=True)
    store.inbox_add("push", "{}")
    assert [j["worker"] for j in store.running_jobs()] == ["w1"] and store.inbox_given_up() == 1
    result = CliRunner().invoke(main, ["status", "--db", str(tmp_path / "perf.db")])
    assert result.exit_code == 0, result.output
    assert f"running: job 1 pr {'a' * 10} smoke on local by w1" in result.output
    assert "1 event(s) waiting to be handled" in result.output
    assert "1 event(s) given up after repeated failures" in result.output
