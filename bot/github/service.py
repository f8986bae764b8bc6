"""The GitHub side as long-running commands: watch (poll), serve (webhooks), enqueue and report by hand.

Each builds its parts from settings (store, GitHub client, device registry)
and runs them; the parts themselves live in their own modules.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bot import console
from bot import devices as device_registry
from bot.errors import BadSetting, GitHubError, UnknownName
from bot.github.bot import Bot
from bot.github.publish import Publisher
from bot.lifecycle import stop_on_signals
from bot.settings import Settings
from bot.store import Store
from bot.store.github_state import EtagStore

log = logging.getLogger("perfbot")


def _parts(settings: Settings, db_path: Path | None):
    from bot.github.client import GitHub

    store = Store.open(db_path or settings.db_path)
    registry = device_registry.load(settings.devices_path)
    github = GitHub(settings.github, etags=EtagStore(store))
    on_post = None
    if github.dry_run:
        console.errors.print(
            "[yellow]dry run[/]: no GITHUB_TOKEN or GitHub App set; "
            "what would be posted is printed and kept in the posts table"
        )
        on_post = print_post
    bot = Bot(store, github, registry, settings.github, on_post=on_post)
    return store, registry, github, bot, Publisher(store, github, registry, settings.github, on_post=on_post)


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
    settings: Settings,
    repo: str,
    branch: str,
    interval: float,
    once: bool,
    db_path,
    *,
    stop: threading.Event | None = None,
) -> None:
    from bot.github.poll import Poller, loop

    _check_repo(repo)
    store, registry, github, bot, publisher = _parts(settings, db_path)
    if not once:
        console.errors.print(f"watching {repo} (base branch {branch}) every {interval:g} s; Ctrl-C stops")
    try:
        problem = loop(bot, publisher, Poller(bot, repo, branch), interval, stop or stop_on_signals(), once=once)
    finally:
        store.close()
    if once and isinstance(problem, GitHubError):
        raise GitHubError(f"{problem}; what was found before is kept, the next `perfbot watch` goes on from there")


def serve(
    settings: Settings,
    host: str,
    port: int,
    interval: float,
    db_path,
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

    if not settings.github.webhook_secret:
        raise BadSetting("PERFBOT_WEBHOOK_SECRET is not set: webhooks are only accepted when signed with it")
    if reconcile_every_s < 0:
        raise UnknownName(f"--reconcile-every {reconcile_every_s / 60:g}: expected minutes >= 0 (0: at start only)")
    for repo in repos:
        _check_repo(repo)
    store, registry, github, bot, publisher = _parts(settings, db_path)
    # The HTTP threads get their own connection: a transaction of the loop must never swallow an intake.
    intake_store = Store.open(store.path)
    intake = Bot(intake_store, github, registry, settings.github)
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

    server = webhook.make_server(host, port, settings.github.webhook_secret, handle, seen, forget=forget)
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


def enqueue(
    settings: Settings, repo: str, pr: int | None, sha: str | None, device: str | None, suite: str | None, db_path
) -> None:
    _check_repo(repo)
    if (pr is None) == (sha is None):
        raise UnknownName("give --pr NUMBER (a pull request) or --sha SHA (a base-branch commit)")
    store, registry, github, bot, publisher = _parts(settings, db_path)
    if device:
        registry.get(device)
    if pr is not None:
        pull = github.pull(repo, pr)
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


def report(settings: Settings, repo: str, pr: int, db_path, merge_paths=()) -> None:
    _check_repo(repo)
    store, registry, github, bot, publisher = _parts(settings, db_path)
    for path in merge_paths:
        added = store.merge_runs_from(path)
        console.errors.print(f"{path}: {added} run{'s' if added != 1 else ''} merged", soft_wrap=True, markup=False)
    pull = github.pull(repo, pr)
    known = store.pull(repo, pr)
    if known is None or known["head_sha"] != pull.head_sha:
        bot.remember_pull(pull)
    body = publisher.publish(repo, pr)
    console.console.print(body or f"nothing recorded for {repo}#{pr}", markup=False)


def _check_repo(repo: str) -> None:
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise UnknownName(f"--repo {repo!r}: expected OWNER/NAME, e.g. apache/tvm")
