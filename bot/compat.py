"""Which apache-tvm-ffi goes with which apache-tvm: pairs seen to work and to break here.

apache-tvm wheels do not pin their tvm-ffi companion tightly enough, and the
newest companion is not always safe. The pip provider installs the pinned
companion, and refuses a pair known to break, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    tvm: str
    ffi: str
    works: bool
    note: str


KNOWN_PAIRS = (
    Pair("0.25.0", "0.1.15.post2", False, "does not import (undefined symbol)"),
    Pair("0.25.0", "0.1.12", True, "imports and runs the suite"),
    Pair("0.26.0", "0.1.14.post0", True, "runs the suite"),
    Pair("0.27.0.post1", "0.1.15.post2", False, "segfaults inside MetaSchedule tuning"),
    Pair("0.27.0.post1", "0.1.14.post0", True, "runs and tunes the suite"),
)

#: The companion to install with each known release.
COMPANIONS = {p.tvm: p.ffi for p in KNOWN_PAIRS if p.works}


def companion(tvm_version: str) -> str | None:
    """The apache-tvm-ffi version to pin with this apache-tvm, when one is known."""
    return COMPANIONS.get(tvm_version)


def broken(tvm_version: str, ffi_version: str) -> Pair | None:
    """The known-bad pair this is, if any."""
    for pair in KNOWN_PAIRS:
        if (pair.tvm, pair.ffi, pair.works) == (tvm_version, ffi_version, False):
            return pair
    return None
