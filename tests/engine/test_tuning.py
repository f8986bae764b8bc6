"""Tuning for real (MetaSchedule in the TVM child) on a small model: a shared database, resumed, applied, moved.

Four trials per task keep it to about a minute; what is checked is what the
bot relies on, not how fast the tuned code is: records land in the device's
database, a rerun tunes nothing again, both layouts' tuned items apply it
(every task has a record, and the answer is still TFLite's), a model whose
tasks the database does not have is `untuned`, and an export moves it all.
"""

from __future__ import annotations

import dataclasses
import json
import tarfile

import pytest

from bot.engine import tuning, tuning_databases
from bot.engine.runner import Runner, Subject
from bot.engine.suite.graph import SCHEMES, GraphBuilder
from bot.engine.suite.suites import user_suite
from bot.errors import BadExport
from bot.store import Store
from tests.engine.test_runner import device

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, tiny_model):
    """The tiny model tuned once for the module: (folder, device, database, first outcome, second outcome)."""
    folder = tmp_path_factory.mktemp("tuning")
    dev = device(folder)
    store = Store.open(folder / "perf.db")
    subject = Subject(python=__import__("sys").executable, env="python:test")
    suite = user_suite(tiny_model)
    lines = []
    first = tuning.tune_suite(store, folder / "cache", suite, dev, subject, 4, say=lines.append)
    second = tuning.tune_suite(store, folder / "cache", suite, dev, subject, 4, say=lines.append)
    return folder, dev, store, first, second, lines


def test_tasks_are_tuned_into_the_devices_database_with_their_provenance(tuned):
    folder, dev, store, first, second, lines = tuned
    assert (
        first.status == "ok"
        and first.trials > 0
        and first.database == tuning_databases.database_dir(folder / "cache", dev)
    )
    assert all(task["after"] >= 1 for task in first.tasks) and len(first.tasks) >= 2
    assert len({t["hash"] for t in first.tasks}) == len(first.tasks)  # each task once, however many items share it
    provenance = json.loads((first.database / "provenance.json").read_text())
    assert provenance[0]["device"] == dev.name and provenance[0]["tvm_version"] and provenance[0]["trials"] == 4
    assert not (first.database.parent / (first.database.name + ".work")).exists()  # the copy replaced the database
    assert [r["status"] for r in store.db["tunings"].rows] == ["ok", "ok"]
    assert any("tuning ok" in line for line in lines)


def test_a_second_tuning_resumes_and_tunes_nothing_already_done(tuned):
    _, _, _, first, second, _ = tuned
    assert second.status == "ok" and second.trials == 0
    assert [t["before"] for t in second.tasks] == [t["after"] for t in first.tasks]


def test_tuned_items_apply_the_database_and_still_give_tflites_answer(tuned, tiny_model):
    folder, dev, store, first, _, _ = tuned
    suite = dataclasses.replace(user_suite(tiny_model), repeat=3)
    subject = Subject(python=__import__("sys").executable, env="python:test")
    outcome = Runner(store, folder / "cache").run(suite, dev, subject, tuning=True)
    rows = {r.config.name: r for r in outcome.results}
    assert set(rows) == {"NHWC/default", "NCHW/default", "NHWC/tuned", "NCHW/tuned"}
    for name in ("NHWC/tuned", "NCHW/tuned"):
        assert rows[name].status == "ok" and rows[name].untuned_tasks == 0 and rows[name].tuned_tasks >= 1
        assert rows[name].max_abs_diff <= 1
    assert rows["NHWC/tuned"].code_hash != rows["NHWC/default"].code_hash  # schedules were applied


def test_a_model_the_database_knows_nothing_of_is_untuned_not_slow(tuned, tmp_path):
    folder, dev, store, _, _, _ = tuned
    g = GraphBuilder(SCHEMES["uint8"], 5, (1, 12, 12, 4))  # another conv: other tasks
    path = tmp_path / "other.tflite"
    path.write_bytes(g.finish(g.conv(g.input, 8, (3, 3), relu=False)))
    suite = dataclasses.replace(user_suite(path), repeat=3)
    subject = Subject(python=__import__("sys").executable, env="python:test")
    outcome = Runner(store, folder / "cache").run(suite, dev, subject, tuning=True)
    tuned_rows = [r for r in outcome.results if r.config.pipeline == "tuned"]
    assert tuned_rows and all(r.status == "ok" and r.untuned_tasks > 0 for r in tuned_rows)


def test_an_export_moves_every_database_to_another_host(tuned, tmp_path):
    folder, dev, _, first, _, _ = tuned
    archive = tmp_path / "tuning.tar.gz"
    assert tuning_databases.export_databases(folder / "cache", archive) == [dev.name]
    other = tmp_path / "other-cache"
    (imported,) = tuning_databases.import_databases(other, archive)
    moved = other / "tuning" / imported
    assert (moved / "database_tuning_record.json").read_text() == (
        first.database / "database_tuning_record.json"
    ).read_text()
    assert tuning_databases.databases(other)[0]["records"] > 0


def test_an_archive_that_is_not_an_export_is_refused_and_changes_nothing(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as archive:
        note = tmp_path / "note"
        note.write_text("x")
        archive.add(note, arcname="../../escape")
    with pytest.raises(BadExport, match="is not part of a perfbot tuning export"):
        tuning_databases.import_databases(tmp_path / "cache", evil)
    assert not (tmp_path / "cache" / "tuning").exists() or not any((tmp_path / "cache" / "tuning").iterdir())
    (tmp_path / "junk.tar.gz").write_text("not gzip")
    with pytest.raises(BadExport, match="not a perfbot tuning export"):
        tuning_databases.import_databases(tmp_path / "cache", tmp_path / "junk.tar.gz")


def test_a_board_behind_the_tracker_is_tuned_there(tmp_path, tiny_model, rpc_pool):
    """MetaSchedule's RPC runner at the device's tracker: candidates cross-built here, measured on the board."""
    from bot.engine.boards import preflight

    board = device(
        tmp_path,
        connection={"type": "rpc", "tracker": f"127.0.0.1:{rpc_pool}", "key": "x86-board"},
        cross_compiler="g++",
        tflite_baseline=False,
    )
    store = Store.open(tmp_path / "perf.db")
    subject = Subject(python=__import__("sys").executable, env="python:test")
    with preflight.device_ready(board, tmp_path):
        outcome = tuning.tune_suite(store, tmp_path / "cache", user_suite(tiny_model), board, subject, 2)
    assert outcome.status == "ok", outcome.error
    assert outcome.trials > 0 and all(task["after"] >= 1 for task in outcome.tasks)
    assert outcome.database == tuning_databases.database_dir(tmp_path / "cache", board)
    assert tuning_databases.databases(tmp_path / "cache")[0]["device"] == board.name
