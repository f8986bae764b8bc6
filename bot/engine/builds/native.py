"""Native builds of TVM, content-addressed by native key: built with cmake, or a released wheel's.

A native build is a folder `CACHE/builds/native/<native key>/` with
`build.json` (how it was made, from which commit, when, how long), the
libraries (`libtvm*.so`) and the interpreter that runs with them (a virtual
environment with apache-tvm-ffi and what TVM and perfbot's child scripts
import, but no `tvm` package of its own that matters: every commit brings its
own `python/tvm`, see overlays.py).

Built with cmake, the way docs/install/from_source.rst in apache/tvm
describes it: one persistent worktree of the checkout per cache
(`CACHE/builds/tree/<checkout>/`, checked out at the commit to build, with
its submodules) and one persistent build folder in it (`build/`), so a
nearby commit recompiles only what changed, behind ccache when it is
installed; Ninja when it is there, else make; LLVM from `llvm-config`
(Debian's `llvm-dev`). apache-tvm-ffi comes from the commit's own
`3rdparty/tvm-ffi` (TVM 0.22 on; older releases carry their FFI inside
`python/tvm`). The result is staged in `<key>.staging` and renamed into
place only when complete, so a half-built library is never used.

A released wheel can stand for a native build (`register_wheel`): its
`tvm/lib` and the pip environment it is installed in become the build of a
native key, so the first PR does not wait for hours of C++. That is sound
only when the commit's native sources are the release's; perfbot checks what
it can (the runtime sources and headers the wheel ships against the
commit's) and refuses a mismatch unless forced.

A build that fails leaves `<key>.broken` (why, then the end of the log):
later jobs report it at once as `build_error` instead of building again,
until asked to (`rebuild=True`, `perfbot build --rebuild`). A full disk (an
ENOSPC, the compiler saying so, or under LOW_DISK_BYTES left in the cache
after the failure) is reported the same way but not remembered: it says
nothing about the commit.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.console import Say
from bot.engine import envs
from bot.engine.builds.commits import Commit, git
from bot.errors import BuildFailed, EnvironmentBroken

#: cmake options of every native build (part of the native key through BUILD_RECIPE).
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DHIDE_PRIVATE_SYMBOLS=ON",
    "-DUSE_RPC=ON",
    "-DUSE_CUDA=OFF",
    "-DUSE_OPENCL=OFF",
    "-DUSE_VULKAN=OFF",
    "-DUSE_METAL=OFF",
)
#: Lines of a failed build's log that a PR comment shows.
LOG_TAIL = 25
#: TVM 0.22 and later refuse older LLVMs. Debian 12's `llvm-config` is 14, and its LLVM 15 lists a Polly library no
#: package ships: LLVM 16 (llvm-16-dev with libpolly-16-dev) is what built apache/tvm main here.
MIN_LLVM = 15
#: Submodules only GPU builds use: not fetched for a CPU build (they are large, and often not reachable).
GPU_SUBMODULES = (
    "3rdparty/cutlass",
    "3rdparty/cutlass_fpA_intB_gemm",
    "3rdparty/libflash_attn",
    "3rdparty/OpenCL-Headers",
    "3rdparty/flashinfer",
    "3rdparty/nvbench",
    "3rdparty/mscclpp",
    "3rdparty/tensorrt_llm",
)


@dataclass(frozen=True)
class NativeBuild:
    """A usable native build: where its libraries and its interpreter are, and how it was made."""

    key: str
    folder: Path
    lib: Path
    python: Path
    info: dict

    @property
    def how(self) -> str:
        return self.info.get("how", "?")


def root(cache_dir: Path) -> Path:
    return Path(cache_dir) / "builds" / "native"


def find(cache_dir: Path, key: str) -> NativeBuild | None:
    """The finished build of a native key, or None."""
    folder = root(cache_dir) / key
    try:
        info = json.loads((folder / "build.json").read_text())
    except (OSError, ValueError):
        return None
    return NativeBuild(key, folder, Path(info["lib"]), Path(info["python"]), info)


def broken_reason(cache_dir: Path, key: str) -> str | None:
    """Why the build of a key failed before (its first line), or None."""
    try:
        return (root(cache_dir) / f"{key}.broken").read_text().split("\n", 1)[0]
    except OSError:
        return None


def forget(cache_dir: Path, key: str) -> None:
    """Throw a build (finished, broken or half-made) away, for a rebuild."""
    base = root(cache_dir)
    for path in (base / key, base / f"{key}.staging"):
        shutil.rmtree(path, ignore_errors=True)
    (base / f"{key}.broken").unlink(missing_ok=True)


def touch(build: NativeBuild) -> None:
    """Remember that the build was used now (`perfbot builds` shows it)."""
    try:
        (build.folder / "last-used").write_text(_now())
    except OSError:
        pass


# -- a released wheel as the native build -------------------------------------------------------


def register_wheel(
    commit: Commit, spec: str, cache_dir: Path, say: Say | None = None, *, force: bool = False
) -> NativeBuild:
    """Make a released apache-tvm's libraries the native build of the commit's native key.

    `spec` is `pip:apache-tvm==X` (installed into its own pip environment by
    bot/engine/envs.py, with its known-good apache-tvm-ffi) or `python:PATH`
    (an interpreter that has the release installed already, such as the one
    perfbot runs in). That interpreter runs every commit that shares the key,
    with the commit's own python/tvm in front of the release's. Refused when
    the runtime sources or headers the release ships differ from the
    commit's, unless `force`.
    """
    say = say or (lambda line: None)
    if not spec.startswith(("pip:", "python:")):
        spec = f"pip:{spec}"  # a bare requirement, as `--native-from apache-tvm==0.27.0.post1`
    env = envs.provision(spec, cache_dir, say=say)
    site = _site_packages(env.python)
    lib = site / "tvm" / "lib"
    if not any(lib.glob("libtvm*.so")):
        raise BuildFailed(f"{spec}: no libtvm*.so in {lib}; is apache-tvm installed there?")
    differences = wheel_differences(commit, site / "tvm")
    if differences and not force:
        shown = ", ".join(differences[:3]) + (f" and {len(differences) - 3} more" if len(differences) > 3 else "")
        raise BuildFailed(
            f"{commit.checkout}@{commit.short}: its native sources differ from {spec}'s in "
            f"{len(differences)} file(s) ({shown}); that release's libraries would not be this commit's: "
            "build it (`perfbot build` without --native-from), or pass --force if you know the rest matches"
        )
    info = {
        "how": "wheel",
        "requirement": spec.removeprefix("pip:"),
        "commit": commit.sha,
        "checkout": str(commit.checkout),
        "lib": str(lib),
        "python": str(env.python),
        "env": str(env.python.parent.parent),
        "created": _now(),
        "checked_files": _checked_count(site / "tvm"),
        "differences": len(differences),
        "forced": bool(differences),
    }
    folder = root(cache_dir) / commit.native_key
    with envs.locked(folder.with_suffix(".lock")):
        staging = folder.with_name(folder.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / "build.json").write_text(json.dumps(info, indent=2))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
        (root(cache_dir) / f"{commit.native_key}.broken").unlink(missing_ok=True)
    say(f"native build {commit.native_key}: the libraries of {spec} ({info['checked_files']} runtime files checked)")
    return find(cache_dir, commit.native_key)


def wheel_differences(commit: Commit, package: Path) -> list[str]:
    """Files the wheel ships in tvm/src/ and tvm/include/ that the commit has otherwise (or not at all)."""
    ours: dict[str, str] = {}
    for line in git(commit.checkout, "ls-tree", "-r", commit.sha, "--", "src", "include").splitlines():
        meta, _, path = line.partition("\t")
        ours[path] = meta.split()[2]
    differences = []
    for top in ("src", "include"):
        for path in sorted((package / top).rglob("*")):
            if path.is_file():
                relative = path.relative_to(package).as_posix()
                if ours.get(relative) != _blob_hash(path.read_bytes()):
                    differences.append(relative)
    return differences


def _checked_count(package: Path) -> int:
    return sum(1 for top in ("src", "include") for p in (package / top).rglob("*") if p.is_file())


def _blob_hash(data: bytes) -> str:
    """The hash git gives a file's content (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _site_packages(python: Path) -> Path:
    found = sorted((python.parent.parent / "lib").glob("python3*/site-packages"))
    if not found:
        raise BuildFailed(f"{python}: no site-packages next to this interpreter")
    return found[0]


# -- a cmake build --------------------------------------------------------------------------------


def build(commit: Commit, cache_dir: Path, say: Say | None = None, *, jobs: int | None = None) -> NativeBuild:
    """Build the commit's native libraries with cmake (see the module docstring), or BuildFailed."""
    say = say or (lambda line: None)
    cache_dir = Path(cache_dir)
    key = commit.native_key
    folder = root(cache_dir) / key
    tools = _tools()
    tree = cache_dir / "builds" / "tree" / hashlib.sha256(str(commit.checkout).encode()).hexdigest()[:12]
    log_path = folder.with_suffix(".log")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(folder.name + ".staging")
    started = time.monotonic()
    with envs.locked(tree.with_suffix(".lock")), open(log_path, "w") as log:
        log.write(f"# native build {key} of {commit.checkout}@{commit.sha} ({commit.layout})\n")
        try:
            _checkout(commit, tree, log, say)
            build_dir = tree / "build"
            launcher = ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"]
            llvm = f"-DUSE_LLVM={tools['llvm_config']} --ignore-libllvm --link-static"
            cmake = _cmake(_required_cmake(tree), cache_dir, say)
            configure = [cmake, "-S", str(tree), "-B", str(build_dir), "-G", tools["generator"], *CMAKE_OPTIONS, llvm]
            if tools["ccache"]:
                configure += launcher
            variables = {**os.environ, "CCACHE_DIR": str(cache_dir / "ccache"), "CCACHE_BASEDIR": str(tree)}
            envs.run_step(configure, log, say, "cmake configure", env=variables)
            parallel = ["--parallel", str(jobs or os.cpu_count() or 2)]
            envs.run_step([cmake, "--build", str(build_dir), *parallel], log, say, "cmake --build", env=variables)
            shutil.rmtree(staging, ignore_errors=True)
            (staging / "lib").mkdir(parents=True)
            libraries = _libraries(build_dir)
            if not libraries:
                raise BuildFailed(f"cmake built no libtvm*.so in {build_dir}")
            for library in libraries:
                shutil.copy2(library, staging / "lib" / library.name)
            _interpreter(commit, tree, staging / "venv", log, say)
            info = {
                "how": "cmake",
                "commit": commit.sha,
                "checkout": str(commit.checkout),
                "layout": commit.layout,
                "lib": str(folder / "lib"),
                "python": str(folder / "venv" / "bin" / "python"),
                "options": [*CMAKE_OPTIONS, llvm],
                "llvm": tools["llvm_version"],
                "cmake": cmake,
                "generator": tools["generator"],
                "ccache": tools["ccache"],
                "created": _now(),
                "seconds": round(time.monotonic() - started, 1),
            }
            (staging / "build.json").write_text(json.dumps(info, indent=2))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(staging, folder)
        except (EnvironmentBroken, OSError) as e:
            shutil.rmtree(staging, ignore_errors=True)
            log.flush()
            reason = _reason(e, log_path.read_text(errors="replace"), cache_dir)
            log.write(f"perfbot: {reason}\n")
            log.flush()
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL:])
            if not reason.startswith("no space left"):  # a full disk says nothing about the commit: retry next time
                (root(cache_dir) / f"{key}.broken").write_text(f"{reason}\n{tail}\n")
            raise BuildFailed(f"native build of {commit.short} failed: {reason}; log: {log_path}\n{tail}") from None
    say(f"native build {key} ready in {time.monotonic() - started:.0f} s")
    return find(cache_dir, key)


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
    first_error = next(
        (line.strip() for line in log.splitlines() if " error: " in line or line.startswith("error:")), None
    )
    return f"{step}; {first_error[:300]}" if first_error else step


def _tools() -> dict:
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
    llvm = _llvm_config()
    if llvm is None:
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
        "llvm_config": llvm[0],
        "llvm_version": llvm[1],
    }


def _llvm_config() -> tuple[str, str] | None:
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
            envs.run_step([sys.executable, "-m", "venv", str(tools)], log, say, "create the tools environment")
            envs.run_step([str(tools / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                           f"cmake>={wanted}"], log, say, "pip install cmake")  # fmt: skip
    return str(cmake)


def _checkout(commit: Commit, tree: Path, log, say: Say) -> None:
    """The persistent build worktree at the commit, with its submodules; build/ is kept (incremental)."""
    if not (tree / ".git").exists():
        shutil.rmtree(tree, ignore_errors=True)
        git(commit.checkout, "worktree", "prune")
        tree.parent.mkdir(parents=True, exist_ok=True)
        envs.run_step(
            ["git", "-C", str(commit.checkout), "worktree", "add", "--detach", "--force", str(tree), commit.sha],
            log, say, "git worktree add",
        )  # fmt: skip
    else:
        envs.run_step(["git", "-C", str(tree), "checkout", "--quiet", "--detach", "--force", commit.sha], log, say,
                      "git checkout")  # fmt: skip
        envs.run_step(["git", "-C", str(tree), "clean", "-ffdxq", "-e", "/build"], log, say, "git clean")
    paths = git(tree, "config", "--file", ".gitmodules", "--get-regexp", r"\.path$", check=False).split()[1::2]
    wanted = [path for path in paths if path not in GPU_SUBMODULES]
    if wanted:  # the user's submodule URLs (.git/config, shared by worktrees) are honoured, local mirrors too
        update = ["git", "-c", "protocol.file.allow=always", "-C", str(tree), "submodule", "update", "--init"]
        envs.run_step([*update, "--recursive", "--", *wanted], log, say, "git submodule update")


def _libraries(build_dir: Path) -> list[Path]:
    found = {p.resolve() for pattern in ("libtvm*.so", "lib/libtvm*.so") for p in build_dir.glob(pattern)}
    return sorted(found)


def _interpreter(commit: Commit, tree: Path, venv: Path, log, say: Say) -> None:
    """The environment commits of this native build run in: TVM's Python dependencies, the child's, the FFI."""
    envs.run_step([sys.executable, "-m", "venv", str(venv)], log, say, "create virtual environment")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    packages = [*envs.TVM_PYTHON_PACKAGES, *envs.CHILD_PACKAGES]
    if packages:
        envs.run_step([*pip, *packages], log, say, "pip install dependencies")
    if commit.has_ffi:
        envs.run_step([*pip, str(tree / "3rdparty" / "tvm-ffi")], log, say, "pip install 3rdparty/tvm-ffi")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
