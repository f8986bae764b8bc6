"""Native builds of TVM, content-addressed by native key: the store, and a released wheel's libraries as one.

A native build is a folder `CACHE/builds/native/<native key>/` with
`build.json` (how it was made, from which commit, when, how long), the
libraries (`libtvm*.so`) and the interpreter that runs with them (a virtual
environment with apache-tvm-ffi and what TVM and perfbot's child scripts
import, but no `tvm` package of its own that matters: every commit brings its
own `python/tvm`, see overlays.py). cmake.py makes one from the commit's
sources; `register_wheel` makes a released wheel's libraries one.

A released wheel can stand for a native build (`register_wheel`): its
`tvm/lib` and the pip environment it is installed in become the build of a
native key, so the first PR does not wait for hours of C++. That is sound
only when the commit's native sources are the release's; perfbot checks what
it can (the runtime sources and headers the wheel ships against the
commit's) and refuses a mismatch unless forced.

A build that fails leaves `<key>.broken` (why, then the end of the log):
later jobs report it at once as `build_error` instead of building again,
until asked to (`rebuild=True`, `perfbot build --rebuild`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.console import Say
from bot.engine import steps
from bot.engine.builds.commits import Commit, git
from bot.engine.environment import Environment
from bot.errors import BuildFailed


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
    steps.discard(base / key)
    (base / f"{key}.broken").unlink(missing_ok=True)


def touch(build: NativeBuild) -> None:
    """Remember that the build was used now (`perfbot builds` shows it)."""
    try:
        (build.folder / "last-used").write_text(now())
    except OSError:
        pass


# -- a released wheel as the native build -------------------------------------------------------


def register_wheel(
    commit: Commit, env: Environment, cache_dir: Path, say: Say | None = None, *, force: bool = False
) -> NativeBuild:
    """Make a released apache-tvm's libraries the native build of the commit's native key.

    `env` is the release's environment (subjects.py provisions it from
    `pip:apache-tvm==X`, with its known-good apache-tvm-ffi, or `python:PATH`,
    an interpreter that has the release installed already). That interpreter
    runs every commit that shares the key, with the commit's own python/tvm
    in front of the release's. Refused when the runtime sources or headers
    the release ships differ from the commit's, unless `force`.
    """
    say = say or (lambda line: None)
    spec = env.key
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
        "created": now(),
        "checked_files": _checked_count(site / "tvm"),
        "differences": len(differences),
        "forced": bool(differences),
    }
    folder = root(cache_dir) / commit.native_key
    with steps.locked(folder.with_suffix(".lock")):
        with steps.staged(folder) as staging:
            staging.mkdir(parents=True)
            (staging / "build.json").write_text(json.dumps(info, indent=2))
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


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
