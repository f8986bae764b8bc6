"""The long-running and bookkeeping commands: watch, serve, worker, enqueue, report, status, devices.

Each builds its parts from settings (store, GitHub client, device registry)
and runs them; the parts themselves live in their own modules.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path

from bot import console
from bot import devices as device_registry
from bot.config import Settings
from bot.engine import tracker
from bot.errors import ConfigError, DeviceUnavailable, GitHubError, UnknownName
from bot.github.bot import Bot
from bot.github.publish import Publisher
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


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


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
        problem = loop(bot, publisher, Poller(bot, repo, branch), interval, stop or _stop_on_signals(), once=once)
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
    stop: threading.Event | None = None,
    on_ready=None,
) -> None:
    """Receive webhooks into the inbox (the HTTP threads only store them) and handle and publish in a loop.

    `stop` ends it (default: SIGINT or SIGTERM); `on_ready(server)` is called once the port is bound.
    """
    from bot.github import webhook
    from bot.github.poll import loop

    if not settings.github.webhook_secret:
        raise ConfigError("PERFBOT_WEBHOOK_SECRET is not set: webhooks are only accepted when signed with it")
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
    if stop is None:
        stop = _stop_on_signals()
    try:
        if on_ready is not None:
            on_ready(server)
        loop(bot, publisher, None, interval, stop)
    finally:
        server.shutdown()
        server.server_close()
        intake_store.close()
        store.close()


def work(
    settings: Settings,
    device_name: str,
    env_spec: str | None,
    source_checkout: Path | None,
    once: bool,
    lease_s: float,
    db_path,
) -> None:
    from bot.engine import envs, preflight
    from bot.engine.job_worker import JobWorker, target_for

    if env_spec and source_checkout:
        raise ConfigError("give either --env or --source, not both")
    registry = device_registry.load(settings.devices_path)
    device = registry.get(device_name)
    store = Store.open(db_path or settings.db_path)

    def env_for(job: dict):
        spec = f"source:{source_checkout}@{job['sha']}" if source_checkout else (env_spec or envs.default())
        env = envs.provision(spec, settings.cache_dir, progress=lambda line: log.info("%s", line))
        return target_for(job, env.key, env.python)

    stop = _stop_on_signals()
    console.errors.print(f"worker for {device.name}: claiming jobs from {store.path}; Ctrl-C stops after this item")
    with preflight.device_ready(device, settings.cache_dir):
        handled = JobWorker(store, device, settings.cache_dir, env_for, lease_s=lease_s).run_forever(once, stop)
    console.errors.print(f"{handled} job{'s' if handled != 1 else ''} handled")


def enqueue(
    settings: Settings, repo: str, pr: int | None, sha: str | None, device: str | None, suite: str | None, db_path
) -> None:
    from bot.github.bot import pull_fields

    _check_repo(repo)
    if (pr is None) == (sha is None):
        raise UnknownName("give --pr NUMBER (a pull request) or --sha SHA (a base-branch commit)")
    store, registry, github, bot, publisher = _parts(settings, db_path)
    if device:
        registry.get(device)
    if pr is not None:
        pull = pull_fields(github.pull(repo, pr))
        if pull["state"] != "open":
            raise UnknownName(f"{repo}#{pr} is {pull['state']}: only open pull requests are run")
        bot.remember_pull(pull)
        store.cancel_jobs(repo, pr, keep_sha=pull["head_sha"], reason="superseded by a new push")
        if pull["is_fork"]:
            store.approve(repo, pr, pull["head_sha"], "cli")  # the operator's own request is the approval
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


def report(settings: Settings, repo: str, pr: int, db_path) -> None:
    from bot.github.bot import pull_fields

    _check_repo(repo)
    store, registry, github, bot, publisher = _parts(settings, db_path)
    pull = pull_fields(github.pull(repo, pr))
    known = store.pull(repo, pr)
    if known is None or known["head_sha"] != pull["head_sha"]:
        merge_base = github.merge_base(repo, pull["base_ref"], pull["head_sha"])
        store.save_pull(**{**pull, "merge_base": merge_base})
    body = publisher.publish(repo, pr)
    console.console.print(body or f"nothing recorded for {repo}#{pr}", markup=False)


def status(settings: Settings, db_path) -> None:
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
    running = store.jobs("state = 'running'")
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
    given_up = store.db.execute("select count(*) from inbox where state = 'failed'").fetchone()[0]
    if given_up:
        console.console.print(f"{given_up} event(s) given up after repeated failures (see the inbox table)")


def devices(settings: Settings, as_json: bool, only_enabled: bool, db_path) -> None:
    from rich.table import Table

    registry = device_registry.load(settings.devices_path)
    path = Path(db_path or settings.db_path)
    store = Store.open(path, create=False) if path.exists() else None
    rows = []
    for device in registry.devices.values():
        if only_enabled and not device.enabled:
            continue
        last = store.latest_run(device.name) if store else None
        rows.append(
            {
                "name": device.name,
                "enabled": device.enabled,
                "arch": device.arch,
                "description": device.description,
                "connection": "local" if device.is_local else f"rpc {device.rpc.tracker} key {device.rpc.key}",
                "state": _state(device),
                "runner_labels": list(device.runner_labels),
                "suites": list(device.suites),
                "emulated": device.emulated,
                "last_result": last["finished_at"] if last else None,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"devices ({registry.source})", title_justify="left")
    for column in ("name", "enabled", "arch", "connection", "state", "suites", "last result"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["name"],
            "yes" if r["enabled"] else "no",
            r["arch"],
            r["connection"],
            r["state"],
            ", ".join(r["suites"]),
            r["last_result"] or "never",
        )
    console.console.print(table)


def _state(device) -> str:
    if device.is_local:
        return "local"
    try:
        return tracker.key_state(tracker.summary(device.rpc.host, device.rpc.port, timeout_s=10), device.rpc.key)
    except DeviceUnavailable:
        return "offline (tracker unreachable)"


def _check_repo(repo: str) -> None:
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise UnknownName(f"--repo {repo!r}: expected OWNER/NAME, e.g. apache/tvm")
