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

A measured item is a `Session` with its forked child: the child compiles,
loads and checks the item, then answers timing requests over a Unix socket
until the parent is done with it, so that the parent can alternate timing
blocks between two builds (a PR and its base) whose children are both loaded.
On a board that counts instructions the child answers one count request
instead (bot/engine/counting.py).

Every child leads a process group of its own and ends with it: at its limit,
when it is stopped, and when perfbot fails or is interrupted (the whole group
is killed and waited for). Each runs bot.lifecycle's guard, so that it also
ends when perfbot is killed with SIGKILL; the fork server's children, which
call setsid, run a guard of their own (bot/child/measure.py).
"""

from __future__ import annotations

import itertools
import json
import os
import selectors
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot import lifecycle

#: Lines of child output kept with a failure.
TAIL_LINES = 25
#: Seconds the fork server may take on top of an item's own limit before it is presumed stuck.
GRACE_S = 30.0


@dataclass
class ChildOutcome:
    status: str
    data: dict = field(default_factory=dict)
    error: str | None = None
    log_tail: str = ""
    wall_s: float = 0.0
    returncode: int | None = None


def clean_environ() -> dict[str, str]:
    """perfbot's environment without what would make a child import another TVM than the one under test."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TVM_LIBRARY_PATH")}


def child_environment(env: dict[str, str] | None) -> dict[str, str]:
    """The child sees the caller's environment plus `env`: never the bot's own PYTHONPATH or TVM
    library path, only those the build under test sets (a source build's overlay, bot/engine/builds/)."""
    return {**clean_environ(), **(env or {}), "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}


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
    watch=None,
    should_stop=None,
) -> ChildOutcome:
    """Run `python script SPEC RESULT` in `workdir` (a fresh interpreter), return what became of it.

    The script runs by path (`lifecycle.python_command`). `watch(data)`
    is called every couple of seconds with what the child has written to its
    result file so far (for progress); when `should_stop()` says so the child's
    process group is killed and the outcome is `cancelled`.
    """
    spec_path, result_path, log_path = write_spec(spec, workdir)
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(
                lifecycle.python_command(python, script, [spec_path, result_path]),
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_environment(env),
                start_new_session=True,
            )
        except OSError as e:
            return ChildOutcome("environment_error", error=f"cannot start {python}: {e.strerror}")
        deadline = time.monotonic() + timeout_s
        returncode, timed_out, stopped = None, False, False
        try:
            while returncode is None:
                try:
                    returncode = proc.wait(timeout=max(0.0, min(2.0, deadline - time.monotonic())))
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline or (should_stop is not None and should_stop()):
                        stopped = time.monotonic() < deadline
                        timed_out = not stopped
                        returncode = _end(proc)
                    elif watch is not None:
                        watch(_read_json(result_path))
        except BaseException:
            _end(proc)
            raise
    outcome = classify(result_path, log_path, returncode, timed_out, timeout_s, time.perf_counter() - started)
    if stopped:
        outcome.status, outcome.error = "cancelled", "stopped: the job was cancelled or taken over"
    return outcome


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
        spec: dict | None = None,
    ):
        """`spec`: what every item of this server's TVM takes on top of its own spec (e.g. the board key that
        serves modules with this build's own runtime, bot/engine/runner.py)."""
        self.python, self.script, self.workdir, self.env = str(python), script, workdir, env
        self.spec = spec or {}
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.failure: ChildOutcome | None = None
        self._buffer = b""
        self._ready = False  # the server said it imported TVM
        self._launched = 0.0
        self.compiled_for: str | None = None  # check_target's answers
        self.cpu_fallback: str | None = None

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, kind, *exc) -> None:
        self.kill() if kind is not None else self.close()

    def launch(self) -> None:
        """Start the interpreter without waiting for its TVM import, so that two servers import side by side
        (a PR job's two builds: about 4 s each on 2 loaded cores, half of a bisect probe's overhead)."""
        if self.proc is not None or self.failure is not None:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._launched = time.perf_counter()
        with open(self.workdir / "server.log", "ab") as out:
            try:
                self.proc = subprocess.Popen(
                    lifecycle.python_command(self.python, self.script, ["--serve"]),
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
        self._buffer, self._ready = b"", False

    def _start(self) -> None:
        """Launched (if not yet) and ready: TVM imported, or `failure` says why not."""
        self.launch()
        if self.failure is not None or self._ready:
            return
        hello = self._read_line(self.start_timeout_s)
        if not hello or not hello.get("ready"):
            error = (hello or {}).get("error") or f"TVM environment did not start ({self._exit_note()})"
            self.failure = ChildOutcome(
                "environment_error", error=error, log_tail=_tail(self.workdir / "server.log"),
                wall_s=time.perf_counter() - self._launched,
            )  # fmt: skip
            self.close()
            return
        self._ready = True

    def run(self, spec: dict, workdir: Path, timeout_s: float) -> ChildOutcome:
        if not self._ready and self.failure is None:
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

    def check_target(self, target, threads: int) -> str | None:
        """TVM's reason why it cannot use `target` (a devices.yml dict, or "host"), or None.

        None too when the environment does not start: its items say so, as
        environment_error, with the log. Once it can, `compiled_for` is the
        target as that TVM prints it, and `cpu_fallback` why "host" is not
        LLVM's name for this CPU (bot/child/measure.py's `host_cpu`), or None.
        """
        if not self._ready and self.failure is None:
            self._start()
        if self.failure is not None:
            return None
        try:
            job = {"check_target": target, "threads": threads, "device": self.spec.get("device")}
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            answer = self._read_line(GRACE_S)
        except (BrokenPipeError, OSError):
            answer = None
        if answer is None or "target_error" not in answer:
            self.kill()  # it did not answer: start afresh with the first item
            return None
        self.compiled_for, self.cpu_fallback = answer.get("compiled_for"), answer.get("cpu_fallback")
        return answer["target_error"]

    def session(self, spec: dict, workdir: Path, timeout_s: float) -> Session:
        """Start one item's child for a timing session (see `Session`); the server runs one at a time."""
        return Session(self, spec, workdir, timeout_s)

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
        proc, self.proc, self._ready = self.proc, None, False
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _end(proc)
        proc.stdout.close()

    def kill(self) -> None:
        """End the server now, with the child it is running (perfbot failed or was stopped)."""
        if self.proc is None:
            return
        proc, self.proc, self._ready = self.proc, None, False
        _end(proc)
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


_SOCKET_NAMES = itertools.count()


class Session:
    """One item's child in a fork server: compiled, loaded and checked, then timed block by block.

    `begin()` hands the item to the server and `wait_ready()` waits until the
    child is ready (None) or has ended without getting there (its outcome:
    compile_error, crash, ...); two sessions in two servers compile side by
    side when both are begun before either is waited for. `time()` asks for
    one block of samples; a block that does not come back within its limit
    kills the child. `finish()` tells the child it is done and returns how it
    ended, classified like any child. The control socket is an abstract Unix
    socket (Linux), so no path in a deep working folder can be too long.
    """

    def __init__(self, server: ForkServer, spec: dict, workdir: Path, timeout_s: float):
        self.server, self.workdir, self.timeout_s = server, workdir, timeout_s
        self.name = f"\0perfbot-{os.getpid()}-{next(_SOCKET_NAMES)}-{time.monotonic_ns()}"
        self.spec = {**spec, **server.spec, "control": self.name}
        self.pid: int | None = None
        self.outcome: ChildOutcome | None = None
        self.killed_for: str | None = None
        self._conn: socket.socket | None = None
        self._reader = None
        self._started = 0.0
        self._paths: tuple[Path, Path, Path] | None = None
        self._listener: socket.socket | None = None

    def begin(self) -> ChildOutcome | None:
        """Hand the item to the fork server; None, or the outcome when the environment cannot start."""
        server = self.server
        if not server._ready and server.failure is None:
            server._start()
        if server.failure is not None:
            self.outcome = server.failure
            return self.outcome
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.name)
        self._listener.listen(1)
        self._paths = write_spec(self.spec, self.workdir)
        spec_path, result_path, log_path = self._paths
        job = {"spec": str(spec_path), "result": str(result_path), "log": str(log_path), "timeout": self.timeout_s}
        self._started = time.perf_counter()
        try:
            server.proc.stdin.write((json.dumps(job) + "\n").encode())
            server.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return self._ended(None)
        return None

    def wait_ready(self) -> ChildOutcome | None:
        """Wait until the child is ready (None) or ended without getting there (its outcome)."""
        if self.outcome is not None:
            return self.outcome
        server, listener = self.server, self._listener
        deadline = time.monotonic() + self.timeout_s + GRACE_S
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(listener, selectors.EVENT_READ, "child")
                selector.register(server.proc.stdout, selectors.EVENT_READ, "server")
                while True:
                    if b"\n" in server._buffer:  # the child ended before it was ready
                        return self._ended(server._read_line(0))
                    remaining = deadline - time.monotonic()
                    events = selector.select(remaining) if remaining > 0 else []
                    if not events:
                        return self._ended(None)
                    for key, _ in events:
                        if key.data == "server":
                            chunk = os.read(server.proc.stdout.fileno(), 65536)
                            if not chunk:
                                return self._ended(None)
                            server._buffer += chunk
                        else:
                            self._conn, _ = listener.accept()
                            self._reader = self._conn.makefile("r")
                            hello = self._receive(self.timeout_s)
                            if hello and hello.get("ready"):
                                self.pid = int(hello["pid"])
                                return None
                            self._kill("no greeting from the child")
                            return self.finish()
        finally:
            listener.close()

    def start(self) -> ChildOutcome | None:
        """`begin()` and `wait_ready()`: None once the child is ready, else how it ended."""
        return self.begin() or self.wait_ready()

    def time(self, number: int, repeat: int, warmup: int, timeout_s: float) -> list[float] | None:
        """One block of `repeat` samples (ms), or None when the child died or hung (see `finish()`)."""
        if self._conn is None:
            return None
        request = {"op": "time", "number": number, "repeat": repeat, "warmup": warmup}
        try:
            self._conn.sendall((json.dumps(request) + "\n").encode())
        except OSError:
            return None
        answer = self._receive(timeout_s)
        if answer is None or "samples_ms" not in answer:
            self._kill(f"no samples within {timeout_s:g} s")
            return None
        return [float(s) for s in answer["samples_ms"]]

    def count(self, timeout_s: float) -> bool:
        """Have the child run, check and count its item on the board (see bot/child/measure.py); False when
        it died or hung doing so (`finish()` says how)."""
        if self._conn is None:
            return False
        try:
            self._conn.sendall(b'{"op": "count"}\n')
        except OSError:
            return False
        answer = self._receive(timeout_s)
        if answer is None or not answer.get("counted"):
            self._kill(f"no count within {timeout_s:g} s")
            return False
        return True

    def report(self) -> dict:
        """What the child has written to its result file so far (versions, code_hash, correctness, phase)."""
        return _read_json(self._paths[1]) if self._paths else {}

    def finish(self) -> ChildOutcome:
        """Tell the child it is done (if it is still there) and return how it ended."""
        if self.outcome is not None:
            return self.outcome
        if self._conn is not None:
            try:
                self._conn.sendall(b'{"op": "done"}\n')
            except OSError:
                pass
        answer = self.server._read_line(self.timeout_s + GRACE_S)
        return self._ended(answer)

    def _receive(self, timeout_s: float) -> dict | None:
        self._conn.settimeout(timeout_s)
        try:
            line = self._reader.readline()
        except (OSError, ValueError):
            return None
        try:
            return json.loads(line) if line else None
        except ValueError:
            return None

    def _kill(self, why: str) -> None:
        self.killed_for = why
        if self.pid is not None:
            _kill_group(self.pid)

    def _ended(self, answer: dict | None) -> ChildOutcome:
        for closable in (self._reader, self._conn, self._listener):
            if closable is not None:
                try:
                    closable.close()
                except OSError:
                    pass
        self._conn = self._reader = None
        wall = time.perf_counter() - self._started if self._started else 0.0
        spec_path, result_path, log_path = self._paths or write_spec(self.spec, self.workdir)
        if answer is None:  # the server itself died or hung: count it against this item, start afresh next time
            self.server.close()
            self.outcome = classify(result_path, log_path, None, True, self.timeout_s, wall)
        else:
            self.outcome = classify(
                result_path, log_path, answer["returncode"], answer["timed_out"], self.timeout_s, wall
            )
        if self.killed_for and self.outcome.status in ("crash", "ok", "wrong_result"):
            phase = self.outcome.data.get("phase", "?")
            self.outcome.status = "timeout"
            self.outcome.error = f"{self.killed_for} (phase: {phase}); killed"
        return self.outcome


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _end(proc: subprocess.Popen) -> int:
    """Kill a child's process group, reap the child, wait until nothing of its group is left; its return code."""
    _kill_group(proc.pid)
    code = proc.wait()
    lifecycle.end_group(proc.pid, timeout_s=10)
    return code


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
    kept = [line for line in text.splitlines() if not line.startswith("[perfbot-child] phase")]
    return "\n".join(kept[-lines:])
