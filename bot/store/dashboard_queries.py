"""Read-only queries for the dashboard: every point of history in one query, only the columns it draws.

Per-function instruction counts (results.functions, a JSON object per row)
are left out of the history query: a counted deployment would parse one
per point of every trend, and the pages show them for the newest run only,
fetched by `functions_of`.
"""

from __future__ import annotations

import json
from typing import Any

from bot.store.history import HISTORY_ORDER

_COLUMNS = """results.id, results.run_id, results.workload, results.scheme, results.layout, results.pipeline,
              results.status, results.samples_ms, results.median_ms, results.tflite_median_ms, results.ratio,
              results.max_abs_diff, results.mismatch_fraction, results.error, results.untuned_tasks,
              results.instructions, results.tflite_instructions, results.instruction_ratio,
              results.base_median_ms, results.base_instructions, results.same_code, results.attempt,
              runs.device, runs.suite, runs.sha, runs.repo, runs.pr, runs.base_sha, runs.commit_time,
              runs.started_at, runs.tvm_version, runs.env, runs.emulated, runs.metric, runs.emulator"""


class DashboardQueries:
    db: Any

    def dashboard_points(self, kind: str) -> list[dict]:
        """Every result of complete runs of one kind ('base', 'pr' or 'local'), in history order, `samples_ms` decoded.

        Base-branch points come oldest commit first (commit time, else when
        measured); PR points and local tries (`perfbot run`, no base-branch
        commit) in the order they were measured. A run's result rows carry the
        run's device, commit, PR, versions, environment and metric.
        """
        order = HISTORY_ORDER if kind == "base" else "runs.started_at, runs.id"
        cursor = self.db.execute(
            f"""select {_COLUMNS} from results join runs on runs.id = results.run_id
                where runs.status = 'complete' and runs.kind = ? order by {order}, results.id""",
            [kind],
        )
        names = [d[0] for d in cursor.description]
        rows = []
        for values in cursor:
            row = dict(zip(names, values))
            samples = row["samples_ms"]
            row["samples_ms"] = json.loads(samples) if samples else []
            rows.append(row)
        return rows

    def complete_runs(self, kind: str) -> list[dict]:
        """Complete runs of one kind ('base', 'pr' or 'local'), in the order they were recorded."""
        return list(self.db["runs"].rows_where("kind = ? and status = 'complete'", [kind], order_by="id"))

    def functions_of(self, run_id: int) -> dict[int, dict[str, int]]:
        """{result id: its per-function instruction counts} of one run's counted results."""
        rows = self.db.execute(
            "select id, functions from results where run_id = ? and functions is not null", [run_id]
        ).fetchall()
        return {result_id: json.loads(functions) for result_id, functions in rows}
