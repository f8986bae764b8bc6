"""The bot's world for tests: a fake GitHub, a database file, and the bot's real parts wired to them.

Everything is real but GitHub: PyGithub over HTTP to the fake, SQLite on disk,
the inbox, the outbox and the job queue. `restart()` builds new instances on
the same database file, as a restarted process would. Finished jobs are
simulated through the Store API (`finish_jobs`), as a worker records them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

from bot import devices
from bot.engine.job_worker import after_job
from bot.github.bot import Bot
from bot.github.client import GitHub, RequestRetry
from bot.github.poll import Poller
from bot.github.publish import Publisher
from bot.settings import GitHubSettings
from bot.store import Store
from bot.store.github_state import EtagStore
from tests.results import as_paired

REPO = "apache/tvm"
SECRET = "webhook-secret"
DASHBOARD = "https://perf.example.org/tvm"

#: Two devices: a real board behind a tracker, and an emulated one whose latency is never judged.
DEVICES = """
devices:
  rpi4:
    description: Raspberry Pi 4, Cortex-A72
    arch: aarch64
    target: {kind: llvm, mtriple: aarch64-linux-gnu, mattr: ["+neon"]}
    connection: {type: rpc, tracker: "127.0.0.1:9190", key: rpi4}
    tflite_baseline: false
    threads: 4
    suites: [smoke]
  qemu-a72:
    description: Cortex-A72 under qemu-aarch64
    arch: aarch64
    target: {kind: llvm, mtriple: aarch64-linux-gnu}
    connection: local
    emulated: true
    suites: [smoke]
  old-board:
    arch: aarch64
    target: {kind: llvm}
    connection: local
    enabled: false
"""


class Clock:
    """A clock the test moves: inbox and outbox retries come due when it says so."""

    def __init__(self, start: float | None = None):
        import time

        self.now = start if start is not None else time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class World:
    def __init__(
        self, fake, tmp_path: Path, *, token: bool = True, allowlist=(), devices_yaml: str = DEVICES, repo: str = REPO
    ):
        self.fake = fake
        self.repo = repo
        self.db_path = tmp_path / "perf.db"
        self.registry = devices.Registry(None, devices.parse(devices_yaml, "test devices.yml"))
        self.settings = GitHubSettings(
            api_url=fake.url,
            token=fake.token if token else None,
            webhook_secret=SECRET,
            allowlist=frozenset(a.lower() for a in allowlist),
            dashboard_url=DASHBOARD,
        )
        self.clock = Clock()
        self.printed: list[tuple] = []
        self.sleeps: list[float] = []
        self.store = None
        self.restart()

    def restart(self) -> None:
        """New Store, GitHub client, Bot, Publisher and Poller on the same database file."""
        if self.store is not None:
            self.store.close()
        self.store = Store.open(self.db_path)
        self.github = GitHub(
            self.settings,
            etags=EtagStore(self.store),
            sleep=self.sleeps.append,
            clock=self.clock,
            retry=RequestRetry(attempts=2),
            jitter=lambda: 0.5,
            seconds_between_requests=None,
            seconds_between_writes=None,
            timeout=5,
        )
        on_post = lambda *post: self.printed.append(post)  # noqa: E731
        self.bot = Bot(self.store, self.github, self.registry, self.settings, clock=self.clock, on_post=on_post)
        self.publisher = Publisher(
            self.store, self.github, self.registry, self.settings, clock=self.clock, on_post=on_post
        )
        self.poller = Poller(self.bot, self.repo, "main")

    def close(self) -> None:
        self.store.close()
        self.github.close()

    # Driving the bot ----------------------------------------------------------------------

    def poll(self) -> dict:
        """One round of `perfbot watch`: poll, handle the inbox, publish."""
        found = self.poller.poll_once()
        self.bot.process_inbox()
        self.publisher.publish_dirty()
        return found

    def handle(self) -> None:
        """One round of `perfbot serve` after deliveries: handle the inbox, publish."""
        self.bot.process_inbox()
        self.publisher.publish_dirty()

    def deliver(self, event: str, payload: dict) -> None:
        """A webhook event straight into the bot's inbox (the HTTP receiver has its own tests)."""
        from bot.github import events

        self.bot.receive(events.parse(event, payload))

    # What happened ------------------------------------------------------------------------

    def bot_comments(self, number: int) -> list:
        return [c for c in self.fake.comments(self.repo, number) if c.author == self.fake.login]

    def report(self, number: int) -> str:
        """The sticky comment's body; fails unless there is exactly one."""
        sticky = [c for c in self.bot_comments(number) if "<!-- perfbot:report -->" in c.body]
        assert len(sticky) == 1, f"expected one perfbot report on #{number}, found {len(sticky)}"
        return sticky[0].body

    def statuses(self, sha: str) -> dict[str, str]:
        """context -> newest state."""
        return {context: record["state"] for context, record in self.fake.latest_statuses(self.repo, sha).items()}

    def jobs(self, **where) -> list[dict]:
        """Jobs matching `where`; runs only (not tuning jobs) unless `kind` is given."""
        clauses = " and ".join(f"{k} = ?" for k in where) or None
        jobs = self.store.jobs(clauses, list(where.values()))
        return jobs if "kind" in where else [j for j in jobs if j["kind"] != "tune"]

    def job_states(self, sha: str, kinds=("pr", "base")) -> dict[tuple[str, str], str]:
        """(kind, device) -> state of the jobs for a sha (runs; tuning jobs only when `kinds` says so)."""
        return {(j["kind"], j["device"]): j["state"] for j in self.store.jobs("sha = ?", [sha]) if j["kind"] in kinds}

    # Simulated workers ---------------------------------------------------------------------

    def finish_jobs(self, results=None, *, device: str | None = None, kinds=("base", "pr"), fail: str | None = None):
        """Claim and complete every pending job (of `device`, or all), recording `results(job)` for each.

        `results(job)` returns a list of result dicts (workload, scheme, status, samples_ms, ...);
        by default every job records one ok item with steady latency.
        """
        results = results or (lambda job: [ok("qconv_a", STEADY_BASE)])
        done = []
        for name in [device] if device else sorted(self.registry.devices):
            while True:
                job = self.store.claim(name, "test-worker", 60)
                if job is None:
                    break
                if job["kind"] not in kinds:
                    self.store.release(job["id"], "test-worker", "not now")
                    break
                if fail:
                    self.store.finish(job["id"], "test-worker", "failed", reason=fail)
                else:
                    dev = self.registry.devices[name]
                    run_id = self.store.start_run(
                        suite=job["suite"],
                        device=name,
                        arch=dev.arch,
                        target=dev.target,
                        threads=dev.threads,
                        emulated=dev.emulated,
                        env="python:/usr/bin/python3",
                        kind=job["kind"],
                        repo=job["repo"],
                        sha=job["sha"],
                        pr=job["pr"],
                        base_sha=job["base_sha"],
                        job_id=job["id"],
                        tvm_version="0.27.0",
                    )
                    rows = results(job)
                    if job["kind"] == "pr":  # PR jobs time the head beside its merge base (bot/engine/runner.py)
                        rows = [p for r in rows for p in as_paired(r, STEADY_BASE)]
                        self.store.update_run(run_id, paired=1)
                    for r in rows:
                        self.store.add_result(run_id, **{"layout": "NHWC", "pipeline": "default", **r})
                    self.store.finish_run(run_id)
                    self.store.finish(job["id"], "test-worker", "done", run_id=run_id)
                after_job(self.store, job, "done")
                done.append(job)
        return done


#: What a base build's item takes in these tests; a PR item's rounds are timed against it.
STEADY_BASE = [10.0] * 8


def ok(workload: str, samples: list[float], *, scheme: str = "uint8", tflite: float | None = 20.0, **extra) -> dict:
    median = sorted(samples)[len(samples) // 2]
    return {
        "workload": workload,
        "scheme": scheme,
        "status": "ok",
        "samples_ms": samples,
        "median_ms": median,
        "ratio": median / tflite if tflite else None,
        "max_abs_diff": 0.0,
        "mismatch_fraction": 0.0,
        **extra,
    }


def failed(workload: str, status: str, error: str, *, scheme: str = "uint8", **extra) -> dict:
    return {"workload": workload, "scheme": scheme, "status": status, "error": error, **extra}


def signed(payload: dict, event: str, *, secret: str = SECRET, delivery: str | None = None) -> tuple[bytes, dict]:
    """A webhook delivery as GitHub sends it: body and headers, signed with the secret."""
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    return body, headers
