"""Make sure a device can take work before a run is written.

A local device is always ready. An rpc device needs its cross compiler and a
server registered at its tracker. A device whose devices.yml entry says
`bring_up: qemu-aarch64` is brought up here for the length of the run when
nothing serves it yet: a tracker on loopback and the AArch64 RPC server
under qemu (see bot/engine/qemu.py). BRING_UP maps each way of bringing a
device up (bot.devices.BRING_UPS) to the function that does it.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bot.devices import Device
from bot.engine import tracker
from bot.errors import DeviceUnavailable


@contextmanager
def device_ready(device: Device, cache_dir: Path):
    if device.rpc is None:
        yield
        return
    with ExitStack() as stack:
        if device.cross_compiler and shutil.which(device.cross_compiler.split()[0]) is None:
            raise DeviceUnavailable(_missing_compiler(device))
        if device.bring_up:
            BRING_UP[device.bring_up](device, cache_dir, stack)
        info = tracker.summary(device.rpc.host, device.rpc.port)
        if tracker.key_state(info, device.rpc.key) == "offline":
            raise DeviceUnavailable(
                f"device {device.name}: no RPC server is registered under key {device.rpc.key!r} at tracker "
                f"{device.rpc.tracker}; start one on the board with `python -m tvm.exec.rpc_server "
                f"--tracker {device.rpc.tracker} --key {device.rpc.key}`"
            )
        yield


def _missing_compiler(device: Device) -> str:
    hint = (
        "`apt-get install gcc-aarch64-linux-gnu`" if "aarch64-linux-gnu" in device.cross_compiler else "your toolchain"
    )
    return (
        f"device {device.name}: cross compiler {device.cross_compiler!r} not found on PATH; "
        f"install it with {hint} or set cross_compiler in devices.yml"
    )


def _bring_up_qemu(device: Device, cache_dir: Path, stack: ExitStack) -> None:
    from bot.engine import qemu

    qemu.check_ready(cache_dir)
    host, port = device.rpc.host, device.rpc.port
    if not tracker.reachable(host, port):
        local = tracker.start(host, port, log=cache_dir / "tracker.log")
        stack.callback(local.stop)
    info = tracker.summary(host, port)
    if tracker.key_state(info, device.rpc.key) == "offline":
        server = qemu.start_server(cache_dir, host, port, device.rpc.key)
        stack.callback(server.stop)


BRING_UP = {"qemu-aarch64": _bring_up_qemu}
