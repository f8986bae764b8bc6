"""The python: and pip: environments of TVM under test (source: is the build cache's, bot/engine/builds/).

The bot never imports the TVM it measures: it provisions an environment per
build and runs bot/child/measure.py with that environment's interpreter.
bot/engine/subjects.py turns a spec into one; the kinds of spec:

- `python:PATH`: an interpreter that already has TVM (`default()` is the one
  perfbot itself runs in). Checked by running it: it must import tvm.
- `pip:REQUIREMENTS`, e.g. `pip:apache-tvm==0.26.0`: a virtual environment in
  the cache with that release, its known-good apache-tvm-ffi (bot/engine/compat.py)
  and what the child scripts import. 10-20 s to build here when the wheels are in
  pip's cache, 1-2 minutes from PyPI; then reused.
- `source:CHECKOUT@SHA`: one commit of a TVM git checkout, from the build
  cache (bot/engine/builds/, which stands on its own: it imports neither
  this module nor subjects.py).

Every pip environment is built in a staging folder next to its final place,
checked by importing TVM with its own interpreter, and only then renamed into
place, so a half-built one is never used. Builds of one spec are serialised
by a lock file, so two workers never build the same environment at once.
A build that fails leaves `<folder>.broken` (the recipe's digest, then the
log): later runs report it as an environment error at once instead of
rebuilding it every run, until `rebuild=True` (`--rebuild`) or until the
recipe changes (a new companion in bot/engine/compat.py, for example).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.console import Say
from bot.engine import compat, environment
from bot.engine.environment import Environment
from bot.engine.steps import last_line, locked, run_step, staged
from bot.errors import EnvironmentBroken

__all__ = ["Environment", "default", "python", "pip", "status", "probe", "probed_versions", "pip_requirements"]


def default() -> str:
    """The spec of the interpreter perfbot runs in (the dev install has apache-tvm)."""
    return f"python:{sys.executable}"


def python(path: str, cache_dir: Path | None) -> Environment:
    """`python:PATH`: an interpreter that is there, runs, and imports TVM (see `_python`)."""
    return _python(path.strip(), cache_dir)


def pip(requirement: str, cache_dir: Path, say: Say | None = None, rebuild: bool = False) -> Environment:
    """`pip:REQUIREMENTS`: the cached environment of those requirements, built if needed.

    `say` receives one line per step (pip's Collecting/Downloading/Installing
    lines during an install). `rebuild` throws away a cached or broken environment first.
    """
    return _pip(requirement, Path(cache_dir), say or (lambda line: None), rebuild)


def folder_for(key: str, cache_dir: Path) -> Path:
    """Where the environment of a key lives: cache_dir/envs/<kind>-<hash of the key>."""
    kind = key.split(":", 1)[0]
    return Path(cache_dir) / "envs" / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


# -- python -----------------------------------------------------------------------------


def _python(path: str, cache_dir: Path | None) -> Environment:
    """An interpreter that is there, runs, and imports TVM (checked by running it, once per process
    per interpreter file); otherwise EnvironmentBroken in one line, with the output kept in a log."""
    python = Path(path).expanduser()
    key = f"python:{python}"
    if not python.is_file() or not os.access(python, os.X_OK):
        raise EnvironmentBroken(f"python:{path}: no executable interpreter there")
    seen = (python, python.stat().st_mtime_ns)
    if seen not in _checked_interpreters:
        ok, output = probe(python)
        if not ok:
            log = _save_log(key, cache_dir, output)
            raise EnvironmentBroken(f"{key}: TVM does not import: {last_line(output)}; log: {log}")
        _checked_interpreters.add(seen)
    return Environment(key, python)


#: Interpreters (path, mtime) already seen to import TVM in this process.
_checked_interpreters: set[tuple[Path, int]] = set()

#: Run by the interpreter under test: TVM must import; tvm-ffi is reported when there is one (TVM >= 0.21).
PROBE = """
import tvm
try:
    import tvm_ffi
    ffi = tvm_ffi.__version__
except ImportError:
    ffi = "none"
print("tvm", tvm.__version__, "tvm-ffi", ffi)
"""


def probe(python: Path, timeout: float = 300) -> tuple[bool, str]:
    """(whether TVM imports with this interpreter, what it printed: `tvm X tvm-ffi Y` when it does)."""
    try:
        out = subprocess.run(
            [str(python), "-c", PROBE], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"{type(e).__name__}: {e}"
    output = out.stdout + out.stderr
    if out.returncode < 0:  # a crash says nothing on stderr: the signal is the reason
        return False, f"{output}\nkilled by signal {-out.returncode}"
    if out.returncode != 0:
        return False, output if output.strip() else f"exit code {out.returncode}"
    return True, output


def probed_versions(output: str) -> tuple[str, str] | None:
    """(tvm, tvm-ffi) from a successful probe's output."""
    m = re.search(r"^tvm (\S+) tvm-ffi (\S+)$", output, re.M)
    return (m.group(1), m.group(2)) if m else None


def _save_log(key: str, cache_dir: Path | None, output: str) -> Path:
    """Keep a failed check's output next to the environments (the temp folder when there is no cache)."""
    for base in ([Path(cache_dir)] if cache_dir else []) + [Path(tempfile.gettempdir()) / "perfbot"]:
        log = folder_for(key, base).with_suffix(".log")
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(f"$ {key.split(':', 1)[1]} -c <import tvm>\n{output}")
            return log
        except OSError:
            continue
    return log


# -- pip --------------------------------------------------------------------------------

_PIN = re.compile(r"(apache-tvm(?:-ffi)?)(?:\[[\w,-]+\])?==([\w.+!-]+)", re.I)
_FFI = re.compile(r"apache[-_.]tvm[-_.]ffi(?![\w-])", re.I)


def pip_requirements(requirement: str) -> list[str]:
    """What a pip environment installs: the requirements given (space-separated), the known-good
    apache-tvm-ffi for a pinned apache-tvm unless the spec names apache-tvm-ffi itself, and the
    child scripts' needs.

    A pinned pair known to break is refused with the reason, before anything is downloaded.
    """
    wanted = requirement.split()
    pins = {m.group(1).lower(): m.group(2) for r in wanted if (m := _PIN.fullmatch(r))}
    tvm, ffi = pins.get("apache-tvm"), pins.get("apache-tvm-ffi")
    if tvm and ffi and (pair := compat.broken(tvm, ffi)):
        better = compat.companion(tvm)
        raise EnvironmentBroken(
            f"pip:{requirement}: apache-tvm {tvm} with apache-tvm-ffi {ffi} {pair.note}"
            + (f"; use apache-tvm-ffi=={better}" if better else "")
        )
    if tvm and compat.companion(tvm) and not any(_FFI.match(r) for r in wanted):
        wanted.append(f"apache-tvm-ffi=={compat.companion(tvm)}")
    return wanted + list(environment.CHILD_PACKAGES)


def _pip(requirement: str, cache_dir: Path, say: Say, rebuild: bool) -> Environment:
    requirement = " ".join(requirement.split())
    key = f"pip:{requirement}"
    packages = pip_requirements(requirement)

    def build(staging: Path, log) -> None:
        run_step([sys.executable, "-m", "venv", str(staging)], log, say, "create virtual environment")
        run_step(
            [
                str(staging / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
                *packages,
            ],
            log,
            say,
            f"pip install {' '.join(packages)}",
        )

    recipe = "\n".join([f"python {sys.version.split()[0]}", *packages])
    return _cached(key, cache_dir, build, say, rebuild, recipe)


# -- the cache ----------------------------------------------------------------------------


def status(key: str, cache_dir: Path) -> str:
    """`ready`, `broken` or `missing`: what provision would find for a key, without building."""
    folder = folder_for(key, cache_dir)
    if (folder / "perfbot-recipe.txt").is_file():
        return "ready"
    return "broken" if folder.with_suffix(".broken").is_file() else "missing"


def _cached(
    key: str, cache_dir: Path, build, say: Say, rebuild: bool, recipe: str, python_in: str = "bin/python"
) -> Environment:
    folder = folder_for(key, cache_dir)
    with locked(folder.with_suffix(".lock")):
        return _cached_locked(key, folder, build, say, rebuild, recipe, python_in)


def _cached_locked(key, folder: Path, build, say, rebuild, recipe, python_in) -> Environment:
    broken_note = folder.with_suffix(".broken")
    recipe_file = folder / "perfbot-recipe.txt"
    if rebuild:
        shutil.rmtree(folder, ignore_errors=True)
        broken_note.unlink(missing_ok=True)
    if folder.is_dir() and recipe_file.is_file() and recipe_file.read_text() == recipe:
        return Environment(key, folder / python_in)
    if broken_note.is_file() and broken_note.read_text().split("\n", 1)[0] == _digest(recipe):
        reason = broken_note.read_text().rstrip().rsplit("\n", 1)[-1].removeprefix("perfbot: ")
        raise EnvironmentBroken(
            f"{key}: environment failed to build before ({reason}); log: {broken_note} (rebuild with --rebuild)"
        )
    log_path = folder.with_suffix(".log")
    say(f"building environment {key} in {folder}")
    with staged(folder) as staging:
        with open(log_path, "w") as log:
            log.write(f"# {key}\n# recipe:\n{recipe}\n\n")
            try:
                build(staging, log)
                failure = _check(key, staging / python_in, log)
            except EnvironmentBroken as e:
                failure = str(e)
            if failure:
                log.write(f"perfbot: {failure}\n")
        if failure:
            broken_note.write_text(_digest(recipe) + "\n" + log_path.read_text())
            raise EnvironmentBroken(f"{key}: {failure}; log: {broken_note}")
        (staging / "perfbot-recipe.txt").write_text(recipe)
    broken_note.unlink(missing_ok=True)
    say(f"environment {key} ready")
    return Environment(key, folder / python_in)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _check(key: str, python: Path, log) -> str | None:
    """None when TVM imports with the new interpreter and the pair is not known to break, else why."""
    ok, output = probe(python)
    log.write(f"$ {python} -c <import tvm>\n{output}\n")
    if not ok:
        return f"TVM does not import: {last_line(output)}"
    versions = probed_versions(output)
    if versions and (pair := compat.broken(*versions)):
        return f"apache-tvm {versions[0]} with apache-tvm-ffi {versions[1]} {pair.note}"
    return None
