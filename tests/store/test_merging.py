"""Merging the boards' databases into the one the comment is written from."""

from __future__ import annotations

import pytest

from bot.errors import DatabaseError
from bot.store import Store


def board_db(path, device: str, medians: list[float]) -> Store:
    store = Store.open(path)
    for i, median in enumerate(medians):
        run = store.start_run(device=device, sha=f"{i:040x}", kind="pr", pr=7, env="source:tvm", suite="smoke")
        store.add_result(run, workload="qconv", scheme="uint8", layout="NHWC", pipeline="default", status="ok",
                         median_ms=median, samples_ms=[median, median])  # fmt: skip
        store.finish_run(run)
    store.start_run(device=device, sha="f" * 40, kind="pr", pr=7, env="source:tvm", suite="smoke")  # still running
    return store


def test_runs_of_every_board_land_once_with_their_results(tmp_path):
    board_db(tmp_path / "a.db", "rpi4", [3.0, 4.0])
    board_db(tmp_path / "b.db", "graviton", [1.0])
    report = Store.open(tmp_path / "report.db")
    assert report.merge_runs_from(tmp_path / "a.db") == 2
    assert report.merge_runs_from(tmp_path / "b.db") == 1
    assert report.merge_runs_from(tmp_path / "a.db") == 0  # a second merge adds nothing
    runs = report.runs(order_by="id")
    assert [(r["device"], r["status"]) for r in runs] == [("rpi4", "complete")] * 2 + [("graviton", "complete")]
    assert [[row["median_ms"] for row in report.results(r["id"])] for r in runs] == [[3.0], [4.0], [1.0]]
    assert report.results(runs[0]["id"])[0]["samples_ms"] == [3.0, 3.0]


def test_a_file_that_is_not_a_perfbot_database_merges_nothing(tmp_path):
    report = Store.open(tmp_path / "report.db")
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(DatabaseError, match="junk.db"):
        report.merge_runs_from(tmp_path / "junk.db")
    with pytest.raises(DatabaseError, match="missing.db"):
        report.merge_runs_from(tmp_path / "missing.db")
    assert report.runs() == []
