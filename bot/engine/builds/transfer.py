"""A native build as one file, by its content key: built once by a build job, imported by every board host.

`export_build(cache, native_key, out)` writes a tar (gzip-compressed when
`out` ends in .gz) with `manifest.json` and the files that cannot be made
again without a compiler: the host libraries (`native/<key>/lib/`), the FFI
wheel built from the commit's 3rdparty/tvm-ffi (`native/<key>/wheels/`) and,
when there is one, the AArch64 runtime of the same sources
(`aarch64/<key>/`). The interpreter is not shipped (a virtual environment
is tied to its path): the manifest pins what it held (`pip freeze`), and
`import_build` makes it again (builds/interpreters.py) from the package
index and the wheel.

On arrival, before anything is put in place: the manifest's format, every
member's path (inside the archive's two folders), size and SHA-256 against
the manifest, nothing missing or extra, the AArch64 libraries' machine
(ELF AArch64), the Python minor version the wheel was built for. Anything
off is BadExport in one line and nothing is written to the cache; a build
the cache already has is left alone. It is how GitHub Actions moves a build
from the build job to the board jobs (workflows/perfbot-pr.yml: an artifact
named by the native key), and it works the same with any file store.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from bot.console import Say
from bot.engine import steps
from bot.engine.builds import aarch64, interpreters, native
from bot.errors import BadExport, UnknownName

FORMAT = 1
MANIFEST = "manifest.json"


def export_build(cache_dir: Path, native_key: str, out: Path) -> dict:
    """Write the native build of a key (and its AArch64 runtime) to `out`; returns the manifest."""
    build = native.find(cache_dir, native_key)
    if build is None:
        raise UnknownName(f"no native build {native_key} in {native.root(cache_dir)} (`perfbot builds` lists them)")
    if build.how != "cmake":
        raise UnknownName(
            f"native build {native_key} is {build.how} {build.info.get('requirement', '')}: nothing to move; "
            "on the other host register the same release with `perfbot build CHECKOUT@SHA --native-from`"
        )
    members = {f"native/{native_key}/{p.relative_to(build.folder).as_posix()}": p for p in _files(build.folder)
               if p.parts[len(build.folder.parts)] in ("lib", "wheels")}  # fmt: skip
    arm = aarch64.aarch64_runtime(cache_dir, native_key)
    if arm is not None:
        members |= {f"aarch64/{arm.name}/{p.relative_to(arm).as_posix()}": p for p in _files(arm)}
    manifest = {
        "format": FORMAT,
        "native_key": native_key,
        "build": {k: v for k, v in build.info.items() if k not in ("lib", "python", "venv")},
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "aarch64": arm.name if arm else None,
        "files": {name: {"bytes": path.stat().st_size, "sha256": _sha256(path)} for name, path in members.items()},
    }
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w:gz" if out.suffix == ".gz" else "w") as archive:
        data = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        for name, path in sorted(members.items()):
            archive.add(path, arcname=name, recursive=False)
    os.replace(partial, out)
    return manifest


def import_build(cache_dir: Path, archive_path: Path, say: Say | None = None) -> dict:
    """Verify an export and put it in the cache (its interpreter made again); returns its manifest."""
    say = say or (lambda line: None)
    cache_dir = Path(cache_dir)
    try:
        archive = tarfile.open(archive_path, "r:*")
    except (OSError, tarfile.TarError) as e:
        why = str(e).splitlines()[0].rstrip(":")
        raise BadExport(f"{archive_path}: not a perfbot build export ({why})") from None
    with archive, tempfile.TemporaryDirectory(prefix="perfbot-import-", dir=_scratch(cache_dir)) as scratch:
        manifest = _manifest(archive, archive_path)
        key, arm = manifest["native_key"], manifest.get("aarch64")
        _check_members(archive, manifest, archive_path)
        archive.extractall(scratch, filter="data")
        _check_files(Path(scratch), manifest, archive_path)
        if native.find(cache_dir, key) is None:
            _place_native(Path(scratch) / "native" / key, manifest, cache_dir, say)
        else:
            say(f"native build {key} is in the cache already: kept")
        if arm and aarch64.aarch64_runtime(cache_dir, key) is None:
            target = aarch64.root(cache_dir) / arm
            if not (target / "runtime.json").is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.rmtree(target, ignore_errors=True)
                shutil.move(str(Path(scratch) / "aarch64" / arm), target)
            aarch64.point(native.find(cache_dir, key), arm)
    say(f"native build {key} imported" + (f", with AArch64 runtime {arm}" if arm else ""))
    return manifest


def _manifest(archive: tarfile.TarFile, where: Path) -> dict:
    try:
        manifest = json.load(archive.extractfile(MANIFEST))
    except (KeyError, AttributeError, ValueError, tarfile.TarError):
        raise BadExport(f"{where}: no {MANIFEST} (not a perfbot build export)") from None
    if manifest.get("format") != FORMAT:
        raise BadExport(f"{where}: format {manifest.get('format')!r}, this perfbot reads format {FORMAT}")
    ours = f"{sys.version_info.major}.{sys.version_info.minor}"
    if manifest.get("python") != ours:
        raise BadExport(f"{where}: built for Python {manifest.get('python')}, this host runs {ours}")
    key = str(manifest.get("native_key", ""))
    if not key.isalnum() or not isinstance(manifest.get("files"), dict):
        raise BadExport(f"{where}: {MANIFEST} names no native key or files")
    return manifest


def _check_members(archive: tarfile.TarFile, manifest: dict, where: Path) -> None:
    """Every member is a file the manifest lists, in the export's two folders; none missing."""
    allowed = (f"native/{manifest['native_key']}/", f"aarch64/{manifest.get('aarch64')}/")
    names = set()
    for member in archive.getmembers():
        if member.name == MANIFEST:
            continue
        if not member.isfile() or not member.name.startswith(allowed) or ".." in Path(member.name).parts:
            raise BadExport(f"{where}: {member.name!r} is not part of a perfbot build export")
        if member.name not in manifest["files"]:
            raise BadExport(f"{where}: {member.name} is not in its manifest")
        names.add(member.name)
    missing = sorted(set(manifest["files"]) - names)
    if missing:
        raise BadExport(f"{where}: {missing[0]} is in its manifest but not in the archive")


def _check_files(scratch: Path, manifest: dict, where: Path) -> None:
    for name, expected in manifest["files"].items():
        path = scratch / name
        if path.stat().st_size != expected["bytes"] or _sha256(path) != expected["sha256"]:
            raise BadExport(f"{where}: {name} does not match its manifest (damaged or altered on the way)")
        if name.startswith("aarch64/") and name.endswith(".so") and not aarch64.is_aarch64(path):
            raise BadExport(f"{where}: {name} is not an AArch64 library")


def _place_native(unpacked: Path, manifest: dict, cache_dir: Path, say: Say) -> None:
    """The build's folder in the cache: its files, an interpreter made again, build.json with this host's paths."""
    key = manifest["native_key"]
    folder = native.root(cache_dir) / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    log_path = folder.with_suffix(".import.log")
    with steps.staged(folder) as staging:
        shutil.move(str(unpacked), staging)
        with open(log_path, "w") as log:
            wheels = sorted((staging / "wheels").glob("*.whl"))
            made = interpreters.interpreter(cache_dir, manifest["build"].get("frozen", []), wheels, log, say)
        info = {**manifest["build"], "lib": str(folder / "lib"), "python": str(made.python), "venv": made.key,
                "imported": native.now()}  # fmt: skip
        (staging / "build.json").write_text(json.dumps(info, indent=2))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _scratch(cache_dir: Path) -> Path:
    """Unpack next to the cache (the same file system: the final moves are renames)."""
    scratch = Path(cache_dir) / "builds"
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch
