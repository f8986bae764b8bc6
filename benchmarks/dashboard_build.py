"""How long `perfbot dashboard` takes on a database of about 100,000 results.

    .venv/bin/python benchmarks/dashboard_build.py [--commits 626] [--repeat 3]

Fills a temporary database through the Store API (2 devices x 20 workloads x
2 schemes x 2 configs per commit, 10 samples each, a PR, failures), then
builds the site `--repeat` times into the same folder (as CI rebuilds it) and
reports the first build and the best. Target: under 5 s for 100,000 results.
The machine's other load counts: compare runs on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.sample_history, run from anywhere

from bot.store import Store  # noqa: E402
from dashboard.build import build_site  # noqa: E402
from tests.sample_history import fill  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=626, help="base-branch commits (626 gives about 100k results)")
    parser.add_argument("--repeat", type=int, default=3, help="builds to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        t = time.perf_counter()
        store = Store.open(scratch / "perf.db")
        results = fill(store, commits=args.commits)
        store.close()
        fill_s = time.perf_counter() - t
        times = []
        for _ in range(max(1, args.repeat)):
            report = build_site(scratch / "perf.db", scratch / "site")
            times.append(report.seconds)
        files = [p for p in (scratch / "site").rglob("*") if p.is_file()]
        pages = [p for p in files if p.suffix == ".html"]
        size = sum(p.stat().st_size for p in files)
        largest = max(p.stat().st_size for p in pages)
    table = Table(title="dashboard build", title_justify="left")
    for column in ("results", "fill s", "first s", "best s", "pages", "site MB", "max page KB"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{results:,}",
        f"{fill_s:.1f}",
        f"{times[0]:.2f}",
        f"{min(times):.2f}",
        str(report.pages),
        f"{size / 1e6:.1f}",
        f"{largest / 1e3:.0f}",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
