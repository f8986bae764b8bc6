"""The bot: what happens when a PR opens, gets a push, closes, or gets a `@perfbot` comment.

Events from webhooks and from polling go through the same `handle`, which
dispatches by event type (`HANDLERS`); a command goes to the method its verb
names (bot.github.commands.VERBS). Events are first kept in the inbox table
(`receive`), then handled by `process_inbox`, which tries again later while
GitHub is down or rate limited (bot.github.retry): work waits, nothing is lost.
Every effect is idempotent (jobs by key, comments by marker, reactions by
GitHub's own dedup, handled comments by id), so an event handled twice changes
nothing the second time.

A fork PR's head runs only with an approval that names it (bot.github.approval):
before acting on a command the PR is read from GitHub, so the head queued is the
one GitHub has, and a late delivery of an older head is ignored.
"""

from __future__ import annotations

import logging

from bot.errors import GitHubError
from bot.github import approval, commands, comment, events
from bot.github.events import PullRequest
from bot.github.publish import Agent
from bot.github.retry import NEVER, drain
from bot.store.jobs import job_key
from bot.vocabulary import TUNE_PRIORITY

log = logging.getLogger("perfbot.bot")

#: Base-branch runs that a waiting PR needs go before everything else.
BASELINE_PRIORITY = 10
BASE_PRIORITY = 5
PR_PRIORITY = 0

#: Which method handles which event; events not listed (ping) are taken and let go.
HANDLERS: dict[type, str] = {
    events.PullRequestEvent: "on_pull_request",
    events.CommentEvent: "on_comment",
    events.CommentSeen: "on_comment",
    events.PushEvent: "on_push",
    events.PullSeen: "on_pull_seen",
    events.PullGone: "on_pull_gone",
    events.BaseHead: "on_base_head",
}


class Bot(Agent):
    """Handles GitHub's events and the commands in PR comments (see the module docstring)."""

    # Intake ----------------------------------------------------------------

    def receive(self, event: events.Event) -> None:
        """Keep an event for handling (the webhook answers at once; GitHub may be slow or down)."""
        self.store.inbox_add(*events.encode(event))

    def process_inbox(self) -> int:
        """Handle the events that are due; a failure keeps the event for later (see bot.github.retry)."""
        return drain(
            self.store.inbox_due(self.clock()),
            lambda item: self.handle(events.decode(item["event"], item["payload"])),
            done=lambda item: self.store.inbox_done(item["id"]),
            failed=lambda item, error, retry_at: self.store.inbox_retry(
                item["id"], error, retry_at, give_up=retry_at == NEVER
            ),
            policy=self.retry,
            clock=self.clock,
            what=lambda item: f"event {item['id']}",
            log=log,
        )

    def handle(self, event: events.Event) -> None:
        name = HANDLERS.get(type(event))
        if name is not None:
            getattr(self, name)(event)

    # Pull requests -----------------------------------------------------------

    def on_pull_request(self, e: events.PullRequestEvent) -> None:
        if e.action == "closed" or e.pull.state == "closed":
            self.close_pull(e.pull.repo, e.pull.number)
            return
        if e.action not in ("opened", "synchronize", "reopened", "edited", "ready_for_review"):
            return
        self.sync_pull(e.pull)

    def on_pull_seen(self, e: events.PullSeen) -> None:
        self.sync_pull(e.pull)

    def on_pull_gone(self, e: events.PullGone) -> None:
        self.close_pull(e.repo, e.number)

    def sync_pull(self, pull: PullRequest) -> None:
        """A PR as GitHub has it now: remember it, retire the old head's jobs, queue the new head's."""
        repo, number = pull.repo, pull.number
        if pull.state != "open":
            self.close_pull(repo, number)
            return
        known = self.store.pull(repo, number)
        if known and known["head_sha"] != pull.head_sha and approval.earlier(pull.updated_at, known.get("head_at")):
            log.info("%s#%s: ignored a late event for the older head %s", repo, number, pull.head_sha[:10])
            return
        if (
            known
            and known["head_sha"] == pull.head_sha
            and known["state"] == "open"
            and known.get("merge_base")
            and known["base_ref"] == pull.base_ref
        ):
            self.store.save_pull(**{**known, "title": pull.title or known["title"]})
            return
        self.remember_pull(pull)
        cancelled = self.store.cancel_jobs(repo, number, keep_sha=pull.head_sha, reason="superseded by a new push")
        if cancelled:
            log.info("%s#%s: cancelled %d jobs of the previous head", repo, number, cancelled)
        if self.may_run(repo, number):
            self._queue(repo, number)
        self.store.mark_dirty(repo, number, f"head {pull.head_sha}")

    def remember_pull(self, pull: PullRequest) -> None:
        """Keep the PR as GitHub has it, with the merge base its results compare against.

        A head keeps the GitHub time it was first seen with (`head_at`, see bot.github.approval).
        """
        known = self.store.pull(pull.repo, pull.number)
        head_at = pull.updated_at or None
        if known and known["head_sha"] == pull.head_sha and known.get("head_at"):
            head_at = known["head_at"]
        merge_base = self.github.merge_base(pull.repo, pull.base_ref, pull.head_sha)
        self.store.save_pull(**pull.row(), merge_base=merge_base, head_at=head_at)

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

    def schedule_pr(self, repo: str, number: int, **options) -> int:
        """Queue the head's jobs, if it may run (a fork's head needs an approval naming it); see `_queue`."""
        if not self.may_run(repo, number):
            return 0
        return self._queue(repo, number, **options)

    def _queue(
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
        """Queue the stored head's jobs (and any missing baseline first); returns how many were (re)queued.

        Callers have checked that the head may run (`may_run`).
        """
        pull = self.store.pull(repo, number)
        head, base = pull["head_sha"], pull["merge_base"]
        changed = 0
        base_time: list[str | None] = []  # read from GitHub once, and only when a baseline is queued
        for dev, suite_name in self.targets(device, suite):
            job = dict(device=dev.name, suite=suite_name, config=config, repo=repo, force=force)
            if base and self._needs_baseline(repo, base, dev.name, suite_name, config, force):
                if not base_time:
                    base_time.append(self._commit_time(repo, base))
                self.store.enqueue(sha=base, kind="base", priority=BASELINE_PRIORITY, commit_time=base_time[0], **job)
            _, did = self.store.enqueue(sha=head, kind="pr", pr=number, base_sha=base, priority=PR_PRIORITY,
                                        requested_by=requested_by, **job)  # fmt: skip
            changed += did
        return changed

    def _needs_baseline(self, repo: str, base: str, device: str, suite: str, config: str, rerun: bool) -> bool:
        """No complete run of the merge base yet, and none queued (a rerun also retries a failed one)."""
        if self.store.has_base_run(device, base, suite):
            return False
        queued = self.store.job_with_key(job_key(repo, base, device, suite, config, "base"))
        return queued is None or (rerun and queued["state"] == "failed")

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

    def on_push(self, e: events.PushEvent) -> None:
        if e.deleted or not e.ref.startswith("refs/heads/"):
            return
        branch = e.ref[len("refs/heads/") :]
        if branch != (e.default_branch or "main"):
            return
        self.schedule_base(e.repo, e.after)

    def on_base_head(self, e: events.BaseHead) -> None:
        self.schedule_base(e.repo, e.sha)

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
        for dev in self.registry.enabled():
            if dev.emulated or not dev.tuning_trials:  # nothing is tuned under emulation (it borrows the host's)
                continue
            self.store.supersede_tuning(repo, dev.name, sha)
            self.store.enqueue(sha=sha, device=dev.name, suite=dev.suites[0], config="tuned", kind="tune", repo=repo,
                               priority=TUNE_PRIORITY, commit_time=commit_time)  # fmt: skip
        return changed

    # Comments ------------------------------------------------------------------

    def on_comment(self, e: events.CommentEvent | events.CommentSeen) -> None:
        if e.action != "created" or not e.is_pull_request:
            return
        found = commands.parse(e.body, self.settings.mention)
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
        """Carry out one command line: the verb's own method, once its problems and its giver are checked."""
        if command.problem:
            return self._refuse(e, f"{command.problem} in `{command.line}`; try `@{self.settings.mention} help`")
        verb = command.spec
        if verb.who == commands.WRITERS:
            permission = self.github.permission(e.repo, e.author)
            if not commands.may_command(permission, e.author, self.settings.allowlist):
                return self._refuse(
                    e,
                    f"`{command.line}` needs write access to {e.repo} (you have "
                    f"{permission or 'no'} access) or a place on the bot's allowlist; "
                    f"a maintainer can give the command for you",
                )
        return getattr(self, verb.does)(e, command)

    def do_help(self, e, command: commands.Command) -> str:
        self._react(e, "eyes")
        self._reply(e, commands.help_text(self.settings.mention))
        return "help"

    def do_cancel(self, e, command: commands.Command) -> str:
        if self._open_pull(e) is None:
            return self._refuse(e, "this pull request is closed")
        n = self.store.cancel_jobs(e.repo, e.number, reason=f"cancelled by @{e.author}")
        self._react(e, "eyes")
        self.store.mark_dirty(e.repo, e.number, f"cancel {e.comment_id}")
        return f"cancelled {n}"

    def do_run(self, e, command: commands.Command) -> str:
        return self._run(e, command, force=False)

    def do_rerun(self, e, command: commands.Command) -> str:
        return self._run(e, command, force=True)

    def _run(self, e, command: commands.Command, *, force: bool) -> str:
        """`run` and `rerun`: queue the head GitHub has now; a fork's head only with an approval that covers it."""
        pull = self._open_pull(e)
        if pull is None:
            return self._refuse(e, "this pull request is closed")
        unknown = self._unknown_option(command)
        if unknown:
            return self._refuse(e, unknown)
        head = pull["head_sha"]
        if pull["is_fork"] and not self.may_run(e.repo, e.number):
            if not approval.covers(getattr(e, "created_at", ""), pull.get("head_at")):
                mention = self.settings.mention
                return self._refuse(
                    e,
                    f"this fork's head is now `{head[:10]}`, and GitHub shows the pull request changed after "
                    f"your comment, so your approval may not cover this code (an approval covers only the code "
                    f"you saw); look at the new commits and comment `@{mention} run` again to run this head",
                )
            self.store.approve(e.repo, e.number, head, e.author)
        n = self._queue(
            e.repo,
            e.number,
            force=force,
            requested_by=e.author,
            device=command.device,
            suite=command.suite,
            config=command.config or "default",
        )
        self._react(e, "eyes")
        self.store.mark_dirty(e.repo, e.number, f"{command.verb} {e.comment_id}")
        return f"{command.verb}: {n} jobs queued"

    def _open_pull(self, e) -> dict | None:
        """The PR the comment is on, open; None when closed.

        A fork PR is read from GitHub first: its head may have moved without the bot knowing (a lost or
        late `synchronize`), and what runs must be the head GitHub has, not the one the bot stored.
        A PR the bot does not know yet (from before it watched, or reopened) is read too.
        """
        pull = self.store.pull(e.repo, e.number)
        if pull is None or pull["state"] != "open" or pull["is_fork"]:
            fresh = self.github.pull(e.repo, e.number)
            if fresh.state != "open":
                return None
            self.sync_pull(fresh)
            pull = self.store.pull(e.repo, e.number)
        return pull

    def _unknown_option(self, command: commands.Command) -> str | None:
        if command.device and command.device not in self.registry.devices:
            return f"unknown device `{command.device}` (known: {', '.join(sorted(self.registry.devices))})"
        if command.device and not self.registry.devices[command.device].enabled:
            return f"device `{command.device}` is disabled in devices.yml"
        return commands.value_problem(command)

    def _react(self, e, content: str) -> None:
        self.github.react(e.repo, e.comment_id, content)
        self.posted("reaction", e.repo, e.number, None, str(e.comment_id), content)

    def _refuse(self, e, why: str) -> str:
        self._react(e, "confused")
        self._reply(e, comment.refusal(e.author, why))
        return f"refused: {why}"

    def _reply(self, e, body: str) -> None:
        self.github.reply(e.repo, e.number, body)
        self.posted("reply", e.repo, e.number, None, str(e.comment_id), body)

    def github_pull(self, repo: str, number: int) -> PullRequest:
        return self.github.pull(repo, number)
