"""The emulated board's RPC server: TVM's server under qemu-aarch64, started for a run and ended with perfbot.

`start_server` runs bot/child/qemu_server.py with the user space's Python
under `qemu-aarch64 -cpu cortex-a72` with the counting plugin loaded
(bot/engine/boards/plugin.py), registered at a tracker like a real board.
The plugin writes its counts into a folder of this server's own, made at
start and removed at close, where the server reads them back (the guest
side of counting is in bot/child/qemu_server.py). The server is told which
emulator runs it, so that every item measured there can record which
runtime served it under which emulator (`perfbot.board_info`).

A board perfbot brings up for a run is an `EmulatedBoard`: its server with
the user space's own TVM (the release's aarch64 wheel) under the device's
key, and, on request, one more server per runtime a TVM build under test
brings (a commit's own AArch64 runtime, bot/engine/arm_runtime.py: its
libraries and its python/ tree, TVM's runtime-only mode), under the key
`KEY@RUNTIME`, so that modules compiled by a PR's TVM run on that PR's own
runtime and its base's on the base's. Each server says in `board_info`
which runtime it serves, and the run records it.

The server and the sessions it forks are one process group, ended by
`close()`; the server also asks Linux for SIGTERM when the perfbot process
that started it dies (PR_SET_PDEATHSIG, which qemu passes through), so a
perfbot killed with SIGKILL leaves no server registered at the tracker.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bot import lifecycle
from bot.child import QEMU_SERVER_SCRIPT
from bot.console import Say
from bot.engine.boards import plugin, tracker, userspace
from bot.errors import DeviceUnavailable

NAME = userspace.NAME
SERVER_SCRIPT = QEMU_SERVER_SCRIPT


@dataclass
class QemuServer:
    """An RPC server this process started under qemu; close() (or stop()) ends it and its sessions."""

    host: str
    port: int
    key: str
    process: subprocess.Popen
    log: Path
    counts_dir: Path

    def close(self) -> None:
        """End the server and the session children it forked (its process group), and wait until all are gone."""
        if self.process.poll() is None:
            lifecycle.signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                lifecycle.signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        lifecycle.end_group(self.process.pid, grace_s=2.0, timeout_s=10)
        shutil.rmtree(self.counts_dir, ignore_errors=True)

    stop = close

    def __enter__(self) -> QemuServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_server(
    cache_dir: Path, host: str, port: int, key: str, threads: int = 1, timeout_s: float = 300.0, runtime=None
) -> QemuServer:
    """Start the AArch64 RPC server under qemu, registered at the tracker host:port under key.

    `runtime` (an arm_runtime.Runtime: `variables()` and `name`) serves with a
    build's own AArch64 runtime instead of the user space's. Returns once the
    tracker lists the key (importing TVM and TFLite under emulation takes
    10-30 s); DeviceUnavailable with the end of the server's log otherwise.
    """
    userspace.check_ready(cache_dir)
    root = userspace.folder(cache_dir)
    counter = plugin.ensure(cache_dir)
    logs = Path(cache_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{NAME}-server-{port}{'-' + runtime.key[:12] if runtime else ''}.log"  # rewritten at each start
    ready = logs / f"{NAME}-server.{os.getpid()}.ready"
    ready.unlink(missing_ok=True)
    (Path(cache_dir) / "counts").mkdir(parents=True, exist_ok=True)
    counts_dir = Path(tempfile.mkdtemp(prefix=f"{port}-", dir=Path(cache_dir) / "counts"))
    args = [
        str(SERVER_SCRIPT),
        "--tracker",
        f"{host}:{port}",
        "--key",
        key,
        "--host",
        host,
        "--ready-file",
        str(ready),
        "--parent-pid",
        str(os.getpid()),
        "--count-dir",
        str(counts_dir),
        "--emulator",
        f"{qemu_version()} -cpu {userspace.CPU}, counting plugin {counter.name}",
    ]
    env = userspace.emulated_env(root, threads)
    if runtime is not None:  # the build's python/ before the user space's site; TVM in its runtime-only mode
        own = runtime.variables()
        env.update(own, PYTHONPATH=os.pathsep.join([own["PYTHONPATH"], env["PYTHONPATH"]]))
        args += ["--runtime", runtime.name]
    try:
        with open(log, "wb") as out:
            process = subprocess.Popen(
                userspace.emulated_command(root, args, plugin.argument(counter, counts_dir)),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
    except BaseException:
        shutil.rmtree(counts_dir, ignore_errors=True)
        raise
    server = QemuServer(host, port, key, process, log, counts_dir)
    deadline = time.monotonic() + timeout_s
    try:
        while not ready.is_file():
            _alive_or_fail(server, deadline, "start")
            time.sleep(0.2)
        info = json.loads(ready.read_text())
        ready.unlink(missing_ok=True)
        server.port = int(info["port"])
        while True:
            _alive_or_fail(server, deadline, "register at the tracker")
            if tracker.key_state(tracker.summary(host, port), key) != "offline":
                return server
            time.sleep(0.5)
    except BaseException:
        server.close()
        raise


@dataclass
class EmulatedBoard:
    """The emulated board of one run: its own server, and one more per runtime a build under test brings.

    `key_for(runtime)` is the tracker key that serves modules with that runtime (None: the user space's own
    TVM), starting its server the first time; every server ends with the run's `stack`.
    """

    cache_dir: Path
    host: str
    port: int
    key: str
    threads: int
    stack: ExitStack
    servers: dict = field(default_factory=dict)

    def start(self) -> None:
        self._serve(None, self.key)

    def key_for(self, runtime) -> str:
        if runtime is None:
            return self.key
        key = f"{self.key}@{runtime.key[:12]}"
        if key not in self.servers:
            self._serve(runtime, key)
        return key

    def _serve(self, runtime, key: str) -> None:
        server = start_server(self.cache_dir, self.host, self.port, key, self.threads, runtime=runtime)
        self.stack.callback(server.stop)
        self.servers[key] = server


def qemu_version() -> str:
    """`qemu-aarch64 7.2.22`: the emulator, as a run records it."""
    try:
        out = subprocess.run([userspace.QEMU, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return userspace.QEMU
    found = re.search(r"version (\S+)", out)
    return f"{userspace.QEMU} {found.group(1)}" if found else userspace.QEMU


def _alive_or_fail(server: QemuServer, deadline: float, doing: str) -> None:
    if server.process.poll() is not None or time.monotonic() > deadline:
        ended = "exited" if server.process.poll() is not None else "timed out"
        tail = (
            [line for line in server.log.read_text(errors="replace").splitlines() if line.strip()][-1:]
            if server.log.is_file()
            else []
        )
        raise DeviceUnavailable(
            f"{NAME}: the RPC server under qemu did not {doing} ({ended}); "
            f"see {server.log}" + (f": {tail[0].strip()[:300]}" if tail else "")
        )


def serve(
    cache_dir: Path, tracker_host: str, tracker_port: int, key: str, threads: int = 1, progress: Say | None = None
) -> None:
    """Run the emulated device's RPC server until interrupted (a local tracker too, if none answers on loopback)."""
    say = progress or (lambda line: None)
    userspace.check_ready(cache_dir)
    local = None
    if not tracker.reachable(tracker_host, tracker_port):
        if tracker_host not in ("127.0.0.1", "localhost"):
            tracker.summary(tracker_host, tracker_port)  # raises with the command that starts one
        say(f"starting an RPC tracker on {tracker_host}:{tracker_port}")
        local = tracker.start(tracker_host, tracker_port, log=Path(cache_dir) / "tracker.log")
    try:
        with start_server(cache_dir, tracker_host, tracker_port, key, threads) as server:
            say(
                f"{NAME} serving under key {key!r} at tracker {tracker_host}:{tracker_port} "
                f"(server port {server.port}, log {server.log}); Ctrl-C stops it"
            )
            code = server.process.wait()
            raise DeviceUnavailable(f"{NAME}: the RPC server under qemu exited with code {code}; see {server.log}")
    finally:
        if local:
            local.stop()
