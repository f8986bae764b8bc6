"""How much of a `smoke` run is perfbot's own overhead.

Everything that is not TVM work (import, compile, load, run, timed runs) or a TFLite run counts
as overhead: generating models, starting children, writing SQLite, drawing
progress. Subject: under 10% of the run's wall time.

    .venv/bin/python benchmarks/harness_overhead.py [--suite smoke] [--runs 1]

Runs the suite on the `local` device with the TVM perfbot is installed with,
into a throwaway database and cache, and prints a table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot import devices
from bot.engine.runner import Runner, Subject
from bot.engine.suite.suites import get_suite
from bot.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="smoke")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole run; the first one also generates models")
    args = parser.parse_args()
    device = devices.load(None).get("local")
    suite = get_suite(args.suite)
    table = Table(title=f"harness overhead, {args.suite} suite on local", title_justify="left")
    for column in ("run", "wall s", "compile s", "TVM runs s", "TFLite s", "overhead s", "overhead %"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        store = Store.open(scratch / "perf.db")
        target = Subject(python=Path(sys.executable), env=f"python:{sys.executable}")
        for number in range(1, args.runs + 1):
            t = Runner(store, scratch / "cache").run(suite, device, target).timing
            table.add_row(
                str(number),
                f"{t.wall_s:.1f}",
                f"{t.compile_s:.1f}",
                f"{t.measure_s:.1f}",
                f"{t.tflite_s:.2f}",
                f"{t.overhead_s:.1f}",
                f"{100 * t.overhead_s / t.wall_s:.1f}",
            )
    Console().print(table)


if __name__ == "__main__":
    main()
