"""The store: migrations, refusal of foreign or newer files, all-or-nothing transactions."""

import os
import sqlite3
from pathlib import Path

import pytest

from bot.errors import DatabaseError
from bot.store import Store, schema


def test_new_database_is_at_latest_schema(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    assert store.schema_version == schema.LATEST
    assert {"runs", "results", "jobs", "pull_requests", "inbox"} <= set(store.db.table_names())


def test_old_database_is_migrated_in_order(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    schema.MIGRATIONS[0](db)
    conn.execute("PRAGMA user_version = 1")
    db["runs"].insert(
        {"started_at": "2026-01-01", "status": "complete", "suite": "smoke", "device": "local", "kind": "local"}
    )
    conn.commit()
    conn.close()
    store = Store.open(path)
    assert store.schema_version == schema.LATEST
    assert store.runs()[0]["suite"] == "smoke"
    assert "commit_time" in store.db["jobs"].columns_dict


def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    conn.close()
    with pytest.raises(DatabaseError, match=r"new.db: written by a newer perfbot \(schema"):
        Store.open(path)


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("create table photos (id integer)")
    conn.close()
    with pytest.raises(DatabaseError, match="not a perfbot database"):
        Store.open(path)
    assert sqlite3.connect(path).execute("select name from sqlite_master").fetchall() == [("photos",)]


def test_not_sqlite_at_all_is_refused(tmp_path):
    path = tmp_path / "junk.db"
    path.write_text("this is not a database " * 100)
    with pytest.raises(DatabaseError, match="junk.db: not a usable SQLite database"):
        Store.open(path)


def test_missing_database_is_not_created_when_reading(tmp_path):
    with pytest.raises(DatabaseError, match="no perfbot database here; record a first run with `perfbot run"):
        Store.open(tmp_path / "absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()


def test_a_database_in_a_missing_folder_is_refused_naming_the_folder(tmp_path):
    with pytest.raises(DatabaseError, match=f"the folder {tmp_path / 'nowhere'} does not exist"):
        Store.open(tmp_path / "nowhere" / "perf.db")
    assert not (tmp_path / "nowhere").exists()


def unwritable(tmp_path: Path) -> Path:
    """A folder this process cannot write to (tests/cli/test_setup.py uses it too)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return folder if not os.access(folder, os.W_OK) else Path("/proc/sys")  # root ignores the mode bits


def test_a_database_in_a_folder_perfbot_cannot_write_is_refused_naming_the_folder(tmp_path):
    folder = unwritable(tmp_path)
    with pytest.raises(DatabaseError, match=f"the folder {folder} is not writable"):
        Store.check(folder / "perf.db")
    assert not (folder / "perf.db").exists()


def damaged(path: Path) -> bytes:
    """A perfbot database of 200 runs with one page overwritten, as a bad disk or a killed copy leaves it;
    returns its bytes (tests/cli/test_setup.py uses it too)."""
    store = Store.open(path)
    for _ in range(200):
        store.add_result(store.start_run(suite="smoke", device="local"), workload="w" * 50, status="ok")
    store.close()
    with path.open("r+b") as f:
        f.seek(4 * 4096)
        f.write(bytes(range(256)) * 16)
    return path.read_bytes()


def test_a_damaged_database_is_refused_naming_the_file_and_the_backup_and_left_as_it_was(tmp_path):
    path = tmp_path / "perf.db"
    before = damaged(path)
    with pytest.raises(DatabaseError) as refused:
        Store.open(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: damaged, it fails SQLite's quick check (") and "\n" not in message
    assert "restore it from your backup" in message and ".recover" in message
    assert path.read_bytes() == before


def test_transaction_is_all_or_nothing(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    with pytest.raises(RuntimeError):
        with store.transaction():
            run = store.start_run(suite="smoke", device="local")
            store.add_result(run, workload="w", status="ok", samples_ms=[1.0])
            raise RuntimeError("power cut")
    assert store.runs() == []
    assert list(store.db["results"].rows) == []
