"""The submodules a CPU build of TVM uses, checked out in the build worktree, with fallbacks where git cannot.

Fetched the way git does it for the user: the URLs of the checkout's own
`.git/config` (shared by its worktrees) and of each `.gitmodules`, rewritten
by git's `url.<mirror>.insteadOf <url>` wherever the user set one (a host
without GitHub points them at local mirrors that way; nested submodules such
as tvm-ffi's dlpack and libbacktrace follow the same rule). GPU-only
submodules are not fetched: they are large and a CPU build never reads them.

A submodule whose pinned commit cannot be fetched fails the build with its
path, URL and commit, unless FALLBACKS knows another source of what the
build reads from it. Tried against apache/tvm main and v0.26.0: tvm-ffi and
libbacktrace came from their mirrors, but tvm-ffi's pinned dlpack commit
(84d107bf) was in no mirror; dlpack is one header, and the apache-tvm-ffi
wheel perfbot runs with ships it. A fallback is named in the build log and in
build.json; the native key (the submodule commits) does not change with it.
"""

from __future__ import annotations

import filecmp
import importlib.metadata
import importlib.util
import shutil
from pathlib import Path

from bot.console import Say
from bot.engine import steps
from bot.engine.builds.commits import git
from bot.errors import BuildFailed, EnvironmentBroken

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


def update(tree: Path, log, say: Say) -> list[str]:
    """Check out every submodule a CPU build uses, nested ones too; the fallbacks taken, one line each."""
    return _update(tree, "", log, say)


def _update(repo: Path, prefix: str, log, say: Say) -> list[str]:
    taken: list[str] = []
    for path, url in _declared(repo):
        full = f"{prefix}{path}"
        if full in GPU_SUBMODULES:
            continue
        command = ["git", "-c", "protocol.file.allow=always", "-C", str(repo), "submodule", "update", "--init"]
        try:
            steps.run_step([*command, "--", path], log, say, f"git submodule update {full}")
        except EnvironmentBroken as e:
            fallback = FALLBACKS.get(full)
            if fallback is None:
                pinned = git(repo, "rev-parse", f"HEAD:{path}", check=False).strip()[:10] or "?"
                raise BuildFailed(
                    f"submodule {full} (commit {pinned} of {url}) could not be fetched: {str(e).split(': ', 1)[-1]}; "
                    f"point git at a copy that has it: git config --global url.MIRROR.insteadOf {url}"
                ) from None
            taken.append(fallback(repo / path, log, say))
            continue
        taken += _update(repo / path, f"{full}/", log, say)
    return taken


def _declared(repo: Path) -> list[tuple[str, str]]:
    """(path, url) of each submodule a repository's .gitmodules declares."""
    if not (repo / ".gitmodules").is_file():
        return []
    found = git(repo, "config", "--file", ".gitmodules", "--get-regexp", r"^submodule\..*\.(path|url)$", check=False)
    entries: dict[str, dict[str, str]] = {}
    for line in found.splitlines():
        key, _, value = line.partition(" ")
        name, _, field = key.removeprefix("submodule.").rpartition(".")
        entries.setdefault(name, {})[field] = value
    return [(e["path"], e.get("url", "?")) for e in entries.values() if "path" in e]


def dlpack_from_ffi_wheel(folder: Path, log, say: Say) -> str:
    """dlpack's include/ from the apache-tvm-ffi installed with perfbot (the header is all a build reads)."""
    spec = importlib.util.find_spec("tvm_ffi")
    source = Path(next(iter(spec.submodule_search_locations))) / "3rdparty" / "dlpack" / "include" if spec else None
    if source is None or not (source / "dlpack" / "dlpack.h").is_file():
        raise BuildFailed(
            f"submodule dlpack could not be fetched, and no apache-tvm-ffi with its header is at {source}"
        )
    _mirror(source, folder / "include")
    version = importlib.metadata.version("apache-tvm-ffi")
    note = f"{folder.name}: include/ from apache-tvm-ffi {version} (its pinned commit could not be fetched)"
    log.write(f"perfbot: fallback: {note}\n")
    say(f"fallback: {note}")
    return note


def _mirror(source: Path, target: Path) -> None:
    """Copy files that differ only, keeping their times: an unchanged header must not rebuild everything."""
    for path in source.rglob("*"):
        if path.is_file():
            copy = target / path.relative_to(source)
            if not copy.is_file() or not filecmp.cmp(path, copy, shallow=False):
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)


#: Where a build takes what it reads from a submodule that cannot be fetched (see the module docstring).
FALLBACKS = {
    "3rdparty/tvm-ffi/3rdparty/dlpack": dlpack_from_ffi_wheel,
}
