"""A real TVM built from source through `perfbot build`: cold, after a one-file C++ change, and Python-only.

    .venv/bin/python benchmarks/source_build.py --checkout ~/src/tvm --ref v0.26.0 --cache /tmp/source-build \
        [--nice 19] [--skip-cold] [--json out.json]

For a person to run, not CI: the cold phase is hours on 2 cores. The checkout's working tree is never
touched: each change is a commit made with git's plumbing (a temporary index) on the scratch branch
`perfbot-benchmark`, and `perfbot build` builds in its own worktree under the cache. CACHE is the
PERFBOT_CACHE of every phase (its build worktree, ccache and builds); the cold phase needs it empty,
--skip-cold reuses a cache that already holds REF's build (a warm ccache, as a user's second build
has). Submodules are fetched the way `perfbot build` fetches them (set git's `url.MIRROR.insteadOf
URL` for hosts without GitHub). Each phase is one `perfbot build CHECKOUT@COMMIT` process, run as a
user runs it:

1. cold: REF itself (the whole C++ build, the FFI wheel, the environment, the AArch64 runtime);
2. compiler: a commit that changes one compiler file (--compiler-file, an unused constant appended):
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
import tempfile
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


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV, **(env or {})}).stdout.strip()  # fmt: skip


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
        return f"{min(self.samples):.1f}-{max(self.samples):.1f} ({sum(self.samples) / len(self.samples):.1f})"


def change_file(repo: Path, parent: str, path: str, what: str) -> str:
    """A commit on top of `parent` that appends a line of code to one file, made without the working
    tree (a blob, a temporary index, commit-tree) and kept on the scratch branch; its sha."""
    try:
        text = git(repo, "show", f"{parent}:{path}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"{path}: no such file in {repo} at {parent[:10]} (choose another with the options)") from None
    stamp = f"{time.time():.0f}"
    if path.endswith(".py"):
        line = f"PERFBOT_BENCHMARK_{stamp} = {stamp}  # {what}"
    else:  # code, not a comment: ccache hashes the preprocessed source, where a comment is gone
        line = f"[[maybe_unused]] static const int perfbot_benchmark_{stamp} = {stamp};  // {what}"
    changed = f"{text}\n{line}\n"
    blob = subprocess.run(["git", "-C", str(repo), "hash-object", "-w", "--stdin"], input=changed, text=True,
                          check=True, capture_output=True).stdout.strip()  # fmt: skip
    mode = git(repo, "ls-tree", parent, "--", path).split()[0]
    with tempfile.TemporaryDirectory() as scratch:
        index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        git(repo, "read-tree", parent, env=index)
        git(repo, "update-index", "--cacheinfo", f"{mode},{blob},{path}", env=index)
        tree = git(repo, "write-tree", env=index)
    sha = git(repo, "commit-tree", tree, "-p", parent, "-m", f"benchmark: {what}")
    git(repo, "update-ref", "refs/heads/perfbot-benchmark", sha)
    return sha


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
    parser.add_argument("--checkout", type=Path, required=True, help="a TVM git checkout (its working tree untouched)")
    parser.add_argument("--ref", default="main", help="the commit to build cold and change (default main)")
    parser.add_argument("--cache", type=Path, required=True, help="PERFBOT_CACHE of every phase (empty for cold)")
    parser.add_argument("--logs", type=Path, help="each phase's perfbot build output (default CACHE/benchmark-logs)")
    parser.add_argument("--compiler-file", default="src/relax/transform/fold_constant.cc")
    parser.add_argument("--runtime-file", default="src/runtime/thread_pool.cc")
    parser.add_argument("--python-file", default="python/tvm/relax/frontend/tflite/tflite_frontend.py")
    parser.add_argument("--nice", type=int, default=0, help="run perfbot build under nice -n N (19: yield to others)")
    parser.add_argument("--skip-cold", action="store_true", help="CACHE holds REF's build already: changes only")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    repo, cache = args.checkout.expanduser().resolve(), args.cache.expanduser().resolve()
    if not (repo / ".git").exists():
        raise SystemExit(f"--checkout {repo}: not a git checkout")
    if not args.skip_cold and cache.exists() and any(cache.iterdir()):
        raise SystemExit(f"--cache {cache} is not empty: a cold build needs an empty cache (or pass --skip-cold)")
    logs = args.logs or cache / "benchmark-logs"
    logs.mkdir(parents=True, exist_ok=True)
    head = git(repo, "rev-parse", f"{args.ref}^{{commit}}")
    results = [phase("cold", repo, head, cache, args.nice, logs)] if not args.skip_cold else []
    for name, path in (("compiler", args.compiler_file), ("runtime", args.runtime_file), ("python", args.python_file)):
        head = change_file(repo, head, path, f"one-file {name} change")
        results.append(phase(name, repo, head, cache, args.nice, logs))
    table = Table(title=f"perfbot build of {args.checkout}@{args.ref} on {os.cpu_count()} cores", title_justify="left")
    for column in ("phase", "wall", "host steps", "AArch64 steps", "AArch64 s", "added", "cache", "load (mean)"):
        table.add_column(column, justify="left" if column in ("phase", "load (mean)") else "right")
    for r in results:
        table.add_row(r["phase"], f"{r['seconds']:.0f} s", str(r["host_steps"]), str(r["aarch64_steps"]),
                      f"{r['aarch64_seconds']:.0f}" if r["aarch64_seconds"] else "–", f"{r['added_bytes'] / 1e6:,.0f} MB",
                      f"{r['cache_bytes'] / 1e6:,.0f} MB", r["load"])  # fmt: skip
    Console(width=None if sys.stdout.isatty() else 120).print(table)  # a log file gets whole rows
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
