"""How perfbot stops, and how everything it started stops with it.

Every child perfbot starts leads a process group of its own
(`start_new_session`), and what that child starts (TVM's popen_workers, a
compiler) stays in the group unless it calls setsid itself. The ways out:

- A normal end or an exception: the code that started a child ends its
  group (`end_group`, bot/engine/isolation.py, tracker.py, qemu.py, envs.py).
- SIGINT raises KeyboardInterrupt and SIGTERM raises `Terminated` (a
  KeyboardInterrupt), so both take that same path; `supervised()` then ends
  whatever is still below perfbot (`end_descendants`) before it exits.
- kill -9 of perfbot: nothing in perfbot runs any more, so each child
  watches its parent itself and ends its own process group when the parent
  is gone (bot/child/guard.py, started by `python_command`, and by the fork
  server of bot/child/measure.py in each child it forks: those call setsid,
  so a kill of the server's group misses them; the qemu server asks for
  PR_SET_PDEATHSIG).

perfbot is a child subreaper (PR_SET_CHILD_SUBREAPER, Linux): a grandchild
whose parent died is re-parented to perfbot instead of PID 1, so that
`end_descendants` still finds it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

#: PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
_PR_SET_CHILD_SUBREAPER = 36


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job, `systemctl stop`): stops perfbot the way Ctrl-C does, exit 128 + 15."""

    signal = signal.SIGTERM


def stop_on_signals(immediate: tuple[int, ...] = ()) -> threading.Event:
    """An event set by Ctrl-C (SIGINT) or SIGTERM, for commands that stop at a point of their choosing.

    A second signal, or one of `immediate`, does not wait: it raises
    KeyboardInterrupt (SIGINT) or `Terminated` (SIGTERM) in the main thread,
    so that a stop that hangs can always be forced.
    """
    stop = threading.Event()

    def handler(number, _frame):
        if stop.is_set() or number in immediate:
            _raise(number)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    return stop


def _raise(number: int, _frame=None):
    raise Terminated() if number == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def supervised():
    """The whole of one perfbot process: SIGTERM stops it like Ctrl-C, and nothing it started outlives it."""
    set_subreaper()
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # clean up undisturbed
        end_descendants()


def set_subreaper() -> bool:
    """Make orphaned descendants this process's children (Linux); False where the platform has no such thing."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


# ------------------------------------------------------------------------------------------ the tree


def _table() -> dict[int, tuple[str, int, int]]:
    """{pid: (state, ppid, pgid)} of every process /proc shows."""
    table = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            table[int(entry)] = (fields[0], int(fields[1]), int(fields[2]))
    return table


def descendants(pid: int | None = None) -> set[int]:
    """Every process below `pid` (default: this one), zombies included."""
    pid = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for child, (_, ppid, _) in _table().items():
        children.setdefault(ppid, []).append(child)
    found, todo = set(), list(children.get(pid, []))
    while todo:
        child = todo.pop()
        if child not in found:
            found.add(child)
            todo.extend(children.get(child, []))
    return found


def group_members(pgid: int) -> list[int]:
    """The living (not zombie) processes of a process group."""
    return [pid for pid, (state, _, group) in _table().items() if group == pgid and state not in ("Z", "X")]


def _reap(pids) -> None:
    """Collect the exit status of those of `pids` that are this process's exited children."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def end_group(pgid: int, grace_s: float = 0.0, timeout_s: float = 10.0) -> bool:
    """Signal a process group and wait until no process of it is left; True when it is gone.

    SIGTERM first when `grace_s` > 0 (a server may close its port), SIGKILL
    after the grace or straight away. The group's leader is not reaped here:
    its Popen does that (a status taken away from Popen reads as exit 0).
    Zombies that are this process's children (orphans re-parented to a
    subreaper) are reaped, so that the group really empties.
    """
    deadline = time.monotonic() + timeout_s
    kill_at = time.monotonic() + grace_s
    signal_group(pgid, signal.SIGTERM if grace_s > 0 else signal.SIGKILL)
    killed = grace_s <= 0
    while True:
        table = _table()
        members = [p for p, (state, _, group) in table.items() if group == pgid]
        _reap(p for p in members if p != pgid and table[p][0] == "Z" and table[p][1] == os.getpid())
        if not any(table[p][0] not in ("Z", "X") for p in members):
            return True
        now = time.monotonic()
        if now > deadline:
            return False
        if not killed and now >= kill_at:
            signal_group(pgid, signal.SIGKILL)
            killed = True
        time.sleep(0.02)


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def end_descendants(timeout_s: float = 10.0) -> set[int]:
    """SIGKILL every process below this one, until none is left (or `timeout_s`); the pids it killed.

    Run when perfbot is about to exit: whatever is still there at that point
    was left by a path that did not clean up. Children that exited meanwhile
    are reaped.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        table = _table()
        below = descendants()
        living = {p for p in below if p in table and table[p][0] not in ("Z", "X")}
        for pid in living:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed |= living
        _reap(p for p in below if p in table and table[p][1] == os.getpid())
        if not living:
            break
        time.sleep(0.02)
    return killed


def reap_orphans() -> None:
    """Collect exited orphans re-parented to this subreaper; call where no subprocess call is in flight."""
    table = _table()
    _reap(pid for pid, (state, ppid, _) in table.items() if ppid == os.getpid() and state == "Z")


# ------------------------------------------------------------------------------------------ children

#: bot/child/guard.py (named by path: the shared modules import nothing of bot/child).
GUARD_SCRIPT = Path(__file__).parent / "child" / "guard.py"
_RUN = (
    "import runpy, sys; runpy.run_path(sys.argv[1])['watch_parent'](int(sys.argv[2])); "
    "sys.argv = sys.argv[3:]; runpy.run_{}(sys.argv[0], run_name='__main__'{})"
)


def python_command(python, target, args, module: bool = False) -> list[str]:
    """`python SCRIPT ARGS` (or `-m MODULE ARGS`) with bot/child/guard.py watching this process first.

    Start it in a session of its own (`start_new_session=True`): the guard
    kills the group the child leads when this process ends. The script runs
    by path through runpy, with the working directory as its only extra
    import location: the child imports nothing of perfbot's own environment
    (the TVM under test may be another interpreter).
    """
    code = _RUN.format("module", ", alter_sys=True") if module else _RUN.format("path", "")
    return [str(python), "-c", code, str(GUARD_SCRIPT), str(os.getpid()), str(target), *map(str, args)]


#: Exit code of a guarded command that could not be started (the shell's "command not found").
GUARD_NOT_STARTED = 127
_EXEC = (
    "import runpy, subprocess, sys; runpy.run_path(sys.argv[1])['watch_parent'](int(sys.argv[2]), whole_tree=True)\n"
    f"try:\n    sys.exit(subprocess.call(sys.argv[3:]))\nexcept OSError:\n    sys.exit({GUARD_NOT_STARTED})"
)


def guarded_command(command: list[str]) -> list[str]:
    """Any program (cmake, pip, git) under bot/child/guard.py, which ends its whole group when perfbot ends.

    Start it with `start_new_session=True`, like `python_command`: the guard
    leads the group, the program and what it starts (ninja, the compilers)
    stay below it (ninja's rules in groups of their own too: the guard is their
    subreaper), and the guard kills all of them once this process is gone, a
    kill -9 included. Runs with this interpreter (the guard is standard library).
    """
    return [sys.executable, "-c", _EXEC, str(GUARD_SCRIPT), str(os.getpid()), *map(str, command)]
