"""The Python environments native builds run in, and the FFI wheels in them: made once, shared by every build.

A native build's interpreter holds no TVM of its own (each commit brings its
python/tvm, and TVM_LIBRARY_PATH names its build's libraries): only TVM's
Python dependencies, the child scripts' and apache-tvm-ffi. So every native
build that needs the same packages and the same FFI shares one virtual
environment (`CACHE/builds/venvs/<key>/`, keyed by the Python version, the
requirements and the wheels' SHA-256), and the FFI wheel is built once per
3rdparty/tvm-ffi commit (`CACHE/builds/ffi/<commit>-py3.X/`), by an
environment of the same kind that holds its build requirements, from a
cmake folder kept per worktree. A one-file C++ change then costs its compile
and link, not a new environment (about a minute here) and a new FFI build
(two and a half minutes).

Both are made in a staging folder and renamed into place when complete, under
a lock, like everything in the build cache.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.console import Say
from bot.engine import steps
from bot.errors import BuildFailed

MARKER = "venv.json"


@dataclass(frozen=True)
class Interpreter:
    """A shared environment: its python, and what it holds pinned (`pip freeze`, the wheels left out)."""

    key: str
    python: Path
    frozen: list[str]


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def interpreter(cache_dir: Path, packages: list[str], wheels: list[Path], log, say: Say) -> Interpreter:
    """The environment with `packages` (from the package index) and `wheels` (files), made if needed."""
    recipe = [python_version(), *sorted(packages), *sorted(_sha256(w) for w in wheels)]
    key = hashlib.sha256("\n".join(recipe).encode()).hexdigest()[:16]
    folder = Path(cache_dir) / "builds" / "venvs" / key
    with steps.locked(folder.with_name(f"{key}.lock")):
        if not (folder / MARKER).is_file():
            with steps.staged(folder) as staging:
                frozen = _make(staging, packages, wheels, log, say)
                info = {"packages": packages, "wheels": [w.name for w in wheels], "frozen": frozen}
                (staging / MARKER).write_text(json.dumps(info, indent=2))
            # a virtual environment names its own folder in its scripts; a renamed one runs through bin/python only
        else:
            say(f"environment {key} (the same packages{' and FFI' if wheels else ''}) serves this build")
    frozen = json.loads((folder / MARKER).read_text())["frozen"]
    return Interpreter(key, folder / "bin" / "python", frozen)


def ffi_wheel(tree: Path, ffi_commit: str, cache_dir: Path, log, say: Say) -> Path:
    """apache-tvm-ffi built from the worktree's 3rdparty/tvm-ffi, once per its commit and Python version.

    Its cmake build folder is kept between commits of a worktree (scikit-build-core's `build-dir`), so a
    commit that changes one file of tvm-ffi recompiles that file, not the whole FFI and its Cython core.
    That needs the same build tools at the same paths every time: pip's isolated build environment is a
    new temporary folder per build, and cmake, given another cmake and cython than the folder was
    configured with, rebuilt all of it (measured on the tests' stand-in tree: 145 s with no file changed,
    against 1 s, and 7 s for one changed .cc, in `build_interpreter`'s environment).
    """
    base = Path(cache_dir) / "builds" / "ffi"
    folder = base / f"{ffi_commit[:16]}-py{python_version()}"
    source = tree / "3rdparty" / "tvm-ffi"
    with steps.locked(base / f"{folder.name}.lock"):
        found = sorted(folder.glob("*.whl"))
        if found:
            say(f"apache-tvm-ffi of 3rdparty/tvm-ffi {ffi_commit[:10]} was built before: {found[0].name}")
            return found[0]
        builder = build_interpreter(source, cache_dir, log, say)
        # one per worktree and build environment: cmake ties a build folder to its sources and its tools
        build_dir = base / f"build-{tree.name}-{builder.key[:8]}-py{python_version()}"
        with steps.locked(base / f"{build_dir.name}.lock"), steps.staged(folder) as staging:
            wheel = [str(builder.python), "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                     "--disable-pip-version-check", "--progress-bar", "off", f"--config-settings=build-dir={build_dir}",
                     "--wheel-dir", str(staging), str(source)]  # fmt: skip
            steps.run_step(wheel, log, say, "pip wheel 3rdparty/tvm-ffi")
    return sorted(folder.glob("*.whl"))[0]


#: What a build of apache-tvm-ffi needs besides its pyproject's build requirements: scikit-build-core asks
#: for these only when the machine has no recent enough ones, which an environment made once cannot ask.
BUILD_TOOLS = ("cmake", "ninja")


def build_interpreter(source: Path, cache_dir: Path, log, say: Say) -> Interpreter:
    """The environment that builds an FFI wheel: its pyproject's [build-system] requires and BUILD_TOOLS,
    made once per requirement list (like every environment here) and kept, so its paths stay the same."""
    pyproject = source / "pyproject.toml"
    try:
        requires = tomllib.loads(pyproject.read_text())["build-system"]["requires"]
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            raise TypeError(f"requires = {requires!r} is not a list of requirements")
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as e:
        raise BuildFailed(f"{pyproject}: no [build-system] requires to build apache-tvm-ffi with ({e})") from e
    return interpreter(cache_dir, [*requires, *BUILD_TOOLS], [], log, say)


def _make(venv: Path, packages: list[str], wheels: list[Path], log, say: Say) -> list[str]:
    steps.run_step([sys.executable, "-m", "venv", str(venv)], log, say, "create virtual environment")
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    if packages:
        steps.run_step([*pip, *packages], log, say, "pip install dependencies")
    if wheels:
        steps.run_step(
            [*pip, "--no-deps", *map(str, wheels)], log, say, "pip install " + " ".join(w.name for w in wheels)
        )
    frozen = subprocess.run([python, "-m", "pip", "freeze", "--disable-pip-version-check"], capture_output=True,
                            text=True, timeout=300, stdin=subprocess.DEVNULL).stdout.splitlines()  # fmt: skip
    from_wheels = {_name(w.name.split("-")[0]) for w in wheels}
    return [line.strip() for line in frozen if line.strip() and _name(line) not in from_wheels]


def _name(requirement: str) -> str:
    """The normalised project name of `pkg==1.0`, `pkg @ file:///...` or a wheel's `pkg_name`."""
    return re.split(r"[=@<>~! \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
