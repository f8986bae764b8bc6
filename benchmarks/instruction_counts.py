"""Instruction counts on the emulated AArch64 board: do they repeat, do they see real changes, what do they cost.

    .venv/bin/python benchmarks/instruction_counts.py [--repeat 3] [--inception] [--skip-detect]

Everything goes through perfbot's own path (`Runner.run` / `Runner.run_paired` on the repository's
`qemu-aarch64` device, brought up by `preflight.device_ready` on a free port, `verdicts.judge`), with
the real TVM and TFLite, in a throwaway cache and database:

1. repeatability: the smoke suite counted `--repeat` times with the installed TVM, every time in new
   processes (a new fork server, new children, new board sessions): per item the spread of the totals
   and whether every kernel's count was identical; `--inception` adds Inception-v3 (uint8, NHWC);
   then A/A PR jobs, both sides counted with the same-code shortcut off: the same build on both sides,
   and a docstring PR (another build, other Python code run before the count, the same compiled code):
   the largest difference between the sides is what the verdict's margin must stay clear of;
2. detection: PR jobs of real TVM changes (tests/tvm_checkout.py: a git tree of the release's Python
   sources, its wheel registered as the native build) against their base: the 1x7 conv doing twice
   its work and 5% more, and a docstring change (every item `same code`, nothing counted);
3. cost: the wall time of a smoke PR job with every item counted on both sides (the worst case: the
   same-code shortcut off), of the `double` PR job above, and of Inception-v3's items, with where the
   time went (compiling on the host; loading, running, checking and counting on the board; TFLite).

Counts do not depend on the machine's load (the load only stretches the wall times, which are
stated with the load average at the start of each part).
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import devices, verdicts  # noqa: E402
from bot.console import BarProgress  # noqa: E402
from bot.engine import subjects  # noqa: E402
from bot.engine.boards import preflight  # noqa: E402
from bot.engine.builds import commits  # noqa: E402
from bot.engine.runner import Config, Runner, Subject  # noqa: E402
from bot.engine.suite.suites import Suite, get_suite  # noqa: E402
from bot.engine.suite.workloads import inception_v3  # noqa: E402
from bot.settings import default_cache_dir  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.vocabulary import change_percent, instructions  # noqa: E402
from tests import tvm_checkout  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
out, err = Console(width=170), Console(stderr=True)


def say(line: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}", highlight=False)


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kernels(result) -> dict:
    return {
        k: v for k, v in (result.instructions.functions if result.instructions else {}).items() if k[:7] == "kernel:"
    }


def repeatability(
    runner: Runner, suite: Suite, board, subject: Subject, repeat: int, only: Config | None = None
) -> tuple[Table, list[float]]:
    runs, walls = [], []
    for number in range(repeat):
        say(f"{suite.name}: count {number + 1} of {repeat} in new processes ({load()})")
        # A cache of its own per count, so that TFLite is counted again too (runs keep TFLite's counts).
        fresh = Runner(runner.store, runner.cache_dir / f"{suite.name}-{number}", runner.progress)
        outcome = fresh.run(suite, board, subject, only=only)
        runs.append({(r.workload.key, r.config.name): r for r in outcome.results})
        walls.append(outcome.timing.wall_s)
    table = Table(
        title=f"repeatability: {suite.name} counted {repeat} times, new processes each time", title_justify="left"
    )
    for column in ("item", "instructions", "spread (max-min)", "spread %", "kernels identical", "TFLite spread"):
        table.add_column(column, justify="left" if column == "item" else "right")
    for key in runs[0]:
        results = [run[key] for run in runs]
        totals = [r.instructions.total for r in results if r.instructions]
        tflite = [r.tflite_instructions.total for r in results if r.tflite_instructions]
        if len(totals) < len(results):
            table.add_row(
                " ".join(key), "not counted: " + ", ".join(sorted({r.status for r in results})), "", "", "", ""
            )
            continue
        spread = max(totals) - min(totals)
        same = all(kernels(r) == kernels(results[0]) for r in results)
        table.add_row(" ".join(key), f"{statistics.median(totals):,.0f}", f"{spread:,}",
                      f"{spread / min(totals):.5%}", "yes" if same else "NO", f"{max(tflite) - min(tflite):,}")  # fmt: skip
    return table, walls


def aa_table(title: str, outcome) -> Table:
    """Per item: the base's and the PR's count of the same code, and how far apart they are."""
    table = Table(title=title, title_justify="left")
    for column in ("item", "base", "PR", "PR - base", "kernels identical"):
        table.add_column(column, justify="left" if column == "item" else "right")
    worst = 0
    for r in outcome.results:
        if r.instructions is None or r.base_instructions is None:
            table.add_row(f"{r.workload.key} {r.config.name}", r.status, "", "", "")
            continue
        delta = r.instructions.total - r.base_instructions.total
        worst = max(worst, abs(delta))
        same = {k: v for k, v in r.base_instructions.functions.items() if k[:7] == "kernel:"} == kernels(r)
        table.add_row(f"{r.workload.key} {r.config.name}", f"{r.base_instructions.total:,}",
                      f"{r.instructions.total:,}", f"{delta:+,}", "yes" if same else "NO")  # fmt: skip
    table.caption = f"largest |PR - base|: {worst:,} instructions"
    return table


def pr_jobs(runner: Runner, board, cache: Path, scratch: Path, inception: bool) -> tuple[Table, dict]:
    checkout = scratch / "tvm"
    main = tvm_checkout.make_checkout(checkout)
    subjects.native_from(commits.resolve(checkout, main), f"python:{sys.executable}", cache)

    def subject(sha: str, kind: str) -> Subject:
        env = subjects.provision(f"source:{checkout}@{sha}", cache)
        return Subject(python=env.python, env=env.key, kind=kind, sha=sha, pr=1 if kind == "pr" else None,
                       base_sha=main if kind == "pr" else None, variables=env.variables, build=env.build)  # fmt: skip

    changes = {
        "1x7 does twice its work": tvm_checkout.recompute_part(1.0),
        "1x7 does 5% more work": tvm_checkout.recompute_part(0.05),
        "a docstring": tvm_checkout.touch_docs,
    }
    base = subject(main, "base")
    smoke = get_suite("smoke")
    table = Table(title="real TVM changes, PR jobs on the emulated board (smoke suite)", title_justify="left")
    for column in ("PR", "item", "base", "PR instructions", "change", "verdict", "moved most"):
        table.add_column(column, justify="left" if column in ("PR", "item", "verdict", "moved most") else "right")
    walls = {}
    for number, (name, edit) in enumerate(changes.items()):
        sha = tvm_checkout.commit_change(checkout, f"pr{number}", name, edit)
        say(f"PR job: {name} ({load()})")
        outcome = runner.run_paired(smoke, board, base, subject(sha, "pr"))
        walls[name] = outcome.timing
        rows = verdicts.judge(runner.store, board.name, runner.store.results(outcome.run_id))
        summary = verdicts.counts_text(collections.Counter(r.verdict for r in rows))
        for row in sorted(rows, key=lambda r: (r.verdict == "same code", r.workload, r.scheme, r.config)):
            if row.verdict == "same code":
                continue
            c = row.counts
            moved = row.counts.moved_most(1)
            table.add_row(name, f"{row.workload} {row.scheme} {row.config}", instructions(c.base),
                          instructions(c.pr), row.change_text, row.verdict,
                          f"{moved[0][0]} {change_percent(moved[0][2] / moved[0][1] - 1) if moved and moved[0][1] else ''}"
                          if moved else "")  # fmt: skip
        table.add_row(name, f"all {len(rows)} items", "", "", "", summary, "", end_section=True)
    say(f"A/A: the docstring PR counted anyway, both sides ({load()})")
    docs = tvm_checkout.git(checkout, "rev-parse", f"pr{len(changes) - 1}")
    aa = runner.run_paired(smoke, board, base, subject(docs, "pr"), skip_same_code=False)
    out.print(aa_table("A/A: the docstring PR (another build, the same code), both sides counted", aa))
    if inception:
        say(f"PR job: Inception-v3 uint8 NHWC, 1x7 twice its work, both sides counted ({load()})")
        network = Suite("inception", (inception_v3("uint8"),))
        double = tvm_checkout.git(checkout, "rev-parse", "pr0")
        outcome = runner.run_paired(network, board, base, subject(double, "pr"), only=Config("NHWC", "default"))
        walls["Inception-v3 uint8 NHWC: 1x7 twice its work"] = outcome.timing
        (result,) = outcome.results
        if result.instructions and result.base_instructions:
            table.add_row("Inception-v3: 1x7 twice its work", "inception_v3 uint8 NHWC/default",
                          instructions(result.base_instructions.total), instructions(result.instructions.total),
                          change_percent(result.instructions.total / result.base_instructions.total - 1), "", "")  # fmt: skip
    return table, walls


def costs(walls: dict[str, object]) -> Table:
    table = Table(title="cost: wall time of PR jobs on the emulated board, and where it went", title_justify="left")
    for column in ("job", "wall s", "compiling s", "on the board s", "TFLite s", "the rest s"):
        table.add_column(column, justify="left" if column == "job" else "right")
    for name, timing in walls.items():
        table.add_row(name, f"{timing.wall_s:.0f}", f"{timing.compile_s:.0f}", f"{timing.measure_s:.0f}",
                      f"{timing.tflite_s:.0f}", f"{timing.overhead_s:.0f}")  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="counts of the same build, each in new processes")
    parser.add_argument("--inception", action="store_true", help="also Inception-v3 (uint8, NHWC): about 3 min a count")
    parser.add_argument("--skip-detect", action="store_true", help="no PR jobs of real TVM changes")
    args = parser.parse_args()
    registry = devices.load(ROOT / "devices.yml")
    board = registry.get("qemu-aarch64")
    board = replace(board, rpc=devices.Rpc("127.0.0.1", free_port(), board.rpc.key))
    subject = Subject(python=Path(sys.executable), env=f"python:{sys.executable}")
    with tempfile.TemporaryDirectory(prefix="perfbot-count-bench-") as scratch:
        scratch = Path(scratch)
        cache = scratch / "cache"
        started = time.perf_counter()
        with preflight.device_ready(board, default_cache_dir(), say=say) as ready:
            say(f"board up in {time.perf_counter() - started:.1f} s ({load()})")
            with BarProgress() as progress:
                runner = Runner(Store.open(scratch / "perf.db"), cache, progress)
                walls: dict = {}
                table, repeat_walls = repeatability(runner, get_suite("smoke"), ready, subject, args.repeat)
                out.print(table)
                out.print(f"smoke suite counted alone: {', '.join(f'{w:.0f}' for w in repeat_walls)} s per run")
                if args.inception:
                    network = Suite("inception", (inception_v3("uint8"),))
                    nhwc = Config("NHWC", "default")
                    table, inception_walls = repeatability(runner, network, ready, subject, args.repeat, nhwc)
                    out.print(table)
                    out.print(
                        f"Inception-v3 uint8 NHWC counted alone: {', '.join(f'{w:.0f}' for w in inception_walls)} s per run"
                    )
                say(f"every item counted on both sides, same-code shortcut off ({load()})")
                aa = runner.run_paired(get_suite("smoke"), ready, subject, subject, skip_same_code=False)
                walls["smoke, every item counted on both sides"] = aa.timing
                out.print(aa_table("A/A: the same build on both sides, both counted", aa))
                if not args.skip_detect:
                    table, pr_walls = pr_jobs(runner, ready, cache, scratch, args.inception)
                    out.print(table)
                    walls.update({f"PR: {k}": v for k, v in pr_walls.items()})
        out.print(costs(walls))


if __name__ == "__main__":
    main()
