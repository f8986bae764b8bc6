"""The job worker (`perfbot worker`): claim queued jobs for one device, run them, record them, hand them back.

A background thread keeps the job's lease alive. If the lease is lost (the
job was cancelled by a new push, or another worker took it over after this
one stalled) the run stops after the current item and is recorded as aborted;
the job is not finished twice. Which TVM build a job measures comes from
`env_for(job)`: a fixed environment, or a source build of the job's sha.
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

from bot import console, devices
from bot.config import Settings
from bot.devices import Device
from bot.engine import envs, preflight
from bot.engine.runner import Runner, Target
from bot.engine.suite.suites import Suite, get_suite
from bot.errors import Cancelled, ConfigError, EnvironmentBroken, PerfbotError
from bot.lifecycle import stop_on_signals
from bot.store import Store

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


@dataclass
class JobWorker:
    store: object
    device: Device
    cache_dir: Path
    env_for: Callable[[dict], Target]
    worker: str = ""
    lease_s: float = 120.0
    poll_s: float = 5.0
    progress: object = None
    #: The suite a job names; tests and one-off setups may map names to other suites (e.g. a user model).
    suite_for: Callable[[str], Suite] = get_suite

    def __post_init__(self):
        self.worker = self.worker or worker_name()

    def run_forever(self, once: bool = False, stop: threading.Event | None = None) -> int:
        """Work until stopped (or, with `once`, until the queue is empty); returns jobs handled."""
        handled = 0
        while stop is None or not stop.is_set():
            job = self.store.claim(self.device.name, self.worker, self.lease_s)
            if job is None:
                if once:
                    break
                time.sleep(self.poll_s)
                continue
            self.work(job)
            handled += 1
        return handled

    def work(self, job: dict) -> str:
        """Run one claimed job to its end; returns the job's final state as this worker saw it."""
        self.store.abort_stale_runs(job["id"])
        log.info("job %s: %s %s on %s (%s)", job["id"], job["kind"], job["sha"][:10], job["device"], job["suite"])
        lease = Lease(self.store.path, job["id"], self.worker, self.lease_s)
        lease.start()
        after_job(self.store, job, "started")  # the PR's status says "running" instead of "queued"
        try:
            target = self.env_for(job)
            runner = Runner(self.store, self.cache_dir, self.progress, should_stop=lease.lost.is_set)
            outcome = runner.run(self.suite_for(job["suite"]), self.device, target, tuning=job["config"] == "tuned")
        except Cancelled:
            log.info("job %s: lease lost (cancelled or taken over); stopped", job["id"])
            return "cancelled"
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
        finished = self.store.finish(job["id"], self.worker, "done", run_id=outcome.run_id)
        after_job(self.store, job, "done")
        return "done" if finished else "lost"


def after_job(store, job: dict, what: str) -> None:
    """Whoever waits on a job's results gets their comment and statuses refreshed."""
    if job["kind"] == "pr" and job["pr"]:
        store.mark_dirty(job["repo"], job["pr"], f"job {job['id']} {what}")
    elif job["kind"] == "base":
        for pull in store.pulls(job["repo"]):
            if pull["merge_base"] == job["sha"]:
                store.mark_dirty(pull["repo"], pull["number"], f"baseline job {job['id']} {what}")


def target_for(job: dict, env: str, python: Path) -> Target:
    return Target(
        python=python,
        env=env,
        kind=job["kind"],
        repo=job["repo"],
        sha=job["sha"],
        pr=job["pr"],
        base_sha=job["base_sha"],
        commit_time=job.get("commit_time"),
        job_id=job["id"],
    )


def work(
    settings: Settings,
    device_name: str,
    env_spec: str | None,
    source_checkout: Path | None,
    once: bool,
    lease_s: float,
    db_path,
) -> None:
    if env_spec and source_checkout:
        raise ConfigError("give either --env or --source, not both")
    registry = devices.load(settings.devices_path)
    device = registry.get(device_name)
    store = Store.open(db_path or settings.db_path)

    def env_for(job: dict):
        spec = f"source:{source_checkout}@{job['sha']}" if source_checkout else (env_spec or envs.default())
        env = envs.provision(spec, settings.cache_dir, progress=lambda line: log.info("%s", line))
        return target_for(job, env.key, env.python)

    stop = stop_on_signals()
    console.errors.print(f"worker for {device.name}: claiming jobs from {store.path}; Ctrl-C stops after this item")
    with preflight.device_ready(device, settings.cache_dir):
        handled = JobWorker(store, device, settings.cache_dir, env_for, lease_s=lease_s).run_forever(once, stop)
    console.errors.print(f"{handled} job{'s' if handled != 1 else ''} handled")
