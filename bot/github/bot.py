"""The bot: what happens when a PR opens, gets a push, closes, or gets a `@perfbot` comment.

Events from webhooks and from polling go through the same `handle`. They are
first kept in the inbox table (`receive`), then handled by `process_inbox`,
which retries with backoff while GitHub is down or rate limited: work waits,
nothing is lost. Every effect is idempotent (jobs by key, comments by marker,
reactions by GitHub's own dedup, handled comments by id), so an event handled
twice changes nothing the second time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime

from bot.config import GitHubSettings
from bot.devices import Registry
from bot.errors import GitHubError
from bot.github import commands, comment, events
from bot.github.client import GitHubUnavailable, RateLimited
from bot.store.jobs import job_key
from bot.vocabulary import PIPELINES, SUITES

log = logging.getLogger("perfbot.bot")

#: Base-branch runs that a waiting PR needs go before everything else.
BASELINE_PRIORITY = 10
BASE_PRIORITY = 5
PR_PRIORITY = 0
#: Give up on an inbox event after this many failed attempts.
MAX_EVENT_ATTEMPTS = 20


@dataclass(frozen=True)
class PullSeen:
    """Polling found a PR new or changed."""

    pull: dict


@dataclass(frozen=True)
class PullGone:
    """Polling found a PR no longer open."""

    repo: str
    number: int


@dataclass(frozen=True)
class BaseHead:
    """Polling found a new head of the base branch."""

    repo: str
    sha: str


@dataclass(frozen=True)
class CommentSeen:
    """Polling found a new PR comment."""

    repo: str
    number: int
    comment_id: int
    author: str
    body: str
    action: str = "created"
    is_pull_request: bool = True
    created_at: str = ""


#: Event types the inbox can hold, by class name.
EVENT_TYPES = {cls.__name__: cls for cls in (PullSeen, PullGone, BaseHead, CommentSeen)}


class Bot:
    def __init__(self, store, github, registry: Registry, settings: GitHubSettings, clock=time.time, on_post=None):
        self.store = store
        self.github = github
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.on_post = on_post  # see bot.github.publish.PostHook

    # Intake ----------------------------------------------------------------

    def receive(self, event) -> None:
        """Keep an event for handling (the webhook answers at once; GitHub may be slow or down)."""
        self.store.inbox_add(type(event).__name__, json.dumps(dataclasses.asdict(event)))

    def process_inbox(self) -> int:
        handled = 0
        for item in self.store.inbox_due(self.clock()):
            kind = EVENT_TYPES.get(item["event"]) or getattr(events, item["event"])
            event = kind(**json.loads(item["payload"]))
            try:
                self.handle(event)
            except GitHubError as e:
                retry = e.reset_at if isinstance(e, RateLimited) and e.reset_at else self._backoff(item["attempts"])
                give_up = item["attempts"] + 1 >= MAX_EVENT_ATTEMPTS
                log.warning("event %s deferred: %s", item["id"], e)
                self.store.inbox_retry(item["id"], str(e), retry, give_up)
                if isinstance(e, (RateLimited, GitHubUnavailable)):
                    break  # the rest would only fail the same way; they stay due for the next round
                continue
            except Exception as e:  # a bug must not wedge the inbox: keep the event, log, move on
                log.exception("event %s failed", item["id"])
                self.store.inbox_retry(
                    item["id"], f"{type(e).__name__}: {e}", self._backoff(item["attempts"]), item["attempts"] + 1 >= 3
                )
                continue
            self.store.inbox_done(item["id"])
            handled += 1
        return handled

    def _backoff(self, attempts: int) -> float:
        return self.clock() + min(600.0, 5.0 * 2**attempts) * (0.5 + random.random() / 2)

    def handle(self, event) -> None:
        if isinstance(event, events.PullRequestEvent):
            self.on_pull_request(event)
        elif isinstance(event, events.CommentEvent):
            self.on_comment(event)
        elif isinstance(event, CommentSeen):
            self.on_comment(event)
        elif isinstance(event, events.PushEvent):
            self.on_push(event)
        elif isinstance(event, PullSeen):
            self.sync_pull(event.pull)
        elif isinstance(event, PullGone):
            self.close_pull(event.repo, event.number)
        elif isinstance(event, BaseHead):
            self.schedule_base(event.repo, event.sha)

    # Pull requests -----------------------------------------------------------

    def on_pull_request(self, e) -> None:
        if e.action == "closed" or e.state == "closed":
            self.close_pull(e.repo, e.number)
            return
        if e.action not in ("opened", "synchronize", "reopened", "edited", "ready_for_review"):
            return
        self.sync_pull(pull_fields(e))

    def sync_pull(self, pull: dict) -> None:
        """A PR as GitHub has it now: remember it, retire the old head's jobs, queue the new head's."""
        repo, number = pull["repo"], pull["number"]
        if pull.get("state", "open") != "open":
            self.close_pull(repo, number)
            return
        known = self.store.pull(repo, number)
        if (
            known
            and known["head_sha"] == pull["head_sha"]
            and known["state"] == "open"
            and known.get("merge_base")
            and known["base_ref"] == pull["base_ref"]
        ):
            self.store.save_pull(**{**known, "title": pull.get("title") or known["title"]})
            return
        self.remember_pull(pull)
        cancelled = self.store.cancel_jobs(repo, number, keep_sha=pull["head_sha"], reason="superseded by a new push")
        if cancelled:
            log.info("%s#%s: cancelled %d jobs of the previous head", repo, number, cancelled)
        if self.may_run(repo, number):
            self.schedule_pr(repo, number)
        self.store.mark_dirty(repo, number, f"head {pull['head_sha']}")

    def remember_pull(self, pull: dict) -> None:
        """Keep the PR as GitHub has it, with the merge base its results compare against.

        Its updated_at becomes now: when the bot first saw this head (a fork's approval must be newer).
        """
        merge_base = self.github.merge_base(pull["repo"], pull["base_ref"], pull["head_sha"])
        fields = {k: v for k, v in pull.items() if k != "updated_at"}
        self.store.save_pull(**{**fields, "merge_base": merge_base, "state": "open"})

    def close_pull(self, repo: str, number: int) -> None:
        known = self.store.pull(repo, number)
        if known is None or known["state"] == "closed":
            return
        self.store.save_pull(**{**known, "state": "closed"})
        self.store.cancel_jobs(repo, number, reason="pull request closed")
        self.store.mark_dirty(repo, number, "closed")

    def may_run(self, repo: str, number: int) -> bool:
        """A fork PR runs when its author may write to the repo, or a maintainer approved this head."""
        pull = self.store.pull(repo, number)
        if not pull["is_fork"]:
            return True
        if self.store.approved(repo, number, pull["head_sha"]):
            return True
        return commands.may_command(
            self.github.permission(repo, pull["author"]), pull["author"], self.settings.allowlist
        )

    def schedule_pr(
        self,
        repo: str,
        number: int,
        *,
        force: bool = False,
        requested_by: str | None = None,
        device: str | None = None,
        suite: str | None = None,
        config: str = "default",
    ) -> int:
        """Queue the head's jobs (and any missing baseline first); returns how many were (re)queued."""
        pull = self.store.pull(repo, number)
        head, base = pull["head_sha"], pull["merge_base"]
        changed = 0
        base_time: list[str | None] = []  # read from GitHub once, and only when a baseline is queued
        for dev, suite_name in self.targets(device, suite):
            if base and self._needs_baseline(repo, base, dev.name, suite_name, config, force):
                if not base_time:
                    base_time.append(self._commit_time(repo, base))
                self.store.enqueue(
                    sha=base,
                    device=dev.name,
                    suite=suite_name,
                    config=config,
                    kind="base",
                    repo=repo,
                    priority=BASELINE_PRIORITY,
                    commit_time=base_time[0],
                    force=force,
                )
            _, did = self.store.enqueue(
                sha=head,
                device=dev.name,
                suite=suite_name,
                config=config,
                kind="pr",
                repo=repo,
                pr=number,
                base_sha=base,
                priority=PR_PRIORITY,
                requested_by=requested_by,
                force=force,
            )
            changed += did
        return changed

    def _needs_baseline(self, repo: str, base: str, device: str, suite: str, config: str, rerun: bool) -> bool:
        """No complete run of the merge base yet, and none queued (a rerun also retries a failed one)."""
        if self.store.has_base_run(device, base, suite):
            return False
        queued = self.store.jobs("key = ?", [job_key(repo, base, device, suite, config, "base")])
        return not queued or (rerun and queued[0]["state"] == "failed")

    def targets(self, device: str | None = None, suite: str | None = None):
        """(device, suite) pairs to run: enabled devices and their suites, narrowed by a command's options."""
        devices = [self.registry.get(device)] if device else self.registry.enabled()
        pairs = []
        for dev in devices:
            for suite_name in [suite] if suite else dev.suites:
                pairs.append((dev, suite_name))
        return pairs

    def _commit_time(self, repo: str, sha: str) -> str | None:
        try:
            return self.github.commit_time(repo, sha)
        except GitHubError:
            return None

    # Base branch -------------------------------------------------------------

    def on_push(self, e) -> None:
        if e.deleted or not e.ref.startswith("refs/heads/"):
            return
        branch = e.ref[len("refs/heads/") :]
        if branch != (e.default_branch or "main"):
            return
        self.schedule_base(e.repo, e.after)

    def schedule_base(self, repo: str, sha: str) -> int:
        changed = 0
        commit_time = self._commit_time(repo, sha)
        for dev, suite_name in self.targets():
            _, did = self.store.enqueue(
                sha=sha,
                device=dev.name,
                suite=suite_name,
                kind="base",
                repo=repo,
                priority=BASE_PRIORITY,
                commit_time=commit_time,
            )
            changed += did
        return changed

    # Comments ------------------------------------------------------------------

    def on_comment(self, e) -> None:
        if e.action != "created" or not e.is_pull_request:
            return
        mention = self.settings.mention
        found = commands.parse(e.body, mention)
        if not found or self._is_own(e):
            return
        if not self.store.first_sight_of_comment(e.comment_id, e.repo, e.number, e.author):
            return
        decisions = [self.command(e, command) for command in found]
        self.store.record_decision(e.comment_id, "; ".join(decisions))

    def _is_own(self, e) -> bool:
        """The bot's own comments (its report, its replies) are never commands to itself."""
        author = e.author.lower()
        mention = self.settings.mention.lower()
        if author in (mention, f"{mention}[bot]") or comment.marker(self.settings.mention) in e.body:
            return True
        if self.github.dry_run:
            return False
        me = self.github.bot_login()
        return me is not None and author == me.lower()

    def command(self, e, command: commands.Command) -> str:
        mention = self.settings.mention
        if command.verb == "help" and command.problem is None:
            self._react(e, "eyes")
            self._reply(e, commands.help_text(mention))
            return "help"
        if command.problem:
            return self._refuse(e, f"{command.problem} in `{command.line}`; try `@{mention} help`")
        permission = self.github.permission(e.repo, e.author)
        if not commands.may_command(permission, e.author, self.settings.allowlist):
            return self._refuse(
                e,
                f"`{command.line}` needs write access to {e.repo} (you have "
                f"{permission or 'no'} access) or a place on the bot's allowlist; "
                f"a maintainer can give the command for you",
            )
        pull = self.store.pull(e.repo, e.number)
        if pull is None or pull["state"] != "open":
            fresh = self.github_pull(e.repo, e.number)  # a PR from before perfbot watched, or reopened
            if fresh["state"] != "open":
                return self._refuse(e, "this pull request is closed")
            self.sync_pull(fresh)
            pull = self.store.pull(e.repo, e.number)
        if command.verb == "cancel":
            n = self.store.cancel_jobs(e.repo, e.number, reason=f"cancelled by @{e.author}")
            self._react(e, "eyes")
            self.store.mark_dirty(e.repo, e.number, f"cancel {e.comment_id}")
            return f"cancelled {n}"
        unknown = self._unknown_option(command)
        if unknown:
            return self._refuse(e, unknown)
        if pull["is_fork"] and not self.may_run(e.repo, e.number):
            if _before(getattr(e, "created_at", ""), pull.get("updated_at")):
                return self._refuse(
                    e,
                    f"this fork's head changed to `{pull['head_sha'][:10]}` after your "
                    f"comment, and an approval covers only the code you saw; comment "
                    f"`@{mention} run` again to run this head",
                )
            self.store.approve(e.repo, e.number, pull["head_sha"], e.author)
        if command.verb == "run":
            n = self.schedule_pr(e.repo, e.number, requested_by=e.author)
        else:
            n = self.schedule_pr(
                e.repo,
                e.number,
                force=True,
                requested_by=e.author,
                device=command.device,
                suite=command.suite,
                config=command.config or "default",
            )
        self._react(e, "eyes")
        self.store.mark_dirty(e.repo, e.number, f"{command.verb} {e.comment_id}")
        return f"{command.verb}: {n} jobs queued"

    def _unknown_option(self, command: commands.Command) -> str | None:
        if command.device and command.device not in self.registry.devices:
            return f"unknown device `{command.device}` (known: {', '.join(sorted(self.registry.devices))})"
        if command.device and not self.registry.devices[command.device].enabled:
            return f"device `{command.device}` is disabled in devices.yml"
        if command.suite and command.suite not in SUITES:
            return f"unknown suite `{command.suite}` (known: {', '.join(SUITES)})"
        if command.config and command.config not in PIPELINES:
            return f"unknown config `{command.config}` (known: {', '.join(PIPELINES)})"
        return None

    def _react(self, e, content: str) -> None:
        self.github.react(e.repo, e.comment_id, content)
        self.store.log_post(
            repo=e.repo,
            pr=e.number,
            sha=None,
            kind="reaction",
            target=str(e.comment_id),
            body=content,
            dry_run=self.github.dry_run,
        )
        if self.on_post is not None:
            self.on_post("reaction", e.repo, e.number, str(e.comment_id), content)

    def _refuse(self, e, why: str) -> str:
        self._react(e, "confused")
        self._reply(e, comment.refusal(e.author, why))
        return f"refused: {why}"

    def _reply(self, e, body: str) -> None:
        self.github.reply(e.repo, e.number, body)
        self.store.log_post(
            repo=e.repo,
            pr=e.number,
            sha=None,
            kind="reply",
            target=str(e.comment_id),
            body=body,
            dry_run=self.github.dry_run,
        )
        if self.on_post is not None:
            self.on_post("reply", e.repo, e.number, str(e.comment_id), body)

    def github_pull(self, repo: str, number: int) -> dict:
        return pull_fields(self.github.pull(repo, number))


def _before(comment_time: str, head_seen: str | None) -> bool:
    """Whether a comment was written before the bot saw the PR's current head (unknown times: no)."""
    if not comment_time or not head_seen:
        return False
    try:
        return datetime.fromisoformat(comment_time) < datetime.fromisoformat(head_seen)
    except ValueError:
        return False


def pull_fields(pull) -> dict:
    """The pull_requests row for a PR, from a webhook event or from bot.github.client.PullInfo."""
    return {
        "repo": pull.repo,
        "number": pull.number,
        "title": pull.title,
        "author": pull.author,
        "head_sha": pull.head_sha,
        "head_repo": pull.head_repo,
        "head_ref": pull.head_ref,
        "base_ref": pull.base_ref,
        "base_sha": pull.base_sha,
        "is_fork": pull.is_fork,
        "state": pull.state,
        "url": getattr(pull, "url", None) or getattr(pull, "html_url", None),
    }
