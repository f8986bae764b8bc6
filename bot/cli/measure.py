"""`perfbot run` and `perfbot tune` as a person types them: resolve names, check, run, print."""

from __future__ import annotations

from pathlib import Path

from bot import console, devices
from bot.config import Settings
from bot.engine import preflight
from bot.engine.runner import Runner, Target
from bot.engine.suite.suites import get_suite, user_suite
from bot.errors import UnknownName
from bot.store import Store


def resolve_suite(suite_name: str, model_path: Path | None):
    return user_suite(model_path) if model_path else get_suite(suite_name)


def resolve_target(settings: Settings, env_spec: str | None, **fields) -> Target:
    """Provision (or reuse) the TVM environment the worker runs in."""
    from bot.engine import envs

    spec = env_spec or envs.default()
    env = envs.provision(spec, settings.cache_dir, progress=lambda line: console.errors.print(f"[dim]{line}[/]"))
    return Target(python=env.python, env=env.key, **fields)


def run(settings: Settings, suite_name, device_name, model_path, db_path, tuning, env_spec, **fields) -> int:
    registry = devices.load(settings.devices_path)
    device = registry.get(device_name)
    suite = resolve_suite(suite_name, model_path)
    if fields.get("kind") == "pr" and not fields.get("pr"):
        raise UnknownName("--kind pr needs --pr NUMBER")
    target = resolve_target(settings, env_spec, **fields)
    db = Path(db_path or settings.db_path)
    with preflight.device_ready(device, settings.cache_dir):
        store = Store.open(db)
        with console.BarProgress() as progress:
            outcome = Runner(store, settings.cache_dir, progress).run(suite, device, target, tuning=tuning)
    title = f"{suite.name} on {device.name}" + (
        " (emulated: latency not comparable with hardware)" if device.emulated else ""
    )
    console.console.print(console.results_table(outcome.results, title))
    console.console.print(
        f"{console.summary(outcome.results)}. Recorded as run {outcome.run_id} in {db}. "
        f"TVM/TFLite below 1 means TVM is faster."
    )
    return outcome.run_id


def tune(settings: Settings, suite_name, device_name, model_path, trials, db_path, env_spec) -> None:
    from rich.table import Table

    from bot.engine.tuning import tune_suite

    registry = devices.load(settings.devices_path)
    device = registry.get(device_name)
    suite = resolve_suite(suite_name, model_path)
    target = resolve_target(settings, env_spec)
    with preflight.device_ready(device, settings.cache_dir):
        store = Store.open(Path(db_path or settings.db_path))
        with console.BarProgress() as progress:
            results = tune_suite(store, settings.cache_dir, suite, device, target, trials, progress)
    table = Table(title=f"tuning {suite.name} on {device.name}, {trials} trials", title_justify="left")
    for column in ("workload", "scheme", "layout", "status", "seconds", "database / error"):
        table.add_column(column)
    for r in results:
        where = str(r.database) if r.database else (r.error or "").splitlines()[0] if r.error else ""
        table.add_row(
            r.workload.name,
            r.workload.scheme,
            r.layout,
            f"[{console.STATUS_STYLE.get(r.status, 'red')}]{r.status}[/]",
            f"{r.seconds:.1f}",
            where,
        )
    console.console.print(table)
