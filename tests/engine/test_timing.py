"""A PR's build beside its base's: rounds spread over fresh pairs of real TVM children."""

import dataclasses
import json

import pytest

from bot.child import MEASURE_SCRIPT
from bot.engine import isolation
from bot.engine.isolation import ChildOutcome
from bot.engine.timing import Plan, _combined, _shares, base_first, time_pair


@pytest.fixture
def servers(tmp_path, bot_python):
    """The base's and the PR's fork servers, the same TVM on both sides as in an A/A job: here every pair of
    children is forked from these two (the runner gives each pair its own: tests/engine/test_runner.py)."""
    pair = [isolation.ForkServer(bot_python, MEASURE_SCRIPT, tmp_path / name) for name in ("base-server", "server")]
    yield lambda index: (pair[0], pair[1])
    for server in pair:
        server.kill()


PLAN = Plan(pair_rounds=3, max_rounds=8, round_repeat=2, block_timeout_s=60)  # 3, 3 and 2 rounds: three pairs


def children(workdir, side: str) -> list[dict]:
    return [json.loads((folder / "result.json").read_text()) for folder in sorted(workdir.glob(f"{side}*"))]


def test_rounds_are_spread_over_fresh_children_each_compiled_and_checked(tmp_path, servers, tiny_spec):
    pair = time_pair(servers, tiny_spec, tmp_path / "item", PLAN, 120, skip_same_code=False)
    assert len(pair.rounds) == 8 and all(b > 0 and p > 0 for b, p in pair.rounds)
    assert pair.base.status == pair.pr.status == "ok" and pair.same_code
    assert len(pair.base.samples_ms) == len(pair.pr.samples_ms) == 16  # 8 rounds of 2 samples a side
    for side in ("base", "pr"):
        ran = children(tmp_path / "item", side)
        assert len(ran) == 3, f"{side}: {len(ran)} children, want one per pair"
        assert all(r["status"] == "ok" and r["phase"] == "done" and r["compile_s"] > 0 for r in ran)
        assert len({r["code_hash"] for r in ran}) == 1  # each compiled the same code afresh
        # each ran its model to check the answer (also its warm-up), then once a sample: 3, 3 and 2 rounds of 2
        assert [r["runs"] for r in ran] == [1 + 6, 1 + 6, 1 + 4]
    measured = sum(r["measure_s"] for r in children(tmp_path / "item", "pr"))
    assert pair.pr.data["measure_s"] == pytest.approx(measured)


def test_one_pair_of_children_when_asked_for_one(tmp_path, servers, tiny_spec):
    pair = time_pair(
        servers, tiny_spec, tmp_path / "item", dataclasses.replace(PLAN, pair_rounds=8), 120, skip_same_code=False
    )
    assert len(pair.rounds) == 8
    assert [len(children(tmp_path / "item", side)) for side in ("base", "pr")] == [1, 1]


def test_rounds_stop_at_the_end_of_the_pair_whose_look_says_enough(tmp_path, servers, tiny_spec):
    looked: list[int] = []

    def enough(rounds):
        looked.append(len(rounds))
        return len(rounds) >= 6

    pair = time_pair(servers, tiny_spec, tmp_path / "item", PLAN, 120, skip_same_code=False, enough=enough)
    assert looked == [3, 6] and len(pair.rounds) == 6 and pair.pr.status == "ok"
    assert [len(children(tmp_path / "item", side)) for side in ("base", "pr")] == [2, 2]
    assert len(pair.pr.samples_ms) == 12  # 6 rounds of 2 samples


def test_the_same_code_on_both_sides_is_not_timed_and_needs_no_second_pair(tmp_path, servers, tiny_spec):
    pair = time_pair(servers, tiny_spec, tmp_path / "item", PLAN, 120)
    assert pair.same_code and pair.rounds == [] and pair.pr.samples_ms == []
    assert [len(children(tmp_path / "item", side)) for side in ("base", "pr")] == [1, 1]


@pytest.mark.parametrize(
    "pair_rounds, cap, shares", [(4, 24, [4] * 6), (3, 8, [3, 3, 2]), (10, 10, [10]), (4, 2, [2]), (4, 0, [])]
)
def test_rounds_are_taken_a_pairs_share_at_a_time_up_to_the_cap(pair_rounds, cap, shares):
    assert _shares(pair_rounds, cap) == shares


@pytest.mark.parametrize("pair_rounds", [1, 2, 3, 4])
def test_each_place_in_a_pair_goes_to_each_side_in_turn(pair_rounds):
    starts = [base_first(pair, 0) for pair in range(6)]
    assert starts == [True, False] * 3  # each pair starts with the side the one before it started second
    for pair in range(6):  # ABBA within a pair
        assert [base_first(pair, n) for n in range(pair_rounds)] == [
            starts[pair] == (n % 2 == 0) for n in range(pair_rounds)
        ]
    for number in range(pair_rounds):  # over two pairs, the base takes each place first once
        assert sum(base_first(pair, number) for pair in range(2)) == 1


def outcome(status, measure_s=1.0, **data):
    return ChildOutcome(status, {"measure_s": measure_s, **data}, error=f"{status} here", wall_s=2.0)


def test_a_later_child_that_failed_is_the_sides_outcome():
    first = outcome("ok", code_hash="abc")
    assert _combined([first, outcome("ok"), outcome("crash")]).status == "crash"
    assert _combined([outcome("ok"), outcome("wrong_result")]).status == "wrong_result"


def test_a_first_wrong_result_is_not_hidden_by_later_correct_children():
    assert _combined([outcome("wrong_result"), outcome("ok"), outcome("ok")]).status == "wrong_result"


def test_children_that_all_went_well_report_the_first_and_their_time_together():
    combined = _combined([outcome("ok", 1.0, code_hash="abc"), outcome("ok", 2.0), outcome("ok", 0.5)])
    assert combined.status == "ok" and combined.data["code_hash"] == "abc"
    assert combined.data["measure_s"] == 3.5 and combined.wall_s == 6.0
