"""A commit's AArch64 runtime on the emulated board: checked there (`import tvm` loads it), and served there.

Joins the build cache (builds/aarch64.py, which knows nothing of boards) and
the emulated board (boards/), read only: `check` is what `perfbot build`
runs after it cross-builds a runtime, and what a host that imported a build
can run to see that its runtime works under qemu; `of_build` is the runtime
a TVM build under test brings for the board to serve its modules with
(bot/engine/boards/emulated_server.py `EmulatedBoard`), so that modules
compiled by a PR's TVM run on that PR's own runtime, not the release's.

Tested under qemu on a stand-in runtime in tests/engine/builds/test_aarch64.py.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.engine.boards import userspace
from bot.engine.builds import aarch64
from bot.engine.environment import Environment

#: qemu's static build is enough for a check (the dynamic one is the counting board's, for its plugin).
QEMU = ("qemu-aarch64-static", "qemu-aarch64")


@dataclass(frozen=True)
class Runtime:
    """A build's own AArch64 TVM runtime: its libraries' folder and the commit's python/ tree beside it."""

    folder: Path
    python: Path
    commit: str | None = None

    @property
    def key(self) -> str:
        """The runtime's content key (the folder's name): one server per runtime, however many builds share it."""
        return self.folder.name

    @property
    def name(self) -> str:
        """What a run records as the board's runtime."""
        return f"TVM {self.commit[:10] if self.commit else '?'}'s own AArch64 runtime ({self.key[:12]})"

    def variables(self) -> dict[str, str]:
        """What an AArch64 Python needs on top of the user space's environment to serve with this runtime."""
        return {"PYTHONPATH": str(self.python), **aarch64.variables(self.folder)}


def of_build(build: dict, variables: dict) -> Runtime | None:
    """The AArch64 runtime a TVM build under test brings (Subject.build, Subject.variables), or None: a release,
    a pip or python: environment, a build without a cross compiler (the board's own runtime serves it)."""
    folder, python = build.get("aarch64_runtime"), variables.get("PYTHONPATH")
    if not folder or not python or not (Path(folder) / "runtime.json").is_file():
        return None
    return Runtime(Path(folder), Path(python), build.get("commit"))


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
