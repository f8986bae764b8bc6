"""Offline review: `perfbot runs`, `perfbot compare A B` and `perfbot report --pr N --print`.

A database written through the store as the runner writes it: a base-branch run, a second run of one
build timed apart from it, and a PR run recorded at a terminal (`perfbot run --kind pr --base-env`),
with no pull request row: the bot never saw the PR. No GitHub is set up.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot import devices
from bot.cli import main
from bot.github import comment
from bot.settings import GitHubSettings
from bot.store import Store
from bot.verdicts import build
from tests.results import failed, ok, paired, rounds_of

BASE, HEAD = "b" * 40, "f" * 40
ONE_X_SEVEN, ONE_X_ONE, STORY = "qconv_17x17x128_128_1x7_s1_same", "qconv_35x35x192_64_1x1_s1_same", "qconv_story"


def record(store: Store, results: list[dict], **run) -> int:
    run_id = store.start_run(**{"suite": "smoke", "device": "local", "arch": "x86_64", "tvm_version": "0.27.0.post1",
                                "env": "python:/usr/bin/python3", **run})  # fmt: skip
    for result in results:
        store.add_result(run_id, layout="NHWC", pipeline="default", **result)
    store.finish_run(run_id)
    return run_id


def samples(level: float, n: int = 10) -> list[float]:
    return [level * (1 + 0.001 * (i - (n - 1) / 2)) for i in range(n)]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "perf.db"
    store = Store.open(path)
    functions = {"fused_conv2d": "1111", "quantize": "2222"}
    record(store, [ok(ONE_X_SEVEN, samples(10.0), code_hash="a", code_functions=functions),
                   ok(ONE_X_ONE, samples(4.0), code_hash="same"),
                   ok(STORY, samples(50.0), code_hash="s")], kind="base", sha=BASE)  # fmt: skip
    record(store, [ok(ONE_X_SEVEN, samples(12.0), code_hash="b", code_functions={**functions, "fused_conv2d": "9"}),
                   ok(ONE_X_ONE, samples(4.4), code_hash="same"),
                   failed(STORY, "compile_error", "TVMError: assert kernel_layout == 'HWIO'")], kind="local")  # fmt: skip
    record(store, [paired(ONE_X_SEVEN, rounds_of(10.0, 0.5), code_functions={"fused_conv2d": "9"},
                          base_code_functions={"fused_conv2d": "1"}, changed_functions=["fused_conv2d"]),
                   paired(ONE_X_SEVEN, rounds_of(10.0, 0.5, seed=1), attempt=2),
                   paired(ONE_X_ONE, same_code=True, changed_functions=[])],
           kind="pr", pr=7, sha=HEAD, base_sha=BASE, paired=1, base_env="python:/usr/bin/python3",
           base_tvm_version="0.27.0.post1")  # fmt: skip
    store.close()
    return path


def run(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env={"PERFBOT_DEVICES": "", **(env or {})})
    return result


def row_of(output: str, first: str) -> list[str]:
    """A table's row by its first cell."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in output.splitlines() if "│" in line]
    return next(row for row in rows if row and row[0] == first)


def test_runs_lists_what_compare_takes(db):
    result = run("runs", "--db", db)
    assert result.exit_code == 0, result.output
    assert "pr #7" in result.output and "0.27.0.post1" in result.output
    assert [row_of(result.output, str(i))[8] for i in (1, 2, 3)] == ["3/3", "2/3", "2/2"]


def test_compare_judges_two_separate_runs_as_the_comment_would(db):
    result = run("compare", 1, 2, "--db", db)
    assert result.exit_code == 0, result.output
    assert "run 2 against run 1 on local" in result.output
    slower = row_of(result.output, ONE_X_SEVEN)
    assert slower[3] == "slower" and slower[4:6] == ["10.00", "12.00"] and slower[6].startswith("+20.0% [")
    assert slower[7] == "10/10" and slower[9] == "fused_conv2d"  # samples a side; no rerun column: none was run
    assert row_of(result.output, ONE_X_ONE)[3] == "same code"  # the code hashes are equal: nothing to judge
    assert row_of(result.output, STORY)[3] == "new compile error"
    assert "1 slower, 1 compile error, 1 same code, of 3 items." in " ".join(result.output.split())


def test_compare_refuses_runs_that_are_not_there_or_of_two_devices(db):
    store = Store.open(db)
    elsewhere = record(store, [ok(ONE_X_ONE, samples(4.0))], kind="local", device="qemu-aarch64")
    store.close()
    missing = run("compare", 1, 99, "--db", db)
    assert missing.exit_code == 2 and "no run 99 in" in missing.output
    apart = run("compare", 1, elsewhere, "--db", db)
    assert apart.exit_code == 2 and f"run 1 is on local and run {elsewhere} on qemu-aarch64" in apart.output


def test_report_print_renders_the_comment_of_a_pr_run_recorded_at_a_terminal_without_github(db):
    result = run("report", "--pr", 7, "--print", "--db", db, env={"GITHUB_API_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 0, result.output
    store = Store.open(db)
    report = build(store, devices.load(None), None, 7)
    assert result.output.rstrip("\n") == comment.comment(report, GitHubSettings().mention).rstrip("\n")
    assert "### perfbot: 1 slower, 1 same code, on 1 device" in result.output
    assert f"Head `{HEAD[:10]}` against `{BASE[:10]}`, its merge base." in result.output
    assert "Where the code changed (1 item)" in result.output and "`fused_conv2d`" in result.output
    assert "PR side: TVM 0.27.0.post1 as installed for /usr/bin/python3 (perfbot built no commit into it)" in (
        result.output
    )


def test_report_needs_a_repo_only_to_post(db):
    result = run("report", "--pr", 7, "--db", db)
    assert result.exit_code == 2 and "--repo OWNER/NAME (or $PERFBOT_REPO) says where to post" in result.output
