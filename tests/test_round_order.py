"""benchmarks/round_order.py: the lean ABBA leaves, read from a real store's A/A rounds."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import round_order  # noqa: E402
from bot.store import Store  # noqa: E402


def paired_run(store: Store, env: str, base_env: str, rounds: list[list[float]]) -> None:
    run = store.start_run(suite="smoke", device="local", paired=True, env=env, base_env=base_env)
    for _ in range(3):
        store.add_result(run, workload="w", scheme="int8", status="ok", rounds=rounds)
    store.finish_run(run)


def test_the_lean_is_what_abba_leaves_when_the_sides_pay_unequally(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    # base first: the PR pays 10% running second; PR first: the base pays 25%.
    paired_run(store, "a", "a", [[100.0, 110.0], [125.0, 100.0]] * 3)
    paired_run(store, "a", "b", [[100.0, 200.0], [200.0, 100.0]])  # a real change: not A/A
    found = round_order.item_rounds(store, all_runs=False)
    assert list(found) == ["w"] and len(found["w"]) == 3
    assert [x for x, _ in found["w"][0]] == pytest.approx([100 * math.log(1.1), 100 * math.log(0.8)] * 3)
    assert [first for _, first in found["w"][0]] == [True, False] * 3  # a row without round_order: ABBA from 0
    lean = (100 * math.log(1.1) + 100 * math.log(0.8)) / 2
    assert lean == pytest.approx(-6.39, abs=0.01)
    table = round_order.table_of(tmp_path / "perf.db", found)
    cells = [str(c) for column in table.columns for c in column._cells]
    assert f"{lean:+.2f}" in cells
    assert len(round_order.item_rounds(store, all_runs=True)["w"]) == 6
    by_round = round_order.by_round_table(tmp_path / "perf.db", found)
    assert [str(c) for c in by_round.columns[2]._cells][:2] == [f"{100 * math.log(1.1):+.1f} (3)", "-22.3 (3)"]


def test_a_missing_database_is_named(tmp_path):
    with pytest.raises(SystemExit, match="nowhere.db: no such database"):
        round_order.main([str(tmp_path / "nowhere.db")])


def test_a_file_that_is_no_perfbot_database_is_named_in_one_line(tmp_path):
    (tmp_path / "notes.db").write_text("not sqlite at all")
    with pytest.raises(SystemExit, match=r"round_order.py: .*notes.db: not a usable SQLite database"):
        round_order.main([str(tmp_path / "notes.db")])


def test_an_item_with_a_round_that_is_not_a_time_is_left_out_whole(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    paired_run(store, "a", "a", [[100.0, 110.0], [0.0, 100.0], [100.0, 110.0]])
    assert round_order.item_rounds(store, all_runs=False) == {}


def test_which_side_ran_first_is_read_from_the_store_where_it_kept_it(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    run = store.start_run(suite="smoke", device="local", paired=True, env="a", base_env="a")
    # pairs of 2 rounds starting with each side in turn (bot/engine/timing.base_first): b p, p b; the side timed
    # second pays 10% in a pair's first round and 25% in its second, whichever it is
    for _ in range(3):
        store.add_result(run, workload="w", scheme="int8", status="ok", round_order="bppb",
                         rounds=[[100.0, 110.0], [125.0, 100.0], [110.0, 100.0], [100.0, 125.0]])  # fmt: skip
    store.add_result(run, workload="w", scheme="int8", status="ok", round_order="bb", rounds=[[1.0, 1.0]] * 2)
    store.finish_run(run)
    found = round_order.item_rounds(store, all_runs=False)
    assert len(found["w"]) == 3  # one order alone tells no penalty from a lean: left out
    assert [first for _, first in found["w"][0]] == [True, False, False, True]
    cells = [str(c) for column in round_order.table_of(tmp_path / "perf.db", found).columns for c in column._cells]
    assert "+0.00" in cells  # each side paid alike on each place: no lean
    by_round = round_order.by_round_table(tmp_path / "perf.db", found)
    assert [str(c) for c in by_round.columns[1]._cells] == ["base", "PR", "PR", "base"]
    assert [str(c) for c in by_round.columns[2]._cells] == ["+9.5 (3)", "-22.3 (3)", "-9.5 (3)", "+22.3 (3)"]
