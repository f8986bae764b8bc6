"""False alarms and detection of the PR verdicts, with the real TVM (issue 11's figures).

    .venv/bin/python benchmarks/verdict_noise.py [--jobs 20] [--load both] [--detect-jobs 5] [--processes 1,3]

Items: the smoke suite's 1x7 and 1x1 convolutions, uint8 (`--schemes`), both layouts (4 items), on the
`local` device, with the TVM perfbot is installed with, in a throwaway cache and database.

- False alarms, A/A (the same build on both sides, the same-code short-circuit off):
  *before*: separate jobs, as perfbot judged PRs until side-by-side jobs: two runs of the build,
  one after the other, their samples compared with `stats.compare` (no base history);
  *after*: `--jobs` PR jobs as the bot runs them (`Runner.run_paired`: ABBA rounds, the confirming
  rerun), judged by `bot.verdicts.judge`, the comment's own code.
  Each on a quiet machine and with a second heavy process beside it (`--load`: a process that
  keeps one core busy multiplying matrices, started before and stopped after the jobs).
- Detection: real slower builds (tests/tvm_checkout.recompute_part: the 1x7 convolution also
  convolves a corner of 5, 10 or 20% of its input once more, for nothing), each in its own
  commit of a real TVM tree, against the release: the share of the 1x7 items called `slower`.
- Cost: device seconds per job, separate against side by side (with the reruns it took).

`--processes 1,3` measures the side-by-side jobs with their rounds in one pair of child processes
and in three (the suite's default), alternating job by job, so that both see the same machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import devices, stats, verdicts  # noqa: E402
from bot.engine import subjects  # noqa: E402
from bot.engine.builds import commits, native  # noqa: E402
from bot.engine.runner import Runner, Subject  # noqa: E402
from bot.engine.suite.suites import SMOKE_CONVS, Suite  # noqa: E402
from bot.engine.suite.workloads import qconv  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.vocabulary import FASTER, MIN_EFFECT, PAIRED_MIN_EFFECT, SLOWER  # noqa: E402
from tests import tvm_checkout  # noqa: E402

out = Console(width=120)  # the tables stay whole in a log file too
err = Console(stderr=True)
ALARMS = (SLOWER, FASTER)
SHOW_ITEMS = False  # --show-items


def say(line: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}", highlight=False)


def busy(stop) -> None:
    """The heavy neighbour: one core of matrix products until told to stop."""
    import os

    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import numpy as np

    a = np.random.default_rng(0).random((400, 400))
    while not stop.is_set():
        a = a @ a
        a /= a.max()


class Neighbour:
    def __init__(self, on: bool):
        self.on = on

    def __enter__(self):
        if self.on:
            self.stop = multiprocessing.Event()
            self.process = multiprocessing.Process(target=busy, args=(self.stop,), daemon=True)
            self.process.start()
        return self

    def __exit__(self, *exc):
        if self.on:
            self.stop.set()
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()


def pr_subject(build: Subject, kind: str, number: int) -> Subject:
    sha = f"{number:040x}" if kind == "pr" else "b" * 40
    return Subject(python=build.python, env=build.env, kind=kind, repo="bench/tvm", sha=sha,
                   pr=number if kind == "pr" else None, base_sha="b" * 40 if kind == "pr" else None,
                   variables=build.variables, build=build.build)  # fmt: skip


def before(store, scratch: Path, suite: Suite, device, build: Subject, jobs: int) -> tuple[Counter, float]:
    """`jobs` A/A PRs judged as separate jobs were: consecutive runs' samples compared item by item."""
    runner = Runner(store, scratch / "cache")
    samples, seconds = [], []
    for i in range(jobs + 1):
        say(f"  separate run {i + 1}/{jobs + 1}")
        outcome = runner.run(suite, device, build)
        seconds.append(outcome.timing.wall_s)
        samples.append({(r.workload.key, r.config.name): r.samples_ms for r in outcome.results if r.status == "ok"})
    counts = Counter()
    for a, b in zip(samples, samples[1:]):
        verdict = [stats.compare(a[k], b[k], min_effect=MIN_EFFECT).verdict for k in a if k in b]
        counts.update(items=len(verdict), alarms=sum(v in ALARMS for v in verdict), prs=1,
                      prs_alarmed=int(any(v in ALARMS for v in verdict)))  # fmt: skip
    return counts, 2 * statistics.mean(seconds)  # a PR's two jobs: its own and its base's


def after(
    store,
    scratch: Path,
    suite: Suite,
    device,
    base: Subject,
    pr: Subject,
    jobs: int,
    first: int = 1,
    first_estimates: list | None = None,
):
    """`jobs` PR jobs side by side, judged by the comment's code; returns counts, verdicts, seconds per job."""
    runner = Runner(store, scratch / "cache")
    first_estimates = [] if first_estimates is None else first_estimates
    counts, verdict_counts, seconds = Counter(), Counter(), []
    for i in range(jobs):
        say(f"  side-by-side job {i + 1}/{jobs}")
        outcome = runner.run_paired(suite, device, pr_subject(base, "base", first + i),
                                    pr_subject(pr, "pr", first + i), skip_same_code=False)  # fmt: skip
        seconds.append(outcome.timing.wall_s)
        # Judged as if the two sides' code differed: A/A builds compile to the same code, and a `same code`
        # row is never compared (that short-circuit is what the timing here is measured without).
        results = [{**r, "same_code": 0} for r in store.results(outcome.run_id)]
        rows = verdicts.judge(store, device.name, results)
        verdict = [row.verdict for row in rows]
        verdict_counts.update(verdict)
        counts.update(items=len(verdict), alarms=sum(v in ALARMS for v in verdict), prs=1,
                      prs_alarmed=int(any(v in ALARMS for v in verdict)),
                      reruns=sum(1 for r in store.results(outcome.run_id) if r.get("attempt") == 2))  # fmt: skip
        changes = [row.comparison.change for row in rows if row.comparison and row.comparison.change is not None]
        counts["change_sum"] += sum(changes)
        counts["change_n"] += len(changes)
        for r in store.results(outcome.run_id):  # every attempt's own estimate: how close A/A comes to the threshold
            if r.get("rounds"):
                attempt = stats.compare_rounds(r["rounds"])
                first_estimates.append(attempt.change or 0.0)
                if SHOW_ITEMS:
                    ratios = " ".join(f"{100 * (pr / base - 1):+.0f}" for base, pr in r["rounds"])
                    say(f"    {r['workload']} {r['layout']} attempt {r.get('attempt') or 1}: {attempt.reason}; "
                        f"rounds, % PR against base: {ratios}")  # fmt: skip
    return counts, verdict_counts, statistics.mean(seconds) if seconds else 0.0


def interleaved(store, scratch, suite: Suite, device, base, pr, jobs: int, first: int, processes: list[int]) -> dict:
    """`jobs` side-by-side PR jobs for each number of process pairs, taken in turns, job by job."""
    totals = {p: (Counter(), Counter(), [], []) for p in processes}
    for i in range(jobs):
        for p in processes:
            counts, verdict_counts, seconds, estimates = totals[p]
            e: list[float] = []
            c, v, s = after(store, scratch, dataclasses.replace(suite, processes=p), device, base, pr, 1,
                            first + i * len(processes) + processes.index(p), first_estimates=e)  # fmt: skip
            counts.update(c), verdict_counts.update(v), seconds.append(s), estimates.extend(e)
    return {p: (c, v, statistics.mean(s) if s else 0.0, e) for p, (c, v, s, e) in totals.items()}


def spread(estimates: list[float]) -> str:
    """The A/A estimates' size: median, 95th percentile and largest |change|, against the threshold."""
    if not estimates:
        return "no estimates"
    sizes = sorted(abs(e) for e in estimates)
    p95 = sizes[min(len(sizes) - 1, int(0.95 * len(sizes)))]
    return (f"|change| of {len(sizes)} attempts: median {statistics.median(sizes):.2%}, 95th percentile {p95:.2%}, "
            f"largest {sizes[-1]:.2%} (threshold {PAIRED_MIN_EFFECT:.0%})")  # fmt: skip


def pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="A/A PR jobs per condition")
    parser.add_argument("--load", choices=["quiet", "loaded", "both"], default="both")
    parser.add_argument("--detect-jobs", type=int, default=5, help="PR jobs per slower build (0: skip detection)")
    parser.add_argument("--fractions", default="0.05,0.10,0.20", help="extra 1x7 work of the slower builds")
    parser.add_argument("--skip-before", action="store_true", help="only the side-by-side jobs")
    parser.add_argument("--schemes", default="uint8", help="schemes of the A/A items (uint8,int8 doubles the items)")
    parser.add_argument("--show-items", action="store_true", help="a line per item and attempt: its estimate and test")
    parser.add_argument("--processes", default=str(Suite("", ()).processes),
                        help="pairs of children a side-by-side item's rounds are spread over; a list compares them")  # fmt: skip
    args = parser.parse_args()
    global SHOW_ITEMS
    SHOW_ITEMS = args.show_items
    device = devices.load(None).get("local")
    schemes = args.schemes.split(",")
    suite = Suite("pairs", tuple(qconv(shape, s) for shape in SMOKE_CONVS[1:] for s in schemes))
    processes = [int(n) for n in args.processes.split(",")]
    build = Subject(python=Path(sys.executable), env=f"python:{sys.executable}")
    conditions = ["quiet", "loaded"] if args.load == "both" else [args.load]
    table = Table(title=f"A/A PRs: the same TVM on both sides, {len(suite.workloads) * 2} items each",
                  title_justify="left")  # fmt: skip
    columns = ("machine", "judged as", "process pairs", "PRs", "items", "slower/faster", "PRs with any", "device s/PR")
    for column in columns:
        table.add_column(column, justify="left" if column in ("machine", "judged as") else "right")
    with tempfile.TemporaryDirectory(prefix="perfbot-verdict-bench-") as scratch:
        scratch = Path(scratch)
        store = Store.open(scratch / "perf.db")
        for condition in conditions:
            with Neighbour(condition == "loaded"):
                say(f"{condition}: before (separate jobs)")
                b, b_s = (
                    (Counter(), 0.0) if args.skip_before else before(store, scratch, suite, device, build, args.jobs)
                )
                say(f"{condition}: after (side by side, confirming rerun)")
                results = interleaved(store, scratch, suite, device, build, build, args.jobs, 1, processes)
            if not args.skip_before:
                table.add_row(condition, "separate jobs (before)", "–", str(b["prs"]), str(b["items"]),
                              f"{b['alarms']} ({pct(b['alarms'], b['items'])})",
                              f"{b['prs_alarmed']} ({pct(b['prs_alarmed'], b['prs'])})", f"{b_s:.0f}")  # fmt: skip
            for p, (a, a_verdicts, a_s, estimates) in results.items():
                table.add_row(condition, "side by side + rerun (after)", str(p), str(a["prs"]), str(a["items"]),
                              f"{a['alarms']} ({pct(a['alarms'], a['items'])})",
                              f"{a['prs_alarmed']} ({pct(a['prs_alarmed'], a['prs'])})", f"{a_s:.0f}")  # fmt: skip
                say(f"{condition}, {p} pairs: verdicts after: {dict(a_verdicts)}; reruns: {a['reruns']}; "
                    f"{spread(estimates)}")  # fmt: skip
        table.caption = "goal: at most 1% of items and 5% of PRs, under load (after)"
        out.print(table)

        if args.detect_jobs:
            checkout = scratch / "tvm"
            main_sha = tvm_checkout.make_checkout(checkout)
            native.register_wheel(commits.resolve(checkout, main_sha), f"python:{sys.executable}", scratch / "cache")
            base_env = subjects.provision(f"source:{checkout}@{main_sha}", scratch / "cache")
            base = Subject(python=base_env.python, env=base_env.key, variables=base_env.variables, build=base_env.build)
            one_by_seven = Suite("1x7", tuple(qconv(SMOKE_CONVS[1], s) for s in schemes))
            found = Table(title="detection: real slower 1x7 builds, side by side + rerun", title_justify="left")
            for column in (
                "extra 1x7 work",
                "process pairs",
                "PRs",
                "items",
                "called slower",
                "measured change (mean)",
            ):
                found.add_column(column, justify="right")
            for n, fraction in enumerate(float(f) for f in args.fractions.split(",")):
                sha = tvm_checkout.commit_change(checkout, f"slow-{fraction}", f"+{fraction:.0%} 1x7 work",
                                                 tvm_checkout.recompute_part(fraction))  # fmt: skip
                env = subjects.provision(f"source:{checkout}@{sha}", scratch / "cache")
                slow = Subject(python=env.python, env=env.key, variables=env.variables, build=env.build)
                say(f"detection: +{fraction:.0%}")
                first = 1000 * (n + 1)
                results = interleaved(
                    store, scratch, one_by_seven, device, base, slow, args.detect_jobs, first, processes
                )
                for p, (c, v, _, estimates) in results.items():
                    say(f"detection +{fraction:.0%}, {p} pairs: {spread(estimates)}")
                    mean = c["change_sum"] / c["change_n"] if c["change_n"] else 0.0
                    found.add_row(f"{fraction:.0%}", str(p), str(c["prs"]), str(c["items"]),
                                  f"{v[SLOWER]} ({pct(v[SLOWER], c['items'])})", f"{mean * 100:+.1f}%")  # fmt: skip
            found.caption = "goal: at least 80% caught at 5%, 95% at 10%"
            out.print(found)
        store.close()


if __name__ == "__main__":
    main()
