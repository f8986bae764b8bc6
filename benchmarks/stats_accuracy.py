"""How often bot.stats.compare cries wolf, and how often it catches a real slowdown.

Measured on real repeated measurements taken on this machine, the way
perfbot's suite takes them: each "run" is a fresh child process (as perfbot's
TFLite reference child and TVM worker are) that loads the workload, does
`warmup` untimed calls and keeps `repeat` timed samples of `number` calls each
(the suite's defaults: 1, 10, 1). Runs of every case are interleaved in time,
so the machine's drift and its neighbours' load are in the data.

Workloads: `tflite-conv`, the story's quantized conv (/tmp/exp/seed.tflite,
input /tmp/exp/inp.npy) in the real TFLite interpreter (ai-edge-litert, one
thread), skipped when the files are missing; `numpy-matmul`, a single-thread
float32 matmul of an im2col-shaped conv, always.

Cases, each workload:

- A/A: every pair of runs of the same build (base run i against base run j,
  both ways), with the base series' run-to-run noise (`noise_level` of the
  base runs' medians in time order) passed in as perfbot does from the base
  branch's history. `slower` or `faster` is a false alarm. "A/A, next run"
  pairs only runs taken one after the other, as when the baseline is
  measured just before the PR.
- injected: the same pairs with the PR side's real samples scaled by 1.05,
  1.10 and 1.20 (a known slowdown on top of real noise).
- extra work: genuinely slower builds: each timed call also does a fixed
  amount of extra real work, calibrated to about 5, 10 and 20% of a call; the
  slowdown actually measured (pooled medians) is shown. Every base run against
  every run of that build.

The bot may rerun an item once when a `slower` verdict's interval reaches
below the threshold and then judges the pooled samples; the
last column does the same with the next run of that case, and counts what
would be reported: `slower` or `faster` for A/A (false alarms), `slower` for
a slowdown (caught). Targets: at most 1% false alarms, at least 95% of the
10% slowdowns caught. Pairs share runs, so the runs, not the comparisons, are
the independent trials: with 40 runs a rate is good to a few points.

    .venv/bin/python benchmarks/stats_accuracy.py                # 40 runs a case, about 1 min
    .venv/bin/python benchmarks/stats_accuracy.py --quick        # 12 runs a case, about 15 s
    .venv/bin/python benchmarks/stats_accuracy.py --load 2       # with 2 intermittent CPU hogs alongside
    .venv/bin/python benchmarks/stats_accuracy.py --save FILE    # keep the samples (JSON, about 30 KB)
    .venv/bin/python benchmarks/stats_accuracy.py --samples benchmarks/data/quiet.json  # judge, no measuring

Recorded samples in benchmarks/data/ (all on this project's 2-core machine):
quiet.json (nothing else running), neighbours.json (beside another
engineer's TVM tuning job), busy.json (`--load 2`). `--min-effect` and
`--confidence` are passed to compare, to see the trade-off.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

SEED_MODEL = Path("/tmp/exp/seed.tflite")
SEED_INPUT = Path("/tmp/exp/inp.npy")
EXTRA = (0.05, 0.10, 0.20)  # genuine slowdowns: extra work as a fraction of one call
SCALES = (1.05, 1.10, 1.20)  # injected slowdowns


# --- measuring: one child process per run ---------------------------------------------------------------------


def _workload(name: str):
    """The call to time, in the child."""
    if name == "tflite-conv":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(SEED_MODEL), num_threads=1)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], np.load(SEED_INPUT))
        return interpreter.invoke
    if name == "numpy-matmul":  # the seed conv's im2col shape, shrunk: (rows x 3*3*32) @ (3*3*32 x 64)
        rng = np.random.default_rng(0)
        a = rng.random((4096, 288), dtype=np.float32)
        b = rng.random((288, 64), dtype=np.float32)
        out = np.empty((4096, 64), dtype=np.float32)
        return lambda: np.matmul(a, b, out=out)
    raise ValueError(f"unknown workload {name!r}")


def _extra_work():
    """A small unit of real extra work (cache and memory traffic, like a heavier schedule)."""
    rng = np.random.default_rng(1)
    x = rng.random((96, 96), dtype=np.float32)
    out = np.empty_like(x)
    return lambda: np.matmul(x, x, out=out)


def child(spec: dict) -> list[float]:
    call = _workload(spec["workload"])
    unit = _extra_work()
    units = int(spec.get("units", 0))
    if spec.get("calibrate"):  # seconds per call and per unit of extra work
        for _ in range(3):
            call(), unit()
        t0 = time.perf_counter()
        for _ in range(20):
            call()
        t1 = time.perf_counter()
        for _ in range(2000):
            unit()
        t2 = time.perf_counter()
        return [(t1 - t0) / 20, (t2 - t1) / 2000]
    for _ in range(int(spec["warmup"])):
        call()
    samples = []
    number = int(spec["number"])
    for _ in range(int(spec["repeat"])):
        t0 = time.perf_counter()
        for _ in range(number):
            call()
            for _ in range(units):
                unit()
        samples.append((time.perf_counter() - t0) * 1000.0 / number)
    return samples


def hog(seed: int) -> None:
    """Neighbours' load: busy and idle spells of random length (0-0.4 s), as builds and tests come and go."""
    rng = np.random.default_rng(seed)
    while True:
        time.sleep(rng.uniform(0, 0.4))
        end = time.perf_counter() + rng.uniform(0, 0.4)
        while time.perf_counter() < end:
            pass


def _spawn(spec: dict) -> list[float]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(runs: int, number: int, repeat: int, warmup: int, progress) -> dict:
    workloads = ["tflite-conv"] if SEED_MODEL.is_file() and SEED_INPUT.is_file() else []
    workloads.append("numpy-matmul")
    cases: dict[str, dict] = {}
    for name in workloads:
        call_s, unit_s = np.median([_spawn({"workload": name, "calibrate": True}) for _ in range(3)], axis=0)
        cases[name] = {"base": 0, **{f"+{f:.0%}": max(1, round(f * call_s / unit_s)) for f in EXTRA}}
    data = {"workloads": {name: {case: [] for case in units} for name, units in cases.items()}, "units": cases}
    order = [(name, case) for name, units in cases.items() for case in units]
    for r in range(runs):
        for name, case in order:  # interleaved: every case sees the same drift
            spec = {"workload": name, "units": cases[name][case], "number": number, "repeat": repeat, "warmup": warmup}
            data["workloads"][name][case].append([round(s, 6) for s in _spawn(spec)])
        progress(r + 1, runs)
    data.update(
        number=number,
        repeat=repeat,
        warmup=warmup,
        runs=runs,
        machine=platform.node(),
        cpus=os.cpu_count(),
        python=platform.python_version(),
        taken=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return data


# --- judging --------------------------------------------------------------------------------------------------


def judge(base_runs, pr_runs, pairs, noise, scale=1.0, **options) -> dict:
    """Verdict counts over `pairs` of (base run, PR run), and what one rerun of near-noise slowers leaves."""
    from bot.stats import compare

    counts = dict.fromkeys(
        ("slower", "faster", "unchanged", "inconclusive", "slower after rerun", "faster after rerun"), 0
    )
    for i, j in pairs:
        base = base_runs[i]
        pr = [x * scale for x in pr_runs[j]]
        result = compare(base, pr, noise=noise, **options)
        counts[result.verdict] += 1
        if result.verdict == "slower" and result.ci_low < result.threshold:
            k = next(
                k for k in itertools.chain(range(j + 1, len(pr_runs)), range(j)) if pr_runs is not base_runs or k != i
            )
            result = compare(base, pr + [x * scale for x in pr_runs[k]], noise=noise, **options)
        if result.verdict in ("slower", "faster"):
            counts[f"{result.verdict} after rerun"] += 1
    counts["n"] = len(pairs)
    return counts


def evaluate(data: dict, **options) -> list[dict]:
    from bot.stats import noise_level

    rows = []
    for name, cases in data["workloads"].items():
        base = cases["base"]
        medians = [float(np.median(run)) for run in base]
        noise = noise_level(medians)
        within = float(np.median([np.std(np.log(run)) for run in base]))
        info = {
            "workload": name,
            "ms": float(np.median(np.concatenate(base))),
            "noise": noise,
            "within": within,
            "runs": len(base),
        }
        same = list(itertools.combinations(range(len(base)), 2))
        same += [(j, i) for i, j in same]  # both directions: a PR faster than base is a false alarm too
        rows.append({**info, "case": "A/A", "true": 0.0, **judge(base, base, same, noise, **options)})
        after = [(i, i + 1) for i in range(len(base) - 1)]
        after += [(j, i) for i, j in after]
        rows.append({**info, "case": "A/A, next run", "true": 0.0, **judge(base, base, after, noise, **options)})
        for scale in SCALES:
            rows.append(
                {
                    **info,
                    "case": f"scaled x{scale:.2f}",
                    "true": scale - 1,
                    **judge(base, base, same, noise, scale, **options),
                }
            )
        for case, runs in cases.items():
            if case == "base":
                continue
            true = float(np.median(np.concatenate(runs)) / np.median(np.concatenate(base)) - 1)
            every = list(itertools.product(range(len(base)), range(len(runs))))
            rows.append(
                {**info, "case": f"extra work {case}", "true": true, **judge(base, runs, every, noise, **options)}
            )
    return rows


def _reported(row: dict) -> int:
    """What counts, after the bot's one rerun: any alarm for A/A, a `slower` for a slowdown."""
    if row["case"].startswith("A/A"):
        return row["slower after rerun"] + row["faster after rerun"]
    return row["slower after rerun"]


def show(data: dict, rows: list[dict], options: dict, source: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    title = (
        f"bot.stats.compare on real samples ({source}): {data['runs']} runs a case, number={data['number']} "
        f"repeat={data['repeat']} warmup={data['warmup']}, one child process a run"
        + (f"; {options}" if options else "")
    )
    table = Table(title=title, title_justify="left")
    for column in (
        "workload",
        "median ms",
        "run noise",
        "within run",
        "case",
        "true change",
        "comparisons",
        "slower",
        "faster",
        "inconcl.",
        "reported after a rerun",
    ):
        table.add_column(column, justify="right" if column not in ("workload", "case") else "left")
    for row in rows:
        n = row["n"]
        reported = _reported(row) / n
        missed = (
            row["case"].startswith("A/A")
            and reported > 0.01
            or row["case"].endswith(("x1.10", "+10%"))
            and reported < 0.95
        )
        style = "bold red" if missed else ""
        table.add_row(
            row["workload"],
            f"{row['ms']:.3f}",
            "-" if row["noise"] is None else f"{row['noise']:.2%}",
            f"{row['within']:.2%}",
            row["case"],
            f"{row['true']:+.1%}",
            str(n),
            f"{row['slower'] / n:.1%}",
            f"{row['faster'] / n:.1%}",
            f"{row['inconclusive'] / n:.1%}",
            f"[{style}]{reported:.1%}[/]" if style else f"{reported:.1%}",
        )
    console.print(table)

    def rate(name: str, case: str) -> str:
        chosen = [
            r
            for r in rows
            if r["workload"] == name and (r["case"] == case or case == "10%" and r["case"].endswith(("x1.10", "+10%")))
        ]
        return f"{sum(_reported(r) for r in chosen) / sum(r['n'] for r in chosen):.1%}"

    for name in dict.fromkeys(r["workload"] for r in rows):
        console.print(
            f"{name}: A/A false alarms {rate(name, 'A/A')} (next run only: {rate(name, 'A/A, next run')}; "
            f"target <= 1%), 10% slowdowns caught {rate(name, '10%')} (target >= 95%)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs of each case (default 40)")
    parser.add_argument("--quick", action="store_true", help="12 runs a case")
    parser.add_argument("--number", type=int, default=1, help="calls per timed sample (suite default 1)")
    parser.add_argument("--repeat", type=int, default=10, help="timed samples per run (suite default 10)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--samples", type=Path, help="judge samples recorded with --save instead of measuring")
    parser.add_argument("--save", type=Path, help="write the measured samples here (JSON)")
    parser.add_argument("--min-effect", type=float, help="passed to compare (default: compare's)")
    parser.add_argument("--confidence", type=float, help="passed to compare (default: compare's)")
    parser.add_argument(
        "--load",
        type=int,
        default=0,
        metavar="N",
        help="measure with N processes of intermittent CPU load alongside (a busy shared machine)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--hog", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.hog is not None:
        hog(args.hog)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.samples:
        data = json.loads(args.samples.read_text())
        source = f"recorded {data.get('taken', '?')[:16]} on a {data.get('cpus', '?')}-CPU machine" + (
            f", {data['load']} load processes alongside" if data.get("load") else ""
        )
    else:
        runs = 12 if args.quick else args.runs
        started = time.perf_counter()
        hogs = [subprocess.Popen([sys.executable, __file__, "--hog", str(i)]) for i in range(args.load)]
        try:
            data = measure(
                runs,
                args.number,
                args.repeat,
                args.warmup,
                lambda done, total: print(f"\rmeasured {done}/{total} rounds", end="", file=sys.stderr),
            )
        finally:
            for process in hogs:
                process.kill()
                process.wait()
        print(f"\rmeasured {runs} rounds in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        data["load"] = args.load
        source = "measured now" + (f", {args.load} load processes alongside" if args.load else "")
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps(data, separators=(",", ":")))
    options = {k: v for k, v in (("min_effect", args.min_effect), ("confidence", args.confidence)) if v is not None}
    show(data, evaluate(data, **options), options, source)


if __name__ == "__main__":
    main()
