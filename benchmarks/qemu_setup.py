"""What the emulated AArch64 device costs: setup time and disk, and one item on it.

    .venv/bin/python benchmarks/qemu_setup.py [--cache DIR] [--item]

- cold: setup into an empty cache with pip's own cache switched off, so that
  every Debian package and wheel is downloaded (needs root for apt, or arm64
  already added to apt);
- rebuild: the folder removed, the downloads kept (a version bump's cost);
- warm: setup again on a ready folder (what every CI run pays);
- items (--item): start a tracker and the server under qemu, and run the
  seed conv layer (uint8; NHWC and NCHW; 1 warm-up + 10 timed runs each)
  through the worker's rpc path.

Without --cache it works in a throwaway folder and removes it at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.boards import preflight, userspace  # noqa: E402
from tests.emulated_board import board  # noqa: E402


def seed_items(cache: Path):
    """Seconds to bring the device up, and the seed layer's item results (one per layout)."""
    from bot.engine.runner import Runner, Subject
    from bot.engine.suite.inception import SEED
    from bot.engine.suite.suites import Suite
    from bot.engine.suite.workloads import qconv
    from bot.store import Store

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    device = board(port, metric="time")  # the rpc path a real board takes, with the emulated board standing in
    suite = Suite("qemu-seed", (qconv(SEED, "uint8"),))
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        with preflight.device_ready(device, cache):
            up = time.perf_counter() - started
            outcome = Runner(Store.open(Path(scratch) / "perf.db"), Path(scratch)).run(
                suite, device, Subject(python=Path(sys.executable), env="python:bench")
            )
    for result in outcome.results:
        if result.status != "ok":
            raise SystemExit(f"{result.config.name} ended {result.status}: {result.error}")
    return up, outcome.results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="keep the user space here (default: a temp folder)")
    parser.add_argument("--item", action="store_true", help="also time one item on the emulated device")
    args = parser.parse_args()
    scratch = None if args.cache else tempfile.mkdtemp(prefix="perfbot-qemu-bench-")
    cache = args.cache or Path(scratch)
    os.environ["PIP_NO_CACHE_DIR"] = "1"
    table = Table(title="qemu-aarch64 setup", title_justify="left")
    for column in ("step", "seconds", "folder MB", "downloads MB", "reused"):
        table.add_column(column, justify="right")

    def row(step, report):
        table.add_row(
            step,
            f"{report.seconds:.1f}",
            f"{report.disk_bytes / 1e6:.0f}",
            f"{report.download_bytes / 1e6:.0f}",
            str(report.reused),
        )

    try:
        shutil.rmtree(userspace.folder(cache), ignore_errors=True)
        shutil.rmtree(userspace.downloads(cache), ignore_errors=True)
        row("cold", userspace.setup(cache, progress=lambda line: print(f"  {line}", file=sys.stderr)))
        shutil.rmtree(userspace.folder(cache))
        row("rebuild", userspace.setup(cache))
        row("warm", userspace.setup(cache))
        Console().print(table)
        if args.item:
            up, results = seed_items(cache)
            Console().print(f"qemu-aarch64 up (tracker + server under qemu) in {up:.1f} s")
            for r in results:
                Console().print(
                    f"seed conv uint8 {r.config.name}: item {r.wall_s:.1f} s (compile {r.compile_s:.1f} s), "
                    f"median {r.median_ms:.0f} ms per run, max abs diff {r.max_abs_diff:g}"
                )
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
