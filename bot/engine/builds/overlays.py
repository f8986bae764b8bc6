"""Per-commit Python overlays: a commit's own `python/tvm` laid over the native build of its key.

TVM developers run a source tree with `PYTHONPATH=<tree>/python` and
`TVM_LIBRARY_PATH=<build>/lib`; perfbot does the same per commit. The overlay
of a commit is a git worktree of the checkout at that commit
(`CACHE/builds/commits/<sha>/`), sparse: only `python/` and `include/` (and the
top-level files) are checked out, so it costs the size of TVM's Python
sources, not of the whole tree, and concurrent jobs of different commits
never share a working tree. The interpreter is the native build's.

An overlay is ready when its `overlay.json` exists, written after `import
tvm` with it worked and `tvm.__file__` was seen to come from the overlay, so
a half-made overlay (a kill -9 in the middle) is never used: the next use
removes it and starts again. One whose import fails leaves
`<sha>.broken` with the interpreter's output, reported as `build_error`
until a rebuild is asked for.

Tested on a stand-in TVM tree in tests/engine/builds/test_native.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bot.console import Say
from bot.engine import steps
from bot.engine.builds.commits import Commit, git
from bot.engine.builds.native import NativeBuild
from bot.engine.isolation import clean_environ
from bot.errors import BuildFailed

#: What an overlay checks out of the commit (cone mode also takes the top-level files).
SPARSE_PATHS = ("python", "include")


def root(cache_dir: Path) -> Path:
    return Path(cache_dir) / "builds" / "commits"


def variables(overlay: Path, native: NativeBuild) -> dict[str, str]:
    """The environment that makes the native build's interpreter run this commit's TVM."""
    return {"PYTHONPATH": str(overlay / "python"), "TVM_LIBRARY_PATH": str(native.lib)}


def overlay_for(
    commit: Commit, native: NativeBuild, cache_dir: Path, say: Say | None = None, *, rebuild: bool = False
) -> Path:
    """The commit's overlay folder, made and checked if needed; BuildFailed when its TVM does not import."""
    say = say or (lambda line: None)
    folder = root(cache_dir) / commit.sha
    broken = folder.with_suffix(".broken")
    marker = folder / "overlay.json"
    with steps.locked(folder.with_suffix(".lock")):
        if rebuild:
            _remove(commit, folder)
            broken.unlink(missing_ok=True)
        if marker.is_file() and json.loads(marker.read_text()).get("native_key") == native.key:
            _touch(marker)
            return folder
        if broken.is_file() and broken.read_text().split("\n", 1)[0].endswith(native.key):
            reason = broken.read_text().split("\n")[1:2]
            raise BuildFailed(
                f"{commit.short}: its TVM did not import before ({(reason or ['?'])[0]}); "
                f"log: {broken} (rebuild with --rebuild)"
            )
        _remove(commit, folder)
        say(f"overlay of {commit.short}: python/ and include/ from the commit")
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            git(commit.checkout, "worktree", "add", "--no-checkout", "--detach", "--force", str(folder), commit.sha)
            git(folder, "sparse-checkout", "set", *SPARSE_PATHS)
            git(folder, "reset", "--quiet", "--hard", commit.sha)
        except (BuildFailed, OSError) as e:
            _remove(commit, folder)
            raise BuildFailed(f"{commit.short}: could not lay out its python/ ({e})") from None
        ok, output = check(folder, native)
        if not ok:
            _remove(commit, folder)
            last = steps.last_line(output)
            broken.write_text(f"native {native.key}\n{last}\n{output}")
            raise BuildFailed(f"{commit.short}: its TVM does not import over native build {native.key}: {last}")
        marker.write_text(
            json.dumps(
                {
                    "sha": commit.sha,
                    "checkout": str(commit.checkout),
                    "python_tree": commit.python_tree,
                    "native_key": native.key,
                    "created": _now(),
                    "last_used": _now(),
                    "import": output.strip().splitlines()[-1:],
                },
                indent=2,
            )
        )
        broken.unlink(missing_ok=True)
        return folder


#: Run with the overlay: TVM imports, from the overlay, with the native build's libraries.
PROBE = """
import os, sys
import tvm
here = os.path.realpath(tvm.__file__)
want = os.path.realpath(os.environ["PYTHONPATH"])
if not here.startswith(want + os.sep):
    sys.exit(f"tvm imported from {here}, not from the overlay {want}")
print("tvm", tvm.__version__, here)
"""


def check(overlay: Path, native: NativeBuild, timeout_s: float = 300) -> tuple[bool, str]:
    """Whether the commit's TVM imports from its overlay with the native build (and what it printed)."""
    env = {**clean_environ(), **variables(overlay, native)}
    try:
        out = subprocess.run(
            [str(native.python), "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"{type(e).__name__}: {e}"
    output = out.stdout + out.stderr
    if out.returncode < 0:
        return False, f"{output}\nkilled by signal {-out.returncode}"
    return out.returncode == 0, output or f"exit code {out.returncode}"


def last_used(folder: Path) -> str | None:
    try:
        return json.loads((folder / "overlay.json").read_text()).get("last_used")
    except (OSError, ValueError):
        return None


def _touch(marker: Path) -> None:
    try:
        info = json.loads(marker.read_text())
        info["last_used"] = _now()
        marker.write_text(json.dumps(info, indent=2))
    except (OSError, ValueError):
        pass


def _remove(commit: Commit, folder: Path) -> None:
    """A (half-made) overlay gone, worktree registration included."""
    if folder.exists():
        git(commit.checkout, "worktree", "remove", "--force", str(folder), check=False)
        shutil.rmtree(folder, ignore_errors=True)
    git(commit.checkout, "worktree", "prune", check=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
