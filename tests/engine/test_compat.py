"""The version-pair table the pip provider relies on. The pairs themselves are checked for real
in tests/test_envs.py (0.25.0 with 0.1.15.post2 fails to import; 0.26.0 with its companion
imports) and were measured as bot/engine/compat.py describes."""

import pytest

from bot.engine import compat, envs


@pytest.mark.parametrize(
    "tvm, ffi", [("0.25.0", "0.1.12"), ("0.26.0", "0.1.14.post0"), ("0.27.0.post1", "0.1.14.post0"), ("9.9.9", None)]
)
def test_known_releases_pin_the_companion_seen_to_work(tvm, ffi):
    assert compat.companion(tvm) == ffi


@pytest.mark.parametrize(
    "tvm, ffi, words",
    [
        ("0.25.0", "0.1.15.post2", "does not import (libtvm_runtime.so: undefined symbol"),
        ("0.26.0", "0.1.15.post2", "segfaults inside MetaSchedule tuning"),
        ("0.27.0.post1", "0.1.15.post2", "segfaults inside MetaSchedule tuning"),
    ],
)
def test_known_bad_pairs_say_why(tvm, ffi, words):
    assert words in compat.broken(tvm, ffi).note


def test_working_pairs_are_not_broken():
    for pair in compat.KNOWN_PAIRS:
        assert (compat.broken(pair.tvm, pair.ffi) is None) == pair.works


def test_every_companion_was_seen_to_work_and_every_bad_pair_has_one():
    working = {(p.tvm, p.ffi) for p in compat.KNOWN_PAIRS if p.works}
    assert set(compat.COMPANIONS.items()) <= working
    for pair in compat.KNOWN_PAIRS:
        assert pair.checked, pair
        if not pair.works:
            assert compat.companion(pair.tvm), f"{pair.tvm} has a bad pair but no companion to use instead"


@pytest.mark.parametrize("tvm", sorted(compat.COMPANIONS))
def test_the_pip_provider_installs_the_tables_companion(tvm):
    assert envs.pip_requirements(f"apache-tvm=={tvm}")[:2] == [
        f"apache-tvm=={tvm}",
        f"apache-tvm-ffi=={compat.companion(tvm)}",
    ]
