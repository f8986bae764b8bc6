"""Run one item in a child process with a time limit, and classify how it ended.

A Python exception in the child is reported by the child itself (its result
file says `compile_error`, `runtime_error`, ...). What the child cannot
report, the parent classifies here: killed by a signal (`crash`, e.g. the
segfault of apache-tvm 0.27.0.post1 with apache-tvm-ffi 0.1.15.post2 inside
MetaSchedule), still running at the limit (`timeout`, the whole process group
is killed), or gone without a word (`crash`).

Two ways to get a child:

- `run_script`: a fresh interpreter per item. Simple; used for tuning and
  the TFLite reference, where start-up time does not matter.
- `ForkServer`: one interpreter per run imports TVM once, then forks a child
  per item (bot/child/measure.py `--serve`). Starting Python and importing TVM takes
  about 0.7 s, more than many conv layers take to compile and time; forking
  keeps the harness' overhead low while every item still dies alone.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Lines of child output kept with a failure.
TAIL_LINES = 25
#: Seconds the fork server may take on top of an item's own limit before it is presumed stuck.
GRACE_S = 30.0

_BOOTSTRAP = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


@dataclass
class ChildOutcome:
    status: str
    data: dict = field(default_factory=dict)
    error: str | None = None
    log_tail: str = ""
    wall_s: float = 0.0
    returncode: int | None = None


def child_environment(env: dict[str, str] | None) -> dict[str, str]:
    """The child sees the caller's environment plus `env`, never the bot's PYTHONPATH."""
    merged = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    merged.pop("PYTHONPATH", None)
    return merged


def write_spec(spec: dict, workdir: Path) -> tuple[Path, Path, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    paths = workdir / "spec.json", workdir / "result.json", workdir / "output.log"
    paths[0].write_text(json.dumps({**spec, "workdir": str(workdir)}))
    paths[1].unlink(missing_ok=True)
    return paths


def run_script(
    python: str | Path,
    script: Path,
    spec: dict,
    workdir: Path,
    timeout_s: float,
    env: dict[str, str] | None = None,
) -> ChildOutcome:
    """Run `python script SPEC RESULT` in `workdir` (a fresh interpreter), return what became of it.

    The script runs by path through runpy, with the working directory as its
    only extra import location: the child imports nothing of the bot's own
    environment (the TVM under test may be another interpreter).
    """
    spec_path, result_path, log_path = write_spec(spec, workdir)
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(
                [str(python), "-c", _BOOTSTRAP, str(script), str(spec_path), str(result_path)],
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_environment(env),
                start_new_session=True,
            )
        except OSError as e:
            return ChildOutcome("environment_error", error=f"cannot start {python}: {e.strerror}")
        try:
            returncode, timed_out = proc.wait(timeout=timeout_s), False
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
            returncode, timed_out = proc.returncode, True
    return classify(result_path, log_path, returncode, timed_out, timeout_s, time.perf_counter() - started)


def classify(
    result_path: Path, log_path: Path, returncode: int | None, timed_out: bool, timeout_s: float, wall_s: float
) -> ChildOutcome:
    data = _read_json(result_path)
    tail = _tail(log_path)
    phase = data.get("phase", "start")
    if timed_out:
        status, error = "timeout", f"no result after {timeout_s:g} s (phase: {phase}); killed"
    elif returncode is not None and returncode < 0:
        status, error = "crash", f"killed by {_signal_name(-returncode)} (phase: {phase})"
    elif "status" in data:
        status, error = data["status"], data.get("error")
    else:
        status = "crash" if data else "environment_error"
        error = f"exited with code {returncode} without a result (phase: {phase})"
    return ChildOutcome(status, data, error, tail, wall_s, returncode)


class ForkServer:
    """One interpreter of the TVM environment that forks a child per item.

    Protocol (one JSON object per line): the server says {"ready": true} once
    TVM is imported (or {"ready": false, "error": ...}); then for every
    {"spec", "result", "log", "timeout"} it is sent, it forks, waits, kills the
    child's process group at the limit, and answers {"returncode", "timed_out"}.
    """

    def __init__(
        self,
        python: str | Path,
        script: Path,
        workdir: Path,
        env: dict[str, str] | None = None,
        start_timeout_s: float = 180.0,
    ):
        self.python, self.script, self.workdir, self.env = str(python), script, workdir, env
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.failure: ChildOutcome | None = None
        self._buffer = b""

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / "server.log"
        started = time.perf_counter()
        with open(log, "ab") as out:
            try:
                self.proc = subprocess.Popen(
                    [self.python, "-c", _BOOTSTRAP, str(self.script), "--serve"],
                    cwd=self.workdir,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=out,
                    env=child_environment(self.env),
                    start_new_session=True,
                )
            except OSError as e:
                self.failure = ChildOutcome("environment_error", error=f"cannot start {self.python}: {e.strerror}")
                return
        self._buffer = b""
        hello = self._read_line(self.start_timeout_s)
        if not hello or not hello.get("ready"):
            error = (hello or {}).get("error") or f"TVM environment did not start ({self._exit_note()})"
            self.failure = ChildOutcome(
                "environment_error", error=error, log_tail=_tail(log), wall_s=time.perf_counter() - started
            )
            self.close()

    def run(self, spec: dict, workdir: Path, timeout_s: float) -> ChildOutcome:
        if self.proc is None and self.failure is None:
            self._start()
        if self.failure is not None:
            return self.failure
        spec_path, result_path, log_path = write_spec(spec, workdir)
        started = time.perf_counter()
        job = {"spec": str(spec_path), "result": str(result_path), "log": str(log_path), "timeout": timeout_s}
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            answer = self._read_line(timeout_s + GRACE_S)
        except (BrokenPipeError, OSError):
            answer = None
        wall = time.perf_counter() - started
        if answer is None:
            # The server itself died or hung: count it against this item and start afresh next time.
            self.close()
            return classify(result_path, log_path, None, True, timeout_s, wall)
        return classify(result_path, log_path, answer["returncode"], answer["timed_out"], timeout_s, wall)

    def _read_line(self, timeout_s: float) -> dict | None:
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return None

    def _exit_note(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "no answer"
        return f"killed by {_signal_name(-code)}" if code < 0 else f"exit code {code}"

    def close(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
        proc.stdout.close()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = path.read_bytes()[-64_000:].decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if not line.startswith("[perfbot-worker] phase")]
    return "\n".join(kept[-lines:])
