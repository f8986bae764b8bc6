"""Command set-up (bot/cli/setup.py): what a command refuses, in one line and before any work.

"Before any work" is checked by giving the command an environment that would fail differently (and
slowly) if it were reached: a `source:` checkout that does not exist. The refusal must be the first
thing said, the exit code its class's, and nothing written: no database, no environment in the cache.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.cli.conftest import perfbot, show
from tests.store.test_store import damaged, unwritable

#: Would fail only once perfbot tried to build it: a checkout that is not there.
UNREACHED = ["--env", "source:/nonexistent/tvm@abc123"]


def refused(result, code: int, *words: str) -> None:
    assert result.returncode == code, show(result)
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, show(result)
    assert all(word in result.stderr for word in words), show(result)
    assert "Traceback" not in result.stderr and "nonexistent" not in result.stderr, show(result)


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["--device", "rpi4"], 1, ["device 'rpi4' is disabled (enabled: false)", "devices.yml"]),
        (["--pr", "5"], 2, ["--pr 5 is for a PR run: give --kind pr too"]),
        (["--base-env", "python:/usr/bin/python3"], 2, ["--base-env is a PR's merge base: give --kind pr"]),
        (["--db", "{tmp}/no/such/folder/perf.db"], 1, ["the folder {tmp}/no/such/folder does not exist"]),
        (["--db", "{tmp}/damaged.db"], 1, ["{tmp}/damaged.db: damaged, it fails SQLite's quick check",
                                           "restore it from your backup"]),
    ],
)  # fmt: skip
def test_run_refuses_in_one_line_before_any_work(tmp_path, args, code, words):
    before = damaged(tmp_path / "damaged.db")
    cache = tmp_path / "cache"
    args = [a.format(tmp=tmp_path) for a in args]
    db = [] if "--db" in args else ["--db", tmp_path / "perf.db"]
    result = perfbot("run", *args, *UNREACHED, *db, cache=cache, cwd=tmp_path)
    refused(result, code, *[w.format(tmp=tmp_path) for w in words])
    assert not (tmp_path / "perf.db").exists() and not (cache / "envs").exists()
    assert (tmp_path / "damaged.db").read_bytes() == before


def test_a_folder_perfbot_cannot_write_is_named_before_any_work(tmp_path):
    folder = unwritable(tmp_path)
    result = perfbot("run", *UNREACHED, "--db", folder / "perf.db", cache=tmp_path / "cache", cwd=tmp_path)
    refused(result, 1, f"the folder {folder} is not writable")


@pytest.mark.parametrize(
    "args, words",
    [
        (["--kind", "pr", "--pr", "5"], ["--kind pr measures the PR's own TVM, and no --env is not a build of it"]),
        (["--kind", "pr", "--pr", "5", "--env", "pip:apache-tvm==0.26.0"], ["--env pip:apache-tvm==0.26.0 is not"]),
        (["--kind", "pr", "--pr", "5", "--env", "python:/usr/bin/python3"], ["give --sha HEAD_SHA"]),
    ],
)
def test_a_pr_run_needs_a_build_of_the_pr(tmp_path, args, words):
    """Without one, perfbot would time the TVM it is installed with on both sides and call it the PR's code."""
    result = perfbot("run", *args, "--db", tmp_path / "perf.db", cache=tmp_path / "cache", cwd=tmp_path)
    refused(result, 2, *words)
    assert not (tmp_path / "perf.db").exists()


def test_the_worker_refuses_a_disabled_device_and_a_database_in_a_missing_folder(tmp_path):
    result = perfbot("worker", "--device", "rpi4", "--once", cache=tmp_path / "cache", cwd=tmp_path)
    refused(result, 1, "device 'rpi4' is disabled")
    result = perfbot("worker", "--once", "--db", tmp_path / "none" / "perf.db", cache=tmp_path, cwd=tmp_path)
    refused(result, 1, f"the folder {tmp_path / 'none'} does not exist")


def test_devices_yml_given_on_the_command_line_comes_first(tmp_path):
    mine = tmp_path / "lab.yml"
    mine.write_text("devices:\n  bench: {arch: host, target: host, connection: local}\n")
    env = {"PERFBOT_DEVICES": str(tmp_path / "elsewhere.yml"), "PERFBOT_DB": str(tmp_path / "perf.db")}
    result = CliRunner().invoke(main, ["devices", "--json", "--devices", str(mine)], env=env)
    assert result.exit_code == 0, result.output
    assert '"name": "bench"' in result.output and "qemu-aarch64" not in result.output


def test_outside_the_checkout_the_built_in_registry_has_the_emulated_board(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./devices.yml here
    monkeypatch.delenv("PERFBOT_DEVICES", raising=False)
    result = CliRunner().invoke(main, ["devices", "--json", "--db", str(tmp_path / "perf.db")])
    assert result.exit_code == 0, result.output
    assert '"name": "qemu-aarch64"' in result.output and '"name": "local"' in result.output
    assert not (tmp_path / "perf.db").exists()  # `devices` reads a database, never makes one
