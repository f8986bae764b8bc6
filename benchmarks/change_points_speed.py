"""How long bot.stats.change_points takes on a dashboard-sized series (it was a time limit in tests/test_stats.py).

    .venv/bin/python benchmarks/change_points_speed.py [--points 500] [--repeat 5]

The dashboard finds change points in every series it draws (device x workload x scheme x
configuration), so one series must take milliseconds. Two series of `--points` latencies:
flat (3% noise) and stepped (five levels, 1% noise). Each is segmented once to warm up, then
`--repeat` times; the best time counts. Target: under 25 ms for 500 points. The machine's
other load counts (a timing, not a count): compare runs on a quiet machine, and give the
load average with a figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from bot.stats import change_points  # noqa: E402

TARGET_S = 0.025


def series(points: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(1)
    flat = list(10 * np.exp(rng.normal(0, 0.03, points)))
    levels, length = (10, 12, 10, 8, 11), max(1, points // 5)
    stepped = [level * float(np.exp(rng.normal(0, 0.01))) for level in levels for _ in range(length)]
    return {"flat": flat, "stepped": stepped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}; target {TARGET_S * 1000:.0f} ms for 500 points")
    worst = 0.0
    for name, values in series(args.points).items():
        found = change_points(values)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            change_points(values)
            timings.append(time.perf_counter() - started)
        best = min(timings)
        worst = max(worst, best)
        print(f"{name}: {len(values)} points, {len(found)} change points, best {best * 1000:.1f} ms "
              f"of {args.repeat} (median {float(np.median(timings)) * 1000:.1f} ms)")  # fmt: skip
    print("target met" if worst < TARGET_S else "target missed")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
