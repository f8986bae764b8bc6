"""Bisecting a real TVM history: the commit that made the 1x7 conv slower, named with few probes.

Main of a git checkout of real TVM code (tests/tvm_checkout.py) gets seven
Python-only commits after the release: two docstrings, a commit whose TVM does
not import (a syntax error), its fix, the commit that makes the 1x7 conv do
twice its work (`recompute_part(1.0)`, really slower), and two more
docstrings. Every probe is built through the build cache (one native build,
the release's libraries, serves every commit) and timed beside the known-good
build by the real Runner; the broken commit is skipped as `git bisect skip`
does. Pure parts (the search's choices, automatic steps) are tested without
TVM below.
"""

from __future__ import annotations

import dataclasses
import sys
import time

import pytest

from bot import devices
from bot.engine import bisect as bisect_mod
from bot.engine import subjects
from bot.engine.bisect import Bisector, find_item, midpoint
from bot.engine.builds import resolve
from bot.engine.suite.suites import get_suite
from bot.errors import BadRange, Cancelled, UnknownName
from bot.store import Store
from tests import tvm_checkout

LOCAL = """
devices:
  local: {arch: x86_64, target: host, connection: local, threads: 1, suites: [smoke]}
"""
SLOW_1X7 = "qconv_17x17x128_128_1x7_s1_same"
INIT = "python/tvm/__init__.py"


def commit_on_main(folder, message: str, edit) -> str:
    edit(folder)
    tvm_checkout.git(folder, "add", "-A")
    tvm_checkout.git(folder, "commit", "-q", "-m", message)
    return tvm_checkout.git(folder, "rev-parse", "HEAD")


def break_import(folder) -> None:
    path = folder / INIT
    path.write_text(path.read_text() + "\nthis is not python (\n")


def fix_import(folder) -> None:
    path = folder / INIT
    path.write_text(path.read_text().replace("\nthis is not python (\n", ""))


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """(checkout, cache, shas): the release, then seven commits on main, oldest first."""
    root = tmp_path_factory.mktemp("bisect")
    checkout, cache = root / "tvm", root / "cache"
    shas = [tvm_checkout.make_checkout(checkout)]
    for message, edit in (
        ("[Docs] contrib", tvm_checkout.touch_docs),
        ("[Docs] contrib again", tvm_checkout.touch_docs),
        ("[Refactor] Break the package import (#101)", break_import),
        ("[Hotfix] Fix the package import (#102)", fix_import),
        ("[TFLite] Recompute 1x7 convolutions (#103)", tvm_checkout.recompute_part(1.0)),
        ("[Docs] contrib, third time (#104)", tvm_checkout.touch_docs),
        ("[Docs] contrib, fourth time (#105)", tvm_checkout.touch_docs),
    ):
        shas.append(commit_on_main(checkout, message, edit))
    subjects.native_from(resolve(checkout, shas[0]), f"python:{sys.executable}", cache)
    return checkout, cache, shas


@pytest.fixture
def main_of_13(tmp_path):
    """A TVM-shaped checkout (tests/engine/builds/standin.py) with 13 commits on main, oldest first."""
    from tests.engine.builds import standin

    root = tmp_path / "tvm"
    return root, [standin.tree(root, version=f"0.0.{i}") for i in range(13)]


def local_device():
    return devices.Registry(None, devices.parse(LOCAL, "test devices.yml")).get("local")


def quick_suite():
    """The smoke suite's sequential rounds (a 2x step decides at the first look: 8 rounds, two pairs)."""
    return dataclasses.replace(get_suite("smoke"), warmup=1)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bisect_names_the_commit_that_made_the_1x7_conv_slower(history, tmp_path):
    checkout, cache, shas = history
    good, broken, fix, slow, bad = shas[0], shas[3], shas[4], shas[5], shas[7]
    store = Store.open(tmp_path / "perf.db")
    lines: list[str] = []
    item = find_item(SLOW_1X7, "uint8", "NHWC", "default")

    # Interrupted after two commits (the bad endpoint and the broken probe): what was measured is kept.
    stop_after_two = lambda: len(store.bisections()[-1].get("evidence") or []) >= 2  # noqa: E731
    first = Bisector(store, cache, checkout, local_device(), say=lines.append, suite=quick_suite(),
                     should_stop=stop_after_two)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(Cancelled):
        first.bisect(item, good, bad, repo="apache/tvm", reason="test")
    (row,) = store.bisections()
    assert row["status"] == "running" and [p["sha"] for p in row["evidence"]] == [broken, bad]

    # Resumed: the two are not measured again.
    again = Bisector(store, cache, checkout, local_device(), say=lines.append, suite=quick_suite())
    outcome = again.bisect(item, good, bad, repo="apache/tvm")
    seconds = time.monotonic() - started
    print(f"\nbisect of 7 commits: {seconds:.0f} s, {len(outcome.probes)} commits measured")

    assert outcome.status == "found" and outcome.first_bad == slow, outcome.reason
    assert outcome.measured == 2 and any("resuming bisection" in line for line in lines)
    by_sha = {p.sha: p for p in outcome.probes}
    assert list(by_sha) == [broken, fix, slow, bad]  # log2(7): three probes after the endpoint, oldest first
    assert by_sha[bad].role == "endpoint" and by_sha[bad].verdict == "slower" and by_sha[bad].change > 0.4
    assert by_sha[broken].verdict == "skipped" and "build failed" in by_sha[broken].reason
    assert by_sha[fix].bad is False and by_sha[fix].verdict == "same code"  # the fix is the docs' code again
    assert by_sha[slow].bad and by_sha[slow].verdict == "slower" and by_sha[slow].ci_low > 0
    assert by_sha[slow].threshold == pytest.approx(midpoint(by_sha[bad].change))
    assert "1x7" in by_sha[slow].subject

    (row,) = store.bisections()
    assert row["status"] == "found" and row["first_bad_sha"] == slow and row["finished_at"]
    assert row["change"] == pytest.approx(by_sha[slow].change) and row["repo"] == "apache/tvm"
    assert {p["sha"] for p in row["evidence"]} == set(by_sha)
    # Every timed probe is a paired run beside good's build, kept outside the base history.
    runs = store.runs("kind = 'bisect'")
    assert {r["sha"] for r in runs} >= {bad, slow} and all(r["paired"] and r["base_sha"] == good for r in runs)
    assert store.base_history() == []
    # The progress lines say what each probe was and what it gave, one line each.
    assert any(line.startswith("probe 1:") for line in lines) and any("skipped (build failed" in line for line in lines)
    assert lines[-1].startswith(f"first bad commit: {slow}")

    # Asked again: answered from the store, nothing measured.
    told: list[str] = []
    recorded = Bisector(store, cache, checkout, local_device(), say=told.append).bisect(item, good, bad)
    assert recorded.first_bad == slow and recorded.measured == 0 and "ended before" in told[0]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_commit_that_answers_wrong_is_not_judged_by_its_latency(history, tmp_path):
    """Only a right answer's latency is judged: a probe whose TVM answers wrong (here the 1x7 layer with
    tolerance 0, off TFLite's by one unit in NHWC) is timed for one pair and said, not called slower."""
    checkout, cache, shas = history
    store = Store.open(tmp_path / "perf.db")
    item = find_item(SLOW_1X7, "uint8", "NHWC", "default")
    strict = dataclasses.replace(item, workload=dataclasses.replace(item.workload, tolerance=0.0))
    outcome = Bisector(store, cache, checkout, local_device(), suite=quick_suite()).bisect(strict, shas[0], shas[7])
    (end,) = outcome.probes
    assert outcome.status == "failed" and end.verdict == "skipped" and end.bad is None
    assert "wrong result" in end.reason and "latency is not judged" in outcome.reason
    (result,) = store.results(end.run_id)
    assert result["status"] == "wrong_result" and result["stopped"] == "wrong result" and len(result["rounds"]) == 2


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_range_that_is_not_slower_names_no_commit(history, tmp_path):
    checkout, cache, shas = history
    store = Store.open(tmp_path / "perf.db")
    item = find_item(SLOW_1X7, "uint8", "NHWC", "default")
    # Two docstrings after the release: the same code, so the step does not reproduce.
    outcome = Bisector(store, cache, checkout, local_device(), suite=quick_suite()).bisect(item, shas[0], shas[2])
    assert outcome.status == "not_found" and outcome.first_bad is None
    assert "does not reproduce" in outcome.reason and [p.sha for p in outcome.probes] == [shas[2]]
    assert store.bisections()[0]["status"] == "not_found"


def test_bad_ranges_are_refused_in_one_line(main_of_13, tmp_path):
    checkout, shas = main_of_13
    cache = tmp_path / "cache"
    store = Store.open(tmp_path / "perf.db")
    item = find_item(SLOW_1X7, "uint8", "NHWC", "default")
    bisector = Bisector(store, cache, checkout, local_device())
    with pytest.raises(BadRange, match="not an ancestor"):
        bisector.bisect(item, shas[5], shas[1])
    with pytest.raises(BadRange, match="same commit"):
        bisector.bisect(item, shas[1], shas[1])
    with pytest.raises(UnknownName, match="no such commit"):
        bisector.bisect(item, "deadbeef", shas[1])
    with pytest.raises(UnknownName, match="unknown workload 'qconv_nope'"):
        find_item("qconv_nope", "uint8", "NHWC", "default")
    assert store.bisections() == []


# The search without TVM ------------------------------------------------------------------------------


class Scripted(Bisector):
    """A Bisector whose probes are given: slower from commit `first_bad` on, `broken` ones skipped."""

    def __init__(self, *args, first_bad: int, broken=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.first_bad, self.broken, self.asked = first_bad, set(broken), []

    def _search(self, item, good_commit, bad_commit, shas, probes, out, repo):
        self.index = {sha: i for i, sha in enumerate(shas)}
        return super()._search(item, good_commit, bad_commit, shas, probes, out, repo)

    def _subject(self, commit, repo):
        return None

    def _probe(self, runner, suite, item, good, sha, role, threshold, repo):
        i = self.index[sha]
        self.asked.append(i)
        if i in self.broken:
            return bisect_mod.Probe(sha, "", role, "skipped", None, reason="build failed: broken")
        slower = i >= self.first_bad
        change = 1.0 if slower else 0.01
        return bisect_mod.Probe(sha, "", role, "slower" if slower else "unchanged", slower, change, change, change, 8)


@pytest.mark.parametrize(
    "first_bad, broken, expected, asked",
    [
        (4, (), 4, [6, 2, 4, 3]),
        (0, (), 0, [6, 2, 0]),
        (6, (), 6, [6, 2, 4, 5]),
        (4, (2,), 4, [6, 2, 3, 4]),  # the middle is broken: its nearest neighbour instead
        (1, (2,), 1, [6, 2, 3, 1, 0]),
    ],
)
def test_the_search_halves_the_range_and_steps_around_skipped_commits(main_of_13, tmp_path, first_bad, broken, expected, asked):  # fmt: skip
    checkout, shas = main_of_13
    cache = tmp_path / "cache"
    store = Store.open(tmp_path / "perf.db")
    item = find_item(SLOW_1X7, "uint8", "NHWC", "default")
    bisector = Scripted(store, cache, checkout, local_device(), first_bad=first_bad, broken=broken)
    outcome = bisector.bisect(item, shas[0], shas[7])
    assert outcome.status == "found" and outcome.first_bad == shas[1 + expected]
    assert bisector.asked == asked


def test_only_skipped_commits_left_is_said_not_guessed(main_of_13, tmp_path):
    checkout, shas = main_of_13
    cache = tmp_path / "cache"
    store = Store.open(tmp_path / "perf.db")
    item = find_item(SLOW_1X7, "uint8", "NHWC", "default")
    outcome = Scripted(store, cache, checkout, local_device(), first_bad=3, broken=(1, 2)).bisect(
        item, shas[0], shas[7]
    )
    assert outcome.status == "not_found" and outcome.first_bad is None
    assert outcome.candidates == shas[2:5] and "only skipped commits" in outcome.reason


def test_midpoint_is_half_the_step_on_the_log_scale():
    assert midpoint(1.0) == pytest.approx(2**0.5 - 1)
    assert midpoint(0.1) == pytest.approx(1.1**0.5 - 1)


# Automatic bisects: a step in the base history queues one bisect job -----------------------------------


def record_base_runs(store, shas, medians, device="local", workload=SLOW_1X7):
    """Base-branch runs of one item at these commits, oldest first, as the job worker records them."""
    for i, (sha, median) in enumerate(zip(shas, medians)):
        run_id = store.start_run(suite="smoke", device=device, kind="base", repo="apache/tvm", sha=sha,
                                 commit_time=f"2026-01-01T00:{i:02d}:00+00:00", env="test")  # fmt: skip
        store.add_result(run_id, workload=workload, scheme="uint8", layout="NHWC", pipeline="default", status="ok",
                         median_ms=median, samples_ms=[median] * 5)  # fmt: skip
        store.finish_run(run_id, "complete")


JITTER = [1.0, 1.004, 0.997, 1.002, 0.999, 1.003, 0.998]


def test_a_new_step_in_the_base_history_queues_one_bisect_job(tmp_path, main_of_13):
    checkout, shas = main_of_13
    store = Store.open(tmp_path / "perf.db")
    measured = shas[0:13:2]  # every other commit: c0, c2, ... c12
    levels = [10.0 * j for j in JITTER[:4]] + [12.0 * j for j in JITTER[4:]]
    record_base_runs(store, measured, levels)
    (bisection_id,) = bisect_mod.queue_steps(store, local_device(), "apache/tvm", checkout)
    row = store.bisection(bisection_id)
    assert (row["status"], row["good_sha"], row["bad_sha"]) == ("queued", shas[6], shas[8])
    assert "change point" in row["reason"] and "within 2 commits" in row["reason"]
    (job,) = store.jobs("kind = 'bisect'")
    assert (job["sha"], job["base_sha"], job["suite"], job["config"]) == (
        shas[8],
        shas[6],
        f"{SLOW_1X7}/uint8",
        "NHWC/default",
    )
    assert job["priority"] < 0 and bisect_mod.item_of_job(job).series == (SLOW_1X7, "uint8", "NHWC", "default")

    # The next base runs: the same step, not queued again (also when its change point moves by a point).
    assert bisect_mod.queue_steps(store, local_device(), "apache/tvm", checkout) == []
    record_base_runs(store, [shas[12]], [12.01])
    assert bisect_mod.queue_steps(store, local_device(), "apache/tvm", checkout) == []
    assert len(store.jobs("kind = 'bisect'")) == 1


def test_steps_that_need_no_bisect_queue_nothing(tmp_path, main_of_13):
    checkout, shas = main_of_13
    store = Store.open(tmp_path / "perf.db")
    # Every commit measured: the step is between two adjacent commits, so the commit is known already.
    record_base_runs(store, shas[:7], [10.0 * j for j in JITTER[:3]] + [12.0 * j for j in JITTER[3:]])
    # A faster step is nobody's regression; another repository's commits are not this checkout's.
    record_base_runs(store, shas[0:13:2], [12.0 * j for j in JITTER[:4]] + [10.0 * j for j in JITTER[4:]],
                     workload="qconv_faster")  # fmt: skip
    assert bisect_mod.new_steps(store, local_device(), "apache/tvm", checkout) == []
    assert bisect_mod.new_steps(store, local_device(), "someone/else", checkout) == []
    emulated = dataclasses.replace(local_device(), emulated=True)
    assert bisect_mod.new_steps(store, emulated, "apache/tvm", checkout) == []


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_worker_bisects_the_step_its_base_runs_revealed(history, tmp_path):
    """Base runs show a step between c2 and c5; the worker's next base job queues the bisect, then runs it."""
    from bot.engine.job_worker import JobWorker

    checkout, cache, shas = history
    store = Store.open(tmp_path / "perf.db")
    record_base_runs(store, [shas[0], shas[1], shas[2], shas[5], shas[6], shas[7]],
                     [20.0 * j for j in JITTER[:3]] + [40.0 * j for j in JITTER[3:6]])  # fmt: skip
    worker = JobWorker(store, local_device(), cache, subject_for=None, checkout=checkout)
    worker._queue_bisects({"id": 0, "repo": "apache/tvm"})  # what a complete base job does after recording
    (job,) = store.jobs("kind = 'bisect'")
    claimed = store.claim("local", worker.worker, 60)
    assert claimed["id"] == job["id"]
    assert worker.work(claimed) == "done"
    (row,) = store.bisections()
    assert row["status"] == "found" and row["first_bad_sha"] == shas[5], row["reason"]
    assert [p["sha"] for p in row["evidence"]] == [shas[3], shas[4], shas[5]]  # broken, its fix, the step
    assert store.job(job["id"])["state"] == "done" and store.unposted_bisections() == [store.bisection(row["id"])]
