"""The AArch64 TVM runtime of a native build, cross-built from the same sources: what ARM runs its modules with.

Modules compiled by a commit's TVM should run on ARM with that commit's
runtime (thread pool, VM, memory planning, packed calls), not the release
wheel's. Each cmake-built native build therefore also gets
`libtvm_runtime.so` for aarch64, built from the same worktree with
`aarch64-linux-gnu-g++` (Debian's g++-aarch64-linux-gnu) in a persistent
second build folder (`build-aarch64/`, behind the same ccache): TVM's own
CMake, `--target tvm_runtime`, without LLVM (a runtime needs no compiler).

It is keyed by the runtime's sources (commits.py `runtime_key`: src/runtime,
src/support, the runtime headers, the build files and 3rdparty/) and the
cross compiler's version, so a commit that changes only the compiler (most
C++ PRs: passes, codegen) shares its base's AArch64 runtime and builds none.

Contract (for the boards that serve modules, bot/engine/boards/):

    aarch64_runtime(cache_dir, native_key) -> Path | None

is the folder `CACHE/builds/aarch64/<key>/` of the native build's runtime,
or None (not built: a wheel registered as the native build, whose runtime is
the release's aarch64 wheel; no cross compiler; the cross build failed, see
`<key>.broken`). In it, `lib/libtvm_runtime.so` (and `lib/libtvm_ffi.so`,
the commit's tvm-ffi, for C++ clients), and `runtime.json` (key, commit,
compiler, seconds, bytes, and the check under qemu when one was run). To run
a commit's TVM with it in an AArch64 Python (the emulated user space's, or a
board's), set

    PYTHONPATH=<the commit's overlay>/python:<site with apache-tvm-ffi, numpy>
    TVM_LIBRARY_PATH=<folder>/lib
    TVM_USE_RUNTIME_LIB=1

(`variables()` gives the last two). `import tvm` then imports the commit's
own python/tvm in TVM's runtime-only mode and loads this libtvm_runtime.so;
libtvm_ffi.so is the one the site's apache-tvm-ffi package loads first (the
runtime's DT_NEEDED binds to it), so the FFI under ARM is the site's wheel,
not the commit's: `check()` runs exactly this under qemu and records what
was loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from bot.console import Say
from bot.engine import steps
from bot.engine.builds import cmake, native
from bot.engine.builds.commits import Commit
from bot.engine.builds.native import NativeBuild
from bot.errors import EnvironmentBroken

CROSS_CC = "aarch64-linux-gnu-gcc"
CROSS_CXX = "aarch64-linux-gnu-g++"
#: Bump when the cross build's options change.
RECIPE = "perfbot-aarch64-1"
#: TVM's CMake for a runtime only, cross-compiled: no LLVM, no Z3 (a host library), no host linker choice.
CROSS_OPTIONS = (
    "-DCMAKE_SYSTEM_NAME=Linux",
    "-DCMAKE_SYSTEM_PROCESSOR=aarch64",
    f"-DCMAKE_C_COMPILER={CROSS_CC}",
    f"-DCMAKE_CXX_COMPILER={CROSS_CXX}",
    "-DCMAKE_BUILD_TYPE=Release",
    "-DHIDE_PRIVATE_SYMBOLS=ON",
    "-DUSE_RPC=ON",
    "-DUSE_LLVM=OFF",
    "-DUSE_Z3=OFF",
    "-DUSE_GTEST=OFF",
    "-DUSE_ALTERNATIVE_LINKER=OFF",
    "-DUSE_CCACHE=OFF",
    "-DUSE_CUDA=OFF",
    "-DUSE_OPENCL=OFF",
    "-DUSE_VULKAN=OFF",
    "-DUSE_METAL=OFF",
)
#: What the cross build keeps: the runtime, and the FFI it was built against where the tree has one (TVM >= 0.22).
LIBRARIES = ("libtvm_runtime.so", "libtvm_ffi.so")
#: ELF e_machine of AArch64.
EM_AARCH64 = 183
#: Where a native build says which AArch64 runtime is its own.
POINTER = "aarch64.json"


def root(cache_dir: Path) -> Path:
    return Path(cache_dir) / "builds" / "aarch64"


def aarch64_runtime(cache_dir: Path, native_key: str) -> Path | None:
    """The AArch64 runtime folder of a native build (see the module docstring), or None."""
    try:
        key = json.loads((native.root(cache_dir) / native_key / POINTER).read_text())["key"]
    except (OSError, ValueError, KeyError):
        return None
    folder = root(cache_dir) / key
    return folder if (folder / "runtime.json").is_file() else None


def variables(folder: Path) -> dict[str, str]:
    """What makes `import tvm` in an AArch64 Python load this runtime (PYTHONPATH is the caller's)."""
    return {"TVM_LIBRARY_PATH": str(folder / "lib"), "TVM_USE_RUNTIME_LIB": "1"}


def compiler_version() -> str | None:
    """`aarch64-linux-gnu-g++ (Debian 12.2.0-14) 12.2.0`, or None when there is no cross compiler."""
    if shutil.which(CROSS_CXX) is None:
        return None
    try:
        out = subprocess.run([CROSS_CXX, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout.splitlines() or [None])[0]


def key_of(runtime_key: str, compiler: str) -> str:
    return hashlib.sha256(f"{RECIPE}\n{runtime_key}\n{compiler}".encode()).hexdigest()[:24]


def ensure(commit: Commit, build: NativeBuild, cache_dir: Path, say: Say | None = None) -> Path | None:
    """The native build's AArch64 runtime, cross-built when its runtime key has none yet; None when it cannot be.

    Never fails the host's build: a failed cross build is remembered (`<key>.broken`, until `forget`) and said.
    """
    say = say or (lambda line: None)
    if build.how != "cmake":
        return None  # a release's libraries: its runtime on ARM is the release's aarch64 wheel
    found = aarch64_runtime(cache_dir, build.key)
    if found is not None:
        return found
    compiler = compiler_version()
    if compiler is None:
        say(f"no {CROSS_CXX}: no AArch64 runtime for {commit.short} (apt-get install g++-aarch64-linux-gnu)")
        return None
    key = key_of(commit.runtime_key, compiler)
    folder = root(cache_dir) / key
    broken = folder.with_suffix(".broken")
    if broken.is_file():
        say(f"AArch64 runtime {key} failed before: {broken.read_text().splitlines()[0]} (--rebuild tries again)")
        return None
    if not (folder / "runtime.json").is_file():
        try:
            _cross_build(commit, key, compiler, cache_dir, say)
        except EnvironmentBroken as e:
            say(str(e).splitlines()[0])
            return None
    else:
        say(f"AArch64 runtime {key} (same runtime sources) serves {commit.short}")
    point(build, key)
    return folder


def forget(cache_dir: Path, commit: Commit) -> None:
    """Throw away the AArch64 runtime of the commit's runtime sources (finished, broken or half-made)."""
    compiler = compiler_version()
    if compiler is None:
        return
    folder = root(cache_dir) / key_of(commit.runtime_key, compiler)
    steps.discard(folder)
    folder.with_suffix(".broken").unlink(missing_ok=True)


def _cross_build(commit: Commit, key: str, compiler: str, cache_dir: Path, say: Say) -> None:
    tools = cmake.tools_at_hand(llvm=False)
    tree = cmake.worktree(commit, cache_dir)
    folder = root(cache_dir) / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    log_path = folder.with_suffix(".log")
    started = time.monotonic()
    say(f"AArch64 runtime {key}: cross-building {commit.short}'s libtvm_runtime with {CROSS_CXX}")
    with steps.locked(tree.with_suffix(".lock")), open(log_path, "w") as log:
        log.write(f"# AArch64 runtime {key} of {commit.checkout}@{commit.sha} with {compiler}\n")
        try:
            cmake.checkout(commit, tree, log, say)
            binary = cmake.cmake_for(tree, cache_dir, say)
            build_dir = tree / "build-aarch64"
            cmake.compile_tree(binary, tree, build_dir, CROSS_OPTIONS, tools, cache_dir, log, say, target="tvm_runtime")
            with steps.staged(folder) as staging:
                (staging / "lib").mkdir(parents=True)
                for name in LIBRARIES:
                    _copy_aarch64(build_dir, name, staging / "lib", required=name == "libtvm_runtime.so")
                info = {
                    "key": key,
                    "runtime_key": commit.runtime_key,
                    "commit": commit.sha,
                    "checkout": str(commit.checkout),
                    "compiler": compiler,
                    "options": list(CROSS_OPTIONS),
                    "libraries": {p.name: p.stat().st_size for p in sorted((staging / "lib").iterdir())},
                    "bytes": sum(p.stat().st_size for p in (staging / "lib").iterdir()),
                    "created": native.now(),
                    "seconds": round(time.monotonic() - started, 1),
                }
                (staging / "runtime.json").write_text(json.dumps(info, indent=2))  # last: a folder with it is whole
        except (EnvironmentBroken, OSError) as e:
            cmake.failed(
                e, log, log_path, cache_dir, folder.with_suffix(".broken"), f"AArch64 runtime of {commit.short}"
            )
    say(f"AArch64 runtime {key} ready in {time.monotonic() - started:.0f} s")


def _copy_aarch64(build_dir: Path, name: str, into: Path, required: bool) -> None:
    """The library the cross build made (checked to be AArch64 code), copied with its symlinks resolved."""
    found = sorted({p.resolve() for p in build_dir.rglob(name) if "CMakeFiles" not in p.parts})
    if not found:
        if required:
            raise EnvironmentBroken(f"the cross build made no {name} under {build_dir}")
        return
    if not is_aarch64(found[0]):
        raise EnvironmentBroken(f"{found[0]} is not an AArch64 shared library")
    shutil.copy2(found[0], into / name)


def is_aarch64(path: Path) -> bool:
    """Whether a file is an ELF object for AArch64 (its header's e_machine)."""
    with open(path, "rb") as library:
        header = library.read(20)
    return header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == EM_AARCH64


def point(build: NativeBuild, key: str) -> None:
    """Make `key` the AArch64 runtime of a native build (after a cross build, or an import)."""
    pointer = build.folder / POINTER
    temporary = pointer.with_suffix(".tmp")
    temporary.write_text(json.dumps({"key": key}))
    os.replace(temporary, pointer)


#: Run under qemu by `check`: which libraries `import tvm` mapped (qemu's user mode shows the guest's maps).
PROBE = """
import os, tvm
maps = open("/proc/self/maps").read().split()
loaded = sorted({os.path.realpath(p) for p in maps if p.startswith("/") and os.path.basename(p).startswith("libtvm")})
print("tvm", tvm.__version__, "from", os.path.dirname(os.path.realpath(tvm.__file__)))
for path in loaded:
    print("loaded", path)
"""


def check(folder: Path, python_dir: Path, command: list[str], env: dict[str, str], timeout_s: float = 600) -> dict:
    """Run `import tvm` with this runtime in an AArch64 Python (`command`: qemu and the interpreter) and record it.

    `python_dir` is a commit's overlay python/ (its own tvm package); `env` the
    AArch64 Python's environment (its site on PYTHONPATH), which this extends.
    Returns what was loaded; EnvironmentBroken when `import tvm` fails or this
    runtime is not the libtvm_runtime.so it loaded. The result is kept in runtime.json, and a second
    check with the same python/ returns it without running qemu again.
    """
    done = json.loads((folder / "runtime.json").read_text()).get("checked")
    if done and done.get("python") == str(python_dir):
        return done  # this runtime with this python/ was seen to load: once is enough
    env = {**env, **variables(folder)}
    env["PYTHONPATH"] = os.pathsep.join([str(python_dir), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    started = time.monotonic()
    try:
        out = subprocess.run([*command, "-c", PROBE], capture_output=True, text=True, timeout=timeout_s, env=env,
                             stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        raise EnvironmentBroken(f"AArch64 runtime {folder.name}: `import tvm` under qemu did not run: {e}") from None
    output = out.stdout + out.stderr
    loaded = [line.split(" ", 1)[1] for line in out.stdout.splitlines() if line.startswith("loaded ")]
    runtime = [path for path in loaded if os.path.basename(path) == "libtvm_runtime.so"]
    if out.returncode != 0 or runtime != [str((folder / "lib" / "libtvm_runtime.so").resolve())]:
        raise EnvironmentBroken(
            f"AArch64 runtime {folder.name}: `import tvm` under qemu did not load it "
            f"(exit {out.returncode}; loaded {runtime or 'no libtvm_runtime.so'}): {steps.last_line(output)}"
        )
    result = {"import_s": round(time.monotonic() - started, 1), "tvm": out.stdout.split()[1], "loaded": loaded}
    info = json.loads((folder / "runtime.json").read_text())
    info["checked"] = {**result, "python": str(python_dir), "at": native.now()}
    (folder / "runtime.json").write_text(json.dumps(info, indent=2))
    return result
