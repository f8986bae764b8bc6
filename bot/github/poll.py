"""`perfbot watch`: poll a repository's open PRs, their comments and the base branch head.

Conditional requests (ETags, kept in the database) make an idle poll free of
rate limit. What a poll finds goes into the same inbox as webhook events, so
a failure while handling it (GitHub down, rate limited) is retried later
instead of being forgotten when the next poll answers 304 Not Modified.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from bot.errors import GitHubError
from bot.github import commands
from bot.github.bot import Bot
from bot.github.events import BaseHead, CommentSeen, PullGone, PullSeen

log = logging.getLogger("perfbot.watch")


class Poller:
    """One poll: what changed on GitHub since the last one, as events in the bot's inbox.

    Three conditional requests (open PRs, comments of the whole repository since the last one
    seen, the base branch's head), each answered 304 and free while nothing happens. The
    events are kept, with the new ETags and the comment watermark, in one transaction.
    """

    def __init__(self, bot: Bot, repo: str, branch: str = "main"):
        self.bot = bot
        self.store = bot.store
        self.github = bot.github
        self.repo = repo
        self.branch = branch

    @property
    def _start_key(self) -> str:
        return f"watch-start:{self.repo}"

    @property
    def _since_key(self) -> str:
        return f"comments-since:{self.repo}"

    def started_at(self) -> str:
        """When perfbot first watched this repo: older comments are history, not commands."""
        stamp = self.store.remembered(self._start_key)
        if stamp is None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.store.remember(self._start_key, stamp)
        return stamp

    def poll_once(self) -> dict:
        found = {"pulls": 0, "comments": 0, "base": 0}
        started = self.started_at()
        since = self.store.remembered(self._since_key) or started
        etags = self.github.etags
        held = etags.hold() if hasattr(etags, "hold") else contextlib.nullcontext()
        events: list = []
        with held:
            pulls = self.github.open_pulls(self.repo)
            open_now: set[int] = set()
            if pulls is not None:
                open_now = {p.number for p in pulls}
                for pull in pulls:
                    known = self.store.pull(self.repo, pull.number)
                    if (
                        known is None
                        or known["head_sha"] != pull.head_sha
                        or known["state"] != "open"
                        or not known.get("merge_base")
                    ):
                        events.append(PullSeen(pull))
                        found["pulls"] += 1
                for known in self.store.pulls(self.repo, "open"):
                    if known["number"] not in open_now:
                        events.append(PullGone(self.repo, known["number"]))
                        found["pulls"] += 1
            comments = self.github.new_comments(self.repo, since)
            for comment in comments or []:
                since = max(since, comment.updated_at)
                if self._is_new_command(comment, started, open_now):
                    events.append(
                        CommentSeen(
                            self.repo,
                            comment.number,
                            comment.id,
                            comment.author,
                            comment.body,
                            created_at=comment.created_at,
                        )
                    )
                    found["comments"] += 1
            head = self.github.branch_head(self.repo, self.branch)
            if head is not None and not self.store.has_base_jobs(self.repo, head):
                events.append(BaseHead(self.repo, head))
                found["base"] += 1
            with self.store.transaction():
                for event in events:
                    self.bot.receive(event)
                self.store.remember(self._since_key, since)
                if hasattr(etags, "flush"):
                    etags.flush()
        return found

    def _is_new_command(self, comment, started: str, open_now: set[int]) -> bool:
        """A comment written since watching began, on a PR, that mentions the bot on a line of its own."""
        if comment.number is None or comment.created_at < started:
            return False
        if comment.number not in open_now and self.store.pull(self.repo, comment.number) is None:
            return False  # an issue, or a PR closed before perfbot watched
        if self.store.comment_handled(comment.id):
            return False
        return bool(commands.parse(comment.body, self.bot.settings.mention))


def loop(
    bot: Bot,
    publisher,
    pollers: Poller | list[Poller] | None,
    interval_s: float,
    stop: threading.Event,
    once: bool = False,
    *,
    poll_every_s: float | None = None,
) -> Exception | None:
    """Poll (if given pollers), handle the inbox, publish (PR reports, then found bisections); until stopped.

    `perfbot watch` polls every round (`poll_every_s` None): a failed poll doubles the wait (up
    to 15 minutes), or waits for the rate limit's reset. `perfbot serve` rounds every
    `interval_s` and polls (reconciles) at the start and every `poll_every_s`, a failed poll
    being tried again sooner with the same backoff. Returns the last round's poll failure,
    if any (what `watch --once` reports).
    """
    if pollers is None:
        pollers = []
    elif isinstance(pollers, Poller):
        pollers = [pollers]
    every_round = poll_every_s is None
    poll_every = interval_s if every_round else poll_every_s
    first_backoff = interval_s if every_round else min(poll_every, 30.0)
    backoff = first_backoff
    next_poll = time.monotonic()
    problem: Exception | None = None
    while not stop.is_set():
        problem = None
        wait_poll = poll_every
        if pollers and (every_round or time.monotonic() >= next_poll):
            try:
                for poller in pollers:
                    found = poller.poll_once()
                    if any(found.values()):
                        log.info("poll %s: %s", poller.repo, found)
                backoff = first_backoff
            except Exception as e:  # noqa: BLE001 - the loop outlives any single failure
                problem = e
                backoff = min(backoff * 2, 900.0)
                reset_at = getattr(e, "reset_at", None)
                wait_poll = max(backoff, reset_at - time.time() if reset_at else 0)
                if isinstance(e, GitHubError):
                    log.warning("poll failed, next in %.0f s: %s", wait_poll, e)
                else:
                    log.exception("poll failed, next in %.0f s", wait_poll)
            next_poll = time.monotonic() + wait_poll
        try:
            bot.process_inbox()
            publisher.publish_dirty()
            publisher.publish_bisections()
        except Exception:  # noqa: BLE001
            log.exception("handling failed")
        if once:
            return problem
        stop.wait(wait_poll if every_round and pollers else interval_s)
    return problem
