"""What the bot remembers about GitHub, so that a restart loses nothing and posts nothing twice.

Pull requests as last seen (with `head_at`, GitHub's time of the head, see
bot.github.approval), the id of each PR's sticky comment, fork-PR approvals per
head sha, the commit statuses perfbot set (to resolve the ones left pending),
webhook deliveries and comments already handled, the outbox of PRs whose
comment and statuses still need publishing, and the ETags of conditional
requests.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any


def _now() -> str:
    from bot.store import utcnow

    return utcnow()


class GitHubState:
    db: Any

    # Pull requests ---------------------------------------------------------

    def save_pull(self, **fields) -> None:
        fields["is_fork"] = int(bool(fields.get("is_fork")))
        fields.setdefault("updated_at", _now())
        self.db["pull_requests"].upsert(fields, pk=("repo", "number"))

    def pull(self, repo: str, number: int) -> dict | None:
        rows = list(self.db["pull_requests"].rows_where("repo = ? and number = ?", [repo, number]))
        return rows[0] if rows else None

    def pulls(self, repo: str | None = None, state: str | None = "open") -> list[dict]:
        clauses, args = [], []
        if repo:
            clauses.append("repo = ?")
            args.append(repo)
        if state:
            clauses.append("state = ?")
            args.append(state)
        return list(self.db["pull_requests"].rows_where(" and ".join(clauses) or None, args, order_by="number"))

    # Jobs, as the GitHub side asks about them --------------------------------

    def has_base_jobs(self, repo: str, sha: str) -> bool:
        """Whether a base-branch commit has any job, in any state (it was scheduled already)."""
        row = self.db.execute(
            "select 1 from jobs where repo = ? and sha = ? and kind = 'base' limit 1", [repo, sha]
        ).fetchone()
        return row is not None

    def job_with_key(self, key: str) -> dict | None:
        rows = list(self.db["jobs"].rows_where("key = ?", [key]))
        return rows[0] if rows else None

    # Commit statuses perfbot set -------------------------------------------

    def status_said(self, repo: str, sha: str, context: str) -> str | None:
        """`state: description` of the status perfbot last set there, None if none."""
        row = self.db.execute(
            "select state, description from commit_statuses where repo = ? and sha = ? and context = ?",
            [repo, sha, context],
        ).fetchone()
        return f"{row[0]}: {row[1]}" if row else None

    def record_status(self, repo: str, sha: str, context: str, pr: int | None, state: str, description: str) -> None:
        self.db["commit_statuses"].upsert(
            {
                "repo": repo,
                "sha": sha,
                "context": context,
                "pr": pr,
                "state": state,
                "description": description,
                "updated_at": _now(),
            },
            pk=("repo", "sha", "context"),
        )

    def pending_statuses(self, repo: str, pr: int) -> list[dict]:
        """The PR's commit statuses perfbot left `pending`, on any of its heads."""
        return list(
            self.db["commit_statuses"].rows_where(
                "repo = ? and pr = ? and state = 'pending'", [repo, pr], order_by="sha, context"
            )
        )

    # The sticky comment ----------------------------------------------------

    def comment_id(self, repo: str, pr: int) -> int | None:
        rows = list(self.db["pr_comments"].rows_where("repo = ? and pr = ?", [repo, pr]))
        return rows[0]["comment_id"] if rows else None

    def comment_body_sha(self, repo: str, pr: int) -> str | None:
        rows = list(self.db["pr_comments"].rows_where("repo = ? and pr = ?", [repo, pr]))
        return rows[0]["body_sha"] if rows else None

    def save_comment(self, repo: str, pr: int, comment_id: int | None, body_sha: str) -> None:
        self.db["pr_comments"].upsert(
            {"repo": repo, "pr": pr, "comment_id": comment_id, "body_sha": body_sha, "updated_at": _now()},
            pk=("repo", "pr"),
        )

    # Fork approvals --------------------------------------------------------

    def approve(self, repo: str, pr: int, sha: str, by: str) -> None:
        self.db["approvals"].upsert(
            {"repo": repo, "pr": pr, "sha": sha, "approved_by": by, "approved_at": _now()}, pk=("repo", "pr", "sha")
        )

    def approved(self, repo: str, pr: int, sha: str) -> bool:
        return bool(list(self.db["approvals"].rows_where("repo = ? and pr = ? and sha = ?", [repo, pr, sha])))

    # Deliveries and comments already handled --------------------------------

    def first_delivery(self, delivery_id: str, event: str) -> bool:
        """Remember a webhook delivery; False when it was seen before (GitHub redelivers)."""
        cursor = self.db.execute(
            "insert or ignore into deliveries (id, event, received_at) values (?, ?, ?)",
            [delivery_id, event, _now()],
        )
        return cursor.rowcount == 1

    def forget_delivery(self, delivery_id: str) -> None:
        """Handling a delivery failed: a redelivery of it is new again."""
        self.db.execute("delete from deliveries where id = ?", [delivery_id])

    def first_sight_of_comment(self, comment_id: int, repo: str, pr: int, author: str) -> bool:
        """Claim a PR comment for handling; False when webhook or poll already handled it.

        A comment claimed by an attempt that failed half-way (GitHub went down) has no decision
        yet and can be claimed again, so the retry carries its commands out.
        """
        cursor = self.db.execute(
            "insert or ignore into seen_comments (comment_id, repo, pr, author, seen_at) values (?, ?, ?, ?, ?)",
            [comment_id, repo, pr, author, _now()],
        )
        if cursor.rowcount == 1:
            return True
        row = self.db.execute("select decision from seen_comments where comment_id = ?", [comment_id]).fetchone()
        return row is not None and row[0] is None

    def comment_handled(self, comment_id: int) -> bool:
        row = self.db.execute("select decision from seen_comments where comment_id = ?", [comment_id]).fetchone()
        return row is not None and row[0] is not None

    def decision(self, comment_id: int) -> str | None:
        row = self.db.execute("select decision from seen_comments where comment_id = ?", [comment_id]).fetchone()
        return row[0] if row else None

    def record_decision(self, comment_id: int, decision: str) -> None:
        self.db["seen_comments"].update(comment_id, {"decision": decision})

    # Outbox: PRs whose comment and statuses need publishing -----------------

    def mark_dirty(self, repo: str, pr: int, reason: str) -> None:
        """Ask for the PR's comment and statuses to be published (again).

        The reason is stamped so that each mark is distinct: a publisher that read an older mark
        does not clear a newer one (see `published`).
        """
        reason = f"{reason} @{time.time_ns()}"
        self.db.execute(
            """insert into outbox (repo, pr, reason, attempts, next_attempt, created_at) values (?, ?, ?, 0, 0, ?)
               on conflict (repo, pr) do update set reason = excluded.reason, next_attempt = 0""",
            [repo, pr, reason, _now()],
        )

    def dirty(self, now: float | None = None) -> list[dict]:
        now = time.time() if now is None else now
        return list(self.db["outbox"].rows_where("next_attempt <= ?", [now], order_by="created_at"))

    def published(self, repo: str, pr: int, reason: str) -> None:
        """Done, unless it was marked dirty again (for a newer reason) meanwhile."""
        self.db.execute("delete from outbox where repo = ? and pr = ? and reason = ?", [repo, pr, reason])

    def publish_failed(self, repo: str, pr: int, error: str, retry_at: float) -> None:
        self.db.execute(
            "update outbox set attempts = attempts + 1, next_attempt = ?, last_error = ? where repo = ? and pr = ?",
            [retry_at, error[:500], repo, pr],
        )

    # Inbox: events waiting to be handled ----------------------------------

    def inbox_add(self, event: str, payload: str) -> int:
        return (
            self.db["inbox"]
            .insert(
                {
                    "event": event,
                    "payload": payload,
                    "received_at": _now(),
                    "attempts": 0,
                    "next_attempt": 0.0,
                    "state": "pending",
                }
            )
            .last_pk
        )

    def inbox_due(self, now: float | None = None, limit: int = 100) -> list[dict]:
        now = time.time() if now is None else now
        return list(
            self.db["inbox"].rows_where("state = 'pending' and next_attempt <= ?", [now], order_by="id", limit=limit)
        )

    def inbox_done(self, item_id: int) -> None:
        self.db["inbox"].update(item_id, {"state": "done", "error": None})

    def inbox_retry(self, item_id: int, error: str, retry_at: float, give_up: bool = False) -> None:
        self.db.execute(
            "update inbox set attempts = attempts + 1, next_attempt = ?, error = ?, state = ? where id = ?",
            [retry_at, error[:500], "failed" if give_up else "pending", item_id],
        )

    def inbox_given_up(self) -> int:
        """Events dropped after repeated failures (`perfbot status` points at them)."""
        return self.db.execute("select count(*) from inbox where state = 'failed'").fetchone()[0]

    # Small remembered values of the poller -----------------------------------

    def remembered(self, key: str) -> str | None:
        rows = list(self.db["poll_state"].rows_where("key = ?", [key]))
        return rows[0]["value"] if rows else None

    def remember(self, key: str, value: str) -> None:
        self.db["poll_state"].upsert({"key": key, "value": value}, pk="key")

    # Posts: what was (or, dry, would have been) posted -----------------------

    def log_post(
        self, *, repo: str, pr: int | None, sha: str | None, kind: str, target: str, body: str, dry_run: bool
    ) -> None:
        self.db["posts"].insert(
            {
                "at": _now(),
                "repo": repo,
                "pr": pr,
                "sha": sha,
                "kind": kind,
                "target": target,
                "body": body,
                "dry_run": int(dry_run),
            }
        )

    def posts(self, repo: str | None = None, pr: int | None = None) -> list[dict]:
        clauses, args = [], []
        if repo is not None:
            clauses.append("repo = ?")
            args.append(repo)
        if pr is not None:
            clauses.append("pr = ?")
            args.append(pr)
        return list(self.db["posts"].rows_where(" and ".join(clauses) or None, args, order_by="id"))


class EtagStore:
    """bot.github.client's ETag cache, kept in the poll_state table so an idle poll stays free after a restart.

    Inside `hold()` new ETags stay in memory until `flush()`: a poller flushes them in the same
    transaction that keeps what it found, so an answer is never marked "seen" (and later answered
    304) before the bot has kept the events it carried. Leaving `hold()` without a flush drops them,
    and the next poll reads those answers again.
    """

    def __init__(self, store):
        self.store = store
        self._held: dict[str, tuple[str, str]] | None = None

    def get(self, key: str) -> tuple[str, str] | None:
        if self._held is not None and key in self._held:
            return self._held[key]
        rows = list(self.store.db["poll_state"].rows_where("key = ? and etag is not null", [key]))
        return (rows[0]["etag"], rows[0]["value"]) if rows else None

    def put(self, key: str, etag: str, value: str) -> None:
        if self._held is not None:
            self._held[key] = (etag, value)
        else:
            self.store.db["poll_state"].upsert({"key": key, "etag": etag, "value": value}, pk="key")

    @contextmanager
    def hold(self):
        self._held = {}
        try:
            yield self
        finally:
            self._held = None

    def flush(self) -> None:
        if not self._held:
            return
        held, self._held = self._held, {}
        for key, (etag, value) in held.items():
            self.store.db["poll_state"].upsert({"key": key, "etag": etag, "value": value}, pk="key")
