"""A commit of a TVM checkout, as the build cache sees it: its layout, native key and Python tree.

Everything here is read with git plumbing from the commit itself, never from
the checkout's working tree, so a user's uncommitted edits, or another job
building another commit, change nothing.

The native key is what makes native builds content-addressed: a hash of
everything that goes into TVM's native libraries, namely the git tree hashes
of `src/`, `include/` and `cmake/`, the blob of `CMakeLists.txt`, every entry
of `3rdparty/` (submodule commits and vendored trees), the build layout and
perfbot's build options. Two commits with the same native key build the same
libraries, so the second one reuses the first one's build and only lays its
own `python/` over it. A PR that changes only Python, as most TVM PRs that
touch the TFLite frontend, Relax passes written in Python or TOPI do, needs
no C++ build at all.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BuildFailed, UnknownName

#: What goes into the native libraries, besides 3rdparty/.
NATIVE_PATHS = ("src", "include", "cmake", "CMakeLists.txt")
#: What goes into libtvm_runtime alone, besides 3rdparty/ (CMakeLists.txt's RUNTIME_SRCS and what they include):
#: a commit that changes only the compiler keeps its runtime key, and its AArch64 runtime is not built again.
RUNTIME_PATHS = ("src/runtime", "src/support", "include/tvm/runtime", "include/tvm/support", "cmake", "CMakeLists.txt")
#: Bump when perfbot's way of building changes, so old builds are not reused for new options.
BUILD_RECIPE = "perfbot-native-2"

#: `python/setup.py` (TVM up to 0.21) or a scikit-build-core project at the root (0.22 on).
LAYOUTS = ("setup.py", "scikit-build")


@dataclass(frozen=True)
class Commit:
    """One commit of one checkout, with what the build cache keys on."""

    checkout: Path
    sha: str  # the full commit hash
    layout: str  # one of LAYOUTS
    native_key: str
    runtime_key: str  # the content hash of what libtvm_runtime is built from (RUNTIME_PATHS, 3rdparty/)
    python_tree: str  # git tree hash of python/: what the overlay of this commit holds
    ffi: str | None  # the commit (or tree) of 3rdparty/tvm-ffi, where the commit has one (TVM >= 0.22)

    @property
    def has_ffi(self) -> bool:
        return self.ffi is not None

    @property
    def short(self) -> str:
        return self.sha[:10]

    @property
    def spec(self) -> str:
        """How runs record the build: source:CHECKOUT@SHA."""
        return f"source:{self.checkout}@{self.sha}"


def git(checkout: Path, *args: str, check: bool = True) -> str:
    """Run git in the checkout; stdout, or BuildFailed naming the command and git's own message."""
    try:
        out = subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600
        )
    except FileNotFoundError:
        raise BuildFailed("git is not installed (apt-get install git)") from None
    except subprocess.TimeoutExpired:
        raise BuildFailed(f"`git {' '.join(args)}` in {checkout} took over 10 minutes") from None
    if check and out.returncode != 0:
        message = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        raise BuildFailed(f"`git {' '.join(args)}` in {checkout} failed: {message}")
    return out.stdout


def resolve(checkout: Path, ref: str) -> Commit:
    """The commit `ref` names in the checkout, or one clear line saying why it cannot be built.

    UnknownName for a folder that is not a TVM checkout or a ref it does not
    have (a usage error: the name given is wrong).
    """
    checkout = Path(checkout).expanduser().resolve()
    if not checkout.is_dir():
        raise UnknownName(f"{checkout}: no such folder (expected a TVM git checkout)")
    inside = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True
    )
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise UnknownName(f"{checkout}: not a git checkout (expected a clone of apache/tvm or a fork)")
    if not re.fullmatch(r"[\w./@^~-]+", ref) or ref.startswith("-"):
        raise UnknownName(f"{checkout}@{ref}: {ref!r} is not a commit or ref name")
    sha = git(checkout, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip()
    if not sha:
        raise UnknownName(f"{checkout}@{ref}: no such commit in {checkout} (fetch it first: git -C {checkout} fetch)")
    layout = layout_of(checkout, sha)
    return Commit(
        checkout=checkout,
        sha=sha,
        layout=layout,
        native_key=native_key(checkout, sha, layout),
        runtime_key=runtime_key(checkout, sha),
        python_tree=_object(checkout, sha, "python"),
        ffi=(_entry(checkout, sha, "3rdparty/tvm-ffi") or (None, None, None))[2],
    )


def layout_of(checkout: Path, sha: str) -> str:
    """How the commit builds, or UnknownName when it is not TVM at all."""
    if _entry(checkout, sha, "python/tvm") is None or _entry(checkout, sha, "CMakeLists.txt") is None:
        raise UnknownName(f"{checkout}@{sha[:10]}: not a TVM source tree (no python/tvm or CMakeLists.txt)")
    if _entry(checkout, sha, "python/setup.py") is not None:
        return "setup.py"
    project = _entry(checkout, sha, "pyproject.toml")
    if project is not None and "scikit-build" in git(checkout, "cat-file", "-p", project[2]):
        return "scikit-build"
    raise UnknownName(
        f"{checkout}@{sha[:10]}: neither python/setup.py nor a scikit-build pyproject.toml at the root: "
        "not a TVM layout perfbot knows how to build"
    )


def native_key(checkout: Path, sha: str, layout: str) -> str:
    """The content hash of what goes into the native libraries (see the module docstring)."""
    return _content_key(checkout, sha, [BUILD_RECIPE, f"layout {layout}"], NATIVE_PATHS)


def runtime_key(checkout: Path, sha: str) -> str:
    """The content hash of what goes into libtvm_runtime: the key of a commit's AArch64 runtime (builds/aarch64.py)."""
    return _content_key(checkout, sha, [BUILD_RECIPE, "runtime"], RUNTIME_PATHS)


def _content_key(checkout: Path, sha: str, parts: list[str], paths: tuple[str, ...]) -> str:
    parts = parts + [f"{path} {_object(checkout, sha, path)}" for path in paths]
    parts += sorted(git(checkout, "ls-tree", sha, "3rdparty/").splitlines())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def changed_paths(checkout: Path, base: str, head: str) -> list[str]:
    """Files that differ between two commits (for messages: what made a native build necessary)."""
    return [line for line in git(checkout, "diff", "--name-only", base, head).splitlines() if line]


def _entry(checkout: Path, sha: str, path: str) -> tuple[str, str, str] | None:
    """(mode, type, hash) of a path in the commit's tree, or None."""
    out = git(checkout, "ls-tree", sha, "--", path, check=False).strip()
    if not out:
        return None
    meta, _, _ = out.partition("\t")
    mode, kind, obj = meta.split()
    return mode, kind, obj


def _object(checkout: Path, sha: str, path: str) -> str:
    entry = _entry(checkout, sha, path)
    return entry[2] if entry else "missing"
