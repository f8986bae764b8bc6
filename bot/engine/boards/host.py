"""What this machine is, as runs record it and as the `host` target compiles for it.

A local device's results mean something on this CPU only, so runs record its
model (`host_cpu`). The `host` target is LLVM's name for this CPU, but LLVM
names a CPU by its family and model, not by the features it reports: a
virtual machine that hides AVX-512 from a Zen 4 is still `znver4` to LLVM, and
code compiled for it dies of SIGILL at its first AVX-512 instruction (measured
on these machines: every item of a run crashed). `host_cpus` names the LLVM
CPUs that archspec, reading the features the kernel reports, does not place at
or below this machine, and the newest one it does; the child
(bot/child/measure.py) uses LLVM's name unless it is one of the former.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import archspec.cpu

#: The clang version asked for each microarchitecture's flags: any recent one (names, not version limits).
CLANG = "99.0"


def host_cpu() -> str:
    """The CPU model, from /proc/cpuinfo (or what the platform says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def host_cpus() -> dict:
    """{"beyond": LLVM CPU names of this family that are not this machine's microarchitecture or one it
    descends from (archspec's lineage, which requires every feature), "instead": the newest LLVM CPU name
    that is (archspec's host, or its nearest ancestor with a name), "archspec": the host's archspec name}.
    An empty list and None where archspec does not know the machine."""
    try:
        host = archspec.cpu.host()
    except Exception:  # archspec reads /proc/cpuinfo or sysctl: an unknown machine is not an error here
        return {"beyond": [], "instead": None, "archspec": None}
    family = [target for target in archspec.cpu.TARGETS.values() if target.family == host.family]
    beyond = sorted({name for target in family if not host >= target if (name := llvm_name(target))})
    instead = next((name for target in [host, *host.ancestors] if (name := llvm_name(target))), None)
    return {"beyond": beyond, "instead": instead, "archspec": host.name}


def llvm_name(target: archspec.cpu.Microarchitecture) -> str | None:
    """The CPU name clang takes for an archspec microarchitecture (`-mcpu=`, else a named `-march=`), or None
    for generic levels (x86-64-v3, armv8.2-a) and microarchitectures clang has no name for."""
    try:
        flags = target.optimization_flags("clang", CLANG).split()
    except Exception:  # archspec raises for microarchitectures clang does not support
        return None
    for option in ("-mcpu=", "-march="):
        for flag in flags:
            name = flag.removeprefix(option)
            if flag.startswith(option) and "+" not in name and not name.startswith(("x86-64", "armv", "rv")):
                return name
    return None
