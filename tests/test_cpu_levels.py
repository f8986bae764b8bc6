"""benchmarks/cpu_levels.py: the machine's speed from moment to moment, and what the system says about it."""

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import cpu_levels  # noqa: E402


def test_each_chunk_of_the_same_work_says_its_wall_and_cpu_time_and_what_the_system_saw():
    found = cpu_levels.chunks(seconds=1.0, chunk_ms=50)
    assert len(found) >= 5
    for chunk in found:
        assert chunk["wall"] > 0 and 0 < chunk["cpu"] <= chunk["wall"] * 1.02 + 1.0  # one thread: no more CPU than wall
        assert chunk["steal"] >= 0 and chunk["waited"] >= 0 and isinstance(chunk["moved"], bool)


def test_one_process_pinned_to_each_cpu_gives_a_level_per_half_second_for_each():
    levels = cpu_levels.both_cpus(3.0)
    if len(os.sched_getaffinity(0)) < 2:
        assert levels is None
        return
    first, second = levels
    assert len(first) == len(second) >= 3
    assert abs(np.median(first)) < 1e-9 and abs(np.median(second)) < 1e-9  # each around its own median
