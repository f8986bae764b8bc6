"""Is this machine steady enough for ±2% verdicts? How fast its CPUs run from moment to moment, and who sees it.

    .venv/bin/python benchmarks/cpu_levels.py [--seconds 60] [--chunk-ms 400]

Side-by-side rounds cancel what moves both sides of a round alike; what they cannot cancel is the machine
changing speed between a round's two samples. This times one fixed piece of work (a single-threaded numpy
matrix product, the same every time) back to back, in chunks as long as a sample of the story's layer, and
says how the chunks' times move and whether the system can see why:

- level: the chunks' spread around their median, and from one chunk to the next (the step, divided by
  sqrt 2: what a round of two adjacent samples would see if the work did not change);
- CPU time against wall time: when the process is preempted (another process, or the hypervisor's steal
  time) its CPU time falls behind the wall clock. Where they move together, the CPU itself ran slower,
  which nothing inside the machine reports (a virtual CPU whose host core is shared, say);
- steal time and run-queue waits (/proc/stat, /proc/self/schedstat), and moves between CPUs;
- then one process pinned to each CPU at once, short chunks binned by half seconds: how alike the CPUs'
  levels are (a round whose two samples ran on different CPUs carries their difference).

Run it alone: it measures the machine, other work included.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one thread: before numpy loads OpenBLAS

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bot.child.guard import watch_parent  # noqa: E402
from bot.stats import robust_sd  # noqa: E402

out = Console(width=120)
MATRIX = 700


def _steal_ms() -> float:
    with open("/proc/stat") as stat:
        fields = stat.readline().split()  # "cpu user nice system idle iowait irq softirq steal ..."
    return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")


def _waited_ms() -> float:
    with open(f"/proc/self/task/{os.getpid()}/schedstat") as stat:
        return int(stat.read().split()[1]) / 1e6  # time runnable but not running


def _cpu() -> int:
    with open("/proc/self/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[36])


def _kernel(size: int):
    matrix = np.random.default_rng(0).random((size, size), dtype=np.float32)

    def work(times: int) -> None:
        for _ in range(times):
            matrix @ matrix

    return work


def _repeats_for(work, ms: float) -> int:
    started = time.perf_counter()
    work(5)
    return max(1, round(ms / 1000 / ((time.perf_counter() - started) / 5)))


def chunks(seconds: float, chunk_ms: float) -> list[dict]:
    """Back-to-back chunks of the same work in this process, each with what the system says about it."""
    work = _kernel(MATRIX)
    repeats = _repeats_for(work, chunk_ms)
    found, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        steal, waited, cpu_ns, before = _steal_ms(), _waited_ms(), time.thread_time_ns(), _cpu()
        started = time.perf_counter_ns()
        work(repeats)
        wall = (time.perf_counter_ns() - started) / 1e6
        found.append({"wall": wall, "cpu": (time.thread_time_ns() - cpu_ns) / 1e6, "waited": _waited_ms() - waited,
                      "steal": _steal_ms() - steal, "moved": _cpu() != before})  # fmt: skip
    return found


def pinned(cpu: int, until: float, parent: int) -> None:
    """A child: short chunks on one CPU until `until` (wall clock), as JSON lines (start time, ms per product).
    It ends with `parent`, however that ends, even before this child got here (bot/child/guard.py)."""
    watch_parent(parent)
    os.sched_setaffinity(0, {cpu})
    work = _kernel(MATRIX // 2)
    repeats = _repeats_for(work, 50)
    while time.time() < until:
        at, started = time.time(), time.perf_counter_ns()
        work(repeats)
        print(json.dumps([at, (time.perf_counter_ns() - started) / 1e6 / repeats]), flush=True)


def both_cpus(seconds: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Each CPU's level (log %, around its median) per half second, both timed at once; None on one CPU."""
    cpus = sorted(os.sched_getaffinity(0))[:2]
    if len(cpus) < 2:
        return None
    until = time.time() + seconds
    children = [subprocess.Popen([sys.executable, __file__, "--pinned", str(cpu), str(until), str(os.getpid())], stdout=subprocess.PIPE,
                                 text=True) for cpu in cpus]  # fmt: skip
    try:
        series = [np.array([json.loads(line) for line in child.communicate(timeout=seconds + 60)[0].splitlines()])
                  for child in children]  # fmt: skip
    finally:
        for child in children:
            child.kill()
    start = max(s[0, 0] for s in series)
    edges = np.arange(start, start + seconds - 1, 0.5)
    levels = []
    for s in series:
        bins = np.digitize(s[:, 0], edges)
        levels.append([np.median(s[bins == b, 1]) if (bins == b).any() else np.nan for b in range(1, len(edges))])
    levels = np.log(np.array(levels))
    levels = levels[:, ~np.isnan(levels).any(axis=0)]
    return tuple(100 * (level - np.median(level)) for level in levels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="for each of the two parts")
    parser.add_argument("--chunk-ms", type=float, default=400.0, help="a chunk's length: one sample's")
    parser.add_argument("--pinned", nargs=3, help=argparse.SUPPRESS)  # CPU, until, parent pid
    args = parser.parse_args()
    if args.pinned:
        return pinned(int(args.pinned[0]), float(args.pinned[1]), int(args.pinned[2]))
    load = os.getloadavg()[0]
    print(f"{time.strftime('%H:%M:%S')} timing {args.chunk_ms:g} ms chunks for {args.seconds:g} s", file=sys.stderr)
    found = chunks(args.seconds, args.chunk_ms)
    wall = np.array([c["wall"] for c in found])
    cpu = np.array([c["cpu"] for c in found])
    level = 100 * np.log(wall / np.median(wall))
    table = Table(title=f"one process, {len(found)} chunks of {np.median(wall):.0f} ms, load average {load:.2f}",
                  title_justify="left")  # fmt: skip
    table.add_column("reading")
    table.add_column("value", justify="right")
    table.add_row("chunk time around its median, robust sd", f"{robust_sd(level):.2f}%")
    table.add_row("... beyond ±3%", f"{np.mean(np.abs(level) > 3):.0%} of chunks")
    table.add_row(
        "step from one chunk to the next / sqrt 2, robust sd", f"{robust_sd(np.diff(level)) / math.sqrt(2):.2f}%"
    )
    table.add_row("chunks whose CPU time fell 1% behind the wall clock", f"{np.mean(cpu < 0.99 * wall):.1%}")
    table.add_row("correlation of CPU time and wall time", f"{np.corrcoef(cpu, wall)[0, 1]:.4f}")
    table.add_row("steal time, all CPUs, ms per chunk (mean)", f"{np.mean([c['steal'] for c in found]):.2f}")
    table.add_row("run-queue wait, ms per chunk (mean)", f"{np.mean([c['waited'] for c in found]):.2f}")
    table.add_row("chunks that moved to another CPU", f"{np.mean([c['moved'] for c in found]):.1%}")
    print(f"{time.strftime('%H:%M:%S')} one process per CPU at once for {args.seconds:g} s", file=sys.stderr)
    pair = both_cpus(args.seconds)
    if pair is not None:
        first, second = pair
        table.add_row("two CPUs at once: each CPU's level per 0.5 s, sd", f"{first.std():.2f}% / {second.std():.2f}%")
        table.add_row("... correlation of the two", f"{np.corrcoef(first, second)[0, 1]:.2f}")
        table.add_row("... sd of their difference / sqrt 2", f"{(first - second).std() / math.sqrt(2):.2f}%")
    out.print(table)


if __name__ == "__main__":
    main()
