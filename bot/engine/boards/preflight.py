"""Make sure a device can take work before a run is written.

A local device is always ready. An rpc device needs its cross compiler and a
server registered at its tracker. A device whose devices.yml entry says
`bring_up: qemu-aarch64` is brought up here for the length of the run when
nothing serves it yet: a tracker on loopback and the AArch64 RPC server
under qemu (bot/engine/boards/emulated_server.py), on the device's tracker
port when it is free and on a free port otherwise (`own_tracker`). BRING_UP
maps each way of bringing a device up (bot.devices.BRING_UPS, named in
bot/vocabulary.py) to the function that does it. Tested in
tests/engine/boards/test_preflight.py, test_tracker.py (own_tracker) and
test_emulated_server.py (the emulated board for a run).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from bot.devices import Device, Rpc
from bot.engine.boards import tracker
from bot.errors import DeviceUnavailable
from bot.vocabulary import QEMU_AARCH64


@contextmanager
def device_ready(device: Device, cache_dir: Path, say: Callable[[str], None] | None = None):
    """Yield the device as the run reaches it (for a device brought up here, at the tracker perfbot started)."""
    if device.rpc is None:
        yield device
        return
    with ExitStack() as stack:
        if device.cross_compiler and shutil.which(device.cross_compiler.split()[0]) is None:
            raise DeviceUnavailable(_missing_compiler(device))
        if device.bring_up:
            device = BRING_UP[device.bring_up](device, cache_dir, stack, say or (lambda line: None))
        info = tracker.summary(device.rpc.host, device.rpc.port)
        if tracker.key_state(info, device.rpc.key) == "offline":
            raise DeviceUnavailable(
                f"device {device.name}: no RPC server is registered under key {device.rpc.key!r} at tracker "
                f"{device.rpc.tracker}; start one on the board with `python -m tvm.exec.rpc_server "
                f"--tracker {device.rpc.tracker} --key {device.rpc.key}`"
            )
        yield device


def _missing_compiler(device: Device) -> str:
    hint = (
        "`apt-get install gcc-aarch64-linux-gnu`" if "aarch64-linux-gnu" in device.cross_compiler else "your toolchain"
    )
    return (
        f"device {device.name}: cross compiler {device.cross_compiler!r} not found on PATH; "
        f"install it with {hint} or set cross_compiler in devices.yml"
    )


def _bring_up_qemu(device: Device, cache_dir: Path, stack: ExitStack, say) -> Device:
    from bot.engine.boards import emulated_server, userspace

    userspace.check_ready(cache_dir)
    if already_served(device):
        return device
    device = own_tracker(device, cache_dir, stack, say)
    board = emulated_server.EmulatedBoard(cache_dir, device.rpc.host, device.rpc.port, device.rpc.key,
                                          device.threads, stack)  # fmt: skip
    board.start()
    return replace(device, serving=board)


def already_served(device: Device) -> bool:
    """Whether a tracker answers at the device's address with a server registered under its key."""
    if not tracker.reachable(device.rpc.host, device.rpc.port):
        return False
    try:
        info = tracker.summary(device.rpc.host, device.rpc.port)
    except DeviceUnavailable:  # something listens there, but not a tracker
        return False
    return tracker.key_state(info, device.rpc.key) != "offline"


def own_tracker(device: Device, cache_dir: Path, stack: ExitStack, say) -> Device:
    """Start a tracker for the length of the run; the device as reached through it.

    On the device's own port when that is free; when another process holds
    it (another perfbot's tracker, a TVM tracker someone runs, any server),
    on a free port, with one line naming the holder: a tracker that is not
    this run's own could go away in the middle of it.
    """
    rpc = device.rpc
    local = tracker.start_own(rpc.host, rpc.port, log=Path(cache_dir) / "tracker.log", say=say)
    stack.callback(local.stop)
    if local.port == rpc.port:
        return device
    return replace(device, rpc=Rpc(rpc.host, local.port, rpc.key))


BRING_UP = {QEMU_AARCH64: _bring_up_qemu}
