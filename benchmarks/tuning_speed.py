"""How fast perfbot tunes, and what tuning buys: issue 14's figures, through the bot's own tuning code.

    .venv/bin/python benchmarks/tuning_speed.py [--trials 64] [--compare-trials 8] [--stock-minutes 4] [--skip-stock]

1. Trials per second on the story's layer (both layouts), `--compare-trials` per task, fresh database
   each: MetaSchedule's own settings (its LocalBuilder and LocalRunner, population 512, 4 generations,
   the whole `tvm.s_tir.tensor_intrin` import: what `perfbot tune` ran before) against perfbot's.
2. The smoke suite tuned at `--trials` per task (goal: under 10 minutes on 2 cores), then a second
   `tune` that must find nothing to do (resume).
3. Default, tuned and TFLite side by side per smoke item (`perfbot run --tuning`'s path).
4. How long a PR waits for a tuned row when the database already has its tasks: the side-by-side PR
   run's wall time per item, tuned rows against default rows (goal: no longer).

Everything runs on the `local` device with the TVM perfbot is installed with, in a throwaway
cache and database; progress lines go to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot import devices
from bot.engine import tuning
from bot.engine.runner import Runner, Subject
from bot.engine.suite.inception import SEED
from bot.engine.suite.suites import Suite, get_suite
from bot.engine.suite.workloads import qconv
from bot.errors import Cancelled

out = Console()
err = Console(stderr=True)


def say(line: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}", highlight=False)


def speed_table(rows: list[tuple[str, tuning.TuneOutcome]], trials: int) -> Table:
    table = Table(title=f"trials per second, story layer, up to {trials} trials per task", title_justify="left")
    for column in ("settings", "status", "tasks", "trials", "seconds", "trials/s"):
        table.add_column(column, justify="left" if column in ("settings", "status") else "right")
    for name, o in rows:
        table.add_row(name, o.status, str(len(o.tasks)) if o.tasks else "–", str(o.trials), f"{o.seconds:.0f}",
                      f"{o.trials_per_s:.3f}")  # fmt: skip
    if len(rows) == 2 and rows[0][1].trials_per_s:
        table.caption = (
            f"perfbot / stock: {rows[1][1].trials_per_s / rows[0][1].trials_per_s:.1f}x the trials per second"
        )
    return table


def side_by_side(results) -> Table:
    table = Table(title="default, tuned and TFLite per smoke item (median ms)", title_justify="left")
    for column in ("workload", "scheme", "layout", "default", "tuned", "TFLite", "tuned/default", "tuned/TFLite"):
        table.add_column(column, justify="left" if column in ("workload", "scheme", "layout") else "right",
                         no_wrap=column == "workload")  # fmt: skip
    by = {(r.workload.name, r.workload.scheme, r.config.layout, r.config.pipeline): r for r in results}
    for name, scheme, layout in sorted({key[:3] for key in by}):
        default, tuned = by.get((name, scheme, layout, "default")), by.get((name, scheme, layout, "tuned"))
        d = default.median_ms if default and default.status == "ok" else None
        t = tuned.median_ms if tuned and tuned.status == "ok" else None
        tfl = (default or tuned).tflite_median_ms
        table.add_row(
            name,
            scheme,
            layout,
            f"{d:.2f}" if d else (default.status if default else "–"),
            f"{t:.2f}" if t else (tuned.status if tuned else "–"),
            f"{tfl:.2f}" if tfl else "–",
            f"{t / d:.3f}" if t and d else "–",
            f"{t / tfl:.1f}" if t and tfl else "–",
        )
    return table


def stock_speed(store, scratch: Path, suite: Suite, device, subject: Subject, args) -> tuning.TuneOutcome:
    """MetaSchedule's own settings, stopped after `--stock-minutes`: its trials per second so far."""
    seen: dict = {}
    started = time.monotonic()

    def watch(line: str) -> None:
        say(line)
        match = re.search(r"(\d+) trials, ([\d.]+) trials/s", line)
        if match:
            seen.update(trials=int(match[1]), rate=float(match[2]))

    try:
        return tuning.tune_suite(
            store, scratch / "stock", suite, device, subject, args.compare_trials, say=watch,
            should_stop=lambda: time.monotonic() - started > 60 * args.stock_minutes, overrides={"stock": True},
        )  # fmt: skip
    except Cancelled:
        return tuning.TuneOutcome("stopped", time.monotonic() - started, trials=seen.get("trials", 0),
                                  trials_per_s=seen.get("rate", 0.0))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=64, help="trials per task for the smoke suite")
    parser.add_argument("--compare-trials", type=int, default=8, help="trials per task for the speed comparison")
    parser.add_argument("--skip-stock", action="store_true", help="skip MetaSchedule's own settings (slow)")
    parser.add_argument("--stock-minutes", type=float, default=5.0, help="stop MetaSchedule's own settings after this")
    args = parser.parse_args()
    device = devices.load(None).get("local")
    subject = Subject(python=Path(sys.executable), env=f"python:{sys.executable}")
    story = Suite("story", (qconv(SEED, "uint8"),))
    smoke = get_suite("smoke")
    with tempfile.TemporaryDirectory(prefix="perfbot-tuning-bench-") as scratch:
        scratch = Path(scratch)
        from bot.store import Store

        store = Store.open(scratch / "perf.db")
        speed = []
        if not args.skip_stock:
            say(f"1. story layer, MetaSchedule's own settings (stopped after {args.stock_minutes:g} minutes)")
            speed.append(("MetaSchedule's own (before)", stock_speed(store, scratch, story, device, subject, args)))
        say("1. story layer, perfbot's settings")
        speed.append(
            (
                "perfbot's (after)",
                tuning.tune_suite(store, scratch / "ours", story, device, subject, args.compare_trials, say=say),
            )
        )
        out.print(speed_table(speed, args.compare_trials))

        cache = scratch / "cache"
        say(f"2. smoke suite at {args.trials} trials per task")
        first = tuning.tune_suite(store, cache, smoke, device, subject, args.trials, say=say)
        again = tuning.tune_suite(store, cache, smoke, device, subject, args.trials, say=say)
        table = Table(title=f"tuning the smoke suite, {args.trials} trials per task", title_justify="left")
        for column in ("tuning", "status", "tasks", "tasks tuned", "trials", "minutes", "trials/s"):
            table.add_column(column, justify="left" if column in ("tuning", "status") else "right")
        for name, o in (("first", first), ("second (resume)", again)):
            tuned = sum(1 for t in o.tasks if t.get("after", 0) > t["before"])
            table.add_row(name, o.status, str(len(o.tasks)), str(tuned), str(o.trials), f"{o.seconds / 60:.1f}",
                          f"{o.trials_per_s:.2f}")  # fmt: skip
        table.caption = "goal: the first under 10 minutes on 2 cores; the second tunes nothing"
        out.print(table)

        say("3. default, tuned and TFLite per item")
        runner = Runner(store, cache)
        outcome = runner.run(smoke, device, subject, tuning=True)
        out.print(side_by_side(outcome.results))

        say("4. a PR beside its base, with the database in place (same build both sides, timed anyway)")
        paired = runner.run_paired(smoke, device, subject, subject, tuning=True, confirm=False, skip_same_code=False)
        wall = {p: [r.wall_s for r in paired.results if r.config.pipeline == p] for p in ("default", "tuned")}
        table = Table(title="how long a PR waits per row (side by side, ABBA rounds)", title_justify="left")
        for column in ("pipeline", "rows", "median s per row", "total s"):
            table.add_column(column, justify="left" if column == "pipeline" else "right")
        for pipeline, values in wall.items():
            if values:
                table.add_row(pipeline, str(len(values)), f"{statistics.median(values):.1f}", f"{sum(values):.0f}")
        table.caption = "goal: a tuned row takes no longer than a default row"
        out.print(table)


if __name__ == "__main__":
    main()
