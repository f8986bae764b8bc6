"""A short child process that answers in one JSON line, or one line saying why it did not.

Asking TVM's tracker what it serves (tracker.py) and checking that the
emulated user space imports TVM and TFLite (userspace.py) both start a
Python, read the last line of its output as JSON, and turn a timeout or a
failure into a DeviceUnavailable that names what was asked.
"""

from __future__ import annotations

import json
import subprocess

from bot.errors import DeviceUnavailable


def answer(command: list[str], *, timeout_s: float, asking: str, env: dict[str, str] | None = None) -> dict:
    """The JSON the command printed last; DeviceUnavailable "ASKING took over N s" or "ASKING failed: LAST LINE"."""
    try:
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise DeviceUnavailable(f"{asking} took over {timeout_s:g} s") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        raise DeviceUnavailable(f"{asking} failed: {last}")
    lines = out.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        raise DeviceUnavailable(f"{asking} failed: no answer on its last line") from None
