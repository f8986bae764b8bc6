"""The AArch64 runtime of a native build, for real: TVM-shaped stand-in sources, cmake and aarch64-linux-gnu-gcc.

The stand-in's runtime (tests/engine/builds/standin.py) is one C function
built as libtvm_runtime.so; its python/tvm loads it from TVM_LIBRARY_PATH with
ctypes, so under qemu `import tvm` maps exactly the library perfbot built.
"""

from __future__ import annotations

import json

import pytest

from bot.engine import arm_runtime, builds, environment
from bot.engine.builds import aarch64, native
from tests.emulated_board import needs_tools
from tests.engine.builds import standin

pytestmark = [pytest.mark.timeout(600), pytest.mark.usefixtures("cross_compiler")]


@pytest.fixture(autouse=True)
def no_pip_packages(monkeypatch):
    monkeypatch.setattr(environment, "CHILD_PACKAGES", ())
    monkeypatch.setattr(environment, "TVM_PYTHON_PACKAGES", ())


def commit_with(checkout, path: str, text: str) -> str:
    target = checkout / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    standin.git(checkout, "add", "-A")
    standin.git(checkout, "commit", "-q", "-m", f"change {path}")
    return standin.git(checkout, "rev-parse", "HEAD")


def test_each_native_build_gets_an_aarch64_runtime_rebuilt_only_when_the_runtime_sources_change(tmp_path):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    first = builds.environment(checkout, standin.tree(checkout, native=7), cache)
    folder = builds.aarch64_runtime(cache, first.build["native_key"])
    assert folder is not None and first.build["aarch64_runtime"] == str(folder)
    library = folder / "lib" / "libtvm_runtime.so"
    assert aarch64.is_aarch64(library) and not aarch64.is_aarch64(native.find(cache, first.build["native_key"]).lib
                                                                   / "libtvm_runtime.so")  # fmt: skip
    info = json.loads((folder / "runtime.json").read_text())
    assert info["compiler"].startswith("aarch64-linux-gnu-g++") and info["bytes"] == library.stat().st_size > 0
    assert info["commit"] == first.build["commit"] and info["seconds"] > 0

    lines = []
    compiler_only = commit_with(checkout, "src/relax/pass.cc", "// a compiler change\n")
    second = builds.environment(checkout, compiler_only, cache, lines.append)
    assert second.build["native_key"] != first.build["native_key"]  # the host libraries are built again
    assert builds.aarch64_runtime(cache, second.build["native_key"]) == folder  # the runtime is shared, not rebuilt
    assert any("same runtime sources" in line for line in lines) and not any("cross-building" in line for line in lines)

    runtime_change = commit_with(checkout, "src/runtime/runtime.c", "int tvm_native(void) { return 9; }\n")
    third = builds.environment(checkout, runtime_change, cache)
    assert builds.aarch64_runtime(cache, third.build["native_key"]) not in (None, folder)
    assert first.build["runtime"] == second.build["runtime"] != third.build["runtime"]


def test_a_failed_cross_build_is_said_and_remembered_and_the_host_build_still_serves(tmp_path):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    standin.tree(checkout)
    sha = commit_with(checkout, "src/runtime/arm.c", "#ifdef __aarch64__\noops(\n#endif\nint arm;\n")
    lines = []
    env = builds.environment(checkout, sha, cache, lines.append)
    assert env.build["aarch64_runtime"] == "" and builds.aarch64_runtime(cache, env.build["native_key"]) is None
    assert any(line.startswith("AArch64 runtime of") and "arm.c" in line for line in lines), lines
    lines.clear()
    builds.environment(checkout, sha, cache, lines.append)
    assert any("failed before" in line for line in lines) and not any("cross-building" in line for line in lines)


def test_no_cross_compiler_means_no_aarch64_runtime_and_says_what_to_install(tmp_path, monkeypatch):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    monkeypatch.setattr(aarch64, "CROSS_CXX", "no-such-aarch64-g++")
    lines = []
    env = builds.environment(checkout, standin.tree(checkout), cache, lines.append)
    assert env.build["aarch64_runtime"] == ""
    assert any("apt-get install g++-aarch64-linux-gnu" in line for line in lines)


@pytest.mark.slow
@needs_tools
def test_import_tvm_under_qemu_loads_the_commits_own_aarch64_runtime(tmp_path, qemu_cache):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    env = builds.environment(checkout, standin.tree(checkout, version="0.0.7"), cache)
    checked = arm_runtime.check(env, qemu_cache)
    folder = builds.aarch64_runtime(cache, env.build["native_key"])
    assert checked["tvm"] == "0.0.7"  # the commit's own python/tvm, run by the AArch64 Python
    assert str((folder / "lib" / "libtvm_runtime.so").resolve()) in checked["loaded"]
    assert json.loads((folder / "runtime.json").read_text())["checked"]["loaded"] == checked["loaded"]
