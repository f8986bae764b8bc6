"""The emulated AArch64 device: what it needs on this host, and whether it is there.

The device runs TVM's RPC server for AArch64 under `qemu-aarch64-static`,
from a user space prepared in the cache by `perfbot device setup
qemu-aarch64`. Preparing that user space is not part of this version yet
(see the project's issue 6); what is here tells a user, in one line, what is
missing and how to get it, before anything is recorded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.errors import DeviceUnavailable, UnknownName

TOOLS = (
    ("qemu-aarch64-static", "apt-get install qemu-user-static"),
    ("aarch64-linux-gnu-gcc", "apt-get install gcc-aarch64-linux-gnu"),
)


def sysroot(cache_dir: Path) -> Path:
    return Path(cache_dir) / "qemu-aarch64"


def check_ready(cache_dir: Path) -> None:
    """DeviceUnavailable naming the first missing piece and the command that provides it."""
    for tool, install in TOOLS:
        if shutil.which(tool) is None:
            raise DeviceUnavailable(f"qemu-aarch64: {tool} not found on PATH; install it with `{install}`")
    marker = sysroot(cache_dir) / "perfbot-setup.json"
    if not marker.is_file():
        raise DeviceUnavailable(f"qemu-aarch64: no AArch64 user space in {sysroot(cache_dir)}; "
                                f"prepare it with `perfbot device setup qemu-aarch64`")


def setup_command(settings, name: str) -> None:
    if name != "qemu-aarch64":
        raise UnknownName(f"device {name!r} needs no setup by perfbot (only qemu-aarch64 does)")
    raise DeviceUnavailable("perfbot device setup qemu-aarch64 is not available in this version yet; "
                            "use a real AArch64 board through the RPC tracker meanwhile")


def serve_command(settings, name: str) -> None:
    setup_command(settings, name)
