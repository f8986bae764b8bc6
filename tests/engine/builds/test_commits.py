"""What the build cache keys on, read from commits with git: layout, native key, Python tree, bad names."""

from __future__ import annotations

import re

import pytest

from bot.engine.builds.commits import resolve
from bot.errors import UnknownName
from tests.engine.builds import standin


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "tvm"
    standin.tree(root)
    return root


def test_a_python_only_change_keeps_the_native_key(checkout):
    first = resolve(checkout, "HEAD")
    second = resolve(checkout, standin.tree(checkout, version="0.0.2"))
    assert first.native_key == second.native_key and first.python_tree != second.python_tree
    assert first.layout == second.layout == "setup.py" and not first.has_ffi
    assert len(first.sha) == 40 and first.spec == f"source:{checkout}@{first.sha}"


@pytest.mark.parametrize("path", ["src/extra.c", "include/tvm/x.h", "cmake/modules/x.cmake", "CMakeLists.txt"])
def test_a_change_to_what_the_libraries_are_built_from_changes_the_key(checkout, path):
    before = resolve(checkout, "HEAD").native_key
    target = checkout / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(target.read_text() + "\n# changed\n" if target.exists() else "/* new */\n")
    standin.git(checkout, "add", "-A")
    standin.git(checkout, "commit", "-q", "-m", "native change")
    assert resolve(checkout, "HEAD").native_key != before


@pytest.mark.parametrize(
    "path, runtime",
    [
        ("src/runtime/extra.c", True),
        ("src/support/arena.h", True),
        ("include/tvm/runtime/x.h", True),
        ("CMakeLists.txt", True),
        ("src/relax/pass.cc", False),  # a compiler change: another native key, the same runtime
        ("include/tvm/ir/x.h", False),
    ],
)
def test_the_runtime_key_changes_only_with_what_libtvm_runtime_is_built_from(checkout, path, runtime):
    before = resolve(checkout, "HEAD")
    target = checkout / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(target.read_text() + "\n# changed\n" if target.exists() else "/* new */\n")
    standin.git(checkout, "add", "-A")
    standin.git(checkout, "commit", "-q", "-m", "native change")
    after = resolve(checkout, "HEAD")
    assert after.native_key != before.native_key
    assert (after.runtime_key != before.runtime_key) == runtime


def test_a_third_party_tree_change_changes_the_key(checkout):
    before = resolve(checkout, "HEAD").native_key
    (checkout / "3rdparty" / "dlpack").mkdir(parents=True)
    (checkout / "3rdparty" / "dlpack" / "dlpack.h").write_text("/* v1 */\n")
    standin.git(checkout, "add", "-A")
    standin.git(checkout, "commit", "-q", "-m", "vendored")
    assert resolve(checkout, "HEAD").native_key != before
    assert resolve(checkout, "HEAD").runtime_key != resolve(checkout, "HEAD~1").runtime_key


def test_the_key_is_read_from_the_commit_not_the_working_tree(checkout):
    committed = resolve(checkout, "HEAD")
    (checkout / "src" / "runtime" / "runtime.c").write_text("int tvm_native(void) { return 99; }\n")  # not committed
    assert resolve(checkout, "HEAD") == committed


def test_the_layout_since_tvm_0_22_is_scikit_build(tmp_path):
    root = tmp_path / "tvm"
    standin.tree(root, layout="scikit-build")
    assert resolve(root, "main").layout == "scikit-build"


@pytest.mark.parametrize(
    "make, ref, message",
    [
        (lambda p: None, "HEAD", "no such folder (expected a TVM git checkout)"),
        (lambda p: p.mkdir(), "HEAD", "not a git checkout (expected a clone of apache/tvm or a fork)"),
        (lambda p: standin.tree(p), "nosuchbranch", "no such commit in"),
        (lambda p: standin.tree(p), "--upload-pack=x", "is not a commit or ref name"),
    ],
)
def test_bad_checkouts_and_refs_are_one_line(tmp_path, make, ref, message):
    folder = tmp_path / "tvm"
    make(folder)
    with pytest.raises(UnknownName, match=re.escape(message)) as e:
        resolve(folder, ref)
    assert "\n" not in str(e.value)


def test_a_git_repository_that_is_not_tvm_is_refused(tmp_path):
    root = tmp_path / "other"
    root.mkdir()
    (root / "README").write_text("not tvm\n")
    standin.subprocess.run(["git", "init", "-q", str(root)], check=True)
    standin.git(root, "add", "-A")
    standin.git(root, "commit", "-q", "-m", "x")
    with pytest.raises(UnknownName, match="not a TVM source tree"):
        resolve(root, "HEAD")
