"""The process tree as /proc shows it, for tests that stop perfbot and look for what it left behind.

A process counts as gone when /proc no longer has it or it is a zombie
(it has exited; only its parent's bookkeeping is left, and it holds no CPU,
memory, file or socket).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgid) of a process, or None when it is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[2])


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    info = stat(pid)
    return info is not None and info[0] not in ("Z", "X")


def group(pgid: int) -> list[int]:
    """The living processes of a process group."""
    found = []
    for entry in os.listdir("/proc"):
        info = stat(int(entry)) if entry.isdigit() else None
        if info is not None and info[2] == pgid and info[0] not in ("Z", "X"):
            found.append(int(entry))
    return found


def descendants(pid: int) -> dict[int, str]:
    """{pid: command line} of every living process below `pid`."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = stat(int(entry))
            if info is not None and info[0] not in ("Z", "X"):
                children.setdefault(info[1], []).append(int(entry))
    found, todo = {}, list(children.get(pid, []))
    while todo:
        child = todo.pop()
        if child not in found:
            found[child] = cmdline(child)
            todo.extend(children.get(child, []))
    return found


def wait_for_tree(process: subprocess.Popen, wanted, timeout_s: float = 240.0) -> dict[int, str]:
    """Poll the tree under `process` until `wanted(tree)` is true; the tree then. Fails if perfbot exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tree = descendants(process.pid)
        if wanted(tree):
            return tree
        if process.poll() is not None:
            raise AssertionError(f"perfbot exited with {process.returncode} first: {tree}")
        time.sleep(0.05)
    raise AssertionError(f"not seen within {timeout_s:g} s; the tree: {descendants(process.pid)}")


def depth(tree: dict[int, str], pid: int, root: int) -> int:
    """How many parents up `pid` is from `root` (1: a child)."""
    level = 0
    while pid != root and pid > 1:
        info = stat(pid)
        if info is None:
            return -1
        pid, level = info[1], level + 1
    return level


def left_behind(pids, timeout_s: float = 10.0) -> dict[int, str]:
    """Those of `pids` still alive after `timeout_s` (polled): {pid: command line}."""
    deadline = time.monotonic() + timeout_s
    while True:
        living = {pid: cmdline(pid) for pid in pids if alive(pid)}
        if not living or time.monotonic() > deadline:
            return living
        time.sleep(0.05)


def kill_all(pids) -> None:
    """Clean up after a failing test: nothing it started keeps running."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def default_sigint() -> None:
    """For preexec_fn: SIGINT as a terminal gives it. A job started with `&` by a non-interactive shell (a CI
    script, a background test run) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def perfbot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """`python -m bot ARGS` of this checkout as a real process, its own process group (as a shell job is)."""
    environ = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )


def stop_and_check(process: subprocess.Popen, sig: int, tree: dict[int, str], timeout_s: float = 10.0) -> None:
    """Send `sig` to perfbot only, then assert that it and everything it had started are gone in time."""
    seen = dict(tree)
    process.send_signal(sig)
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        seen.update(descendants(process.pid))  # children started while it stops count too
        time.sleep(0.05)
    try:
        process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    leftover = left_behind(seen, max(0.5, deadline - time.monotonic()))
    ended = process.poll() is not None
    kill_all(list(leftover) + [process.pid])  # before reading: a leftover may hold perfbot's output open
    process.wait()
    output = process.stdout.read()
    assert ended, f"perfbot still runs {timeout_s:g} s after {signal.Signals(sig).name}"
    assert not leftover, f"left behind after {signal.Signals(sig).name}: {leftover}\n{output[-3000:]}"
