"""The only place perfbot speaks SQL (through sqlite-utils).

`Store.open` creates or migrates the database; the methods are grouped by
concern in the mixins of this package: runs and results, the job queue, and
what the bot remembers about GitHub.

    schema.py             the migrations, in order (PRAGMA user_version)
    results.py            runs, their results, tuning outcomes, what networks are made of
    history.py            read-only history: verdicts, statistics
    jobs.py               the job queue, claimed with a lease
    github_state.py       what the bot remembers of GitHub: PRs, comments, statuses, inbox, outbox
    bisections.py         which base-branch commit moved a series
    dashboard_queries.py  read-only queries shaped for the dashboard

It imports sqlite-utils and the shared errors and vocabulary, nothing of the
engine, the GitHub side or the CLI: every room may read and write the store,
and the store knows none of them.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from bot.errors import DatabaseError
from bot.store import schema
from bot.store.bisections import Bisections
from bot.store.dashboard_queries import DashboardQueries
from bot.store.github_state import GitHubState
from bot.store.history import History
from bot.store.jobs import Jobs
from bot.store.merging import Merging
from bot.store.results import Networks, Results


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store(Results, Networks, Bisections, History, Jobs, GitHubState, DashboardQueries, Merging):
    """A perfbot database on disk."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None):
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> Store:
        """Open (and migrate) a database; `create=False` refuses to make a new file."""
        path = Path(path)
        if not create and not path.exists():
            raise DatabaseError(f"{path}: no perfbot database here; record a first run with `perfbot run --db {path}`")
        try:
            conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            db = sqlite_utils.Database(conn)
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise DatabaseError(f"{path}: not a usable SQLite database ({e})") from None
        if version > schema.LATEST:
            raise DatabaseError(
                f"{path}: written by a newer perfbot (schema {version}, this one knows {schema.LATEST}); upgrade perfbot"
            )
        if version == 0 and db.table_names() and "runs" not in db.table_names():
            raise DatabaseError(
                f"{path}: an SQLite file that is not a perfbot database (tables: {', '.join(db.table_names()[:5])})"
            )
        store = cls(db, path)
        store._migrate(version)
        return store

    @classmethod
    def memory(cls) -> Store:
        store = cls(sqlite_utils.Database(memory=True), None)
        store._migrate(0)
        return store

    def _migrate(self, version: int) -> None:
        for number in range(version, schema.LATEST):
            with self.transaction():
                schema.MIGRATIONS[number](self.db)
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def transaction(self):
        """All or nothing: a failure inside leaves the database as it was."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.db.close()
