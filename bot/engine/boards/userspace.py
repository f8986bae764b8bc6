"""The emulated AArch64 board's user space: made once in the cache, checked, and how a program runs in it.

The emulated board is an AArch64 Linux user space run by `qemu-aarch64`
(QEMU's user mode) on this host, emulating a Cortex-A72 (`CPU`: the
Raspberry Pi 4 of perfbot's story), with perfbot's instruction-counting
plugin loaded (bot/engine/boards/plugin.py). Its user space lives in the
cache, in `CACHE/qemu-aarch64`, and is made by `setup()` (`perfbot device
setup qemu-aarch64`) from:

- Debian's arm64 packages: Python 3.11 and the shared libraries it and TVM
  load (libc6, libstdc++6, libssl3, ...), fetched with `apt-get download
  PKG:arm64` and unpacked with `dpkg -x`. Which packages: the closure of the
  roots' Depends and Pre-Depends over real arm64 packages, leaving out
  `Architecture: all` data and `Multi-Arch: foreign` tools (dpkg, perl-base,
  media-types): the interpreter loads libraries, it runs no package scripts.
- PyPI's aarch64 wheels of apache-tvm, its pinned apache-tvm-ffi, numpy,
  ml_dtypes, psutil and ai-edge-litert (TFLite's interpreter, counted on the
  same emulated CPU as TVM's code), with their pure-Python dependencies,
  unzipped into `site/`.
- `proc/cpuinfo`: what a Cortex-A72 running Linux says there. QEMU 7.2's user
  mode shows the guest the host's own /proc/cpuinfo (x86 here); TFLite's CPU
  detection (cpuinfo, used by XNNPACK and ruy) finds no ARM core in it and
  crashes with a segfault. QEMU looks up every path a guest opens under its
  `-L` folder first, so this file is what the guest reads instead, and it
  names the core QEMU emulates, so TFLite picks that core's kernels.

Nothing is installed into the host's own system; setup needs root only to add
the arm64 architecture to apt (`dpkg --add-architecture arm64`) once.

A setup counts as done only when its marker file (`perfbot-setup.json`, with
the versions it was made for) is in the folder. Setup builds in a staging
folder, checks that TVM and TFLite import under qemu there, writes the
marker, then renames the staging folder into place: an interrupted setup
leaves no folder that looks ready. Running setup again reuses a folder whose
marker matches what this perfbot would make; downloads are kept in
`CACHE/downloads/qemu-aarch64` so a rebuild does not fetch them again. Setup
also builds the counting plugin and checks that this host's qemu loads it.

There is no binfmt_misc here: an emulated program that exec()s another
program fails, while fork works. TVM's `python -m tvm.exec.rpc_server` starts
its server in a new interpreter, so the server runs from bot/child/qemu_server.py,
which serves in its own process and forks one child per session
(bot/engine/boards/emulated_server.py starts it).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bot.console import Say
from bot.engine.boards import plugin, probe
from bot.errors import DeviceUnavailable
from bot.vocabulary import QEMU_AARCH64

NAME = QEMU_AARCH64
#: QEMU's user mode for AArch64, the dynamic build: Debian's `qemu-aarch64-static` cannot load TCG plugins.
QEMU = "qemu-aarch64"
QEMU_PACKAGE = "qemu-user"
#: The core QEMU emulates, and that TVM's target for the board names: what instruction counts are counts of.
CPU = "cortex-a72"
CROSS_COMPILER = "aarch64-linux-gnu-gcc"
TOOLS = (
    (QEMU, f"apt-get install {QEMU_PACKAGE}"),
    (CROSS_COMPILER, "apt-get install gcc-aarch64-linux-gnu"),
)
SETUP_HINT = f"perfbot device setup {NAME}"
ARCH_HINT = "sudo dpkg --add-architecture arm64 && sudo apt-get update"

#: Bump when the folder's layout or contents change in a way old folders lack.
#: 2: TFLite's interpreter and a Cortex-A72's /proc/cpuinfo, run by the dynamic qemu-aarch64.
FORMAT = 2
PYTHON_VERSION = "3.11"
#: Debian arm64 packages asked for by name; their dependencies are resolved from apt.
DEB_ROOTS = ("python3.11", "libpython3.11-stdlib", "libstdc++6", "libgcc-s1")
#: Wheels for the emulated side, pinned as a set known to work together (the tvm/tvm-ffi pair
#: as in pyproject.toml). The RPC server needs no rpc extra: it runs in-process, without
#: tornado (tracker/proxy only) or cloudpickle (PopenWorker only); psutil lets a session
#: timeout end a session's children. ai-edge-litert is the host's TFLite, for counting TFLite's
#: instructions on the same emulated core.
WHEELS = {
    "apache-tvm": "0.27.0.post1",
    "apache-tvm-ffi": "0.1.14.post0",
    "numpy": "2.4.6",
    "ml_dtypes": "0.6.0",
    "psutil": "7.2.2",
    "ai-edge-litert": "2.3.0",
}
#: Platform tags pip may pick aarch64 wheels from: manylinux up to Debian 12's glibc 2.36.
PLATFORMS = ("manylinux2014_aarch64",) + tuple(f"manylinux_2_{minor}_aarch64" for minor in range(17, 37))
MARKER = "perfbot-setup.json"
#: /proc/cpuinfo of one Cortex-A72 core as Linux writes it (CPU part 0xd08), for the guest to read (see above).
CPUINFO = (
    "processor\t: 0\n"
    "BogoMIPS\t: 108.00\n"
    "Features\t: fp asimd evtstrm crc32 cpuid\n"
    "CPU implementer\t: 0x41\n"
    "CPU architecture: 8\n"
    "CPU variant\t: 0x0\n"
    "CPU part\t: 0xd08\n"
    "CPU revision\t: 3\n\n"
)


def folder(cache_dir: Path) -> Path:
    """Where the AArch64 user space is: CACHE/qemu-aarch64."""
    return Path(cache_dir) / NAME


def downloads(cache_dir: Path) -> Path:
    return Path(cache_dir) / "downloads" / NAME


def python_path(root: Path) -> Path:
    return Path(root) / "usr" / "bin" / f"python{PYTHON_VERSION}"


def site_path(root: Path) -> Path:
    return Path(root) / "site"


def wanted() -> dict:
    """What a folder must have been made for to be reused: compared with the marker's `wanted`."""
    return {"format": FORMAT, "python": PYTHON_VERSION, "debian": list(DEB_ROOTS), "wheels": dict(WHEELS)}


def read_marker(root: Path) -> dict | None:
    try:
        return json.loads((Path(root) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def is_set_up(cache_dir: Path) -> bool:
    root = folder(cache_dir)
    marker = read_marker(root)
    return bool(marker) and marker.get("wanted") == wanted() and python_path(root).is_file()


# ---------------------------------------------------------------------------------------------- checks


def check_ready(cache_dir: Path) -> None:
    """DeviceUnavailable naming, in one line, the first missing piece and the command that provides it."""
    for tool, install in TOOLS:
        if shutil.which(tool) is None:
            raise DeviceUnavailable(f"{NAME}: {tool} not found on PATH; install it with `{install}`")
    if not can_link(CROSS_COMPILER):
        raise DeviceUnavailable(
            f"{NAME}: {CROSS_COMPILER} cannot link shared libraries (no crti.o); "
            f"install it with `apt-get install libc6-dev-arm64-cross`"
        )
    root = folder(cache_dir)
    marker = read_marker(root)
    if marker is None or not python_path(root).is_file():
        raise DeviceUnavailable(f"{NAME}: no AArch64 user space in {root}; prepare it with `{SETUP_HINT}`")
    if marker.get("wanted") != wanted():
        made = (marker.get("wanted") or {}).get("wheels", {}).get("apache-tvm")
        what = (
            f"for apache-tvm {made}, this perfbot wants {WHEELS['apache-tvm']}"
            if made != WHEELS["apache-tvm"]
            else f"with other versions than this perfbot wants (see its {MARKER})"
        )
        raise DeviceUnavailable(
            f"{NAME}: the AArch64 user space in {root} was made {what}; refresh it with `{SETUP_HINT}`"
        )
    _counting_plugin(cache_dir, root, lambda line: None)  # remembered per qemu binary: a second the first time


def can_link(compiler: str) -> bool:
    """Whether the cross compiler finds the C library's start files: gcc-aarch64-linux-gnu without its
    recommended libc6-dev-arm64-cross compiles, then fails to link with "cannot find crti.o"."""
    try:
        out = subprocess.run([compiler, "-print-file-name=crti.o"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return os.path.isabs(out.stdout.strip())


# ---------------------------------------------------------------------------------------------- setup


@dataclass(frozen=True)
class SetupReport:
    """What `setup` did: where the user space is, how long it took and how much disk it uses."""

    folder: Path
    seconds: float
    disk_bytes: int
    reused: bool
    #: Debian packages and wheels kept in CACHE/downloads/qemu-aarch64 for rebuilds.
    download_bytes: int = 0
    versions: dict | None = None

    def summary(self) -> str:
        what = "reused" if self.reused else "prepared"
        return (
            f"{NAME} user space {what} in {self.folder}: {self.disk_bytes / 1e6:.0f} MB "
            f"(+{self.download_bytes / 1e6:.0f} MB downloads), {self.seconds:.1f} s"
        )


def setup(cache_dir: Path, progress: Say | None = None) -> SetupReport:
    """Prepare CACHE/qemu-aarch64 (or reuse it when its marker matches), and say what it cost.

    Concurrent setups of one cache wait for each other (a lock file); the
    folder appears, complete, only at the end.
    """
    say = progress or (lambda line: None)
    started = time.perf_counter()
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    root = folder(cache_dir)
    with open(cache_dir / f".{NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_set_up(cache_dir):
            marker = read_marker(root)
            say(f"{root} is already set up (apache-tvm {WHEELS['apache-tvm']}); reusing it")
            _counting_plugin(cache_dir, root, say)
            return SetupReport(
                root,
                time.perf_counter() - started,
                int(marker.get("disk_bytes") or disk_usage(root)),
                True,
                disk_usage(downloads(cache_dir)),
                marker.get("versions"),
            )
        staging = cache_dir / f".{NAME}.staging"
        if staging.exists():
            say(f"removing an unfinished setup in {staging}")
            shutil.rmtree(staging)
        staging.mkdir()
        try:
            versions = populate(staging, downloads(cache_dir), say)
            disk = disk_usage(staging)
            marker = {
                "wanted": wanted(),
                "versions": versions,
                "disk_bytes": disk,
                "seconds": round(time.perf_counter() - started, 1),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            (staging / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
            _replace(staging, root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _counting_plugin(cache_dir, root, say)
    seconds = time.perf_counter() - started
    return SetupReport(root, seconds, disk, False, disk_usage(downloads(cache_dir)), versions)


def _counting_plugin(cache_dir: Path, root: Path, say: Say) -> None:
    """Build the instruction-counting plugin (when its source changed) and check that this host's qemu loads it."""
    path = plugin.ensure(cache_dir, say)
    plugin.check_loads(path, lambda arg, args: emulated_command(root, args, arg), emulated_env(root), say)


def _replace(staging: Path, root: Path) -> None:
    """Put the finished staging folder where the user space belongs, moving an old one out of the way first."""
    old = root.with_name(f".{NAME}.old")
    if old.exists():
        shutil.rmtree(old)
    if root.exists() or root.is_symlink():
        os.rename(root, old)
    os.rename(staging, root)
    shutil.rmtree(old, ignore_errors=True)


def populate(root: Path, download_dir: Path, say: Say) -> dict:
    """Fill an empty folder with the AArch64 user space; the versions it got (Debian and wheels)."""
    _require_qemu()
    ensure_arm64_apt(say)
    debs = resolve_debs(DEB_ROOTS)
    say(f"{len(debs)} Debian arm64 packages: {', '.join(sorted(debs))}")
    files = download_debs(debs, download_dir / "debs", say)
    say(f"unpacking {len(files)} packages into {root}")
    for deb in files:
        _run(["dpkg-deb", "-x", str(deb), str(root)], f"unpacking {deb.name}")
    relative_symlinks(root)
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc" / "cpuinfo").write_text(CPUINFO)
    wheels = download_wheels(download_dir / "wheels", say)
    say(f"unzipping {len(wheels)} wheels into {site_path(root)}")
    installed = {}
    for wheel in wheels:
        name, version = unzip_wheel(wheel, site_path(root))
        installed[name] = version
    say("checking that TVM and TFLite import under qemu (about 10-30 s the first time)")
    found = verify(root)
    return {"debian": debs, "wheels": installed, **found}


def _require_qemu() -> None:
    if shutil.which(QEMU) is None:
        raise DeviceUnavailable(f"{NAME}: {QEMU} not found on PATH; install it with `apt-get install {QEMU_PACKAGE}`")
    for tool in ("apt-get", "apt-cache", "dpkg", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise DeviceUnavailable(
                f"{NAME}: setup needs Debian's apt and dpkg, and {tool} is not on PATH; "
                f"prepare the user space on a Debian or Ubuntu host"
            )


def ensure_arm64_apt(say: Say) -> None:
    """Make apt know arm64 packages: add the architecture and update once, as root; else say what to run."""
    foreign = _run(["dpkg", "--print-foreign-architectures"], "dpkg").split()
    if "arm64" not in foreign:
        if os.geteuid() != 0:
            raise DeviceUnavailable(
                f"{NAME}: apt does not know arm64 packages; run `{ARCH_HINT}`, then `{SETUP_HINT}` again"
            )
        say("adding the arm64 architecture to apt: dpkg --add-architecture arm64")
        _run(["dpkg", "--add-architecture", "arm64"], "dpkg --add-architecture arm64")
        _apt_update(say)
    if not _apt_show([f"python{PYTHON_VERSION}:arm64"]):
        if os.geteuid() != 0:
            raise DeviceUnavailable(
                f"{NAME}: apt has no arm64 package lists yet; run `{ARCH_HINT}`, then `{SETUP_HINT}` again"
            )
        _apt_update(say)
        if not _apt_show([f"python{PYTHON_VERSION}:arm64"]):
            raise DeviceUnavailable(
                f"{NAME}: apt has no python{PYTHON_VERSION}:arm64 package; "
                f"this host's Debian release must provide Python {PYTHON_VERSION} (Debian 12)"
            )


def _apt_update(say: Say) -> None:
    say("apt-get update (arm64 package lists)")
    _run(["apt-get", "update", "-q"], "apt-get update", timeout_s=900)


def _apt_show(names: list[str]) -> list[dict]:
    """`apt-cache show` stanzas of the candidate versions; unknown, virtual and arch-all names give none."""
    out = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", *names], capture_output=True, text=True, check=False
    ).stdout
    return [parse_stanza(block) for block in out.split("\n\n") if block.strip()]


def parse_stanza(text: str) -> dict:
    fields, key = {}, None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def dependency_names(stanza: dict) -> list[list[str]]:
    """Depends and Pre-Depends as alternative groups of bare names (versions and `:any` dropped)."""
    groups = []
    for field in ("Pre-Depends", "Depends"):
        for group in filter(None, (g.strip() for g in stanza.get(field, "").split(","))):
            names = [re.split(r"[\s(:\[]", alt.strip(), maxsplit=1)[0] for alt in group.split("|")]
            groups.append([n for n in names if n])
    return groups


def resolve_debs(roots, show=None) -> dict[str, str]:
    """{package: version} for the roots and their dependencies among real arm64 packages.

    A dependency group is satisfied by its first alternative that is an arm64
    package which is not `Multi-Arch: foreign`; groups with none (arch-all data
    such as media-types, tools such as dpkg or perl-base) are left out.
    `show` is `_apt_show` (a stand-in in the tests).
    """
    show = show or _apt_show
    known: dict[str, dict | None] = {}

    def lookup(names):
        missing = [n for n in names if n not in known]
        if missing:
            for n in missing:
                known[n] = None
            for stanza in show([f"{n}:arm64" for n in missing]):
                if stanza.get("Architecture") == "arm64" and stanza.get("Package") in known:
                    known[stanza["Package"]] = stanza

    chosen: dict[str, dict] = {}
    lookup(list(roots))
    for root in roots:
        if known[root] is None:
            raise DeviceUnavailable(f"{NAME}: apt has no arm64 package {root}; run `{ARCH_HINT}`")
    todo = list(roots)
    while todo:  # breadth first, one apt-cache call per level
        batch = [n for n in dict.fromkeys(todo) if n not in chosen]
        for name in batch:
            chosen[name] = known[name]
        groups = [g for name in batch for g in dependency_names(known[name])]
        lookup([n for g in groups for n in g])
        todo = []
        for group in groups:
            pick = next((n for n in group if known.get(n) and known[n].get("Multi-Arch") != "foreign"), None)
            if pick and pick not in chosen:
                todo.append(pick)
    return {name: stanza["Version"] for name, stanza in sorted(chosen.items())}


def deb_filename(name: str, version: str) -> str:
    """The file `apt-get download` writes: epochs' ':' is spelled %3a."""
    return f"{name}_{version.replace(':', '%3a')}_arm64.deb"


def download_debs(debs: dict[str, str], into: Path, say: Say) -> list[Path]:
    into.mkdir(parents=True, exist_ok=True)
    files = [into / deb_filename(n, v) for n, v in sorted(debs.items())]
    missing = [f"{n}:arm64={v}" for (n, v), f in zip(sorted(debs.items()), files) if not f.is_file()]
    if missing:
        say(f"apt-get download: {len(missing)} packages into {into}")
        _run(["apt-get", "download", "-q", *missing], "apt-get download", cwd=into, timeout_s=1800)
    for f in files:
        if not f.is_file():
            raise DeviceUnavailable(
                f"{NAME}: apt-get download did not give {f.name}; run `sudo apt-get update` and retry"
            )
    return files


def download_wheels(into: Path, say: Say) -> list[Path]:
    """The pinned aarch64 wheels and their dependencies, from PyPI (files already there are kept)."""
    into.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--progress-bar",
        "off",
        "--disable-pip-version-check",
        "--dest",
        str(into),
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--abi",
        "cp" + PYTHON_VERSION.replace(".", ""),
    ]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    requirements = [f"{name}=={version}" for name, version in WHEELS.items()]
    say(f"pip download (aarch64, Python {PYTHON_VERSION}): {' '.join(requirements)}")
    out = _run(command + requirements, "pip download", timeout_s=1800)
    # pip names each file it resolved: "Saved PATH" when fetched, "File was already downloaded PATH" when kept.
    found = re.findall(r"^\s*(?:Saved|File was already downloaded) (.+\.whl)\s*$", out, re.MULTILINE)
    wheels = [into / Path(line.strip()).name for line in found]
    if not wheels or not all(w.is_file() for w in wheels):
        raise DeviceUnavailable(f"{NAME}: pip download did not name the wheels it saved in {into}")
    return sorted(set(wheels))


def unzip_wheel(wheel: Path, site: Path) -> tuple[str, str]:
    """Unpack a wheel as pip would for a plain site folder; its (name, version)."""
    site.mkdir(parents=True, exist_ok=True)
    name, version = wheel.name.split("-")[:2]
    data_dir = f"{name}-{version}.data/"
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            path = info.filename
            if path.startswith(data_dir):
                kind, _, rest = path[len(data_dir) :].partition("/")
                if kind not in ("purelib", "platlib") or not rest:
                    continue  # scripts, headers, data: nothing the server runs
                path = rest
            target = site / path
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode | 0o600)
    return name.replace("_", "-").lower(), version


def relative_symlinks(root: Path) -> None:
    """Point absolute symlinks (e.g. /lib/ld-linux-aarch64.so.1) inside the folder instead of at the host."""
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            link = Path(dirpath) / name
            if link.is_symlink():
                dest = os.readlink(link)
                if dest.startswith("/"):
                    link.unlink()
                    link.symlink_to(os.path.relpath(root / dest.lstrip("/"), link.parent))


def verify(root: Path, timeout_s: float = 600) -> dict:
    """Import TVM's RPC server and TFLite's interpreter under qemu in the folder; the versions they report."""
    code = (
        "import json, platform, time; t = time.time(); import numpy, tvm, tvm.rpc.server, tvm_ffi; "
        "import ai_edge_litert, ai_edge_litert.interpreter; "
        "print(json.dumps({'machine': platform.machine(), 'python': platform.python_version(), "
        "'tvm': tvm.__version__, 'tvm_ffi': tvm_ffi.__version__, 'numpy': numpy.__version__, "
        "'litert': getattr(ai_edge_litert, '__version__', None), 'import_s': round(time.time() - t, 1)}))"
    )
    found = probe.answer(
        emulated_command(root, ["-c", code]),
        env=emulated_env(root),
        timeout_s=timeout_s,
        asking=f"{NAME}: importing TVM and TFLite under qemu in {root}",
    )
    if (found["machine"], found["tvm"], found["tvm_ffi"]) != (
        "aarch64",
        WHEELS["apache-tvm"],
        WHEELS["apache-tvm-ffi"],
    ):
        raise DeviceUnavailable(
            f"{NAME}: the user space in {root} runs {found}, not apache-tvm "
            f"{WHEELS['apache-tvm']} with apache-tvm-ffi {WHEELS['apache-tvm-ffi']} on aarch64"
        )
    return found


def emulated_command(root: Path, args: list[str], plugin_arg: str | None = None) -> list[str]:
    """Run the folder's Python under qemu on the emulated core, with the counting plugin when `plugin_arg`
    (`PATH,out=DIR`, bot/engine/boards/plugin.py) is given:
    `qemu-aarch64 -cpu cortex-a72 -L ROOT [-plugin PLUGIN] ROOT/usr/bin/python3.11 -s ARGS`."""
    command = [shutil.which(QEMU) or QEMU, "-cpu", CPU, "-L", str(root)]
    if plugin_arg:
        command += ["-plugin", plugin_arg]
    return [*command, str(python_path(root)), "-s", *args]


def emulated_env(root: Path, threads: int = 1) -> dict[str, str]:
    """A clean environment for the emulated Python: its own site folder, nothing from the host's Pythons."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "QEMU_", "LD_", "VIRTUAL_ENV"))}
    env.update(
        PYTHONPATH=str(site_path(root)),
        PYTHONNOUSERSITE="1",
        PYTHONUNBUFFERED="1",
        PYTHONFAULTHANDLER="1",
        # A fixed string hash: the same dict layouts, and so the same instructions, in every process.
        PYTHONHASHSEED="0",
        TVM_NUM_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
        LANG="C.UTF-8",
    )
    return env


def disk_usage(path: Path) -> int:
    """Bytes the files under path take on disk (symlinks not followed; hard links once)."""
    total, seen = 0, set()
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def _run(command: list[str], what: str, cwd: Path | None = None, timeout_s: float = 300) -> str:
    try:
        out = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise DeviceUnavailable(f"{NAME}: {what} did not finish within {timeout_s:g} s") from None
    if out.returncode != 0:
        lines = [line for line in out.stderr.strip().splitlines() if not line.startswith("W:")] or [
            f"exit code {out.returncode}"
        ]
        raise DeviceUnavailable(f"{NAME}: {what} failed: {lines[-1].strip()}")
    return out.stdout
