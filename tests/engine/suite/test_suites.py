"""Suites: names, contents and settings."""

import pytest

from bot.engine.suite.inception import SEED, conv_shapes
from bot.engine.suite.suites import get_suite, user_suite
from bot.errors import BadModel, UnknownName


def test_smoke_is_the_story_layer_and_two_more_in_both_schemes():
    smoke = get_suite("smoke")
    assert len(smoke.workloads) == 6
    assert {w.scheme for w in smoke.workloads} == {"uint8", "int8"}
    assert SEED.name in {w.name for w in smoke.workloads}
    assert smoke.repeat >= 5  # enough samples for a verdict


def test_conv_has_every_configuration_and_full_adds_the_network():
    conv, full = get_suite("conv"), get_suite("full")
    assert len(conv.workloads) == 2 * len(conv_shapes())
    assert set(full.workloads) - set(conv.workloads) == {w for w in full.workloads if w.name == "inception_v3"}
    assert len(full.workloads) == len(conv.workloads) + 2


def test_unknown_suite_names_the_known_ones():
    with pytest.raises(UnknownName, match="'nightly'.*smoke, conv, full"):
        get_suite("nightly")


def test_user_suite_refuses_a_file_that_is_not_a_model(tmp_path):
    bad = tmp_path / "notes.tflite"
    bad.write_text("hello")
    with pytest.raises(BadModel, match="notes.tflite: not a TFLite model"):
        user_suite(bad)
