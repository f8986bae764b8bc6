"""A native build made with cmake from the commit's sources: TVM's documented CPU build with LLVM.

Built the way docs/install/from_source.rst in apache/tvm describes it: one
persistent worktree of the checkout per cache (`CACHE/builds/tree/<checkout>/`,
checked out at the commit to build, with its submodules, builds/submodules.py)
and one persistent build folder in it (`build/`), so a nearby commit
recompiles only what changed, behind ccache when it is installed
(`CACHE/ccache`); Ninja when it is there, else make; LLVM from `llvm-config`
(Debian's `llvm-16-dev`). apache-tvm-ffi comes from the commit's own
`3rdparty/tvm-ffi` (TVM 0.22 on; older releases carry their FFI inside
`python/tvm`). The result is staged in `<key>.staging` (`steps.staged`)
and renamed into place only when complete, so a half-built library is never
used.

A build stopped half-way (Ctrl-C, SIGTERM, kill -9 of perfbot: every step
ends with perfbot, bot/engine/steps.py) resumes where it stopped: the next
`perfbot build` finds the worktree and its build folder, and ninja rebuilds
only what is missing or older than its sources (an object whose compile was
cut short has no entry in ninja's log, so it is rebuilt).

A failure is `<key>.broken` in the store (native.py) with the first error of
the step that failed. A full disk (an ENOSPC, the compiler saying so, or
under LOW_DISK_BYTES left in the cache after the failure) is reported the
same way but not remembered: it says nothing about the commit.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bot.console import Say
from bot.engine import environment, steps
from bot.engine.builds import interpreters, native, submodules
from bot.engine.builds.commits import Commit, git
from bot.engine.builds.native import NativeBuild
from bot.errors import BuildFailed, EnvironmentBroken

#: cmake options of every native build (part of the native key through BUILD_RECIPE): a CPU-only build with
#: LLVM, as apache/tvm's docs/install/from_source.rst sets them (HIDE_PRIVATE_SYMBOLS, the GPU back ends and
#: libraries off), plus no C++ unit tests (USE_GTEST is AUTO: on wherever GoogleTest happens to be installed).
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DHIDE_PRIVATE_SYMBOLS=ON",
    "-DUSE_RPC=ON",
    "-DUSE_CUDA=OFF",
    "-DUSE_OPENCL=OFF",
    "-DUSE_VULKAN=OFF",
    "-DUSE_METAL=OFF",
    "-DUSE_CUBLAS=OFF",
    "-DUSE_CUDNN=OFF",
    "-DUSE_CUTLASS=OFF",
    "-DUSE_GTEST=OFF",
)
#: Lines of a failed build's log that a PR comment shows.
LOG_TAIL = 25
#: TVM 0.22 and later refuse older LLVMs. Debian 12's `llvm-config` is 14, and its LLVM 15 lists a Polly library no
#: package ships: LLVM 16 (llvm-16-dev with libpolly-16-dev) is what built apache/tvm main here.
MIN_LLVM = 15


def build(commit: Commit, cache_dir: Path, say: Say | None = None, *, jobs: int | None = None) -> NativeBuild:
    """Build the commit's native libraries with cmake (see the module docstring), or BuildFailed."""
    say = say or (lambda line: None)
    cache_dir = Path(cache_dir)
    key = commit.native_key
    folder = native.root(cache_dir) / key
    tools = tools_at_hand()
    tree = worktree(commit, cache_dir)
    log_path = folder.with_suffix(".log")
    folder.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with steps.locked(tree.with_suffix(".lock")), open(log_path, "w") as log, _under_way(folder, commit, tree):
        log.write(f"# native build {key} of {commit.checkout}@{commit.sha} ({commit.layout})\n")
        try:
            fallbacks = checkout(commit, tree, log, say)
            llvm = f"-DUSE_LLVM={tools['llvm_config']} --ignore-libllvm --link-static"
            cmake = cmake_for(tree, cache_dir, say)
            options = [*CMAKE_OPTIONS, llvm]
            compile_tree(cmake, tree, tree / "build", options, tools, cache_dir, log, say, jobs=jobs)
            with steps.staged(folder) as staging:
                (staging / "lib").mkdir(parents=True)
                libraries = _libraries(tree / "build")
                if not libraries:
                    raise BuildFailed(f"cmake built no libtvm*.so in {tree / 'build'}")
                for library in libraries:
                    shutil.copy2(library, staging / "lib" / library.name)
                python = _interpreter(commit, tree, cache_dir, staging, log, say)
                info = {
                    "how": "cmake",
                    "commit": commit.sha,
                    "checkout": str(commit.checkout),
                    "layout": commit.layout,
                    "runtime_key": commit.runtime_key,
                    "lib": str(folder / "lib"),
                    "python": str(python.python),
                    "venv": python.key,
                    "options": options,
                    "llvm": tools["llvm_version"],
                    "cmake": cmake,
                    "generator": tools["generator"],
                    "ccache": tools["ccache"],
                    "fallbacks": fallbacks,
                    "frozen": python.frozen,
                    "created": native.now(),
                    "seconds": round(time.monotonic() - started, 1),
                }
                (staging / "build.json").write_text(json.dumps(info, indent=2))  # last: a folder with it is whole
        except (EnvironmentBroken, OSError) as e:
            failed(
                e, log, log_path, cache_dir, native.root(cache_dir) / f"{key}.broken", f"native build of {commit.short}"
            )
    say(f"native build {key} ready in {time.monotonic() - started:.0f} s")
    return native.find(cache_dir, key)


@contextlib.contextmanager
def _under_way(folder: Path, commit: Commit, tree: Path):
    """`<key>.building` while a build runs, for `perfbot builds` (a kill -9 leaves it: the lock says it stopped)."""
    marker = folder.with_suffix(".building")
    marker.write_text(json.dumps({"commit": commit.sha, "checkout": str(commit.checkout), "lock": str(tree) + ".lock",
                                  "log": str(folder.with_suffix(".log")), "started": native.now()}))  # fmt: skip
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def worktree(commit: Commit, cache_dir: Path) -> Path:
    """The persistent build worktree of the commit's checkout (one per checkout and cache)."""
    return Path(cache_dir) / "builds" / "tree" / hashlib.sha256(str(commit.checkout).encode()).hexdigest()[:12]


def compile_tree(
    cmake: str, tree: Path, build_dir: Path, options, tools: dict, cache_dir: Path, log, say: Say, *,
    target: str | None = None, jobs: int | None = None,
) -> None:  # fmt: skip
    """cmake configure and build (of `target`, or everything) in a persistent build folder, behind ccache."""
    configure = [cmake, "-S", str(tree), "-B", str(build_dir), "-G", tools["generator"], *options]
    if tools["ccache"]:
        configure += ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"]
    variables = {**os.environ, "CCACHE_DIR": str(Path(cache_dir) / "ccache"), "CCACHE_BASEDIR": str(tree)}
    steps.run_step(configure, log, say, "cmake configure", env=variables)
    command = [cmake, "--build", str(build_dir), "--parallel", str(jobs or os.cpu_count() or 2)]
    steps.run_step(command + (["--target", target] if target else []), log, say, "cmake --build", env=variables)


def failed(e: Exception, log, log_path: Path, cache_dir: Path, broken: Path, what: str):
    """Raise BuildFailed for a failed build: the reason in the log, and (unless the disk is full) in `broken`."""
    log.flush()
    reason = _reason(e, log_path.read_text(errors="replace"), cache_dir)
    log.write(f"perfbot: {reason}\n")
    log.flush()
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL:])
    if not reason.startswith("no space left"):  # a full disk says nothing about the commit: retry next time
        broken.write_text(f"{reason}\n{tail}\n")
    raise BuildFailed(f"{what} failed: {reason}; log: {log_path}\n{tail}") from None


#: Free space under this in the cache after a failed build means the disk filled, whatever the log says: ccache,
#: for one, fails a compile on a full disk without a word (found with the full-disk test once ccache was installed).
LOW_DISK_BYTES = 256 * 1024 * 1024


def _reason(e: Exception, log: str, cache_dir: Path) -> str:
    """One line for the PR comment: a full disk, else the compiler's first error, else what failed."""
    if (isinstance(e, OSError) and e.errno == errno.ENOSPC) or "No space left on device" in log:
        return f"no space left on device ({getattr(e, 'filename', None) or 'the cache'})"
    try:
        free = shutil.disk_usage(cache_dir).free
    except OSError:
        free = None
    if free is not None and free < LOW_DISK_BYTES:
        return f"no space left on device ({free / 2**20:.1f} MB free in {cache_dir} after the build failed)"
    step = str(e).splitlines()[0] if str(e) else type(e).__name__
    first_error = first_compiler_error(log)
    return f"{step}; {first_error[:300]}" if first_error and first_error[:120] not in step else step


def first_compiler_error(log: str) -> str | None:
    """The first error of the step that failed (the log's last `$ command`), as the compiler or cmake said it.

    Only the failed step's output counts: an earlier step's recovered error (a submodule fetch that took its
    fallback says `fatal: remote error: ...`) is not why the build failed.
    """
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
    lines = lines[starts[-1] + 1 :] if starts else lines
    for i, line in enumerate(lines):
        if " error: " in line or line.startswith("error:"):
            return line.strip()
        if line.startswith("CMake Error"):  # the message is on the indented lines below it
            said = []
            for rest in lines[i + 1 : i + 6]:
                if not rest.startswith(" ") or not rest.strip():
                    break
                said.append(rest.strip())
            return f"{line.strip()} {' '.join(said)}".strip()
    return None


def tools_at_hand(llvm: bool = True) -> dict:
    """What the build needs, or one line naming what is missing and how to install it.

    LLVM: the newest `llvm-config-N` (or plain `llvm-config`) of version MIN_LLVM or later (found
    out building apache/tvm main on Debian 12, whose `llvm-config` is LLVM 14).
    """
    missing = [tool for tool in ("git", "cmake") if shutil.which(tool) is None]
    compiler = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if compiler is None:
        missing.append("a C++ compiler")
    generator = "Ninja" if shutil.which("ninja") else "Unix Makefiles" if shutil.which("make") else None
    if generator is None:
        missing.append("ninja or make")
    found_llvm = llvm_config() if llvm else ("", "")
    if found_llvm is None:
        missing.append(f"llvm-config (LLVM {MIN_LLVM} or later)")
    if missing:
        raise BuildFailed(
            f"missing build tools: {', '.join(missing)} "
            "(Debian 12: apt-get install git cmake ninja-build g++ ccache llvm-16-dev libpolly-16-dev libzstd-dev "
            "zlib1g-dev libxml2-dev libz3-dev)"
        )
    return {
        "generator": generator,
        "ccache": shutil.which("ccache") is not None,
        "llvm_config": found_llvm[0],
        "llvm_version": found_llvm[1],
    }


def llvm_config() -> tuple[str, str] | None:
    """(path, version) of the newest llvm-config of at least MIN_LLVM on PATH, or None."""
    found = []
    for name in ["llvm-config", *(f"llvm-config-{v}" for v in range(30, MIN_LLVM - 1, -1))]:
        path = shutil.which(name)
        if path is None:
            continue
        try:
            version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
            major = int(version.split(".")[0])
        except (OSError, ValueError, subprocess.TimeoutExpired):
            continue
        if major >= MIN_LLVM:
            found.append((major, path, version))
    if not found:
        return None
    _, path, version = max(found)
    return path, version


def _required_cmake(tree: Path) -> tuple[int, int]:
    """The newest `cmake_minimum_required` of the tree and its FFI (apache-tvm-ffi asks for 3.26)."""
    versions = [(3, 0)]
    for path in (tree / "CMakeLists.txt", tree / "3rdparty" / "tvm-ffi" / "CMakeLists.txt"):
        try:
            found = re.search(r"cmake_minimum_required\s*\(\s*VERSION\s+(\d+)\.(\d+)", path.read_text(), re.I)
        except OSError:
            continue
        if found:
            versions.append((int(found.group(1)), int(found.group(2))))
    return max(versions)


def cmake_for(tree: Path, cache_dir: Path, say: Say) -> str:
    """A cmake of at least the tree's `cmake_minimum_required`: the system's, or PyPI's (installed once)."""
    return _cmake(_required_cmake(tree), cache_dir, say)


def _cmake(required: tuple[int, int], cache_dir: Path, say: Say) -> str:
    """A cmake of at least `required`: the system's, or PyPI's `cmake` in CACHE/builds/tools (installed once).

    Found out building apache/tvm main on Debian 12: its cmake is 3.25, apache-tvm-ffi needs 3.26.
    """
    system = shutil.which("cmake")
    try:
        out = subprocess.run([system, "--version"], capture_output=True, text=True, timeout=30).stdout
        version = tuple(int(x) for x in re.search(r"(\d+)\.(\d+)", out).groups())
    except (OSError, AttributeError, subprocess.TimeoutExpired):
        version = (0, 0)
    if version >= required:
        return system
    tools = Path(cache_dir) / "builds" / "tools"
    cmake = tools / "bin" / "cmake"
    if not cmake.is_file():
        wanted = ".".join(map(str, required))
        say(f"cmake {'.'.join(map(str, version))} is older than this commit's {wanted}: installing PyPI's cmake")
        tools.parent.mkdir(parents=True, exist_ok=True)
        with open(tools.parent / "tools.log", "w") as log:
            steps.run_step([sys.executable, "-m", "venv", str(tools)], log, say, "create the tools environment")
            steps.run_step([str(tools / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                           f"cmake>={wanted}"], log, say, "pip install cmake")  # fmt: skip
    return str(cmake)


def checkout(commit: Commit, tree: Path, log, say: Say) -> list[str]:
    """The persistent build worktree at the commit, with its submodules; build/ is kept (incremental).

    Returns the submodule fallbacks it took (builds/submodules.py), for build.json.
    """
    if not (tree / ".git").exists():
        shutil.rmtree(tree, ignore_errors=True)
        git(commit.checkout, "worktree", "prune")
        tree.parent.mkdir(parents=True, exist_ok=True)
        steps.run_step(
            ["git", "-C", str(commit.checkout), "worktree", "add", "--detach", "--force", str(tree), commit.sha],
            log, say, "git worktree add",
        )  # fmt: skip
    else:
        steps.run_step(["git", "-C", str(tree), "checkout", "--quiet", "--detach", "--force", commit.sha], log, say,
                      "git checkout")  # fmt: skip
        steps.run_step(["git", "-C", str(tree), "clean", "-ffdxq", "-e", "/build*"], log, say, "git clean")
    return submodules.update(tree, log, say)


def _libraries(build_dir: Path) -> list[Path]:
    found = {p.resolve() for pattern in ("libtvm*.so", "lib/libtvm*.so") for p in build_dir.glob(pattern)}
    return sorted(found)


def _interpreter(commit: Commit, tree: Path, cache_dir: Path, staging: Path, log, say: Say):
    """The environment commits of this native build run in: TVM's Python dependencies, the child's, the FFI.

    Shared with every native build that needs the same (builds/interpreters.py); the FFI wheel is also
    kept in the build (`wheels/`), so that an export carries it and another host installs it without a
    compiler (builds/transfer.py).
    """
    wheels = []
    if commit.ffi:
        wheel = interpreters.ffi_wheel(tree, commit.ffi, cache_dir, log, say)
        (staging / "wheels").mkdir(parents=True, exist_ok=True)
        shutil.copy2(wheel, staging / "wheels" / wheel.name)
        wheels = [staging / "wheels" / wheel.name]
    packages = [*environment.TVM_PYTHON_PACKAGES, *environment.CHILD_PACKAGES]
    return interpreters.interpreter(cache_dir, packages, wheels, log, say)
