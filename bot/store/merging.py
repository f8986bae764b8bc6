"""Bringing runs from other perfbot databases into this one: a PR measured on several boards in CI.

Each board's CI job writes its own database (a copy of its base-branch history plus the PR's runs);
the job that posts the comment merges them, so the one comment covers every board.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.errors import DatabaseError

#: What makes a run the same run in two databases (ids are per file).
RUN_IDENTITY = ("device", "sha", "kind", "env", "started_at")


class Merging:
    db: Any
    transaction: Any

    def merge_runs_from(self, path: Path) -> int:
        """Copy the complete runs (with their results) that this database lacks; returns how many were new.

        All in one transaction: a file that fails half-way leaves this database as it was.
        """
        from bot.store import Store

        other = Store.open(path, create=False)
        try:
            runs = list(other.db["runs"].rows_where("status = 'complete'", order_by="id"))
            known = {tuple(r[c] for c in RUN_IDENTITY) for r in self.db["runs"].rows}
            run_columns = set(self.db["runs"].columns_dict)
            result_columns = set(self.db["results"].columns_dict)
            added = 0
            with self.transaction():
                for run in runs:
                    if tuple(run[c] for c in RUN_IDENTITY) in known:
                        continue
                    results = list(other.db["results"].rows_where("run_id = ?", [run["id"]], order_by="id"))
                    fields = {k: v for k, v in run.items() if k in run_columns and k != "id"}
                    run_id = self.db["runs"].insert(fields).last_pk
                    for result in results:
                        row = {k: v for k, v in result.items() if k in result_columns and k != "id"}
                        self.db["results"].insert({**row, "run_id": run_id})
                    added += 1
        except Exception as e:
            raise DatabaseError(f"{path}: could not merge its runs ({e}); nothing was merged") from None
        finally:
            other.db.conn.close()
        return added
