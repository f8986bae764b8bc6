"""`perfbot worker` and `perfbot status`: the queued jobs, worked off and at a glance."""

from __future__ import annotations

from pathlib import Path

import click

from bot import console
from bot.cli.options import db_option, device_option, env_option, service_logging, settings
from bot.store import Store


@click.command()
@device_option
@env_option
@click.option(
    "--checkout",
    "source_checkout",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A TVM git checkout: every job measures the TVM of its own commit, a PR job its merge base's beside "
    "it, through the build cache (`perfbot builds`).",
)
@click.option("--once", is_flag=True, help="Exit when the queue is empty.")
@click.option(
    "--lease",
    "lease_s",
    type=click.FloatRange(min=5),
    default=120,
    show_default=True,
    help="Seconds a claimed job stays this worker's without a heartbeat.",
)
@db_option
def worker(device_name, env_spec, source_checkout, once, lease_s, db_path):
    """Claim queued jobs for a device and run them."""
    from bot.engine import job_worker

    service_logging()
    job_worker.work(settings(), device_name, env_spec, source_checkout, once, lease_s, db_path)


@click.command()
@db_option
def status(db_path):
    """The queue and the devices at a glance."""
    show_status(settings(), db_path)


COMMANDS = (worker, status)


def show_status(settings, db_path) -> None:
    from rich.table import Table

    store = Store.open(db_path or settings.db_path, create=False)
    counts = store.job_counts()
    table = Table(title="queue", title_justify="left")
    states = ("pending", "running", "done", "failed", "cancelled")
    table.add_column("device")
    for state in states:
        table.add_column(state, justify="right")
    for device in sorted({d for d, _ in counts}):
        table.add_row(device, *[str(counts.get((device, s), 0)) for s in states])
    console.console.print(table if counts else "queue: empty")
    running = store.running_jobs()
    for job in running:
        console.console.print(
            f"running: job {job['id']} {job['kind']} {job['sha'][:10]} {job['suite']} on "
            f"{job['device']} by {job['worker']}"
        )
    waiting = store.dirty(now=float("inf"))
    if waiting:
        console.console.print(f"{len(waiting)} PR report(s) waiting to be published")
    for item in waiting:
        if item["last_error"]:
            console.console.print(
                f"  {item['repo']}#{item['pr']}: {item['attempts']} failed attempt(s), last: {item['last_error']}",
                markup=False,
            )
    inbox = store.inbox_due(now=float("inf"))
    if inbox:
        console.console.print(f"{len(inbox)} event(s) waiting to be handled")
    given_up = store.inbox_given_up()
    if given_up:
        console.console.print(f"{given_up} event(s) given up after repeated failures (see the inbox table)")
