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


def test_a_pr_is_measured_reported_and_rerun(operator):
    perfbot, github, db = operator
    number = github.add_pull("apache/tvm", author="alice", title="Faster NHWC conv2d")
    github.set_permission("apache/tvm", "alice", "write")
    head = github.pull("apache/tvm", number).head_sha

    perfbot("watch", "--repo", "apache/tvm", "--once")
    store = Store.open(db)
    jobs = store.jobs("1 = 1", [])
    assert {(j["kind"], j["state"]) for j in jobs} == {("base", "pending"), ("pr", "pending")}
    assert github.latest_statuses("apache/tvm", head)["perfbot/local"]["state"] == "pending"

    perfbot("worker", "--device", "local", "--once")
    perfbot("worker", "--device", "local", "--once")
    perfbot("watch", "--repo", "apache/tvm", "--once")
    comments = [c for c in github.comments("apache/tvm", number) if "perfbot" in c.body]
    assert len(comments) == 1
    body = comments[0].body
    assert "qconv_147x147x32_64_3x3_s1_valid" in body and "TVM/TFLite" in body
    assert github.latest_statuses("apache/tvm", head)["perfbot/local"]["state"] in ("success", "failure")

    new_head = github.push_pull("apache/tvm", number)
    perfbot("watch", "--repo", "apache/tvm", "--once")
    states = {(j["sha"], j["state"]) for j in Store.open(db).jobs("kind = 'pr'", [])}
    assert (new_head, "pending") in states
    assert [c for c in github.comments("apache/tvm", number) if "perfbot" in c.body][0].id == comments[0].id
