"""Bring each PR's sticky comment and commit statuses up to date with the database.

PRs to publish sit in the outbox table (marked by the bot and the job
worker). Publishing computes the whole comment from the database every time,
so it is idempotent: a retry after GitHub was down posts the same text, and the
comment is edited in place (found by id, else by its hidden marker), never
duplicated. An unchanged body is not sent again.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time

from bot import pr_report, report
from bot.errors import GitHubError
from bot.github import RateLimited

log = logging.getLogger("perfbot.publish")


class Publisher:
    def __init__(self, store, github, registry, settings, clock=time.time):
        self.store = store
        self.github = github
        self.registry = registry
        self.settings = settings
        self.clock = clock

    def publish_dirty(self) -> int:
        """Publish every PR whose turn has come; returns how many were published."""
        done = 0
        for item in self.store.dirty(self.clock()):
            try:
                self.publish(item["repo"], item["pr"])
            except GitHubError as e:
                retry = e.reset_at if isinstance(e, RateLimited) and e.reset_at else \
                    self.clock() + min(600.0, 10.0 * 2 ** item["attempts"]) * (0.5 + random.random() / 2)
                log.warning("publishing %s#%s deferred: %s", item["repo"], item["pr"], e)
                self.store.publish_failed(item["repo"], item["pr"], str(e), retry)
                if isinstance(e, RateLimited):
                    break
                continue
            self.store.published(item["repo"], item["pr"], item["reason"])
            done += 1
        return done

    def publish(self, repo: str, number: int) -> str | None:
        """Post (or edit) the PR's comment and set its statuses; returns the body, None if nothing to say."""
        built = pr_report.build(self.store, self.registry, repo, number)
        if built is None:
            return None
        body = report.comment(built, self.settings.mention, self.settings.dashboard_url)
        digest = hashlib.sha256(body.encode()).hexdigest()
        known_id = self.store.comment_id(repo, number)
        if known_id is None or self.store.comment_body_sha(repo, number) != digest:
            comment_id = self.github.upsert_comment(repo, number, report.marker(self.settings.mention), body,
                                                    known_id=known_id)
            self.store.save_comment(repo, number, comment_id if comment_id is not None else known_id, digest)
            self.store.log_post(repo=repo, pr=number, sha=built.head_sha, kind="comment", target=str(comment_id),
                                body=body, dry_run=self.github.dry_run)
        if not built.closed:
            for device in built.devices:
                self.set_status(repo, built.head_sha, device, number)
        return body

    def set_status(self, repo: str, sha: str, device, number: int) -> None:
        context = f"perfbot/{device.device.name}"
        description = report.status_description(device)
        url = f"{self.settings.dashboard_url}/pr/{number}.html" if self.settings.dashboard_url else None
        self.github.set_status(repo, sha, context, device.state, description, url)
        self.store.log_post(repo=repo, pr=number, sha=sha, kind="status", target=context,
                            body=f"{device.state}: {description}", dry_run=self.github.dry_run)
