"""Bisections of the base branch: which commit moved a series to a new level (`perfbot bisect`)."""

from __future__ import annotations

import json
from typing import Any


class Bisections:
    db: Any

    def start_bisection(self, status: str = "running", **fields) -> int:
        """Record a bisection: repo, device, workload, scheme, layout, pipeline, good_sha, bad_sha, reason.

        `status` is `running` for one started now, `queued` for one a job will run (an automatic bisect).
        """
        from bot.store import utcnow

        return self.db["bisections"].insert({**fields, "status": status, "started_at": utcnow()}).last_pk

    def update_bisection(self, bisection_id: int, **fields) -> None:
        """Change a bisection's fields; `evidence` (a list of probes) is kept as JSON."""
        from bot.store import utcnow

        if "evidence" in fields and not isinstance(fields["evidence"], str):
            fields["evidence"] = json.dumps(fields["evidence"])
        if fields.get("status") in ("found", "not_found", "failed"):
            fields.setdefault("finished_at", utcnow())
        self.db["bisections"].update(bisection_id, fields)

    def bisection(self, bisection_id: int) -> dict | None:
        rows = [_decoded(r) for r in self.db["bisections"].rows_where("id = ?", [bisection_id])]
        return rows[0] if rows else None

    def bisections(self, device: str | None = None, status: str | None = None) -> list[dict]:
        """Bisections, oldest first, of one device and/or in one state."""
        clauses, args = [], []
        for column, value in (("device", device), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        where = " and ".join(clauses) or None
        return [_decoded(r) for r in self.db["bisections"].rows_where(where, args, order_by="id")]

    def bisection_for(self, device: str, series: tuple[str, str, str, str], good_sha: str, bad_sha: str) -> dict | None:
        """A bisection of the same series and range already recorded (a change point is bisected once)."""
        rows = self.db["bisections"].rows_where(
            "device = ? and workload = ? and scheme = ? and layout = ? and pipeline = ? and good_sha = ? and bad_sha = ?",
            [device, *series, good_sha, bad_sha],
        )
        rows = [_decoded(r) for r in rows]
        return rows[-1] if rows else None

    def series_bisections(self, device: str, series: tuple[str, str, str, str]) -> list[dict]:
        """Every bisection of one series on one device, oldest first (a moved change point is not bisected again)."""
        rows = self.db["bisections"].rows_where(
            "device = ? and workload = ? and scheme = ? and layout = ? and pipeline = ?",
            [device, *series],
            order_by="id",
        )
        return [_decoded(r) for r in rows]

    def unposted_bisections(self) -> list[dict]:
        """Found bisections of a GitHub repository that no PR has been told about yet (for the GitHub side).

        `pr` may still be unknown: the GitHub side looks it up; one for which GitHub knows no pull
        request gets a `post_note` instead and is not asked about again.
        """
        rows = self.db["bisections"].rows_where(
            "status = 'found' and repo is not null and posted_at is null and post_note is null", order_by="id"
        )
        return [_decoded(r) for r in rows]

    def pr_bisections(self, repo: str, pr: int) -> list[dict]:
        """Found bisections that name a commit of this PR (its one sticky bisect comment shows them all)."""
        rows = self.db["bisections"].rows_where("status = 'found' and repo = ? and pr = ?", [repo, pr], order_by="id")
        return [_decoded(r) for r in rows]


def _decoded(row: dict) -> dict:
    row = dict(row)
    if isinstance(row.get("evidence"), str):
        row["evidence"] = json.loads(row["evidence"])
    return row
