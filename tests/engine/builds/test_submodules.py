"""Submodules of the build worktree, with the real git: nested ones, mirrors by insteadOf, unreachable commits."""

from __future__ import annotations

import io
import os
import subprocess

import pytest

from bot.engine.builds import submodules
from bot.errors import BuildFailed
from tests.engine.builds import standin

FILE = ["-c", "protocol.file.allow=always"]


def repo(path, files: dict[str, str]) -> str:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    standin.git(path, "add", "-A")
    standin.git(path, "commit", "-qm", "content")
    return standin.git(path, "rev-parse", "HEAD")


def add_submodule(parent, url, path) -> None:
    subprocess.run(["git", *FILE, "-C", str(parent), "submodule", "add", "-q", url, path], check=True,
                   env={**os.environ, **standin.ENV}, capture_output=True)  # fmt: skip
    standin.git(parent, "commit", "-qam", f"add {path}")


@pytest.fixture
def tvm(tmp_path):
    """A TVM-shaped superproject: 3rdparty/tvm-ffi with 3rdparty/dlpack inside it, and a GPU-only submodule."""
    dlpack, ffi, cutlass = tmp_path / "dlpack", tmp_path / "tvm-ffi", tmp_path / "cutlass"
    repo(dlpack, {"include/dlpack/dlpack.h": "/* dlpack */\n"})
    repo(ffi, {"CMakeLists.txt": "# ffi\n"})
    add_submodule(ffi, f"file://{dlpack}", "3rdparty/dlpack")
    repo(cutlass, {"README": "a GPU library\n"})
    checkout = tmp_path / "tvm"
    standin.tree(checkout)
    add_submodule(checkout, f"file://{ffi}", "3rdparty/tvm-ffi")
    add_submodule(checkout, f"file://{cutlass}", "3rdparty/cutlass")
    tree = tmp_path / "tree"
    standin.git(checkout, "worktree", "add", "-q", "--detach", str(tree), "HEAD")
    return tree


def test_nested_submodules_are_checked_out_and_gpu_only_ones_are_not(tvm):
    said = []
    assert submodules.update(tvm, io.StringIO(), said.append) == []
    assert (tvm / "3rdparty/tvm-ffi/3rdparty/dlpack/include/dlpack/dlpack.h").is_file()
    assert not any((tvm / "3rdparty/cutlass").iterdir())
    assert "git submodule update 3rdparty/tvm-ffi/3rdparty/dlpack" in said


def test_an_unreachable_submodule_names_its_path_commit_url_and_the_mirror_setting(tvm, tmp_path):
    (tmp_path / "tvm-ffi").rename(tmp_path / "tvm-ffi-gone")  # the pinned commit is nowhere any more
    with pytest.raises(BuildFailed) as caught:
        submodules.update(tvm, io.StringIO(), lambda _: None)
    message, url = str(caught.value), f"file://{tmp_path / 'tvm-ffi'}"
    assert message.startswith("submodule 3rdparty/tvm-ffi (commit ") and f" of {url}) could not be fetched" in message
    assert f"git config --global url.MIRROR.insteadOf {url}" in message and "\n" not in message


def test_a_mirror_set_with_insteadof_is_used_for_nested_submodules(tvm, tmp_path, monkeypatch):
    (tmp_path / "dlpack").rename(tmp_path / "mirror-of-dlpack")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.file://{tmp_path / 'mirror-of-dlpack'}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", f"file://{tmp_path / 'dlpack'}")
    assert submodules.update(tvm, io.StringIO(), lambda _: None) == []
    assert (tvm / "3rdparty/tvm-ffi/3rdparty/dlpack/include/dlpack/dlpack.h").read_text() == "/* dlpack */\n"


def test_dlpack_that_cannot_be_fetched_comes_from_the_installed_apache_tvm_ffi(tvm, tmp_path):
    (tmp_path / "dlpack").rename(tmp_path / "dlpack-gone")
    log = io.StringIO()
    taken = submodules.update(tvm, log, lambda _: None)
    assert len(taken) == 1 and taken[0].startswith("dlpack: include/ from apache-tvm-ffi ")
    header = tvm / "3rdparty/tvm-ffi/3rdparty/dlpack/include/dlpack/dlpack.h"
    assert "DLPACK_MAJOR_VERSION" in header.read_text() and "perfbot: fallback: dlpack" in log.getvalue()
    stamp = header.stat().st_mtime_ns
    submodules.update(tvm, io.StringIO(), lambda _: None)
    assert header.stat().st_mtime_ns == stamp  # an unchanged header is not copied again (it would rebuild everything)
