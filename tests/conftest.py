"""Shared fixtures. Plugins below keep each area's fixtures next to its own code."""

import sys
from pathlib import Path

import pytest

from bot.engine.suite.graph import SCHEMES, GraphBuilder

pytest_plugins = ["tests.fake_github.fixtures"]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A small real quantized conv model (a user's file): compiles and runs in about a second."""
    g = GraphBuilder(SCHEMES["int8"], 11, (1, 16, 16, 8))
    y = g.conv(g.input, 16, (3, 3), relu=True)
    path = tmp_path_factory.mktemp("models") / "tiny_conv.tflite"
    path.write_bytes(g.finish(y))
    return path


@pytest.fixture
def bot_python() -> Path:
    """The interpreter with the TVM under test: the dev install's own."""
    return Path(sys.executable)
