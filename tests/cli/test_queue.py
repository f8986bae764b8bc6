"""`perfbot worker` as a real process: stopped while it works off a queued job, it leaves nothing running.

The job is a tuning job (what a worker does while its device is idle): its
child runs TVM's MetaSchedule with popen_workers below it, which is what was
found still running, at full CPU, under PID 1. Ctrl-C stops the worker after
the current item (for a tuning job: at once, its trials kept), SIGTERM at
once; kill -9 leaves the children's own guards to end them.
"""

from __future__ import annotations

import signal

import pytest

from bot.store import Store
from tests.processes import perfbot, stop_and_check, wait_for_tree

pytestmark = pytest.mark.timeout(300)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_stopped_worker_leaves_no_process_behind_and_gives_its_job_back(tmp_path, sig):
    db = tmp_path / "perf.db"
    store = Store.open(db)
    job_id, _ = store.enqueue(sha="0" * 40, device="local", suite="smoke", config="tuned", kind="tune")
    store.close()
    env = {"PERFBOT_DB": str(db), "PERFBOT_CACHE": str(tmp_path / "cache")}
    process = perfbot(["worker", "--device", "local", "--once"], env, tmp_path)

    def popen_workers(tree):
        return any("popen_worker" in cmd for cmd in tree.values())

    stop_and_check(process, sig, wait_for_tree(process, popen_workers), timeout_s=5)
    job = Store.open(db).job(job_id)
    if sig == signal.SIGKILL:  # nothing ran in perfbot: the job stays its until the lease runs out
        assert job["state"] == "running"
    else:
        assert (job["state"], job["worker"]) == ("pending", None), job
