"""How long `perfbot dashboard` takes on a database of about 100,000 results.

    .venv/bin/python benchmarks/dashboard_build.py [--commits 626]

Fills a temporary database through the Store API (2 devices x 20 workloads x
2 schemes x 2 configs per commit, 10 samples each), then builds the site.
Target: under 5 s for 100,000 results.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.store import Store
from dashboard.build import build_site
from dashboard.sample import fill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=626, help="base-branch commits (626 gives about 100k results)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        t = time.perf_counter()
        store = Store.open(scratch / "perf.db")
        results = fill(store, commits=args.commits)
        store.close()
        fill_s = time.perf_counter() - t
        report = build_site(scratch / "perf.db", scratch / "site")
        size = sum(p.stat().st_size for p in (scratch / "site").rglob("*") if p.is_file())
    table = Table(title="dashboard build", title_justify="left")
    for column in ("results", "fill s", "build s", "pages", "site MB"):
        table.add_column(column, justify="right")
    table.add_row(f"{results:,}", f"{fill_s:.1f}", f"{report.seconds:.2f}", str(report.pages), f"{size / 1e6:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
