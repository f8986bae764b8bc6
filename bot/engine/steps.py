"""One step of making a TVM environment (a pip install, a cmake build): run, logged, relayed, ended with perfbot.

Shared by the pip environments (envs.py) and the build cache (builds/), which
import this and never each other.

A step runs in a process group of its own, started through perfbot's guard
(bot/lifecycle.py `guarded_command`): Ctrl-C, SIGTERM or an exception ends the
group at once (`run_step`; the compilers ninja runs in groups of their own come
back to perfbot, a subreaper, which ends them as it exits), and a kill -9 of
perfbot ends all of it too, because the guard watches perfbot's pid and kills
every process below it when perfbot is gone. Before the guard, a cmake build
outlived a kill -9 of perfbot by as long as it had left to run; with a guard
that killed only its group, the compilers running then finished their files
(two, for up to 8 s, on apache/tvm main).

Output goes to the step's log line by line, whole; what is relayed to the
user is whole lines too (pip's were cut at 120 characters, mid-word), and a
build tool's `[n/N]` lines are relayed as progress at most every
PROGRESS_EVERY_S seconds (a cold TVM build prints 592 of them over hours).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot import lifecycle
from bot.console import Say
from bot.errors import EnvironmentBroken

#: Lines of a step's output worth relaying as they come (pip's steps and errors, cmake's errors).
RELAYED = ("Collecting", "Downloading", "Installing", "Building wheel", "Successfully", "ERROR", "CMake Error")
#: A build tool's progress line: ninja's `[51/592] Building CXX object ...` (make's `[  8%] ...` has no total).
STEP = re.compile(r"^\[\s*(\d+)/(\d+)\]")
#: Seconds between two progress lines relayed from one step.
PROGRESS_EVERY_S = 15.0


@contextmanager
def locked(path: Path):
    """An exclusive lock file (released when the holder ends, kill -9 included: the kernel drops flocks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """`<folder>.staging` to fill, put in place whole by one rename when the block ends, or removed if it raises.

    An interrupted build or install (an error, Ctrl-C, SIGTERM) leaves no half-made folder where a finished one
    belongs; a kill -9 leaves a staging folder that the next attempt removes before it starts. The staging
    folder is not created: a venv, pip's wheel directory or a move makes it.
    """
    staging = _staging(folder)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)


def discard(folder: Path) -> None:
    """A staged folder thrown away, finished or half-made: the folder and what a killed `staged` left."""
    for path in (folder, _staging(folder)):
        shutil.rmtree(path, ignore_errors=True)


def _staging(folder: Path) -> Path:
    return folder.with_name(folder.name + ".staging")


def is_locked(path: Path) -> bool:
    """Whether some process holds the lock now (a build under way), without waiting for it."""
    try:
        with open(path) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(lock, fcntl.LOCK_UN)
            return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "no output")[:300]


def run_step(command: list[str], log, say: Say, title: str, env: dict | None = None, cwd: Path | None = None) -> None:
    """Run one step with its output in `log` (whole lines relayed to `say`); EnvironmentBroken if it fails.

    The error names the step and ends with its last line of output, where tools say what went wrong.
    """
    say(title)
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    try:
        proc = subprocess.Popen(
            lifecycle.guarded_command(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as e:
        raise EnvironmentBroken(f"`{title}` could not start: {e}") from None
    relay = Relay(say, title)
    try:
        for line in proc.stdout:
            log.write(line)
            log.flush()
            relay.line(line.rstrip("\n"))
        code = proc.wait()
    except BaseException:
        lifecycle.end_group(proc.pid)
        proc.wait()
        raise
    if code == lifecycle.GUARD_NOT_STARTED:
        raise EnvironmentBroken(f"`{title}` could not start: {command[0]} not found")
    if code != 0:
        raise EnvironmentBroken(f"`{title}` failed with code {code}" + (f": {relay.last[:300]}" if relay.last else ""))


class Relay:
    """What of a step's output the user sees: whole RELAYED lines, and `[n/N]` progress every PROGRESS_EVERY_S."""

    def __init__(self, say: Say, title: str, every_s: float = PROGRESS_EVERY_S):
        self.say, self.title, self.every_s = say, title, every_s
        self.last = ""
        self.started = time.monotonic()
        self._said_at: float | None = None

    def line(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        self.last = text
        step = STEP.match(text)
        if step:
            done, total = int(step.group(1)), int(step.group(2))
            now = time.monotonic() if done else None  # [0/N] is ninja checking, not building
            if now is not None and (self._said_at is None or now - self._said_at >= self.every_s or done == total):
                self._said_at = now
                self.say(f"{self.title}: step {done}/{total} ({done / total:.0%}) after {_elapsed(now - self.started)}")
        elif text.startswith(RELAYED):
            self.say(text)


def progress(log_path: Path) -> tuple[int, int] | None:
    """The last `[n/N]` of a build log (what `perfbot builds` shows of a build under way), or None."""
    found = [m for line in _tail(log_path).splitlines() if (m := STEP.match(line))]
    return (int(found[-1].group(1)), int(found[-1].group(2))) if found else None


def doing(log_path: Path) -> str:
    """Where a build is, from its log: ninja's `step n/N` while it compiles, else the step it ran last."""
    commands = [line[2:] for line in _tail(log_path).splitlines() if line.startswith("$ ")]
    done = progress(log_path)
    if commands and " --build " in f" {commands[-1]} " and done and done[0]:
        return f"step {done[0]}/{done[1]}"
    words = commands[-1].split() if commands else []
    shown = " ".join(Path(w).name if i == 0 else w for i, w in enumerate(words[:4]))
    return f"running `{shown[:60]} ...`" if words else "starting"


def _tail(log_path: Path, size: int = 64 * 1024) -> str:
    try:
        with open(log_path, "rb") as log:
            log.seek(max(0, os.fstat(log.fileno()).st_size - size))
            return log.read().decode(errors="replace")
    except OSError:
        return ""


def _elapsed(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes} min {int(seconds % 60):02d} s" if minutes else f"{seconds:.0f} s"
