"""TVM's real RPC tracker (`python -m tvm.exec.rpc_tracker` on 127.0.0.1), started and stopped by perfbot.

A tracker serves from a popen_worker in its process group: stopping it means
waiting for the whole group, or the port still answers right after stop()
(tests/engine/test_qemu.py's seed layer test failed 2 of 5 runs on that). A
port that another process holds is named with that process, and a tracker
perfbot starts for a device it brings up moves to a free port instead.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.devices import Device, Rpc
from bot.engine.boards import preflight, tracker
from bot.errors import DeviceUnavailable
from tests.processes import group, stat

pytestmark = pytest.mark.timeout(120)
HOST = "127.0.0.1"


@pytest.fixture
def held_port():
    """A port this test process listens on (not a tracker): what another server on the host looks like."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen()
        yield s.getsockname()[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def refused(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_stop_returns_once_the_whole_group_is_gone_and_the_port_refuses(tmp_path):
    """The popen_worker that serves is stopped (SIGSTOP): as on a busy machine that has not run it yet, it is
    still there, port open, when the tracker's main process has ended. stop() must wait for it all the same."""
    local = tracker.start(HOST, free_port(), log=tmp_path / "tracker.log")
    leader = local.process.pid
    workers = [pid for pid in group(leader) if pid != leader]
    assert workers  # the popen_worker that serves the port
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while any(stat(pid)[0] != "T" for pid in workers):  # a pending SIGTERM would be taken before the SIGSTOP
        assert time.monotonic() < deadline
        time.sleep(0.01)
    local.stop()
    assert group(leader) == []
    assert refused(local.port)  # at once: no polling here


def test_a_held_port_is_one_line_naming_the_process_that_holds_it(held_port):
    with pytest.raises(DeviceUnavailable) as e:
        tracker.start(HOST, held_port, timeout_s=20)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"cannot start an RPC tracker on {HOST}:{held_port}: the port is held by ")
    ours = Path("/proc/self/cmdline").read_bytes().split(b"\0")[0].decode()  # pytest's, or a pytest-xdist worker's
    assert f"pid {os.getpid()} (" in message and Path(ours).name in message


def test_a_device_brought_up_here_gets_its_own_tracker_on_a_free_port(held_port, tmp_path):
    """The configured port is taken: the run's tracker listens elsewhere, the device is reached there, one line
    says why, and the tracker is gone with the run."""
    device = Device(
        name="board",
        description="",
        arch="aarch64",
        target={"kind": "llvm"},
        rpc=Rpc(HOST, held_port, "board"),
        tflite_baseline=False,
        bring_up="qemu-aarch64",
    )
    said = []
    with ExitStack() as stack:
        reached = preflight.own_tracker(device, tmp_path, stack, said.append)
        assert reached.rpc.port != held_port and (reached.rpc.host, reached.rpc.key) == (HOST, "board")
        assert tracker.reachable(HOST, reached.rpc.port)
        line = said[0] if len(said) == 1 else said
        assert line.startswith(f"RPC tracker port {HOST}:{held_port} is held by pid {os.getpid()} (")
        assert line.endswith(f"; perfbot's own tracker uses {HOST}:{reached.rpc.port}")
        assert not preflight.already_served(device)  # what holds the configured port is no tracker
    assert refused(reached.rpc.port)


def test_a_free_configured_port_is_used_as_it_is(tmp_path):
    port = free_port()
    device = Device(name="board", description="", arch="aarch64", target={"kind": "llvm"}, rpc=Rpc(HOST, port, "b"))
    said = []
    with ExitStack() as stack:
        assert preflight.own_tracker(device, tmp_path, stack, said.append) == device
        assert tracker.reachable(HOST, port) and said == []
    assert refused(port)
