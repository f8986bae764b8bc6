"""`perfbot history`: a suite on each TVM release, recorded as consecutive base-branch points.

Each release gets a `pip:apache-tvm==VERSION` environment (with its known
apache-tvm-ffi companion from bot/engine/compat.py) and one run of kind `base` on
repo apache/tvm whose commit is `vVERSION` (the release's tag) and whose
commit time is the release's first upload to PyPI, so the dashboard and the
statistics see the releases as a stretch of base-branch history, in release
order. When PyPI cannot be asked (it is the only network this needs, and
only a package registry), commit times stay empty and the releases are run
oldest version first, so their measurement times give the same order.

A release whose environment cannot be built is recorded too: a run whose
every item is `environment_error` with the reason and the log's path. It is
printed, and the other releases go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from packaging.version import InvalidVersion, Version
from rich.markup import escape

from bot import console
from bot.console import Say
from bot.devices import Device
from bot.engine import subjects
from bot.engine.runner import Quiet, Runner, RunOutcome, Subject
from bot.engine.suite.suites import Suite
from bot.errors import EnvironmentBroken, UnknownName
from bot.vocabulary import ENVIRONMENT_ERROR

PYPI_JSON = "https://pypi.org/pypi/apache-tvm/json"
REPO = "apache/tvm"


@dataclass
class ReleaseRun:
    version: str
    outcome: RunOutcome | None  # None only when nothing could be recorded
    commit_time: str | None = None
    error: str | None = None  # why the environment could not be built

    @property
    def tag(self) -> str:
        return tag(self.version)


def tag(version: str) -> str:
    """The git tag a release is recorded under (apache/tvm tags its releases vX.Y.Z)."""
    return f"v{version}"


def release_times(versions: list[str], timeout: float = 10) -> dict[str, str]:
    """Each release's first upload to PyPI (ISO 8601, UTC), from PyPI's JSON API in one request.

    Releases PyPI does not list are left out; when PyPI cannot be reached the answer is empty.
    """
    try:
        answer = requests.get(PYPI_JSON, timeout=timeout)
        answer.raise_for_status()
        releases = answer.json()["releases"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return {}
    times = {}
    for version in versions:
        uploads = [f["upload_time_iso_8601"] for f in releases.get(version) or [] if f.get("upload_time_iso_8601")]
        if uploads:
            times[version] = min(uploads)
    return times


def release_order(versions: list[str], times: dict[str, str]) -> list[str]:
    """Oldest first: by upload time where PyPI gave one for every release, else by version number."""
    try:
        parsed = {v: Version(v) for v in versions}
    except InvalidVersion as e:
        raise UnknownName(f"{e}: expected apache-tvm release numbers such as 0.26.0") from None
    if len(set(versions)) != len(versions):
        raise UnknownName(f"a release is named twice in {' '.join(versions)}")
    if all(v in times for v in versions):
        return sorted(versions, key=lambda v: (times[v], parsed[v]))
    return sorted(versions, key=parsed.__getitem__)


def say_dimly(line: str) -> None:
    """A step of `perfbot history` on the console, dimmed, as the environment builds' lines are."""
    console.errors.print(f"[dim]{escape(line)}[/]")


def run_history(
    store,
    cache_dir: Path,
    suite: Suite,
    device: Device,
    versions: list[str],
    say: Say | None = None,
    *,
    rebuild: bool = False,
    release_time: Callable[[list[str]], dict[str, str]] = release_times,
) -> list[ReleaseRun]:
    """Run the suite on each release, oldest first, and record every one, on a ready device into an open store.

    `say` gets one line per step (environment builds included); without it the console
    shows them and a progress bar per run. `rebuild` rebuilds the releases' environments.
    """
    interactive = say is None
    say = say or say_dimly
    times = release_time(versions)
    ordered = release_order(versions, times)
    if not times:
        say("PyPI's release dates are not available: releases are recorded in version order")
    done: list[ReleaseRun] = []
    for version in ordered:
        say(f"apache-tvm {version}")
        done.append(_release(store, cache_dir, suite, device, version, times.get(version), say, rebuild, interactive))
    return done


def _release(
    store,
    cache_dir: Path,
    suite: Suite,
    device,
    version: str,
    commit_time: str | None,
    say: Say,
    rebuild: bool,
    interactive: bool,
) -> ReleaseRun:
    spec = f"pip:apache-tvm=={version}"
    fields = dict(kind="base", repo=REPO, sha=tag(version), commit_time=commit_time)
    try:
        env = subjects.provision(spec, cache_dir, say=say, rebuild=rebuild)
    except EnvironmentBroken as e:
        say(f"environment_error: {e}")
        unbuilt = Subject(python=Path("/nonexistent"), env=spec, **fields)
        outcome = Runner(store, cache_dir).record_unbuildable(suite, device, unbuilt, ENVIRONMENT_ERROR, str(e))
        return ReleaseRun(version, outcome, commit_time, str(e))
    subject = subjects.of(env, **fields)
    if interactive:
        with console.progress() as progress:
            outcome = Runner(store, cache_dir, progress).run(suite, device, subject)
    else:
        outcome = Runner(store, cache_dir, Quiet()).run(suite, device, subject)
    say(f"apache-tvm {version}: {console.summary(outcome.results)}; run {outcome.run_id}")
    return ReleaseRun(version, outcome, commit_time)


def table_rows(runs: list[ReleaseRun]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per workload and configuration, one column per release
    (TVM median ms, or the status when not ok), then TFLite's median ms."""
    header = ["workload", "config", *[run.version for run in runs], "TFLite"]
    cells: dict[tuple[str, str], dict[str, str]] = {}
    tflite: dict[tuple[str, str], str] = {}
    for run in runs:
        for r in run.outcome.results if run.outcome else []:
            key = (r.workload.key, r.config.name)
            cells.setdefault(key, {})[run.version] = f"{r.median_ms:.2f}" if r.status == "ok" else r.status
            if r.tflite_median_ms:
                tflite[key] = f"{r.tflite_median_ms:.2f}"
    rows = [
        [workload, config, *[row.get(run.version, "-") for run in runs], tflite.get((workload, config), "-")]
        for (workload, config), row in cells.items()
    ]
    return header, rows


def release_table(runs: list[ReleaseRun], suite: str, device: str):
    from rich.table import Table

    header, rows = table_rows(runs)
    table = Table(title=f"{suite} on {device}, TVM median ms per release (TFLite ms)", title_justify="left")
    for number, name in enumerate(header):
        table.add_column(name, justify="left" if number < 2 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def markdown_table(runs: list[ReleaseRun]) -> str:
    """The same table as GitHub markdown (for the README or a comment)."""
    header, rows = table_rows(runs)
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
