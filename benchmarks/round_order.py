"""What ABBA leaves in an A/A change: the per-round ratio split by which side ran first in its round.

    .venv/bin/python benchmarks/round_order.py DATABASE [DATABASE ...] [--all-runs] [--by-round]

Reads the rounds perfbot keeps for every side-by-side item (bot/store) in any perf database: the
verdict_noise.py work folder's `today.db` and `sequential.db`, or a device's own. By default only A/A runs
count, runs whose two sides ran the same build (`env` equal to `base_env`): there every round's true ratio is
1, so what the rounds show is the method's own doing.

A round runs one side and then the other; the store keeps which ran first in each (`round_order`,
bot/engine/timing.base_first), and rows from before it did timed the base first in even rounds. If running second costs a side p percent, base-first rounds read +p_pr and PR-first
rounds -p_base. ABBA order cancels this when p_pr = p_base. The table shows, per workload, both orders' mean
per-round log ratio (percent), the second side's penalty ((base-first - PR-first) / 2, which ABBA cancels),
and the lean ((base-first + PR-first) / 2, which it does not: it is in every change the verdict reports).
The lean's 99% interval is over items (each item's own lean, items from separate PR jobs), a t interval.

With `--by-round`, a second table gives the mean log ratio at each round number of an item (1, 2, ...) and
side that ran first in it: where a pair of children starts, each child has just warmed up.

With `--all-runs`, runs with a real change count too; the penalty still reads true, the lean is then the
change plus the lean and says nothing on its own. Opening a database through bot/store migrates one an older
perfbot wrote, as every perfbot command does: point it at a copy of a database another version still writes
(verdict_noise.py's `today.db`, from `sqlite3 today.db ".backup copy.db"`).
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
from scipy import stats as scipy_stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.perf_databases import each_store  # noqa: E402
from bot.store import Store  # noqa: E402

out = Console(width=160)


def item_rounds(store: Store, all_runs: bool) -> dict[str, list[list[tuple[float, bool]]]]:
    """{workload: [each round's (PR/base log ratio in percent, base ran first), in order, per item]} of complete
    paired runs."""
    found = defaultdict(list)
    for run in store.runs():
        if not run.get("paired") or run.get("status") != "complete":
            continue
        if not all_runs and run.get("env") != run.get("base_env"):
            continue
        for result in store.results(run["id"]):
            rounds = result.get("rounds") or []
            order = result.get("round_order") or "bp" * len(rounds)  # older rows: base first in even rounds
            # a round dropped from the middle would swap which side ran first in every round after it
            if result.get("status") != "ok" or len(rounds) < 2 or min(min(r) for r in rounds) <= 0:
                continue
            if len(order) < len(rounds) or not {"b", "p"} <= set(order[: len(rounds)]):
                continue  # both orders are needed to tell a side's penalty from the lean
            logs = [(100 * math.log(pr / base), first == "b") for (base, pr), first in zip(rounds, order, strict=False)]
            found[result["workload"]].append(logs)
    return found


def lean_interval(leans: list[float]) -> tuple[float, float]:
    """99% t interval of the mean lean over items."""
    if len(leans) < 2:
        return math.nan, math.nan
    half = scipy_stats.t.ppf(0.995, len(leans) - 1) * statistics.stdev(leans) / math.sqrt(len(leans))
    mean = statistics.fmean(leans)
    return mean - half, mean + half


def table_of(path: Path, found: dict) -> Table:
    table = Table(title=f"{path}: per-round PR/base log ratio (%) by which side ran first", title_justify="left")
    for column in ("workload", "items", "rounds", "base first", "PR first", "second side's penalty",
                   "lean (in every change)", "lean 99% interval"):  # fmt: skip
        table.add_column(column, justify="left" if column == "workload" else "right", no_wrap=column == "workload")
    for workload, items in sorted(found.items()):
        base_first = [x for logs in items for x, first in logs if first]
        pr_first = [x for logs in items for x, first in logs if not first]
        leans = [(statistics.fmean(x for x, f in logs if f) + statistics.fmean(x for x, f in logs if not f)) / 2
                 for logs in items]  # fmt: skip
        low, high = lean_interval(leans)
        mean_bf, mean_pf = statistics.fmean(base_first), statistics.fmean(pr_first)
        table.add_row(workload, str(len(items)), str(len(base_first) + len(pr_first)), f"{mean_bf:+.2f}",
                      f"{mean_pf:+.2f}", f"{(mean_bf - mean_pf) / 2:.2f}", f"{(mean_bf + mean_pf) / 2:+.2f}",
                      f"[{low:+.2f}, {high:+.2f}]")  # fmt: skip
    return table


def by_round_table(path: Path, found: dict) -> Table:
    table = Table(title=f"{path}: mean per-round PR/base log ratio (%) by round number", title_justify="left")
    workloads = sorted(found)
    table.add_column("round")
    table.add_column("first")
    for workload in workloads:
        table.add_column(workload, justify="right")
    for number in range(max(len(logs) for items in found.values() for logs in items)):
        for base_ran_first in (True, False):
            cells = []
            for workload in workloads:
                values = [logs[number][0] for logs in found[workload]
                          if len(logs) > number and logs[number][1] == base_ran_first]  # fmt: skip
                cells.append(f"{statistics.fmean(values):+.1f} ({len(values)})" if values else "")
            if any(cells):
                table.add_row(str(number + 1), "base" if base_ran_first else "PR", *cells)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("databases", nargs="+", type=Path)
    parser.add_argument("--all-runs", action="store_true", help="runs with a real change count too")
    parser.add_argument("--by-round", action="store_true", help="also the mean log ratio at each round number")
    args = parser.parse_args(argv)
    for path, store in each_store(args.databases, "round_order.py"):
        found = item_rounds(store, args.all_runs)
        if not found:
            out.print(f"{path}: no {'paired' if args.all_runs else 'A/A'} item with rounds")
            continue
        out.print(table_of(path, found))
        if args.by_round:
            out.print(by_round_table(path, found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
