"""`perfbot` as a user runs it: a real process, settings from the environment, everything under tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def perfbot(*args, cache: Path, cwd: Path, script: Path | None = None, timeout: float = 600):
    """Run `python -m bot ARGS` (or `python SCRIPT ARGS`) as a process of its own, as a user would in a pipe.

    Its cache is `cache` (PERFBOT_CACHE), its device registry the repository's devices.yml, its working
    folder `cwd` (so a forgotten --db lands there, not in the checkout), and the `bot` it imports this
    checkout's.
    """
    env = {
        **os.environ,
        "PERFBOT_CACHE": str(cache),
        "PERFBOT_DEVICES": str(ROOT / "devices.yml"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    env.pop("PERFBOT_DB", None)
    command = [sys.executable, str(script)] if script else [sys.executable, "-m", "bot"]
    return subprocess.run(
        [*command, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def show(result) -> str:
    """A finished process for an assertion message."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@dataclass
class Tuned:
    """The tiny model tuned twice through `perfbot tune`, once for the session."""

    folder: Path
    cache: Path
    db: Path
    first: subprocess.CompletedProcess
    second: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def tuned(tmp_path_factory, tiny_model) -> Tuned:
    folder = tmp_path_factory.mktemp("tuned")
    cache, db = folder / "cache", folder / "perf.db"
    first = perfbot("tune", "--model", tiny_model, "--trials", 2, "--db", db, cache=cache, cwd=folder)
    second = perfbot("tune", "--model", tiny_model, "--trials", 2, "--db", db, cache=cache, cwd=folder)
    return Tuned(folder, cache, db, first, second)
