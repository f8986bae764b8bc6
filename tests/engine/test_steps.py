"""Build steps: logged and relayed in whole lines, progress every so often, and ended with perfbot, kill -9 included."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.engine import steps
from bot.errors import EnvironmentBroken

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_long_line_is_logged_and_relayed_whole():
    line = "Collecting " + " ".join(f"package-number-{i}" for i in range(30))
    said, log = [], io.StringIO()
    steps.run_step([sys.executable, "-c", f"print({line!r}); print('noise')"], log, said.append, "pip install")
    assert said == ["pip install", line] and len(line) > 300
    assert line + "\n" in log.getvalue() and "noise\n" in log.getvalue()


def test_a_failing_step_names_itself_and_its_last_line():
    with pytest.raises(EnvironmentBroken, match=r"`compile` failed with code 3: it broke"):
        steps.run_step(["sh", "-c", "echo it broke; exit 3"], io.StringIO(), lambda _: None, "compile")
    with pytest.raises(EnvironmentBroken, match="`tool` could not start: no-such-tool-here not found"):
        steps.run_step(["no-such-tool-here"], io.StringIO(), lambda _: None, "tool")


def test_ninja_steps_are_relayed_as_progress_at_most_every_interval(monkeypatch):
    clock = iter([0.0, 1.0, 2.0, 20.0, 21.0, 22.0])
    monkeypatch.setattr(steps.time, "monotonic", lambda: next(clock))
    said = []
    relay = steps.Relay(said.append, "cmake --build", every_s=15)
    for line in ("[0/4] Re-checking globbed directories...", "[1/4] Building CXX object a.o",
                 "[2/4] Building CXX object b.o", "[3/4] Building CXX object c.o", "[4/4] Linking libtvm.so"):  # fmt: skip
        relay.line(line)
    assert said == ["cmake --build: step 1/4 (25%) after 1 s", "cmake --build: step 3/4 (75%) after 20 s",
                    "cmake --build: step 4/4 (100%) after 21 s"]  # fmt: skip


def test_progress_reads_the_last_step_of_a_log(tmp_path):
    log = tmp_path / "build.log"
    log.write_text("$ cmake --build\n[1/592] Building a\n[51/592] Building b\nninja: build stopped\n")
    assert steps.progress(log) == (51, 592) and steps.progress(tmp_path / "none.log") is None


def test_a_step_ends_with_perfbot_even_when_perfbot_is_killed_with_sigkill(tmp_path):
    """What a native build did before the guard: cmake, ninja and the compilers outlived kill -9 of perfbot."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import io, sys
        sys.path.insert(0, {str(ROOT)!r})
        from bot.engine import steps
        steps.run_step(["sh", "-c", "echo $$ > {pids}.tmp; sleep 300 & echo $! >> {pids}.tmp; mv {pids}.tmp {pids}; wait"],
                       io.StringIO(), lambda line: None, "a long build")
    """)
    perfbot = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not pids.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        shell, sleeper = map(int, pids.read_text().split())
        assert alive(shell) and alive(sleeper)
        os.kill(perfbot.pid, signal.SIGKILL)
        perfbot.wait()
        deadline = time.monotonic() + 15
        while (alive(shell) or alive(sleeper)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(shell) and not alive(sleeper)
    finally:
        if perfbot.poll() is None:
            os.killpg(perfbot.pid, signal.SIGKILL)
            perfbot.wait()


def test_a_lock_is_seen_held_only_while_its_holder_lives(tmp_path):
    lock = tmp_path / "tree.lock"
    assert not steps.is_locked(lock)
    with steps.locked(lock):
        holder = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                                 f"from bot.engine import steps; print(steps.is_locked(__import__('pathlib').Path({str(lock)!r})))"],
                                capture_output=True, text=True)  # fmt: skip
        assert holder.stdout.strip() == "True"
    assert not steps.is_locked(lock)


def test_where_a_build_is_reads_ninjas_step_while_it_compiles_else_the_last_step(tmp_path):
    log = tmp_path / "build.log"
    log.write_text("$ /x/cmake --build /t/build --parallel 2\n[0/9] Re-checking\n[4/9] Building a.o\n")
    assert steps.doing(log) == "step 4/9"
    log.write_text(log.read_text() + "$ /x/venv/bin/python -m pip wheel --no-deps 3rdparty/tvm-ffi\n")
    assert steps.doing(log) == "running `python -m pip wheel ...`"
    assert steps.doing(tmp_path / "none.log") == "starting"


def test_a_staged_folder_replaces_the_old_one_whole_when_its_block_ends(tmp_path):
    folder = tmp_path / "build"
    folder.mkdir()
    (folder / "old.txt").write_text("old")
    with steps.staged(folder) as staging:
        assert staging == tmp_path / "build.staging" and not staging.exists()
        staging.mkdir()
        (staging / "new.txt").write_text("new")
        assert (folder / "old.txt").is_file()  # the finished folder stays until the staged one is whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"]
    assert [p.name for p in folder.iterdir()] == ["new.txt"]


@pytest.mark.parametrize("error", [EnvironmentBroken("pip failed"), KeyboardInterrupt()])
def test_a_staged_folder_whose_block_raises_leaves_nothing_half_made(tmp_path, error):
    folder = tmp_path / "build"
    folder.mkdir()
    (folder / "old.txt").write_text("old")
    (tmp_path / "build.staging").mkdir()  # left by a kill -9: removed before the block starts
    (tmp_path / "build.staging" / "stale.txt").write_text("stale")
    with pytest.raises(type(error)):
        with steps.staged(folder) as staging:
            assert not staging.exists()
            staging.mkdir()
            (staging / "half.txt").write_text("half")
            raise error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"]
    assert [p.name for p in folder.iterdir()] == ["old.txt"]


def test_a_discarded_folder_goes_with_what_a_killed_staging_left(tmp_path):
    folder = tmp_path / "build"
    for path in (folder, tmp_path / "build.staging"):
        path.mkdir()
        (path / "file.txt").write_text("x")
    (tmp_path / "build.log").write_text("kept")
    steps.discard(folder)
    assert [p.name for p in tmp_path.iterdir()] == ["build.log"]
