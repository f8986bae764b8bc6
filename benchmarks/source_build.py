"""A real TVM built from source through `perfbot build`: cold, after a one-file C++ change, and Python-only.

    .venv/bin/python benchmarks/source_build.py --checkout ~/src/tvm --ref v0.26.0 --work /tmp/source-build \
        [--nice 19] [--skip-cold] [--json out.json]

For a person to run, not CI: the cold phase is hours on 2 cores. The checkout is cloned (`git clone
--shared`) into WORK/tvm, so its commits go on a scratch branch and the build worktree, ccache and
build cache (WORK/cache, PERFBOT_CACHE) start empty; submodules are fetched the way `perfbot build`
fetches them (set git's `url.MIRROR.insteadOf URL` for hosts without GitHub). Each phase is one
`perfbot build WORK/tvm@COMMIT` process, run as a user runs it:

1. cold: REF itself (the whole C++ build, the FFI wheel, the environment, the AArch64 runtime);
2. compiler: a commit that changes one compiler file (--compiler-file, a comment line appended):
   one object and the link, with the warm ccache; the runtime key is unchanged, so no AArch64 build;
3. runtime: a commit that changes one runtime file (--runtime-file): the host runtime and the
   libraries above it relinked, and the AArch64 runtime rebuilt (its key changed);
4. python: a commit that changes one Python file (--python-file): no C++ at all, an overlay.

Per phase it prints wall time (process start to exit), ninja's steps (host, and AArch64), the disk
of what the phase added, and the load average (1 minute) sampled every 30 s while it ran: on a
shared machine a figure means little without the load beside it. Goals (issue 24): the one-file
C++ change under 5 minutes, the Python-only commit under 10 s; the AArch64 runtime cold under 10
minutes. A phase that fails stops the run with its `perfbot build` output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.engine import steps  # noqa: E402
from bot.engine.boards.userspace import disk_usage  # noqa: E402
from bot.engine.builds import aarch64, native  # noqa: E402
from bot.engine.builds.commits import resolve  # noqa: E402

err = Console(stderr=True)
GIT_ENV = {"GIT_AUTHOR_NAME": "perfbot benchmark", "GIT_AUTHOR_EMAIL": "bench@perfbot.invalid",
           "GIT_COMMITTER_NAME": "perfbot benchmark", "GIT_COMMITTER_EMAIL": "bench@perfbot.invalid"}  # fmt: skip


def say(line: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}", highlight=False, soft_wrap=True)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout.strip()  # fmt: skip


class Load(threading.Thread):
    """The 1-minute load average every `every_s` seconds while a phase runs."""

    def __init__(self, every_s: float = 30.0):
        super().__init__(daemon=True)
        self.every_s, self.samples, self._stop = every_s, [os.getloadavg()[0]], threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> str:
        self._stop.set()
        self.samples.append(os.getloadavg()[0])
        return f"{min(self.samples):.1f}-{max(self.samples):.1f} (mean {sum(self.samples) / len(self.samples):.1f})"


def change_file(repo: Path, path: str, what: str) -> str:
    """A commit on the scratch branch that appends a comment line to one file; its sha."""
    target = repo / path
    if not target.is_file():
        raise SystemExit(f"{path}: no such file in {repo} at this commit (choose another with the options)")
    comment = "#" if path.endswith(".py") else "//"
    with open(target, "a") as f:
        f.write(f"\n{comment} perfbot benchmark: {what} ({time.time():.0f})\n")
    git(repo, "commit", "-qam", f"benchmark: {what}")
    return git(repo, "rev-parse", "HEAD")


def phase(name: str, repo: Path, sha: str, cache: Path, nice: int, logs: Path) -> dict:
    """One `perfbot build` process: its wall time, ninja's steps, the disk it added, the load around it."""
    before = disk_usage(cache)
    commit = resolve(repo, sha)
    command = [sys.executable, "-m", "bot", "build", f"{repo}@{sha}"]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    say(f"{name}: {' '.join(command)}")
    load = Load()
    load.start()
    started = time.monotonic()
    with open(logs / f"{name}.log", "w") as out:
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                               env={**os.environ, "PERFBOT_CACHE": str(cache), "PYTHONPATH": str(ROOT)})  # fmt: skip
    seconds = time.monotonic() - started
    loads = load.stop()
    if code != 0:
        raise SystemExit(f"{name}: perfbot build exited {code}; its output: {logs / f'{name}.log'}")
    host_log = native.root(cache) / f"{commit.native_key}.log"
    build = native.find(cache, commit.native_key)
    arm = aarch64.aarch64_runtime(cache, commit.native_key)
    built_here = build.info.get("commit") == commit.sha  # else the native build of another commit served it
    host_steps = steps.progress(host_log) if built_here else None
    arm_info = json.loads((arm / "runtime.json").read_text()) if arm else {}
    arm_built = arm_info.get("commit") == commit.sha
    arm_steps = steps.progress(arm.with_suffix(".log")) if arm and arm_built else None
    result = {
        "phase": name,
        "commit": sha,
        "seconds": round(seconds, 1),
        "host_steps": host_steps[1] if host_steps else 0,
        "aarch64_steps": arm_steps[1] if arm_steps else 0,
        "aarch64_seconds": arm_info.get("seconds") if arm_built else None,
        "aarch64_bytes": arm_info.get("bytes") if arm else None,
        "added_bytes": disk_usage(cache) - before,
        "cache_bytes": disk_usage(cache),
        "load": loads,
    }
    say(f"{name}: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, required=True, help="a TVM git checkout (cloned, never changed)")
    parser.add_argument("--ref", default="main", help="the commit to build cold and change (default main)")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder: the clone and the build cache")
    parser.add_argument("--compiler-file", default="src/relax/transform/fold_constant.cc")
    parser.add_argument("--runtime-file", default="src/runtime/thread_pool.cc")
    parser.add_argument("--python-file", default="python/tvm/relax/frontend/tflite/tflite_frontend.py")
    parser.add_argument("--nice", type=int, default=0, help="run perfbot build under nice -n N (19: yield to others)")
    parser.add_argument("--skip-cold", action="store_true", help="WORK holds a cold build already: changes only")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    repo, cache, logs = args.work / "tvm", args.work / "cache", args.work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if not args.skip_cold:
        if repo.exists() or cache.exists():
            raise SystemExit(f"{args.work} is not empty: a cold build needs an empty cache (or pass --skip-cold)")
        subprocess.run(["git", "clone", "-q", "--shared", str(args.checkout.expanduser()), str(repo)], check=True)
        git(repo, "checkout", "-q", "-B", "perfbot-benchmark", git(args.checkout.expanduser(), "rev-parse",
                                                                   f"{args.ref}^{{commit}}"))  # fmt: skip
    results = []
    if not args.skip_cold:
        results.append(phase("cold", repo, git(repo, "rev-parse", "HEAD"), cache, args.nice, logs))
    for name, path in (("compiler", args.compiler_file), ("runtime", args.runtime_file), ("python", args.python_file)):
        sha = change_file(repo, path, f"one-file {name} change")
        results.append(phase(name, repo, sha, cache, args.nice, logs))
    table = Table(title=f"perfbot build of {args.checkout}@{args.ref} on {os.cpu_count()} cores", title_justify="left")
    for column in ("phase", "wall", "host steps", "AArch64 steps", "AArch64 s", "added", "cache", "load"):
        table.add_column(column, justify="left" if column in ("phase", "load") else "right")
    for r in results:
        table.add_row(r["phase"], f"{r['seconds']:.0f} s", str(r["host_steps"]), str(r["aarch64_steps"]),
                      f"{r['aarch64_seconds']:.0f}" if r["aarch64_seconds"] else "–", f"{r['added_bytes'] / 1e6:,.0f} MB",
                      f"{r['cache_bytes'] / 1e6:,.0f} MB", r["load"])  # fmt: skip
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
