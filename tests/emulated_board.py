"""The emulated AArch64 board for the tests that run it: its user space, made once per machine.

They use the AArch64 user space in $PERFBOT_QEMU_CACHE, else in perfbot's
default cache (~/.cache/perfbot, or $XDG_CACHE_HOME/perfbot): the same folder
`perfbot device setup qemu-aarch64` fills, so CI builds it once per machine
(about half a minute and 480 MB, plus 140 MB of downloads) and later runs
reuse it. If it is not there the first such test builds it, which needs
root for apt (or arm64 already added to apt). They skip, naming the package,
only when qemu-aarch64 (Debian's qemu-user) or the AArch64 cross compiler is
missing on this host; `.ci/run` installs both and fails on a skip.
"""

import os
import shutil
import socket
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot import devices
from bot.devices import Device, Rpc
from bot.engine.boards import userspace
from bot.settings import default_cache_dir

HOST_TOOLS = shutil.which(userspace.QEMU) and shutil.which(userspace.CROSS_COMPILER)
needs_tools = pytest.mark.skipif(
    not HOST_TOOLS,
    reason="qemu-aarch64 or aarch64-linux-gnu-gcc missing: apt-get install qemu-user gcc-aarch64-linux-gnu",
)


def setup_cache() -> Path:
    """The cache with the AArch64 user space: $PERFBOT_QEMU_CACHE or perfbot's default; set up when missing
    (tests/conftest.py's `qemu_cache` fixture calls it once per session)."""
    cache = Path(os.environ.get("PERFBOT_QEMU_CACHE") or default_cache_dir())
    report = userspace.setup(cache, progress=lambda line: print(f"[qemu setup] {line}", file=sys.stderr))
    print(f"[qemu setup] {report.summary()}", file=sys.stderr)
    return cache


def server_log(cache: Path, port: int) -> Path:
    """Each test's server has its own log in the shared cache; a passing test removes it."""
    return cache / "logs" / f"qemu-aarch64-server-{port}.log"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def board(port: int, metric: str = "instructions") -> Device:
    """The repository's qemu-aarch64 device on a tracker port of its own; `metric="time"` makes it stand in for
    a real board on the RPC path (timed blocks over RPC instead of counts)."""
    device = devices.load(Path(__file__).resolve().parents[1] / "devices.yml").get("qemu-aarch64")
    return replace(device, rpc=Rpc("127.0.0.1", port, device.rpc.key), metric=metric)
