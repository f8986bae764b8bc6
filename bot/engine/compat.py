"""Which apache-tvm-ffi goes with which apache-tvm: pairs seen to work and to break here.

apache-tvm wheels ask only for a minimum apache-tvm-ffi (0.25.0: >=0.1.12, 0.26.0:
>=0.1.13.post2, 0.27.0.post1: >=0.1.14.post0), so pip installs the newest one, and
the newest is not always compatible. The pip provider (bot/engine/envs.py) installs the
companion pinned here and refuses a pinned pair known to break, with the reason;
an environment that ends up with a bad pair anyway (a range in the spec) is
refused by the check after its build.

How each pair was checked (x86_64, Python 3.11, pip environments built by
bot/engine/envs.py): "import" is `import tvm`; "run" is `perfbot run --suite smoke`
(every item ok against TFLite); "tune" is `perfbot tune --suite smoke --trials 8`
(12 MetaSchedule tunings in a child process each).
To add a release: build `pip:apache-tvm==X apache-tvm-ffi==Y` for the candidates,
run and tune the smoke suite with `--env`, and record what happened here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    tvm: str
    ffi: str
    works: bool
    note: str  # what happens, as said in an error: "does not import (...)"
    checked: str  # how it was seen: import, run, tune


KNOWN_PAIRS = (
    Pair(
        "0.25.0",
        "0.1.15.post2",
        False,
        "does not import (libtvm_runtime.so: undefined symbol tvm::ffi::json::Stringify)",
        "import",
    ),
    Pair("0.25.0", "0.1.12", True, "imports and runs the suite", "run"),
    Pair("0.26.0", "0.1.15.post2", False, "segfaults inside MetaSchedule tuning", "tune: 12 of 12 SIGSEGV"),
    Pair("0.26.0", "0.1.13.post2", True, "runs and tunes the suite", "tune: 12 of 12 ok"),
    Pair("0.26.0", "0.1.14.post0", True, "runs and tunes the suite", "run; tune: 12 of 12 ok"),
    Pair("0.27.0.post1", "0.1.15.post2", False, "segfaults inside MetaSchedule tuning", "tune: 12 of 12 SIGSEGV"),
    Pair("0.27.0.post1", "0.1.14.post0", True, "runs and tunes the suite", "run; tune"),
)

#: The companion to install with each known release: the newest apache-tvm-ffi seen to work with it.
COMPANIONS = {
    "0.25.0": "0.1.12",
    "0.26.0": "0.1.14.post0",
    "0.27.0.post1": "0.1.14.post0",
}


def companion(tvm_version: str) -> str | None:
    """The apache-tvm-ffi version to pin with this apache-tvm, when one is known."""
    return COMPANIONS.get(tvm_version)


def broken(tvm_version: str, ffi_version: str) -> Pair | None:
    """The known-bad pair this is, if any."""
    for pair in KNOWN_PAIRS:
        if (pair.tvm, pair.ffi, pair.works) == (tvm_version, ffi_version, False):
            return pair
    return None
