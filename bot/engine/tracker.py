"""TVM's RPC tracker: ask it what boards it has, or start one on this host.

The bot process does not import TVM, so the tracker's own client runs in a
short-lived child of perfbot's interpreter (which has TVM's `rpc` extra).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

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
    try:
        out = subprocess.run(
            [sys.executable, "-c", _SUMMARY, host, str(port)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DeviceUnavailable(f"RPC tracker {host}:{port} did not answer within {timeout_s:g} s") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeviceUnavailable(f"RPC tracker {host}:{port} did not answer: {last}")
    return json.loads(out.stdout.strip().splitlines()[-1])


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

    def stop(self) -> None:
        if self.process.poll() is None:
            try:  # the tracker and any worker it started share its session
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(host: str = "127.0.0.1", port: int = 9190, log: Path | None = None, timeout_s: float = 30.0) -> LocalTracker:
    """Start `python -m tvm.exec.rpc_tracker` on exactly this port and wait until it listens."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tvm.exec.rpc_tracker",
            "--host",
            host,
            "--port",
            str(port),
            "--port-end",
            str(port + 1),
            "--silent",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DeviceUnavailable(f"RPC tracker on {host}:{port} exited at start (code {process.returncode})")
        if reachable(host, port, 0.5):
            return LocalTracker(host, port, process)
        time.sleep(0.2)
    process.kill()
    raise DeviceUnavailable(f"RPC tracker on {host}:{port} did not start within {timeout_s:g} s")
