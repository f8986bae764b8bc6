"""A TVM-shaped source tree whose C build takes a second: git, cmake and the compiler run for real.

`libtvm_runtime.so` is one C function returning a number; `python/tvm/__init__.py`
loads it from TVM_LIBRARY_PATH with ctypes and reports it as `tvm.native()`,
so a test can tell which native build a commit's Python ran with. It stands in
for TVM's C++ only: the cache, the worktrees, cmake, the staging and the
import check are the real ones.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

CMAKE = """cmake_minimum_required(VERSION 3.16)
project(standin C)
file(GLOB SOURCES src/runtime/*.c)
add_library(tvm_runtime SHARED ${SOURCES})
"""
INIT = """import ctypes, os
__version__ = {version!r}
_lib = ctypes.CDLL(os.path.join(os.environ["TVM_LIBRARY_PATH"], "libtvm_runtime.so"))
def native():
    return _lib.tvm_native()
"""


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
                         env={**os.environ, **ENV})  # fmt: skip
    return out.stdout.strip()


def tree(root: Path, *, version: str = "0.0.1", native: int = 1, layout: str = "setup.py", broken: bool = False) -> str:
    """Write (or rewrite) the tree and commit it; returns the commit."""
    (root / "python" / "tvm").mkdir(parents=True, exist_ok=True)
    (root / "src" / "runtime").mkdir(parents=True, exist_ok=True)
    (root / "CMakeLists.txt").write_text(CMAKE)
    (root / "src" / "runtime" / "runtime.c").write_text(
        f"int tvm_native(void) {{ return {native}; }}\n" + ("oops(" if broken else "")
    )
    (root / "python" / "tvm" / "__init__.py").write_text(INIT.format(version=version))
    if layout == "setup.py":
        (root / "python" / "setup.py").write_text("# TVM before 0.22 installed its Python package from here\n")
    else:
        (root / "pyproject.toml").write_text('[tool.scikit-build]\nbuild-dir = "build"\n')
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", f"{version} {native}")
    return git(root, "rev-parse", "HEAD")
