"""The job queue: one job per (repo, sha, device, suite, config, kind), claimed with a lease.

A worker claims a job for `lease_s` seconds and extends the lease with
heartbeats. A worker that dies (kill -9) stops heartbeating; once its lease
has expired another worker claims the job again. Finishing requires holding
the lease, so a job completes exactly once even if the first worker comes back.
Every state change is a single UPDATE, atomic without an explicit transaction.
"""

from __future__ import annotations

import time
from typing import Any

#: A job that took down this many workers is marked failed instead of claimed again.
MAX_ATTEMPTS = 3
ACTIVE = ("pending", "running")


def job_key(repo: str | None, sha: str, device: str, suite: str, config: str, kind: str) -> str:
    return f"{repo or '-'}@{sha}:{device}:{suite}:{config}:{kind}"


class Jobs:
    db: Any

    def enqueue(
        self,
        *,
        sha: str,
        device: str,
        suite: str,
        config: str = "default",
        kind: str = "pr",
        repo: str | None = None,
        pr: int | None = None,
        base_sha: str | None = None,
        priority: int = 0,
        requested_by: str | None = None,
        force: bool = False,
        commit_time: str | None = None,
    ) -> tuple[int, bool]:
        """Queue a job; returns (job id, whether anything changed).

        Enqueueing a job that is pending or running is a no-op. A cancelled job
        is queued again (it is wanted after all: a reopened PR, a push back to an
        earlier head); a finished or failed one only with `force` (a rerun).
        """
        from bot.store import utcnow

        key = job_key(repo, sha, device, suite, config, kind)
        stamp = utcnow()
        with self.transaction():
            existing = list(self.db["jobs"].rows_where("key = ?", [key]))
            if existing:
                job = existing[0]
                if job["state"] in ACTIVE or not (force or job["state"] == "cancelled"):
                    return job["id"], False
                self.db["jobs"].update(
                    job["id"],
                    {
                        "state": "pending",
                        "attempts": 0,
                        "worker": None,
                        "lease_expires": None,
                        "run_id": None,
                        "updated_at": stamp,
                        "reason": None,
                        "requested_by": requested_by,
                        "priority": priority,
                        "pr": pr if pr is not None else job["pr"],
                        "base_sha": base_sha or job["base_sha"],
                    },
                )
                return job["id"], True
            job_id = (
                self.db["jobs"]
                .insert(
                    {
                        "key": key,
                        "repo": repo,
                        "pr": pr,
                        "sha": sha,
                        "base_sha": base_sha,
                        "kind": kind,
                        "device": device,
                        "suite": suite,
                        "config": config,
                        "state": "pending",
                        "priority": priority,
                        "attempts": 0,
                        "created_at": stamp,
                        "updated_at": stamp,
                        "requested_by": requested_by,
                        "commit_time": commit_time,
                    }
                )
                .last_pk
            )
            return job_id, True

    def claim(self, device: str, worker: str, lease_s: float = 120.0, now: float | None = None) -> dict | None:
        """Take the most urgent job for a device: pending ones, or running ones whose lease expired."""
        from bot.store import utcnow

        now = time.time() if now is None else now
        self.db.execute(
            """update jobs set state = 'failed', reason = 'gave up after ' || attempts || ' attempts',
                   updated_at = ? where device = ? and state = 'running' and lease_expires < ? and attempts >= ?""",
            [utcnow(), device, now, MAX_ATTEMPTS],
        )
        row = self.db.execute(
            """update jobs set state = 'running', worker = ?, lease_expires = ?, attempts = attempts + 1,
                   updated_at = ?
               where id = (select id from jobs where device = ?
                           and (state = 'pending' or (state = 'running' and lease_expires < ?))
                           order by priority desc, id limit 1)
               returning *""",
            [worker, now + lease_s, utcnow(), device, now],
        ).fetchone()
        if row is None:
            return None
        columns = [c.name for c in self.db["jobs"].columns]
        return dict(zip(columns, row))

    def heartbeat(self, job_id: int, worker: str, lease_s: float = 120.0, now: float | None = None) -> bool:
        """Extend the lease; False when this worker no longer holds the job (cancelled or taken over)."""
        now = time.time() if now is None else now
        cursor = self.db.execute(
            "update jobs set lease_expires = ? where id = ? and worker = ? and state = 'running'",
            [now + lease_s, job_id, worker],
        )
        return cursor.rowcount == 1

    def finish(
        self, job_id: int, worker: str, state: str = "done", run_id: int | None = None, reason: str | None = None
    ) -> bool:
        """Close a job this worker holds; False (and nothing changed) if it no longer holds it."""
        from bot.store import utcnow

        if state not in ("done", "failed"):
            raise ValueError(f"a job finishes as done or failed, not {state!r}")
        cursor = self.db.execute(
            """update jobs set state = ?, run_id = ?, reason = ?, lease_expires = null, updated_at = ?
               where id = ? and worker = ? and state = 'running'""",
            [state, run_id, reason, utcnow(), job_id, worker],
        )
        return cursor.rowcount == 1

    def release(self, job_id: int, worker: str, reason: str) -> bool:
        """Give a job back to the queue (e.g. the device went away) without counting the attempt."""
        from bot.store import utcnow

        cursor = self.db.execute(
            """update jobs set state = 'pending', worker = null, lease_expires = null, reason = ?,
                   attempts = max(attempts - 1, 0), updated_at = ?
               where id = ? and worker = ? and state = 'running'""",
            [reason, utcnow(), job_id, worker],
        )
        return cursor.rowcount == 1

    def cancel_jobs(self, repo: str, pr: int, keep_sha: str | None = None, reason: str = "cancelled") -> int:
        """Cancel a PR's pending and running jobs, except those for `keep_sha` (the new head)."""
        from bot.store import utcnow

        sql = """update jobs set state = 'cancelled', reason = ?, updated_at = ?
                 where repo = ? and pr = ? and kind = 'pr' and state in ('pending', 'running')"""
        args: list = [reason, utcnow(), repo, pr]
        if keep_sha is not None:
            sql += " and sha != ?"
            args.append(keep_sha)
        return self.db.execute(sql, args).rowcount

    def job(self, job_id: int) -> dict | None:
        rows = list(self.db["jobs"].rows_where("id = ?", [job_id]))
        return rows[0] if rows else None

    def jobs(self, where: str | None = None, args: list | tuple = (), order_by: str = "id") -> list[dict]:
        return list(self.db["jobs"].rows_where(where, list(args), order_by=order_by))

    def running_jobs(self) -> list[dict]:
        """Jobs a worker holds now (`perfbot status`)."""
        return self.jobs("state = 'running'")

    def head_jobs(self, repo: str, pr: int, sha: str) -> list[dict]:
        """A PR head's jobs, every state, oldest first."""
        return self.jobs("repo = ? and pr = ? and sha = ? and kind = 'pr'", [repo, pr, sha])

    def base_jobs(self, repo: str, sha: str) -> list[dict]:
        """A base-branch commit's jobs (e.g. a PR's merge base), every state, oldest first."""
        return self.jobs("repo = ? and sha = ? and kind = 'base'", [repo, sha])

    def supersede_tuning(self, repo: str, device: str, sha: str) -> int:
        """A new base-branch head: the device's queued tuning of older heads is cancelled (running ones stop)."""
        from bot.store import utcnow

        return self.db.execute(
            """update jobs set state = 'cancelled', reason = ?, updated_at = ?
               where repo = ? and device = ? and kind = 'tune' and sha != ? and state in ('pending', 'running')""",
            [f"superseded by {sha[:10]}", utcnow(), repo, device, sha],
        ).rowcount

    def tuning_active(self, device: str) -> bool:
        """A tuning job for the device is queued or running."""
        row = self.db.execute(
            "select 1 from jobs where device = ? and kind = 'tune' and state in ('pending', 'running') limit 1",
            [device],
        ).fetchone()
        return row is not None

    def job_counts(self) -> dict[tuple[str, str], int]:
        """(device, state) -> number of jobs."""
        rows = self.db.execute("select device, state, count(*) from jobs group by device, state").fetchall()
        return {(device, state): n for device, state, n in rows}

    def abort_stale_runs(self, job_id: int) -> int:
        """Runs left `running` by a worker that died holding this job are marked aborted."""
        from bot.store import utcnow

        return self.db.execute(
            "update runs set status = 'aborted', finished_at = ? where job_id = ? and status = 'running'",
            [utcnow(), job_id],
        ).rowcount
