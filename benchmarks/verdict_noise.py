"""Timed PR verdicts, today's fixed design against sequential rounds, side by side in one run, real TVM.

    .venv/bin/python benchmarks/verdict_noise.py [--jobs 20] [--load both] [--detect-jobs 10]
        [--fractions 0.03,0.05,0.10] [--big-jobs 5] [--baseline d6d3315] [--workloads all]
        [--work DIR] [--record FILE] [--report]

Designs, job by job in turns so that both see the same machine:

- today: the fixed design as of `--baseline` (unpacked from git into the scratch folder and run as it
  was): 10 rounds of 3 samples a side over 3 pairs of processes, Wilcoxon at 99%, every slower/faster
  item rerun;
- sequential: this checkout: rounds of one sample a side, 2 per pair of processes, each pair of children
  forked from fork servers of its own, a t interval over the pairs at looks after 3, 4, 6, 9 and 12 pairs,
  stopping when the 99% interval lies inside the margin or clear of it, 24 rounds at most, no rerun of a
  timed change (bot/stats.judge_rounds).

Each PR job is one `benchmarks/pr_job.py` process running the design's own `Runner.run_paired` and
`verdicts.judge` on the `local` device, the smoke suite's 12 items (or `--workloads`), in a throwaway
cache and database per design. The builds are commits of a real TVM tree (tests/tvm_checkout.py, the
installed release laid out as a source tree, its wheel as the native build):

- A/A: the same build on both sides (judged as if the code differed), `--jobs` PR jobs;
- detection: `recompute_part(f)` makes the 1x7 and the 3x3 (the story's layer) convolutions do about
  f more work for the same answer; `--detect-jobs` PR jobs per fraction, on those 8 items;
- a 2x build (`recompute_part(1.0)`), `--big-jobs` whole smoke PR jobs: device seconds per clearly
  changed item, and the whole job's wall time against the A/A job's.

Both designs compile for one explicit CPU, the one this checkout's `host` target resolves to on this
machine (bot/engine/boards/host.py: LLVM's name, unless the machine lacks its features), so that an
older design whose `host` would compile code this machine cannot run measures the same code; each job's
line names that CPU and the machine's model. A job with a failed item (a crash, a compile error) is a
set-up failure, not a reading: the start stops, naming it, and the record does not take it.

Each on a quiet machine and with a second heavy process beside it (`--load`: a process that keeps one
core busy multiplying matrices, started before and stopped after the jobs). Device seconds of an item
are its PR children's wall time, rerun included, as the results record it (both sides run at once).

The full run takes many hours, so it resumes: with `--work DIR` the checkout, the builds and both
designs' databases stay in DIR, and the record, one line per finished job with the machine's load average
before and after it, in DIR/record.jsonl or `--record FILE`; a second start with the same record skips the
jobs it holds (a job cut short is run again), on this machine or, with the record kept in the repository
(benchmarks/data/), on a fresh one. The record names the design it measured: a start whose `bot/` runs
other code than the record's (benchmarks/code_identity.py: docstrings and comments aside), or has
uncommitted changes, refuses; each job's line names the `bot/` tree that ran it. `--report` prints the
tables of the record so far without running anything; every table shows the load the jobs ran at.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table
from scipy import stats as scipy_stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import code_identity  # noqa: E402
from bot.engine import subjects  # noqa: E402
from bot.engine.boards.host import host_cpu, host_cpus  # noqa: E402
from bot.engine.builds import commits  # noqa: E402
from bot.engine.suite.suites import get_suite  # noqa: E402
from bot.vocabulary import FAILURES, FASTER, SLOWER, UNCHANGED, UNDECIDED  # noqa: E402
from tests import tvm_checkout  # noqa: E402

out = Console(width=160)  # the tables stay whole in a log file too
err = Console(stderr=True)
DESIGNS = ("today", "sequential")
ALARMS = (SLOWER, FASTER)
GROUPS = {"147x147": "story's 3x3", "1x7": "1x7", "1x1": "1x1"}


def say(line: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}", highlight=False)


def busy(stop) -> None:
    """The heavy neighbour: one core of matrix products until told to stop."""
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import numpy as np

    a = np.random.default_rng(0).random((400, 400))
    while not stop.is_set():
        a = a @ a
        a /= a.max()


class Neighbour:
    """A second heavy process for the length of a `with` block, when `on`."""

    def __init__(self, on: bool):
        self.on = on

    def __enter__(self):
        if self.on:
            import multiprocessing

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


def group(item: dict) -> str:
    return next((name for part, name in GROUPS.items() if part in item["workload"]), item["workload"])


class Jobs:
    """Runs PR jobs of either design as worker processes, and keeps every answer in the record."""

    def __init__(self, work: Path, record: Path, tree: str | None = None, target: dict | None = None):
        self.work = work
        self.record = record
        self.tree = tree  # the bot/ tree this start runs, named in each job's line
        self.target = target  # what both designs compile for (compiled_target), named in each job's line too
        self.roots: dict[str, Path] = {"sequential": ROOT}  # and "today", once unpacked to run it
        self.answers: list[dict] = read_record(record)["answers"]
        # past every job started before, finished or not: a PR number is never used twice in the databases
        started = [int(f.stem.removeprefix("job-")) for f in work.glob("job-*.json")]
        self.number = max([a["number"] for a in self.answers] + started, default=0)

    def unpack_today(self, commit: str) -> None:
        """Today's design: `commit`'s bot/ unpacked into the work folder (once), for its jobs to run."""
        folder = self.work / f"perfbot-{commit}"
        if not folder.exists():
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "bot"], capture_output=True,
                                     check=True)  # fmt: skip
            folder.mkdir()
            subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
        self.roots["today"] = folder

    def run(self, design: str, condition: str, what: str, base, pr, items: list[str], slot: str) -> None:
        self.number += 1
        spec = {"database": str(self.work / f"{design}.db"), "cache": str(self.work / "cache"),
                "items": items, "number": self.number, "base": _side(base), "pr": _side(pr),
                "target": self.target}  # fmt: skip
        path = self.work / f"job-{self.number}.json"
        path.write_text(json.dumps(spec))
        load_before = os.getloadavg()[0]
        done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pr_job.py"), str(self.roots[design]),
                               str(path)], capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"{design} job {self.number} failed:\n{done.stderr[-3000:]}")
        answer = {**json.loads(done.stdout.strip().splitlines()[-1]), "design": design, "condition": condition,
                  "what": what, "slot": slot, "number": self.number, "finished": time.strftime("%Y-%m-%d %H:%M"),
                  "tree": self.tree, "cpu": f"{host_cpu()}, compiled for {(self.target or {}).get('mcpu')}",
                  "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}  # fmt: skip
        failed = failures(answer)
        if failed:
            raise SystemExit(f"{design} job {self.number}: {failed}, a set-up failure, not a reading: not recorded; "
                             f"the errors are in {self.work / (design + '.db')}")  # fmt: skip
        with self.record.open("a") as file:
            file.write(json.dumps(answer) + "\n")
            file.flush()
            os.fsync(file.fileno())
        self.answers.append(answer)
        verdicts = Counter(i["verdict"] for i in answer["items"])
        say(f"  {slot}: {dict(verdicts)}, {answer['wall_s']:.0f} s, load {answer['load'][0]}-{answer['load'][1]}")

    def take_turns(self, condition: str, what: str, base, pr, items: list[str], jobs: int) -> None:
        done = {a["slot"] for a in self.answers}
        for i in range(jobs):
            for design in DESIGNS if i % 2 == 0 else DESIGNS[::-1]:
                slot = f"{condition} {what} #{i + 1} {design}"
                if slot not in done:
                    self.run(design, condition, what, base, pr, items, slot)

    def items(self, design: str, condition: str, what: str) -> list[dict]:
        return [i for a in self.answers if (a["design"], a["condition"], a["what"]) == (design, condition, what)
                for i in a["items"]]  # fmt: skip

    def jobs(self, design: str, condition: str, what: str) -> list[dict]:
        return [a for a in self.answers if (a["design"], a["condition"], a["what"]) == (design, condition, what)]

    def load(self, condition: str, what: str | None = None) -> str:
        """The 1-minute load averages the jobs of a condition ran at (before and after each)."""
        values = [v for a in self.answers if a["condition"] == condition and what in (None, a["what"])
                  for v in a["load"]]  # fmt: skip
        return f"{min(values):.1f}-{max(values):.1f}" if values else "–"


def failures(answer: dict) -> str | None:
    """How many of a job's items failed (crash, compile error, ...) and the first, or None when none did."""
    failed = [i for i in answer["items"] if i["verdict"] in FAILURES]
    if not failed:
        return None
    first = failed[0]
    return (f"{len(failed)} of {len(answer['items'])} items failed ({first['verdict']}: {first['workload']} "
            f"{first['scheme']} {first['config']})")  # fmt: skip


def read_record(record: Path) -> dict:
    """The record's header line and its answers (none when it does not exist yet)."""
    if not record.exists():
        return {"header": None, "answers": []}
    lines = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return {"header": lines[0].get("header") if lines else None, "answers": [x for x in lines if "slot" in x]}


def design_tree() -> str:
    """The git tree of this checkout's bot/: which sequential design the record measured."""
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "bot"], capture_output=True,
                           text=True, check=True).stdout.strip()  # fmt: skip
    if dirty:
        raise SystemExit("verdict_noise.py: bot/ has uncommitted changes; commit them so the record names the "
                         "design it measured")  # fmt: skip
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD:bot"], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def commits_of_tree(tree: str) -> list[str]:
    """The commits, newest first, whose bot/ is `tree`: where a record of that tree can go on."""
    listed = subprocess.run(["git", "-C", str(ROOT), "rev-list", "--all"], capture_output=True, text=True)
    commits = listed.stdout.split()
    asked = "".join(f"{commit}:bot\n" for commit in commits)
    found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "--batch-check=%(objectname)"], input=asked,
                           capture_output=True, text=True)  # fmt: skip
    return [commit for commit, answer in zip(commits, found.stdout.splitlines()) if answer == tree]


def open_record(record: Path, header: dict) -> None:
    """Start the record, or check that the one there measured the same designs and items.

    A `bot/` tree other than the record's is the same design when only its docstrings and comments differ.
    """
    held = read_record(record)["header"]
    if held is None:
        record.write_text(json.dumps({"header": header}) + "\n")
        return
    for key, value in header.items():
        if key == "sequential" and held.get(key) not in (None, value):
            same_design(record, held[key], value)
        elif held.get(key) != value:
            raise SystemExit(f"verdict_noise.py: {record} was made with {key} {held.get(key)!r}, this start has "
                             f"{value!r}; use another --work folder")  # fmt: skip


def same_design(record: Path, held: str, tree: str) -> None:
    """Go on from a record of another `bot/` tree only when the two run the same code, and say so."""
    try:
        differing = code_identity.code_differences(ROOT, held, tree)
    except LookupError as missing:
        raise SystemExit(f"verdict_noise.py: {record} measured bot/ tree {held[:7]}, which this clone cannot "
                         f"compare with {tree[:7]} ({missing}); use another --work folder") from None  # fmt: skip
    if differing:
        ran = [line["tree"] for line in read_record(record)["answers"] if line.get("tree")] or [held]
        resume = next((commits[0] for ran_tree in reversed(ran) if (commits := commits_of_tree(ran_tree))), None)
        where = f"go on from a checkout of commit {resume[:7]}, or " if resume else ""
        raise SystemExit(f"verdict_noise.py: {record} measured bot/ tree {held[:7]}; this start's {tree[:7]} runs "
                         f"other code in {', '.join(differing[:3])}{' ...' if len(differing) > 3 else ''}; "
                         f"{where}use another --work folder and --record")  # fmt: skip
    say(f"bot/ tree {tree[:7]} differs from the record's {held[:7]} in docstrings and comments only: going on")


def compiled_target() -> dict:
    """The explicit target both designs compile for: this checkout's `host` on this machine, one core."""
    import tvm

    from bot.child.measure import host_cpu as llvm_host_cpu

    cpu, why = llvm_host_cpu(tvm, {"host_cpus": host_cpus()})
    say(f"both designs compile for {cpu}" + (f" ({why})" if why else " (LLVM's name for this CPU)"))
    return {"kind": "llvm", "mcpu": cpu, "num-cores": 1}


def _side(env) -> dict:
    return {"python": str(env.python), "env": env.key, "variables": env.variables, "build": env.build}


def pct(n: int, total: int) -> str:
    return f"{n} ({100 * n / total:.1f}%)" if total else "–"


def mean(values) -> str:
    values = list(values)
    return f"{statistics.mean(values):.1f}" if values else "–"


def aa_table(jobs: Jobs, conditions: list[str]) -> Table:
    table = Table(title="A/A PR jobs: the same build on both sides", title_justify="left")
    for column in ("machine", "design", "PRs", "items", "slower/faster", "PRs with any", "undecided", "unchanged",
                   "first attempts' alarms", "reruns", "job wall s"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("machine", "design") else "right")
    for condition in conditions:
        for design in DESIGNS:
            answers = jobs.jobs(design, condition, "A/A")
            items = [i for a in answers for i in a["items"]]
            verdicts = Counter(i["verdict"] for i in items)
            alarmed = sum(any(i["verdict"] in ALARMS for i in a["items"]) for a in answers)
            alone = [i for i in items if "first_attempt" in i]  # jobs recorded before it have no such field
            first = f"{sum(i['first_attempt'] in ALARMS for i in alone)} of {len(alone)}" if alone else "–"
            table.add_row(f"{condition}, load {jobs.load(condition, 'A/A')}", design, str(len(answers)), str(len(items)),
                          pct(verdicts[SLOWER] + verdicts[FASTER], len(items)), pct(alarmed, len(answers)),
                          pct(verdicts[UNDECIDED], len(items)), pct(verdicts[UNCHANGED], len(items)),
                          first, str(sum(i["reruns"] for i in items)),
                          mean(a["wall_s"] for a in answers))  # fmt: skip
    table.caption = "goal: at most 1% of items and 5% of PRs with a false slower/faster"
    return table


def detection_table(jobs: Jobs, conditions: list[str], fractions: list[float]) -> Table:
    table = Table(title="detection: real slower builds (the 1x7 and 3x3 convs do more work)", title_justify="left")
    for column in ("machine", "extra work", "items", "design", "called slower", "undecided", "unchanged",
                   "mean rounds", "mean change, 99% over jobs (below 0)", "device s per item"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("machine", "items", "design") else "right")
    for condition in conditions:
        for fraction in fractions:
            what = f"+{fraction:.0%}"
            for name in ("story's 3x3", "1x7"):
                for design in DESIGNS:
                    items = [i for i in jobs.items(design, condition, what) if group(i) == name]
                    verdicts = Counter(i["verdict"] for i in items)
                    table.add_row(f"{condition}, load {jobs.load(condition, what)}", f"{fraction:.0%}",
                                  name, design, pct(verdicts[SLOWER], len(items)),
                                  pct(verdicts[UNDECIDED], len(items)), pct(verdicts[UNCHANGED], len(items)),
                                  mean(i["rounds"] for i in items), mean_change(jobs.jobs(design, condition, what), name),
                                  mean(i["device_s"] for i in items))  # fmt: skip
    table.caption = "goal on the low-noise items: at least 80% / 95% / 99% caught at 3% / 5% / 10%"
    return table


def cost_table(jobs: Jobs, conditions: list[str]) -> Table:
    table = Table(title="cost: device seconds per item (rerun included) and whole smoke PR jobs", title_justify="left")
    for column in ("machine", "design", "no-op: story's 3x3", "no-op: 1x7", "no-op: 1x1", "2x: changed item",
                   "2x: its rounds", "2x: reruns", "A/A job wall s", "2x job wall s"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("machine", "design") else "right")
    for condition in conditions:
        for design in DESIGNS:
            aa = jobs.items(design, condition, "A/A")
            big = [i for i in jobs.items(design, condition, "2x") if group(i) in ("story's 3x3", "1x7")]
            table.add_row(f"{condition}, load {jobs.load(condition)}", design,
                          *(mean(i["device_s"] for i in aa if group(i) == g) for g in ("story's 3x3", "1x7", "1x1")),
                          mean(i["device_s"] for i in big), mean(i["rounds"] for i in big),
                          str(sum(i["reruns"] for i in big)),
                          mean(a["wall_s"] for a in jobs.jobs(design, condition, "A/A")),
                          mean(a["wall_s"] for a in jobs.jobs(design, condition, "2x")))  # fmt: skip
    table.caption = ("goals: a clearly changed item at most a third of today's; a no-op item at most half of "
                     "today's where the per-round noise is low")  # fmt: skip
    return table


def ratios(jobs: Jobs, conditions: list[str]) -> list[str]:
    """Sequential against today per cost figure, for the README."""
    lines = []
    for condition in conditions:
        parts = []
        for what, name, keep in (("A/A", "no-op story's 3x3", lambda i: group(i) == "story's 3x3"),
                                 ("A/A", "no-op 1x7", lambda i: group(i) == "1x7"),
                                 ("A/A", "no-op 1x1", lambda i: group(i) == "1x1"),
                                 ("2x", "2x item", lambda i: group(i) != "1x1")):  # fmt: skip
            seconds = {d: [i["device_s"] for i in jobs.items(d, condition, what) if keep(i)] for d in DESIGNS}
            if all(seconds.values()):
                parts.append(f"{name} {statistics.mean(seconds['sequential']) / statistics.mean(seconds['today']):.2f}")
        lines.append(f"{condition}: sequential / today, device s per item: " + ", ".join(parts))
    return lines


def mean_change(answers: list[dict], name: str) -> str:
    """A group's mean measured change over its items with a 99% t interval over the jobs' means (a job's items
    share its fork servers, so jobs, not items, are the independent draws), and how many items read below zero:
    an A/A lean shows in all three."""
    per_job = [[i["change"] for i in a["items"] if group(i) == name and i.get("change") is not None] for a in answers]
    changes = [c for job in per_job for c in job]
    if not changes:
        return "–"
    means = [statistics.mean(job) for job in per_job if job]
    interval = ""
    if len(means) > 1:
        half = scipy_stats.t.ppf(0.995, len(means) - 1) * statistics.stdev(means) / math.sqrt(len(means))
        middle = statistics.mean(means)
        interval = f" [{100 * (middle - half):+.1f}, {100 * (middle + half):+.1f}]"
    return f"{100 * statistics.mean(changes):+.1f}%{interval} ({sum(c < 0 for c in changes)})"


def big_table(jobs: Jobs, conditions: list[str]) -> Table:
    """The 2x build's items per group: the changed 3x3 and 1x7, and the 1x1s it leaves as they were."""
    table = Table(title="2x build: what each design called its items", title_justify="left")
    for column in ("machine", "items", "design", "n", "verdicts", "mean change, 99% over jobs (below 0)"):
        table.add_column(column, justify="left" if column in ("machine", "items", "design", "verdicts") else "right")
    for condition in conditions:
        for name in GROUPS.values():
            for design in DESIGNS:
                items = [i for i in jobs.items(design, condition, "2x") if group(i) == name]
                if items:
                    verdicts = Counter(i["verdict"] for i in items)
                    table.add_row(f"{condition}, load {jobs.load(condition, '2x')}", name, design, str(len(items)),
                                  ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items())),
                                  mean_change(jobs.jobs(design, condition, "2x"), name))  # fmt: skip
    table.caption = "the 2x build doubles the 3x3's and the 1x7's work and leaves the 1x1's as it was"
    return table


def groups_table(jobs: Jobs, conditions: list[str]) -> Table:
    """A/A items per item group: what each design called them, how wide its intervals were, how many rounds
    they took and why they stopped (their device seconds are cost_table's)."""
    table = Table(title="A/A items per item group", title_justify="left")
    for column in ("machine", "items", "design", "n", "slower/faster", "unchanged", "undecided",
                   "median interval width", "mean change, 99% over jobs (below 0)", "mean rounds", "stopped by"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("machine", "items", "design", "stopped by") else "right")
    for condition in conditions:
        for name in GROUPS.values():
            for design in DESIGNS:
                items = [i for i in jobs.items(design, condition, "A/A") if group(i) == name]
                if not items:
                    continue
                verdicts = Counter(i["verdict"] for i in items)
                widths = [100 * (i["ci_high"] - i["ci_low"]) for i in items if i["ci_low"] is not None]
                stopped = Counter(i["stopped"] for i in items if i.get("stopped"))
                table.add_row(f"{condition}, load {jobs.load(condition, 'A/A')}", name, design, str(len(items)),
                              pct(verdicts[SLOWER] + verdicts[FASTER], len(items)),
                              pct(verdicts[UNCHANGED], len(items)), pct(verdicts[UNDECIDED], len(items)),
                              f"{statistics.median(widths):.1f} points" if widths else "–",
                              mean_change(jobs.jobs(design, condition, "A/A"), name),
                              mean(i["rounds"] for i in items),
                              ", ".join(f"{why} {n}" for why, n in sorted(stopped.items())) or "–")  # fmt: skip
    table.caption = ("interval width: percentage points of the change; a sequential item stops decided, at the cap, "
                     "or where the cap would not decide it")  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="A/A PR jobs per design and machine state")
    parser.add_argument("--load", choices=["quiet", "loaded", "both"], default="both")
    parser.add_argument("--detect-jobs", type=int, default=10, help="PR jobs per slower build and design (0: none)")
    parser.add_argument("--fractions", default="0.03,0.05,0.10", help="extra work of the slower builds")
    parser.add_argument("--big-jobs", type=int, default=5, help="whole smoke PR jobs of a 2x build per design")
    parser.add_argument("--baseline", default="d6d3315", help="the commit whose fixed design is today's")
    parser.add_argument("--workloads", default="all", help="smoke workload names to keep (comma-separated)")
    parser.add_argument("--work", type=Path, help="a folder kept between starts, to resume (default: a temporary one)")
    parser.add_argument("--record", type=Path, help="the record of finished jobs (default: DIR/record.jsonl)")
    parser.add_argument("--report", action="store_true", help="print the tables of the record; run nothing")
    args = parser.parse_args()
    smoke = [w for w in get_suite("smoke").workloads if args.workloads == "all" or w.name in args.workloads.split(",")]
    fractions = [float(f) for f in args.fractions.split(",") if f]
    conditions = ["quiet", "loaded"] if args.load == "both" else [args.load]
    if args.report:
        record = args.record or (args.work / "record.jsonl" if args.work else None)
        if record is None or not record.exists():
            raise SystemExit(f"verdict_noise.py: no record at {record or '--record FILE or --work DIR'}")
        report(Jobs(record.parent, record), conditions, fractions, args.detect_jobs)
        return
    header = {"sequential": design_tree(), "baseline": args.baseline, "items": [w.key for w in smoke],
              "fractions": fractions}  # fmt: skip
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="perfbot-verdict-bench-")))
        work.mkdir(parents=True, exist_ok=True)
        record = args.record or work / "record.jsonl"
        open_record(record, header)
        jobs = run(args, Jobs(work, record, header["sequential"], compiled_target()), smoke, fractions, conditions)
        report(jobs, conditions, fractions, args.detect_jobs)


def run(args, jobs: Jobs, smoke: list, fractions: list[float], conditions: list[str]) -> Jobs:
    """Every job the record does not hold yet: A/A, the 2x build, then the slower builds, per condition."""
    started = time.monotonic()
    work = jobs.work
    jobs.unpack_today(args.baseline)
    every = [w.key for w in smoke]
    slowed = [w.key for w in smoke if "1x7" in w.name or "3x3" in w.name]
    checkout, cache = work / "tvm", work / "cache"
    if (checkout / ".git").exists():
        main_sha = tvm_checkout.git(checkout, "rev-parse", "main")
    else:
        main_sha = tvm_checkout.make_checkout(checkout)
    subjects.native_from(commits.resolve(checkout, main_sha), f"python:{sys.executable}", cache)
    base = subjects.provision(f"source:{checkout}@{main_sha}", cache)
    builds = {}
    for fraction in sorted({*fractions, *([1.0] if args.big_jobs else [])}):
        branch = f"slow-{fraction}"
        try:
            sha = tvm_checkout.git(checkout, "rev-parse", "--verify", "-q", branch)
        except subprocess.CalledProcessError:
            sha = tvm_checkout.commit_change(checkout, branch, f"+{fraction:.0%} conv work",
                                             lambda folder, f=fraction: (tvm_checkout.recompute_part(f, (1, 7))(folder),
                                                                         tvm_checkout.recompute_part(f, (3, 3))(folder)))  # fmt: skip
        builds[fraction] = subjects.provision(f"source:{checkout}@{sha}", cache)
    say(f"record: {jobs.record} ({len(jobs.answers)} jobs already in it)")
    for condition in conditions:
        with Neighbour(condition == "loaded"):
            say(f"{condition}: A/A, {args.jobs} PR jobs per design")
            jobs.take_turns(condition, "A/A", base, base, every, args.jobs)
            if args.big_jobs:
                say(f"{condition}: 2x, {args.big_jobs} whole PR jobs per design")
                jobs.take_turns(condition, "2x", base, builds[1.0], every, args.big_jobs)
            for fraction in fractions if slowed and args.detect_jobs else []:
                say(f"{condition}: +{fraction:.0%}, {args.detect_jobs} PR jobs per design")
                jobs.take_turns(condition, f"+{fraction:.0%}", base, builds[fraction], slowed, args.detect_jobs)
    say(f"this start: {(time.monotonic() - started) / 60:.0f} minutes")
    return jobs


def report(jobs: Jobs, conditions: list[str], fractions: list[float], detect_jobs: int) -> None:
    out.print(aa_table(jobs, conditions))
    if fractions and detect_jobs:
        out.print(detection_table(jobs, conditions, fractions))
    out.print(groups_table(jobs, conditions))
    out.print(big_table(jobs, conditions))
    out.print(cost_table(jobs, conditions))
    for line in ratios(jobs, conditions):
        out.print(line)
    machines = Counter(a.get("cpu", "CPU not recorded") for a in jobs.answers)
    out.print("ran on: " + "; ".join(f"{cpu} ({n} jobs)" for cpu, n in machines.most_common()))
    hours = sum(a["wall_s"] for a in jobs.answers) / 3600
    out.print(f"{len(jobs.answers)} jobs in the record, {hours:.1f} hours of PR jobs")


if __name__ == "__main__":
    main()
