"""Bring each PR's sticky comment and commit statuses up to date with the database.

PRs to publish sit in the outbox table (marked by the bot and the job
worker). Publishing computes the whole comment from the database every time,
so it is idempotent: a retry after GitHub was down posts the same text, and the
comment is edited in place (found by id, else by its hidden marker), never
duplicated. An unchanged comment or status is not sent again: what was last
sent is remembered in the database, so a restart does not resend it either.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable

from bot import verdicts
from bot.errors import GitHubError
from bot.github import comment
from bot.github.client import GitHubUnavailable, RateLimited

log = logging.getLogger("perfbot.publish")

#: on_post(kind, repo, pr, target, body): told of every post, e.g. to print what a dry run would send.
PostHook = Callable[[str, str, int, str, str], None]


class Publisher:
    def __init__(self, store, github, registry, settings, clock=time.time, on_post: PostHook | None = None):
        self.store = store
        self.github = github
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.on_post = on_post

    def publish_dirty(self) -> int:
        """Publish every PR whose turn has come; returns how many were published."""
        done = 0
        for item in self.store.dirty(self.clock()):
            try:
                self.publish(item["repo"], item["pr"])
            except GitHubError as e:
                retry = (
                    e.reset_at
                    if isinstance(e, RateLimited) and e.reset_at
                    else self.clock() + min(600.0, 10.0 * 2 ** item["attempts"]) * (0.5 + random.random() / 2)
                )
                log.warning("publishing %s#%s deferred: %s", item["repo"], item["pr"], e)
                self.store.publish_failed(item["repo"], item["pr"], str(e), retry)
                if isinstance(e, (RateLimited, GitHubUnavailable)):
                    break  # the others would fail the same way; they stay due
                continue
            except Exception as e:  # a bug in one PR's report must not hold up the others
                log.exception("publishing %s#%s failed", item["repo"], item["pr"])
                self.store.publish_failed(
                    item["repo"],
                    item["pr"],
                    f"{type(e).__name__}: {e}",
                    self.clock() + min(3600.0, 60.0 * 2 ** item["attempts"]),
                )
                continue
            self.store.published(item["repo"], item["pr"], item["reason"])
            done += 1
        return done

    def publish(self, repo: str, number: int) -> str | None:
        """Post (or edit) the PR's comment and set its statuses; returns the body, None if nothing to say."""
        built = verdicts.build(self.store, self.registry, repo, number)
        if built is None:
            return None
        body = comment.comment(built, self.settings.mention, self.settings.dashboard_url)
        if built.closed and self.store.comment_body_sha(repo, number) is None:
            return body  # closed before perfbot said anything: nothing to tell
        digest = hashlib.sha256(body.encode()).hexdigest()
        if self.store.comment_body_sha(repo, number) != digest:
            known_id = self.store.comment_id(repo, number)
            comment_id = self.github.upsert_comment(
                repo, number, comment.marker(self.settings.mention), body, known_id=known_id
            )
            self.store.save_comment(repo, number, comment_id if comment_id is not None else known_id, digest)
            self._posted("comment", repo, number, built.head_sha, str(comment_id or known_id or "new"), body)
        if not built.closed:
            for device in built.devices:
                self.set_status(repo, built.head_sha, device, number)
        return body

    def set_status(self, repo: str, sha: str, device, number: int) -> None:
        context = f"perfbot/{device.device.name}"
        description = comment.status_description(device)
        url = f"{self.settings.dashboard_url}/pr/{number}.html" if self.settings.dashboard_url else None
        key = f"status:{repo}@{sha}:{context}"
        said = f"{device.state}: {description}"
        if self.store.remembered(key) == said:
            return
        self.github.set_status(repo, sha, context, device.state, description, url)
        self.store.remember(key, said)
        self._posted("status", repo, number, sha, context, said)

    def _posted(self, kind: str, repo: str, number: int, sha: str | None, target: str, body: str) -> None:
        self.store.log_post(
            repo=repo, pr=number, sha=sha, kind=kind, target=target, body=body, dry_run=self.github.dry_run
        )
        if self.on_post is not None:
            self.on_post(kind, repo, number, target, body)
