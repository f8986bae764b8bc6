"""Bring each PR's sticky comment and commit statuses up to date with the database.

PRs to publish sit in the outbox table (marked by the bot and the job
worker). Publishing computes the whole comment from the database every time,
so it is idempotent: a retry after GitHub was down posts the same text, and the
comment is edited in place (found by id, else by its hidden marker), never
duplicated. An unchanged comment or status is not sent again: what was last
sent is remembered in the database, so a restart does not resend it either.

A head that will not run any more does not keep a `pending` status: when a push
supersedes it, its pending statuses become `error` "superseded by <sha>"; when
the PR closes, the head's become `error` "PR closed". `error`, not `success`:
nothing was measured there, and a status must not claim a result it does not
have; a branch protection rule looks at the new head anyway, and a reopened PR
or a push back to that head sets `pending` again when its jobs are queued.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

from bot import verdicts
from bot.github import comment
from bot.github.retry import DEFAULT as DEFAULT_RETRY
from bot.github.retry import RetryPolicy, drain

log = logging.getLogger("perfbot.publish")

#: on_post(kind, repo, pr, target, body): told of every post, e.g. to print what a dry run would send.
PostHook = Callable[[str, str, int, str, str], None]


class Agent:
    """What the bot and the publisher act with: the store, GitHub, the device registry and the bot's
    settings, a clock, a hook told of every post, and when failed work is tried again (bot/github/retry.py)."""

    def __init__(
        self,
        store,
        github,
        registry,
        settings,
        clock=time.time,
        on_post: PostHook | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
    ):
        self.store = store
        self.github = github
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.on_post = on_post
        self.retry = retry

    def posted(self, kind: str, repo: str, number: int, sha: str | None, target: str, body: str) -> None:
        record_post(self.store, self.github, self.on_post, kind, repo, number, sha, target, body)


class Publisher(Agent):
    """Brings PRs' comments and statuses up to date (see the module docstring)."""

    def publish_dirty(self) -> int:
        """Publish every PR whose turn has come; returns how many were published (see bot.github.retry)."""
        return drain(
            self.store.dirty(self.clock()),
            lambda item: self.publish(item["repo"], item["pr"]),
            done=lambda item: self.store.published(item["repo"], item["pr"], item["reason"]),
            failed=lambda item, error, retry_at: self.store.publish_failed(item["repo"], item["pr"], error, retry_at),
            policy=self.retry,
            clock=self.clock,
            what=lambda item: f"publishing {item['repo']}#{item['pr']}",
            log=log,
        )

    def publish_bisections(self) -> int:
        """Found bisections, once each, on the PR of their first bad commit (bot/github/bisect_report.py)."""
        from bot.github import bisect_report

        return bisect_report.post_found(self.store, self.github, self.settings, self.on_post)

    def publish(self, repo: str, number: int) -> str | None:
        """Post (or edit) the PR's comment and set its statuses; returns the body, None if nothing to say."""
        built, body = render(self.store, self.registry, self.settings, repo, number)
        if built is None:
            return None
        if built.closed and self.store.comment_body_sha(repo, number) is None:
            return body  # closed before perfbot said anything: nothing to tell
        digest = hashlib.sha256(body.encode()).hexdigest()
        if self.store.comment_body_sha(repo, number) != digest:
            known_id = self.store.comment_id(repo, number)
            comment_id = self.github.upsert_comment(
                repo, number, comment.marker(self.settings.mention), body, known_id=known_id
            )
            self.store.save_comment(repo, number, comment_id if comment_id is not None else known_id, digest)
            self.posted("comment", repo, number, built.head_sha, str(comment_id or known_id or "new"), body)
        if not built.closed:
            for device in built.devices:
                self.set_status(
                    repo,
                    built.head_sha,
                    f"perfbot/{device.device.name}",
                    number,
                    device.state,
                    comment.status_description(device),
                )
        self.resolve_pending(repo, number, None if built.closed else built.head_sha)
        return body

    def resolve_pending(self, repo: str, number: int, head: str | None) -> None:
        """`pending` statuses of heads that will not run: superseded ones, or all of a closed PR's (head None)."""
        for row in self.store.pending_statuses(repo, number):
            if row["sha"] == head:
                continue
            why = f"superseded by {head[:10]}" if head else "PR closed"
            self.set_status(repo, row["sha"], row["context"], number, "error", why)

    def set_status(self, repo: str, sha: str, context: str, number: int, state: str, description: str) -> None:
        """Set a commit status unless it already says that (what was sent is kept in commit_statuses)."""
        url = f"{self.settings.dashboard_url}/pr/{number}.html" if self.settings.dashboard_url else None
        said = f"{state}: {description}"
        if self.store.status_said(repo, sha, context) == said:
            return
        self.github.set_status(repo, sha, context, state, description, url)
        self.store.record_status(repo, sha, context, number, state, description)
        self.posted("status", repo, number, sha, context, said)


def render(store, registry, settings, repo: str | None, number: int) -> tuple[verdicts.PrReport | None, str | None]:
    """A PR's report and its comment as it would be posted, from the database alone (`perfbot report --print`
    prints it; `Publisher.publish` posts it): (None, None) when nothing is recorded for the PR."""
    built = verdicts.build(store, registry, repo, number)
    if built is None:
        return None, None
    return built, comment.comment(built, settings.mention, settings.dashboard_url)


def record_post(store, github, on_post: PostHook | None, kind: str, repo: str, number: int, sha: str | None,
                target: str, body: str) -> None:  # fmt: skip
    """What was posted (or, running dry, would have been) into the posts table, and told to `on_post`."""
    store.log_post(repo=repo, pr=number, sha=sha, kind=kind, target=target, body=body, dry_run=github.dry_run)
    if on_post is not None:
        on_post(kind, repo, number, target, body)
