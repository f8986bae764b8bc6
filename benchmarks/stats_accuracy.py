"""How often bot.stats.compare cries wolf, and how often it catches a real slowdown.

Real repeated measurements taken here: R independent runs of each workload
(a fresh TFLite interpreter per run, `repeat` timed samples each, as a suite
run takes them), interleaved over time so that the machine's drift is in the
data. Then:

- false alarms: every pair of runs of the same build compared A/A, with the
  run-to-run noise of the series' medians passed in as the bot does from the
  base branch's history;
- detection: the same pairs with the PR side's real samples scaled by 1.05,
  1.10 and 1.20 (an injected slowdown on top of real noise).

    .venv/bin/python benchmarks/stats_accuracy.py [--runs 30] [--repeat 10]

Targets: at most 1% false alarms, at least 95% detection at 10%.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from rich.console import Console
from rich.table import Table

from bot.stats import compare, noise_level
from bot.suite.suites import get_suite
from bot.suite.workloads import make_inputs, materialize


def measure(path: Path, inputs, repeat: int) -> list[float]:
    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    for detail, x in zip(it.get_input_details(), inputs):
        it.set_tensor(detail["index"], x)
    it.invoke()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        it.invoke()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    workloads = get_suite("smoke").workloads
    runs: dict[str, list[list[float]]] = {w.key: [] for w in workloads}
    with tempfile.TemporaryDirectory() as cache:
        paths = {w.key: materialize(w, Path(cache)) for w in workloads}
        inputs = {w.key: make_inputs(paths[w.key], w.seed) for w in workloads}
        for _ in range(args.runs):
            for w in workloads:
                runs[w.key].append(measure(paths[w.key], inputs[w.key], args.repeat))
    table = Table(title=f"bot.stats.compare on real TFLite samples: {args.runs} runs x {args.repeat} samples "
                        f"per workload, all pairs", title_justify="left")
    for column in ("workload", "median ms", "noise", "pairs", "false alarms", "after one rerun", "5% caught", "10% caught", "20% caught"):
        table.add_column(column, justify="right")
    totals = np.zeros(6)
    for key, series in runs.items():
        index_pairs = list(itertools.combinations(range(len(series)), 2))
        pairs = [(series[i], series[j]) for i, j in index_pairs]
        noise = noise_level([float(np.median(run)) for run in series])
        verdicts = [compare(a, b, noise=noise).verdict for a, b in pairs]
        alarms = sum(v != "unchanged" for v in verdicts)
        # The bot reruns a slower item once: the alarm stands only if a second PR run agrees.
        confirmed = sum(v == "faster" or (v == "slower" and compare(
            series[i], series[(j + 1) % len(series) if (j + 1) % len(series) != i else (j + 2) % len(series)],
            noise=noise).verdict == "slower") for v, (i, j) in zip(verdicts, index_pairs))
        caught = [sum(compare(a, [x * factor for x in b], noise=noise).verdict == "slower" for a, b in pairs)
                  for factor in (1.05, 1.10, 1.20)]
        totals += [len(pairs), alarms, confirmed, *caught]
        table.add_row(key, f"{np.median(np.concatenate(series)):.3f}", f"{noise:.1%}", str(len(pairs)),
                      f"{alarms / len(pairs):.1%}", f"{confirmed / len(pairs):.1%}",
                      *[f"{c / len(pairs):.1%}" for c in caught])
    n = totals[0]
    table.add_row("all", "", "", str(int(n)), *[f"{c / n:.1%}" for c in totals[1:]], style="bold")
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
