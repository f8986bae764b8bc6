"""A probe's answer, its timeout and its failure, each as the one line a user reads."""

import sys

import pytest

from bot.engine.boards import probe
from bot.errors import DeviceUnavailable


def test_the_last_line_is_the_answer():
    command = [sys.executable, "-c", "print('chatter'); print('{\"port\": 9190}')"]
    assert probe.answer(command, timeout_s=60, asking="asking x") == {"port": 9190}


@pytest.mark.parametrize(
    "code, timeout_s, message",
    [
        ("import time; time.sleep(30)", 0.5, "asking x took over 0.5 s"),
        ("import sys; sys.exit('no tracker here')", 60, "asking x failed: no tracker here"),
        ("print('not json')", 60, "asking x failed: no answer on its last line"),
    ],
)
def test_what_went_wrong_is_one_line_naming_what_was_asked(code, timeout_s, message):
    with pytest.raises(DeviceUnavailable) as e:
        probe.answer([sys.executable, "-c", code], timeout_s=timeout_s, asking="asking x")
    assert str(e.value) == message
