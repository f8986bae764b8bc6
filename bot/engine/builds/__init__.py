"""The build cache: the TVM of any commit of a checkout, built once, shared by every commit it can serve.

    commits.py     a commit's layout, native key, runtime key and Python tree (git plumbing)
    native.py      native builds by key (the store), and a released wheel's libraries as one
    cmake.py       a native build made with cmake from the commit's sources (TVM's documented CPU build)
    submodules.py  the submodules a CPU build uses, with fallbacks where git cannot fetch them
    interpreters.py  the Python environments native builds run in, and the FFI wheels: shared, made once
    aarch64.py     the AArch64 runtime of a native build, cross-built from the same sources
    overlays.py    a commit's python/ laid over the native build of its key
    transfer.py    a native build (host libraries and AArch64 runtime) as one file, for another host

`environment(checkout, ref, cache)` is what `source:CHECKOUT@SHA`, `perfbot
build` and the job worker's `--checkout` use: the native build of the
commit's key (found, or built: only when no commit with the same native
sources was built before), the commit's overlay (made and checked), and the
environment variables that join them; with a cmake build, also the AArch64
runtime of the same sources (`aarch64_runtime(cache, native_key)`, built
once per runtime key). `cached(cache)` is what `perfbot builds` lists.

The package stands on its own: it imports neither envs.py nor subjects.py
(which turns every kind of env spec into an Environment, this one included).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bot.console import Say
from bot.engine import steps
from bot.engine.builds import aarch64, cmake, native, overlays
from bot.engine.builds.aarch64 import aarch64_runtime
from bot.engine.builds.commits import Commit, resolve
from bot.engine.environment import Environment
from bot.errors import BuildFailed

__all__ = ["Commit", "environment", "resolve", "cached", "CachedBuild", "aarch64_runtime"]


def environment(
    checkout: Path,
    ref: str,
    cache_dir: Path,
    say: Say | None = None,
    *,
    rebuild: bool = False,
    build_native: bool = True,
) -> Environment:
    """The TVM of one commit, ready to run; BuildFailed (one line, then the log's tail) when it cannot be.

    `rebuild` throws away what the cache has for the commit (its native
    build and overlay, broken or not) first. `build_native=False` refuses to
    start a C++ build (BuildFailed) when no build of the commit's native key
    exists: for a caller that would rather say so than wait hours.
    """
    say = say or (lambda line: None)
    commit = resolve(checkout, ref)
    return environment_of(commit, cache_dir, say, rebuild=rebuild, build_native=build_native)


def environment_of(commit: Commit, cache_dir: Path, say: Say, *, rebuild: bool = False, build_native: bool = True):
    if rebuild:
        native.forget(cache_dir, commit.native_key)
        aarch64.forget(cache_dir, commit)
    build = native.find(cache_dir, commit.native_key)
    if build is None:
        reason = native.broken_reason(cache_dir, commit.native_key)
        if reason is not None:
            raise BuildFailed(
                f"native build {commit.native_key} of {commit.short} failed before: {reason} "
                f"(rebuild with `perfbot build {commit.checkout}@{commit.sha} --rebuild`)"
            )
        if not build_native:
            raise BuildFailed(f"no native build of {commit.short} (key {commit.native_key}) and building is off")
        say(f"no native build for key {commit.native_key} yet: building {commit.short} with cmake")
        build = cmake.build(commit, cache_dir, say)
    else:
        say(f"native build {commit.native_key} ({build.how}) serves {commit.short}")
    overlay = overlays.overlay_for(commit, build, cache_dir, say, rebuild=rebuild)
    arm = aarch64.ensure(commit, build, cache_dir, say)
    native.touch(build)
    return Environment(
        key=commit.spec,
        python=build.python,
        variables=overlays.variables(overlay, build),
        build={
            "native_key": commit.native_key,
            "python_tree": commit.python_tree,
            "commit": commit.sha,
            "how": build.how if build.how != "wheel" else f"wheel {build.info.get('requirement')}",
            # what runs the modules: the same runtime on both sides of a PR means the same code runs the same
            "runtime": commit.runtime_key if build.how == "cmake" else str(build.lib),
            "aarch64_runtime": str(arm) if arm else "",
        },
    )


@dataclass(frozen=True)
class CachedBuild:
    """One line of `perfbot builds`: a native build, or a commit's overlay on one."""

    what: str  # native | aarch64 | overlay
    key: str  # the native key
    commit: str  # the commit it was built from (native) or is (overlay)
    how: str  # cmake | wheel REQ | python tree hash (overlay)
    size_bytes: int
    last_used: str | None
    broken: str | None = None


def cached(cache_dir: Path) -> list[CachedBuild]:
    """Everything in the build cache, native builds first, newest use first within each."""
    rows: list[CachedBuild] = []
    base = native.root(cache_dir)
    for folder in sorted(base.glob("*")) if base.is_dir() else []:
        if folder.suffix or not folder.is_dir():
            continue
        build = native.find(cache_dir, folder.name)
        if build is None:
            continue
        how = "cmake" if build.how == "cmake" else f"wheel {build.info.get('requirement')}"
        size = _size(folder) + (_size(Path(build.info["env"])) if build.how == "wheel" else 0)
        used = (folder / "last-used").read_text() if (folder / "last-used").is_file() else build.info.get("created")
        rows.append(CachedBuild("native", folder.name, build.info.get("commit", "?"), how, size, used))
    for broken in sorted(base.glob("*.broken")) if base.is_dir() else []:
        reason = broken.read_text(errors="replace").split("\n", 1)[0]
        rows.append(CachedBuild("native", broken.stem, "?", "broken", 0, None, reason))
    rows += [_under_way(marker) for marker in (sorted(base.glob("*.building")) if base.is_dir() else [])]
    arm_root = aarch64.root(cache_dir)
    for marker in sorted(arm_root.glob("*/runtime.json")) if arm_root.is_dir() else []:
        info = json.loads(marker.read_text())
        checked = " (checked under qemu)" if info.get("checked") else ""
        rows.append(CachedBuild("aarch64", marker.parent.name, info.get("commit", "?"), f"{info.get('compiler', '?')}"
                                f"{checked}", _size(marker.parent), info.get("created")))  # fmt: skip
    for folder in sorted(overlays.root(cache_dir).glob("*")) if overlays.root(cache_dir).is_dir() else []:
        marker = folder / "overlay.json"
        if folder.is_dir() and marker.is_file():
            info = json.loads(marker.read_text())
            rows.append(
                CachedBuild(
                    "overlay",
                    info["native_key"],
                    info["sha"],
                    info["python_tree"][:12],
                    _size(folder),
                    info.get("last_used"),
                )
            )
    newest_first = sorted(rows, key=lambda r: r.last_used or "", reverse=True)
    order = {"native": 0, "aarch64": 1, "overlay": 2}
    return sorted(newest_first, key=lambda r: (order[r.what], r.broken is not None))


def _under_way(marker: Path) -> CachedBuild:
    """A build that is running (its lock is held), or that was stopped: how far it got, from its log."""
    info = json.loads(marker.read_text())
    at = steps.doing(Path(info["log"]))
    if steps.is_locked(Path(info["lock"])):
        how = f"building since {info['started']}: {at}"
    else:
        how = f"stopped at {at}: `perfbot build {info['checkout']}@{info['commit'][:10]}` resumes it"
    return CachedBuild("native", marker.stem, info["commit"], how, 0, info["started"])


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total
