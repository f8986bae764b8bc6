"""Counting one item's instructions on a board that counts: one build alone, or a PR's beside its base's.

On an instruction-counting board (devices.yml `metric: instructions`, the
emulated AArch64 board) an item is not timed. Each side is a session in a
fork server of its own TVM environment (bot/engine/isolation.py): the child
compiles the item and links it for the board, says ready, and on request
runs it there once, checks it against TFLite and counts one more inference
(bot/child/measure.py). The count is exact: the same build counted again
gives the same number within 35 instructions of the allocator and the
interpreter (README, "Instruction counts"), so a PR needs no rounds and no
rerun.

A PR's two children compile side by side on the host; then the base is
counted, then the PR, one after the other, since the board serves one
session at a time. When both compiled to the same code nothing is run: the
item is `same code`, as for timed items.

`with_counts` turns a side's raw count (per code block, as the board sent it)
into a Count per function, and reads the linked module's kernels and code
size (bot/engine/boards/instructions.py). A board that could not count (the
plugin wrote nothing, qemu failed) makes the side an `environment_error`
naming what failed: never a crash of perfbot, never a TVM failure.

TFLite's counts depend on the model and its input (the workload), the
threads, and the board: its user space (with the TFLite wheel), the core
qemu emulates, qemu's version and the plugin. `KeptTfliteCounts` keeps them
between runs under a key of exactly those, so that a PR job counts TFLite
once per workload and board, not once per job (it was 10-36 s of a smoke
PR job at load average 5-6).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from bot.devices import Device
from bot.engine.boards import emulated_server, instructions, plugin, userspace
from bot.engine.isolation import ForkServer
from bot.engine.timing import Pair, Side, side_of
from bot.vocabulary import ENVIRONMENT_ERROR, TIMED


def count_alone(server: ForkServer, spec: dict, workdir: Path, timeout_s: float, block_timeout_s: float) -> Side:
    """Compile one item, then run, check and count it on the board."""
    session = server.session({**spec, "count": True}, workdir, timeout_s)
    if session.start() is None:
        session.count(block_timeout_s)
    return with_counts(side_of(session.finish(), []))


def count_pair(
    base_server: ForkServer,
    pr_server: ForkServer,
    spec: dict,
    workdir: Path,
    timeout_s: float,
    block_timeout_s: float,
    *,
    skip_same_code: bool = True,
) -> Pair:
    """Both builds compiled side by side, then each counted on the board in turn (neither when the code is the same)."""
    base = base_server.session({**spec, "count": True}, workdir / "base", timeout_s)
    pr = pr_server.session({**spec, "count": True}, workdir / "pr", timeout_s)
    base.begin(), pr.begin()  # both compile at once: two cores, half the wait
    ready = {"base": base.wait_ready() is None, "pr": pr.wait_ready() is None}
    same = all(ready.values()) and base.report().get("code_hash") not in (None, "")
    same = same and base.report().get("code_hash") == pr.report().get("code_hash")
    if not (same and skip_same_code):
        for name, session in (("base", base), ("pr", pr)):
            if ready[name]:
                session.count(block_timeout_s)
    return Pair(with_counts(side_of(base.finish(), [])), with_counts(side_of(pr.finish(), [])))


def with_counts(side: Side) -> Side:
    """The side with its count per function (`data["count"]`) and its linked module's statistics
    (`data["module_stats"]`), where the child left what they are made from (see the module docstring)."""
    data = side.data
    raw = data.get("instructions")
    if side.status in TIMED and raw is not None:
        try:
            data["count"] = instructions.attribute(raw, data.get("library"))
        except (KeyError, TypeError, ValueError) as e:
            side.status = ENVIRONMENT_ERROR
            side.error = f"instruction count failed: the board's count could not be read ({type(e).__name__}: {e})"
    if data.get("library") and Path(data["library"]).is_file():
        data["module_stats"] = instructions.module_stats(data["library"])
    return side


class KeptTfliteCounts:
    """TFLite's raw counts per workload, kept in CACHE/counts/tflite/KEY/ (see the module docstring)."""

    def __init__(self, cache_dir: Path, device: Device):
        identity = {
            "user space": userspace.wanted(),
            "cpu": userspace.CPU,
            "qemu": emulated_server.qemu_version(),
            "plugin": plugin.built_path(cache_dir).name,
            "threads": device.threads,
        }
        key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
        self.folder = Path(cache_dir) / "counts" / "tflite" / key

    def get(self, workload_hash: str) -> dict | None:
        try:
            return json.loads((self.folder / f"{workload_hash}.json").read_text())
        except (OSError, ValueError):
            return None

    def put(self, workload_hash: str, raw: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{workload_hash}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(raw))
        os.replace(tmp, self.folder / f"{workload_hash}.json")
