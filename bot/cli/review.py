"""`perfbot runs` and `perfbot compare`: the recorded runs, and any two of them item by item, offline.

What `asv compare` and `pyperf compare_to` do for their results: the verdict of every item, both sides'
medians (or instruction counts), the change with its interval; decided by bot/verdicts.py, as the PR
comment's are. `perfbot report --pr N --print` (bot/cli/github.py) prints a PR's whole comment.
"""

from __future__ import annotations

import click

from bot import console
from bot.cli import setup
from bot.cli.options import db_option, devices_option
from bot.store import Store


@click.command()
@db_option
@click.option("--device", "device_name", default=None, help="Only this device's runs.")
@click.option("--last", type=click.IntRange(min=1), default=20, show_default=True, help="How many, newest last.")
def runs(db_path, device_name, last):
    """The recorded runs, newest last: their ids are what `perfbot compare` takes."""
    from rich.markup import escape

    config = setup.settings()
    store = Store.open(setup.database(config, db_path, create=False), create=False)
    recorded = store.recent_runs(device_name, last)
    if not recorded:
        console.console.print(f"no runs in {store.path}" + (f" on {device_name}" if device_name else ""))
        return
    table = console.columns_table(
        f"runs in {store.path}",
        [("id", "right"), ("started", "left"), ("kind", "left"), ("device", "left"), ("suite", "left"),
         ("commit", "left"), ("TVM", "left"), ("environment", "left"), ("items ok", "right"), ("status", "left")],
    )  # fmt: skip
    for run in recorded:
        kind = f"pr #{run['pr']}" if run["kind"] == "pr" and run.get("pr") else run["kind"]
        table.add_row(str(run["id"]), (run["started_at"] or "")[:16], kind, run["device"], run["suite"],
                      (run.get("sha") or "–")[:10], run.get("tvm_version") or "?", escape(run.get("env") or "?"),
                      f"{run['ok']}/{run['items']}", run["status"])  # fmt: skip
    console.console.print(table)


@click.command()
@click.argument("base_run", type=int)
@click.argument("head_run", type=int)
@db_option
@devices_option
def compare(base_run, head_run, db_path):
    """Two recorded runs of one device, item by item: HEAD_RUN against BASE_RUN (`perfbot runs` lists them).

    Same code (equal code hashes), failures and instruction counts are judged as a PR comment judges them;
    latency between separate runs with bot.stats.compare (5% minimum effect, the series' noise), without the
    side-by-side rounds a PR run has.
    """
    from bot import verdicts

    config = setup.settings()
    store = Store.open(setup.database(config, db_path, create=False), create=False)
    report = verdicts.between_runs(store, setup.registry(config), base_run, head_run)
    device = report.devices[0]
    sides = (f"run {base_run}", f"run {head_run}")
    title = f"run {head_run} against run {base_run} on {device.device.name}"
    console.console.print(console.verdict_table(device, title, sides=sides))
    for line in console.device_notes(device, sides):
        console.console.print(line, markup=False, soft_wrap=True)
    console.console.print(
        f"{verdicts.counts_text(device.counts) or 'nothing to compare'}, of {len(device.rows)} items."
    )


COMMANDS = (runs, compare)
