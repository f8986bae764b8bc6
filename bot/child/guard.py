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

Standard library only: this runs in the interpreter under test.
"""

import os
import select
import signal
import threading
import time


def watch_parent(parent: int) -> threading.Thread:
    thread = threading.Thread(target=_wait_then_end, args=(parent,), daemon=True, name="perfbot-guard")
    thread.start()
    return thread


def _wait_then_end(parent: int) -> None:
    try:
        fd = os.pidfd_open(parent)
    except (AttributeError, OSError):  # no pidfd (not Linux >= 5.3), or the parent is gone already
        fd = None
    if fd is not None and os.getppid() == parent:
        select.select([fd], [], [])
    while fd is None and os.getppid() == parent:
        time.sleep(0.25)
    if os.getpgrp() == os.getpid():  # never the group of a shell pipeline this child did not start
        os.killpg(0, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
