"""bot/engine/boards/host.py: which LLVM CPU names the `host` target may use, read by archspec from the features
the kernel reports (tests/child/test_measure.py checks the child's side with the real TVM)."""

import archspec.cpu
import pytest

from bot.engine.boards import host


@pytest.mark.parametrize(
    "microarchitecture, name",
    [("zen4", "znver4"), ("skylake_avx512", "skylake-avx512"), ("cortex_a72", "cortex-a72"),
     ("x86_64_v3", None), ("neoverse_n1", None), ("aarch64", None)],
)  # fmt: skip
def test_a_named_microarchitecture_gives_its_clang_cpu_and_a_generic_level_none(microarchitecture, name):
    assert host.llvm_name(archspec.cpu.TARGETS[microarchitecture]) == name


def test_a_zen2_that_llvm_would_call_a_zen4_compiles_for_znver2(monkeypatch):
    """A virtual machine that hides AVX-512 and more from a Zen 4 reads as a Zen 2 to archspec (as on these
    machines): znver3 and up are beyond it, znver2 and its ancestors are not, Intel's names are beyond too."""
    monkeypatch.setattr(archspec.cpu, "host", lambda: archspec.cpu.TARGETS["zen2"])
    host.host_cpus.cache_clear()
    try:
        cpus = host.host_cpus()
    finally:
        host.host_cpus.cache_clear()
    assert cpus["instead"] == "znver2" and cpus["archspec"] == "zen2"
    assert {"znver3", "znver4", "znver5", "skylake-avx512"} <= set(cpus["beyond"])
    assert not {"znver1", "znver2"} & set(cpus["beyond"])
    assert not any(name.startswith(("cortex", "neoverse")) for name in cpus["beyond"])  # another family


def test_a_machine_archspec_cannot_read_keeps_llvm_s_name(monkeypatch):
    def unreadable():
        raise OSError("no /proc/cpuinfo")

    monkeypatch.setattr(archspec.cpu, "host", unreadable)
    host.host_cpus.cache_clear()
    try:
        assert host.host_cpus() == {"beyond": [], "instead": None, "archspec": None}
    finally:
        host.host_cpus.cache_clear()


def test_this_machine_compiles_for_a_cpu_archspec_places_at_or_below_it():
    cpus = host.host_cpus()
    assert cpus["instead"] and cpus["instead"] not in cpus["beyond"]
