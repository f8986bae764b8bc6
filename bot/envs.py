"""TVM builds under test, each in an environment of its own.

The bot never imports the TVM it measures: it provisions an environment per
build and runs bot/worker.py with that environment's interpreter. Specs:

- `python:PATH`: an interpreter that already has TVM (the default is the one
  perfbot itself runs in).
- `pip:REQUIREMENT`, e.g. `pip:apache-tvm==0.26.0`: a virtual environment in
  the cache with that release, its known-good apache-tvm-ffi (bot/compat.py)
  and what the worker imports. About 1-2 minutes to build from PyPI here,
  then reused.
- `source:CHECKOUT@SHA`: a TVM git checkout built with cmake, LLVM and ccache,
  the way a PR is built, then installed into a virtual environment. A cold
  build of TVM is roughly 30-60 minutes on 2 cores and 8-15 with 16 (an
  estimate from TVM's own CI, not measured here); ccache makes rebuilds of a
  nearby commit a few minutes.

Environments are built in a staging folder, checked by importing TVM with
them, then moved into place, so a half-built one is never used. A build that
fails leaves a `.broken` note with its log: later runs report it as an
environment error at once instead of rebuilding on every run, until
`rebuild=True` (`--rebuild`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bot import compat
from bot.errors import EnvironmentBroken, UnknownName

#: What the worker and the TFLite import need besides TVM itself.
WORKER_PACKAGES = ("numpy", "tflite>=2.18", "xgboost-cpu", "tornado", "psutil", "cloudpickle")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Environment:
    key: str  # the spec, normalised: what runs record
    python: Path


def default() -> str:
    return f"python:{sys.executable}"


def provision(spec: str, cache_dir: Path, progress: Progress | None = None, rebuild: bool = False) -> Environment:
    """The environment for a spec, built if needed, or EnvironmentBroken/UnknownName in one line."""
    progress = progress or (lambda line: None)
    kind, _, rest = spec.partition(":")
    if kind == "python" and rest:
        return _python(rest)
    if kind == "pip" and rest:
        return _pip(rest.strip(), Path(cache_dir), progress, rebuild)
    if kind == "source" and "@" in rest:
        checkout, _, sha = rest.rpartition("@")
        return _source(Path(checkout), sha, Path(cache_dir), progress, rebuild)
    raise UnknownName(f"environment {spec!r}: expected python:PATH, pip:REQUIREMENT or source:CHECKOUT@SHA")


def _python(path: str) -> Environment:
    python = Path(path).expanduser()
    if not python.is_file() or not os.access(python, os.X_OK):
        raise EnvironmentBroken(f"python:{path}: no executable interpreter there")
    return Environment(f"python:{python}", python)


# -- pip --------------------------------------------------------------------------------

def pip_requirements(requirement: str) -> list[str]:
    """What a pip environment installs: the requirements given (space-separated), the known-good
    apache-tvm-ffi for the TVM release unless one is pinned, and the worker's needs.

    A pair known to break is refused with the reason, before anything is downloaded.
    """
    wanted = requirement.split()
    pins = dict(m.groups() for r in wanted if (m := re.fullmatch(r"(apache-tvm(?:-ffi)?)(?:\[[\w,]+\])?==([\w.]+)", r)))
    tvm, ffi = pins.get("apache-tvm"), pins.get("apache-tvm-ffi")
    if tvm and ffi and (pair := compat.broken(tvm, ffi)):
        raise EnvironmentBroken(f"pip:{requirement}: apache-tvm {tvm} with apache-tvm-ffi {ffi} {pair.note}; "
                                f"use apache-tvm-ffi=={compat.companion(tvm)}")
    if tvm and not ffi and compat.companion(tvm):
        wanted.append(f"apache-tvm-ffi=={compat.companion(tvm)}")
    return wanted + list(WORKER_PACKAGES)


def folder_for(key: str, cache_dir: Path) -> Path:
    kind = key.split(":", 1)[0]
    return cache_dir / "envs" / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _pip(requirement: str, cache_dir: Path, progress: Progress, rebuild: bool) -> Environment:
    requirement = " ".join(requirement.split())
    key = f"pip:{requirement}"
    packages = pip_requirements(requirement)

    def build(staging: Path, log) -> None:
        _step([sys.executable, "-m", "venv", str(staging)], log, progress, "create virtual environment")
        _step([str(staging / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
               "--progress-bar", "off", *packages], log, progress, f"pip install {' '.join(packages)}")

    return _cached(key, cache_dir, build, progress, rebuild, recipe="\n".join(packages))


# -- source -----------------------------------------------------------------------------

def source_plan(checkout: Path, sha: str, staging: Path, ccache_dir: Path) -> list[list[str]]:
    """The commands a source build runs, in order (a TVM PR is built exactly like this)."""
    build = staging / "build"
    return [
        ["git", "-C", str(checkout), "fetch", "--quiet", "origin", sha],
        ["git", "-C", str(checkout), "checkout", "--quiet", "--detach", sha],
        ["git", "-C", str(checkout), "submodule", "update", "--init", "--recursive", "--quiet"],
        ["cmake", "-S", str(checkout), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
         "-DUSE_LLVM=llvm-config --ignore-libllvm --link-static", "-DUSE_RPC=ON",
         "-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"],
        ["cmake", "--build", str(build), "--parallel"],
        [sys.executable, "-m", "venv", str(staging / "venv")],
        [str(staging / "venv" / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
         *WORKER_PACKAGES],
        [str(staging / "venv" / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
         "--no-deps", "-e", str(checkout / "python")],
    ]


def source_env(ccache_dir: Path, build: Path) -> dict[str, str]:
    return {**os.environ, "CCACHE_DIR": str(ccache_dir), "TVM_LIBRARY_PATH": str(build)}


def _source(checkout: Path, sha: str, cache_dir: Path, progress: Progress, rebuild: bool) -> Environment:
    if not re.fullmatch(r"[0-9a-fA-F]{7,40}", sha):
        raise UnknownName(f"source:{checkout}@{sha}: {sha!r} is not a commit SHA")
    if not (checkout / ".git").exists():
        raise EnvironmentBroken(f"source:{checkout}@{sha}: {checkout} is not a git checkout of TVM")
    missing = [tool for tool in ("git", "cmake", "ninja", "ccache", "llvm-config") if shutil.which(tool) is None]
    if missing:
        raise EnvironmentBroken(f"source:{checkout}@{sha}: missing build tools: {', '.join(missing)} "
                                f"(apt-get install git cmake ninja-build ccache llvm-dev)")
    key = f"source:{checkout.resolve()}@{sha}"
    ccache_dir = cache_dir / "ccache"

    def build(staging: Path, log) -> None:
        env = source_env(ccache_dir, staging / "build")
        for command in source_plan(checkout, sha, staging, ccache_dir):
            _step(command, log, progress, " ".join(command[:3]), env=env)

    return _cached(key, cache_dir, build, progress, rebuild, recipe=key, python_in="venv/bin/python")


# -- the cache ----------------------------------------------------------------------------

def _cached(key: str, cache_dir: Path, build, progress: Progress, rebuild: bool, recipe: str,
            python_in: str = "bin/python") -> Environment:
    folder = folder_for(key, cache_dir)
    broken_note = folder.with_suffix(".broken")
    python = folder / python_in
    recipe_file = folder / "perfbot-recipe.txt"
    if rebuild:
        shutil.rmtree(folder, ignore_errors=True)
        broken_note.unlink(missing_ok=True)
    if folder.is_dir() and recipe_file.is_file() and recipe_file.read_text() == recipe:
        return Environment(key, python)
    if broken_note.is_file() and broken_note.read_text().split("\n", 1)[0] == _digest(recipe):
        raise EnvironmentBroken(f"{key}: environment failed to build before; log: {broken_note} "
                                f"(rebuild with --rebuild)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(folder.name + f".staging{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    log_path = folder.with_suffix(".log")
    progress(f"building environment {key} in {folder}")
    with open(log_path, "w") as log:
        try:
            build(staging, log)
            check = _check_import(staging / python_in, log)
        except EnvironmentBroken as e:
            check = str(e)
    if check is not None:
        shutil.rmtree(staging, ignore_errors=True)
        broken_note.write_text(_digest(recipe) + "\n" + log_path.read_text())
        raise EnvironmentBroken(f"{key}: {check}; log: {broken_note}")
    (staging / "perfbot-recipe.txt").write_text(recipe)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    progress(f"environment {key} ready")
    return Environment(key, python)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _step(command: list[str], log, progress: Progress, title: str, env: dict | None = None) -> None:
    progress(title)
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    for line in proc.stdout:
        log.write(line)
        if line.startswith(("Collecting", "Installing", "Successfully", "ERROR", "[")):
            progress(line.rstrip()[:120])
    if proc.wait() != 0:
        log.flush()
        raise EnvironmentBroken(f"`{title}` failed with code {proc.returncode}")


def _check_import(python: Path, log) -> str | None:
    """None when TVM imports with this interpreter, else the last line of why not."""
    out = subprocess.run([str(python), "-c", "import tvm, tvm_ffi; print(tvm.__version__, tvm_ffi.__version__)"],
                         capture_output=True, text=True, timeout=300)
    log.write(f"$ import tvm\n{out.stdout}{out.stderr}")
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        return f"TVM does not import: {last[:300]}"
    return None
