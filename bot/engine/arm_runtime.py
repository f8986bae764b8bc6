"""A commit's AArch64 runtime checked in the emulated user space: `import tvm` there loads it, or it is not used.

Joins the build cache (builds/aarch64.py, which knows nothing of boards) and
the emulated board's user space (boards/userspace.py), read only: what
`perfbot build` runs after it cross-builds a runtime, and what a host that
imported a build can run to see that its runtime works under qemu.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.engine.boards import userspace
from bot.engine.builds import aarch64
from bot.engine.environment import Environment

#: qemu's static build is enough for a check (the dynamic one is the counting board's, for its plugin).
QEMU = ("qemu-aarch64-static", "qemu-aarch64")


def check(env: Environment, qemu_cache: Path) -> dict | None:
    """Run `import tvm` with the environment's AArch64 runtime and its own python/ under qemu; what it loaded.

    `qemu_cache` is the cache that holds the user space (`perfbot device setup qemu-aarch64`). None when
    there is nothing to check (no AArch64 runtime, no user space set up, no qemu); EnvironmentBroken when
    the import fails or loads another runtime.
    """
    folder = env.build.get("aarch64_runtime")
    root = userspace.folder(qemu_cache)
    qemu = next((found for name in QEMU if (found := shutil.which(name))), None)
    if not folder or qemu is None or userspace.read_marker(root) is None:
        return None
    command = [qemu, "-L", str(root), str(userspace.python_path(root))]
    python_dir = Path(env.variables["PYTHONPATH"])
    return aarch64.check(Path(folder), python_dir, command, userspace.emulated_env(root))
