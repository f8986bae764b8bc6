"""The build cache: the TVM of any commit of a checkout, built once, shared by every commit it can serve.

    commits.py   a commit's layout, native key and Python tree (git plumbing)
    native.py    native builds by key: cmake, or a released wheel's libraries
    overlays.py  a commit's python/ laid over the native build of its key

`environment(checkout, ref, cache)` is what `source:CHECKOUT@SHA`, `perfbot
build` and the job worker's `--checkout` use: the native build of the
commit's key (found, or built: only when no commit with the same native
sources was built before), the commit's overlay (made and checked), and the
environment variables that join them. `cached(cache)` is what `perfbot
builds` lists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bot.console import Say
from bot.engine.builds import native, overlays
from bot.engine.builds.commits import Commit, resolve
from bot.engine.envs import Environment
from bot.errors import BuildFailed

__all__ = ["Commit", "environment", "resolve", "cached", "CachedBuild"]


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
        build = native.build(commit, cache_dir, say)
    else:
        say(f"native build {commit.native_key} ({build.how}) serves {commit.short}")
    overlay = overlays.overlay_for(commit, build, cache_dir, say, rebuild=rebuild)
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
        },
    )


@dataclass(frozen=True)
class CachedBuild:
    """One line of `perfbot builds`: a native build, or a commit's overlay on one."""

    what: str  # native | overlay
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
    return sorted(newest_first, key=lambda r: (r.what != "native", r.broken is not None))


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total
