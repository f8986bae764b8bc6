"""`perfbot bisect` as a person types it: bad input in one line, the table and the answer at the end.

The range is a TVM-shaped stand-in tree (tests/engine/builds/standin.py) and
the probes' measurements are scripted here: tests/engine/test_bisect.py
measures real TVM commits through the same Bisector.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.engine import bisect
from bot.store import Store
from tests.engine.builds import standin

WORKLOAD = "qconv_17x17x128_128_1x7_s1_same"
LOCAL = "devices:\n  local: {arch: x86_64, target: host, connection: local, threads: 1, suites: [smoke]}\n"


@pytest.fixture
def setup(tmp_path, monkeypatch):
    root = tmp_path / "tvm"
    shas = [standin.tree(root, version=f"0.0.{i}") for i in range(8)]
    devices = tmp_path / "devices.yml"
    devices.write_text(LOCAL)
    env = {"PERFBOT_DEVICES": str(devices), "PERFBOT_DB": str(tmp_path / "perf.db"),
           "PERFBOT_CACHE": str(tmp_path / "cache")}  # fmt: skip
    return root, shas, env, tmp_path / "perf.db"


def scripted(monkeypatch, shas, first_bad: int, broken=()):
    """Probes measured as if commit shas[first_bad] doubled the item's time; `broken` ones do not build."""

    def probe(self, runner, suite, item, good, sha, role, threshold, repo):
        i = shas.index(sha)
        if i in broken:
            return bisect.Probe(sha, f"commit {i}", role, "skipped", None, reason="build failed: no tvm")
        slower = i >= first_bad
        change = 1.0 if slower else 0.01
        return bisect.Probe(sha, f"commit {i}", role, "slower" if slower else "unchanged", slower,
                            change, change - 0.05, change + 0.05, 10)  # fmt: skip

    monkeypatch.setattr(bisect.Bisector, "_probe", probe)
    monkeypatch.setattr(bisect.Bisector, "_subject", lambda self, commit, repo: None)


def perfbot(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_bisect_prints_progress_a_table_and_the_first_bad_commit(setup, monkeypatch):
    root, shas, env, db = setup
    scripted(monkeypatch, shas, first_bad=5, broken=(3,))
    out = perfbot(env, "bisect", "--good", shas[0][:10], "--bad", shas[7], "--workload", WORKLOAD,
                  "--checkout", str(root), "--repo", "apache/tvm")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert re.search(r"bisecting .* 7 commits after .* about 3 probes after the bad endpoint", out.output)
    assert "probe 1:" in out.output and "skipped (build failed: no tvm)" in out.output
    assert "first bad" in out.output and f"first bad commit: {shas[5]}" in out.output
    assert "the bot posts it on the commit's PR" in out.output
    (row,) = Store.open(db).bisections()
    assert row["first_bad_sha"] == shas[5] and row["repo"] == "apache/tvm"

    again = perfbot(env, "bisect", "--good", shas[0], "--bad", shas[7], "--workload", WORKLOAD, "--checkout", str(root))
    assert again.exit_code == 0 and "ended before (found)" in again.output


def test_a_step_that_does_not_reproduce_names_no_commit(setup, monkeypatch):
    root, shas, env, db = setup
    scripted(monkeypatch, shas, first_bad=99)
    out = perfbot(env, "bisect", "--good", shas[0], "--bad", shas[7], "--workload", WORKLOAD, "--checkout", str(root))
    assert out.exit_code == 0 and "no first bad commit named (not_found): the step does not reproduce" in out.output


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--good", "0bad0bad", "--bad", "{7}"], 2, "no such commit"),
        (["--good", "{7}", "--bad", "{1}"], 1, "is not an ancestor of"),
        (["--good", "{1}", "--bad", "{1}"], 1, "the same commit"),
        (["--good", "{1}", "--bad", "{7}", "--workload", "qconv_nope"], 2, "unknown workload 'qconv_nope'"),
        (["--good", "{1}", "--bad", "{7}", "--device", "rpi9"], 2, "rpi9"),
        (["--good", "{1}", "--bad", "{7}", "--checkout", "/nonexistent"], 2, "no such folder"),
    ],
)
def test_bad_input_is_one_line_and_records_nothing(setup, args, code, message):
    root, shas, env, db = setup
    args = [a.format(*shas) for a in args]
    if "--workload" not in args:
        args += ["--workload", WORKLOAD]
    if "--checkout" not in args:
        args += ["--checkout", str(root)]
    out = perfbot(env, "bisect", *args)
    assert out.exit_code == code, out.output
    assert message in out.output and len(out.output.strip().splitlines()) == 1 and "Traceback" not in out.output
    assert not db.exists() or Store.open(db).bisections() == []


def test_every_option_says_what_it_is_for():
    out = CliRunner().invoke(main, ["bisect", "--help"])
    options = [line for line in out.output.splitlines() if line.strip().startswith("--")]
    assert len(options) >= 11 and all(len(line.split(maxsplit=2)) == 3 for line in options if "--help" not in line)
    assert "bisect" in CliRunner().invoke(main, ["--help"]).output
