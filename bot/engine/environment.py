"""What a TVM build under test is to the rest of perfbot: an interpreter, its variables, what runs record.

Below both ways of making one (envs.py for python: and pip:, builds/ for
source:), which import this and never each other; subjects.py, above both,
turns a spec into one.

Tested through what makes one: tests/engine/test_envs.py, tests/engine/builds/, tests/engine/test_subjects.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: What the child scripts (bot/child/) need besides TVM itself: numpy, the TFLite schema
#: package, MetaSchedule's cost model, and TVM's `rpc` extra.
CHILD_PACKAGES = ("numpy", "tflite>=2.18", "xgboost-cpu", "tornado", "psutil", "cloudpickle")

#: TVM's own Python dependencies, which a source build installs itself (a wheel brings them).
TVM_PYTHON_PACKAGES = ("ml_dtypes", "scipy", "packaging", "typing_extensions")


@dataclass(frozen=True)
class Environment:
    """A TVM build under test: its interpreter, the variables it runs with, and what runs record of it."""

    key: str  # the spec, normalised: what runs record
    python: Path
    variables: dict[str, str] = field(default_factory=dict)  # e.g. a commit overlay's PYTHONPATH
    build: dict[str, str] = field(default_factory=dict)  # native key, Python tree, commit, how
