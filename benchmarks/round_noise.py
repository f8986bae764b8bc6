"""Where a side-by-side round's noise comes from: inside a pair of processes, between pairs, and the round's shape.

    .venv/bin/python benchmarks/round_noise.py [--pairs 6] [--rounds 6] [--servers 1] [--items smoke]
        [--load quiet|loaded]

A/A: the TVM perfbot is installed with on both sides, the smoke suite's items on the `local` device, in a
throwaway cache. Each item is timed in `--pairs` pairs of fresh children, one pair after the other, each
pair giving `--rounds` ABBA rounds in each of two shapes, taken in turns round by round so that both see the
same machine:

- block: today's round, a block of 3 samples a side (base's block, then PR's), the medians' ratio;
- interleaved: 3 single samples a side taken in ABBA order inside the round, the medians' ratio;
- single: each base/PR pair of samples of an interleaved round is a round of its own (one sample a side,
  three rounds for the device time of one round of the other shapes).

Per item and shape it prints the per-round log ratio's spread inside a pair (robust: 1.4826 x MAD of the
rounds around their pair's median), the spread of the pairs' medians between pairs (the process-level
offset, plus what is left of the inside noise: sd_inside / sqrt(rounds)), the largest single round, and
what a pair and a round cost. This is what bot/stats.py's choice of the independent unit rests on.

A pair's children are forked from the run's two fork servers (bot/engine/isolation.py), as in a PR job, and
a forked child inherits its server's address space. With `--servers N` the pairs are spread over N pairs of
fresh servers (new interpreters, TVM imported again), so the table also shows the spread of the servers'
medians against that of the pairs' medians inside one pair of servers: how much of a process's luck is its
server's, which every pair and rerun of a PR job shares.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.verdict_noise import Neighbour  # noqa: E402
from bot import devices  # noqa: E402
from bot.child import MEASURE_SCRIPT  # noqa: E402
from bot.engine import isolation  # noqa: E402
from bot.engine.children import child_device  # noqa: E402
from bot.engine.suite.suites import get_suite  # noqa: E402
from bot.engine.suite.workloads import make_inputs, materialize  # noqa: E402
from bot.stats import robust_sd  # noqa: E402

out = Console(width=140)
SHAPES = ("block", "interleaved", "single")
TAKEN = ("block", "interleaved")  # single rounds are cut from the interleaved ones
SAMPLES = {"block": 6, "interleaved": 6, "single": 2}  # samples per round, both sides


def spec_of(workload, cache: Path, folder: Path, layout: str) -> dict:
    model = materialize(workload, cache)
    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for i, array in enumerate(make_inputs(model, seed=workload.seed)):
        inputs.append(folder / f"input_{i}.npy")
        np.save(inputs[-1], array)
    return {"op": "measure", "model": str(model), "inputs": [str(p) for p in inputs], "layout": layout,
            "pipeline": "default", "target": "host", "threads": 1, "device": child_device(devices.load(None).get("local"))}  # fmt: skip


def one_round(base, pr, shape: str, number: int, warmup: int) -> list[tuple[float, float]] | None:
    """[(base ms, PR ms)] of one round of the given shape (an interleaved round: also its single rounds)."""
    first, second = (base, pr) if number % 2 == 0 else (pr, base)
    got: dict = {id(base): [], id(pr): []}
    if shape == "block":
        for s in (first, second):
            block = s.time(1, 3, warmup, 600)
            if not block:
                return None
            got[id(s)] += block
    else:
        for i in range(3):
            for s in (first, second) if i % 2 == 0 else (second, first):
                block = s.time(1, 1, warmup if i == 0 else 0, 600)
                if not block:
                    return None
                got[id(s)] += block
    rounds = [(statistics.median(got[id(base)]), statistics.median(got[id(pr)]))]
    if shape == "interleaved":
        rounds += list(zip(got[id(base)], got[id(pr)]))
    return rounds


def item(servers, spec, workdir: Path, pairs: int, rounds: int) -> dict:
    """Rounds of each shape per pair: {shape: [[log ratio per round] per pair]}, and seconds spent."""
    found = {shape: [] for shape in SHAPES}
    ready_s, round_s = [], {shape: [] for shape in SHAPES}
    for p in range(pairs):
        started = time.perf_counter()
        base = servers[0].session(spec, workdir / f"base-{p}", 600)
        pr = servers[1].session(spec, workdir / f"pr-{p}", 600)
        base.begin(), pr.begin()
        if base.wait_ready() is not None or pr.wait_ready() is not None:
            raise SystemExit(f"{spec['model']}: a child did not get ready: {base.finish()} {pr.finish()}")
        ready_s.append(time.perf_counter() - started)
        mine = {shape: [] for shape in SHAPES}
        for r in range(2 * rounds):
            shape = TAKEN[r % 2]
            began = time.perf_counter()
            got = one_round(base, pr, shape, r // 2, 1 if r < 2 else 0)
            round_s[shape].append(time.perf_counter() - began)
            if got is None:
                raise SystemExit(f"{spec['model']}: a child died: {base.finish()} {pr.finish()}")
            mine[shape].append(math.log(got[0][1] / got[0][0]))
            if shape == "interleaved":
                mine["single"] += [math.log(p / b) for b, p in got[1:]]
                round_s["single"] += [(time.perf_counter() - began) / 3] * 3
        base.finish(), pr.finish()
        for shape in SHAPES:
            found[shape].append(mine[shape])
    return {"found": found, "ready_s": statistics.median(ready_s), "round_s": round_s}


def components(per_pair: list[list[float]]) -> tuple[float, float, float, float]:
    """(sd inside a pair, sd of pair medians, sd of every round pooled, largest |round|) as relative figures."""
    inside = np.concatenate([np.asarray(r) - np.median(r) for r in per_pair])
    medians = np.asarray([np.median(r) for r in per_pair])
    pooled = np.concatenate([np.asarray(r) for r in per_pair])
    return robust_sd(inside), robust_sd(medians), robust_sd(pooled), float(np.max(np.abs(pooled)))


def server_components(per_pair: list[list[float]], servers: int) -> tuple[float, float]:
    """(sd of the server pairs' medians, sd of the pairs' medians around their server pair's median)."""
    medians = np.asarray([np.median(r) for r in per_pair]).reshape(servers, -1)
    return robust_sd(np.median(medians, axis=1)), robust_sd(
        (medians - np.median(medians, axis=1, keepdims=True)).ravel()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each shape per pair")
    parser.add_argument("--items", default="smoke", help="smoke, or workload names (comma-separated, uint8)")
    parser.add_argument("--layouts", default="NHWC")
    parser.add_argument("--load", choices=["quiet", "loaded"], default="quiet")
    parser.add_argument("--servers", type=int, default=1, help="pairs of fresh fork servers the pairs are spread over")
    args = parser.parse_args()
    if args.servers < 1 or args.pairs % args.servers:
        raise SystemExit(f"round_noise.py: --pairs {args.pairs} must be a multiple of --servers {args.servers}")
    workloads = [w for w in get_suite("smoke").workloads if w.scheme == "uint8"]
    if args.items != "smoke":
        workloads = [w for w in workloads if w.name in args.items.split(",")]
    table = Table(title=f"A/A rounds, {args.pairs} pairs x {args.rounds} rounds per shape over {args.servers} "
                        f"pair(s) of fork servers, {args.load}", title_justify="left")  # fmt: skip
    columns = ["item", "shape", "sd in pair", "sd of pair medians", "expected from inside", "sd pooled",
               "largest round", "pair ready s", "round s", "sd^2 x samples"]  # fmt: skip
    if args.servers > 1:
        columns[4:4] = ["sd of server medians", "sd of pair medians in a server"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("item", "shape") else "right")
    with tempfile.TemporaryDirectory(prefix="perfbot-round-noise-") as scratch, Neighbour(args.load == "loaded"):
        scratch = Path(scratch)
        python = Path(sys.executable)
        per_server = args.pairs // args.servers
        for w in workloads:
            for layout in args.layouts.split(","):
                name = f"{w.name} {layout}"
                spec = spec_of(w, scratch / "cache", scratch / f"in-{w.name}", layout)
                got = {"found": {shape: [] for shape in SHAPES}, "ready_s": [], "round_s": {s: [] for s in SHAPES}}
                for n in range(args.servers):
                    print(f"{time.strftime('%H:%M:%S')} {name}, servers {n + 1}/{args.servers}", file=sys.stderr)
                    folder = scratch / f"item-{w.name}-{layout}-{n}"
                    with contextlib.ExitStack() as stack:  # a base and a PR server, as a PR job starts them
                        servers = [stack.enter_context(isolation.ForkServer(python, MEASURE_SCRIPT, folder / n,
                                                                            {"TVM_NUM_THREADS": "1"}))
                                   for n in ("base-server", "pr-server")]  # fmt: skip
                        part = item(servers, spec, folder, per_server, args.rounds)
                    for shape in SHAPES:
                        got["found"][shape] += part["found"][shape]
                        got["round_s"][shape] += part["round_s"][shape]
                    got["ready_s"].append(part["ready_s"])
                for shape in SHAPES:
                    inside, between, pooled, largest = components(got["found"][shape])
                    per_pair = len(got["found"][shape][0])
                    servers_part = []
                    if args.servers > 1:
                        servers_part = [f"{x:.2%}" for x in server_components(got["found"][shape], args.servers)]
                    table.add_row(name, shape, f"{inside:.2%}", f"{between:.2%}", *servers_part,
                                  f"{inside / math.sqrt(per_pair):.2%}", f"{pooled:.2%}",
                                  f"{math.expm1(largest):+.1%}", f"{statistics.median(got['ready_s']):.1f}",
                                  f"{statistics.median(got['round_s'][shape]):.2f}",
                                  f"{1e4 * pooled**2 * SAMPLES[shape]:.1f}")  # fmt: skip
                    rows = " | ".join(" ".join(f"{100 * x:+.1f}" for x in r) for r in got["found"][shape])
                    print(f"  {shape}: {rows}", file=sys.stderr)
    out.print(table)


if __name__ == "__main__":
    main()
