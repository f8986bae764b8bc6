"""benchmarks/verdict_noise.py's report: what it reads from a record, without running a job."""

import json
import math
import statistics
import sys
from pathlib import Path

import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import verdict_noise  # noqa: E402
from tests.test_code_identity import TIMING, bot_repo, commit  # noqa: E402
from tests.tvm_checkout import git  # noqa: E402


def job(slot: str, number: int, changes: list[float]) -> dict:
    items = [{"workload": "qconv_35x35x192_64_1x1_s1_same", "scheme": "int8", "change": c} for c in changes]
    items.append({"workload": "qconv_17x17x128_128_1x7_s1_same", "scheme": "int8", "change": None})
    return {"slot": slot, "number": number, "design": "sequential", "condition": "loaded", "what": "A/A",
            "items": items, "wall_s": 1.0, "load": [3.0, 3.2]}  # fmt: skip


def test_a_groups_mean_change_has_its_interval_over_jobs_not_items(tmp_path):
    record = tmp_path / "record.jsonl"
    answers = [job("a", 1, [-0.04, -0.02]), job("b", 2, [-0.01, -0.03]), job("c", 3, [0.00, -0.04])]
    record.write_text("\n".join(json.dumps(x) for x in [{"header": {}}, *answers]) + "\n")
    jobs = verdict_noise.Jobs(tmp_path, record)
    means = [-0.03, -0.02, -0.02]  # each job's 1x1 items
    half = stats.t.ppf(0.995, 2) * statistics.stdev(means) / math.sqrt(3)
    middle = statistics.mean(means)
    expected = f"-2.3% [{100 * (middle - half):+.1f}, {100 * (middle + half):+.1f}] (5)"
    assert verdict_noise.mean_change(jobs.jobs("sequential", "loaded", "A/A"), "1x1") == expected
    assert verdict_noise.mean_change(jobs.jobs("sequential", "loaded", "A/A"), "1x7") == "–"  # no change measured
    assert verdict_noise.mean_change(jobs.jobs("sequential", "loaded", "A/A")[:1], "1x1") == "-3.0% (2)"


def test_a_record_goes_on_from_a_bot_tree_whose_code_is_the_same(tmp_path, monkeypatch):
    repo = bot_repo(tmp_path / "repo")
    monkeypatch.setattr(verdict_noise, "ROOT", repo)
    measured = commit(repo, {"timing.py": TIMING})
    record = tmp_path / "record.jsonl"
    verdict_noise.open_record(record, {"sequential": measured, "baseline": "d6d3315"})

    reworded = commit(repo, {"timing.py": TIMING.replace("# the cap", "# the cap, as issue 22 asks")})
    verdict_noise.open_record(record, {"sequential": reworded, "baseline": "d6d3315"})  # goes on
    assert json.loads(record.read_text())["header"]["sequential"] == measured  # the record still names its design

    reworded_at = git(repo, "rev-parse", "HEAD")[:7]
    changed = commit(repo, {"timing.py": TIMING.replace("ROUNDS = 24", "ROUNDS = 12")})
    with pytest.raises(SystemExit, match=r"runs other code in timing\.py; go on from a checkout of commit \w{7}, or"):
        verdict_noise.open_record(record, {"sequential": changed, "baseline": "d6d3315"})
    ran = {"slot": "a", "number": 1, "design": "sequential", "condition": "quiet", "what": "A/A", "tree": reworded}
    record.write_text(record.read_text() + json.dumps(ran) + "\n")  # the newest tree that ran a job: its commit
    with pytest.raises(SystemExit, match=f"go on from a checkout of commit {reworded_at}, or use another"):
        verdict_noise.open_record(record, {"sequential": changed, "baseline": "d6d3315"})
    with pytest.raises(SystemExit, match="baseline 'd6d3315'"):
        verdict_noise.open_record(record, {"sequential": reworded, "baseline": "abc1234"})


def test_a_job_with_a_failed_item_is_named_and_not_a_reading():
    """The quiet start on a machine that hid AVX-512 recorded 3 jobs of 12 crashes each before it stopped."""
    ok = {"workload": "qconv_35x35x192_64_1x1_s1_same", "scheme": "int8", "config": "NHWC/default",
          "verdict": "unchanged"}  # fmt: skip
    crashed = {**ok, "workload": "qconv_147x147x32_64_3x3_s1_valid", "verdict": "crash"}
    assert verdict_noise.failures({"items": [ok, ok]}) is None
    said = verdict_noise.failures({"items": [ok, crashed, {**crashed, "verdict": "compile_error"}]})
    assert said == "2 of 3 items failed (crash: qconv_147x147x32_64_3x3_s1_valid int8 NHWC/default)"
