"""Shared fixtures. Plugins below keep each area's fixtures next to its own code."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bot import devices
from bot.engine.boards import tracker
from bot.engine.children import child_device
from bot.engine.suite.graph import SCHEMES, GraphBuilder

pytest_plugins = ["tests.fake_github.fixtures"]


def pytest_collection_modifyitems(items):
    """The files that take minutes first (`slow(minutes=N)` says so), each file's tests in their own order.

    `.ci/run`'s two workers (pytest-xdist, `--dist loadfile --no-loadscope-reorder`) take whole files in this
    order; started last, the C++ PR proof ran alone on one worker for its last minutes while the other idled.
    """
    minutes: dict = {}
    for item in items:
        mark = item.get_closest_marker("slow")
        minutes[item.path] = max(minutes.get(item.path, 0), mark.kwargs.get("minutes", 0) if mark else 0)
    items.sort(key=lambda item: -minutes[item.path])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A small real quantized conv model (a user's file): compiles and runs in about a second."""
    g = GraphBuilder(SCHEMES["int8"], 11, (1, 16, 16, 8))
    y = g.conv(g.input, 16, (3, 3), relu=True)
    path = tmp_path_factory.mktemp("models") / "tiny_conv.tflite"
    path.write_bytes(g.finish(y))
    return path


@pytest.fixture
def tiny_spec(tmp_path, tiny_model) -> dict:
    """The tiny conv model as the runner hands it to a child, with a random input and no reference."""
    inputs = tmp_path / "input.npy"
    np.save(inputs, np.random.default_rng(3).integers(-128, 128, (1, 16, 16, 8), dtype=np.int8))
    return {
        "op": "measure",
        "model": str(tiny_model),
        "inputs": [str(inputs)],
        "layout": "NHWC",
        "pipeline": "default",
        "target": "host",
        "threads": 1,
        "device": child_device(devices.load(None).get("local")),
    }


@pytest.fixture
def bot_python() -> Path:
    """The interpreter with the TVM under test: the dev install's own."""
    return Path(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def rpc_pool(tmp_path):
    """TVM's real RPC tracker and one server registered under a key, on 127.0.0.1."""
    port = free_port()
    local = tracker.start("127.0.0.1", port, log=tmp_path / "tracker.log")
    server_port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tvm.exec.rpc_server",
            "--host",
            "127.0.0.1",
            "--port",
            str(server_port),
            "--port-end",
            str(server_port + 1),
            "--tracker",
            f"127.0.0.1:{port}",
            "--key",
            "x86-board",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while tracker.key_state(tracker.summary("127.0.0.1", port), "x86-board") == "offline":
            assert time.monotonic() < deadline, "RPC server did not register"
            time.sleep(0.5)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the worker processes it started
        server.wait(10)
        local.stop()


@pytest.fixture(scope="session")
def qemu_cache() -> Path:
    """The perfbot cache holding the emulated AArch64 board's user space (tests/emulated_board.py)."""
    from tests.emulated_board import setup_cache

    return setup_cache()
