"""One PR job as the bot runs it, judged as the comment judges it: the worker of benchmarks/verdict_noise.py.

    python benchmarks/pr_job.py ROOT SPEC.json

ROOT is the perfbot tree whose `bot` package runs the job: this checkout (the design under test) or an
older commit unpacked by verdict_noise.py (today's fixed design), so that both designs run through their
own `Runner.run_paired` and `verdicts.judge`, nothing copied. It uses only what both have. The spec names
the database, the cache, both builds (interpreter, variables), the items, the PR number and the target
the `local` device compiles for in place of its `host`; the answer,
one JSON object on stdout, has the job's wall time and per item: its verdict with the rerun and its first attempt's alone,
its interval, rounds, why they stopped (where the design says), reruns, and the device seconds it took.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path


def main() -> None:
    root, spec_path = Path(sys.argv[1]), Path(sys.argv[2])
    sys.path.insert(0, str(root))
    from bot import devices, verdicts
    from bot.engine.runner import Runner, Subject
    from bot.engine.suite.suites import get_suite
    from bot.store import Store

    spec = json.loads(spec_path.read_text())
    device = devices.load(None).get("local")
    if spec.get("target"):  # one explicit CPU for both designs (verdict_noise.py's compiled_target)
        device = dataclasses.replace(device, target=spec["target"])
    wanted = set(spec["items"])
    suite = get_suite("smoke")
    suite = dataclasses.replace(suite, workloads=tuple(w for w in suite.workloads if w.key in wanted))

    def subject(side: dict, kind: str) -> Subject:
        sha = f"{spec['number']:040x}" if kind == "pr" else "b" * 40
        return Subject(python=Path(side["python"]), env=side["env"], kind=kind, repo="bench/tvm", sha=sha,
                       pr=spec["number"] if kind == "pr" else None, base_sha="b" * 40 if kind == "pr" else None,
                       variables=side["variables"], build=side["build"])  # fmt: skip

    store = Store.open(Path(spec["database"]))
    outcome = Runner(store, Path(spec["cache"])).run_paired(
        suite, device, subject(spec["base"], "base"), subject(spec["pr"], "pr"), skip_same_code=False
    )
    # A/A builds compile to the same code; judged as if it differed (a `same code` row is never timed).
    results = [{**r, "same_code": 0} for r in store.results(outcome.run_id)]
    rows = verdicts.judge(store, device.name, results)
    first_only = {_key(r): r for r in verdicts.judge(store, device.name, [r for r in results if r["attempt"] == 1])}
    items = []
    for row in rows:
        mine = [r for r in results if _key(r) == _key(row)]
        first = next(r for r in mine if r["attempt"] == 1)
        c = row.comparison
        items.append({
            "workload": row.workload, "scheme": row.scheme, "config": row.config,
            "verdict": row.verdict, "first_attempt": _first_attempt(first_only[_key(row)]),
            "change": c.change if c else None, "ci_low": c.ci_low if c else None, "ci_high": c.ci_high if c else None,
            "rounds": len(first.get("rounds") or []), "stopped": first.get("stopped"), "reruns": len(mine) - 1,
            "device_s": sum(r.get("wall_s") or 0.0 for r in mine),
        })  # fmt: skip
    store.close()
    print(json.dumps({"wall_s": outcome.timing.wall_s, "items": items}))


def _first_attempt(alone) -> str:
    """The verdict of the first attempt on its own: what the comment would say had there been no rerun. A
    design that waits for a rerun calls a lone slower/faster first attempt `inconclusive`; its rounds' own
    verdict is the one the rerun was there to check."""
    if alone.verdict == "inconclusive" and alone.comparison is not None:
        return alone.comparison.verdict
    return alone.verdict


def _key(row) -> tuple:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return get("workload"), get("scheme"), get("layout"), get("pipeline")


if __name__ == "__main__":
    main()
