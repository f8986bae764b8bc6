"""benchmarks/load_hits.py: which side the load hits, read from a real store's samples."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import load_hits  # noqa: E402
from bot.store import Store  # noqa: E402


def paired_run(store: Store, env: str, base_env: str, base: list[float], pr: list[float]) -> None:
    run = store.start_run(suite="smoke", device="local", paired=True, env=env, base_env=base_env)
    rounds = [[b, p] for b, p in zip(base, pr, strict=True)]
    store.add_result(run, workload="w", scheme="int8", status="ok", rounds=rounds, samples_ms=pr,
                     base_samples_ms=base)  # fmt: skip
    store.finish_run(run)


def test_a_short_side_hit_by_load_pulls_a_doubling_towards_one(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    # the base (10 ms) is hit by +5 ms in half its samples, the PR (20 ms) never
    paired_run(store, "a", "b", [10.0, 15.0, 10.0, 15.0], [20.0, 20.0, 20.0, 20.0])
    paired_run(store, "a", "c", [10.0, 10.5, 10.0, 10.5], [10.3, 10.3, 10.3, 10.3])  # +3%: left out
    paired_run(store, "a", "a", [10.0, 15.0], [20.0, 20.0])  # A/A: left out
    found = load_hits.changed_items(store, least=0.4)
    assert list(found) == ["w"] and len(found["w"]) == 1
    cells = [str(c._cells[0]) for c in load_hits.hits_table(tmp_path / "perf.db", found, 1.2).columns]
    rounds = (math.log(2) + math.log(20 / 15)) / 2
    assert cells == ["w", "1", "50% of 4", "0% of 4", load_hits.change(rounds), "+60.0%", "+100.0%"]


def test_a_missing_database_is_named(tmp_path):
    with pytest.raises(SystemExit, match="load_hits.py: .*none.db: no such database"):
        load_hits.main([str(tmp_path / "none.db")])


def test_each_sides_lateness_is_shown_at_each_round(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    paired_run(store, "a", "b", [10.0, 15.0, 10.0, 15.0], [20.0, 21.0, 20.0, 20.0])
    paired_run(store, "a", "b", [10.0, 13.0], [20.0, 20.0])
    table = load_hits.by_round_table(tmp_path / "perf.db", load_hits.changed_items(store, least=0.4))
    assert [str(c) for c in table.columns[1]._cells] == ["0.0 / 0.0 (2)", "4.0 / 0.5 (2)", "0.0 / 0.0 (1)",
                                                          "5.0 / 0.0 (1)"]  # fmt: skip
