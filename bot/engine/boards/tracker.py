"""TVM's RPC tracker: ask it what boards it has, or start one on this host.

The bot process does not import TVM, so the tracker's own client runs in a
short-lived child of perfbot's interpreter (which has TVM's `rpc` extra).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot import lifecycle
from bot.engine.boards import probe
from bot.errors import DeviceUnavailable

_SUMMARY = (
    "import json, sys; from tvm import rpc; "
    "print(json.dumps(rpc.connect_tracker(sys.argv[1], int(sys.argv[2])).summary()))"
)


def summary(host: str, port: int, timeout_s: float = 20.0) -> dict:
    """The tracker's queue and server lists, or DeviceUnavailable naming the tracker."""
    if not reachable(host, port):
        raise DeviceUnavailable(
            f"RPC tracker {host}:{port} is not reachable: start it with "
            f"`python -m tvm.exec.rpc_tracker --host {host} --port {port}`"
        )
    return probe.answer(
        [sys.executable, "-c", _SUMMARY, host, str(port)],
        timeout_s=timeout_s,
        asking=f"asking RPC tracker {host}:{port}",
    )


def key_state(info: dict, key: str) -> str:
    """free (a server waits for work), busy (all taken), or offline (none registered)."""
    queue = info.get("queue_info", {}).get(key)
    if queue and queue.get("free", 0) > 0:
        return "free"
    servers = [s for s in info.get("server_info", []) if s.get("key", "").split(":")[-1] == key]
    if servers or (queue and queue.get("pending", 0)):
        return "busy"
    return "offline"


def reachable(host: str, port: int, timeout_s: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


@dataclass
class LocalTracker:
    """A tracker this process started; stop() ends it."""

    host: str
    port: int
    process: subprocess.Popen

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the tracker and the popen_worker it serves from, and return once its port is closed.

        `python -m tvm.exec.rpc_tracker` serves from a popen_worker child in
        its process group; the main process can be gone while that child
        still holds the port, so the whole group is waited for.
        """
        if self.process.poll() is None:
            lifecycle.signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                lifecycle.signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        lifecycle.end_group(self.process.pid, grace_s=2.0, timeout_s=timeout_s)
        deadline = time.monotonic() + timeout_s
        while reachable(self.host, self.port, 0.5) and time.monotonic() < deadline:
            time.sleep(0.05)


def start(host: str = "127.0.0.1", port: int = 9190, log: Path | None = None, timeout_s: float = 30.0) -> LocalTracker:
    """Start `python -m tvm.exec.rpc_tracker` on exactly this port and wait until it listens.

    A port that is taken is a one-line DeviceUnavailable naming the process
    that holds it. The tracker runs with perfbot's guard (bot/lifecycle.py),
    so it ends even when perfbot is killed with SIGKILL.
    """
    if not port_free(host, port):
        raise DeviceUnavailable(f"cannot start an RPC tracker on {host}:{port}: the port is held by {holder(port)}")
    out = open(log, "ab") if log else subprocess.DEVNULL
    args = ["--host", host, "--port", port, "--port-end", port + 1, "--silent"]
    process = subprocess.Popen(
        lifecycle.python_command(sys.executable, "tvm.exec.rpc_tracker", args, module=True),
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    local = LocalTracker(host, port, process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            local.stop()
            raise DeviceUnavailable(f"RPC tracker on {host}:{port} exited at start (code {process.returncode})")
        if reachable(host, port, 0.5):
            return local
        time.sleep(0.2)
    local.stop()
    raise DeviceUnavailable(f"RPC tracker on {host}:{port} did not start within {timeout_s:g} s")


def start_own(host: str, port: int, log: Path | None = None, say=None, timeout_s: float = 30.0) -> LocalTracker:
    """A tracker of this process's own: on `port` when it is free, else on a free port, saying in one line why.

    For a device perfbot brings up itself (bot/engine/preflight.py): another
    perfbot or TVM tracker on the same host must not be shared by accident,
    nor stop a run by going away.
    """
    if port_free(host, port):
        return start(host, port, log, timeout_s)
    other = free_port(host)
    if say is not None:
        say(f"RPC tracker port {host}:{port} is held by {holder(port)}; perfbot's own tracker uses {host}:{other}")
    return start(host, other, log, timeout_s)


def port_free(host: str, port: int) -> bool:
    """Whether a listening socket can be bound to host:port (as the tracker binds it, without SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def holder(port: int) -> str:
    """Who holds a TCP port: "pid 1234 (python -m tvm.exec.rpc_tracker ...)", from /proc (Linux).

    The socket's inode is found in /proc/net/tcp{,6}, then among the open
    files of the processes this user may look into.
    """
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] != "0":
                inodes.add(f"socket:[{fields[9]}]")
    for entry in os.listdir("/proc") if inodes else ():
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") in inodes:
                    return f"pid {entry} ({_command(int(entry))})"
            except OSError:
                continue
    return "another process (not one this user can see)" if inodes else "another process"


def _command(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(w.decode(errors="replace") for w in words if w)
    return text if len(text) <= 120 else text[:117] + "..."
