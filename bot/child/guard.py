"""Ends a child of perfbot, with its whole process group, as soon as its parent ends: run first in every child.

bot.lifecycle.python_command starts every Python child of perfbot as

    python -c BOOTSTRAP guard.py PARENT_PID SCRIPT ARGS...

which calls `watch_parent(PARENT_PID)` before it runs the script, and the
fork server in measure.py calls it in each child it forks (a forked child has
none of its parent's threads). It is what ends the children when perfbot is
killed with SIGKILL and can clean up nothing itself: a daemon thread waits
for the parent to end (a pidfd; polling getppid where there is none) and
then kills the process group this child leads, itself and whatever it
started (TVM's popen_workers) included. tvm-ffi releases the GIL while TVM's
C++ code runs, so the thread gets to run while a model compiles.

A guarded program (`whole_tree=True`: cmake, pip, git under
lifecycle.guarded_command) may start processes outside the group: ninja puts
every rule it runs, the compilers included, in a process group of its own.
There the guard is a child subreaper as well (orphans come back to it rather
than to init) and ends every process below it, not only its group: before,
a compiler outlived a kill -9 of perfbot by as long as its file took.

Standard library only: this runs in the interpreter under test.

Tested with real processes, SIGKILL included: tests/test_lifecycle.py, tests/engine/test_steps.py.
"""

import ctypes
import os
import select
import signal
import sys
import threading
import time

#: PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
_PR_SET_CHILD_SUBREAPER = 36


def watch_parent(parent: int, whole_tree: bool = False) -> threading.Thread:
    if whole_tree and sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    thread = threading.Thread(target=_wait_then_end, args=(parent, whole_tree), daemon=True, name="perfbot-guard")
    thread.start()
    return thread


def _wait_then_end(parent: int, whole_tree: bool) -> None:
    try:
        fd = os.pidfd_open(parent)
    except (AttributeError, OSError):  # no pidfd (not Linux >= 5.3), or the parent is gone already
        fd = None
    if fd is not None and os.getppid() == parent:
        select.select([fd], [], [])
    while fd is None and os.getppid() == parent:
        time.sleep(0.25)
    if whole_tree:
        _end_tree()
    if os.getpgrp() == os.getpid():  # never the group of a shell pipeline this child did not start
        os.killpg(0, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _end_tree(timeout_s: float = 10.0) -> None:
    """SIGKILL every living process below this one until none is left; orphans of the killed come back here."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        living = [pid for pid, state in _below(os.getpid()).items() if state not in ("Z", "X")]
        for pid in living:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        while True:  # collect the exited, so that /proc shows only the living next time
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not living:
            return
        time.sleep(0.02)


def _below(root: int) -> dict[int, str]:
    """{pid: state} of every process below `root`, from /proc."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append((int(entry), fields[0]))
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid, state = todo.pop()
        if pid not in found:
            found[pid] = state
            todo.extend(children.get(pid, []))
    return found
