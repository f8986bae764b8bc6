"""`perfbot bisect`: which commit of good..bad made one item slower, each probe timed beside good's build."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from bot import console
from bot.cli import setup
from bot.cli.options import db_option, device_option, devices_option, repo_option
from bot.errors import PerfbotError
from bot.vocabulary import LAYOUTS, PIPELINES, SCHEMES


@click.command()
@click.option("--good", required=True, metavar="SHA", help="A commit at the old level (an ancestor of --bad).")
@click.option("--bad", required=True, metavar="SHA", help="A commit at the new level: where the item is slower.")
@device_option
@click.option(
    "--workload",
    required=True,
    help="The workload that got slower, as the results table names it (e.g. qconv_17x17x128_128_1x7_s1_same).",
)
@click.option("--scheme", type=click.Choice(SCHEMES), default=SCHEMES[0], show_default=True, help="Its scheme.")
@click.option("--layout", type=click.Choice(LAYOUTS), default=LAYOUTS[0], show_default=True, help="Its layout.")
@click.option("--pipeline", type=click.Choice(PIPELINES), default=PIPELINES[0], show_default=True, help="Its pipeline.")
@click.option(
    "--checkout",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The TVM git checkout whose commits are built and measured (through the build cache).",
)
@repo_option(required=False)
@click.option("--fresh", is_flag=True, help="Measure every commit again instead of resuming this range's bisection.")
@db_option
@devices_option
def bisect(good, bad, device_name, workload, scheme, layout, pipeline, checkout, repo, fresh, db_path):
    """Find the first commit of good..bad at which a workload is slower, as `git bisect` would.

    Every probe is built with the build cache (a Python-only range needs no C++ build) and timed side by side
    with good's build. Probes are recorded as they are measured: run it again to resume. With --repo, the bot
    (`perfbot watch` or `serve`) posts the answer once on the first bad commit's pull request.
    """
    from bot.engine.bisect import FAILED, FOUND, Bisector, find_item

    config = setup.settings()
    device = setup.device_to_measure(config, device_name)
    item = find_item(workload, scheme, layout, pipeline)
    db = setup.database(config, db_path)
    say = lambda line: console.errors.print(escape(line), soft_wrap=True)  # noqa: E731 - one line each, also in a log
    with setup.measuring(config, device, db, say=say) as (ready, store):
        bisector = Bisector(store, config.cache_dir, Path(checkout).expanduser(), ready, say=say)
        outcome = bisector.bisect(item, good, bad, repo=repo, fresh=fresh)
    console.console.print(probe_table(outcome, f"bisecting {item.name} on {device.name}"))
    console.console.print(escape(bisector.conclusion(outcome)), soft_wrap=True)
    if outcome.status == FOUND and repo:
        console.console.print(f"recorded as bisection {outcome.bisection_id}: the bot posts it on the commit's PR")
    if outcome.status == FAILED:
        raise PerfbotError(outcome.reason)


def probe_table(outcome, title: str) -> Table:
    """Every commit measured, oldest first, against the known-good build."""
    from bot.engine.bisect import SKIPPED

    table = Table(title=title, title_justify="left")
    for column, justify in (("commit", "left"), ("subject", "left"), ("is", "left"), ("verdict", "left"),
                            ("vs good", "right"), ("99% interval", "right"), ("rounds", "right"), ("s", "right")):  # fmt: skip
        table.add_column(column, justify=justify)
    table.add_row(outcome.good[:10], "", "good", "known good", "", "", "", "")
    for probe in outcome.probes:
        first_bad = probe.sha == outcome.first_bad
        role = "[bold red]first bad[/]" if first_bad else {True: "bad", False: "good", None: "skipped"}[probe.bad]
        verdict = probe.verdict if probe.verdict != SKIPPED else f"skipped: {probe.reason}"
        interval = f"{probe.ci_low:+.1%} … {probe.ci_high:+.1%}" if probe.ci_low is not None else ""
        table.add_row(probe.sha[:10], escape(probe.subject[:50]), role, escape(verdict[:70]),
                      f"{probe.change:+.1%}" if probe.change is not None else "", interval,
                      str(probe.rounds or ""), f"{probe.seconds:.0f}")  # fmt: skip
    return table


COMMANDS = (bisect,)
