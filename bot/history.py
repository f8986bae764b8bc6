"""`perfbot history`: a suite on each TVM release, recorded as consecutive base-branch points.

Each release gets a `pip:apache-tvm==VERSION` environment (with its known
apache-tvm-ffi companion) and one run of kind `base` whose commit is the
release tag and whose commit time is the release's upload time on PyPI, so
the dashboard shows a trend across releases. A release whose environment
cannot be built is reported and skipped; the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests

from bot import console, devices, envs, preflight
from bot.config import Settings
from bot.errors import EnvironmentBroken
from bot.runner import Runner, RunOutcome, Target
from bot.store import Store
from bot.suite.suites import get_suite

PYPI_JSON = "https://pypi.org/pypi/apache-tvm/{version}/json"


@dataclass
class ReleaseRun:
    version: str
    outcome: RunOutcome | None
    error: str | None = None


def release_time(version: str) -> str | None:
    """When the release was uploaded to PyPI (ISO 8601), or None when PyPI cannot say."""
    try:
        answer = requests.get(PYPI_JSON.format(version=version), timeout=10)
        answer.raise_for_status()
        times = [f["upload_time_iso_8601"] for f in answer.json().get("urls", [])]
        return min(times) if times else None
    except (requests.RequestException, ValueError, KeyError):
        return None


def run_history(settings: Settings, versions: list[str], suite_name: str, device_name: str,
                db_path: Path | None) -> list[ReleaseRun]:
    device = devices.load(settings.devices_path).get(device_name)
    suite = get_suite(suite_name)
    db = Path(db_path or settings.db_path)
    done: list[ReleaseRun] = []
    for version in versions:
        console.errors.print(f"[bold]apache-tvm {version}[/]")
        try:
            env = envs.provision(f"pip:apache-tvm=={version}", settings.cache_dir,
                                 progress=lambda line: console.errors.print(f"[dim]{line}[/]"))
        except EnvironmentBroken as e:
            console.errors.print(f"[red]environment_error[/] {e}")
            done.append(ReleaseRun(version, None, str(e)))
            continue
        target = Target(python=env.python, env=env.key, kind="base", repo="apache/tvm", sha=f"v{version}",
                        commit_time=release_time(version))
        with preflight.device_ready(device, settings.cache_dir):
            store = Store.open(db)
            with console.BarProgress() as progress:
                outcome = Runner(store, settings.cache_dir, progress).run(suite, device, target)
        done.append(ReleaseRun(version, outcome))
    console.console.print(release_table(done, suite.name, device.name))
    return done


def release_table(runs: list[ReleaseRun], suite: str, device: str):
    """One row per workload and configuration, one column per release: median ms (and status if not ok)."""
    from rich.table import Table

    table = Table(title=f"{suite} on {device}, TVM median ms per release (TFLite ms)", title_justify="left")
    table.add_column("workload")
    table.add_column("config")
    for run in runs:
        table.add_column(run.version, justify="right")
    table.add_column("TFLite", justify="right")
    rows: dict[tuple[str, str], dict[str, str]] = {}
    tflite: dict[tuple[str, str], str] = {}
    for run in runs:
        for r in run.outcome.results if run.outcome else []:
            key = (r.workload.key, r.config.name)
            rows.setdefault(key, {})[run.version] = f"{r.median_ms:.2f}" if r.status == "ok" else r.status
            if r.tflite_median_ms:
                tflite[key] = f"{r.tflite_median_ms:.2f}"
    for (workload, config), cells in rows.items():
        table.add_row(workload, config, *[cells.get(run.version, run.error and "environment_error" or "-")
                                          for run in runs], tflite.get((workload, config), "-"))
    return table
