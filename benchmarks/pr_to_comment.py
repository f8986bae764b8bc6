"""From a PR's push to its comment, through perfbot as a deployment runs it (issue 10's speed figures).

    .venv/bin/python benchmarks/pr_to_comment.py [--logs DIR]

A git repository of real TVM code (tests/tvm_checkout.py: the installed release's Python sources as
TVM's tree, its wheel registered as the native build: that stands in for the C++ compile only) is
the project on the project's fake GitHub (tests/fake_github, real HTTP). Two Python-only PRs go
through `perfbot watch --once`, `perfbot worker --checkout --once` and `perfbot watch --once` as
separate processes, as the bot's loop runs them:

- `slower`: the 1x7 convolution does twice its work (a real TVM change): timed side by side, rerun;
- `docs`: a docstring: every row `same code`, nothing timed (goal: compile time only).

It prints, per PR, the time from the push to the comment (goal: under 2 minutes for the smoke
suite), the part that was environment set-up (the commit's overlay; goal: under 10 s), the compile
time inside it, and the disk a cached native build and an overlay take. A deployment adds the
poll interval (`perfbot watch --interval`, 60 s by default) or nothing with webhooks (`perfbot serve`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store import Store  # noqa: E402
from tests import tvm_checkout  # noqa: E402
from tests.fake_github.server import FakeGitHub  # noqa: E402

REPO = "apache/tvm"
err = Console(stderr=True)


def say(line: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}", highlight=False)


def disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) if path.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, help="keep every perfbot process's output here, one file per process")
    args = parser.parse_args()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="perfbot-pr-bench-") as scratch, FakeGitHub() as github:
        scratch = Path(scratch)
        checkout = scratch / "tvm"
        main_sha = tvm_checkout.make_checkout(checkout)
        changes = {
            "slower": tvm_checkout.commit_change(
                checkout, "slow", "[TFLite] Recompute 1x7", tvm_checkout.recompute_part(1.0)
            ),
            "docs": tvm_checkout.commit_change(checkout, "docs", "[Docs] contrib", tvm_checkout.touch_docs),
        }
        github.add_repo(REPO)
        github.push(REPO, "main", sha=main_sha, message="apache-tvm release sources")
        github.add_token("bench-token", "perfbot")
        github.set_permission(REPO, "alice", "write")
        devices = scratch / "devices.yml"
        devices.write_text(json.dumps({"devices": {"local": {
            "arch": "x86_64", "target": "host", "connection": "local", "threads": 1, "suites": ["smoke"],
            "tuning_trials": 0}}}))  # fmt: skip
        env = {
            **os.environ,
            "GITHUB_API_URL": github.url,
            "GITHUB_TOKEN": "bench-token",
            "PERFBOT_DEVICES": str(devices),
            "PERFBOT_DB": str(scratch / "perf.db"),
            "PERFBOT_CACHE": str(scratch / "cache"),
        }

        def perfbot(*argv: str) -> float:
            started = time.perf_counter()
            # Its own process group, ended with this script however it ends (Ctrl-C included).
            proc = subprocess.Popen([sys.executable, "-m", "bot", *argv], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
            try:
                _, stderr = proc.communicate()
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait()
            seconds = time.perf_counter() - started
            if logs is not None:
                logs.append(f"$ perfbot {' '.join(argv)}  ({seconds:.1f} s)\n{stderr}")
            if proc.returncode != 0:
                raise SystemExit(f"perfbot {' '.join(argv)} failed:\n{stderr[-2000:]}")
            return seconds

        logs: list[str] | None = [] if args.logs else None
        say("registering the release wheel as the native build of main")
        native_s = perfbot("build", f"{checkout}@main", "--native-from", f"python:{sys.executable}")
        say("the base branch's own run of main (what a deployment has before the first PR)")
        perfbot("watch", "--repo", REPO, "--once")
        perfbot("worker", "--device", "local", "--checkout", str(checkout), "--once")
        table = Table(title="a Python-only PR, push to comment (smoke suite, local device)", title_justify="left")
        for column in ("PR", "comment says", "push to comment s", "overlay s", "compile s", "timed rows"):
            table.add_column(column, justify="left" if column in ("PR", "comment says") else "right")
        store = Store.open(scratch / "perf.db")
        for name, sha in changes.items():
            say(f"PR {name}: pushed")
            overlay_s = perfbot("build", f"{checkout}@{sha}")  # the overlay the worker would make, timed alone
            number = github.add_pull(REPO, author="alice", head_ref=name, title=name, shas=[sha])
            pushed = time.perf_counter()
            perfbot("watch", "--repo", REPO, "--once")
            perfbot("worker", "--device", "local", "--checkout", str(checkout), "--once")
            perfbot("watch", "--repo", REPO, "--once")
            total = time.perf_counter() - pushed
            (body,) = [c.body for c in github.comments(REPO, number) if "<!-- perfbot:report -->" in c.body]
            run = next(r for r in reversed(store.runs()) if r["sha"] == sha and r["kind"] == "pr")
            results = store.results(run["id"])
            compile_s = sum((r.get("compile_s") or 0) + (r.get("base_compile_s") or 0) for r in results)
            timed = sum(1 for r in results if r.get("rounds"))
            table.add_row(name, body.splitlines()[1].strip("*_ "), f"{total:.0f}", f"{overlay_s:.1f}",
                          f"{compile_s:.0f}", f"{timed} of {len(results)}")  # fmt: skip
            say(f"PR {name}: commented after {total:.0f} s")
        cache = scratch / "cache" / "builds"
        (native,) = [json.loads(p.read_text()) for p in (cache / "native").glob("*/build.json")]
        overlays = [p for p in (cache / "commits").glob("*") if p.is_dir()]
        table.caption = (
            f"native build registered from the wheel in {native_s:.0f} s: its entry takes "
            f"{disk(cache / 'native') / 1e3:.0f} kB and uses the wheel's libraries ({disk(Path(native['lib'])) / 1e6:.0f} MB, "
            f"in the wheel's environment); an overlay takes {disk(overlays[0]) / 1e6 if overlays else 0:.1f} MB "
            f"({len(overlays)} made). A deployment adds the poll interval for `perfbot watch`, nothing for webhooks."
        )
        Console().print(table)
        store.close()
        if args.logs:
            for n, text in enumerate(logs):
                (args.logs / f"{n:02d}.log").write_text(text)
            say(f"each perfbot process's output: {args.logs}/NN.log")


if __name__ == "__main__":
    main()
