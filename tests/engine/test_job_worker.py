"""The job worker for real: claim -> Runner (real TVM and TFLite in child processes) -> record -> report.

The queue is filled by the bot from a PR on the fake GitHub; the suite is a
one-workload model so that the whole path takes seconds, not minutes. With
one fixed environment the head and its merge base are the same TVM, so the
PR job finds the same code on both sides (tests/test_regression_pr.py has
builds of different commits).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time

import pytest

from bot.engine import subjects
from bot.engine.job_worker import JobWorker, job_fields
from bot.engine.suite.suites import user_suite
from bot.errors import BuildFailed, EnvironmentBroken
from bot.github.bot import Bot
from bot.store import Store
from tests.fake_github.world import REPO, World

pytestmark = pytest.mark.timeout(300)

LOCAL = """
devices:
  local:
    description: The machine perfbot runs on
    arch: x86_64
    target: host
    connection: local
    threads: 1
    suites: [smoke]
    tuning_trials: 0  # tuning jobs are tests/engine/test_tuning.py's (minutes, not seconds)
"""


@pytest.fixture
def local_world(fake_github, tmp_path):
    fake_github.add_repo(REPO)
    world = World(fake_github, tmp_path, devices_yaml=LOCAL)
    yield world
    world.close()


def subject_for(job: dict, sha: str, kind: str):
    return subjects.subject(None, None, **job_fields(job, sha, kind))


def tiny_suite(model):
    return lambda name: dataclasses.replace(user_suite(model), repeat=5)


def open_pr(world) -> tuple[int, str, str]:
    world.fake.set_permission(REPO, "alice", "write")
    number = world.fake.add_pull(REPO, author="alice")
    world.poll()
    pull = world.fake.pull(REPO, number)
    return number, pull.head_sha, pull.base_sha


def test_the_worker_measures_baseline_then_pr_and_the_comment_shows_the_results(
    local_world, tiny_model, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="perfbot.worker")
    world = local_world
    number, head, base = open_pr(world)
    device = world.registry.get("local")
    worker = JobWorker(
        world.store, device, tmp_path / "cache", subject_for, worker="w1", suite_for=tiny_suite(tiny_model)
    )
    assert worker.run_forever(once=True) == 2

    runs = world.store.runs()
    assert [(r["kind"], r["sha"], r["status"]) for r in runs] == [("base", base, "complete"), ("pr", head, "complete")]
    assert all(r["job_id"] for r in runs) and runs[1]["pr"] == number and runs[1]["base_sha"] == base
    assert runs[1]["paired"] == 1 and not runs[0]["paired"]
    assert {j["state"] for j in world.jobs()} == {"done"}
    baseline = world.store.results(runs[0]["id"])
    assert all(len(r["samples_ms"]) == 5 and r["ratio"] and r["code_hash"] for r in baseline)
    results = world.store.results(runs[1]["id"])
    assert {r["status"] for r in results} == {"ok"} and len(results) == 2  # NHWC and NCHW
    # The same TVM on both sides compiles to the same code: decided by the hashes, nothing timed.
    assert all(r["same_code"] and r["code_hash"] == r["base_code_hash"] and not r["samples_ms"] for r in results)
    assert [r["code_hash"] for r in results] == [r["code_hash"] for r in baseline]  # deterministic across processes
    # ... and so is every compiled function's: none differs, and the PrimFuncs are named.
    assert [r["code_functions"] for r in results] == [r["code_functions"] for r in baseline]
    assert all(r["changed_functions"] == [] and r["code_functions"] == r["base_code_functions"] for r in results)
    assert {"conv2d", "(VM program and constants)"} <= set(results[0]["code_functions"]), results[0]["code_functions"]
    # What the worker's log says: a line per item as it is recorded, with its place among the job's items.
    lines = [r.getMessage() for r in caplog.records if r.name == "perfbot.worker"]
    assert any(re.fullmatch(r"job \d+: [12]/2 \S+ NHWC/default ok [\d.,]+ ms", line) for line in lines), lines
    assert any(re.fullmatch(r"job \d+: [12]/2 \S+ NCHW/default same code", line) for line in lines), lines

    world.handle()
    body = world.report(number)
    assert "`tiny_conv`" in body and "2 same code" in body and "pending" not in body
    assert world.statuses(head)["perfbot/local"] in ("success", "failure")
    assert len(world.bot_comments(number)) == 1


def test_a_push_while_a_job_runs_stops_it_and_the_new_head_runs_next(local_world, tiny_model, tmp_path):
    world = local_world
    number, head, base = open_pr(world)
    device = world.registry.get("local")
    world.store.db.execute("update jobs set state = 'done' where kind = 'base'")  # only the PR's job is left
    pushed = threading.Event()

    def push_during(job, sha, kind):
        if job["sha"] == head and not pushed.is_set():
            world.fake.push_pull(REPO, number)
            bot_store = Store.open(world.db_path)  # the bot runs in another process, on its own connection
            bot = Bot(bot_store, world.github, world.registry, world.settings, clock=world.clock)
            bot.sync_pull(bot.github_pull(REPO, number))
            bot_store.close()
            pushed.set()
            time.sleep(1.5)  # the lease's heartbeat (every lease_s / 4) notices the job is cancelled
        return subject_for(job, sha, kind)

    worker = JobWorker(
        world.store, device, tmp_path / "cache", push_during, worker="w1", lease_s=5, suite_for=tiny_suite(tiny_model)
    )
    job = world.store.claim("local", "w1", 5)
    assert worker.work(job) == "cancelled"
    assert world.store.job(job["id"])["state"] == "cancelled"
    assert [r["status"] for r in world.store.runs()] == ["aborted"]
    new_head = world.fake.pull(REPO, number).head_sha
    assert [(j["sha"], j["state"]) for j in world.jobs(kind="pr", state="pending")] == [(new_head, "pending")]


def test_a_broken_environment_fails_the_job_and_says_so_on_the_pr(local_world, tmp_path):
    world = local_world
    number, head, base = open_pr(world)

    def broken(job, sha, kind):
        raise EnvironmentBroken("pip:apache-tvm==0.99: no such release on PyPI")

    worker = JobWorker(world.store, world.registry.get("local"), tmp_path / "cache", broken, worker="w1")
    assert worker.run_forever(once=True) == 2
    assert {j["state"] for j in world.jobs()} == {"failed"}
    said_failed(world, number, head, "environment_error: pip:apache-tvm==0.99: no such release on PyPI")


def said_failed(world, number: int, head: str, reason: str) -> None:
    """What the PR shows of a failed job: its reason in the comment, and `error` as the device's status."""
    world.handle()
    assert f"A job failed: {reason.replace('`', chr(39))}" in world.report(number)  # outside text: no backticks
    assert world.statuses(head) == {"perfbot/local": "error"}


def test_a_worker_with_one_fixed_tvm_refuses_pr_jobs_saying_why(local_world, tiny_model, tmp_path):
    """It cannot build the PR's code: timing its own TVM on both sides would say `same code` for any PR."""
    world = local_world
    number, head, base = open_pr(world)
    worker = JobWorker(world.store, world.registry.get("local"), tmp_path / "cache", subject_for, worker="w1",
                       suite_for=tiny_suite(tiny_model), fixed_build="python:/usr/bin/python3")  # fmt: skip
    assert worker.run_forever(once=True) == 2
    states = {j["kind"]: (j["state"], j["reason"]) for j in world.jobs()}
    assert states["base"][0] == "done" and states["pr"] == (
        "failed",
        f"this worker measures one TVM for every job (python:/usr/bin/python3) and cannot build PR head "
        f"{head[:10]}: PR jobs need `perfbot worker --checkout`",
    )
    assert [r["kind"] for r in world.store.runs()] == ["base"]  # nothing recorded as the PR's
    said_failed(world, number, head, states["pr"][1])


def test_a_commit_that_does_not_build_is_a_build_error_on_every_item_not_a_crash(local_world, tiny_model, tmp_path):
    world = local_world
    number, head, base = open_pr(world)

    def unbuildable(job, sha, kind):
        if sha == head:
            raise BuildFailed(f"native build of {head[:10]} failed: `cmake --build` failed with code 1\nerror: oops")
        return subject_for(job, sha, kind)

    worker = JobWorker(world.store, world.registry.get("local"), tmp_path / "cache", unbuildable, worker="w1",
                       suite_for=tiny_suite(tiny_model))  # fmt: skip
    assert worker.run_forever(once=True) == 2
    assert {j["state"] for j in world.jobs()} == {"done"}
    pr_run = [r for r in world.store.runs() if r["kind"] == "pr"][0]
    results = world.store.results(pr_run["id"])
    assert {r["status"] for r in results} == {"build_error"} and all("error: oops" in r["error"] for r in results)
    world.handle()
    body = world.report(number)
    assert "2 build errors" in body and "error: oops" in body
    assert world.statuses(head) == {"perfbot/local": "failure"}


def test_a_worker_that_lost_its_lease_at_the_end_does_not_record_its_run(local_world, tiny_model, tmp_path):
    """Stalled past its lease during the last item, taken over, then resumed: its run is aborted, not pooled."""
    world = local_world
    number, head, base = open_pr(world)
    world.store.db.execute("update jobs set state = 'done' where kind = 'base'")
    device = world.registry.get("local")
    job = world.store.claim("local", "stalled", 5)

    class TakenOverAtTheLastItem:
        """Another worker claims the job once the stalled one's lease has run out, before its run ends."""

        def __init__(self):
            self.items = 0

        def start(self, total, title):
            pass

        def step(self, description):
            pass

        def done(self, result):
            self.items += 1
            if self.items == 2:  # NHWC and NCHW: the last item
                other = Store.open(world.db_path)
                other.db.execute("update jobs set lease_expires = 0 where id = ?", [job["id"]])
                assert other.claim("local", "rescuer", 60)["id"] == job["id"]
                other.close()

    stalled = JobWorker(world.store, device, tmp_path / "cache", subject_for, worker="stalled", lease_s=5,
                        progress=TakenOverAtTheLastItem(), suite_for=tiny_suite(tiny_model))  # fmt: skip
    assert stalled.work(job) == "lost"
    assert [r["status"] for r in world.store.runs()] == ["aborted"]
    assert world.store.job(job["id"])["worker"] == "rescuer" and world.store.job(job["id"])["state"] == "running"

    rescuer = JobWorker(world.store, device, tmp_path / "cache", subject_for, worker="rescuer",
                        suite_for=tiny_suite(tiny_model))  # fmt: skip
    assert rescuer.work(world.store.job(job["id"])) == "done"
    runs = world.store.runs()
    assert [r["status"] for r in runs] == ["aborted", "complete"]
    assert world.store.job(job["id"])["run_id"] == runs[1]["id"]
    assert [r["id"] for r in world.store.head_runs(head, number)] == [runs[1]["id"]]
