"""`perfbot worker` and `perfbot status`: the queued jobs, worked off and at a glance."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from bot import console
from bot.cli import setup
from bot.cli.options import db_option, device_option, devices_option, env_option
from bot.errors import BadUsage
from bot.lifecycle import stop_on_signals
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
@devices_option
def worker(device_name, env_spec, source_checkout, once, lease_s, db_path):
    """Claim queued jobs for a device and run them.

    Without --checkout the worker measures one TVM (--env, or the one perfbot is installed with) for every
    job: base-branch and tuning jobs, never a PR's, whose code it cannot build (it fails them, saying so).
    """
    from bot.engine import builds, envs, job_worker

    if env_spec and source_checkout:
        raise BadUsage("give either --env or --checkout, not both")
    config = setup.settings()
    device = setup.device_to_measure(config, device_name)
    if source_checkout is not None:
        builds.resolve(source_checkout, "HEAD")  # a folder that is not a TVM checkout: one line, now
    db = setup.database(config, db_path)
    setup.service_logging()
    subject_for = job_worker.subject_for_jobs(config.cache_dir, env_spec, source_checkout)
    fixed = None if source_checkout else (env_spec or envs.default())
    stop = stop_on_signals(immediate=(signal.SIGTERM,))
    console.note(
        f"worker for {device.name}: claiming jobs from {db}; Ctrl-C stops after this item, "
        f"SIGTERM or a second Ctrl-C at once" + ("; PR jobs are refused: no --checkout to build them" if fixed else "")
    )
    with setup.measuring(config, device, db) as (ready, store):
        worker = job_worker.JobWorker(store, ready, config.cache_dir, subject_for, lease_s=lease_s,
                                      checkout=source_checkout, fixed_build=fixed)  # fmt: skip
        handled = worker.run_forever(once, stop)
    console.errors.print(f"{handled} job{'s' if handled != 1 else ''} handled")


@click.command()
@db_option
def status(db_path):
    """The queue and the devices at a glance."""
    show_status(setup.settings(), db_path)


COMMANDS = (worker, status)


def show_status(settings, db_path) -> None:
    from rich.table import Table

    store = Store.open(setup.database(settings, db_path, create=False), create=False)
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
