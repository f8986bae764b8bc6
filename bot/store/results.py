"""Runs, their results, tuning outcomes, and what networks are made of.

Tested in tests/store/test_results.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bot.vocabulary import RESULT_STATUSES

#: The columns that say which measurement a result is, across runs.
SERIES_KEY = ("workload", "scheme", "layout", "pipeline")
#: Columns stored as JSON: lists of samples and rounds, and instruction counts by function.
JSON_COLUMNS = ("samples_ms", "tflite_samples_ms", "base_samples_ms", "rounds", "functions", "tflite_functions",
                "base_functions", "code_functions", "base_code_functions", "changed_functions")  # fmt: skip


def _utcnow() -> str:
    from bot.store import utcnow

    return utcnow()


class Results:
    db: Any

    def start_run(self, **fields) -> int:
        """Record a run as `running`; results follow one by one, then `finish_run`."""
        fields.setdefault("started_at", _utcnow())
        fields.setdefault("status", "running")
        if isinstance(fields.get("target"), (dict, list)):
            fields["target"] = json.dumps(fields["target"], sort_keys=True)
        for flag in ("emulated", "tuning", "paired"):
            if flag in fields:
                fields[flag] = int(bool(fields[flag]))
        return self.db["runs"].insert(fields).last_pk

    def update_run(self, run_id: int, **fields) -> None:
        self.db["runs"].update(run_id, fields)

    def add_result(self, run_id: int, **fields) -> int:
        if fields.get("status") not in RESULT_STATUSES:
            raise ValueError(f"unknown result status {fields.get('status')!r}")
        for key in ("samples_ms", "tflite_samples_ms", "base_samples_ms"):
            if isinstance(fields.get(key), (list, tuple)):
                fields[key] = json.dumps([round(float(v), 6) for v in fields[key]])
        if isinstance(fields.get("rounds"), (list, tuple)):
            fields["rounds"] = json.dumps([[round(float(b), 6), round(float(p), 6)] for b, p in fields["rounds"]])
        for key in ("functions", "tflite_functions", "base_functions", "code_functions", "base_code_functions",
                    "changed_functions"):  # fmt: skip
            if isinstance(fields.get(key), (dict, list)):
                fields[key] = json.dumps(fields[key], sort_keys=True)
        if "same_code" in fields:
            fields["same_code"] = int(bool(fields["same_code"]))
        return self.db["results"].insert({"run_id": run_id, **fields}).last_pk

    def finish_run(self, run_id: int, status: str = "complete") -> None:
        self.db["runs"].update(run_id, {"status": status, "finished_at": _utcnow()})

    def run(self, run_id: int) -> dict | None:
        rows = list(self.db["runs"].rows_where("id = ?", [run_id]))
        return rows[0] if rows else None

    def runs(self, where: str | None = None, args: Iterable = (), order_by: str = "id") -> list[dict]:
        return list(self.db["runs"].rows_where(where, list(args), order_by=order_by))

    def results(self, run_id: int) -> list[dict]:
        return [decode_row(r) for r in self.db["results"].rows_where("run_id = ?", [run_id], order_by="id")]

    def latest_run(
        self, device: str, sha: str | None = None, kind: str | None = None, suite: str | None = None
    ) -> dict | None:
        """The newest complete run matching the given device, commit, kind and suite."""
        clauses, args = ["status = 'complete'", "device = ?"], [device]
        for column, value in (("sha", sha), ("kind", kind), ("suite", suite)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        rows = list(self.db["runs"].rows_where(" and ".join(clauses), args, order_by="id desc", limit=1))
        return rows[0] if rows else None

    def head_runs(self, sha: str, pr: int | None) -> list[dict]:
        """Complete PR runs of a head commit: of this PR, or recorded without a PR number; oldest first."""
        return self.runs("kind = 'pr' and status = 'complete' and sha = ? and (pr is null or pr = ?)", [sha, pr])

    def recent_runs(self, device: str | None = None, limit: int = 20) -> list[dict]:
        """The newest `limit` runs (of one device), oldest first, with how many items each recorded and how
        many of those were ok (first attempts only: a rerun is the same item again)."""
        where, args = ("where runs.device = ?", [device]) if device else ("", [])
        sql = f"""select runs.*, count(results.id) as items, coalesce(sum(results.status = 'ok'), 0) as ok
                  from runs left join results on results.run_id = runs.id and coalesce(results.attempt, 1) = 1
                  {where} group by runs.id order by runs.id desc limit ?"""
        return list(reversed(list(self.db.query(sql, [*args, limit]))))

    def pr_runs(self, number: int, repo: str | None = None) -> list[dict]:
        """Complete PR runs with this PR number (of `repo`, or recorded without one), oldest first."""
        if repo is None:
            return self.runs("kind = 'pr' and status = 'complete' and pr = ?", [number])
        return self.runs(
            "kind = 'pr' and status = 'complete' and pr = ? and (repo is null or repo = ?)", [number, repo]
        )

    def results_at(self, device: str, sha: str, kind: str, pipeline: str | None = None) -> list[dict]:
        """Every result of complete runs of one commit on one device, newest run last."""
        sql = """
            select results.*, runs.started_at, runs.sha, runs.tvm_version, runs.emulated
            from results join runs on runs.id = results.run_id
            where runs.status = 'complete' and runs.device = ? and runs.sha = ? and runs.kind = ?
        """
        args: list = [device, sha, kind]
        if pipeline is not None:
            sql += " and results.pipeline = ?"
            args.append(pipeline)
        sql += " order by runs.id, results.id"
        return [decode_row(r) for r in self.db.query(sql, args)]

    def record_tuning(self, **fields) -> int:
        fields.setdefault("created_at", _utcnow())
        if isinstance(fields.get("target"), (dict, list)):
            fields["target"] = json.dumps(fields["target"], sort_keys=True)
        return self.db["tunings"].insert(fields).last_pk


def decode_row(row: dict) -> dict:
    row = dict(row)
    for key in JSON_COLUMNS:
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


class Networks:
    """What whole networks are made of: their conv2d layers by the conv suite workload that measures each."""

    db: Any

    def record_network_parts(self, network: str, parts: dict[str, int]) -> None:
        """Replace what is known of a network's layers: {conv workload name: how many times it occurs}."""
        with self.transaction():
            self.db["network_parts"].delete_where("network = ?", [network])
            self.db["network_parts"].insert_all(
                [{"network": network, "workload": w, "count": n} for w, n in sorted(parts.items())]
            )

    def network_parts(self, network: str) -> dict[str, int]:
        return {r["workload"]: r["count"] for r in self.db["network_parts"].rows_where("network = ?", [network])}
