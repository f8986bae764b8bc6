"""What the build tests need on the host: cmake, a C compiler, ninja or make, and an LLVM perfbot accepts.

A fresh clone without them skips those tests, naming the tool and its Debian
package (`.ci/run` installs them all and fails on a skip). perfbot's C++
build insists on llvm-config even for the stand-in tree, which never uses
LLVM: a TVM build without it is not one perfbot makes.
"""

from __future__ import annotations

import shutil

import pytest

from bot.engine.builds import aarch64, cmake


def missing_build_tools() -> list[str]:
    missing = [f"{tool} ({package})" for tool, package in (("cmake", "cmake"), ("cc", "gcc")) if not shutil.which(tool)]
    if not (shutil.which("ninja") or shutil.which("make")):
        missing.append("ninja or make (ninja-build)")
    if cmake.llvm_config() is None:
        missing.append(f"llvm-config of LLVM {cmake.MIN_LLVM} or later (llvm-16-dev)")
    return missing


@pytest.fixture
def build_tools():
    """Skip, naming what to install, when the host cannot run perfbot's C++ build."""
    missing = missing_build_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: apt-get install cmake gcc ninja-build llvm-16-dev")


@pytest.fixture
def cross_compiler(build_tools):
    if aarch64.compiler_version() is None:
        pytest.skip(f"needs {aarch64.CROSS_CXX}: apt-get install g++-aarch64-linux-gnu")
