"""The instruction-counting TCG plugin (icount.c beside this file): built from source here, and checked.

Debian ships QEMU's user mode with plugin support in the dynamic
`qemu-aarch64` (package qemu-user) but no plugin and no plugin header, so
perfbot builds its own from the C file in this folder with the host's C
compiler, into `CACHE/qemu-aarch64-plugin/icount-HASH.so` (the hash is of
the source and the flags: a changed source is a new file, and a build that
was interrupted leaves only a temporary file). `check_loads` runs the
emulated Python once with the plugin and two markers and wants its count
file back; it remembers a success for that qemu binary and plugin, so the
check costs a second once, not at every run.

The guest's side of the markers is bot/child/qemu_server.py; the counts are
read by bot/engine/boards/instructions.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bot.console import Say
from bot.errors import DeviceUnavailable
from bot.vocabulary import QEMU_AARCH64

SOURCE = Path(__file__).with_name("icount.c")
FLAGS = ("-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Werror")
#: The system call number the guest's markers use, and the two operations: as in icount.c.
MARKER, MARK_START, MARK_STOP = 0x7E57, 1, 2
COMPILERS = ("cc", "gcc", "clang")


def folder(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"{QEMU_AARCH64}-plugin"


def built_path(cache_dir: Path) -> Path:
    """Where the plugin of this source is (or will be) built."""
    digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(FLAGS).encode()).hexdigest()[:12]
    return folder(cache_dir) / f"icount-{digest}.so"


def ensure(cache_dir: Path, say: Say | None = None) -> Path:
    """The built plugin, compiled first if this source has not been (about a second)."""
    path = built_path(cache_dir)
    if path.is_file():
        return path
    compiler = next((shutil.which(c) for c in COMPILERS if shutil.which(c)), None)
    if compiler is None:
        raise DeviceUnavailable(
            f"{QEMU_AARCH64}: building the instruction-counting plugin needs a C compiler; "
            f"install one with `apt-get install gcc`"
        )
    (say or (lambda line: None))(f"building the instruction-counting plugin {path.name} from {SOURCE.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        tmp = Path(scratch) / path.name
        out = subprocess.run(
            [compiler, *FLAGS, "-o", str(tmp), str(SOURCE), "-lpthread"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            first = next((line for line in out.stderr.splitlines() if "error" in line), out.stderr.strip()[:300])
            raise DeviceUnavailable(f"{QEMU_AARCH64}: the instruction-counting plugin does not build: {first}")
        os.replace(tmp, path)
    return path


def argument(path: Path, out_dir: Path) -> str:
    """qemu's `-plugin` value: the plugin and where it writes its counts (qemu splits the value at commas)."""
    for where in (path, out_dir):
        if "," in str(where):
            raise DeviceUnavailable(f"{QEMU_AARCH64}: qemu cannot take a plugin path with a comma: {where}")
    return f"{path},out={out_dir}"


#: Sets the two markers, as bot/child/qemu_server.py does around an inference.
_PROBE = (
    "import ctypes; libc = ctypes.CDLL(None); "
    f"libc.syscall(ctypes.c_long({MARKER}), ctypes.c_long({MARK_START}), ctypes.c_long(0)); "
    "sum(range(1000)); "
    f"libc.syscall(ctypes.c_long({MARKER}), ctypes.c_long({MARK_STOP}), ctypes.c_long(1))"
)


def check_loads(
    path: Path, command: Callable[[str, list[str]], list[str]], env: dict[str, str], say: Say | None = None
) -> None:
    """DeviceUnavailable, in one line, unless qemu runs the guest with the plugin and the plugin writes a count.

    `command(plugin_arg, args)` is the emulated Python's command line with the plugin.
    """
    base = command(argument(path, Path("/")), [])
    qemu = shutil.which(base[0]) or base[0]
    stamp = _stamp(qemu, path)
    remembered = path.with_suffix(".checked")
    if remembered.is_file() and remembered.read_text() == stamp:
        return
    (say or (lambda line: None))(f"checking that {qemu} loads the counting plugin")
    with tempfile.TemporaryDirectory(prefix="perfbot-icount-check-") as out_dir:
        try:
            done = subprocess.run(
                command(argument(path, Path(out_dir)), ["-c", _PROBE]),
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DeviceUnavailable(
                f"{QEMU_AARCH64}: {qemu} with the counting plugin did not finish in 300 s"
            ) from None
        counts = list(Path(out_dir).glob("count-*-1.txt"))
        if done.returncode != 0 or not counts:
            raise DeviceUnavailable(_why_not(qemu, done))
        total = read_total(counts[0])
    if not total:
        raise DeviceUnavailable(f"{QEMU_AARCH64}: the counting plugin loaded in {qemu} but counted nothing")
    remembered.write_text(stamp)


def _why_not(qemu: str, done: subprocess.CompletedProcess) -> str:
    said = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
    if any("plugin" in line.lower() for line in said) and any(
        word in " ".join(said).lower() for word in ("invalid", "unknown", "not enabled", "unsupported")
    ):
        return (
            f"{QEMU_AARCH64}: {qemu} cannot load TCG plugins (built without them); "
            f"install QEMU 4.2 or newer with plugin support, e.g. Debian's `apt-get install qemu-user`"
        )
    last = said[-1] if said else f"exit code {done.returncode}, no count written"
    return f"{QEMU_AARCH64}: {qemu} did not count with the plugin: {last[:300]}"


def _stamp(qemu: str, path: Path) -> str:
    """What a remembered check was for: this qemu binary (path, size, time) and this plugin."""
    st = os.stat(qemu)
    return json.dumps({"qemu": os.path.realpath(qemu), "size": st.st_size, "mtime": st.st_mtime, "plugin": path.name})


def read_total(path: Path) -> int | None:
    """The `total` line of a count file, or None when it is not one."""
    try:
        with open(path) as f:
            head = [f.readline().strip() for _ in range(2)]
    except OSError:
        return None
    if head[0] != "perfbot-icount 1" or not head[1].startswith("total "):
        return None
    return int(head[1].split()[1])
