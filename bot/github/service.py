"""The GitHub side as long-running commands: watch (poll), serve (webhooks), enqueue and report by hand.

Each takes its `Parts` (store, registry, GitHub client, bot and publisher), made
by `parts()` from a store and a registry the CLI opened and checked (bot/cli/setup.py);
the parts themselves live in their own modules. Tested as the commands run it, as
processes against the fake GitHub (tests/cli/test_service.py).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from bot import console
from bot.devices import Registry
from bot.errors import BadSetting, GitHubError, UnknownName
from bot.github.bot import Bot
from bot.github.publish import Publisher
from bot.lifecycle import stop_on_signals
from bot.settings import GitHubSettings
from bot.store import Store
from bot.store.github_state import EtagStore

log = logging.getLogger("perfbot")


@dataclass
class Parts:
    """What every GitHub command works with."""

    store: Store
    registry: Registry
    settings: GitHubSettings
    github: object
    bot: Bot
    publisher: Publisher


def parts(store: Store, registry: Registry, settings: GitHubSettings) -> Parts:
    """The GitHub client over this store's ETags, and the bot and publisher; a dry run prints what it would post."""
    from bot.github.client import GitHub

    github = GitHub(settings, etags=EtagStore(store))
    on_post = None
    if github.dry_run:
        console.errors.print(
            "[yellow]dry run[/]: no GITHUB_TOKEN or GitHub App set; "
            "what would be posted is printed and kept in the posts table"
        )
        on_post = print_post
    bot = Bot(store, github, registry, settings, on_post=on_post)
    return Parts(store, registry, settings, github, bot, Publisher(store, github, registry, settings, on_post=on_post))


def print_post(kind: str, repo: str, pr: int, target: str, body: str) -> None:
    """What a dry run would have posted, on stdout."""
    what = {
        "comment": "update the perfbot comment",
        "status": f"set commit status {target}",
        "reply": f"reply to comment {target}",
        "reaction": f"react to comment {target} with",
    }.get(kind, kind)
    if kind in ("comment", "reply"):
        console.console.print(f"[dry run] would {what} on {repo}#{pr}:\n{body.rstrip()}\n", markup=False)
    else:
        console.console.print(f"[dry run] would {what} on {repo}#{pr}: {body}", markup=False)


def watch(
    parts: Parts,
    repo: str,
    branch: str,
    interval: float,
    once: bool,
    *,
    stop: threading.Event | None = None,
) -> None:
    from bot.github.poll import Poller, loop

    if not once:
        console.errors.print(f"watching {repo} (base branch {branch}) every {interval:g} s; Ctrl-C stops")
    try:
        problem = loop(
            parts.bot, parts.publisher, Poller(parts.bot, repo, branch), interval, stop or stop_on_signals(), once=once
        )
    finally:
        parts.store.close()
    if once and isinstance(problem, GitHubError):
        raise GitHubError(f"{problem}; what was found before is kept, the next `perfbot watch` goes on from there")


def check_serve(settings: GitHubSettings, repos, reconcile_every_s: float) -> None:
    """What `serve` refuses before it opens anything: no webhook secret, a negative period, a malformed repo."""
    if not settings.webhook_secret:
        raise BadSetting("PERFBOT_WEBHOOK_SECRET is not set: webhooks are only accepted when signed with it")
    if reconcile_every_s < 0:
        raise UnknownName(f"--reconcile-every {reconcile_every_s / 60:g}: expected minutes >= 0 (0: at start only)")
    for repo in repos:
        check_repo(repo)


def serve(
    parts: Parts,
    host: str,
    port: int,
    interval: float,
    *,
    repos: tuple[str, ...] | list[str] = (),
    branch: str = "main",
    reconcile_every_s: float = 600.0,
    stop: threading.Event | None = None,
    on_ready=None,
) -> None:
    """Receive webhooks into the inbox (the HTTP threads only store them) and handle and publish in a loop.

    With `repos`, it also reconciles with a poll of each (what `perfbot watch` sends: conditional
    requests, free of rate limit when nothing changed) at start and every `reconcile_every_s`
    (0: at start only), so that what happened while it was down or a delivery got lost is caught
    up; a command seen by both ways is carried out once (handled comments are kept by id).
    `stop` ends it (default: SIGINT or SIGTERM); `on_ready(server)` is called once the port is bound.
    """
    from bot.github import webhook
    from bot.github.poll import Poller, loop

    check_serve(parts.settings, repos, reconcile_every_s)
    store, bot, publisher = parts.store, parts.bot, parts.publisher
    # The HTTP threads get their own connection: a transaction of the loop must never swallow an intake.
    intake_store = Store.open(store.path)
    intake = Bot(intake_store, parts.github, parts.registry, parts.settings)
    lock = threading.Lock()

    def handle(event) -> None:
        with lock:
            intake.receive(event)

    def seen(delivery_id: str) -> bool:
        with lock:
            return not intake_store.first_delivery(delivery_id, "webhook")

    def forget(delivery_id: str) -> None:
        with lock:
            intake_store.forget_delivery(delivery_id)

    server = webhook.make_server(host, port, parts.settings.webhook_secret, handle, seen, forget=forget)
    thread = threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True, name="webhooks")
    thread.start()
    console.errors.print(f"receiving webhooks on http://{host}:{server.port}/ ; Ctrl-C stops")
    if repos:
        every = f"every {reconcile_every_s / 60:g} min" if reconcile_every_s else "at start only"
        console.errors.print(f"reconciling with a poll of {', '.join(repos)} (base branch {branch}) {every}")
    else:
        console.errors.print("no --repo: not reconciling with polls; what happens while serve is down is missed")
    if stop is None:
        stop = stop_on_signals()
    try:
        if on_ready is not None:
            on_ready(server)
        pollers = [Poller(bot, repo, branch) for repo in repos]
        loop(bot, publisher, pollers, interval, stop, poll_every_s=reconcile_every_s or float("inf"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        intake_store.close()
        store.close()


def enqueue(parts: Parts, repo: str, pr: int | None, sha: str | None, device: str | None, suite: str | None) -> None:
    if (pr is None) == (sha is None):
        raise UnknownName("give --pr NUMBER (a pull request) or --sha SHA (a base-branch commit)")
    store, bot = parts.store, parts.bot
    if device and not parts.registry.get(device).enabled:
        raise BadSetting(f"{parts.registry.source}: device {device!r} is disabled (enabled: false): no worker runs it")
    if pr is not None:
        pull = parts.github.pull(repo, pr)
        if pull.state != "open":
            raise UnknownName(f"{repo}#{pr} is {pull.state}: only open pull requests are run")
        bot.remember_pull(pull)
        store.cancel_jobs(repo, pr, keep_sha=pull.head_sha, reason="superseded by a new push")
        if pull.is_fork:
            store.approve(repo, pr, pull.head_sha, "cli")  # the operator's own request names this head
        n = bot.schedule_pr(repo, pr, force=True, requested_by="cli", device=device, suite=suite)
        store.mark_dirty(repo, pr, "enqueue")
        console.console.print(f"{n} job{'s' if n != 1 else ''} queued for {repo}#{pr}")
    else:
        n = 0
        for dev, suite_name in bot.targets(device, suite):
            n += store.enqueue(
                sha=sha,
                device=dev.name,
                suite=suite_name,
                kind="base",
                repo=repo,
                priority=5,
                force=True,
                requested_by="cli",
            )[1]
        console.console.print(f"{n} job{'s' if n != 1 else ''} queued for {repo}@{sha[:10]}")


def merge(store: Store, merge_paths=()) -> None:
    """Runs of other boards' databases into this one (`perfbot report --merge`), one line each."""
    for path in merge_paths:
        added = store.merge_runs_from(Path(path))
        console.errors.print(f"{path}: {added} run{'s' if added != 1 else ''} merged", soft_wrap=True, markup=False)


def report(parts: Parts, repo: str, pr: int, merge_paths=()) -> None:
    merge(parts.store, merge_paths)
    pull = parts.github.pull(repo, pr)
    known = parts.store.pull(repo, pr)
    if known is None or known["head_sha"] != pull.head_sha:
        parts.bot.remember_pull(pull)
    body = parts.publisher.publish(repo, pr)
    console.console.print(body or f"nothing recorded for {repo}#{pr}", markup=False)


def check_repo(repo: str) -> None:
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise UnknownName(f"--repo {repo!r}: expected OWNER/NAME, e.g. apache/tvm")
