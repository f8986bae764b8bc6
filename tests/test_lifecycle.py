"""The machinery that ends perfbot's children, with real processes and no TVM (each test takes about a second).

A stand-in perfbot (a Python process using bot.lifecycle) starts a child
the way perfbot does (`python_command`, its own session), and the child
starts a grandchild that either stays in its group (as TVM's popen_workers
do) or calls setsid (as the fork server's children do). The stand-in is
then stopped, and /proc must show none of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from bot import lifecycle
from tests.processes import ROOT, alive, default_sigint, left_behind, perfbot, stop_and_check, wait_for_tree

pytestmark = pytest.mark.timeout(60)

#: The child: starts a grandchild (in its group, or in a session of its own), then spins like a compile.
CHILD = textwrap.dedent(
    """
    import subprocess, sys, time
    grandchild = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"], start_new_session=sys.argv[1] == "setsid"
    )
    while True:
        time.sleep(0.01)
    """
)

#: The stand-in perfbot: supervised as `perfbot` is, it starts the child and waits; an exception or a signal
#: ends it.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from bot import lifecycle
    with lifecycle.supervised():
        child = subprocess.Popen(
            lifecycle.python_command(sys.executable, sys.argv[1], [sys.argv[2]]), start_new_session=True
        )
        if sys.argv[3] == "raise":
            time.sleep(1.5)
            raise RuntimeError("perfbot failed")
        child.wait()
    """
)


def stand_in(tmp_path, grandchild: str, then: str = "wait") -> subprocess.Popen:
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    return subprocess.Popen(
        [sys.executable, "-c", PARENT, str(child), grandchild, then],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )


def two_levels(process):
    return wait_for_tree(process, lambda tree: sum("while True" in cmd for cmd in tree.values()) == 1, 30)


#: Not SIGKILL with a grandchild that calls setsid: without a guard of its own (the fork server's children have
#: one) nothing is left to end it once perfbot is gone.
CASES = [(s, g) for s in (signal.SIGINT, signal.SIGTERM) for g in ("same-group", "setsid")] + [
    (signal.SIGKILL, "same-group")
]


@pytest.mark.parametrize("sig, grandchild", CASES, ids=[f"{s.name}-{g}" for s, g in CASES])
def test_a_stopped_perfbot_leaves_neither_child_nor_grandchild(tmp_path, sig, grandchild):
    process = stand_in(tmp_path, grandchild)
    stop_and_check(process, sig, two_levels(process), timeout_s=5)


@pytest.mark.parametrize("grandchild", ["same-group", "setsid"])
def test_an_exception_in_perfbot_leaves_nothing_behind(tmp_path, grandchild):
    process = stand_in(tmp_path, grandchild, then="raise")
    tree = two_levels(process)
    process.wait(timeout=20)
    assert "RuntimeError: perfbot failed" in process.stdout.read()
    assert not left_behind(tree, 5)


def test_sigterm_exits_like_ctrl_c_with_128_plus_15(tmp_path):
    """`perfbot` turns Terminated into exit 143 and one word on stderr, as Ctrl-C is 130 and `interrupted`."""
    process = perfbot(["worker", "--device", "local"], {"PERFBOT_DB": str(tmp_path / "perf.db")}, tmp_path)
    wait_for_tree(process, lambda tree: True, 30)
    out = ""
    for line in process.stdout:  # the worker says it is ready before it claims anything
        out += line
        if "claiming jobs" in out:
            break
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 143
    assert "terminated" in process.stdout.read()


def test_end_group_waits_until_a_child_holding_a_port_is_gone():
    """The leader exits at SIGTERM at once; its child, in the same group, holds a listening socket a while."""
    code = textwrap.dedent(
        """
        import os, signal, socket, sys, time
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
        print(s.getsockname()[1], flush=True)
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, lambda *_: (time.sleep(0.5), os._exit(0)))
            while True:
                time.sleep(0.05)
        time.sleep(600)
        """
    )
    leader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    port = int(leader.stdout.readline())
    lifecycle.signal_group(leader.pid, signal.SIGTERM)
    leader.wait()
    assert lifecycle.end_group(leader.pid, grace_s=5, timeout_s=10)
    assert not lifecycle.group_members(leader.pid)
    with pytest.raises(ConnectionRefusedError):
        import socket

        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_the_guard_kills_only_itself_when_it_does_not_lead_its_group(tmp_path):
    """Started without a session of its own (wrongly), a child must not take its parent's group with it."""
    child = tmp_path / "child.py"
    child.write_text("import time\ntime.sleep(600)\n")
    middle = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; from bot import lifecycle; "
            "subprocess.Popen(lifecycle.python_command(sys.executable, sys.argv[1], [])); "
            "print(subprocess.Popen(['sleep', '600']).pid, flush=True); time.sleep(600)",
            str(child),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    bystander = int(middle.stdout.readline())  # in the middle's group, as the guarded child is
    tree = wait_for_tree(middle, lambda tree: any("child.py" in cmd for cmd in tree.values()), 30)
    try:
        middle.kill()
        middle.wait()
        assert not left_behind({pid for pid, cmd in tree.items() if "child.py" in cmd}, 5)
        assert alive(bystander)
    finally:
        os.killpg(middle.pid, signal.SIGKILL)
