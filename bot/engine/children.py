"""What a TVM child is given: where it runs the model, its environment, and the fork servers it is forked from.

Every child that compiles, times, counts or tunes an item runs in the TVM
environment under test (bot/child/measure.py). The parent tells it where the
compiled model runs (here, or an RPC device behind its tracker, on a board
perfbot brought up under the key that serves the build's own AArch64
runtime), with which threads and variables, and starts the fork servers its
children are forked from, each checked against the device's target before a
run is written. bot/engine/runner.py (runs) and bot/engine/tuning.py (tuning)
both start their children this way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.child import MEASURE_SCRIPT
from bot.devices import Device
from bot.engine import arm_runtime, isolation
from bot.engine.boards.host import host_cpus
from bot.errors import BadSetting

if TYPE_CHECKING:
    from bot.engine.runner import Subject


def child_device(device: Device, subject: Subject | None = None) -> dict:
    """Where the child script runs the compiled model: here, or the RPC device behind its tracker; on a board
    perfbot brought up, under the key that serves the subject's own AArch64 runtime where it brings one.
    A `host` target also takes which CPUs this machine runs (boards/host.py), on an RPC server here too."""
    cpus = {"host_cpus": host_cpus()} if device.target == "host" else {}
    if device.rpc is None:
        return {"kind": "local", **cpus}
    key = device.rpc.key
    if device.serving is not None and subject is not None:
        key = device.serving.key_for(arm_runtime.of_build(subject.build, subject.variables))
    return {
        "kind": "rpc",
        "host": device.rpc.host,
        "port": device.rpc.port,
        "key": key,
        "cross_compiler": device.cross_compiler,
        "session_timeout": int(device.timeout_s),
        **cpus,
    }


def own_runtime(device: Device, subject: Subject, board: dict) -> bool | None:
    """Whether the modules ran on the runtime of the TVM that compiled them: the build's own AArch64 runtime
    served for it, or a board whose runtime is the compiling release's; None where the device did not say."""
    if not board.get("runtime"):
        return None
    if device.serving is not None and arm_runtime.of_build(subject.build, subject.variables) is not None:
        return True
    return board["runtime"] == f"apache-tvm {board.get('compiled_by')}"


def child_env(device: Device, subject: Subject | None = None) -> dict[str, str]:
    """The TVM children's environment: the device's thread count, and the build's own variables."""
    threads = {"TVM_NUM_THREADS": str(device.threads), "OMP_NUM_THREADS": str(device.threads)}
    return {**threads, **(subject.variables if subject else {})}


def fork_servers(device: Device, subject: Subject, base: Subject | None, folder: Path) -> list[isolation.ForkServer]:
    """The build's fork server, and the base's for a PR run, not started yet (one pair of a job's: see
    bot/engine/server_pairs.py for why a job has several)."""
    sides = [(subject, "server")] + ([(base, "base-server")] if base is not None else [])
    return [
        isolation.ForkServer(side.python, MEASURE_SCRIPT, folder / name, child_env(device, side),
                             spec={"device": child_device(device, side)})
        for side, name in sides
    ]  # fmt: skip


def start_servers(servers: list[isolation.ForkServer], device: Device) -> None:
    """Both import TVM at once; then each checks that its TVM can use the device's target."""
    for server in servers:
        server.launch()
    for server in servers:
        check_target(server, device)


def started_servers(
    device: Device, subject: Subject, base: Subject | None, folder: Path, index: int = 0
) -> list[isolation.ForkServer]:
    """Pair `index` of a job's fork servers (bot/engine/server_pairs.py), started and checked; killed if that
    fails. The first pair lives in `folder` itself, the others in `servers<n>` beside the items."""
    servers = fork_servers(device, subject, base, folder / f"servers{index + 1}" if index else folder)
    try:
        start_servers(servers, device)
    except BaseException:
        for server in servers:
            server.kill()
        raise
    return servers


def check_target(server: isolation.ForkServer, device: Device) -> None:
    """BadSetting naming devices.yml, the device and its target when the TVM under test cannot use the target.

    devices.yml is read without TVM (perfbot's own process never imports
    it, and which target kinds and options exist depends on the TVM build
    under test), so the target is checked here, by the fork server that has
    imported that TVM anyway, before the run is written: one line instead of
    a compile_error for every item.
    """
    error = server.check_target(device.target, device.threads)
    if error:
        raise BadSetting(
            f"{device.source}: device {device.name!r}: target: {device.target_json} "
            f"is not a target the TVM under test can use: {error}"
        )
