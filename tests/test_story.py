"""The PR story end to end, through the `perfbot` command as an operator runs it.

A fake GitHub on 127.0.0.1 (PyGithub over real HTTP), a real SQLite file, the
real worker running the smoke suite on the local device with the real TVM.
"""

import json
import os
import subprocess
import sys

import pytest

from bot.store import Store

pytestmark = pytest.mark.timeout(600)
PERFBOT = [sys.executable, "-m", "bot"]


@pytest.fixture
def operator(tmp_path, fake_github):
    fake_github.add_repo("apache/tvm")
    fake_github.add_token("s3cret-token", "perfbot")
    devices = tmp_path / "devices.yml"
    devices.write_text(
        json.dumps(
            {
                "devices": {
                    "local": {
                        "arch": "x86_64",
                        "target": "host",
                        "connection": "local",
                        "threads": 1,
                        "suites": ["smoke"],
                        "tuning_trials": 0,  # no tuning job after the base job: the story is about default rows
                    }
                }
            }
        )
    )
    env = {
        **os.environ,
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_TOKEN": "s3cret-token",
        "PERFBOT_DEVICES": str(devices),
        "PERFBOT_DB": str(tmp_path / "perf.db"),
        "PERFBOT_CACHE": str(tmp_path / "cache"),
    }

    def perfbot(*args, check=True):
        out = subprocess.run(PERFBOT + list(args), env=env, capture_output=True, text=True, cwd=tmp_path, timeout=500)
        assert "s3cret-token" not in out.stdout + out.stderr
        if check:
            assert out.returncode == 0, out.stderr[-2000:]
        return out

    return perfbot, fake_github, tmp_path / "perf.db"


def test_a_worker_without_a_checkout_measures_the_base_and_refuses_the_pr_saying_why(operator):
    """A worker started without --checkout has one TVM (the one perfbot is installed with): it records the
    base branch with it, and refuses the PR's job rather than time that TVM on both sides and call it the
    PR's code (tests/test_regression_pr.py runs a PR through `perfbot worker --checkout`)."""
    perfbot, github, db = operator
    number = github.add_pull("apache/tvm", author="alice", title="Faster NHWC conv2d")
    github.set_permission("apache/tvm", "alice", "write")
    head = github.pull("apache/tvm", number).head_sha

    perfbot("watch", "--repo", "apache/tvm", "--once")
    store = Store.open(db)
    jobs = store.jobs("1 = 1", [])
    assert {(j["kind"], j["state"]) for j in jobs} == {("base", "pending"), ("pr", "pending")}
    assert github.latest_statuses("apache/tvm", head)["perfbot/local"]["state"] == "pending"

    worker = perfbot("worker", "--device", "local", "--once")
    assert "PR jobs are refused: no --checkout to build them" in worker.stderr
    states = {j["kind"]: (j["state"], j["reason"]) for j in Store.open(db).jobs("1 = 1", [])}
    assert states["base"][0] == "done" and states["pr"][0] == "failed"
    assert f"cannot build PR head {head[:10]}: PR jobs need `perfbot worker --checkout`" in states["pr"][1]

    perfbot("watch", "--repo", "apache/tvm", "--once")
    comments = [c for c in github.comments("apache/tvm", number) if "perfbot" in c.body]
    assert len(comments) == 1
    body = comments[0].body
    assert "A job failed: this worker measures one TVM for every job (python:" in body
    assert "same code" not in body  # nothing claims the PR's code was measured
    status = github.latest_statuses("apache/tvm", head)["perfbot/local"]
    assert status["state"] == "error" and "could not measure: this worker measures one TVM" in status["description"]

    new_head = github.push_pull("apache/tvm", number)
    perfbot("watch", "--repo", "apache/tvm", "--once")
    states = {(j["sha"], j["state"]) for j in Store.open(db).jobs("kind = 'pr'", [])}
    assert (new_head, "pending") in states
    assert [c for c in github.comments("apache/tvm", number) if "perfbot" in c.body][0].id == comments[0].id
