"""The version-pair table the pip provider relies on."""

from bot import compat


def test_known_pairs_pin_the_companions_seen_to_work():
    assert compat.companion("0.25.0") == "0.1.12"
    assert compat.companion("0.26.0") == "0.1.14.post0"
    assert compat.companion("0.27.0.post1") == "0.1.14.post0"
    assert compat.companion("9.9.9") is None


def test_known_bad_pairs_say_why():
    assert "import" in compat.broken("0.25.0", "0.1.15.post2").note
    assert "MetaSchedule" in compat.broken("0.27.0.post1", "0.1.15.post2").note
    assert compat.broken("0.27.0.post1", "0.1.14.post0") is None


def test_no_release_is_both_pinned_to_and_broken_with_a_companion():
    for tvm, ffi in compat.COMPANIONS.items():
        assert compat.broken(tvm, ffi) is None
