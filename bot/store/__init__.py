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
    merging.py            runs brought in from other perfbot databases (a PR measured on several boards)

It imports sqlite-utils and the shared errors and vocabulary, nothing of the
engine, the GitHub side or the CLI: every room may read and write the store,
and the store knows none of them.
"""

from __future__ import annotations

import os
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
    def check(cls, path: str | Path, create: bool = True) -> None:
        """Refuse, before a command does any work, a database perfbot could not write safely; writes nothing.

        The folder must exist and be writable (SQLite's write-ahead log lives beside the file), and an
        existing file must pass SQLite's quick check: a damaged file is never written into, since every
        run added to it could be lost with it. The quick check reads every page: about 50 ms for a 36 MB
        file of 105,625 results here.
        """
        path = Path(path)
        folder = path.parent
        if not create and not path.exists():
            raise DatabaseError(f"{path}: no perfbot database here; record a first run with `perfbot run --db {path}`")
        if not folder.is_dir():
            raise DatabaseError(f"{path}: the folder {folder} does not exist; create it, or give another --db")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DatabaseError(f"{path}: the folder {folder} is not writable; give a --db in a folder you can write")
        if path.exists():
            _quick_check(path)

    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> Store:
        """Open (and migrate) a database after `check`; `create=False` refuses to make a new file."""
        path = Path(path)
        cls.check(path, create)
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


def _quick_check(path: Path) -> None:
    """DatabaseError naming the file when SQLite's quick check finds it damaged (or it is not SQLite at all)."""
    try:
        conn = sqlite3.connect(str(path), timeout=30)
        try:
            said = [row[0] for row in conn.execute("PRAGMA quick_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            raise DatabaseError(f"{path}: not a usable SQLite database ({e})") from None
        said = [str(e)]
    if said == ["ok"]:
        return
    problems = [line for text in said for line in text.splitlines() if line and not line.startswith("***")] or said
    more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
    raise DatabaseError(
        f"{path}: damaged, it fails SQLite's quick check ({problems[0]}{more}); perfbot does not write into it: "
        f"restore it from your backup, or save what is readable with `sqlite3 {path} .recover | sqlite3 NEW.db`"
    )
