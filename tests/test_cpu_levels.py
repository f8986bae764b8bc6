"""benchmarks/cpu_levels.py: the machine's speed from moment to moment, and what the system says about it."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import cpu_levels  # noqa: E402
from tests import processes  # noqa: E402


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


def test_a_pinned_child_ends_with_its_parent_even_after_kill_9():
    """The benchmark's per-CPU children watch their parent (bot/child/guard.py), named to them when started, so
    none outlives it, even one whose parent dies before it got to watching."""
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, {str(Path(cpu_levels.__file__))!r}, "--pinned", "0", str(time.time() + 600),
                                  str(os.getpid())],
                                 stdout=subprocess.DEVNULL)
        print(child.pid, flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    child = int(parent.stdout.readline())
    assert processes.alive(child)
    parent.kill()
    parent.wait()
    assert processes.left_behind([child]) == {}
