"""The job worker (`perfbot worker`): claim queued jobs for one device, run them, record them, hand them back.

A background thread keeps the job's lease alive. If the lease is lost (the
job was cancelled by a new push, or another worker took it over after this
one stalled) the run stops after the current item and is recorded as aborted;
the job is not finished twice. Ctrl-C stops the worker the same way, after
the current item, and gives the job back to the queue; SIGTERM (a cancelled
CI job, `systemctl stop`) or a second Ctrl-C stops it at once, with the
children running the item (bot/lifecycle.py). Which TVM build a job measures comes from
`subject_for(job, sha, kind)`: a fixed environment (`--env`), or, with
`--checkout`, the build cache's build of the commit itself (bot/engine/builds/),
so that every job measures the TVM of its own sha and a PR job its merge
base's beside it. A `bisect` job finds the commit of base_sha..sha that moved
one item (bot/engine/bisect.py); with `--checkout`, a base job that reveals a
new step in the base history queues one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot import console, lifecycle
from bot.devices import Device
from bot.engine import subjects, tuning, tuning_databases
from bot.engine.runner import Runner, RunProgress, Subject
from bot.engine.suite.suites import Suite, get_suite
from bot.errors import BadSetting, BuildFailed, Cancelled, EnvironmentBroken, PerfbotError
from bot.store import Store
from bot.vocabulary import BUILD_ERROR, TUNE_PRIORITY, TUNE_TRIALS

log = logging.getLogger("perfbot.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease(threading.Thread):
    """Heartbeats for one job, on its own database connection."""

    def __init__(self, db_path: Path, job_id: int, worker: str, lease_s: float):
        super().__init__(daemon=True, name=f"lease-{job_id}")
        self.db_path, self.job_id, self.worker, self.lease_s = db_path, job_id, worker, lease_s
        self.lost = threading.Event()
        self._halt = threading.Event()

    def run(self) -> None:

        store = Store.open(self.db_path)
        try:
            while not self._halt.wait(self.lease_s / 4):
                if not store.heartbeat(self.job_id, self.worker, self.lease_s):
                    self.lost.set()
                    return
        finally:
            store.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def logged_progress(job_id: int) -> console.LineProgress:
    """runner.RunProgress as log lines, one per item as it is recorded: a worker's output is a log, not a terminal."""
    return console.LineProgress(say=lambda line: log.info("job %s: %s", job_id, line))


@dataclass
class JobWorker:
    """Claims and runs the jobs of one device.

    `subject_for(job, sha, kind)` gives the TVM build of a commit (a fixed
    environment, or the build cache's build of that commit); it raises
    BuildFailed when the commit does not build, which is recorded as a run
    whose every item is `build_error`, with the end of the build log. A PR
    job times its head's build beside its merge base's (`Runner.run_paired`);
    when the base does not build, the head is measured alone.
    """

    store: object
    device: Device
    cache_dir: Path
    subject_for: Callable[[dict, str, str], Subject]
    worker: str = ""
    lease_s: float = 120.0
    poll_s: float = 5.0
    progress: RunProgress | None = None
    #: The suite a job names; tests and one-off setups may map names to other suites (e.g. a user model).
    suite_for: Callable[[str], Suite] = get_suite
    #: The TVM checkout commits are built from (`--checkout`): bisect jobs need it, and base runs then
    #: queue bisects of the steps they reveal (bot/engine/bisect.py).
    checkout: Path | None = None
    #: The one TVM a worker without a checkout measures every job with (its --env, or perfbot's own): it
    #: cannot build a PR's code, so it refuses PR jobs (None: `subject_for` builds each job's commit).
    fixed_build: str | None = None

    def __post_init__(self):
        self.worker = self.worker or worker_name()
        self.stop: threading.Event | None = None

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def run_forever(self, once: bool = False, stop: threading.Event | None = None) -> int:
        """Work until stopped (or, with `once`, until the queue is empty); returns jobs handled."""
        handled, self.stop = 0, stop
        while not self._stopping():
            lifecycle.reap_orphans()  # between jobs no child of this process is running
            job = self.store.claim(self.device.name, self.worker, self.lease_s)
            if job is None:
                if once:
                    break
                if stop is not None:
                    stop.wait(self.poll_s)
                else:
                    time.sleep(self.poll_s)
                continue
            self.work(job)
            handled += 1
        return handled

    def work(self, job: dict) -> str:
        """Run one claimed job to its end; returns the job's final state as this worker saw it.

        The run counts only if this worker still holds the job when it ends:
        the job is finished and the run marked complete in one transaction,
        and a run whose lease was lost (cancelled, or taken over by another
        worker after this one stalled) is marked aborted, also when the loss
        is noticed after the last item.
        """
        self.store.abort_stale_runs(job["id"])
        log.info("job %s: %s %s on %s (%s)", job["id"], job["kind"], job["sha"][:10], job["device"], job["suite"])
        if job["kind"] == "pr" and self.fixed_build is not None:
            return self._refuse(job, f"this worker measures one TVM for every job ({self.fixed_build}) and cannot "
                                     f"build PR head {job['sha'][:10]}: PR jobs need `perfbot worker --checkout`")  # fmt: skip
        lease = Lease(self.store.path, job["id"], self.worker, self.lease_s)
        lease.start()
        after_job(self.store, job, "started")  # the PR's status says "running" instead of "queued"
        if job["kind"] == "bisect":
            return self._bisect(job, lease)
        suite = self.suite_for(job["suite"])
        # Tuned rows are measured whenever the device has a tuning database (both sides apply it).
        tuning = job["config"] == "tuned" or tuning_databases.has_records(self.cache_dir, self.device)
        if job["kind"] == "tune":
            return self._tune(job, suite, lease)
        runner = Runner(
            self.store,
            self.cache_dir,
            self.progress or logged_progress(job["id"]),
            should_stop=lambda: lease.lost.is_set() or self._stopping(),
            still_ours=lambda run_id: self.store.finish(job["id"], self.worker, "done", run_id=run_id),
        )
        try:
            try:
                subject = self.subject_for(job, job["sha"], job["kind"])
            except BuildFailed as e:
                outcome = runner.record_unbuildable(suite, self.device, self._bare(job), BUILD_ERROR, str(e), tuning)
            else:
                base = self._base(job)
                if base is None:
                    outcome = runner.run(suite, self.device, subject, tuning=tuning)
                else:
                    outcome = runner.run_paired(suite, self.device, base, subject, tuning=tuning)
        except Cancelled:
            if self._given_back(job, self._stopping()):
                return "released"
            log.info("job %s: lease lost (cancelled or taken over); stopped", job["id"])
            return "cancelled"
        except KeyboardInterrupt:  # stopped at once (SIGTERM, a second Ctrl-C): the job goes back to the queue
            self._given_back(job)
            raise
        except EnvironmentBroken as e:
            self.store.finish(job["id"], self.worker, "failed", reason=f"environment_error: {e}")
            after_job(self.store, job, "failed")
            return "failed"
        except PerfbotError as e:
            self.store.finish(job["id"], self.worker, "failed", reason=str(e))
            after_job(self.store, job, "failed")
            return "failed"
        finally:
            lease.stop()
        after_job(self.store, job, "done")
        if outcome.complete and job["kind"] == "pr" and any(r.untuned_tasks for r in outcome.results):
            self._queue_tuning(job)  # the PR's new tasks: tuned while the device is idle, for later PRs
        if outcome.complete and job["kind"] == "base" and job["repo"] and self.checkout is not None:
            self._queue_bisects(job)
        return "done" if outcome.complete else "lost"

    def _refuse(self, job: dict, reason: str) -> str:
        """A job this worker must not run: failed at once with why, which the PR's comment and status say."""
        log.warning("job %s: refused: %s", job["id"], reason)
        self.store.finish(job["id"], self.worker, "failed", reason=reason)
        after_job(self.store, job, "failed")
        return "failed"

    def _bisect(self, job: dict, lease: Lease) -> str:
        """A bisect job: which commit of base_sha..sha moved one item (bot/engine/bisect.py); resumes if retried."""
        from bot.engine import bisect

        item = known = None
        try:
            if self.checkout is None:
                raise BadSetting("a bisect job needs a worker started with --checkout: it builds the commits")
            item = bisect.item_of_job(job)
            known = self.store.bisection_for(self.device.name, item.series, job["base_sha"], job["sha"])
            bisector = bisect.Bisector(self.store, self.cache_dir, self.checkout, self.device,
                                       say=lambda line: log.info("job %s: %s", job["id"], line),
                                       should_stop=lease.lost.is_set, job_id=job["id"])  # fmt: skip
            bisector.bisect(item, job["base_sha"], job["sha"], repo=job["repo"],
                            reason=known["reason"] if known else f"bisect job {job['id']}")  # fmt: skip
        except Cancelled:
            log.info("job %s: bisection stopped (cancelled or taken over); its probes are kept", job["id"])
            return "cancelled"
        except PerfbotError as e:
            if item is not None:
                row = self.store.bisection_for(self.device.name, item.series, job["base_sha"], job["sha"])
                if row is not None:
                    self.store.update_bisection(row["id"], status=bisect.FAILED, reason=str(e))
            self.store.finish(job["id"], self.worker, "failed", reason=str(e))
            return "failed"
        finally:
            lease.stop()
        return "done" if self.store.finish(job["id"], self.worker, "done") else "lost"

    def _queue_bisects(self, job: dict) -> None:
        """Steps the base history now shows (a change point): one bisect job each, once per step."""
        from bot.engine import bisect

        try:
            queued = bisect.queue_steps(self.store, self.device, job["repo"], self.checkout)
        except PerfbotError as e:  # the run is recorded; a bisect not queued is no reason to fail its job
            log.warning("job %s: no bisects queued: %s", job["id"], e)
            return
        for bisection_id in queued:
            log.info("job %s: a new step in the base history; bisection %s queued", job["id"], bisection_id)

    def _tune(self, job: dict, suite: Suite, lease: Lease) -> str:
        """A tuning job: the suite's tasks that lack trials, into the device's database (bot/engine/tuning.py)."""
        try:
            subject = self.subject_for(job, job["sha"], "base")
            trials = self.device.tuning_trials or TUNE_TRIALS
            tuning.tune_suite(self.store, self.cache_dir, suite, self.device, subject, trials,
                              say=lambda line: log.info("%s", line),
                              should_stop=lambda: lease.lost.is_set() or self._stopping())  # fmt: skip
        except Cancelled:
            if self._given_back(job, self._stopping()):
                return "released"
            log.info("job %s: tuning stopped (cancelled or taken over); its trials are kept", job["id"])
            return "cancelled"
        except KeyboardInterrupt:
            self._given_back(job)
            raise
        except PerfbotError as e:
            self.store.finish(job["id"], self.worker, "failed", reason=str(e))
            return "failed"
        finally:
            lease.stop()
        finished = self.store.finish(job["id"], self.worker, "done")
        for pull in self.store.pulls(job["repo"], "open") if job["repo"] else []:
            self.store.mark_dirty(pull["repo"], pull["number"], f"tuning job {job['id']} done")
        return "done" if finished else "lost"

    def _given_back(self, job: dict, stopped: bool = True) -> bool:
        """When this worker was stopped, give its job back to the queue (its run is already aborted)."""
        if not stopped:
            return False
        released = self.store.release(job["id"], self.worker, "the worker was stopped")
        if released:
            log.info("job %s: the worker was stopped; the job is back in the queue", job["id"])
        return released

    def _queue_tuning(self, job: dict) -> None:
        if not self.device.tuning_trials:
            return
        self.store.enqueue(sha=job["sha"], device=self.device.name, suite=job["suite"], config="tuned", kind="tune",
                           repo=job["repo"], priority=TUNE_PRIORITY, requested_by="untuned rows")  # fmt: skip

    def _base(self, job: dict) -> Subject | None:
        """The merge base's build for a PR job, or None (not a PR job, or the base does not build)."""
        if job["kind"] != "pr" or not job.get("base_sha"):
            return None
        try:
            return self.subject_for(job, job["base_sha"], "base")
        except BuildFailed as e:
            log.warning("job %s: the merge base %s does not build, the head is measured alone: %s",
                        job["id"], job["base_sha"][:10], str(e).splitlines()[0])  # fmt: skip
            return None

    def _bare(self, job: dict) -> Subject:
        """What a run of a job is of when there is no build to run it with."""
        return subjects.unbuilt(**job_fields(job, job["sha"], job["kind"]))


def after_job(store, job: dict, what: str) -> None:
    """Whoever waits on a job's results gets their comment and statuses refreshed."""
    if job["kind"] == "pr" and job["pr"]:
        store.mark_dirty(job["repo"], job["pr"], f"job {job['id']} {what}")
    elif job["kind"] == "base":
        for pull in store.pulls(job["repo"]):
            if pull["merge_base"] == job["sha"]:
                store.mark_dirty(pull["repo"], pull["number"], f"baseline job {job['id']} {what}")


def job_fields(job: dict, sha: str, kind: str) -> dict:
    """What a job's run records of its subject: the job's own commit, or (kind base) its merge base."""
    own = kind == job["kind"]
    return {
        "kind": kind,
        "repo": job["repo"],
        "sha": sha,
        "pr": job["pr"] if own else None,
        "base_sha": job["base_sha"] if own else None,
        "commit_time": job.get("commit_time") if own else None,
        "job_id": job["id"],
    }


def subject_for_jobs(
    cache_dir: Path, env_spec: str | None, checkout: Path | None
) -> Callable[[dict, str, str], Subject]:
    """`subject_for` of a worker: with a checkout, the build cache's build of each job's commit; else one
    fixed environment (`--env`, or the interpreter perfbot runs in) for every job."""

    def subject_for(job: dict, sha: str, kind: str) -> Subject:
        spec = f"source:{checkout}@{sha}" if checkout else env_spec
        say = lambda line: log.info("%s", line)  # noqa: E731
        return subjects.subject(spec, cache_dir, say, **job_fields(job, sha, kind))

    return subject_for
