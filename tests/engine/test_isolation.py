"""Children that really fail: a segfault, a hang, an exit without a word, a missing interpreter."""

import sys
import textwrap

import pytest

from bot.child import MEASURE_SCRIPT
from bot.engine import isolation

SCRIPT = textwrap.dedent("""
    import ctypes, json, sys, time
    spec = json.load(open(sys.argv[1]))
    result = sys.argv[2]
    def say(**fields):
        json.dump(fields, open(result, "w"))
    say(phase=spec["phase"])
    print("working on it", flush=True)
    behaviour = spec["behaviour"]
    if behaviour == "segfault":
        ctypes.string_at(0)
    elif behaviour == "hang":
        time.sleep(60)
    elif behaviour == "vanish":
        sys.exit(3)
    else:
        say(phase="done", status=behaviour, error="reported by the child")
""")


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "child.py"
    path.write_text(SCRIPT)
    return path


@pytest.mark.parametrize(
    "behaviour, status, error",
    [
        ("ok", "ok", "reported by the child"),
        ("compile_error", "compile_error", "reported by the child"),
        ("segfault", "crash", "killed by SIGSEGV (phase: compile)"),
        ("hang", "timeout", "no result after 1.5 s (phase: compile); killed"),
        ("vanish", "crash", "exited with code 3 without a result (phase: compile)"),
    ],
)
def test_run_script_classifies_how_a_child_ended(script, tmp_path, behaviour, status, error):
    outcome = isolation.run_script(
        sys.executable, script, {"behaviour": behaviour, "phase": "compile"}, tmp_path / "work", timeout_s=1.5
    )
    assert outcome.status == status
    assert outcome.error == error
    if behaviour in ("segfault", "hang"):
        assert "working on it" in outcome.log_tail
    if behaviour == "segfault":
        assert "Fatal Python error: Segmentation fault" in outcome.log_tail  # faulthandler's trace is kept
    assert outcome.wall_s < 10


def test_missing_interpreter_is_an_environment_error(script, tmp_path):
    outcome = isolation.run_script(tmp_path / "no-python", script, {}, tmp_path / "work", timeout_s=5)
    assert outcome.status == "environment_error"
    assert "cannot start" in outcome.error


def test_child_does_not_inherit_pythonpath(script, tmp_path, monkeypatch):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, os, sys\njson.dump({'status': 'ok', 'error': os.environ.get('PYTHONPATH', '')},"
        " open(sys.argv[2], 'w'))\n"
    )
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    outcome = isolation.run_script(sys.executable, probe, {}, tmp_path / "work", timeout_s=10)
    assert outcome.status == "ok" and outcome.error == ""


def test_fork_server_that_cannot_import_tvm_fails_every_item_cleanly(tmp_path):
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho 'ImportError: undefined symbol: TVMFFIFoo' >&2\nexit 1\n")
    fake_python.chmod(0o755)
    worker = MEASURE_SCRIPT
    with isolation.ForkServer(fake_python, worker, tmp_path / "server", start_timeout_s=20) as server:
        first = server.run({"op": "measure"}, tmp_path / "i0", timeout_s=5)
        second = server.run({"op": "measure"}, tmp_path / "i1", timeout_s=5)
    assert first.status == second.status == "environment_error"
    assert "did not start (exit code 1)" in first.error
    assert "undefined symbol" in first.log_tail
