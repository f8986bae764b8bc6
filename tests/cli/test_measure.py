"""What the README promises of `perfbot run`, `run --tuning`, `tune` and `history`, through the CLI.

Each command runs as a real process (`python -m bot`), as a user types it in a
pipe, on the tiny model of tests/conftest.py, with its database and cache in
tmp_path. What is checked is what the user sees: the table on stdout, one line
on stderr when the input is bad, and the rows in the SQLite file.

Then: stopped in the middle, they leave nothing running; the exit status a script gets from
`perfbot run`, and a target the TVM under test cannot parse.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.engine.suite.graph import SCHEMES, GraphBuilder
from bot.store import Store
from tests import tvm_checkout
from tests.cli.conftest import perfbot, show
from tests.emulated_board import needs_tools
from tests.processes import depth, stop_and_check, wait_for_tree
from tests.processes import perfbot as start_perfbot

pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parents[2]
#: Where test_releases.py keeps its pip environments of TVM releases, shared so each is built once.
SHARED_CACHE = Path(os.environ.get("PERFBOT_TEST_CACHE", Path.home() / ".cache" / "perfbot-test"))


def rows(db: Path, sql: str, *params) -> list[dict]:
    """Rows of the file as any SQLite client reads them (datasette, sqlite3), not through perfbot's store."""
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql, params)]
    finally:
        connection.close()


def flat(output: str) -> str:
    """Output with its line wrapping undone (rich wraps long lines at the console's width)."""
    return " ".join(output.split())


def table_rows(output: str) -> dict[str, list[str]]:
    """The results table's body rows by their config cell: {"NHWC/default": [workload, scheme, ...], ...}."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)[1:-1]]
        if len(cells) >= 4 and re.fullmatch(r"(NHWC|NCHW)/\w+", cells[2]):
            found[cells[2]] = cells
    return found


# Refused before anything is written --------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--suite", "nightly"], "nightly"),
        (["--device", "no-such-board"], "no-such-board"),
        (["--model", "{tmp}/missing.tflite"], "missing.tflite"),
        (["--model", "{tmp}/not-a-model.tflite"], "not-a-model.tflite"),
        (["--kind", "pr"], "--pr"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_nothing_written(tmp_path, args, message):
    (tmp_path / "not-a-model.tflite").write_text("hello")
    db = tmp_path / "perf.db"
    result = perfbot("run", *[a.format(tmp=tmp_path) for a in args], "--db", db, cache=tmp_path / "cache", cwd=tmp_path)
    assert result.returncode != 0, show(result)
    assert result.stdout == "", show(result)
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, show(result)
    assert "Traceback" not in result.stderr
    assert not db.exists() and not (tmp_path / "perf.db").exists()


# perfbot run ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_on_a_users_model_prints_the_table_and_records_every_item(tmp_path, tiny_model):
    db = tmp_path / "results" / "perf.db"
    db.parent.mkdir()
    result = perfbot("run", "--model", tiny_model, "--db", db, cache=tmp_path / "cache", cwd=tmp_path)

    assert result.returncode == 0, show(result)
    out, name = result.stdout, tiny_model.stem
    assert f"model:{name} on local" in out
    for column in ("workload", "scheme", "config", "status", "TVM ms", "TFLite ms", "TVM/TFLite", "max abs diff"):
        assert column in out
    table = table_rows(out)
    assert set(table) == {"NHWC/default", "NCHW/default"}  # no tuned rows without --tuning
    for cells in table.values():
        assert cells[:2] == [name, "int8"] and cells[3] == "ok"
        assert float(cells[4]) > 0 and float(cells[5]) > 0
    assert f"2 results: 2 ok. Recorded as run 1 in {db}. TVM/TFLite below 1 means TVM is faster." in flat(out)
    assert not (tmp_path / "perf.db").exists()  # --db, not the working folder's

    [run] = rows(db, "select * from runs")
    assert (run["status"], run["suite"], run["device"], run["kind"], run["tuning"]) == (
        "complete",
        f"model:{name}",
        "local",
        "local",
        0,
    )
    assert run["tvm_version"] and run["env"].startswith("python:")
    results = rows(db, "select * from results where run_id = ? order by layout desc", run["id"])
    assert [(r["workload"], r["scheme"], r["layout"], r["pipeline"], r["status"]) for r in results] == [
        (name, "int8", "NHWC", "default", "ok"),
        (name, "int8", "NCHW", "default", "ok"),
    ]
    for r in results:
        assert r["median_ms"] > 0 and r["tflite_median_ms"] > 0 and r["max_abs_diff"] <= 1
        assert r["ratio"] == pytest.approx(r["median_ms"] / r["tflite_median_ms"])

    again = perfbot("run", "--model", tiny_model, "--db", db, cache=tmp_path / "cache", cwd=tmp_path)
    assert again.returncode == 0, show(again)
    assert "Recorded as run 2" in flat(again.stdout)
    assert [r["id"] for r in rows(db, "select id from runs")] == [1, 2]


# perfbot tune, then run --tuning ----------------------------------------------------------------------


@pytest.mark.slow
def test_tune_prints_plain_progress_lines_when_not_on_a_terminal(tuned, tiny_model):
    first, name = tuned.first, tiny_model.stem
    assert first.returncode == 0, show(first)
    lines = first.stderr.splitlines()
    assert lines[0] == f"tuning 2 items of model:{name} on local: up to 2 trials per task"
    assert any(line.startswith("tuning ok: ") for line in lines), show(first)
    assert all(re.fullmatch(r"tuning .*|  \d+/\d+ tasks tuned .*", line) for line in lines), show(first)
    assert "\x1b[" not in first.stderr and "\r" not in first.stderr  # no bar, no colour in a pipe
    assert f"tuning model:{name} on local:" in first.stdout and "up to 2 per task" in first.stdout
    assert "`perfbot run --tuning` applies it" in flat(first.stdout)
    recorded = rows(tuned.db, "select * from tunings order by id")[0]  # the first of the fixture's two
    assert (recorded["status"], recorded["trials"], recorded["device"]) == ("ok", 2, "local")
    assert Path(recorded["database_dir"]).is_relative_to(tuned.cache / "tuning" / "local")


@pytest.mark.slow
def test_a_second_tune_tunes_nothing(tuned, tiny_model):
    second = tuned.second
    assert second.returncode == 0, show(second)
    assert f"tuning model:{tiny_model.stem} on local: 0 trials" in second.stdout, show(second)
    done = re.search(r"tuning ok: 0 trials .*, (\d+) of (\d+) tasks already had 2", second.stderr)
    assert done and done[1] == done[2], show(second)
    before_after = [line.split("│")[-3:-1] for line in second.stdout.splitlines() if line.count("│") == 5]
    assert before_after and all([c.strip() for c in cells] == ["2", "2"] for cells in before_after), second.stdout
    assert [r["status"] for r in rows(tuned.db, "select status from tunings")] == ["ok", "ok"]


@pytest.mark.slow
def test_run_with_tuning_adds_the_tuned_rows_after_tune(tuned, tiny_model):
    result = perfbot("run", "--model", tiny_model, "--tuning", "--db", tuned.db, cache=tuned.cache, cwd=tuned.folder)

    assert result.returncode == 0, show(result)
    table = table_rows(result.stdout)
    assert set(table) == {"NHWC/default", "NCHW/default", "NHWC/tuned", "NCHW/tuned"}, result.stdout
    assert all(cells[3] == "ok" for cells in table.values()), result.stdout
    assert "TVM against TFLite on local: each workload's best" in flat(result.stdout)
    assert "4 results: 4 ok." in flat(result.stdout)

    [run] = rows(tuned.db, "select * from runs where tuning = 1")
    tuned_rows = rows(tuned.db, "select * from results where run_id = ? and pipeline = 'tuned'", run["id"])
    assert sorted(r["layout"] for r in tuned_rows) == ["NCHW", "NHWC"]
    for r in tuned_rows:
        assert r["status"] == "ok" and r["tuned_tasks"] >= 1 and r["untuned_tasks"] == 0 and r["max_abs_diff"] <= 1


# perfbot run --kind pr --base-env: the verdicts at the terminal -------------------------------------------


@pytest.fixture(scope="module")
def one_by_seven(tmp_path_factory) -> Path:
    """One small 1x7 conv: the kernel tests/tvm_checkout.recompute_part changes the code of."""
    g = GraphBuilder(SCHEMES["int8"], 11, (1, 9, 9, 16))
    path = tmp_path_factory.mktemp("models") / "one_by_seven.tflite"
    path.write_bytes(g.finish(g.conv(g.input, 16, (1, 7), relu=True)))
    return path


@pytest.mark.slow
def test_a_pr_run_beside_its_base_ends_with_the_verdicts_its_comment_would_show(tmp_path, one_by_seven):
    """A real TVM checkout (tests/tvm_checkout.py) with a PR that makes 1x7 convs do twice their work."""
    checkout, cache, db = tmp_path / "tvm", tmp_path / "cache", tmp_path / "perf.db"
    main = tvm_checkout.make_checkout(checkout)
    head = tvm_checkout.commit_change(checkout, "slow-1x7", "[TFLite] Recompute 1x7", tvm_checkout.recompute_part(1.0))
    built = perfbot("build", f"{checkout}@main", "--native-from", f"python:{sys.executable}", cache=cache, cwd=tmp_path)
    assert built.returncode == 0, show(built)
    result = perfbot("run", "--model", one_by_seven, "--env", f"source:{checkout}@slow-1x7", "--base-env",
                     f"source:{checkout}@main", "--kind", "pr", "--pr", 7, "--db", db, cache=cache, cwd=tmp_path)  # fmt: skip

    assert result.returncode == 0, show(result)
    assert "model:one_by_seven on local: 2 items\n" in result.stderr, show(result)  # a pipe: a line per item
    assert re.search(r"^[12]/2 one_by_seven/int8 NHWC/default ", result.stderr, re.M), show(result)
    out = result.stdout
    for column in ("verdict", "base ms", "PR ms", "change [99% CI]", "rounds", "code changed in"):
        assert column in out, show(result)
    assert f"PR {head[:10]} against its base {main[:10]}" in out
    for config in ("NHWC/default", "NCHW/default"):
        cells = table_rows(out)[config]
        assert cells[3] in ("slower", "unchanged", "undecided", "inconclusive"), show(result)  # a tiny 2x, loaded
        assert float(cells[4]) > 0 and float(cells[5]) > 0 and cells[6] != "–" and cells[9] not in ("", "–")
    assert f"PR side: TVM {run_field(db, 'tvm_version')} built from {head[:10]} (native libraries: wheel" in out
    assert f"of 2 items. Recorded as run 1 in {db}; `perfbot report --pr 7 --print --db {db}`" in flat(out)

    [run] = rows(db, "select * from runs")
    assert (run["sha"], run["base_sha"], run["paired"]) == (head, main, 1)  # from the source: specs
    assert run["build_how"].startswith("wheel") and run["base_tvm_version"] == run["tvm_version"]
    changed = rows(db, "select changed_functions from results where coalesce(attempt, 1) = 1")
    assert all(json.loads(r["changed_functions"]) for r in changed)  # named, not just "the code differs"

    printed = perfbot("report", "--pr", 7, "--print", "--db", db, cache=cache, cwd=tmp_path)
    assert printed.returncode == 0, show(printed)
    assert f"Head `{head[:10]}` against `{main[:10]}`, its merge base." in printed.stdout
    assert "Where the code changed (2 items)" in printed.stdout


def run_field(db: Path, column: str):
    return rows(db, f"select {column} from runs")[0][column]


# perfbot history ---------------------------------------------------------------------------------------

#: `perfbot history` as the CLI runs it, with two things made small: a suite of one conv instead of the
#: smoke suite's six, and PyPI's release dates not asked for (nothing but pip goes to the network).
HISTORY = """
import sys

from bot.cli import measure
from bot.engine import releases
from bot.engine.suite.inception import ConvShape
from bot.engine.suite.suites import Suite
from bot.engine.suite.workloads import qconv

measure.get_suite = lambda name: Suite(name, (qconv(ConvShape(12, 12, 8, 8, 3, 3, 1, "SAME"), "int8"),), repeat=3)
releases.PYPI_JSON = "http://127.0.0.1:9/pypi/apache-tvm/json"

from bot.cli import main

main(sys.argv[1:], prog_name="perfbot")
"""


@pytest.mark.slow
def test_history_runs_each_release_oldest_first_as_base_branch_points(tmp_path):
    """Real pip environments of two releases (built once into the shared test cache, 1-2 minutes each)."""
    cache = SHARED_CACHE if SHARED_CACHE.parent.is_dir() else tmp_path / "cache"
    script = tmp_path / "history.py"
    script.write_text(HISTORY)
    db = tmp_path / "perf.db"
    result = perfbot(
        "history", "--versions", "0.26.0 0.25.0", "--db", db, script=script, cache=cache, cwd=tmp_path, timeout=900
    )

    assert result.returncode == 0, show(result)
    assert "PyPI's release dates are not available: releases are recorded in version order" in result.stderr
    assert re.search(r"apache-tvm 0\.25\.0: 2 results: 2 ok; run 1", result.stderr), show(result)
    assert re.search(r"apache-tvm 0\.26\.0: 2 results: 2 ok; run 2", result.stderr), show(result)
    header = next(line for line in result.stdout.splitlines() if "0.25.0" in line and "0.26.0" in line)
    assert header.index("0.25.0") < header.index("0.26.0") < header.index("TFLite"), result.stdout
    assert "qconv_12x12x8_8_3x3_s1_same/int8" in result.stdout

    runs = rows(db, "select * from runs order by id")
    assert [(r["kind"], r["repo"], r["sha"], r["tvm_version"], r["env"]) for r in runs] == [
        ("base", "apache/tvm", "v0.25.0", "0.25.0", "pip:apache-tvm==0.25.0"),
        ("base", "apache/tvm", "v0.26.0", "0.26.0", "pip:apache-tvm==0.26.0"),
    ]
    results = rows(db, "select run_id, layout, status from results order by run_id, layout")
    assert results == [
        {"run_id": run, "layout": layout, "status": "ok"} for run in (1, 2) for layout in ("NCHW", "NHWC")
    ]


# ------------------------------------------------------------------------------ stopped in the middle
#
# perfbot starts on a small model; once the processes that do the work exist (a forked item child under
# the fork server for `run`, TVM's popen_workers under the tuning child for `tune`) it is stopped the way a
# person (SIGINT), a cancelled CI job (SIGTERM) or the OOM killer (SIGKILL) does, and /proc is searched for
# every process it had below it. The model for `run` is deep enough that its first item compiles for longer
# than the test waits: a child left behind is still running when the test looks.

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]


@pytest.fixture(scope="module")
def deep_model(tmp_path_factory) -> Path:
    """24 small convs in a row: quick to generate, about 10-20 s to compile (a tiny model takes 1-2 s)."""
    g = GraphBuilder(SCHEMES["int8"], 11, (1, 16, 16, 8))
    y = g.input
    for i in range(24):
        y = g.conv(y, 8 + 8 * (i % 3), ((1, 3), (3, 1), (3, 3))[i % 3], relu=True)
    path = tmp_path_factory.mktemp("models") / "deep_conv.tflite"
    path.write_bytes(g.finish(y))
    return path


def environment(tmp_path) -> dict[str, str]:
    return {"PERFBOT_DB": str(tmp_path / "perf.db"), "PERFBOT_CACHE": str(tmp_path / "cache")}


@pytest.mark.slow
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_stopped_run_leaves_no_process_behind(deep_model, tmp_path, sig):
    process = start_perfbot(["run", "--model", str(deep_model)], environment(tmp_path), tmp_path)

    def item_child(tree):  # perfbot -> fork server -> the item's own child, compiling
        return any("measure.py" in cmd and depth(tree, pid, process.pid) >= 2 for pid, cmd in tree.items())

    stop_and_check(process, sig, wait_for_tree(process, item_child), timeout_s=5)


@pytest.mark.slow
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_stopped_tune_leaves_no_process_behind(tiny_model, tmp_path, sig):
    process = start_perfbot(["tune", "--model", str(tiny_model), "--trials", "64"], environment(tmp_path), tmp_path)

    def popen_workers(tree):  # perfbot -> the tuning child -> TVM's builder and runner workers
        return any("popen_worker" in cmd for cmd in tree.values())

    stop_and_check(process, sig, wait_for_tree(process, popen_workers), timeout_s=5)


# ------------------------------------------------------------------------------ exit status and the target


def devices_yml(tmp_path, target: str) -> Path:
    path = tmp_path / "devices.yml"
    path.write_text(f"devices:\n  box:\n    arch: host\n    target: {target}\n    connection: local\n")
    return path


def run_cli(tmp_path, devices: Path, *args: str):
    env = {**environment(tmp_path), "PERFBOT_DEVICES": str(devices)}
    return CliRunner().invoke(main, ["run", "--device", "box", *args], env=env)


@pytest.mark.slow
def test_a_target_tvm_cannot_parse_is_one_line_naming_the_file_device_and_target(tiny_model, tmp_path):
    devices = devices_yml(tmp_path, "{kind: nosuchkind}")
    result = run_cli(tmp_path, devices, "--model", str(tiny_model))
    assert result.exit_code == 1, result.output
    message = result.output.strip().splitlines()[-1]
    assert message == (
        f'Error: {devices}: device \'box\': target: {{"kind": "nosuchkind"}} is not a target the TVM under '
        'test can use: Target kind "nosuchkind" is not defined. Target creation from config dict failed: '
        '{"kind": "nosuchkind"}'
    )
    assert Store.open(tmp_path / "perf.db").runs() == []  # refused before the run was written


@pytest.mark.slow
def test_tune_refuses_a_target_tvm_cannot_parse_before_it_copies_or_records_anything(tiny_model, tmp_path):
    devices = devices_yml(tmp_path, "{kind: nosuchkind}")
    env = {**environment(tmp_path), "PERFBOT_DEVICES": str(devices)}
    result = CliRunner().invoke(main, ["tune", "--device", "box", "--model", str(tiny_model), "--trials", "1"], env=env)
    assert result.exit_code == 1, result.output
    message = result.output.strip().splitlines()[-1]
    assert message.startswith(f'Error: {devices}: device \'box\': target: {{"kind": "nosuchkind"}} is not a target')
    assert not list((tmp_path / "cache").glob("tuning/**/*.work")) and not (tmp_path / "cache" / "tuning").exists()
    assert list(Store.open(tmp_path / "perf.db").db["tunings"].rows) == []


@pytest.mark.slow
def test_run_exits_3_when_items_failed_unless_fail_on_says_otherwise(tiny_model, tmp_path):
    """Code for AArch64 on this x86 host: TVM accepts the target, and every item fails."""
    devices = devices_yml(tmp_path, "{kind: llvm, mtriple: aarch64-linux-gnu}")
    result = run_cli(tmp_path, devices, "--model", str(tiny_model))
    assert result.exit_code == 3, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: 2 of 2 items in run 1 are not ok (2 "), last
    statuses = {r["status"] for r in Store.open(tmp_path / "perf.db").results(1)}
    assert statuses and "ok" not in statuses and "wrong_result" not in statuses
    assert run_cli(tmp_path, devices, "--model", str(tiny_model), "--fail-on", "wrong-result").exit_code == 0


@pytest.mark.slow
def test_tune_exits_3_with_the_tunings_error_when_it_did_not_finish(tiny_model, tmp_path):
    """A target TVM accepts but cannot tune for (no core count for a SPARC CPU): a recorded failure, exit 3."""
    devices = devices_yml(tmp_path, "{kind: llvm, mtriple: sparc-unknown-linux-gnu}")
    env = {**environment(tmp_path), "PERFBOT_DEVICES": str(devices)}
    result = CliRunner().invoke(main, ["tune", "--device", "box", "--model", str(tiny_model), "--trials", "1"], env=env)
    assert result.exit_code == 3, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: tuning compile_error: ") and "num-cores" in last, last
    assert [r["status"] for r in Store.open(tmp_path / "perf.db").db["tunings"].rows] == ["compile_error"]


def test_the_exit_statuses_are_in_the_help():
    text = CliRunner().invoke(main, ["run", "--help"]).output
    assert "Exit status:" in text and "--fail-on" in text
    for code in ("0  the run was recorded", "1  nothing was run", "2  a usage error", "3  the run was recorded"):
        assert code in text


@needs_tools
@pytest.mark.slow
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_run_stopped_while_the_emulated_board_counts_leaves_no_emulator_behind(qemu_cache, tmp_path, sig):
    """The tracker, the server under qemu and the session it forked to count all end with perfbot."""
    env = {"PERFBOT_DB": str(tmp_path / "perf.db"), "PERFBOT_CACHE": str(qemu_cache),
           "PERFBOT_DEVICES": str(ROOT / "devices.yml")}  # fmt: skip
    process = start_perfbot(["run", "--device", "qemu-aarch64", "--suite", "smoke"], env, tmp_path)

    def counting(tree):  # perfbot -> qemu-aarch64 running the server -> the session it forked for an item
        return sum("qemu_server.py" in cmd for cmd in tree.values()) >= 2

    stop_and_check(process, sig, wait_for_tree(process, counting, 300), timeout_s=15)
