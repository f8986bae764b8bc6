"""`perfbot watch`: poll a repository's open PRs, their comments and the base branch head.

Conditional requests (ETags, kept in the database) make an idle poll free of
rate limit. What a poll finds goes into the same inbox as webhook events, so
a failure while handling it (GitHub down, rate limited) is retried later
instead of being forgotten when the next poll answers 304 Not Modified.
"""

from __future__ import annotations

import logging
import threading
import time

from bot import app
from bot.errors import GitHubError

log = logging.getLogger("perfbot.watch")


class Poller:
    def __init__(self, bot: "app.Bot", repo: str, branch: str = "main"):
        self.bot = bot
        self.store = bot.store
        self.github = bot.github
        self.repo = repo
        self.branch = branch

    @property
    def _start_key(self) -> str:
        return f"watch-start:{self.repo}"

    def started_at(self) -> str:
        """When perfbot first watched this repo: older comments are history, not commands."""
        from bot.store import utcnow

        stamp = self.store.remembered(self._start_key)
        if stamp is None:
            stamp = utcnow()
            self.store.remember(self._start_key, stamp)
        return stamp

    def poll_once(self) -> dict:
        found = {"pulls": 0, "comments": 0, "base": 0}
        since = self.started_at()
        pulls = self.github.open_pulls(self.repo)
        if pulls is not None:
            open_now = {p.number for p in pulls}
            for pull in pulls:
                known = self.store.pull(self.repo, pull.number)
                if known is None or known["head_sha"] != pull.head_sha or known["state"] != "open" \
                        or not known.get("merge_base"):
                    self.bot.receive(app.PullSeen(app.pull_fields(pull)))
                    found["pulls"] += 1
                seen_key = f"pr-updated:{self.repo}#{pull.number}"
                if self.store.remembered(seen_key) != pull.updated_at:
                    found["comments"] += self._comments(pull.number, since)
                    self.store.remember(seen_key, pull.updated_at)
            for known in self.store.pulls(self.repo, "open"):
                if known["number"] not in open_now:
                    self.bot.receive(app.PullGone(self.repo, known["number"]))
                    found["pulls"] += 1
        head = self.github.branch_head(self.repo, self.branch)
        if head is not None and not self.store.jobs("repo = ? and sha = ? and kind = 'base'", [self.repo, head]):
            self.bot.receive(app.BaseHead(self.repo, head))
            found["base"] += 1
        return found

    def _comments(self, number: int, since: str) -> int:
        n = 0
        for comment in self.github.comments(self.repo, number, since=since):
            if comment.created_at < since:
                continue
            self.bot.receive(app.CommentSeen(self.repo, number, comment.id, comment.author, comment.body))
            n += 1
        return n


def loop(bot: "app.Bot", publisher, poller: Poller | None, interval_s: float, stop: threading.Event,
         once: bool = False) -> None:
    """Poll (if watching), handle the inbox, publish; until stopped. GitHub trouble only delays."""
    backoff = interval_s
    while not stop.is_set():
        delay = interval_s
        try:
            if poller is not None:
                found = poller.poll_once()
                if any(found.values()):
                    log.info("poll: %s", found)
            backoff = interval_s
        except GitHubError as e:
            backoff = min(backoff * 2, 900.0)
            delay = max(backoff, getattr(e, "reset_at", 0) - time.time() if getattr(e, "reset_at", None) else 0)
            log.warning("poll failed, next in %.0f s: %s", delay, e)
        try:
            bot.process_inbox()
            publisher.publish_dirty()
        except Exception:  # noqa: BLE001 - the loop outlives any single failure
            log.exception("handling failed")
        if once:
            return
        stop.wait(delay)

