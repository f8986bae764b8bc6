"""The emulated board's RPC server for real: it starts or says why not, serves the worker's rpc path, ends with perfbot."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.engine.boards import emulated_server, preflight
from bot.errors import DeviceUnavailable
from tests.emulated_board import board, free_port, needs_tools, server_log


def one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text and text.startswith("qemu-aarch64: ")
    return text


@needs_tools
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_server_that_cannot_start_is_one_line_naming_its_log(qemu_cache, tmp_path, monkeypatch):
    script = tmp_path / "broken_server.py"
    script.write_text("raise SystemExit('no tvm.rpc here')\n")
    monkeypatch.setattr(emulated_server, "SERVER_SCRIPT", script)
    port = free_port()
    with pytest.raises(DeviceUnavailable) as e:
        emulated_server.start_server(qemu_cache, "127.0.0.1", port, "qemu-aarch64", timeout_s=120)
    assert one_line(e).startswith("qemu-aarch64: the RPC server under qemu did not start (exited); see ")
    assert str(e.value).endswith(f"qemu-aarch64-server-{port}.log: no tvm.rpc here")
    server_log(qemu_cache, port).unlink()


@needs_tools
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_seed_layer_runs_on_the_emulated_board_and_matches_tflite(qemu_cache, tmp_path, bot_python):
    """The worker's rpc path for real: compile for aarch64 here, link with the cross compiler, upload to the
    server under qemu found through a tracker on 127.0.0.1, run, and compare with TFLite on the host."""
    from bot.engine.runner import Runner, Subject
    from bot.engine.suite.inception import SEED
    from bot.engine.suite.suites import Suite
    from bot.engine.suite.workloads import qconv
    from bot.store import Store

    port = free_port()
    device = board(port, metric="time")
    suite = Suite("qemu-seed", (qconv(SEED, "uint8"),), number=1, repeat=2, warmup=0)
    store = Store.open(tmp_path / "perf.db")
    with preflight.device_ready(device, qemu_cache):  # starts the tracker and the server under qemu
        outcome = Runner(store, tmp_path / "cache").run(suite, device, Subject(python=bot_python, env="python:test"))
    assert [(r.config.name, r.status) for r in outcome.results] == [("NHWC/default", "ok"), ("NCHW/default", "ok")]
    for result in outcome.results:
        assert result.max_abs_diff <= 1 and len(result.samples_ms) == 2, result.error
    assert store.run(outcome.run_id)["emulated"]
    from bot.engine.boards import tracker

    assert not tracker.reachable("127.0.0.1", port)  # the tracker and server were this test's, and are gone
    server_log(qemu_cache, port).unlink()


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
    except OSError:
        return True


@needs_tools
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_killed_perfbot_leaves_no_server_behind(qemu_cache):
    """The server asks for SIGTERM when its parent dies (PR_SET_PDEATHSIG), so kill -9 of perfbot ends it too."""
    port = free_port()
    code = (
        "import sys, time; from pathlib import Path; from bot.engine.boards import emulated_server, tracker; "
        f"t = tracker.start('127.0.0.1', {port}); "
        f"s = emulated_server.start_server(Path(sys.argv[1]), '127.0.0.1', {port}, 'qemu-aarch64'); "
        "print(s.process.pid, t.process.pid, flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code, str(qemu_cache)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    server_pid, tracker_pid = map(int, parent.stdout.readline().split())
    try:
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 30
        while not gone(server_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert gone(server_pid)
        server_log(qemu_cache, port).unlink()
    finally:
        for pid in (server_pid, tracker_pid):
            try:
                os.killpg(pid, 9)
            except ProcessLookupError:
                pass
