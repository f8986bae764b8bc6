"""Read-only queries over recorded history, for verdicts, the dashboard and statistics.

Tested in tests/store/test_history.py.
"""

from __future__ import annotations

from typing import Any

from bot.store.results import decode_row

#: Base-branch history is ordered by commit time when known, else by when it was measured.
HISTORY_ORDER = "coalesce(runs.commit_time, runs.started_at), runs.id"


class History:
    db: Any

    def series_medians(
        self, device: str, workload: str, scheme: str, layout: str, pipeline: str, limit: int = 30
    ) -> list[float]:
        """Medians of the newest `limit` base-branch runs of one series, oldest first (for noise levels)."""
        rows = self.db.execute(
            f"""select results.median_ms from results join runs on runs.id = results.run_id
                where runs.status = 'complete' and runs.kind = 'base' and runs.device = ?
                  and results.workload = ? and results.scheme = ? and results.layout = ? and results.pipeline = ?
                  and results.status = 'ok' and results.median_ms is not null
                order by {HISTORY_ORDER.replace(", runs.id", " desc, runs.id desc")} limit ?""",
            [device, workload, scheme, layout, pipeline, limit],
        ).fetchall()
        return [r[0] for r in reversed(rows)]

    def base_history(self, device: str | None = None) -> list[dict]:
        """Every result of complete base-branch runs, oldest commit first (the steps bisect jobs look for)."""
        sql = """select results.*, runs.device, runs.sha, runs.repo, runs.commit_time, runs.started_at,
                         runs.tvm_version, runs.tvm_ffi_version, runs.env, runs.suite, runs.emulated
                  from results join runs on runs.id = results.run_id
                  where runs.status = 'complete' and runs.kind = 'base'"""
        args: list = []
        if device is not None:
            sql += " and runs.device = ?"
            args.append(device)
        sql += f" order by {HISTORY_ORDER}, results.id"
        return [decode_row(r) for r in self.db.query(sql, args)]

    def has_base_run(self, device: str, sha: str, suite: str) -> bool:
        row = self.db.execute(
            "select 1 from runs where status = 'complete' and kind = 'base' and device = ? and sha = ? and suite = ?",
            [device, sha, suite],
        ).fetchone()
        return row is not None
