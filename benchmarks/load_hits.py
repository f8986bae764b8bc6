"""Which side the machine's load hits, and what that does to the change a side-by-side verdict reads.

    .venv/bin/python benchmarks/load_hits.py DATABASE [DATABASE ...] [--above 1.2] [--least 0.4] [--by-round]

Under load a timed sample now and then takes a hit: the run is stopped for a while and ends late by about the
same milliseconds whatever its length. Such a hit costs a short run a larger share of its time than a long one,
so where the PR's code takes twice the base's, hits pull the PR/base ratio towards 1. The sequential
design's rounds are one sample a side (bot/engine/timing); the fixed design before it (verdict_noise.py's
`today.db`) took the median of three a side per round.

Reads the samples perfbot keeps for every side-by-side item (bot/store) of runs whose two sides ran different
builds, and of those the items whose fastest samples differ by at least `--least` (log ratio, 0.4 by default:
the 2x build of verdict_noise.py, not its 3% to 10% ones). Per workload: each side's share of samples above
`--above` times its own fastest, and the change read three ways: the mean of the rounds' log ratios (what the
verdict's interval is centred on), the ratio of the sides' median samples, and the ratio of their fastest
samples (no hit in either). With `--by-round`, a second table gives each side's median milliseconds over its
fastest at each round number (1, 2, ...): where in a pair of children the hits land. Point it at copies of databases another perfbot version still writes: opening one
through bot/store migrates it.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.perf_databases import each_store  # noqa: E402
from bot.store import Store  # noqa: E402

out = Console(width=160)


def changed_items(store: Store, least: float) -> dict[str, list[dict]]:
    """{workload: [results]} of complete paired runs with different builds, whose fastest samples differ by
    at least `least` (log ratio)."""
    found = defaultdict(list)
    for run in store.runs():
        if not run.get("paired") or run.get("status") != "complete" or run.get("env") == run.get("base_env"):
            continue
        for result in store.results(run["id"]):
            pr, base = result.get("samples_ms") or [], result.get("base_samples_ms") or []
            if result.get("status") != "ok" or not result.get("rounds") or not pr or not base:
                continue
            if min(pr) <= 0 or min(base) <= 0 or abs(math.log(min(pr) / min(base))) < least:
                continue
            found[result["workload"]].append(result)
    return found


def change(log_ratio: float) -> str:
    return f"{100 * math.expm1(log_ratio):+.1f}%"


def hit(results: list[dict], side: str, above: float) -> str:
    """The share of a side's samples over `above` times that item's fastest on the same side."""
    samples = [(x, min(r[side])) for r in results for x in r[side]]
    return f"{sum(x > above * fastest for x, fastest in samples) / len(samples):.0%} of {len(samples)}"


def hits_table(path: Path, found: dict, above: float) -> Table:
    table = Table(title=f"{path}: load hits per side, and the change read three ways", title_justify="left")
    for column in ("workload", "items", f"base samples > {above}x its fastest", f"PR samples > {above}x its fastest",
                   "mean of rounds", "medians", "fastest"):  # fmt: skip
        table.add_column(column, justify="left" if column == "workload" else "right", no_wrap=column == "workload")
    for workload, results in sorted(found.items()):
        rounds = [statistics.fmean(math.log(pr / base) for base, pr in r["rounds"]) for r in results]
        medians = [math.log(statistics.median(r["samples_ms"]) / statistics.median(r["base_samples_ms"]))
                   for r in results]  # fmt: skip
        fastest = [math.log(min(r["samples_ms"]) / min(r["base_samples_ms"])) for r in results]
        table.add_row(workload, str(len(results)), hit(results, "base_samples_ms", above), hit(results, "samples_ms", above),
                      *(change(statistics.fmean(x)) for x in (rounds, medians, fastest)))  # fmt: skip
    table.caption = "a change: the mean over items of each item's log ratio"
    return table


def by_round_table(path: Path, found: dict) -> Table:
    table = Table(title=f"{path}: each side's median ms over its fastest, by round number", title_justify="left")
    workloads = sorted(found)
    table.add_column("round")
    for workload in workloads:
        table.add_column(f"{workload}: base / PR", justify="right")
    for number in range(max(len(r["rounds"]) for results in found.values() for r in results)):
        cells = []
        for workload in workloads:
            late = [(base - min(r["base_samples_ms"]), pr - min(r["samples_ms"]))
                    for r in found[workload] if len(r["rounds"]) > number for base, pr in [r["rounds"][number]]]  # fmt: skip
            cells.append(f"{statistics.median(b for b, _ in late):.1f} / {statistics.median(p for _, p in late):.1f}"
                         f" ({len(late)})" if late else "")  # fmt: skip
        table.add_row(str(number + 1), *cells)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("databases", nargs="+", type=Path)
    parser.add_argument("--above", type=float, default=1.2, help="a sample this many times its side's fastest is hit")
    parser.add_argument("--by-round", action="store_true", help="also each side's lateness at each round number")
    parser.add_argument("--least", type=float, default=0.4, help="items whose fastest samples differ this much")
    args = parser.parse_args(argv)
    for path, store in each_store(args.databases, "load_hits.py"):
        found = changed_items(store, args.least)
        if not found:
            out.print(f"{path}: no item of a real change of at least {change(args.least)} with samples")
            continue
        out.print(hits_table(path, found, args.above))
        if args.by_round:
            out.print(by_round_table(path, found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
