"""`perfbot watch`, `serve`, `enqueue` and `report`: the GitHub side, long-running or by hand.

Like every command module, this one imports its library when a command runs, not when `perfbot`
starts: the GitHub side (PyGithub, and scipy through the verdicts) is most of a start-up otherwise.
Each is set up as bot/cli/setup.py says: options and names checked, the database checked, then
the store opened and the GitHub side's parts made (`github_parts`).

Tested as an operator runs them: tests/cli/test_service.py, and `report --print` in tests/cli/test_review.py.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot import console
from bot.cli import setup
from bot.cli.options import db_option, devices_option, repo_option
from bot.errors import BadUsage
from bot.store import Store


def github_parts(db_path):
    """The store (checked, then opened), the registry and the GitHub side's parts, for one command."""
    from bot.github import service

    config = setup.settings()
    db = setup.database(config, db_path)
    return service.parts(Store.open(db), setup.registry(config), config.github)


@click.command()
@repo_option()
@click.option("--branch", default="main", show_default=True, help="Base branch whose commits are the baseline.")
@click.option("--interval", type=click.FloatRange(min=1), default=60, show_default=True, help="Seconds between polls.")
@click.option("--once", is_flag=True, help="Poll, handle and publish once, then exit.")
@db_option
@devices_option
def watch(repo, branch, interval, once, db_path):
    """Poll open PRs, their comments and the base branch; queue jobs and publish results."""
    from bot.github import service

    service.check_repo(repo)
    setup.service_logging()
    service.watch(github_parts(db_path), repo, branch, interval, once)


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
    envvar="PERFBOT_REPO",
    metavar="OWNER/NAME",
    help="Reconcile with polls of this repository (repeatable; or $PERFBOT_REPO, space-separated): "
    "catches up after downtime and lost deliveries.",
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
@devices_option
def serve(host, port, interval, repos, branch, reconcile_every, db_path):
    """Receive GitHub webhooks (signed with $PERFBOT_WEBHOOK_SECRET); queue jobs and publish results."""
    from bot.github import service

    service.check_serve(setup.settings().github, repos, reconcile_every * 60)
    setup.service_logging()
    service.serve(github_parts(db_path), host, port, interval, repos=repos, branch=branch,
                  reconcile_every_s=reconcile_every * 60)  # fmt: skip


@click.command()
@repo_option()
@click.option("--pr", "pr_number", type=int, default=None, help="Pull request to (re)run.")
@click.option("--sha", default=None, help="A base-branch commit to run instead of a PR.")
@click.option("--device", "device_name", default=None, help="Only this device.")
@click.option("--suite", "suite_name", default=None, help="Only this suite.")
@db_option
@devices_option
def enqueue(repo, pr_number, sha, device_name, suite_name, db_path):
    """Queue jobs by hand: what `@perfbot rerun` does."""
    from bot.github import service

    service.check_repo(repo)
    service.enqueue(github_parts(db_path), repo, pr_number, sha, device_name, suite_name)


@click.command()
@repo_option(required=False)
@click.option("--pr", "pr_number", type=int, required=True, help="Pull request to report on.")
@db_option
@devices_option
@click.option(
    "--merge",
    "merge_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Another perfbot database (one per board's CI job) whose runs are merged into --db first; repeatable.",
)
@click.option(
    "--print",
    "print_only",
    is_flag=True,
    help="Print the comment as it would be posted, from the database alone: no GitHub, no --repo needed "
    "(PR runs recorded by `perfbot run --kind pr` are found by their PR number).",
)
def report(repo, pr_number, db_path, merge_paths, print_only):
    """Post or refresh a PR's comment and commit statuses from the database (and the boards' databases)."""
    from bot.github import publish, service

    if repo:
        service.check_repo(repo)
    if not print_only:
        if not repo:
            raise BadUsage("--repo OWNER/NAME (or $PERFBOT_REPO) says where to post; --print needs none")
        service.report(github_parts(db_path), repo, pr_number, merge_paths)
        return
    config = setup.settings()
    store = Store.open(setup.database(config, db_path))
    service.merge(store, merge_paths)
    body = publish.render(store, setup.registry(config), config.github, repo, pr_number)[1]
    console.console.print(body or f"nothing recorded for PR {pr_number} in {store.path}", markup=False, soft_wrap=True)


COMMANDS = (watch, serve, enqueue, report)
