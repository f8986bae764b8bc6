"""`perfbot watch`, `serve`, `enqueue` and `report`: the GitHub side, long-running or by hand.

Like every command module, this one imports its library when a command runs, not when `perfbot`
starts: the GitHub side (PyGithub, and scipy through the verdicts) is most of a start-up otherwise.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.options import db_option, repo_option, service_logging, settings


@click.command()
@repo_option()
@click.option("--branch", default="main", show_default=True, help="Base branch whose commits are the baseline.")
@click.option("--interval", type=click.FloatRange(min=1), default=60, show_default=True, help="Seconds between polls.")
@click.option("--once", is_flag=True, help="Poll, handle and publish once, then exit.")
@db_option
def watch(repo, branch, interval, once, db_path):
    """Poll open PRs, their comments and the base branch; queue jobs and publish results."""
    from bot.github import service

    service_logging()
    service.watch(settings(), repo, branch, interval, once, db_path)


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port to listen on.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=5,
    show_default=True,
    help="Seconds between publishing rounds.",
)
@click.option(
    "--repo",
    "repos",
    multiple=True,
    metavar="OWNER/NAME",
    help="Reconcile with polls of this repository (repeatable): catches up after downtime and lost deliveries.",
)
@click.option("--branch", default="main", show_default=True, help="Base branch of the reconciled repositories.")
@click.option(
    "--reconcile-every",
    "reconcile_every",
    type=click.FloatRange(min=0),
    default=10,
    show_default=True,
    metavar="MINUTES",
    help="Minutes between reconciling polls (conditional requests: free while nothing changed); 0: at start only.",
)
@db_option
def serve(host, port, interval, repos, branch, reconcile_every, db_path):
    """Receive GitHub webhooks (signed with $PERFBOT_WEBHOOK_SECRET); queue jobs and publish results."""
    from bot.github import service

    service_logging()
    service.serve(
        settings(), host, port, interval, db_path, repos=repos, branch=branch, reconcile_every_s=reconcile_every * 60
    )


@click.command()
@repo_option()
@click.option("--pr", "pr_number", type=int, default=None, help="Pull request to (re)run.")
@click.option("--sha", default=None, help="A base-branch commit to run instead of a PR.")
@click.option("--device", "device_name", default=None, help="Only this device.")
@click.option("--suite", "suite_name", default=None, help="Only this suite.")
@db_option
def enqueue(repo, pr_number, sha, device_name, suite_name, db_path):
    """Queue jobs by hand: what `@perfbot rerun` does."""
    from bot.github import service

    service.enqueue(settings(), repo, pr_number, sha, device_name, suite_name, db_path)


@click.command()
@repo_option()
@click.option("--pr", "pr_number", type=int, required=True, help="Pull request to report on.")
@db_option
@click.option(
    "--merge",
    "merge_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Another perfbot database (one per board's CI job) whose runs are merged into --db first; repeatable.",
)
def report(repo, pr_number, db_path, merge_paths):
    """Post or refresh a PR's comment and commit statuses from the database (and the boards' databases)."""
    from bot.github import service

    service.report(settings(), repo, pr_number, db_path, merge_paths)


COMMANDS = (watch, serve, enqueue, report)
