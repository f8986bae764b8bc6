"""The proof: real TVM changes on pull requests, caught by perfbot as a deployment runs it.

A git repository of real TVM code (tests/tvm_checkout.py: the installed
apache-tvm release's Python sources laid out as TVM's tree) is the project
on a fake GitHub. Three pull requests change it the way contributors do:

- the TFLite frontend loses the bias of 1x1 convolutions: its TVM really
  computes a wrong answer, on exactly the 1x1 workloads;
- the 1x7 convolution does twice its work and stays correct: really slower;
- a docstring changes: nothing on the measured path.

They go through `perfbot build` (the release's libraries registered as the
tree's native build: this stands in for the C++ compile step only, which
takes hours on 2 cores), `perfbot watch` and `perfbot worker --checkout`, as
separate processes, and the sticky comments must say what happened. Every
other step is real: git worktrees per commit, each commit's own python/tvm
imported by the child that measures it, the real TFLite reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.store import Store
from tests import tvm_checkout

pytestmark = [pytest.mark.slow(minutes=3), pytest.mark.timeout(900)]
REPO = "apache/tvm"
PERFBOT = [sys.executable, "-m", "bot"]


@pytest.fixture
def deployment(tmp_path, fake_github):
    checkout = tmp_path / "tvm"
    main = tvm_checkout.make_checkout(checkout)
    changes = {
        "no-bias": tvm_checkout.commit_change(
            checkout, "no-bias", "[TFLite] Fold the bias of pointwise convolutions", tvm_checkout.drop_pointwise_bias
        ),
        "slow-1x7": tvm_checkout.commit_change(
            checkout, "slow-1x7", "[TFLite] Recompute 1x7 convolutions", tvm_checkout.recompute_part(1.0)
        ),
        "docs": tvm_checkout.commit_change(checkout, "docs", "[Docs] contrib", tvm_checkout.touch_docs),
    }
    fake_github.add_repo(REPO)
    fake_github.push(REPO, "main", sha=main, message="apache-tvm release sources")
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
                        "tuning_trials": 0,  # `worker --once` would tune the smoke suite after the base job
                    }  # fmt: skip
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

    def perfbot(*args):
        out = subprocess.run(PERFBOT + list(args), env=env, capture_output=True, text=True, cwd=tmp_path, timeout=800)
        assert "s3cret-token" not in out.stdout + out.stderr
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
        return out

    return perfbot, fake_github, checkout, main, changes, tmp_path / "perf.db"


def report(github, number: int) -> str:
    (body,) = [c.body for c in github.comments(REPO, number) if "<!-- perfbot:report -->" in c.body]
    return body


def rows_of(body: str) -> list[list[str]]:
    """The rows of the comment's main tables (the folded tables have other columns)."""
    lines = [line for line in body.splitlines() if line.startswith("| `")]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    return [row for row in rows if len(row) == 10]


def test_real_tvm_changes_on_pull_requests_are_caught_and_only_where_they_matter(deployment):
    perfbot, github, checkout, main, changes, db = deployment
    built = perfbot("build", f"{checkout}@main", "--native-from", f"python:{sys.executable}")
    assert "native build" in built.stdout and "wheel" in built.stdout
    github.set_permission(REPO, "alice", "write")
    numbers = {
        name: github.add_pull(REPO, author="alice", head_ref=name, title=name, shas=[sha])
        for name, sha in changes.items()
    }

    perfbot("watch", "--repo", REPO, "--once")
    perfbot("worker", "--device", "local", "--checkout", str(checkout), "--once")
    perfbot("watch", "--repo", REPO, "--once")

    store = Store.open(db)
    runs = {r["sha"]: r for r in store.runs() if r["kind"] == "pr"}
    assert {r["status"] for r in runs.values()} == {"complete"} and all(r["paired"] for r in runs.values())
    for sha in changes.values():
        assert runs[sha]["native_key"] == runs[sha]["base_native_key"]  # Python-only: one native build serves all
        assert runs[sha]["python_tree"] != runs[sha]["base_python_tree"]
    assert len({r["native_key"] for r in store.runs()}) == 1

    # The bias bug: wrong results on the four 1x1 items (both schemes, both layouts), confirmed by the rerun;
    # each attempt timed for one pair of children only.
    body = report(github, numbers["no-bias"])
    assert "4 wrong results, 8 same code, on 1 device" in body.splitlines()[1]
    wrong = [row for row in rows_of(body) if "wrong result" in row[7]]
    assert len(wrong) == 4 and {row[0] for row in wrong} == {"`qconv_35x35x192_64_1x1_s1_same`"}
    assert all(row[9].startswith("✗ max diff") for row in wrong)
    head = changes["no-bias"]
    assert github.latest_statuses(REPO, head)["perfbot/local"]["state"] == "failure"
    results = store.results(runs[head]["id"])
    assert {r["attempt"] for r in results if "1x1" in r["workload"]} == {1, 2}
    attempts = [r for r in results if r["status"] == "wrong_result"]  # 4 items, each rerun; no latency verdict:
    assert len(attempts) == 8 and all(len(r["rounds"]) == 2 and r["stopped"] == "wrong result" for r in attempts)
    assert all(r["same_code"] for r in results if "1x1" not in r["workload"])

    # Twice the work on the 1x7 convolution: slower on exactly those four items, still correct. A change that
    # clear is decided as soon as its rounds allow (two pairs of children) and needs no rerun.
    body = report(github, numbers["slow-1x7"])
    assert "4 slower, 8 same code, on 1 device" in body.splitlines()[1]
    slower = [row for row in rows_of(body) if "slower" in row[7]]
    assert {row[0] for row in slower} == {"`qconv_17x17x128_128_1x7_s1_same`"} and len(slower) == 4
    assert all(row[7] == "**slower than +2%**" and row[9].startswith("✓") for row in slower)
    assert all(float(row[5].split("%")[0]) > 40 for row in slower)  # about +100%: a real doubling of work
    assert github.latest_statuses(REPO, changes["slow-1x7"])["perfbot/local"]["state"] == "failure"
    timed = [r for r in store.results(runs[changes["slow-1x7"]]["id"]) if r["rounds"]]
    assert len(timed) == 4 and all(r["attempt"] == 1 and r["stopped"] == "decided changed" for r in timed)
    assert sorted(int(row[6]) for row in slower) == sorted(len(r["rounds"]) for r in timed)  # the rounds column

    # The docstring: same code on every item, no timed runs spent on either side.
    body = report(github, numbers["docs"])
    assert "12 same code, on 1 device" in body.splitlines()[1]
    assert github.latest_statuses(REPO, changes["docs"])["perfbot/local"]["state"] == "success"
    docs = store.results(runs[changes["docs"]]["id"])
    assert all(r["same_code"] and not r["samples_ms"] and not r["rounds"] for r in docs) and len(docs) == 12
    store.close()
