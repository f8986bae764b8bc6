"""A cmake build stopped by kill -9 of perfbot: nothing of it left running, and the next build resumes it.

The tree is the stand-in's (tests/engine/builds/standin.py) with six generated
sources whose rules sleep as long as a file outside the tree says: short for
the first two, then a minute, so the build is still running when it is killed
and a rule left behind would still be there to see. ninja runs each rule in a
process group of its own, as it runs the compilers of a real build; cmake,
ninja, the rules and the compiler are the real ones.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.engine import builds, steps
from bot.engine.builds import cmake, native
from tests import processes
from tests.engine.builds import standin

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.timeout(600), pytest.mark.usefixtures("build_tools")]

SLOW_CMAKE = """cmake_minimum_required(VERSION 3.16)
project(standin C)
foreach(i RANGE 1 6)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/slow${i}.c
    COMMAND PYTHON -c "import sys, time; time.sleep(float(open(sys.argv[1]).read()))" DELAY
    COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_SOURCE_DIR}/src/slow.c.in ${CMAKE_BINARY_DIR}/slow${i}.c
    VERBATIM)
  list(APPEND SLOW ${CMAKE_BINARY_DIR}/slow${i}.c)
endforeach()
file(GLOB SOURCES src/runtime/*.c)
add_library(tvm_runtime SHARED ${SOURCES} ${SLOW})
"""


def build_in_a_process(checkout: Path, sha: str, cache: Path) -> subprocess.Popen:
    """perfbot's build path in a process of its own (a `perfbot build`, without pip installs)."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from bot.engine import builds, environment
        environment.CHILD_PACKAGES = environment.TVM_PYTHON_PACKAGES = ()
        builds.environment(Path({str(checkout)!r}), {sha!r}, Path({str(cache)!r}))
    """)
    return subprocess.Popen([sys.executable, "-c", script], start_new_session=True)


def running_under(folder: Path) -> list[int]:
    """Processes whose command line names the folder (the build's shell rules, cmake, ninja, compilers)."""
    pids = (int(entry) for entry in os.listdir("/proc") if entry.isdigit())
    return [
        pid for pid in pids if pid != os.getpid() and str(folder) in processes.cmdline(pid) and processes.alive(pid)
    ]


def test_a_build_killed_with_sigkill_leaves_nothing_running_and_resumes_where_it_stopped(tmp_path):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    standin.tree(checkout)
    delay = tmp_path / "delay"
    delay.write_text("0.5")
    (checkout / "CMakeLists.txt").write_text(SLOW_CMAKE.replace("PYTHON", sys.executable).replace("DELAY", str(delay)))
    (checkout / "src" / "slow.c.in").write_text("static int slow(void) { return 1; }\n")
    standin.git(checkout, "add", "-A")
    standin.git(checkout, "commit", "-qm", "slow rules")
    commit = builds.resolve(checkout, "HEAD")
    log = native.root(cache) / f"{commit.native_key}.log"

    first = build_in_a_process(checkout, commit.sha, cache)
    deadline = time.monotonic() + 300
    while (steps.progress(log) or (0, 1))[0] < 2 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    delay.write_text("60")  # the rules that start from now on run long: one left behind would be seen
    time.sleep(1.5)
    stopped_at = steps.progress(log)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    # The rules started since run 60 s: one left behind is still there after this wait, which only gives a loaded
    # machine (the CI's two workers, one of them building TVM) time to schedule the guards that end them.
    deadline = time.monotonic() + 30
    while running_under(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {pid: processes.cmdline(pid) for pid in running_under(tmp_path)}
    assert left == {}  # ninja, its rules (in groups of their own) and cmake ended with perfbot
    delay.write_text("0.1")
    assert stopped_at is not None and stopped_at[0] < stopped_at[1]

    listed = [row for row in builds.cached(cache) if row.key == commit.native_key]
    assert len(listed) == 1 and listed[0].how.startswith(f"stopped at step {stopped_at[0]}")
    assert "resumes it" in listed[0].how

    second = build_in_a_process(checkout, commit.sha, cache)
    assert second.wait(timeout=300) == 0
    again = steps.progress(log)
    assert again[1] < stopped_at[1]  # ninja had fewer steps left: what was done before was kept
    assert native.find(cache, commit.native_key) is not None
    assert not list(native.root(cache).glob("*.building"))
    info = json.loads((native.root(cache) / commit.native_key / "build.json").read_text())
    assert info["runtime_key"] == commit.runtime_key and info["options"][: len(cmake.CMAKE_OPTIONS)] == list(
        cmake.CMAKE_OPTIONS
    )


def test_the_first_error_is_the_failed_steps_not_an_earlier_recovered_one():
    log = (
        "$ git submodule update 3rdparty/tvm-ffi/3rdparty/dlpack\n"
        "fatal: remote error: upload-pack: not our ref 84d107bf\n"
        "$ cmake configure\n-- Configuring\nCMake Error at cmake/utils/FindLLVM.cmake:201 (find_package):\n"
        "  Could NOT find zstd (missing: zstd_LIBRARY)\nCall Stack (most recent call first):\n"
        "  CMakeLists.txt:457 (include)\n"
    )
    assert cmake.first_compiler_error(log) == (
        "CMake Error at cmake/utils/FindLLVM.cmake:201 (find_package): Could NOT find zstd (missing: zstd_LIBRARY)"
    )
    compiled = "$ cmake --build\n[3/9] Building CXX object a.o\n../src/a.cc:3:1: error: 'x' was not declared\n"
    assert cmake.first_compiler_error(compiled) == "../src/a.cc:3:1: error: 'x' was not declared"
